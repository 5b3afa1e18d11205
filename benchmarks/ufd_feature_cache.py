"""UnivFD head training: cached features vs re-running the frozen backbone every epoch.

Both runs train the same linear head (UnivFD's AdamW, lr 1e-4, BCEWithLogits) for 10
epochs on the same images, in the same per-epoch order and batches, with the same initial
weights:

- official way (``train.py --fix_backbone``): every epoch decodes each image, runs the
  frozen backbone, then steps the head;
- cached: ``dfdlab.features.extract_features`` runs the backbone once (written to a cold
  on-disk cache), then 10 epochs read the cached features.

The benchmark asserts that the two heads (and their logits) agree, then prints the times.
The "cold" speed-up includes the one-time extraction and cache write (so with 10 epochs it
cannot exceed ~10x); "warm" (the cache already on disk, e.g. the next experiment on the same
images) is printed too. The last line is the cold speed-up. An untimed warm-up (file page
cache, one backbone batch) runs first so that neither run pays first-touch costs.

Backbone: the quick profile's EfficientNet-Lite0 (ImageNet) **stand-in** for CLIP
ViT-L/14 at 64 px (CPU); with ViT-L/14 at 224 px the backbone share, and the speed-up, are
larger. Data: 256 crops (72 px) of scikit-image photographs; "fake" = the crop down- then
up-sampled (the content does not matter for a timing, only that it is real image data).
The batch is 64 here (the recipe's 256 would be one step per epoch on 256 images).

    .venv/bin/python benchmarks/ufd_feature_cache.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

N_IMAGES, CROP, EPOCHS, BATCH, SEED = 256, 64, 10, 64, 0


def make_images(folder: Path) -> list[tuple[str, int]]:
    from PIL import Image
    from skimage import data

    names = ["astronaut", "coffee", "chelsea", "rocket", "camera", "immunohistochemistry", "hubble_deep_field",
             "coins", "page", "moon", "brick", "grass", "gravel", "colorwheel", "clock", "retina"]
    photos = [Image.fromarray(np.asarray(getattr(data, n)())).convert("RGB") for n in names]
    rng = np.random.default_rng(SEED)
    items = []
    for i in range(N_IMAGES):
        img = photos[i % len(photos)]
        x, y = (int(rng.integers(0, s - 72)) for s in img.size)
        crop = img.crop((x, y, x + 72, y + 72))
        label = i % 2
        if label:
            crop = crop.resize((36, 36), Image.BILINEAR).resize((72, 72), Image.NEAREST)
        path = folder / ("1_fake" if label else "0_real") / f"{i:04d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        crop.save(path)
        items.append((str(path), label))
    return items


def main() -> float:
    os.environ["DFDLAB_HOME"] = tempfile.mkdtemp(prefix="dfdlab-bench-")  # a cold feature cache
    import torch

    import dfdlab
    from dfdlab.data import load_rgb
    from dfdlab.detectors import build
    from dfdlab.features import LinearProbe, cached_batches, epoch_order, extract_features, train_linear_head

    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    items = make_images(Path(tempfile.mkdtemp(prefix="ufd-bench-images-")))
    model = build("ufd", backbone="efficientnet_lite0", crop_size=CROP)
    model.weights_digest()  # hashing the weights file once is not part of either run
    transform = model.transform(train=False)
    print(model.describe())
    print(f"{len(items)} images, crop {CROP}, {EPOCHS} epochs, batch {BATCH}, {torch.get_num_threads()} threads")

    def fresh_head():
        dfdlab.seed_everything(SEED)
        return LinearProbe(model.feature_dim)

    # official way: decode + backbone in every epoch
    def backbone_batches(epoch):
        order = epoch_order(len(items), epoch, SEED)
        for i in range(0, len(order), BATCH):
            idx = order[i:i + BATCH].tolist()
            x = torch.stack([transform(load_rgb(items[j][0])) for j in idx])
            yield model.features(x), torch.tensor([items[j][1] for j in idx])

    # warm-up, untimed and shared by both runs: page cache for the files, one backbone batch
    for path, _ in items:
        Path(path).read_bytes()
    model.features(torch.stack([transform(load_rgb(p)) for p, _ in items[:BATCH]]))

    t0 = time.perf_counter()
    head_official = fresh_head()
    loss_official = train_linear_head(head_official, backbone_batches, EPOCHS, progress=False)
    t_official = time.perf_counter() - t0

    # cached: extract once (cold cache, written to disk), then train from the cache
    t0 = time.perf_counter()
    fs = extract_features(model, items, transform=transform, batch_size=BATCH, progress=False)
    t_extract = time.perf_counter() - t0
    assert not fs.from_cache and len(fs) == len(items) and fs.paths == [p for p, _ in items]
    t0 = time.perf_counter()
    fs_warm = extract_features(model, items, transform=transform, progress=False)  # cache hit: read from disk
    head_cached = fresh_head()
    loss_cached = train_linear_head(head_cached, cached_batches(fs_warm, BATCH, SEED), EPOCHS, progress=False)
    t_cached_train = time.perf_counter() - t0
    assert fs_warm.from_cache

    # same data, same result
    assert torch.allclose(head_official.fc.weight, head_cached.fc.weight, atol=1e-5), \
        (head_official.fc.weight - head_cached.fc.weight).abs().max()
    assert torch.allclose(head_official.fc.bias, head_cached.fc.bias, atol=1e-5)
    with torch.no_grad():
        logits_a, logits_b = head_official(fs.features), head_cached(fs.features)
    max_diff = (logits_a - logits_b).abs().max().item()
    assert max_diff < 1e-4, max_diff
    assert np.allclose(loss_official, loss_cached, atol=1e-5)

    t_cold = t_extract + t_cached_train
    print(f"{'run':<44} {'seconds':>9}")
    print(f"{'official: backbone every epoch':<44} {t_official:9.2f}")
    print(f"{'cached, cold: extract + write once':<44} {t_extract:9.2f}")
    print(f"{'cached: read cache + 10 head epochs':<44} {t_cached_train:9.2f}")
    print(f"heads agree: max |logit difference| {max_diff:.2e}; final loss {loss_official[-1]:.4f} vs {loss_cached[-1]:.4f}")
    print(f"warm speed-up (cache already on disk): {t_official / t_cached_train:.0f}x")
    ratio = t_official / t_cold
    print(f"speedup: {ratio:.1f}x")
    return ratio


if __name__ == "__main__":
    sys.exit(0 if main() >= 1 else 1)
