"""GPU readiness: every detector's forward and backward on CUDA (fp32, and fp16 autocast) against CPU fp32.

Usage:
    python benchmarks/gpu_check.py                 # on a machine with an NVIDIA GPU
    python benchmarks/gpu_check.py --published     # the published checkpoints where `dfdlab assets` has them
    python benchmarks/gpu_check.py --batch-size 32 --iters 10

For each detector (CNNDetection, NPR, LGrad, UnivFD) the same batch goes through the model on
the CPU in fp32 (the reference) and on CUDA in fp32 and under ``torch.autocast(float16)``
(``dfdlab.evaluate``'s ``amp=True`` on CUDA). The table gives, per variant:

- ``max |dp|``: the largest difference of the sigmoid probabilities from CPU fp32;
- ``flips``: images whose decision (``p > 0.5``, ``validate.py``) differs from CPU fp32;
- ``grad rel``: ``|g - g_cpu| / |g_cpu|`` of the gradient of the BCE loss over every trainable
  parameter (the training step's backward, in eval mode so that both sides are deterministic; under
  autocast with a static loss scale of 2^12, as ``torch.amp.GradScaler`` would apply), and whether
  it is finite;
- ``images/s``: forward throughput on CUDA at ``--batch-size`` (median of ``--iters`` batches).

NPR is also run with cuDNN disabled, as its official ``test.py`` does (``seed_torch(100)`` sets
``cudnn.enabled = False``): that is the row to compare with the paper's setting. LGrad's
input gradient stays float32 under autocast (``dfdlab.detectors.lgrad``). Without a CUDA
device the script prints "no CUDA device" and exits with status 0.

Inputs are crops of scikit-image photographs; random-weight networks (the default) get their
BatchNorm statistics calibrated on them first (a fresh network with running stats 0/1 gives
degenerate logits), so the probabilities spread over (0, 1) and ``flips`` means something.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from npr_throughput import calibrate_bn, photo_batch  # noqa: E402

import dfdlab  # noqa: E402
from dfdlab import hub  # noqa: E402
from dfdlab.detectors import build, load_checkpoint  # noqa: E402

#: Static loss scale of the autocast backward.
LOSS_SCALE = 2.0**12

#: detector -> (build keyword arguments for random weights, input size, input range)
DETECTORS = {
    "cnndetection": ({}, 224, "imagenet"),
    "npr": ({}, 256, "imagenet"),
    "lgrad": ({"discriminator": "random"}, 256, "minus1to1"),
    "univfd": ({"clip_weights": "random"}, 224, "imagenet"),
}


def make_model(name: str, published: bool, x: torch.Tensor) -> tuple[torch.nn.Module, str]:
    """The detector with published weights (when asked and on disk) or calibrated random weights."""
    kw, _, _ = DETECTORS[name]
    if published and name == "univfd" and not hub.missing(["clip-vit-l-14-openai", "ufd-fc"]):
        return build("univfd", head_weights="official").eval(), "published (CLIP ViT-L/14 + fc_weights.pth)"
    if published and name != "univfd" and not hub.missing([hub.PUBLISHED_WEIGHTS[name]]):
        extra = {} if name != "lgrad" or hub.missing(["stylegan-bedroom256-d"]) else {"discriminator": None}
        model = build(name, **{**kw, **extra})
        load_checkpoint(model, hub.weights_for(name))
        return model.eval(), f"published ({hub.PUBLISHED_WEIGHTS[name]})"
    torch.manual_seed(0)
    model = build(name, **kw)
    if any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules()):
        calibrate_bn(model, x)
    return model.eval(), "random, BN calibrated on photographs"


def inputs(n: int, size: int, kind: str) -> torch.Tensor:
    x = photo_batch(n, size=size)
    if kind == "minus1to1":  # back from ImageNet normalisation to [-1, 1] (LGrad's discriminator input)
        mean = torch.tensor([0.485, 0.456, 0.406])[:, None, None]
        std = torch.tensor([0.229, 0.224, 0.225])[:, None, None]
        x = (x * std + mean) * 2 - 1
    return x


def forward_backward(model, x, y, device, amp: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Probabilities of ``x`` and the flattened gradient of the BCE loss over the trainable parameters."""
    model = model.to(device)
    x, y = x.to(device), y.to(device)
    ctx = torch.autocast(device_type=device.type, dtype=torch.float16) if amp else nullcontext()
    model.zero_grad(set_to_none=True)
    with ctx:
        logits = model(x).reshape(-1)
    scale = LOSS_SCALE if amp else 1.0  # fp16 gradients underflow without one (GradScaler's job)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits.float(), y)
    (loss * scale).backward()
    grads = [p.grad.float().reshape(-1) / scale for p in model.parameters() if p.requires_grad and p.grad is not None]
    grad = torch.cat(grads).cpu() if grads else torch.zeros(1)
    return logits.detach().float().sigmoid().cpu(), grad


def throughput(model, x, device, amp: bool, batch_size: int, iters: int) -> float:
    model = model.to(device)
    xb = torch.cat([x] * max(1, batch_size // len(x) + 1))[:batch_size].to(device)
    ctx = torch.autocast(device_type=device.type, dtype=torch.float16) if amp else nullcontext()
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    rates = []
    for i in range(iters + 2):  # two warm-up batches
        sync()
        t0 = time.perf_counter()
        with ctx:
            model(xb)
        sync()
        if i >= 2:
            rates.append(batch_size / (time.perf_counter() - t0))
    return statistics.median(rates)


def check(name: str, device: torch.device, n: int, batch_size: int, iters: int, published: bool) -> list[dict]:
    kw, size, kind = DETECTORS[name]
    x = inputs(n, size, kind)
    y = (torch.arange(n) % 2).float()
    model, weights = make_model(name, published, x)
    p_ref, g_ref = forward_backward(model, x, y, torch.device("cpu"), amp=False)
    variants = [("fp32", False, True), ("fp16 autocast", True, True)]
    if name == "npr":
        variants.append(("fp32, cuDNN off (official test.py)", False, False))
    rows = []
    for variant, amp, cudnn in variants:
        previous = torch.backends.cudnn.enabled
        torch.backends.cudnn.enabled = cudnn
        try:
            p, g = forward_backward(model, x, y, device, amp)
            rate = throughput(model, x, device, amp, batch_size, iters)
        finally:
            torch.backends.cudnn.enabled = previous
        rows.append({"detector": name, "weights": weights, "variant": f"{device.type} {variant}",
                     "max |dp|": float((p - p_ref).abs().max()), "flips": int(((p > 0.5) != (p_ref > 0.5)).sum()),
                     "grad rel": float((g - g_ref).norm() / g_ref.norm().clamp_min(1e-30)),
                     "grad finite": bool(torch.isfinite(g).all()), "images/s": round(rate, 1)})
    model.to("cpu")
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--detectors", nargs="+", default=list(DETECTORS), choices=list(DETECTORS))
    p.add_argument("--images", type=int, default=16, help="images compared with CPU fp32 (default 16)")
    p.add_argument("--batch-size", type=int, default=32, help="batch of the throughput measurement")
    p.add_argument("--iters", type=int, default=5, help="timed batches (median)")
    p.add_argument("--published", action="store_true", help="use the published checkpoints that are on disk")
    p.add_argument("--device", default="cuda", help="device to check against the CPU (default cuda; 'cpu' "
                                                    "runs the script's own self-test)")
    args = p.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("no CUDA device: nothing to check here (run benchmarks/gpu_check.py on a machine with an NVIDIA GPU)")
        return 0
    if device.type == "cuda":
        print(f"{torch.cuda.get_device_name(device)}; torch {torch.__version__}, CUDA {torch.version.cuda}, "
              f"cuDNN {torch.backends.cudnn.version()}; dfdlab {dfdlab.__version__}")
    rows = [r for name in args.detectors for r in check(name, device, args.images, args.batch_size, args.iters,
                                                          args.published)]
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.2e}" if abs(v) < 0.01 else f"{v:.3g}"))
    bad = table[~table["grad finite"]]
    if len(bad):
        print(f"non-finite gradients: {', '.join(bad['detector'] + ' ' + bad['variant'])}")
    return 1 if len(bad) else 0


if __name__ == "__main__":
    sys.exit(main())
