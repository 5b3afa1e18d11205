"""The ``dfdlab`` command: one parser per subcommand, each a thin layer over the package.

::

    dfdlab doctor                      versions, device, profile, folders, assets (offline)
    dfdlab assets [--fetch NAME...]    named weights and datasets: where they go, how to get them
    dfdlab data check ROOT             counts and problems of a benchmark folder, the published layouts it holds
    dfdlab data build-mini             build (or find cached) the embedded mini benchmark
    dfdlab train ...                   train a detector with its paper's recipe (dfdlab.train.fit)
    dfdlab eval ...                    per-generator table, or a paper's test protocol (--suite)
    dfdlab predict IMAGE...            fake probability of each image
    dfdlab new-detector NAME           write a detector plugin from the template (dfdlab.plugins)

``--plugin FILE.py`` (any command, repeatable) and ``DFDLAB_PLUGINS`` (files or folders,
``os.pathsep``-separated) load detector plugins first, so ``--detector`` accepts their names.

``python -m dfdlab`` runs the same ``main``; so do ``python -m dfdlab.train`` and
``torchrun -m dfdlab.train``, as ``dfdlab train``. An error the user can fix (a missing
folder, a checkpoint that does not fit, an unknown detector) raises :class:`UserError`: one
line on stderr, exit status 2, no traceback. ``predict`` prints one line per image and exits
1 when an image could not be read. Scores from untrained weights are refused unless
``--allow-untrained`` is given, so they can never pass for results.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys
import warnings
from pathlib import Path

from torch.utils.data import ConcatDataset

from . import detectors, evaluate, hub, plugins, suites, train
from .data.folders import LABEL_FOLDERS, ForenSynths, ImageList, LayoutError, check_layout, generator_sets
from .data.mini import PRESETS, build_info, build_mini
from .data.skipping import SkippedImagesWarning, skipped_csv_path
from .detectors.tiny import TinyDetector
from .files import atomic_write_text
from .health import doctor
from .recipes import ALIASES, RECIPES, recipe


class UserError(Exception):
    """An error the user can fix; printed as one line without a traceback."""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        _load_plugins(argv)
    except plugins.PluginError as e:
        print(f"dfdlab: {e}", file=sys.stderr)
        return 2
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            # the commands print the skipped files themselves, one line each
            warnings.simplefilter("ignore", SkippedImagesWarning)
            return int(args.func(args) or 0)
    except UserError as e:
        print(f"dfdlab {args.command}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _plugin_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--plugin", action="append", metavar="FILE.py",
                   help="load a detector plugin (one .py file, or a folder of them) before the command; "
                        "repeatable; DFDLAB_PLUGINS does the same (dfdlab new-detector writes one)")


def _load_plugins(argv: list[str]) -> list[str]:
    """Load ``DFDLAB_PLUGINS`` and every ``--plugin`` of ``argv`` before the parser is built."""
    pre = argparse.ArgumentParser(add_help=False)
    _plugin_arg(pre)
    known, _ = pre.parse_known_args(argv)
    names = plugins.load_env_plugins()
    for item in known.plugin or []:
        names += plugins.load_plugins([item])
    return names


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dfdlab", description="AI-generated-image detection lab")
    _plugin_arg(p)
    sub = p.add_subparsers(dest="command", required=True)
    for add in (_add_doctor, _add_assets, _add_data, _add_train, _add_eval, _add_predict, _add_new_detector):
        add(sub)
    return p


# --------------------------------------------------------------------------- shared pieces


def _one_line(e: BaseException) -> str:
    return str(e.args[0] if isinstance(e, KeyError) and e.args else e).replace("\n", " ")


def _existing_dir(path, what: str) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise UserError(f"{what} {p} does not exist")
    if not p.is_dir():
        raise UserError(f"{what} {p} is not a folder")
    return p


def _model_args(p: argparse.ArgumentParser, checkpoint: bool = True) -> None:
    p.add_argument("--detector", required=True,
                   help="detector name: cnndetection (cnnspot), univfd (ufd), npr, lgrad; tiny (a toy CNN); "
                        "or a plugin's (--plugin)")
    _plugin_arg(p)
    if checkpoint:
        p.add_argument("--checkpoint", help="weights to load strictly (raw state dict or {'model': ...})")
        p.add_argument("--weights", metavar="NAME",
                       help="named weights from the asset registry: 'published' (the detector's published "
                            "checkpoint, as timm's pretrained=True) or an asset name, e.g. npr-3090 (dfdlab assets)")
        p.add_argument("--allow-untrained", action="store_true",
                       help="run without --checkpoint (pipeline test only: the scores are meaningless)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="detector option, e.g. --set crop_size=64 (repeatable; values are Python literals)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: dfdlab.device())")


def _parse_set(items) -> dict:
    """``--set crop_size=64 --set no_crop=True`` -> detector keyword arguments (Python literals, else strings)."""
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise UserError(f"--set expects KEY=VALUE, got {item!r}")
        try:
            out[key.strip()] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key.strip()] = value  # a plain string such as a path
    return out


def _detector_class(name: str) -> type:
    """The detector class behind ``--detector`` (the registry's, or the toy ``tiny``), without building it."""
    if name == TinyDetector.name:
        return TinyDetector
    try:
        return detectors.get(name)
    except KeyError as e:
        raise UserError(_one_line(e)) from None


def _build_detector(args, cls: type | None = None):
    cls = cls or _detector_class(args.detector)
    kwargs = _parse_set(args.set)
    if getattr(args, "pretrained", False):
        kwargs["pretrained"] = True
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise UserError(f"detector {args.detector!r} does not accept these options ({e})") from None
    except FileNotFoundError as e:  # hub.AssetMissing is a FileNotFoundError with instructions
        raise UserError(_one_line(e)) from None


def _weights_file(args) -> str | None:
    """The checkpoint file of ``--checkpoint``, or of ``--weights`` resolved through the asset registry."""
    if args.weights and args.checkpoint:
        raise UserError("give --checkpoint PATH or --weights NAME, not both")
    if not args.weights:
        return args.checkpoint
    try:
        return str(hub.weights_for(_detector_class(args.detector).name, args.weights))
    except (KeyError, FileNotFoundError, hub.ChecksumMismatch) as e:  # AssetMissing names the fetching command
        raise UserError(_one_line(e)) from None


def _load_weights(model, args) -> None:
    """Load ``--checkpoint`` (or the registry's ``--weights``) strictly, or refuse untrained weights unless
    ``--allow-untrained``."""
    args.checkpoint = _weights_file(args)
    if args.checkpoint:
        try:
            detectors.load_checkpoint(model, args.checkpoint)
        except (FileNotFoundError, detectors.CheckpointError) as e:
            raise UserError(_one_line(e)) from None
    elif not args.allow_untrained:
        raise UserError(
            "no --checkpoint given: scores from untrained weights mean nothing. Pass --checkpoint PATH "
            "(a trained or official checkpoint), --weights published (the registry's), or --allow-untrained "
            "to run the pipeline anyway"
        )
    else:
        print(f"warning: {args.detector} runs with UNTRAINED weights; these scores are not results",
              file=sys.stderr)


def _print_skipped(bad, header: str) -> None:
    """The skipped files on stderr: ``header``, then one line per file (path, reason)."""
    print(header, file=sys.stderr)
    for b in bad:
        print(f"  {b}", file=sys.stderr)


# --------------------------------------------------------------------------- doctor, assets


def _add_doctor(sub) -> None:
    d = sub.add_parser("doctor", help="check the environment (works offline)")
    d.add_argument("--json", action="store_true", help="print the report as JSON")
    d.set_defaults(func=_cmd_doctor)


def _cmd_doctor(args) -> int:
    report = doctor(print_report=not args.json)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    return 0


def _add_assets(sub) -> None:
    a = sub.add_parser("assets", help="list named weights/datasets, or fetch some")
    a.add_argument("--fetch", nargs="+", metavar="NAME", help="download and verify these assets")
    a.set_defaults(func=_cmd_assets)


def _cmd_assets(args) -> int:
    if not args.fetch:
        print(hub.table())
        return 0
    for name in args.fetch:
        try:
            print(hub.fetch(name))
        # unknown name; manual steps; a sha256 mismatch; an archive that does not unpack into its layout
        except (KeyError, FileNotFoundError, FileExistsError, ValueError) as e:
            raise UserError(_one_line(e)) from None
    return 0


# --------------------------------------------------------------------------- data


def _add_data(sub) -> None:
    d = sub.add_parser("data", help="dataset tools: check a folder layout, build the mini benchmark")
    dsub = d.add_subparsers(dest="data_command", required=True)
    c = dsub.add_parser("check", help="check a benchmark folder: counts, problems, and which published layout "
                                      "(dfdlab eval --suite) it holds and what is missing")
    c.add_argument("root")
    c.set_defaults(func=_cmd_data_check)
    b = dsub.add_parser("build-mini", help="build (or find cached) the mini benchmark")
    b.add_argument("--root", default=None, help="where to build it (default: under DFDLAB_HOME)")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--preset", default="quick", choices=sorted(PRESETS), help="benchmark size (default: quick)")
    b.add_argument("--photos-dir", default=None, help="a folder of your own photos, added to the bundled ones")
    b.add_argument("--force", action="store_true", help="rebuild even if a cached copy exists")
    b.add_argument("--version", type=int, default=1, choices=(1, 2),
                   help="1: the lessons' benchmark (default); 2: content-matched fakes from the shipped reconstructors")
    b.add_argument("--jpeg-reals", type=int, default=None, metavar="Q",
                   help="with --version 2: store the reals as JPEG of quality Q (the format-shortcut variant)")
    b.set_defaults(func=_cmd_data_build_mini)


def _cmd_data_check(args) -> int:
    """The folder check, then the published layouts it matches (``dfdlab.suites.recognise_layouts``)."""
    root = _existing_dir(args.root, "data root")
    matches = suites.recognise_layouts(root)
    # GenImage's own download names its label folders nature/ai: check with those
    pairs = {f.labels for m in matches[:1] for f in m.found.values()}
    report = check_layout(root, label_folders=pairs.pop() if len(pairs) == 1 else LABEL_FOLDERS)
    print(report)
    print(_layout_lines(matches))
    return 0 if report.ok else 1


def _layout_lines(matches) -> str:
    """Every complete published layout, and the partial ones holding more sets (one line each, what is missing)."""
    if not matches:
        return ("Published layouts: none recognised (no generator folder of any suite: "
                f"{', '.join(suites.SUITES)}); see `dfdlab eval --help`")
    complete = [m for m in matches if m.complete]
    most = max((len(m.found) for m in complete), default=0)
    shown = complete + [m for m in matches if not m.complete and len(m.found) > most][:3]
    head = "Published layouts (dfdlab eval --suite NAME):"
    return "\n".join([head] + [f"  {m}" for m in shown])


def _cmd_data_build_mini(args) -> int:
    try:
        root = build_mini(Path(args.root).expanduser() if args.root else None, seed=args.seed, preset=args.preset,
                          photos_dir=args.photos_dir, force=args.force, version=args.version,
                          jpeg_reals=args.jpeg_reals)
    except (FileNotFoundError, FileExistsError, ValueError) as e:  # a bad --photos-dir, a --root in the way
        raise UserError(_one_line(e)) from None
    info = build_info(root)
    print(f"{root}  ({info['n_images']} images, {info['bytes'] / 1e6:.1f} MB, built in {info['seconds']} s)")
    return 0


# --------------------------------------------------------------------------- train


def _add_train(sub) -> None:
    t = sub.add_parser("train", help="train a detector with its paper's recipe (also: python -m dfdlab.train)",
                       description="Train a detector with its paper's recipe; selection on the validation split "
                                   "only. Resumes from OUT/last.pth. Under torchrun: DistributedDataParallel.")
    _model_args(t, checkpoint=False)
    t.add_argument("--init", choices=train.INITS,
                   help="initial weights (default: the recipe's, as its official trainer: imagenet for cnndetection "
                        "and lgrad, from the asset registry; random for npr; univfd's frozen openai-clip)")
    t.add_argument("--keep", choices=("official", *train.KEEP_RULES), default="official",
                   help="the kept model: official (npr, lgrad: the last epoch; cnndetection, univfd: the early "
                        "stopper's latest save), last, early_stopping, or best (best validation accuracy)")
    t.add_argument("--data", required=True, help="ForenSynths-layout root holding the train and val splits")
    t.add_argument("--train-split", default="train", help="sub-folder of --data to train on (default: train)")
    t.add_argument("--val-split", default=None,
                   help="sub-folder of --data to validate on (default: the recipe's: val; univfd: test/progan, "
                        "as its train.py)")
    t.add_argument("--classes", default="",
                   help="comma-separated class folders to train/select on, e.g. car,cat,chair,horse (NPR's "
                        "4-class setting); default: every class under the split, pooled")
    t.add_argument("--out", required=True, help="output folder for last.pth, best.pth, history.csv")
    t.add_argument("--recipe", choices=[*RECIPES, *ALIASES], help="training recipe (default: the detector's own)")
    t.add_argument("--epochs", type=int, help="override the recipe's epochs")
    t.add_argument("--batch-size", type=int, help="override the recipe's (global) batch size")
    t.add_argument("--seed", type=int, help="override the recipe's seed")
    t.add_argument("--blur-jpeg-prob", type=float, metavar="P",
                   help="override the recipe's Blur+JPEG(P) augmentation (CNNDetection, UnivFD: 0.5; NPR, LGrad: 0)")
    t.add_argument("--workers", type=int, default=0, help="DataLoader workers")
    t.add_argument("--no-resume", action="store_true", help="start over even if OUT/last.pth exists")
    t.add_argument("--quiet", action="store_true", help="no progress bars")
    t.set_defaults(func=_cmd_train)


def _split_set(root: Path, classes: list[str], transform) -> object:
    """One split as a dataset; with ``classes``, one ``ForenSynths`` per class folder, concatenated.

    The official ``--classes`` (CNNDetection ``data/__init__.py``): one ImageFolder per class.
    Unreadable files become ``BadImage`` records, which the trainer skips and names.
    """
    try:
        if not classes:
            return ForenSynths(root, transform=transform, on_error="skip")
        for c in classes:
            if not (root / c).is_dir():
                raise UserError(f"class folder {root / c} does not exist (--classes {','.join(classes)})")
        return ConcatDataset([ForenSynths(root / c, transform=transform, on_error="skip") for c in classes])
    except LayoutError as e:
        raise UserError(_one_line(e)) from None


def _train_recipe(args, cls: type):
    """``--recipe`` (default: the detector's own) with the ``--epochs``/``--batch-size``/``--blur-jpeg-prob`` overrides."""
    overrides = {k: v for k, v in (("epochs", args.epochs), ("batch_size", args.batch_size),
                                   ("blur_jpeg_prob", args.blur_jpeg_prob)) if v is not None}
    try:
        return recipe(args.recipe or cls.recipe, **overrides)
    except KeyError as e:
        raise UserError(f"{_one_line(e)} (detector {args.detector!r} names recipe {cls.recipe!r}; pass --recipe)") from None


def _cmd_train(args) -> int:
    cls = _detector_class(args.detector)
    root = _existing_dir(args.data, "data root")
    r = _train_recipe(args, cls)
    val_split = args.val_split or r.val_split
    train_root, val_root = root / args.train_split, root / val_split
    for p in (train_root, val_root):
        if not p.is_dir():
            raise UserError(f"{p} is missing: --data must hold {args.train_split}/ and {val_split}/ "
                            "(ForenSynths layout <split>/<class>/{0_real,1_fake}; see `dfdlab data check`)")
    try:
        train.resolve_keep(args.keep, r)  # --keep early_stopping needs an early-stopping recipe
    except ValueError as e:
        raise UserError(_one_line(e)) from None
    seed = r.seed if args.seed is None else args.seed
    train.seed_run(seed)  # once, before the data and the model, as NPR's train.py (seed_torch(100))
    try:
        model, init = train.build_for_training(cls, r, args.init, **_parse_set(args.set))
    except TypeError as e:
        raise UserError(f"detector {args.detector!r} does not accept these options ({e})") from None
    except (FileNotFoundError, ValueError) as e:  # hub.AssetMissing says which command fetches the file
        raise UserError(_one_line(e)) from None
    classes = [c for c in args.classes.split(",") if c]
    augment = r.augmentation()  # the recipe's Blur+JPEG, for the train and the official val pipelines
    train_set = _split_set(train_root, classes, model.transform("train", augment=augment))
    val_set = _split_set(val_root, classes, model.transform("val", augment=augment))
    meta = {"detector": getattr(cls, "name", args.detector), "init": init, "data": str(root),
            "train_split": args.train_split, "val_split": val_split, "classes": classes}
    try:
        result = train.fit(model, train_set, val_set, r, Path(args.out).expanduser(), device=args.device,
                           resume=not args.no_resume, num_workers=args.workers, progress=not args.quiet, seed=seed,
                           keep=args.keep, meta=meta)
    except train.ResumeError as e:
        raise UserError(_one_line(e)) from None
    finally:
        train.end_distributed()
    if int(os.environ.get("RANK", "0")) == 0:  # under torchrun, rank 0 speaks
        _print_fit(result)
    return 0


def _print_fit(result) -> None:
    print(result.history.to_string(index=False))
    print(f"kept ({result.keep}): {result.kept_path} (epoch {result.kept_epoch}); "
          f"best: {result.best_path} (epoch {result.best_epoch}); last: {result.last_path}")
    skipped = result.extra["skipped"]
    if skipped:
        listed = result.last_path.parent / "train_skipped.csv"
        _print_skipped(skipped, f"skipped {len(skipped)} unreadable training file(s) (listed in {listed}):")


# --------------------------------------------------------------------------- eval


def _add_eval(sub) -> None:
    e = sub.add_parser("eval", help="evaluate a checkpoint on every generator folder under --data")
    _model_args(e)
    e.add_argument("--data", required=True, help="test root: <gen>/{0_real,1_fake} or <gen>/<class>/{0_real,1_fake}")
    e.add_argument("--csv", default=None, help="also write the table (fractions) to this CSV")
    e.add_argument("--suite", choices=sorted(suites.SUITES), default=None,
                   help="run a paper's test protocol over --data in the published layout (dfdlab.suites): "
                        "generator folders, per-table resize/crop, UnivFD's 1000/1000 sampling; writes "
                        "CSV + markdown (to --out, default DFDLAB_RESULTS or DFDLAB_HOME/results/suites)")
    e.add_argument("--generators", default=None, help="with --suite: comma-separated subset of its generators")
    e.add_argument("--no-sampling", action="store_true", help="with --suite univfd: score every image")
    e.add_argument("--out", default=None, help="with --suite: folder for the CSV/markdown/meta files "
                                              "(and <name>_skipped.csv naming unreadable files)")
    e.add_argument("--batch-size", type=int, default=64)
    e.add_argument("--workers", type=int, default=0)
    e.add_argument("--amp", action="store_true",
                   help="mixed precision: bf16 autocast on CPU, fp16 on CUDA (LGrad's gradients stay fp32); "
                        "the table records the precision")
    e.add_argument("--quiet", action="store_true", help="no progress bars")
    e.set_defaults(func=_cmd_eval)


def _generator_sets(root: Path, transform) -> dict:
    """``root/<gen>/...`` -> one set per generator; a root that is itself one generator -> one set."""
    try:
        if (root / "0_real").is_dir() or (root / "1_fake").is_dir():
            return {root.name: ForenSynths(root, transform=transform)}
        return generator_sets(root, transform=transform)
    except (FileNotFoundError, LayoutError) as e:
        raise UserError(_one_line(e)) from None


def _cmd_eval(args) -> int:
    root = _existing_dir(args.data, "data root")
    if args.suite:
        return _cmd_eval_suite(args, root)
    model = _build_detector(args)
    _load_weights(model, args)
    sets = _generator_sets(root, model.transform(train=False))
    csv = Path(args.csv).expanduser() if args.csv else None
    table = evaluate.evaluate(model, sets, batch_size=args.batch_size, device=args.device, num_workers=args.workers,
                              progress=not args.quiet, skipped_csv=skipped_csv_path(csv) if csv else None,
                              amp=args.amp)
    table["precision"] = table.attrs["precision"]
    print(f"{args.detector} on {root} (AP/acc in %, accuracy at sigmoid > 0.5; mean = unweighted over generators; "
          f"{table.attrs['precision']})")
    print(evaluate.paper_style(table).to_string(index=False))
    skipped = table.attrs.get("skipped", [])
    if skipped:
        _print_skipped(skipped, f"skipped {len(skipped)} unreadable file(s):")
    if csv:
        atomic_write_text(csv, table.to_csv(index=False))
        print(f"wrote {csv}")
    return 0


def _cmd_eval_suite(args, root: Path) -> int:
    """``dfdlab eval --suite NAME``: a paper's test protocol over the published layout (``dfdlab.suites``)."""
    model = _build_detector(args)
    _load_weights(model, args)
    gens = [g for g in (args.generators or "").split(",") if g] or None
    try:
        table = suites.run_suite(model, args.suite, root, checkpoint=args.checkpoint, generators=gens,
                                 sampling=not args.no_sampling, out_dir=Path(args.out).expanduser() if args.out else None,
                                 batch_size=args.batch_size, device=args.device, num_workers=args.workers,
                                 progress=not args.quiet, amp=args.amp)
    except (FileNotFoundError, KeyError) as e:
        raise UserError(_one_line(e)) from None
    print(suites.suite_note(table))
    print(suites.display_table(table).to_string(index=False))
    print(f"wrote {table.attrs['csv']} and {table.attrs['markdown']}")
    skipped = table.attrs.get("skipped", [])
    if skipped:
        listed = Path(table.attrs["csv"]).with_name(Path(table.attrs["csv"]).stem + "_skipped.csv")
        _print_skipped(skipped, f"skipped {len(skipped)} unreadable file(s) (listed in {listed}):")
    return 0


# --------------------------------------------------------------------------- predict


def _add_predict(sub) -> None:
    p = sub.add_parser("predict", help="fake probability of each image")
    _model_args(p)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.set_defaults(func=_cmd_predict)


def _cmd_predict(args) -> int:
    """One line per image, in the order given: ``path<TAB>p(fake)<TAB>verdict``, or ``error: path: why``."""
    model = _build_detector(args)
    _load_weights(model, args)
    images = ImageList([(p, -1) for p in args.images], transform=model.transform(train=False))
    pr = evaluate.predict(model, images, batch_size=args.batch_size, device=args.device, progress=False)
    scores = dict(zip(pr.paths, pr.y_score, strict=True))
    bad = {b.path: b for b in pr.skipped}
    for path in map(str, args.images):
        if path in bad:
            print(f"error: {bad[path].message}")
        else:
            print(f"{path}\t{scores[path]:.4f}\t{'fake' if scores[path] > 0.5 else 'real'}")
    return 1 if bad else 0


# --------------------------------------------------------------------------- new-detector


def _add_new_detector(sub) -> None:
    n = sub.add_parser("new-detector", help="write a detector plugin from the template (your own detector, one file)",
                       description="Write NAME.py: a working detector plugin (an experiment: NPR residuals at two "
                                   "window sizes into a small CNN) registered as NAME. Load it with --plugin NAME.py "
                                   "or DFDLAB_PLUGINS; edit it into your own idea.")
    n.add_argument("name", help="the detector's registry name (lower case, a Python identifier)")
    n.add_argument("--out", default=".", help="folder to write NAME.py into (default: the current folder)")
    n.add_argument("--force", action="store_true", help="overwrite NAME.py if it exists")
    n.set_defaults(func=_cmd_new_detector)


def _cmd_new_detector(args) -> int:
    try:
        path = plugins.new_detector(args.name, args.out, force=args.force)
    except (ValueError, FileExistsError) as e:
        raise UserError(_one_line(e)) from None
    print(f"wrote {path}: detector {args.name!r} (an experiment, not a paper's method). Try it:")
    print(f"  dfdlab --plugin {path} train --detector {args.name} --data ROOT --out runs/{args.name}")
    print(f"  DFDLAB_PLUGINS={path} python -c \"import dfdlab.zoo as z; z.train_quick('{args.name}')\"")
    return 0
