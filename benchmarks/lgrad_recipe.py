"""Which quick LGrad recipe reaches train-family AP >= 0.9 on every seed? Per-epoch validation and test AP.

The quick zoo's LGrad (``dfdlab.zoo.QUICK_ZOO["lgrad"]``) reaches 0.86-0.95 on its training
generator across seeds (``results/quick_claims_v2_06_*.csv``). This study trains it epoch by
epoch (``fit`` resumes from ``last.pth``, so the run is the uninterrupted one) and after every
epoch scores the training generator's whole test folder (every real and fake), so that one run
gives both selection rules: ``best`` (the zoo's: the epoch of the best validation accuracy) and
``last`` (the official LGrad trainer's, ``save_networks('last')``). Variants:

- ``zoo``: the quick zoo's settings (constant lr 5e-4: the official decay, x0.8 every 10 of 100
  epochs, never fires in 8 epochs);
- ``decay``: the official schedule scaled to the quick epochs (x0.8 after every epoch, so the run
  ends near the official run's last lr ratio, 0.8**7 vs 0.8**9);
- ``stem1``: as ``decay``, with the stand-in classifier's stride-2 stem set to stride 1 on the
  map as it is, instead of the map enlarged 2x (``upscale``); an experiment, not a package option.

    .venv/bin/python benchmarks/lgrad_recipe.py --variants zoo,stem1 --seeds 0,1,2,5 --threads 2

One CSV row per (variant, seed, epoch) under ``results/``; the summary prints each variant's
test AP under both selection rules, with the minimum over seeds.
"""

from __future__ import annotations

import argparse
import datetime
import time
from pathlib import Path

import pandas as pd
import torch

import dfdlab
from dfdlab import experiments, zoo
from dfdlab.data import ForenSynths, generator_sets, read_manifest
from dfdlab.detectors import build
from dfdlab.evaluate import evaluate
from dfdlab.health import hardware
from dfdlab.runtime import seed_everything
from dfdlab.train import fit, recipe

RESULTS = Path(__file__).resolve().parent / "results"
VARIANTS = {"zoo": {}, "decay": {"decay_every": 1}, "stem1": {"decay_every": 1, "stem_stride": 1}}


def run(variant: str, seed: int, root: Path, work: Path) -> list[dict]:
    """One training run of ``variant``: a row per epoch (lr, validation acc/AP, test AP on the train generator)."""
    v, kw = VARIANTS[variant], experiments.lgrad_zoo_kwargs()
    train_gen = read_manifest(root).query("split == 'train'")["generator"].iloc[0]
    seed_everything(seed)  # the order of experiments.train_lgrad: seed, build, reseed, fit
    model = build("lgrad", discriminator=zoo.discriminator("lgrad", root), image_size=kw["image_size"],
                  crop_size=kw["crop_size"], classifier=kw["classifier"], pretrained=kw["pretrained"],
                  cache_dir=dfdlab.home() / "cache" / "lgrad", method=kw["method"],
                  upscale=1 if v.get("stem_stride") else kw["upscale"])
    if v.get("stem_stride"):
        model.backbone.conv_stem.stride = (v["stem_stride"],) * 2
    train = ForenSynths(root / "train", transform=model.transform("train"))
    val = ForenSynths(root / "val", transform=model.transform("test"))
    test = {train_gen: generator_sets(root / "test", transform=model.transform("test"))[train_gen]}
    r = recipe("lgrad", epochs=kw["epochs"], batch_size=kw["batch_size"], seed=seed,
               **{k: x for k, x in v.items() if k != "stem_stride"})
    seed_everything(seed)
    rows, t0 = [], time.perf_counter()
    for epoch in range(1, kw["epochs"] + 1):
        res = fit(model, train, val, r, work / variant / f"seed{seed}", epochs=epoch, progress=False,
                  keep="best", val_pipeline="test")
        h = res.history.iloc[-1]
        ap = evaluate(model.eval(), test, batch_size=64, progress=False).set_index("generator")["ap"][train_gen]
        rows.append({"variant": variant, "seed": seed, "epoch": epoch, "lr": float(h["lr"]),
                     "val_acc": float(h["val_acc"]), "val_ap": float(h["val_ap"]), "test_ap": float(ap),
                     "best_epoch": int(res.best_epoch) + 1, "seconds": round(time.perf_counter() - t0, 1)})
        print(" ".join(f"{k}={x:.4g}" if isinstance(x, float) else f"{k}={x}" for k, x in rows[-1].items()),
              flush=True)
    return rows


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """Test AP per (variant, seed) under the two selection rules, and the minimum over seeds."""
    out = []
    for (variant, seed), g in df.groupby(["variant", "seed"]):
        last = g[g["epoch"] == g["epoch"].max()].iloc[0]
        best = g[g["epoch"] == last["best_epoch"]].iloc[0]
        out.append({"variant": variant, "seed": seed, "ap_best_val_acc": best["test_ap"],
                    "best_epoch": int(last["best_epoch"]), "ap_last": last["test_ap"]})
    return pd.DataFrame(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variants", default="zoo,decay,stem1")
    ap.add_argument("--seeds", default="0,1,2,5")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", type=Path, default=Path("/tmp/dfdlab_lgrad_recipe"))
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    root = dfdlab.data.build_mini(progress=False)
    out, rows = args.out or RESULTS / f"lgrad_recipe_t{args.threads}.csv", []
    for variant in args.variants.split(","):
        for seed in map(int, args.seeds.split(",")):
            rows += run(variant, seed, root, args.work)
            df = pd.DataFrame(rows).assign(threads=args.threads, machine=hardware(), torch=torch.__version__,
                                           date=datetime.datetime.now().isoformat(timespec="seconds"))
            df.to_csv(out, index=False)  # after every run: an interrupted study keeps what it measured
    s = summary(df)
    print(s.to_string(index=False))
    print(s.groupby("variant")[["ap_best_val_acc", "ap_last"]].agg(["mean", "min"]).round(3).to_string())
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
