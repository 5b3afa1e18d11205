"""Train the mini benchmark v2's generators (seeded, one thread) and write their fp16 weights.

    python -m dfdlab.data.train_mini_generators                 # all, into dfdlab/data/mini_generators.pt
    python -m dfdlab.data.train_mini_generators --only ae_nearest_f4 --out /tmp/g.pt
    python -m dfdlab.data.train_mini_generators --only dcgan_transposed   # the GAN family (MINI_GANS)
    python -m dfdlab.data.train_mini_generators --only stylegan_d   # LGrad's D, into mini_stylegan_d.pt

Each generator is seeded on its own (``dfdlab.data.mini_generators.MINI_GENERATORS``), so
training a subset, or two subsets in two processes, gives the same tensors as one run.
The crops are ``random_crops`` of the bundled *train* photos with the mini builder's pool seed.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from ..files import atomic_torch_save
from .mini import load_photos, random_crops, stage_seed, to_tensor
from .mini_generators import (
    DETAIL_WEIGHT,
    ITERS,
    MINI_GANS,
    MINI_GENERATORS,
    STYLEGAN_D,
    STYLEGAN_D_WEIGHTS,
    WEIGHTS,
    train_gan_pair,
    train_generator,
    train_stylegan_d,
)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description="train the mini benchmark v2's generators (seeded) and write their weights")
    ap.add_argument("--only", nargs="*", help="generators to train (default: all)")
    ap.add_argument("--out", default=str(WEIGHTS), help=f"output file (default {WEIGHTS})")
    ap.add_argument("--iters", type=int, default=ITERS)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)  # float reductions depend on the thread count; one thread is reproducible
    torch.use_deterministic_algorithms(True)
    pool, _ = random_crops(load_photos()["train"], 1024, seed=stage_seed(0, 1))
    crops = to_tensor(pool)
    if args.only and "stylegan_d" in args.only:
        # LGrad's transformation model has its own file (not in the mini benchmark's cache key)
        t = time.perf_counter()
        blob, history = train_stylegan_d(crops)
        blob["history"], blob["torch"] = history, str(torch.__version__)
        atomic_torch_save(blob, STYLEGAN_D_WEIGHTS if args.out == str(WEIGHTS) else Path(args.out))
        print(f"stylegan_d ({STYLEGAN_D['iters']} iterations against {STYLEGAN_D['against']}): loss_D "
              f"{history[-1]['loss_D']:.3f}, {time.perf_counter() - t:.0f} s", flush=True)
        args.only = [n for n in args.only if n != "stylegan_d"]
        if not args.only:
            return
    out = Path(args.out)
    blob = torch.load(out, weights_only=True) if out.is_file() else {"state_dicts": {}, "history": {}, "iters": {}}
    for name in args.only or [*MINI_GENERATORS, *MINI_GANS]:
        t = time.perf_counter()
        if name in MINI_GANS:
            blob.setdefault("gans", {})[name], history = train_gan_pair(name, crops)
            blob["history"][name], blob["iters"][name] = history, MINI_GANS[name]["iters"]
            atomic_torch_save(blob, out)
            last = history[-1]
            print(f"{name}: loss_D {last['loss_D']:.3f}, loss_G {last['loss_G']:.3f}, {time.perf_counter() - t:.0f} s",
                  flush=True)
            continue
        blob["state_dicts"][name], blob["history"][name] = train_generator(name, crops, iters=args.iters)
        blob["iters"][name] = args.iters
        blob["detail_weight"] = DETAIL_WEIGHT
        blob["torch"] = str(torch.__version__)
        atomic_torch_save(blob, out)  # after each generator: an interrupted run keeps what it trained
        print(f"{name}: loss {blob['history'][name][-1]['loss']:.4f}, {time.perf_counter() - t:.0f} s", flush=True)


if __name__ == "__main__":
    main()
