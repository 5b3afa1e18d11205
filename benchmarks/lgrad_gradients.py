"""Images -> classifier-ready LGrad gradients: the official two-stage way vs dfdlab, one run.

Usage:
    python benchmarks/lgrad_gradients.py                      # both settings below, CPU
    python benchmarks/lgrad_gradients.py --setting paper --images 16 --device cuda
    python benchmarks/lgrad_gradients.py --setting paper --weights karras2019stylegan-bedrooms-256x256_discriminator.pth

Two settings, each timed on the same image files through both paths:

* ``quick``: the lab's CPU setting, a DCGAN discriminator (the GAN lesson's, random
  weights) on 64x64 PNGs like the mini benchmark's, ``--quick-images`` of them;
* ``paper``: the StyleGAN (v1) discriminator at 256x256 on photographs, ``--images``.

The same image files go through both paths:

* **official** (``img2gad_pytorch/gen_imggrad.py`` then ``CNNDetection`` ``eval_test8gan.py``):
  stage 1, one image per batch: PIL decode -> Resize((256,256)) -> [-1, 1] ->
  ``autograd.grad(D(x).sum(), x, create_graph=True, retain_graph=True)`` -> numpy min-max ->
  ``cv2.imwrite(png, g[..., ::-1])``; stage 2: PIL reads each PNG -> ToTensor -> ImageNet
  Normalize (test: no resize, no crop).
* **dfdlab**: PIL decode -> ``lgrad_discriminator_input`` -> one batched
  ``gradient_map(D, x, quantize=True)`` -> ``/255`` -> ImageNet Normalize, in memory.

The two results must be identical (asserted, exit status 1 otherwise). Without
``--weights`` the discriminators have random weights: timing does not depend on them, and
equality holds for any weights.

What to expect on a CPU: with the small D the official way is dominated by per-image
overhead (a forward/backward per image, PNG encode and decode) and batching wins by an
order of magnitude; with the StyleGAN D at 256 its ~23 GMAC of convolutions per image
dominate both paths and the ratio is about 1x (batching cannot make a compute-bound CPU
convolution faster; on a GPU it can). The last line, ``speedup: <official / dfdlab>x``, is
the quick setting's when both run (the paper setting's ratio is printed above it).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import dfdlab
from dfdlab.data.transforms import lgrad_discriminator_input
from dfdlab.detectors.lgrad import (
    StyleGANDiscriminator,
    freeze,
    gradient_map,
    load_stylegan_discriminator,
    official_gradient_png,
)

MEAN = torch.tensor([0.485, 0.456, 0.406])[:, None, None]
STD = torch.tensor([0.229, 0.224, 0.225])[:, None, None]


def write_photos(folder: Path, n: int, crop: int | None = None) -> list[Path]:
    """``n`` files of scikit-image photographs: odd-sized JPEGs, or ``crop``-sized PNG crops."""
    from PIL import Image
    from skimage import data

    names = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field")
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        arr = np.asarray(getattr(data, names[i % len(names)])())[..., :3]
        if crop:
            y, x = rng.integers(0, arr.shape[0] - crop), rng.integers(0, arr.shape[1] - crop)
            arr, p = arr[y:y + crop, x:x + crop], folder / f"img{i:03d}.png"
        else:
            arr, p = arr[i // len(names) * 7:, i // len(names) * 5:], folder / f"img{i:03d}.jpg"
        Image.fromarray(np.ascontiguousarray(arr)).save(p, **({} if crop else {"quality": 95}))
        out.append(p)
    return out


def official(D, files: list[Path], out: Path, size: int) -> tuple[torch.Tensor, dict]:
    from PIL import Image

    t0 = time.perf_counter()
    pngs = [official_gradient_png(D, Image.open(f).convert("RGB"), out / (f.stem + ".png"), size) for f in files]
    t1 = time.perf_counter()
    batch = []
    for p in pngs:  # stage 2: the classifier's test pipeline on the PNGs (ToTensor + Normalize)
        a = torch.from_numpy(np.array(Image.open(p).convert("RGB"))).permute(2, 0, 1).float().div(255)
        batch.append((a - MEAN) / STD)
    t2 = time.perf_counter()
    return torch.stack(batch), {"stage 1 (D per image + PNG)": t1 - t0, "stage 2 (read PNGs)": t2 - t1}


def ours(D, files: list[Path], size: int, device: str) -> tuple[torch.Tensor, dict]:
    from dfdlab.data import load_rgb

    t0 = time.perf_counter()
    tf = lgrad_discriminator_input(size)
    x = torch.stack([tf(load_rgb(f)) for f in files]).to(device)
    t1 = time.perf_counter()
    g = gradient_map(D, x, quantize=True).float().div(255)
    y = ((g - MEAN.to(device)) / STD.to(device)).cpu()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t2 = time.perf_counter()
    return y, {"decode + resize": t1 - t0, "batched gradient_map + normalise": t2 - t1}


def run_setting(name: str, D, files: list[Path], size: int, device: str, tmp: Path) -> float:
    """Time both paths on ``files``, assert equal results, print the rows; return the speedup."""
    gradient_map(D, torch.zeros(1, 3, size, size, device=device))  # warm-up
    a, ta = official(D, files, tmp / f"grad-{name}", size)
    b, tb = ours(D, files, size, device)
    total_a, total_b = sum(ta.values()), sum(tb.values())
    for k, v in ta.items():
        print(f"{name:<7} {'official':<9} {k:<34} {v:8.2f}")
    for k, v in tb.items():
        print(f"{name:<7} {'dfdlab':<9} {k:<34} {v:8.2f}")
    same = torch.equal(a, b)
    print(f"{name:<7} {'':<9} {'official / dfdlab':<34} {total_a / total_b:7.2f}x   "
          f"({len(files)} images, identical result: {same}, {int((a != b).sum())} values differ)")
    if not same:
        raise AssertionError(f"{name}: dfdlab's gradients differ from the official two-stage pipeline")
    return total_a / total_b


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--setting", choices=("quick", "paper", "both"), default="both")
    ap.add_argument("--images", type=int, default=4, help="photos for the paper setting (StyleGAN D, 256)")
    ap.add_argument("--quick-images", type=int, default=64, help="64x64 PNGs for the quick setting (DCGAN D)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--weights", default=None, help="genforce StyleGAN D file (default: random weights)")
    args = ap.parse_args(argv)

    import cv2

    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # official float PNGs log "fallbacked to CV_8U"
    print(f"dfdlab {dfdlab.__version__}, torch {torch.__version__}, device {args.device}, "
          f"{torch.get_num_threads()} CPU threads; paper D: "
          f"{'weights ' + args.weights if args.weights else 'random weights'}")
    print(f"\n{'setting':<7} {'path':<9} {'step':<34} {'seconds':>8}")
    speedups = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        try:
            if args.setting in ("paper", "both"):
                torch.manual_seed(0)
                D = (load_stylegan_discriminator(args.weights) if args.weights
                     else freeze(StyleGANDiscriminator(256))).to(args.device)
                speedups["paper"] = run_setting("paper", D, write_photos(tmp / "paper", args.images), 256,
                                                args.device, tmp)
            if args.setting in ("quick", "both"):
                from dfdlab.gan.dcgan import Discriminator

                torch.manual_seed(0)
                D = freeze(Discriminator()).to(args.device)
                speedups["quick"] = run_setting("quick", D, write_photos(tmp / "quick", args.quick_images, 64), 64,
                                                args.device, tmp)
        except AssertionError as e:
            print(f"FAILED: {e}", file=sys.stderr)
            return 1
    if "paper" in speedups and "quick" in speedups:
        print(f"\npaper setting (StyleGAN D 256): {speedups['paper']:.2f}x; quick setting (DCGAN D 64): "
              f"{speedups['quick']:.2f}x")
    print(f"speedup: {speedups.get('quick', speedups.get('paper')):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
