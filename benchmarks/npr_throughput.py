"""NPR evaluation throughput (images/s) at 224x224, CPU and (when present) GPU.

Usage:
    python benchmarks/npr_throughput.py                   # every variant on every device
    python benchmarks/npr_throughput.py --device cpu --batch-size 16 --iters 5
    python benchmarks/npr_throughput.py --weights NPR.pth # published weights instead of BN-calibrated random ones

Variants: fp32 (reference), fp32 + channels_last, autocast (bfloat16 on CPU, float16 on
CUDA), autocast + channels_last. Every variant's predictions on the same batch are
checked against fp32 on that device: the sigmoid probabilities may differ by at most
``TOLERANCE[variant kind]`` and no image may change side of 0.5 unless its fp32
probability is within that tolerance of 0.5. A failed check is printed in the table
and makes the script exit with status 1.

Inputs are real photographs (scikit-image) cut into random 224x224 crops and
ImageNet-normalised, so the NPR residual has realistic statistics. Without ``--weights``
the network's BatchNorm statistics are first calibrated on such crops (a freshly
initialised network with running stats 0/1 gives degenerate logits).
"""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import nullcontext

import numpy as np
import pandas as pd
import torch

import dfdlab
from dfdlab.detectors import build, load_checkpoint

#: Allowed max |p - p_fp32| (sigmoid probabilities) per variant kind.
TOLERANCE = {"fp32": 1e-4, "bf16": 2e-2, "fp16": 5e-3}


def photo_batch(n: int, size: int = 224, seed: int = 0) -> torch.Tensor:
    """``n`` random ``size`` crops of scikit-image photographs, ImageNet-normalised."""
    from skimage import data

    photos = [np.asarray(getattr(data, k)()) for k in ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry")]
    photos = [p if p.ndim == 3 else np.repeat(p[..., None], 3, -1) for p in photos]
    rng = np.random.default_rng(seed)
    crops = []
    for i in range(n):
        p = photos[i % len(photos)]
        y, x = rng.integers(0, p.shape[0] - size + 1), rng.integers(0, p.shape[1] - size + 1)
        crops.append(p[y : y + size, x : x + size, :3])
    t = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 255
    mean = torch.tensor([0.485, 0.456, 0.406])[:, None, None]
    std = torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    return (t - mean) / std


@torch.no_grad()
def calibrate_bn(model: torch.nn.Module, x: torch.Tensor) -> None:
    """Cumulative BatchNorm statistics on ``x`` (train-mode forward passes, no gradients)."""
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
    model.train()
    for chunk in x.split(8):
        model(chunk)
    model.eval()


def run_variant(model, x, device, channels_last: bool, amp_dtype, batch_size: int, warmup: int, iters: int):
    """Predicted probabilities for ``x`` and the median images/s over ``iters`` timed batches."""
    m = model.to(device)
    m = m.to(memory_format=torch.channels_last) if channels_last else m.to(memory_format=torch.contiguous_format)
    xb = x.to(device)
    if channels_last:
        xb = xb.contiguous(memory_format=torch.channels_last)
    ctx = torch.autocast(device_type=device.type, dtype=amp_dtype) if amp_dtype is not None else nullcontext()
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    with torch.inference_mode(), ctx:
        probs = torch.cat([torch.sigmoid(m(c).float()) for c in xb.split(batch_size)]).cpu()
        batch = xb[:batch_size]
        for _ in range(warmup):
            m(batch)
        sync()
        rates = []
        for _ in range(iters):
            t0 = time.perf_counter()
            m(batch)
            sync()
            rates.append(batch.shape[0] / (time.perf_counter() - t0))
    return probs, float(np.median(rates))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="all", help="cpu, cuda, or all (cpu + cuda when present)")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--images", type=int, default=64, help="images whose predictions are compared")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    ap.add_argument("--no-channels-last", action="store_true")
    ap.add_argument("--no-autocast", action="store_true")
    ap.add_argument("--weights", default=None, help="an official NPR checkpoint (NPR.pth, model_epoch_last_3090.pth)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    dfdlab.seed_everything(0, deterministic=False)
    model = build("npr").eval()
    x = photo_batch(max(args.images, args.batch_size), args.size)
    if args.weights:
        load_checkpoint(model, args.weights)
        source = f"weights {args.weights}"
    else:
        calibrate_bn(model, x)
        source = "random init, BN calibrated on photo crops"

    devices = [torch.device("cpu")]
    if args.device in ("cuda", "all") and torch.cuda.is_available():
        devices = [torch.device("cuda")] if args.device == "cuda" else devices + [torch.device("cuda")]
    elif args.device == "cuda":
        print("no CUDA device here; nothing to do")
        return 0

    rows, ok = [], True
    for dev in devices:
        amp = torch.bfloat16 if dev.type == "cpu" else torch.float16
        variants = [("fp32", False, None)]
        if not args.no_channels_last:
            variants.append(("fp32", True, None))
        if not args.no_autocast:
            variants.append(("bf16" if amp is torch.bfloat16 else "fp16", False, amp))
            if not args.no_channels_last:
                variants.append(("bf16" if amp is torch.bfloat16 else "fp16", True, amp))
        ref = None
        for kind, cl, dt in variants:
            probs, rate = run_variant(model, x, dev, cl, dt, args.batch_size, args.warmup, args.iters)
            if ref is None:
                ref = probs
            diff = (probs - ref).abs().max().item()
            tol = TOLERANCE[kind]
            flips = ((probs > 0.5) != (ref > 0.5)) & ((ref - 0.5).abs() > tol)
            passed = diff <= tol and not flips.any().item()
            ok &= passed
            rows.append({
                "device": str(dev), "variant": kind + (" + channels_last" if cl else ""),
                "images/s": round(rate, 1), "max |dp| vs fp32": f"{diff:.1e}", "tolerance": f"{tol:.0e}",
                "decision flips": int(flips.sum()), "check": "ok" if passed else "FAIL",
            })
    torch_threads = torch.get_num_threads()
    print(f"NPR eval throughput, {args.size}x{args.size}, batch {args.batch_size}, median of {args.iters} "
          f"batches; {source}; torch {torch.__version__}, {torch_threads} CPU threads")
    if torch.cuda.is_available():
        print(f"GPU: {torch.cuda.get_device_name(0)}")
    print(pd.DataFrame(rows).to_string(index=False))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
