"""A miniature replica of every published layout dfdlab reads, and official-format checkpoints of random weights.

``write_replica(root)`` writes, under ``root``:

- ``data/ForenSynths/{train,val}/<20 LSUN classes>/{0_real,1_fake}`` and
  ``data/ForenSynths/test/<13 generators>`` with the multi-class generators of the
  CNNDetection test set (``progan/<20 classes>``, ``stylegan/{bedroom,car,cat}``,
  ``stylegan2/{car,cat,church,horse}``, ``cyclegan/{apple,...,zebra}``) as released on the
  Hugging Face dataset ``sywang/CNNDetection``;
- ``data/UnivFD/diffusion_datasets``: UnivFD's released layout (``dataset_paths.py``): each
  set's fakes in ``<set>/1_fake``, the reals in the shared pools ``imagenet/0_real`` (for
  ``guided``) and ``laion/0_real`` (for the seven others);
- ``data/GANGen-Detection/<9 GANs>``, ``data/DiffusionForensics/<8 models>`` (NPR ``test.py``
  ``DetectionTests``), ``data/AIGCDetectBenchmark/test/<16 sets>`` (NPR README) and GenImage's
  own download ``data/GenImage/<Generator>/<inner>/val/{nature,ai}``.

  The test layouts are those of ``dfdlab.suites`` (each ``TestSet``'s folder, classes, real
  pool and published place), so the replica covers every suite ``dfdlab eval --suite`` runs;
- ``weights/``: every checkpoint of the asset registry in its official format with random
  weights (``NPR.pth`` as ``{'model': {'module.*'}}``, raw state dicts for
  ``model_epoch_last_3090.pth`` and the LGrad classifiers, the bare UnivFD ``Linear(768, 1)``,
  the genforce StyleGAN discriminator's state dict, torchvision's ImageNet ResNet-50 layout,
  CNNDetection's ``{'model': ...}``);
- ``registry.json``: the rehearsal registry ``dfdlab.hub`` reads when ``DFDLAB_REHEARSAL``
  names ``root``: asset name -> replica path, its sha256 and what it is.

Each leaf holds a few small images with the edge cases of real data, dealt in turn: odd sizes,
upper-case extensions (``.PNG``, ``.JPG``, ``.JPEG``), greyscale and CMYK JPEG files; the
ForenSynths test set holds one corrupt file (``biggan/1_fake``), which every reader must skip
and name. The images are noise patterns, the weights random: a rehearsal tests the full
profile's code path, it computes no result (``dfdlab.config.REHEARSAL_LABEL``).

The one exception to "official format": OpenAI's CLIP ViT-L/14 is a 890 MB TorchScript archive.
Its stand-in is a **small** CLIP (2 vision layers of width 64, patch 32, 224 px, 768-d
projection) in OpenAI's key layout, fp16, saved as a plain state dict; the loader infers its
architecture from the shapes (``dfdlab.clip.pretrained.rehearsal_clip``), and the registry
record says so.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..files import atomic_torch_save, atomic_write_text, sha256sum

#: Bumped whenever the replica's content changes: a stale replica is rewritten.
REPLICA_VERSION = 2

#: Where each dataset asset of ``dfdlab.hub`` sits in the replica (the asset's own folder name).
DATASETS = {"forensynths-train": "data/ForenSynths/train", "forensynths-val": "data/ForenSynths/val",
            "forensynths-test": "data/ForenSynths/test", "univfd-diffusion": "data/UnivFD/diffusion_datasets",
            "gangen": "data/GANGen-Detection", "diffusionforensics": "data/DiffusionForensics",
            "aigcdetect": "data/AIGCDetectBenchmark/test", "genimage": "data/GenImage"}

#: Folder of each suite's sets below ``data/`` when the set itself does not say (``TestSet.group``).
_SUITE_FOLDERS = {"gangen": "GANGen-Detection", "diffusionforensics": "DiffusionForensics",
                  "aigcdetect": "AIGCDetectBenchmark/test", "genimage": "GenImage"}

# (size, extension, PIL mode): each leaf takes the next ones, so every edge case appears in every layout.
_EDGE_CASES = (((64, 64), ".png", "RGB"), ((67, 53), ".PNG", "RGB"), ((48, 72), ".jpg", "L"),
               ((75, 61), ".JPEG", "CMYK"), ((56, 56), ".JPG", "RGB"), ((81, 45), ".png", "L"))


class _Images:
    """Small noise images with the edge cases above, dealt in turn; deterministic from a seed."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.k = 0
        self.n = 0

    def write(self, folder: Path, label: int, count: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for _ in range(count):
            (w, h), ext, mode = _EDGE_CASES[self.k % len(_EDGE_CASES)]
            self.k += 1
            base = self.rng.integers(0, 256, size=(h // 4 + 1, w // 4 + 1, 3), dtype=np.uint8)
            im = Image.fromarray(base).resize((w, h), Image.NEAREST if label else Image.BILINEAR)  # fakes: blocks
            im = im.convert(mode)
            fmt = "PNG" if ext.lower() == ".png" else "JPEG"
            im.save(folder / f"{self.k:04d}{ext}", format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
            self.n += 1


def _leaves(base: Path, classes) -> list[Path]:
    return [base / c for c in classes] if classes else [base]


def _labelled(images: _Images, leaf: Path, per_label: int, labels: tuple) -> None:
    images.write(leaf / labels[0], 0, per_label)
    images.write(leaf / labels[1], 1, per_label)


def _corrupt(path: Path) -> None:
    """A PNG cut off inside its header, which no decoder can read: real downloads have such files."""
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (120, 90, 60)).save(buf, format="PNG")
    path.write_bytes(buf.getvalue()[:20])


def _set_folder(data: Path, suite, t) -> Path:
    """Where the published archive puts test set ``t`` of ``suite``, below ``data``."""
    if t.group == "test":  # CNN_synth_testset.zip
        return data / "ForenSynths" / "test" / t.folder
    if t.group == "diffusion_datasets":  # UnivFD's zip
        return data / "UnivFD" / "diffusion_datasets" / t.folder
    base = data / _SUITE_FOLDERS.get(suite.name, suite.name)
    return base / t.also_at[0] if t.also_at else base / t.folder  # also_at[0]: the set's own download


def write_layouts(data: Path, per_label: int = 1, seed: int = 0) -> int:
    """Write every published layout under ``data``; returns the number of image files.

    ForenSynths train/val (``progan_train.7z``, ``progan_val.zip``: 20 LSUN classes), then the
    test sets of every suite of ``dfdlab.suites`` where its release puts them: class folders
    of multi-class generators, UnivFD's shared real pools (``TestSet.real_pool``) and GenImage's
    own ``<Generator>/<inner>/val/{nature,ai}`` (``TestSet.also_at``). A set shared by several
    suites is written once.
    """
    from .. import suites

    images = _Images(seed)
    for split in ("train", "val"):
        for c in suites.PROGAN_CLASSES:
            _labelled(images, data / "ForenSynths" / split / c, per_label, suites.LABEL_FOLDERS)
    done = set()
    for suite in suites.SUITES.values():
        for t in suite.sets:
            folder = _set_folder(data, suite, t)
            if folder in done:
                continue
            done.add(folder)
            if t.real_pool:  # fakes only; the reals are the pool's
                images.write(folder / "1_fake", 1, per_label)
                pool = folder.parent / t.real_pool / "0_real"
                if pool not in done:
                    images.write(pool, 0, 2 * per_label)
                    done.add(pool)
                continue
            labels = suite.label_folders[-1] if t.also_at else suite.label_folders[0]
            for leaf in _leaves(folder, t.classes):
                _labelled(images, leaf, per_label, labels)
    _corrupt(data / "ForenSynths" / "test" / "biggan" / "1_fake" / "corrupt.png")
    atomic_write_text(data / "README.txt", "A miniature replica of the published layouts (dfdlab.data.replica): "
                      "the folder names are the published ones; the images are noise, not the published data.\n")
    return images.n + 1


# --------------------------------------------------------------------------- checkpoints


def _small_openai_clip() -> dict:
    """A small CLIP in OpenAI's key layout, fp16 as OpenAI stores it (``clip/model.py::convert_weights``)."""
    from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg, convert_weights_to_fp16

    model = CLIP(768, vision_cfg=CLIPVisionCfg(layers=2, width=64, patch_size=32, image_size=224),
                 text_cfg=CLIPTextCfg(context_length=77, vocab_size=49408, width=64, heads=1, layers=1),
                 quick_gelu=True).eval()
    convert_weights_to_fp16(model)
    return OrderedDict((k, v.clone()) for k, v in model.state_dict().items())


def _npr_state() -> dict:
    from ..detectors.npr import NPR

    return NPR().state_dict()


def _resnet50_binary_state() -> dict:
    from ..detectors.cnndetection import CNNDetection

    return CNNDetection(pretrained=False).state_dict()


def _cnndetection_checkpoint() -> dict:
    return {"model": _resnet50_binary_state()}


def _checkpoints() -> dict:
    """asset name -> (file name, what it holds, a function making the object ``torch.save`` writes)."""
    from torchvision.models import resnet50

    from ..detectors.lgrad import StyleGANDiscriminator

    lgrad_note = "a raw ResNet-50 state dict (fc 2048 -> 1), as LGrad's released files; random weights"
    return {
        "clip-vit-l-14-openai": ("ViT-L-14.pt", "a SMALL CLIP (2 vision layers of width 64, patch 32, 224 px, "
                                 "768-d projection) in OpenAI key layout, fp16, a plain state dict (not OpenAI's "
                                 "TorchScript ViT-L/14; its architecture is inferred from the shapes); random weights",
                                 _small_openai_clip),
        "ufd-fc": ("ufd_fc_weights.pth", "a bare Linear(768, 1) state dict {'weight', 'bias'}, as fc_weights.pth; "
                   "random weights", lambda: OrderedDict(weight=torch.randn(1, 768) * 0.02, bias=torch.zeros(1))),
        "npr": ("NPR.pth", "{'model': {'module.*'}} (a DDP state dict under 'model'), as NPR.pth; random weights",
                lambda: {"model": OrderedDict((f"module.{k}", v) for k, v in _npr_state().items())}),
        "npr-3090": ("model_epoch_last_3090.pth", "a raw NPR state dict, as model_epoch_last_3090.pth; random "
                     "weights", _npr_state),
        "npr-genimage-sdv4": ("NPR_GenImage_sdv4.pth", "a raw NPR state dict; random weights", _npr_state),
        "lgrad-1class": ("LGrad-1class-Trainon-Progan_horse.pth", lgrad_note, _resnet50_binary_state),
        "lgrad-2class": ("LGrad-2class-Trainon-Progan_chair_horse.pth", lgrad_note, _resnet50_binary_state),
        "lgrad-4class": ("LGrad-4class-Trainon-Progan_car_cat_chair_horse.pth", lgrad_note, _resnet50_binary_state),
        "stylegan-bedroom256-d": ("karras2019stylegan-bedrooms-256x256_discriminator.pth",
                                  "the genforce StyleGAN (v1) 256 discriminator's state dict (lod buffer included); "
                                  "random weights", lambda: StyleGANDiscriminator(256).state_dict()),
        "resnet50-imagenet": ("resnet50-19c8e357.pth", "a torchvision ResNet-50 state dict (fc 2048 -> 1000), as "
                              "resnet50-19c8e357.pth; random weights, NOT ImageNet",
                              lambda: resnet50(weights=None).state_dict()),
        "cnndetection-blur-jpeg-0.5": ("blur_jpg_prob0.5.pth", "{'model': ResNet-50 state dict (fc 2048 -> 1)}, "
                                       "as CNNDetection's released files; random weights",
                                       _cnndetection_checkpoint),
        "cnndetection-blur-jpeg-0.1": ("blur_jpg_prob0.1.pth", "{'model': ResNet-50 state dict (fc 2048 -> 1)}, "
                                       "as CNNDetection's released files; random weights",
                                       _cnndetection_checkpoint),
    }


def write_checkpoints(weights: Path, names) -> dict:
    """Write the checkpoints of the assets in ``names``; returns ``{asset: (file, note)}``.

    Files of the same format and shapes (the three LGrad classifiers) are hard links to one
    random file: the rehearsal exercises each name and format, not three sets of noise.
    """
    from ..runtime import seed_everything

    seed_everything(0)
    weights.mkdir(parents=True, exist_ok=True)
    written, by_maker = {}, {}
    for asset, (filename, note, make) in _checkpoints().items():
        if asset not in names:
            continue
        path = weights / filename
        if make in by_maker:
            if path.exists():
                path.unlink()
            os.link(by_maker[make], path)
        else:
            atomic_torch_save(make(), path)
            by_maker[make] = path
        written[asset] = (path, note)
    return written


# --------------------------------------------------------------------------- the replica


def _registry_ok(root: Path) -> bool:
    reg = root / "registry.json"
    if not reg.is_file():
        return False
    try:
        rec = json.loads(reg.read_text())
    except ValueError:
        return False
    if rec.get("version") != REPLICA_VERSION:
        return False
    from .. import hub

    wanted = {n for n in (*_checkpoints(), *DATASETS) if n in hub.ASSETS}  # an asset added since: rewrite
    return wanted <= set(rec["assets"]) and all((root / a["path"]).exists() for a in rec["assets"].values())


def write_replica(root: str | os.PathLike, per_label: int = 1, seed: int = 0, force: bool = False) -> Path:
    """Write (or find) the replica under ``root`` and its rehearsal registry ``root/registry.json``.

    Only assets that ``dfdlab.hub.ASSETS`` knows get a record. A replica of the current
    ``REPLICA_VERSION`` whose files are all there is kept as it is (unless ``force``).
    """
    from .. import hub

    root = Path(root).expanduser().resolve()
    if not force and _registry_ok(root):
        return root
    t0 = time.perf_counter()
    for sub in ("data", "weights"):
        shutil.rmtree(root / sub, ignore_errors=True)
    n_images = write_layouts(root / "data", per_label=per_label, seed=seed)
    assets = {}
    for name, (path, note) in write_checkpoints(root / "weights", set(hub.ASSETS)).items():
        assets[name] = {"path": str(path.relative_to(root)), "sha256": sha256sum(path), "size": path.stat().st_size,
                        "note": note}
    for name, rel in DATASETS.items():
        if name in hub.ASSETS:
            assets[name] = {"path": rel, "note": "a miniature replica of the published layout, noise images"}
    record = {"version": REPLICA_VERSION, "what": "dfdlab rehearsal replica: published layouts with noise images, "
              "official-format checkpoints of random weights", "images": n_images,
              "seconds": round(time.perf_counter() - t0, 1), "assets": assets}
    atomic_write_text(root / "registry.json", json.dumps(record, indent=2))
    return root


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dfdlab.data.replica", description=__doc__.splitlines()[0])
    p.add_argument("root", type=Path, help="folder to write the replica to (DFDLAB_REHEARSAL names it)")
    p.add_argument("--per-label", type=int, default=1, help="images per label folder (default 1)")
    p.add_argument("--force", action="store_true", help="rewrite even if an up-to-date replica is there")
    args = p.parse_args(argv)
    root = write_replica(args.root, per_label=args.per_label, force=args.force)
    rec = json.loads((root / "registry.json").read_text())
    print(f"replica at {root}: {rec['images']} image files, {len(rec['assets'])} assets "
          f"(written in {rec['seconds']} s); use it with DFDLAB_REHEARSAL={root} DFDLAB_PROFILE=full")
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["DATASETS", "REPLICA_VERSION", "write_checkpoints", "write_layouts", "write_replica"]
