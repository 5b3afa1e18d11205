"""Is the up-sampling trace in the mini benchmark v2? NPR against the same network on plain RGB.

NPR's claim (Tan et al., CVPR 2024, Sec. 3 and the ablation of its Table 6) is that the
neighbouring-pixel residual isolates the up-sampling trace that generators share, so a
detector trained on one up-sampler generalises to others better than one that sees the
image. On the mini benchmark (``build_mini()``, v2) this takes the quick zoo's NPR and its RGB
ablation (``dfdlab.zoo.train_quick("npr")`` and ``("npr_rgb")``: the official NPR network, the
same settings, on the NPR residual and on the image) trained on the train generator with each
seed, and prints:

- AP per test generator (mean and range over the seeds), NPR and RGB side by side;
- NPR's AP on the train generator (the benchmark wants >= 0.95 on every seed);
- the mean AP over the generators whose up-sampler differs from the train generator's,
  NPR minus RGB per seed, and last its mean and range (the benchmark wants >= 0.10).

It writes the per-seed table to ``benchmarks/results/mini_upsampling_trace_<date>.csv``.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/mini_upsampling_trace.py [--seeds 0 1 2 3 4]
        [--work /tmp/dfdlab_quick_claims/t1]   # reuse quick_claims.py's models: <work>_s<seed> as DFDLAB_HOME
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import time
from pathlib import Path

import dfdlab  # noqa: F401  (compat shim before torchvision)

# isort: split
import pandas as pd
import torch

from dfdlab import zoo
from dfdlab.data import build_mini, read_manifest
from dfdlab.evaluate import evaluate
from dfdlab.experiments import test_subsets
from dfdlab.files import atomic_write_text
from dfdlab.health import hardware

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="training seeds (the zoo NPR's own is 100)")
    ap.add_argument("--work", default=None, help="DFDLAB_HOME prefix per seed (<work>_s<seed>), e.g. quick_claims.py's "
                                                 "/tmp/dfdlab_quick_claims/t1, whose trained models are then reused")
    ap.add_argument("--out", default=None, help="CSV path (default: benchmarks/results/mini_upsampling_trace_<date>.csv)")
    args = ap.parse_args()
    root = build_mini()
    m = read_manifest(root)
    fakes = m[(m.split == "test") & (m.label == 1)].drop_duplicates("generator").set_index("generator")
    train_gen = m.query("split == 'train' and label == 1").generator.iloc[0]
    unseen = [g for g in fakes.index if fakes.loc[g, "upsample"] != fakes.loc[train_gen, "upsample"]]
    rows = []
    for seed in args.seeds:
        if args.work:  # quick_claims.py's layout: the mini benchmark linked into each run's home
            run_home = Path(f"{args.work}_s{seed}")
            (run_home / "mini").mkdir(parents=True, exist_ok=True)
            if not (run_home / "mini" / root.name).exists():
                (run_home / "mini" / root.name).symlink_to(root)
            os.environ["DFDLAB_HOME"] = str(run_home)
        seed_root = build_mini(progress=False)  # the same benchmark, by the path the zoo's cache key holds
        for rep, entry in (("npr", "npr"), ("rgb", "npr_rgb")):
            t = time.perf_counter()
            model, info = zoo.train_quick(entry, seed_root, seed=seed)
            table = evaluate(model, test_subsets(model, seed_root / "test", None), progress=False)
            rows += [{"seed": seed, "representation": rep, "generator": r.generator, "ap": r.ap}
                     for r in table.itertuples() if r.generator != "mean"]
            how = "from the zoo cache" if info["from_cache"] else "trained"
            print(f"seed {seed} {rep}: {how} and scored in {time.perf_counter() - t:.0f} s", flush=True)
    df = pd.DataFrame(rows)
    now = datetime.datetime.now()
    df["machine"], df["torch"], df["date"], df["python"] = hardware(), torch.__version__, now.isoformat("T", "seconds"), \
        platform.python_version()
    out = Path(args.out) if args.out else RESULTS / f"mini_upsampling_trace_{now:%Y%m%d-%H%M%S}.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, df.to_csv(index=False))

    stats = df.groupby(["generator", "representation"]).ap.agg(["mean", "min", "max"])
    print(f"\nmini benchmark ({root}), quick zoo NPR and npr_rgb, seeds {args.seeds}; AP mean [min, max]")
    for g in sorted(df.generator.unique()):
        tag = " <- train generator" if g == train_gen else (" (unseen up-sampler)" if g in unseen else "")
        n, r = stats.loc[(g, "npr")], stats.loc[(g, "rgb")]
        print(f"  {g:22s} {fakes.loc[g, 'upsample']:>12s}  NPR {n['mean']:.3f} [{n['min']:.3f}, {n['max']:.3f}]  "
              f"RGB {r['mean']:.3f} [{r['min']:.3f}, {r['max']:.3f}]{tag}")
    per_seed = df[df.generator.isin(unseen)].pivot_table(index="seed", columns="representation", values="ap")
    gap = per_seed["npr"] - per_seed["rgb"]
    train_ap = df[(df.generator == train_gen) & (df.representation == "npr")].ap
    print(f"NPR AP on the train generator {train_gen}: mean {train_ap.mean():.3f}, min {train_ap.min():.3f}")
    for seed, r in per_seed.iterrows():
        print(f"  seed {seed}: unseen up-samplers mean AP NPR {r['npr']:.3f}, RGB {r['rgb']:.3f}, "
              f"NPR - RGB {r['npr'] - r['rgb']:+.3f}")
    print(f"wrote {out}")
    print(f"NPR - RGB on unseen up-samplers: mean {gap.mean():+.3f} (range {gap.min():+.3f} .. {gap.max():+.3f}) "
          f"over {len(gap)} seeds")


if __name__ == "__main__":
    main()
