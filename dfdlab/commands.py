"""Subcommands beyond ``doctor``/``assets``: ``data check``, ``data build-mini``, ``train``, ``eval``, ``predict``.

Each is a thin layer over the package: ``dfdlab.data`` (layout check, mini benchmark),
``dfdlab.train.fit``, ``dfdlab.evaluate.evaluate`` and a detector from the registry.
User errors (a missing folder, a checkpoint that does not fit, an unknown detector) raise
``dfdlab.cli.UserError`` and print one line; ``predict`` prints one line per image and
exits 1 when any image failed. Scores from untrained weights are refused unless
``--allow-untrained`` is given, so they can never pass for results.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

from .cli import UserError


# --------------------------------------------------------------------------- helpers


def _parse_set(items) -> dict:
    """``--set crop_size=64 --set no_crop=True`` -> detector keyword arguments (Python literals, else strings)."""
    out = {}
    for item in items or []:
        if "=" not in item:
            raise UserError(f"--set expects KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        try:
            out[key.strip()] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key.strip()] = value
    return out


def _build_detector(args, for_training: bool = False):
    from . import detectors

    kwargs = _parse_set(getattr(args, "set", None))
    if getattr(args, "pretrained", False):
        kwargs["pretrained"] = True
    try:
        model = detectors.build(args.detector, **kwargs)
    except KeyError as e:
        raise UserError(e.args[0] if e.args else str(e)) from None
    except TypeError as e:
        raise UserError(f"detector {args.detector!r} does not accept these options ({e})") from None
    except FileNotFoundError as e:  # hub.AssetMissing is a FileNotFoundError with instructions
        raise UserError(str(e)) from None
    if for_training:
        return model
    ckpt = getattr(args, "checkpoint", None)
    if ckpt:
        try:
            detectors.load_checkpoint(model, ckpt)
        except (FileNotFoundError, detectors.CheckpointError) as e:
            raise UserError(str(e).replace("\n", " ")) from None
    elif not args.allow_untrained:
        raise UserError(
            "no --checkpoint given: scores from untrained weights mean nothing. Pass --checkpoint PATH "
            "(a trained or official checkpoint), or --allow-untrained to run the pipeline anyway"
        )
    else:
        print(f"warning: {args.detector} runs with UNTRAINED weights; these scores are not results",
              file=sys.stderr)
    return model


def _existing_dir(path: str, what: str) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise UserError(f"{what} {p} does not exist")
    if not p.is_dir():
        raise UserError(f"{what} {p} is not a folder")
    return p


def _generator_sets(root: Path, transform):
    """``root/<gen>/...`` -> one set per generator; a root that is itself one generator -> one set."""
    from . import data

    try:
        if (root / "0_real").is_dir() or (root / "1_fake").is_dir():
            return {root.name: data.ForenSynths(root, transform=transform)}
        sets = data.generator_sets(root, transform=transform)
    except (FileNotFoundError, ValueError) as e:
        raise UserError(str(e).replace("\n", " ")) from None
    if not sets:
        raise UserError(f"no generator folders (each with 0_real/ and 1_fake/) under {root}; "
                        f"run `dfdlab data check {root}`")
    return sets


# --------------------------------------------------------------------------- data


def _cmd_data_check(args) -> int:
    from . import data

    root = _existing_dir(args.root, "data root")
    report = data.check_layout(root)
    print(report)
    return 0 if report.ok else 1


def _cmd_data_build_mini(args) -> int:
    from . import data

    kw = {"seed": args.seed}
    if args.root:
        kw["root"] = Path(args.root).expanduser()
    path = data.build_mini(**kw)
    print(path)
    return 0


# --------------------------------------------------------------------------- train


def _train_set(split_root: Path, classes, transform):
    from torch.utils.data import ConcatDataset

    from . import data

    try:
        if not classes:
            return data.ForenSynths(split_root, transform=transform)
        parts = []
        for c in classes:
            d = split_root / c
            if not d.is_dir():
                raise UserError(f"class folder {d} does not exist (--classes {','.join(classes)})")
            parts.append(data.ForenSynths(d, transform=transform))
    except data.LayoutError as e:
        raise UserError(str(e).replace("\n", " ")) from None
    return parts[0] if len(parts) == 1 else ConcatDataset(parts)


def _cmd_train(args) -> int:
    from . import train

    root = _existing_dir(args.data, "data root")
    train_root, val_root = root / "train", root / "val"
    for p in (train_root, val_root):
        if not p.is_dir():
            raise UserError(f"{p} is missing: --data must hold train/ and val/ (ForenSynths layout "
                            "<split>/<class>/{0_real,1_fake})")
    model = _build_detector(args, for_training=True)
    classes = [c for c in (args.classes or "").split(",") if c]
    try:
        recipe = train.recipe(args.recipe or model.recipe)
    except KeyError as e:
        raise UserError(e.args[0] if e.args else str(e)) from None
    train_set = _train_set(train_root, classes, model.transform(train=True))
    val_set = _train_set(val_root, classes, model.transform(train=False))
    result = train.fit(model, train_set, val_set, recipe, Path(args.out), epochs=args.epochs,
                       device=args.device, num_workers=args.workers, progress=not args.quiet)
    print(result.history.to_string(index=False))
    print(f"best: {result.best_path}\nlast: {result.last_path}")
    return 0


# --------------------------------------------------------------------------- eval / predict


def _cmd_eval_suite(args, root: Path) -> int:
    """``dfdlab eval --suite NAME``: a paper's test protocol over the published layout (``dfdlab.suites``)."""
    from . import suites

    model = _build_detector(args)
    gens = [g for g in (args.generators or "").split(",") if g] or None
    out_dir = Path(args.out).expanduser() if args.out else None
    try:
        table = suites.run_suite(model, args.suite, root, checkpoint=args.checkpoint, generators=gens,
                                 sampling=not args.no_sampling, out_dir=out_dir, batch_size=args.batch_size,
                                 device=args.device, num_workers=args.workers, progress=not args.quiet)
    except (FileNotFoundError, KeyError) as e:
        raise UserError(str(e.args[0] if isinstance(e, KeyError) and e.args else e).replace("\n", " ")) from None
    print(suites.suite_note(table))
    print(suites.display_table(table).to_string(index=False))
    print(f"wrote {table.attrs['csv']} and {table.attrs['markdown']}")
    return 0


def _cmd_eval(args) -> int:
    from . import evaluate as ev
    from .files import atomic_write_text

    root = _existing_dir(args.data, "data root")
    if getattr(args, "suite", None):
        return _cmd_eval_suite(args, root)
    model = _build_detector(args)
    sets = _generator_sets(root, model.transform(train=False))
    table = ev.evaluate(model, sets, batch_size=args.batch_size, device=args.device,
                        num_workers=args.workers, progress=not args.quiet)
    shown = ev.paper_style(table)
    print(f"{args.detector} on {root} (AP/acc in %, accuracy at sigmoid > 0.5; mean = unweighted over generators)")
    print(shown.to_string(index=False))
    skipped = table.attrs.get("skipped", [])
    if skipped:
        print(f"skipped {len(skipped)} unreadable file(s):", file=sys.stderr)
        for path, why in skipped:
            print(f"  {path}: {why}", file=sys.stderr)
    if args.csv:
        out = Path(args.csv).expanduser()
        atomic_write_text(out, table.to_csv(index=False))
        if skipped:
            import pandas as pd

            atomic_write_text(out.with_name(out.stem + "_skipped.csv"),
                              pd.DataFrame(skipped, columns=["path", "reason"]).to_csv(index=False))
        print(f"wrote {out}")
    return 0


def _cmd_predict(args) -> int:
    import torch

    from .data import load_rgb

    model = _build_detector(args)
    tf = model.transform(train=False)
    dev = torch.device(args.device) if args.device else None
    if dev is None:
        import dfdlab

        dev = dfdlab.device()
    model.eval().to(dev)
    failed = 0
    for path in args.images:
        try:
            x = tf(load_rgb(path)).unsqueeze(0).to(dev)
            with torch.no_grad():
                p = float(torch.sigmoid(model(x).reshape(-1)[0].float()))
        except (ValueError, OSError, RuntimeError) as e:  # ImageError is a ValueError naming the file
            failed += 1
            msg = str(e).splitlines()[0] if str(e) else type(e).__name__
            if not msg.startswith(str(path)):
                msg = f"{path}: {msg}"
            print(f"error: {msg}")
            continue
        print(f"{path}\t{p:.4f}\t{'fake' if p > 0.5 else 'real'}")
    return 1 if failed else 0


# --------------------------------------------------------------------------- parser


def _model_args(p: argparse.ArgumentParser, checkpoint: bool = True) -> None:
    p.add_argument("--detector", required=True, help="registered detector name (cnnspot, ufd, npr, lgrad)")
    if checkpoint:
        p.add_argument("--checkpoint", help="weights to load strictly (raw state dict or {'model': ...})")
        p.add_argument("--allow-untrained", action="store_true",
                       help="run without --checkpoint (pipeline test only: the scores are meaningless)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="detector option, e.g. --set crop_size=64 (repeatable)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: dfdlab.device())")


def add_subcommands(sub) -> None:
    d = sub.add_parser("data", help="dataset tools: check a folder layout, build the mini benchmark")
    dsub = d.add_subparsers(dest="data_command", required=True)
    c = dsub.add_parser("check", help="check a ForenSynths-style folder and print counts and problems")
    c.add_argument("root")
    c.set_defaults(func=_cmd_data_check)
    b = dsub.add_parser("build-mini", help="build (or find cached) the mini benchmark")
    b.add_argument("--root", default=None, help="where to build it (default: under DFDLAB_HOME)")
    b.add_argument("--seed", type=int, default=0)
    b.set_defaults(func=_cmd_data_build_mini)

    t = sub.add_parser("train", help="train a detector with its paper recipe")
    _model_args(t, checkpoint=False)
    t.add_argument("--data", required=True, help="root holding train/ and val/ (<split>/<class>/{0_real,1_fake})")
    t.add_argument("--out", required=True, help="output folder for checkpoints and history")
    t.add_argument("--recipe", default=None, help="recipe name (default: the detector's own)")
    t.add_argument("--epochs", type=int, default=None)
    t.add_argument("--classes", default=None, help="comma-separated class folders, e.g. car,cat,chair,horse")
    t.add_argument("--pretrained", action="store_true", help="start from the detector's pretrained backbone")
    t.add_argument("--workers", type=int, default=0)
    t.add_argument("--quiet", action="store_true", help="no progress bars")
    t.set_defaults(func=_cmd_train)

    e = sub.add_parser("eval", help="evaluate a checkpoint on every generator folder under --data")
    _model_args(e)
    e.add_argument("--data", required=True, help="test root: <gen>/{0_real,1_fake} or <gen>/<class>/{0_real,1_fake}")
    e.add_argument("--csv", default=None, help="also write the table (fractions) to this CSV")
    from .suites import SUITES

    e.add_argument("--suite", choices=sorted(SUITES), default=None,
                   help="run a paper's test protocol over --data in the published layout (dfdlab.suites): "
                        "generator folders, per-table resize/crop, UnivFD's 1000/1000 sampling; writes "
                        "CSV + markdown (to --out, default DFDLAB_RESULTS or DFDLAB_HOME/results/suites)")
    e.add_argument("--generators", default=None, help="with --suite: comma-separated subset of its generators")
    e.add_argument("--no-sampling", action="store_true", help="with --suite univfd: score every image")
    e.add_argument("--out", default=None, help="with --suite: folder for the CSV/markdown/meta files")
    e.add_argument("--batch-size", type=int, default=64)
    e.add_argument("--workers", type=int, default=0)
    e.add_argument("--quiet", action="store_true", help="no progress bars")
    e.set_defaults(func=_cmd_eval)

    p = sub.add_parser("predict", help="fake probability of each image")
    _model_args(p)
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.set_defaults(func=_cmd_predict)
