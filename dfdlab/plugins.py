"""A member's own detector in one file, loaded from outside the package: ``DFDLAB_PLUGINS`` and ``--plugin``.

A *plugin* is one Python file that defines a :class:`dfdlab.detectors.Detector` subclass and
registers it with the registry's own decorator, ``@dfdlab.detectors.register("my_detector")``.
The class carries what the package needs to treat it like the papers' detectors:

* ``forward(x) -> [N]`` logits and ``preprocessing(split, benchmark, augment)`` (its pipeline per
  split and, through ``test_settings``, per benchmark), as every built-in detector;
* ``recipe``: the name of the paper recipe it trains with (``dfdlab.recipes.RECIPES``);
* ``quick_zoo`` (optional): its quick-zoo entry, the same keys as ``dfdlab.zoo.QUICK_ZOO``'s
  (``build``, ``epochs``, ``batch_size``, ``seed``, ``init``, ``note``), so ``dfdlab.zoo.train_quick``,
  lesson 07, lesson 09 and the demo widget train and show it like the others.

Loading (:func:`load_plugin`) goes through ``importlib.util.spec_from_file_location``: the file is
imported as a module of its own (no ``sys.path`` edit). ``DFDLAB_PLUGINS`` holds files or folders
(every ``*.py`` in a folder, ``_*.py`` excepted), separated by ``os.pathsep``; ``dfdlab.detectors``
reads it on first use (:func:`load_env_plugins`), and ``dfdlab --plugin FILE`` adds one for a
command. A file that does not import raises :class:`PluginError` naming the file; so does a
detector name (or alias, or quick-zoo entry) that is already taken by a built-in detector.

``dfdlab new-detector NAME`` writes the template (``dfdlab/templates/detector_plugin.py``, a
working experiment: the NPR residual at two window sizes into a small CNN) under a new name.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import keyword
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .files import atomic_write_text, sha256sum

if TYPE_CHECKING:
    import pandas as pd

#: The environment variable naming plugin files or folders (``os.pathsep``-separated).
ENV = "DFDLAB_PLUGINS"
#: The template ``dfdlab new-detector`` copies, and the names in it that become the new detector's.
TEMPLATE = Path(__file__).with_name("templates") / "detector_plugin.py"
TEMPLATE_NAME, TEMPLATE_CLASS = "npr_two_scale", "NPRTwoScale"
#: Keys a plugin's ``quick_zoo`` must have (``dfdlab.zoo.QUICK_ZOO``'s).
ZOO_KEYS = ("build", "epochs", "batch_size", "seed", "init", "note")
#: Names no plugin may take: the CLI's toy detector (``dfdlab train --detector tiny``).
RESERVED = ("tiny",)

#: Resolved plugin file -> the detector names it registered (each file is imported once).
_LOADED: dict[Path, list[str]] = {}
#: Detector -> its plugin's quick-zoo entry (``quick_zoo`` plus the file and its sha256), for ``dfdlab.zoo``.
ZOO_ENTRIES: dict[str, dict] = {}
#: Called with (detector, entry) for every entry, past and future: ``dfdlab.zoo`` adds them to ``QUICK_ZOO``.
_ZOO_HOOKS: list = []


def on_zoo_entry(hook) -> None:
    """Call ``hook(detector, entry)`` for every plugin's quick-zoo entry, those loaded so far and those to come.

    ``dfdlab.zoo`` registers the hook that adds them to ``QUICK_ZOO`` (so this module needs no import of the zoo).
    A hook raises ``ValueError`` to refuse an entry; the plugin then fails to load, naming its file.
    """
    _ZOO_HOOKS.append(hook)
    for det, entry in list(ZOO_ENTRIES.items()):
        try:
            hook(det, entry)
        except ValueError as e:
            raise PluginError(f"plugin {entry['plugin']}: {e}") from None


class PluginError(ImportError):
    """A plugin file that cannot be used; the message names the file and says why."""


def plugin_files(spec: str | os.PathLike | list) -> list[Path]:
    """The ``.py`` files of ``spec``: files or folders, ``os.pathsep``-separated (``DFDLAB_PLUGINS``' format)."""
    items = spec if isinstance(spec, (list, tuple)) else str(spec).split(os.pathsep)
    out = []
    for item in items:
        if not str(item).strip():
            continue
        p = Path(item).expanduser()
        if p.is_dir():
            out += sorted(q for q in p.glob("*.py") if not q.name.startswith("_"))
        elif p.is_file() and p.suffix == ".py":
            out.append(p)
        elif p.exists():
            raise PluginError(f"plugin {p} is not a .py file (a detector plugin is one Python file)")
        else:
            raise PluginError(f"plugin {p} does not exist")
    return out


def _module_name(path: Path) -> str:
    stem = re.sub(r"\W", "_", path.stem)
    return f"dfdlab_plugin_{stem}_{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"


def load_plugin(path: str | os.PathLike) -> list[str]:
    """Import one plugin file and return the detector names it registered (a second call is a no-op).

    Raises :class:`PluginError` (naming the file) when the file does not import, registers no
    detector, takes a built-in detector's name or alias, names an unknown recipe, or has a
    ``quick_zoo`` entry without the zoo's keys. On an error the registry is left as it was.
    """
    from .detectors import base
    from .recipes import RECIPES

    path = Path(path).expanduser().resolve()
    if path in _LOADED:
        return list(_LOADED[path])
    if not path.is_file():
        raise PluginError(f"plugin {path} does not exist")
    base.available()  # import the built-ins first, so a clash with one is seen
    registry, aliases = dict(base._REGISTRY), dict(base.ALIASES)
    name = _module_name(path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise PluginError(f"plugin {path} cannot be imported (not a Python source file)")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name

    def undo() -> None:
        base._REGISTRY.clear()
        base._REGISTRY.update(registry)
        base.ALIASES.clear()
        base.ALIASES.update(aliases)
        sys.modules.pop(name, None)

    try:
        spec.loader.exec_module(module)
    except Exception as e:  # noqa: BLE001 - any error in a member's file becomes one message naming it
        undo()
        where = ""
        tb = e.__traceback__
        while tb is not None:
            if Path(tb.tb_frame.f_code.co_filename).resolve() == path:
                where = f" (line {tb.tb_lineno})"
            tb = tb.tb_next
        raise PluginError(f"plugin {path} failed to import{where}: {type(e).__name__}: {e}") from e
    entries = dict(ZOO_ENTRIES)
    try:
        new = _check(path, module, registry, aliases, RECIPES)
        for det in new:
            cls = base._REGISTRY[det]
            if getattr(cls, "quick_zoo", None):
                ZOO_ENTRIES[det] = entry = {**cls.quick_zoo, "plugin": str(path), "plugin_sha256": sha256sum(path)}
                for hook in _ZOO_HOOKS:
                    try:
                        hook(det, entry)
                    except ValueError as e:
                        raise PluginError(f"plugin {path}: {e}") from None
    except PluginError:
        undo()
        ZOO_ENTRIES.clear()
        ZOO_ENTRIES.update(entries)
        raise
    _LOADED[path] = new
    return list(new)


def _check(path: Path, module, registry: dict, aliases: dict, recipes: dict) -> list[str]:
    """The names ``module`` registered, after checking them against the built-ins (see :func:`load_plugin`)."""
    from .detectors import base

    for det, cls in registry.items():
        if base._REGISTRY.get(det) is not cls:
            raise PluginError(f"plugin {path}: detector name {det!r} is taken by {cls.__module__}.{cls.__qualname__}; "
                              "choose another name")
    for alias, target in aliases.items():
        if base.ALIASES.get(alias) != target:
            raise PluginError(f"plugin {path}: alias {alias!r} already names the detector {target!r}; choose another")
    new = sorted(set(base._REGISTRY) - set(registry))
    for det in new:
        cls = base._REGISTRY[det]
        if det in aliases or det in RESERVED:
            raise PluginError(f"plugin {path}: detector name {det!r} is already taken "
                              f"({'an alias of ' + repr(aliases[det]) if det in aliases else 'the toy CNN of dfdlab train'})")
        if not issubclass(cls, base.Detector):
            raise PluginError(f"plugin {path}: {cls.__qualname__} must subclass dfdlab.detectors.Detector")
        if cls.preprocessing is base.Detector.preprocessing or cls.forward is base.Detector.forward:
            raise PluginError(f"plugin {path}: {cls.__qualname__} must define forward(x) and "
                              "preprocessing(split, benchmark, augment)")
        if cls.recipe not in recipes:
            raise PluginError(f"plugin {path}: {cls.__qualname__}.recipe = {cls.recipe!r} is not a recipe; "
                              f"choose one of {', '.join(recipes)}")
        entry = getattr(cls, "quick_zoo", None)
        if entry:
            missing = [k for k in ZOO_KEYS if k not in entry]
            if missing:
                raise PluginError(f"plugin {path}: {cls.__qualname__}.quick_zoo lacks {', '.join(missing)} "
                                  "(the keys of dfdlab.zoo.QUICK_ZOO)")
    mine = [d for d in new if inspect.getmodule(base._REGISTRY[d]) is module
            or base._REGISTRY[d].__module__ == module.__name__]
    if not mine:
        raise PluginError(f"plugin {path} registers no detector: decorate a Detector subclass with "
                          "@dfdlab.detectors.register('my_detector')")
    return new


def load_plugins(spec: str | os.PathLike | list) -> list[str]:
    """Load every plugin of ``spec`` (files or folders, ``os.pathsep``-separated); the names they registered."""
    names = []
    for f in plugin_files(spec):
        names += load_plugin(f)
    return names


def load_env_plugins() -> list[str]:
    """Load the plugins ``DFDLAB_PLUGINS`` names (each file once); ``dfdlab.detectors`` calls it on first use."""
    spec = os.environ.get(ENV, "")
    return load_plugins(spec) if spec.strip() else []


def loaded() -> dict[str, list[str]]:
    """Plugin file -> the detector names it registered, for every plugin loaded in this process."""
    return {str(p): list(n) for p, n in _LOADED.items()}


def class_name(name: str) -> str:
    """``"my_npr"`` -> ``"MyNpr"``: the class name ``new-detector`` gives the detector ``name``."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def new_detector(name: str, out_dir: str | os.PathLike = ".", force: bool = False) -> Path:
    """Write the template as ``out_dir/<name>.py``, registering the detector ``name``; returns the file.

    ``name`` must be a lower-case Python identifier that no detector, alias or zoo entry uses.
    """
    from .detectors import base

    if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or keyword.iskeyword(name):
        raise ValueError(f"detector name {name!r}: use lower-case letters, digits and _ (a Python identifier)")
    taken = set(base.available()) | set(base.ALIASES) | set(ZOO_ENTRIES) | set(RESERVED)
    if name in taken:
        raise ValueError(f"detector name {name!r} is taken (by a detector, an alias or the toy CNN)")
    out = Path(out_dir).expanduser() / f"{name}.py"
    if out.exists() and not force:
        raise FileExistsError(f"{out} exists; pass --force to overwrite it")
    text = TEMPLATE.read_text(encoding="utf-8")
    text = text.replace(TEMPLATE_NAME, name).replace(TEMPLATE_CLASS, class_name(name))
    return atomic_write_text(out, text)


# --------------------------------------------------------------------------- a comparison fair by construction

#: What every row of :func:`fair_table` must share, and say: the data, the test images, the metrics.
SHARED = ("train data", "test images", "metrics")


def run_settings(name: str, info: dict, test_note: str) -> dict:
    """The settings of one detector's run in :func:`fair_table`'s words, from its quick-zoo ``info``.

    ``info`` is what ``dfdlab.zoo.train_quick`` returned; ``test_note`` names the test images
    (e.g. "mini test split, 100 real + 100 fake per generator, seed 0").
    """
    return {"train data": f"{Path(info['mini_root']).name}: train/ (one family), val/ for selection",
            "test images": test_note, "metrics": "AP, accuracy at sigmoid > 0.5 (dfdlab.evaluate.metrics)",
            "recipe": info.get("recipe", ""), "epochs": info["epochs"], "batch size": info["batch_size"],
            "selection": f"keep {info.get('keep', '')} on val ({info.get('val_pipeline', '')} pipeline)",
            "budget": f"QUICK_ZOO[{name!r}]: {info['epochs']} epochs x batch {info['batch_size']}"}


def fair_table(runs: dict, settings: dict, train_generator: str) -> pd.DataFrame:
    """One row per detector: AP (%) per test generator, mean and sd over its seeds, and its settings.

    Args:
        runs: detector -> {seed: per-generator table of ``dfdlab.evaluate.evaluate``}.
        settings: detector -> :func:`run_settings` of its run (the same for each of its seeds).
        train_generator: the training family; ``unseen AP`` averages the other generators.

    Raises ``ValueError`` naming the detectors and settings when the rows do not share the data,
    the test images and the metrics (:data:`SHARED`), or test different generators: a table
    that compares unlike runs is refused, not printed.
    """
    import pandas as pd

    gens = {n: [g for g in next(iter(t.values()))["generator"] if g != "mean"] for n, t in runs.items()}
    first = next(iter(gens.values()))
    bad = [n for n, g in gens.items() if g != first]
    for key in SHARED:
        values = {n: settings[n][key] for n in runs}
        if len(set(values.values())) > 1:
            bad.append(f"{key}: " + "; ".join(f"{n}={v!r}" for n, v in values.items()))
    if bad:
        raise ValueError("the detectors were not run with the same settings: " + " | ".join(map(str, bad)))
    rows = []
    for name, by_seed in runs.items():
        ap = pd.DataFrame({s: t.set_index("generator")["ap"] * 100 for s, t in by_seed.items()}).T[first]
        unseen = ap[[g for g in first if g != train_generator]].mean(axis=1)
        row = {"detector": name, "seeds": ", ".join(map(str, by_seed)), "n seeds": len(by_seed)}
        for g in first:
            row[f"{g} AP"] = ap[g].mean()
        row["unseen AP mean"] = unseen.mean()
        row["unseen AP sd"] = unseen.std(ddof=1) if len(unseen) > 1 else float("nan")
        row["unseen AP min"], row["unseen AP max"] = unseen.min(), unseen.max()
        rows.append({**row, **settings[name]})
    return pd.DataFrame(rows).set_index("detector")


__all__ = ["ENV", "SHARED", "ZOO_ENTRIES", "PluginError", "TEMPLATE", "class_name", "fair_table", "load_env_plugins",
           "load_plugin", "load_plugins", "loaded", "new_detector", "on_zoo_entry", "plugin_files", "run_settings"]
