"""LGrad's classifier (stage 2) in the channels-last layout against the contiguous (NCHW) layout, one run.

Usage:
    python benchmarks/lgrad_channels_last.py                  # CPU, 1 thread (a make-test worker), 3 repeats
    python benchmarks/lgrad_channels_last.py --threads 2 --repeats 5
    python benchmarks/lgrad_channels_last.py --device cuda --classifier resnet50

``LGrad`` keeps its classifier channels-last (``dfdlab/detectors/lgrad.py``, ``__init__`` and
``classifier_input``); the transformation model and its gradient maps are not touched. This
script times the classifier on prepared gradient images, as the quick zoo runs it (the
EfficientNet-Lite0 stand-in: evaluation on the full 64 px map enlarged 2x, 128 px, batch 64;
a training step on the 56 px crop enlarged, 112 px, batch 16) and, with ``--classifier
resnet50``, the paper's ResNet-50 at its 224 px crop (batch 8 on the CPU). The baseline is
the same weights converted back to the contiguous layout, timed in the same run; each line
prints the ratio (contiguous time / channels-last time: > 1 is faster) and the largest logit
difference between the layouts, which is float32 rounding (the same function, other
summation order), not a change of method.
"""
from __future__ import annotations

import argparse
import copy
import time

import torch

import dfdlab  # noqa: F401  (before timm: the torchvision compat shim)
from dfdlab import detectors


def build(classifier: str) -> tuple[torch.nn.Module, dict]:
    """An LGrad with a random StyleGAN D (the D is not timed) and the sizes the classifier sees."""
    if classifier == "efficientnet_lite0":
        m = detectors.build("lgrad", discriminator="random", image_size=64, crop_size=56,
                            classifier=classifier, pretrained=True, upscale=2)
        return m, {"eval": (64, 128), "train": (16, 112)}
    m = detectors.build("lgrad", discriminator="random", image_size=256, crop_size=224, classifier=classifier)
    return m, {"eval": (8, 256), "train": (8, 224)}


def step(model, z: torch.Tensor, train: bool) -> torch.Tensor:
    model.train(train)
    if train:
        logit = model.fc(model.classifier_features(z)).squeeze(1)
        logit.sum().backward()
        return logit.detach()
    with torch.no_grad():
        return model.fc(model.classifier_features(z)).squeeze(1)


def timed(model, z, train: bool, repeats: int, device: str) -> tuple[float, torch.Tensor]:
    step(model, z, train)  # warm-up: oneDNN primitives, cuDNN autotuning
    best = float("inf")
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = step(model, z, train)
        if device == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return best, out.float().cpu()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--classifier", choices=("efficientnet_lite0", "resnet50"), default="efficientnet_lite0")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    last, sizes = build(a.classifier)
    last = last.to(a.device)
    first = copy.deepcopy(last)
    for child in first.children():
        child.to(memory_format=torch.contiguous_format)
    print(f"LGrad classifier {a.classifier}, {a.device}, {a.threads} thread(s), best of {a.repeats}; "
          f"torch {torch.__version__}")
    for phase, (n, size) in sizes.items():
        z = torch.randn(n, 3, size, size, device=a.device)
        base, y0 = timed(first, z.contiguous(), phase == "train", a.repeats, a.device)
        fast, y1 = timed(last, z.contiguous(memory_format=torch.channels_last), phase == "train", a.repeats, a.device)
        print(f"  {phase:5s} batch {n:3d} at {size} px: contiguous {base:.3f} s, channels-last {fast:.3f} s, "
              f"ratio {base / fast:.2f}x; max |logit difference| {(y0 - y1).abs().max().item():.1e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
