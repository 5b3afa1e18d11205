"""Images -> classifier-ready LGrad gradients: the official two-stage way vs dfdlab, one run.

Usage:
    python benchmarks/lgrad_gradients.py                      # both settings below, CPU, 1 thread, 3 repeats
    python benchmarks/lgrad_gradients.py --threads 2 --repeats 5
    python benchmarks/lgrad_gradients.py --setting paper --images 16 --device cuda
    python benchmarks/lgrad_gradients.py --setting paper --weights karras2019stylegan-bedrooms-256x256_discriminator.pth

Two settings, each timed on the same image files through both paths:

* ``quick``: the lab's CPU setting, the quick zoo's transformation model (the shipped
  64 px StyleGAN-architecture D, ``dfdlab/data/mini_stylegan_d.pt``) on 64x64 PNGs like the
  mini benchmark's, ``--quick-images`` of them, through the zoo's ``method="loop"``;
* ``paper``: the StyleGAN (v1) discriminator at 256x256 on photographs, ``--images``.

The same image files go through both paths:

* **official** (``img2gad_pytorch/gen_imggrad.py`` then ``CNNDetection`` ``eval_test8gan.py``):
  stage 1, one image per batch: PIL decode -> Resize((256,256)) -> [-1, 1] ->
  ``autograd.grad(D(x).sum(), x, create_graph=True, retain_graph=True)`` -> numpy min-max ->
  ``cv2.imwrite(png, g[..., ::-1])``; stage 2: PIL reads each PNG -> ToTensor -> ImageNet
  Normalize (test: no resize, no crop).
* **dfdlab**: PIL decode -> ``lgrad_discriminator_input`` -> one batched
  ``gradient_map(D, x, quantize=True)`` -> ``/255`` -> ImageNet Normalize, in memory.

The two results must be identical (asserted, exit status 1 otherwise). In the quick
setting ``method="batched"`` runs beside it: at 64 px a batched convolution rounds a few
values differently, so it must meet the criterion below (asserted). In the paper setting
two more paths run, each checked against the official PNGs:

* ``gradient_map(D, x, method="hybrid")``: the official forward, operation for operation
  (so every LeakyReLU slope is the official one), then a hand-written backward with fewer
  multiply-adds; float32 rounding of the backward moves a few quantised values by 1 level.
  It must meet the criterion, at most ``MAX_LEVELS`` (1) level apart on at most
  ``MAX_FRACTION`` (1e-4) of the values (asserted), and it is the headline line
  ``paper setting (StyleGAN D 256): X.XXx``;
* ``gradient_map(D, x, method="fast")``: forward and backward with fewer multiply-adds; its
  float32 rounding flips a few LeakyReLU slopes, some values move by several levels, and
  it is reported, not asserted.

Without ``--weights`` the discriminators have random weights: timing does not depend on
them, and equality of the default path holds for any weights.

Both sides run in one process with the same thread count (``--threads``, default 1, also
``OMP_NUM_THREADS``); the paths alternate ``--repeats`` times and every repeat's ratio is
printed, so a shared machine's load hits both sides alike. The summary gives the median
wall-time ratio and the ratio of process CPU seconds (with one thread the latter moves
less under other jobs' load).

What to expect on a CPU: in the quick setting the loop path saves only the PNG encode and
decode (about 1.1x), and batching does not pay (about 0.8x): even the 64 px D's
convolutions outweigh the per-image overhead; with the StyleGAN D at 256 its ~23 GMAC of convolutions per image
(forward, and about as much again backward) dominate both paths. oneDNN already runs
them near the core's peak at batch 1, and any other rounding of a pre-activation within
~1e-7 of 0 flips its LeakyReLU slope and moves the gradient around it by several levels,
so the forward has to be the official one: it is about 43% of the official time, which
caps every path that keeps the official slopes near 2.3x on one thread
(``benchmarks/README.md``). The last line,
``speedup: <official / dfdlab>x``, is the quick setting's when both run.
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":
    _threads = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--threads=")), None)
    if "--threads" in sys.argv[:-1]:
        _threads = sys.argv[sys.argv.index("--threads") + 1]
    os.environ["OMP_NUM_THREADS"] = _threads or os.environ.get("OMP_NUM_THREADS", "1")

# ruff: noqa: E402  (the thread count is set before torch is imported)
import argparse
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


def ours(D, files: list[Path], size: int, device: str, method: str = "batched") -> tuple[torch.Tensor, dict]:
    from dfdlab.data import load_rgb

    t0 = time.perf_counter()
    tf = lgrad_discriminator_input(size)
    x = torch.stack([tf(load_rgb(f)) for f in files]).to(device)
    t1 = time.perf_counter()
    g = gradient_map(D, x, quantize=True, method=method).float().div(255)
    y = ((g - MEAN.to(device)) / STD.to(device)).cpu()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t2 = time.perf_counter()
    return y, {"decode + resize": t1 - t0, f"{method} gradient_map + normalise": t2 - t1}


#: Process CPU seconds of the last :func:`_timed` call (all threads; on a shared machine a
#: less load-sensitive measure of the work than wall time when one thread runs).
_last_cpu = [0.0]


def _timed(f):
    t0, c0 = time.perf_counter(), time.process_time()
    out = f()
    _last_cpu[0] = time.process_time() - c0
    return out, time.perf_counter() - t0


def method_path(D, files: list[Path], size: int, device: str, method: str) -> torch.Tensor:
    """dfdlab with another ``gradient_map`` method: the same steps as :func:`ours`."""
    from dfdlab.data import load_rgb

    tf = lgrad_discriminator_input(size)
    x = torch.stack([tf(load_rgb(f)) for f in files]).to(device)
    g = gradient_map(D, x, quantize=True, method=method).float().div(255)
    return ((g - MEAN.to(device)) / STD.to(device)).cpu()


#: The equality criterion for a path that is not bit-identical: quantised values at most
#: MAX_LEVELS apart, on at most MAX_FRACTION of them.
MAX_LEVELS, MAX_FRACTION = 1, 1e-4


def level_diff(a: torch.Tensor, c: torch.Tensor) -> tuple[int, int, int]:
    """(values that differ, largest difference in levels, values) of two ImageNet-normalised PNG batches."""
    levels = ((c - a) * STD / (1 / 255)).round().abs()
    return int((levels > 0).sum()), int(levels.max()), levels.numel()


def run_setting(name: str, D, files: list[Path], size: int, device: str, tmp: Path, repeats: int,
                methods: tuple[str, ...] = (), method: str = "batched") -> dict:
    """Time the paths on ``files`` ``repeats`` times, alternating; check equality; return the ratios.

    ``method`` (the setting's own path) must be identical to the official PNGs; ``"hybrid"``
    and ``"batched"`` among ``methods`` must meet the criterion (:data:`MAX_LEVELS`,
    :data:`MAX_FRACTION`); ``"fast"`` is reported only.
    """
    gradient_map(D, torch.zeros(1, 3, size, size, device=device))  # warm-up
    for m in methods:
        gradient_map(D, torch.zeros(1, 3, size, size, device=device), method=m)
    ratios, cpu_ratios = [], []
    extra = {m: {"ratios": [], "cpu_ratios": [], "diff": [0, 0, 0]} for m in methods}
    for r in range(repeats):
        (a, ta), wall_a = _timed(lambda: official(D, files, tmp / f"grad-{name}", size))
        cpu_a = _last_cpu[0]
        (b, tb), wall_b = _timed(lambda: ours(D, files, size, device, method))
        cpu_ratios.append(cpu_a / _last_cpu[0])
        for k, v in ta.items():
            print(f"{name:<7} {r + 1:<3} {'official':<9} {k:<34} {v:8.2f}")
        for k, v in tb.items():
            print(f"{name:<7} {r + 1:<3} {'dfdlab':<9} {k:<34} {v:8.2f}")
        same = torch.equal(a, b)
        ratios.append(wall_a / wall_b)
        print(f"{name:<7} {r + 1:<3} {'':<9} {'official / dfdlab':<34} {ratios[-1]:7.2f}x   "
              f"({len(files)} images, identical result: {same}, {int((a != b).sum())} values differ)")
        if not same:
            raise AssertionError(f"{name}: dfdlab's gradients differ from the official two-stage pipeline")
        for m in methods:
            c, wall_c = _timed(lambda m=m: method_path(D, files, size, device, m))
            e = extra[m]
            e["ratios"].append(wall_a / wall_c)
            e["cpu_ratios"].append(cpu_a / _last_cpu[0])
            n_diff, max_lv, total = e["diff"] = list(level_diff(a, c))
            step = f'decode + gradient_map(method="{m}")'
            print(f"{name:<7} {r + 1:<3} {m:<9} {step:<34} {wall_c:8.2f}")
            print(f"{name:<7} {r + 1:<3} {'':<9} {'official / dfdlab ' + m:<34} {e['ratios'][-1]:7.2f}x   "
                  f"({n_diff} of {total} values differ ({n_diff / total:.1e}), at most {max_lv} levels)")
            if m in ("hybrid", "batched") and (max_lv > MAX_LEVELS or n_diff > MAX_FRACTION * total):
                raise AssertionError(f"{name}: method={m!r} is {max_lv} levels off on {n_diff / total:.1e} of the "
                                     f"values; the criterion is <= {MAX_LEVELS} level on <= {MAX_FRACTION:.0e}")
    return {"ratios": ratios, "cpu_ratios": cpu_ratios, **extra}


def _line(ratios: list[float]) -> str:
    return f"{float(np.median(ratios)):.2f}x (median of {len(ratios)}: " + ", ".join(f"{r:.2f}x" for r in ratios) + ")"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--setting", choices=("quick", "paper", "both"), default="both")
    ap.add_argument("--images", type=int, default=4, help="photos for the paper setting (StyleGAN D, 256)")
    ap.add_argument("--quick-images", type=int, default=64, help="64x64 PNGs for the quick setting (shipped 64 px D)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "1")),
                    help="CPU threads for both paths (default 1)")
    ap.add_argument("--repeats", type=int, default=3, help="alternating repeats of both paths (default 3)")
    ap.add_argument("--weights", default=None, help="genforce StyleGAN D file (default: random weights)")
    args = ap.parse_args(argv)

    import cv2

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # official float PNGs log "fallbacked to CV_8U"
    print(f"dfdlab {dfdlab.__version__}, torch {torch.__version__}, device {args.device}, "
          f"{torch.get_num_threads()} CPU threads, {args.repeats} repeats; paper D: "
          f"{'weights ' + args.weights if args.weights else 'random weights'}")
    print(f"\n{'setting':<7} {'rep':<3} {'path':<9} {'step':<34} {'seconds':>8}")
    res = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        try:
            if args.setting in ("paper", "both"):
                torch.manual_seed(0)
                D = (load_stylegan_discriminator(args.weights) if args.weights
                     else freeze(StyleGANDiscriminator(256))).to(args.device)
                res["paper"] = run_setting("paper", D, write_photos(tmp / "paper", args.images), 256,
                                           args.device, tmp, args.repeats, methods=("hybrid", "fast"))
            if args.setting in ("quick", "both"):
                from dfdlab.data.mini_generators import load_stylegan_d
                from dfdlab.zoo import QUICK_ZOO

                D = freeze(load_stylegan_d()).to(args.device)
                res["quick"] = run_setting("quick", D, write_photos(tmp / "quick", args.quick_images, 64), 64,
                                           args.device, tmp, args.repeats, methods=("batched",),
                                           method=QUICK_ZOO["lgrad"]["build"]["method"])
        except AssertionError as e:
            print(f"FAILED: {e}", file=sys.stderr)
            return 1
    print()
    threads = torch.get_num_threads()
    if "paper" in res:
        p, h, f = res["paper"], res["paper"]["hybrid"], res["paper"]["fast"]
        n_h, lv_h, total = h["diff"]
        n_f, lv_f, _ = f["diff"]
        print(f"paper setting (StyleGAN D 256): {_line(h['ratios'])}, method=\"hybrid\", {threads} thread(s): "
              f"{n_h} of {total} quantised values ({n_h / total:.1e}) {lv_h} level apart from the official PNGs "
              f"(criterion: <= {MAX_LEVELS} level on <= {MAX_FRACTION:.0e}; met); CPU seconds: {_line(h['cpu_ratios'])}")
        print(f"paper setting, default method (StyleGAN D 256): {_line(p['ratios'])}, identical to the official PNGs; "
              f"CPU seconds: {_line(p['cpu_ratios'])}")
        print(f"paper setting, method=\"fast\" (StyleGAN D 256): {_line(f['ratios'])}, "
              f"{n_f} of {total} quantised values differ ({n_f / total:.1e}), at most {lv_f} levels "
              f"(fails the criterion: LeakyReLU slopes flip); CPU seconds: {_line(f['cpu_ratios'])}")
    if "quick" in res:
        q, b = res["quick"], res["quick"]["batched"]
        n_b, lv_b, total = b["diff"]
        print(f"quick setting (shipped 64 px D, method=\"loop\"): {_line(q['ratios'])}, identical to the official "
              f"PNGs; CPU seconds: {_line(q['cpu_ratios'])}")
        print(f"quick setting, method=\"batched\": {_line(b['ratios'])}, {n_b} of {total} quantised values "
              f"({n_b / total:.1e}) at most {lv_b} level apart (criterion met); CPU seconds: {_line(b['cpu_ratios'])}")
    print(f"speedup: {float(np.median(res.get('quick', res.get('paper'))['ratios'])):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
