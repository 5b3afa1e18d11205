"""Is the up-sampling trace in the mini benchmark v2? NPR against the same network on plain RGB.

NPR's claim (Tan et al., CVPR 2024, Sec. 3 and the ablation of its Table 6) is that the
neighbouring-pixel residual isolates the up-sampling trace that generators share, so a
detector trained on one up-sampler generalises to others better than one that sees the
image. On ``build_mini(version=2)`` this trains the official NPR network (quick zoo
settings: ``dfdlab.zoo.QUICK_ZOO["npr"]``) on the train generator, once on the NPR
residual and once on RGB (``representation="rgb"``, the same network otherwise), for each
seed, and prints:

- AP per test generator (mean and range over the seeds), NPR and RGB side by side;
- NPR's AP on the train generator (the benchmark wants >= 0.95 on every seed);
- the mean AP over the generators whose up-sampler differs from the train generator's,
  NPR minus RGB per seed, and last its mean and range (the benchmark wants >= 0.10).

It writes the per-seed table to ``benchmarks/results/mini_upsampling_trace_<date>.csv``.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/mini_upsampling_trace.py [--seeds 100 1 2]
"""

from __future__ import annotations

import argparse
import datetime
import platform
import time
from pathlib import Path

import dfdlab  # noqa: F401  (compat shim before torchvision)

# isort: split
import pandas as pd
import torch

from dfdlab.config import home
from dfdlab.data import build_mini, read_manifest
from dfdlab.evaluate import evaluate
from dfdlab.experiments import test_subsets, train_npr
from dfdlab.files import atomic_write_text
from dfdlab.health import hardware
from dfdlab.zoo import QUICK_ZOO

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[100, 1, 2], help="training seeds (NPR's own is 100)")
    ap.add_argument("--out", default=None, help="CSV path (default: benchmarks/results/mini_upsampling_trace_<date>.csv)")
    args = ap.parse_args()
    root = build_mini(version=2)
    m = read_manifest(root)
    fakes = m[(m.split == "test") & (m.label == 1)].drop_duplicates("generator").set_index("generator")
    train_gen = m.query("split == 'train' and label == 1").generator.iloc[0]
    unseen = [g for g in fakes.index if fakes.loc[g, "upsample"] != fakes.loc[train_gen, "upsample"]]
    z = QUICK_ZOO["npr"]
    rows = []
    for seed in args.seeds:
        for rep in ("npr", "rgb"):
            t = time.perf_counter()
            model, _ = train_npr(rep, root / "train", root / "val", ["photos"], z["build"]["load_size"],
                                 z["build"]["crop_size"], z["epochs"], z["batch_size"],
                                 home() / "bench" / "mini_upsampling_trace" / f"{root.name}_{rep}_{seed}", seed=seed)
            table = evaluate(model, test_subsets(model, root / "test", None), progress=False)
            rows += [{"seed": seed, "representation": rep, "generator": r.generator, "ap": r.ap}
                     for r in table.itertuples() if r.generator != "mean"]
            print(f"seed {seed} {rep}: trained and scored in {time.perf_counter() - t:.0f} s", flush=True)
    df = pd.DataFrame(rows)
    now = datetime.datetime.now()
    df["machine"], df["torch"], df["date"], df["python"] = hardware(), torch.__version__, now.isoformat("T", "seconds"), \
        platform.python_version()
    out = Path(args.out) if args.out else RESULTS / f"mini_upsampling_trace_{now:%Y%m%d-%H%M%S}.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, df.to_csv(index=False))

    stats = df.groupby(["generator", "representation"]).ap.agg(["mean", "min", "max"])
    print(f"\nmini benchmark v2 ({root}), NPR quick zoo settings, seeds {args.seeds}; AP mean [min, max]")
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
