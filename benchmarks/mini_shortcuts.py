"""The mini benchmark's shortcut probe: can global image statistics alone tell its fakes from its reals?

A logistic regression on per-image colour, brightness, saturation, sharpness, high-pass
energy and file size per pixel (``dfdlab.data.shortcuts.FEATURES``) is fitted on
``train/`` and scored by AP on every ``test/<generator>/``. A detector that scores well
where this probe also does may have learnt the same shortcut; the benchmark is meant to
keep the worst row near 0.5 (the builder's docstring and lesson 01 report it). The last
line is the worst test generator.

    .venv/bin/python benchmarks/mini_shortcuts.py            # the cached quick mini benchmark
    .venv/bin/python benchmarks/mini_shortcuts.py --root DIR # any ForenSynths-layout folder
"""

from __future__ import annotations

import argparse
import time

import dfdlab  # noqa: F401  (compat shim before torchvision)

# isort: split
from dfdlab.data import build_mini
from dfdlab.data.shortcuts import shortcut_probe


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", help="a ForenSynths-layout folder (default: build_mini() of the quick preset)")
    ap.add_argument("--seed", type=int, default=0, help="the mini benchmark's seed (without --root)")
    args = ap.parse_args()
    root = args.root or build_mini(seed=args.seed)
    t = time.perf_counter()
    table = shortcut_probe(root)
    print(f"shortcut probe on {root} ({time.perf_counter() - t:.0f} s): logistic regression on "
          f"{len(table.attrs['features'])} global statistics, fitted on train/")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    worst = table.iloc[-2]
    print(f"worst test generator: {worst.generator.removeprefix('worst (').removesuffix(')')} AP {worst.ap:.3f}")


if __name__ == "__main__":
    main()
