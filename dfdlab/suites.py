"""Each paper's test protocol over the published folder layout, as data: ``SUITES`` and ``run_suite``.

A *suite* is one benchmark as the papers test on it: which generator folders it holds (in
the published layout, with the folder names the download gives you), where they sit, and
whether the test sets are sub-sampled. ``dfdlab eval --suite NAME`` and the reproduction
ledger use it.

=====================  =============================================  =========================================
suite                  generators (folder names)                       protocol
=====================  =============================================  =========================================
``forensynths``        the 8 GANs of NPR Table 1 / LGrad              every image (CNNDetection test set)
                       ``eval_test8gan.py`` (CNNDetection test set)
``gangen``             9 GANs of GANGen-Detection (NPR Table 2)        every image
``diffusionforensics`` 8 diffusion models (NPR Table 3, DIRE data)     every image
``univfd``             UnivFD's 19 test sets (11 CNN + 8 diffusion)    1000 real / 1000 fake, seed 0, falling
                       ``dataset_paths.py``                            back to 100 (``validate.py``)
=====================  =============================================  =========================================

The preprocessing is the detector's: :func:`protocol` asks it for its test pipeline on the
benchmark (``detector.transform("test", benchmark=suite.name)``) and for its settings in
words (``detector.describe``). Only NPR's official test pipeline changes per benchmark
(``dfdlab.detectors.npr.DETECTION_TESTS``: native size on GANGen-Detection, 256x256 on the
others); CNNDetection (``eval.py``), UnivFD (``validate.py``) and LGrad
(``eval_test8gan.py``) test every benchmark the same way. Native-size inputs of different
sizes are batched by shape in ``dfdlab.evaluate`` (exactly batch size 1 with BN in eval mode).

Scores from a detector that was not given a checkpoint are labelled **UNTRAINED** in every
row, in the markdown note and in the ledger: they test the pipeline, they are not results.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .config import profile
from .data import ForenSynths
from .detectors.univfd import univfd_subset
from .evaluate import evaluate, paper_style
from .files import atomic_write_text, sha256sum
from .health import hardware
from .results import results_dir

#: The 20 LSUN classes of the ProGAN test set (CNNDetection ``CNN_synth_testset``).
PROGAN_CLASSES = ("airplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
                  "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
                  "tvmonitor")

UNTRAINED = "UNTRAINED (no checkpoint): a pipeline smoke test, not a result"


@dataclass(frozen=True)
class TestSet:
    """One generator folder of a suite: ``<root>/<folder>/{0_real,1_fake}`` or ``<root>/<folder>/<class>/{...}``."""

    __test__ = False  # not a pytest test class, despite the name

    folder: str
    label: str  # the heading the paper prints
    classes: tuple = ()  # sub-folders of a multi-class generator (pooled, as the official ConcatDataset)
    paper_key: str | None = None  # generator key in dfdlab.paper_results when it differs from the folder


@dataclass(frozen=True)
class Suite:
    """A benchmark's test protocol (see the module docstring); ``name`` is the detectors' ``benchmark``."""

    name: str
    title: str
    sets: tuple  # TestSet, in the order the paper prints them
    layout: str  # the published layout, in words
    search: tuple = ("",)  # sub-folders of the root searched for the generator folders
    sampling: dict | None = None  # UnivFD: {"max_sample": 1000, "seed": 0, "fallback": 100}
    paper_tables: tuple = ()  # keys of dfdlab.paper_results.TABLES
    source: str = ""
    notes: str = ""

    @property
    def generators(self) -> list[str]:
        """The generator folder names, in the paper's order (the rows of the suite's table)."""
        return [s.folder for s in self.sets]


_FS = Suite(
    name="forensynths",
    title="ForenSynths (CNNDetection test set), 8 GANs of NPR Table 1 / LGrad eval_test8gan.py",
    sets=(
        TestSet("progan", "ProGAN", PROGAN_CLASSES),
        TestSet("stylegan", "StyleGAN", ("bedroom", "car", "cat")),
        TestSet("stylegan2", "StyleGAN2", ("car", "cat", "church", "horse")),
        TestSet("biggan", "BigGAN"),
        TestSet("cyclegan", "CycleGAN", ("apple", "horse", "orange", "summer", "winter", "zebra")),
        TestSet("stargan", "StarGAN"),
        TestSet("gaugan", "GauGAN"),
        TestSet("deepfake", "Deepfake"),
    ),
    layout="<root>/<gen>/{0_real,1_fake} or <root>/<gen>/<class>/{0_real,1_fake} (CNN_synth_testset.zip)",
    search=("", "test"),
    paper_tables=("npr_table1", "lgrad_4class"),
    source="NPR test.py DetectionTests['ForenSynths']; LGrad CNNDetection/eval_test8gan.py",
    notes="CNNDetection's eval.py tests 13 sets; the NPR/LGrad tables use these 8.",
)

_GANGEN = Suite(
    name="gangen",
    title="GANGen-Detection, 9 GANs (NPR Table 2)",
    sets=tuple(TestSet(g, g) for g in ("AttGAN", "BEGAN", "CramerGAN", "InfoMaxGAN", "MMDGAN", "RelGAN", "S3GAN",
                                       "SNGAN", "STGAN")),
    layout="<root>/<GAN>/{0_real,1_fake} (GANGen-Detection Google Drive folder, extracted)",
    search=("", "test"),
    paper_tables=(),
    source="NPR test.py DetectionTests['GANGen-Detection']",
    notes="Native size for NPR: odd sizes are trimmed (NPR README patch), images of different sizes are scored "
          "in groups of equal shape (= batch size 1). dfdlab holds no published Table 2 numbers.",
)

_DF = Suite(
    name="diffusionforensics",
    title="DiffusionForensics (DIRE), 8 diffusion models (NPR Table 3)",
    sets=(TestSet("adm", "ADM"), TestSet("ddpm", "DDPM"), TestSet("iddpm", "IDDPM"), TestSet("ldm", "LDM"),
          TestSet("pndm", "PNDM"), TestSet("sdv1_new", "SD v1", paper_key="sdv1"), TestSet("sdv2", "SD v2"),
          TestSet("vqdiffusion", "VQ-Diffusion")),
    layout="<root>/<model>/{0_real,1_fake} (NPR's arrangement of DIRE's DiffusionForensics)",
    search=("", "test"),
    paper_tables=("npr_table3",),
    source="NPR test.py DetectionTests['DiffusionForensics']",
)

_UFD = Suite(
    name="univfd",
    title="UnivFD's 19 test sets (CNNDetection test set + diffusion_datasets), validate.py protocol",
    sets=(TestSet("progan", "ProGAN", PROGAN_CLASSES),
          TestSet("cyclegan", "CycleGAN", ("apple", "horse", "orange", "summer", "winter", "zebra")),
          TestSet("biggan", "BigGAN"), TestSet("stylegan", "StyleGAN", ("bedroom", "car", "cat")),
          TestSet("gaugan", "GauGAN"), TestSet("stargan", "StarGAN"), TestSet("deepfake", "Deepfakes"),
          TestSet("seeingdark", "SITD"), TestSet("san", "SAN"), TestSet("crn", "CRN"), TestSet("imle", "IMLE"),
          TestSet("guided", "Guided"), TestSet("ldm_200", "LDM200"), TestSet("ldm_200_cfg", "LDM200cfg"),
          TestSet("ldm_100", "LDM100"), TestSet("glide_100_27", "Glide100-27"), TestSet("glide_50_27", "Glide50-27"),
          TestSet("glide_100_10", "Glide100-10"), TestSet("dalle", "DALL-E")),
    layout="<root>/<set>/{0_real,1_fake}; the 11 CNN sets may sit in <root>/test (datasets/test) and the "
           "8 diffusion sets in <root>/diffusion_datasets",
    search=("", "test", "datasets/test", "diffusion_datasets"),
    sampling={"max_sample": 1000, "seed": 0, "fallback": 100},
    paper_tables=("univfd_lc",),
    source="UnivFD validate.py + dataset_paths.py (set_seed(0), shuffle, 1000/1000, fallback 100); NPR "
           "test.py DetectionTests['UniversalFakeDetect']",
    notes="The subset follows os.walk order, as validate.py: it is the official subset only on the same "
          "filesystem. NPR's Table 4 scored the 8 diffusion sets without sub-sampling (run_suite(..., "
          "sampling=False)).",
)

#: The suites by name (``dfdlab eval --suite NAME``).
SUITES: dict[str, Suite] = {s.name: s for s in (_FS, _GANGEN, _DF, _UFD)}


def get_suite(name: str | Suite) -> Suite:
    if isinstance(name, Suite):
        return name
    if name not in SUITES:
        raise KeyError(f"unknown suite {name!r}; known: {', '.join(SUITES)}")
    return SUITES[name]


# --------------------------------------------------------------------------- layout


def find_sets(suite: str | Suite, root: str | os.PathLike, generators: Sequence[str] | None = None) -> dict[str, Path]:
    """``{generator: folder}`` for the suite's generators under ``root`` (searched in ``suite.search``).

    Raises ``FileNotFoundError`` naming every missing generator folder and saying how to run
    on a subset (``generators=[...]``, ``--generators a,b``).
    """
    s = get_suite(suite)
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"suite {s.name}: data root {root} does not exist; expected {s.layout}")
    wanted = list(generators) if generators else s.generators
    unknown = [g for g in wanted if g not in s.generators]
    if unknown:
        raise KeyError(f"suite {s.name} has no generator(s) {unknown}; its generators: {', '.join(s.generators)}")
    found, missing = {}, []
    for g in wanted:
        hit = next((root / sub / g for sub in s.search if (root / sub / g).is_dir()), None)
        if hit is None:
            missing.append(g)
        else:
            found[g] = hit
    if missing:
        where = ", ".join(str(root / sub) if sub else str(root) for sub in s.search)
        raise FileNotFoundError(
            f"suite {s.name}: {len(missing)} generator folder(s) missing under {root} (searched {where}): "
            f"{', '.join(missing)}. Expected layout: {s.layout}. To run on the folders you have, pass "
            f"generators=[...] (CLI: --generators {','.join(found) or 'a,b'})")
    return found


# --------------------------------------------------------------------------- the detector on a suite


def sampling_words(suite: str | Suite, sampling: bool = True) -> str:
    """The suite's sub-sampling in words ("all images" when it has none or ``sampling=False``)."""
    s = get_suite(suite)
    if not (s.sampling and sampling):
        return "all images"
    sm = s.sampling
    return (f"{sm['max_sample']} real + {sm['max_sample']} fake, seed {sm['seed']}, "
            f"fallback {sm['fallback']} (validate.py)")


def protocol(detector, suite: str | Suite, sampling: bool = True) -> tuple[Callable, dict]:
    """``(test transform, settings)`` of ``detector`` on ``suite``: the detector's own answer.

    The transform is ``detector.transform("test", benchmark=suite.name)``; ``settings`` holds
    ``resize``, ``crop``, ``normalisation``, ``input_size``, ``transform`` and
    ``protocol_source`` from ``detector.describe("test", suite.name)``, plus the suite's
    ``jpeg`` (none: the published images as they are) and ``sampling``, in words, for the CSV,
    the markdown note and the ledger.
    """
    s = get_suite(suite)
    tf = detector.transform("test", benchmark=s.name)
    d = detector.describe("test", benchmark=s.name)
    settings = {k: d[k] for k in ("resize", "crop", "normalisation", "input_size", "transform", "protocol_source")}
    settings.update(jpeg="none (as published)", sampling=sampling_words(s, sampling))
    return tf, settings


# --------------------------------------------------------------------------- running


def _weights_label(checkpoint) -> tuple[str, str]:
    if checkpoint is None:
        return UNTRAINED, ""
    p = Path(checkpoint)
    return f"checkpoint {p.name}", sha256sum(p)


def run_suite(
    detector,
    suite: str | Suite,
    root: str | os.PathLike,
    *,
    checkpoint: str | os.PathLike | None = None,
    generators: Sequence[str] | None = None,
    sampling: bool = True,
    out_dir: str | os.PathLike | None = None,
    name: str | None = None,
    batch_size: int = 64,
    device=None,
    num_workers: int = 0,
    progress: bool = True,
    data_note: str | None = None,
    amp=False,
) -> pd.DataFrame:
    """Run ``detector`` over ``suite``'s generators under ``root`` with the paper's protocol.

    Args:
        detector: a ``dfdlab.detectors.Detector`` (already loaded; see ``checkpoint``).
        suite: a key of ``SUITES`` or a ``Suite``.
        root: the benchmark's folder (published layout, ``SUITES[suite].layout``).
        checkpoint: the file the detector's weights came from; its sha256 goes in every
            row. ``None`` labels every row **UNTRAINED** (a smoke test, not a result).
        generators: a subset of the suite's generators (default: all; missing folders raise).
        sampling: apply the suite's sub-sampling (UnivFD); ``False`` scores every image.
        out_dir: write ``<name>.csv``, ``<name>.md`` and ``<name>.meta.json`` there
            (default ``dfdlab.results.results_dir() / "suites"``; ``False`` writes nothing).
        name: file stem (default ``suite_<suite>_<detector>``).
        data_note: what the data is, when it is not the published set (e.g. a tree of
            mini-benchmark images); printed in the note and the ledger.
        amp: mixed precision (``dfdlab.evaluate.predict``); the ``precision`` column and the
            meta record what ran (``fp32``, ``bf16 autocast``, ``fp16 autocast``).

    Returns ``dfdlab.evaluate.evaluate``'s table (fractions) with ``suite``, ``label``,
    ``paper_key``, ``weights`` and the protocol settings as columns, one row per generator in
    the paper's order plus "mean". ``.attrs`` holds ``meta``, ``csv``, ``markdown``.
    """
    s = get_suite(suite)
    det_name = getattr(detector, "name", "") or type(detector).__name__
    tf, settings = protocol(detector, s, sampling=sampling)
    sets, fell_back = _suite_sets(s, find_sets(s, root, generators), tf, sampling)
    table = evaluate(detector, sets, batch_size=batch_size, device=device, num_workers=num_workers,
                     progress=progress, amp=amp)
    weights, sha = _weights_label(checkpoint)
    _label_rows(table, s, det_name, settings, weights, sha, fell_back)
    table.attrs["meta"] = {
        "kind": "suite", "suite": s.name, "suite_title": s.title, "detector": det_name,
        "paper": getattr(detector, "paper", ""), "paper_method": getattr(detector, "paper_method", "") or None,
        "paper_tables": list(s.paper_tables), "root": str(Path(root)), "weights": weights,
        "checkpoint": str(checkpoint) if checkpoint else None, "checkpoint_sha256": sha,
        "untrained": checkpoint is None, "settings": settings, "hardware": hardware(),
        "data": data_note or f"published layout: {s.layout}", "source": s.source,
        "model": detector.summary(), "profile": profile(),
    }
    if out_dir is not False:
        out = Path(out_dir) if out_dir is not None else results_dir() / "suites"
        csv, md = write_suite_table(table, out, name or f"suite_{s.name}_{det_name}")
        table.attrs["csv"], table.attrs["markdown"] = csv, md
    return table


def _suite_sets(s: Suite, folders: dict[str, Path], tf, sampling: bool) -> tuple[dict, dict]:
    """One dataset per generator folder, sub-sampled as the suite's protocol says (UnivFD ``validate.py``)."""
    sets, fell_back = {}, {}
    for g, folder in folders.items():
        sets[g] = ForenSynths(folder, transform=tf, generator=g)
        if s.sampling and sampling:
            sets[g], sample = univfd_subset(sets[g], **s.sampling, os_walk_order=True)
            fell_back[g] = sample.fell_back
    return sets, fell_back


def _label_rows(table: pd.DataFrame, s: Suite, det_name: str, settings: dict, weights: str, sha: str,
                fell_back: dict) -> None:
    """Add the suite, the paper's row labels, the weights and the protocol settings to ``table`` in place."""
    by_folder = {t.folder: t for t in s.sets}
    table.insert(0, "suite", s.name)
    table.insert(1, "detector", det_name)
    table.insert(3, "label", [by_folder[g].label if g in by_folder else "Mean" for g in table["generator"]])
    table.insert(4, "paper_key", [(by_folder[g].paper_key or g) if g in by_folder else "mean"
                                  for g in table["generator"]])
    table["weights"] = weights
    table["checkpoint_sha256"] = sha
    for k in ("resize", "crop", "jpeg", "sampling"):
        table[k] = settings[k]
    table["precision"] = settings["precision"] = table.attrs["precision"]
    if fell_back:
        table["fell_back"] = [fell_back.get(g, "") for g in table["generator"]]


# --------------------------------------------------------------------------- the suite's table


def suite_note(table: pd.DataFrame) -> str:
    """The lines printed above a suite's table: what ran, on what, with which settings and weights."""
    m = table.attrs.get("meta", {})
    st = m.get("settings", {})
    lines = [f"**{m.get('suite_title', m.get('suite', ''))}**: detector `{m.get('detector', '')}`"
             + (f" ({m['model']})" if m.get("model") else ""),
             f"- weights: {m.get('weights', '')}" + (f", sha256 {m['checkpoint_sha256']}" if m.get("checkpoint_sha256") else ""),
             f"- data: {m.get('data', '')}",
             f"- resize: {st.get('resize')}; crop: {st.get('crop')}; input: {st.get('input_size')}; "
             f"JPEG: {st.get('jpeg')}; sampling: {st.get('sampling')}",
             f"- protocol: {st.get('protocol_source', '')}; {m.get('source', '')}",
             f"- hardware: {m.get('hardware', '')}; profile {m.get('profile', '')}; "
             f"precision {st.get('precision', 'fp32')}",
             "- AP / accuracy in %, accuracy at sigmoid > 0.5, mean = unweighted over generators"]
    if m.get("untrained"):
        lines.insert(0, f"**{UNTRAINED}.** These numbers only show that the pipeline runs.")
    return "\n".join(lines)


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """The suite table as printed: label, n, AP/acc (and r/f acc) in percent, one decimal."""
    cols = ["generator", "label", "n", "ap", "acc", "r_acc", "f_acc", "skipped"]
    shown = paper_style(table[[c for c in cols if c in table.columns]])
    if table.attrs.get("meta", {}).get("untrained"):
        shown.insert(0, "weights", "UNTRAINED")
    return shown


def write_suite_table(table: pd.DataFrame, out_dir: str | os.PathLike, stem: str) -> tuple[Path, Path]:
    """``<stem>.csv`` (fractions, all columns), ``<stem>.md`` (note + percent table), ``<stem>.meta.json``."""
    out = Path(out_dir)
    csv = atomic_write_text(out / f"{stem}.csv", table.to_csv(index=False))
    md_text = suite_note(table) + "\n\n" + display_table(table).to_markdown(index=False, floatfmt=".1f") + "\n"
    md = atomic_write_text(out / f"{stem}.md", md_text)
    atomic_write_text(out / f"{stem}.meta.json", json.dumps(table.attrs.get("meta", {}), indent=2, default=str))
    return Path(csv), Path(md)


def suites_table(detectors: Iterable = ()) -> pd.DataFrame:
    """The suites as a table (name, generators, sampling, paper tables), plus each given detector's test input.

    For every detector in ``detectors`` a column ``<name> test input`` says what its test
    pipeline does on that benchmark (resize / crop), as the detector describes it.
    """
    rows = []
    for s in SUITES.values():
        row = {"suite": s.name, "generators": ", ".join(s.generators), "n": len(s.sets),
               "sampling": "1000/1000 seed 0 (fallback 100)" if s.sampling else "all images",
               "paper tables": ", ".join(s.paper_tables) or "-"}
        for det in detectors:
            d = det.describe("test", benchmark=s.name)
            row[f"{det.name} test input"] = f"{d['resize']} / {d['crop']}"
        rows.append(row)
    return pd.DataFrame(rows)


__all__ = ["PROGAN_CLASSES", "SUITES", "Suite", "TestSet", "UNTRAINED", "display_table", "find_sets", "get_suite",
           "protocol", "run_suite", "sampling_words", "suite_note", "suites_table", "write_suite_table"]
