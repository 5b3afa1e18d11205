"""Each paper's test protocol over the published folder layout, as data: ``SUITES`` and ``run_suite``.

A *suite* is one benchmark as the papers test on it (PAPERS.md §0, §1.1, §1.4, §2.4, §3.4):
which generator folders it holds (in the published layout, with the folder names the
download gives you), how each detector's test pipeline is set for it, and whether the test
sets are sub-sampled. ``dfdlab eval --suite NAME`` and the reproduction ledger use it.

=====================  =============================================  =========================================
suite                  generators (folder names)                       protocol
=====================  =============================================  =========================================
``forensynths``        the 8 GANs of NPR Table 1 / LGrad              NPR: Resize((256,256)), no crop
                       ``eval_test8gan.py`` (CNNDetection test set)   (``test.py`` ``DetectionTests``)
``gangen``             9 GANs of GANGen-Detection (NPR Table 2)        NPR: native size (no_resize, no_crop)
``diffusionforensics`` 8 diffusion models (NPR Table 3, DIRE data)     NPR: Resize((256,256)), no crop
``univfd``             UnivFD's 19 test sets (11 CNN + 8 diffusion)    1000 real / 1000 fake, seed 0, falling
                       ``dataset_paths.py``                            back to 100 (``validate.py``)
=====================  =============================================  =========================================

Every other detector keeps its own paper's test pipeline in every suite (the official
evaluation scripts do not change it per benchmark): UnivFD native ``CenterCrop(224)``
(``validate.py``), LGrad 256x256 discriminator input and the full 256x256 gradient image
(``eval_test8gan.py``), CNNDetection ``no_resize`` + ``CenterCrop(224)`` (``eval.py``).
Native-size inputs of different sizes are batched by shape in ``dfdlab.evaluate`` (exactly
batch size 1 with BN in eval mode), and NPR trims odd sizes (the README patch).

Scores from a detector that was not given a checkpoint are labelled **UNTRAINED** in every
row, in the markdown note and in the ledger: they test the pipeline, they are not results.
"""

from __future__ import annotations

import json
import os
import platform
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

#: The 20 LSUN classes of the ProGAN test set (CNNDetection ``CNN_synth_testset``).
PROGAN_CLASSES = ("airplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
                  "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
                  "tvmonitor")

#: Detector name -> the method name the papers' tables use (``dfdlab.paper_results``).
PAPER_METHOD = {"npr": "NPR", "lgrad": "LGrad", "ufd": "UnivFD"}

UNTRAINED = "UNTRAINED (no checkpoint): a pipeline smoke test, not a result"


@dataclass(frozen=True)
class TestSet:
    """One generator folder of a suite: ``<root>/<folder>/{0_real,1_fake}`` or ``<root>/<folder>/<class>/{...}``."""

    folder: str
    label: str  # the heading the paper prints
    classes: tuple = ()  # sub-folders of a multi-class generator (pooled, as the official ConcatDataset)
    paper_key: str | None = None  # generator key in dfdlab.paper_results when it differs from the folder


@dataclass(frozen=True)
class Suite:
    """A benchmark's test protocol (see the module docstring)."""

    name: str
    title: str
    sets: tuple  # TestSet, in the order the paper prints them
    npr_setting: str  # key of dfdlab.data.transforms.NPR_TEST_SETTINGS
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
    npr_setting="forensynths",
    layout="<root>/<gen>/{0_real,1_fake} or <root>/<gen>/<class>/{0_real,1_fake} (CNN_synth_testset.zip)",
    search=("", "test"),
    paper_tables=("npr_table1", "lgrad_4class"),
    source="NPR test.py DetectionTests['ForenSynths'] (no_resize=False, no_crop=True); LGrad eval_test8gan.py; "
           "PAPERS.md §0, §1.1, §3.4",
    notes="CNNDetection's eval.py tests 13 sets; the NPR/LGrad tables use these 8.",
)

_GANGEN = Suite(
    name="gangen",
    title="GANGen-Detection, 9 GANs (NPR Table 2)",
    sets=tuple(TestSet(g, g) for g in ("AttGAN", "BEGAN", "CramerGAN", "InfoMaxGAN", "MMDGAN", "RelGAN", "S3GAN",
                                       "SNGAN", "STGAN")),
    npr_setting="gangen",
    layout="<root>/<GAN>/{0_real,1_fake} (GANGen-Detection Google Drive folder, extracted)",
    search=("", "test"),
    paper_tables=(),
    source="NPR test.py DetectionTests['GANGen-Detection'] (no_resize=True, no_crop=True); PAPERS.md §1.1",
    notes="Native size: odd sizes are trimmed by NPR (README patch), images of different sizes are scored in "
          "groups of equal shape (= batch size 1). dfdlab holds no published Table 2 numbers.",
)

_DF = Suite(
    name="diffusionforensics",
    title="DiffusionForensics (DIRE), 8 diffusion models (NPR Table 3)",
    sets=(TestSet("adm", "ADM"), TestSet("ddpm", "DDPM"), TestSet("iddpm", "IDDPM"), TestSet("ldm", "LDM"),
          TestSet("pndm", "PNDM"), TestSet("sdv1_new", "SD v1", paper_key="sdv1"), TestSet("sdv2", "SD v2"),
          TestSet("vqdiffusion", "VQ-Diffusion")),
    npr_setting="diffusionforensics",
    layout="<root>/<model>/{0_real,1_fake} (NPR's arrangement of DIRE's DiffusionForensics)",
    search=("", "test"),
    paper_tables=("npr_table3",),
    source="NPR test.py DetectionTests['DiffusionForensics'] (no_resize=False, no_crop=True); PAPERS.md §1.1, §1.4",
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
    npr_setting="univfd",
    layout="<root>/<set>/{0_real,1_fake}; the 11 CNN sets may sit in <root>/test (datasets/test) and the "
           "8 diffusion sets in <root>/diffusion_datasets",
    search=("", "test", "datasets/test", "diffusion_datasets"),
    sampling={"max_sample": 1000, "seed": 0, "fallback": 100},
    paper_tables=("univfd_lc",),
    source="UnivFD validate.py + dataset_paths.py (set_seed(0), shuffle, 1000/1000, fallback 100); NPR "
           "DetectionTests['UniversalFakeDetect'] (resize 256, no crop); PAPERS.md §2.4",
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


class SampledSet:
    """A test set after UnivFD's sub-sampling: ``.samples`` [(Path, label)], ``.generator``, PIL loading.

    A map-style dataset (``__len__``/``__getitem__``), so ``torch.utils.data.DataLoader`` takes it.
    """

    def __init__(self, samples, transform=None, generator: str = "", fell_back: bool = False, max_sample: int = 0):
        self.samples = [(Path(p), int(y)) for p, y in samples]
        self.targets = [y for _, y in self.samples]
        self.transform, self.generator = transform, generator
        self.fell_back, self.max_sample = fell_back, max_sample

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        from .data import load_rgb

        path, label = self.samples[i]
        img = load_rgb(path)
        return (self.transform(img) if self.transform is not None else img), label


def univfd_sampled(folder: Path, generator: str, transform, max_sample: int = 1000, seed: int = 0,
                   fallback: int = 100) -> SampledSet:
    """UnivFD ``validate.py``: list reals/fakes in ``os.walk`` order, then ``univfd_sample`` (seed 0, 1000 -> 100).

    Reuses ``dfdlab.detectors.ufd.list_images_os_walk`` / ``univfd_sample`` (the UFD lesson's).
    """
    from .detectors.ufd import list_images_os_walk, univfd_sample

    real = list_images_os_walk(folder, must_contain="0_real")
    fake = list_images_os_walk(folder, must_contain="1_fake")
    if not real or not fake:
        raise FileNotFoundError(f"{folder}: found {len(real)} real (0_real) and {len(fake)} fake (1_fake) images; "
                                "each UnivFD test set needs both")
    s = univfd_sample(real, fake, max_sample=max_sample, seed=seed, fallback=fallback)
    return SampledSet(s.items, transform, generator, s.fell_back, s.max_sample)


# --------------------------------------------------------------------------- per-detector protocol


def _describe(tf) -> str:
    return re.sub(r" at 0x[0-9a-fA-F]+", "", re.sub(r"\s+", " ", repr(tf))).strip()


def protocol(detector, suite: str | Suite, sampling: bool = True) -> tuple[object, dict]:
    """``(test transform, settings)`` of ``detector`` on ``suite`` (PAPERS.md per table).

    ``settings`` holds ``resize``, ``crop``, ``jpeg``, ``sampling`` and ``transform`` (the
    pipeline's repr) in words, for the CSV, the markdown note and the ledger. Only NPR's
    test pipeline changes per benchmark (``NPR_TEST_SETTINGS``); the others use their own.
    """
    from .data import transforms as T

    s = get_suite(suite)
    name = getattr(detector, "name", "") or type(detector).__name__
    if name == "npr" and hasattr(detector, "sizes"):
        cfg = T.NPR_TEST_SETTINGS[s.npr_setting]
        load, crop = detector.sizes["load_size"], detector.sizes["crop_size"]
        tf = T.npr_test(load_size=load, crop_size=crop, **cfg)
        resize = "none (native size; odd sizes trimmed)" if cfg["no_resize"] else f"Resize(({load},{load})) bilinear"
        crop_s = "none" if cfg["no_crop"] else f"CenterCrop({crop})"
        src = f"NPR test.py DetectionTests ({s.npr_setting}: no_resize={cfg['no_resize']}, no_crop={cfg['no_crop']})"
    else:
        tf = detector.transform(train=False)
        src = f"{name}'s own test pipeline"
        if name == "ufd":
            resize, crop_s = "none (native)", f"CenterCrop({detector.crop_size}) (zero-pads small images)"
        elif name == "cnnspot":
            resize = "none (native)" if detector.no_resize else f"shorter side {detector.load_size}"
            crop_s = "none" if detector.no_crop else f"CenterCrop({detector.crop_size})"
        elif name == "lgrad":
            resize, crop_s = "Resize((256,256)) for the discriminator", "none (full gradient image)"
            size = getattr(detector, "size", None) or getattr(detector, "load_size", None)
            if size:
                resize = f"Resize(({size},{size})) for the discriminator"
        else:
            resize, crop_s = "see transform", "see transform"
    samp = "all images"
    if s.sampling and sampling:
        sm = s.sampling
        samp = (f"{sm['max_sample']} real + {sm['max_sample']} fake, seed {sm['seed']}, "
                f"fallback {sm['fallback']} (validate.py)")
    settings = {"resize": resize, "crop": crop_s, "jpeg": "none (as published)", "sampling": samp,
                "transform": _describe(tf), "protocol_source": src}
    return tf, settings


def hardware() -> str:
    """One line: device, CPU/GPU name, torch version (recorded beside every number)."""
    import torch

    import dfdlab

    dev = dfdlab.device()
    if dev.type == "cuda":
        what = f"cuda: {torch.cuda.get_device_name(dev)}"
    else:
        what = f"cpu: {platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    return f"{what}; torch {torch.__version__}; {platform.system()}"


# --------------------------------------------------------------------------- running


def _weights_label(detector, checkpoint) -> tuple[str, str]:
    from .files import sha256sum

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
) -> pd.DataFrame:
    """Run ``detector`` over ``suite``'s generators under ``root`` with the paper's protocol.

    Args:
        detector: a ``dfdlab.detectors`` model (already loaded; see ``checkpoint``).
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

    Returns ``dfdlab.evaluate.evaluate``'s table (fractions) with ``suite``, ``label``,
    ``paper_key``, ``weights`` and the protocol settings as columns, one row per generator in
    the paper's order plus "mean". ``.attrs`` holds ``meta``, ``csv``, ``markdown``.
    """
    from . import evaluate as ev
    from .data import ForenSynths

    s = get_suite(suite)
    det_name = getattr(detector, "name", "") or type(detector).__name__
    folders = find_sets(s, root, generators)
    tf, settings = protocol(detector, s, sampling=sampling)
    sets = {}
    for g, folder in folders.items():
        if s.sampling and sampling:
            sets[g] = univfd_sampled(folder, g, tf, **s.sampling)
        else:
            sets[g] = ForenSynths(folder, transform=tf, generator=g)
    table = ev.evaluate(detector, sets, batch_size=batch_size, device=device, num_workers=num_workers,
                        progress=progress)
    weights, sha = _weights_label(detector, checkpoint)
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
    if s.sampling and sampling:
        table["fell_back"] = [getattr(sets.get(g), "fell_back", "") for g in table["generator"]]
    meta = {
        "kind": "suite", "suite": s.name, "suite_title": s.title, "detector": det_name,
        "paper": getattr(detector, "paper", ""), "paper_method": PAPER_METHOD.get(det_name),
        "paper_tables": list(s.paper_tables), "root": str(Path(root)), "weights": weights,
        "checkpoint": str(checkpoint) if checkpoint else None, "checkpoint_sha256": sha,
        "untrained": checkpoint is None, "settings": settings, "hardware": hardware(),
        "data": data_note or f"published layout: {s.layout}", "source": s.source,
        "describe": detector.describe() if hasattr(detector, "describe") else "",
    }
    import dfdlab

    meta["profile"] = dfdlab.profile()
    table.attrs["meta"] = meta
    if out_dir is not False:
        from .results import results_dir

        out = Path(out_dir) if out_dir is not None else results_dir() / "suites"
        stem = name or f"suite_{s.name}_{det_name}"
        csv, md = write_suite_table(table, out, stem)
        table.attrs["csv"], table.attrs["markdown"] = csv, md
    return table


def suite_note(table: pd.DataFrame) -> str:
    """The lines printed above a suite's table: what ran, on what, with which settings and weights."""
    m = table.attrs.get("meta", {})
    st = m.get("settings", {})
    lines = [f"**{m.get('suite_title', m.get('suite', ''))}**: detector `{m.get('detector', '')}`"
             + (f" ({m['describe']})" if m.get("describe") else ""),
             f"- weights: {m.get('weights', '')}" + (f", sha256 {m['checkpoint_sha256']}" if m.get("checkpoint_sha256") else ""),
             f"- data: {m.get('data', '')}",
             f"- resize: {st.get('resize')}; crop: {st.get('crop')}; JPEG: {st.get('jpeg')}; sampling: {st.get('sampling')}",
             f"- protocol: {st.get('protocol_source', '')}; {m.get('source', '')}",
             f"- hardware: {m.get('hardware', '')}; profile {m.get('profile', '')}",
             "- AP / accuracy in %, accuracy at sigmoid > 0.5, mean = unweighted over generators"]
    if m.get("untrained"):
        lines.insert(0, f"**{UNTRAINED}.** These numbers only show that the pipeline runs.")
    return "\n".join(lines)


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """The suite table as printed: label, n, AP/acc (and r/f acc) in percent, one decimal."""
    from .evaluate import paper_style

    cols = ["generator", "label", "n", "ap", "acc", "r_acc", "f_acc", "skipped"]
    shown = paper_style(table[[c for c in cols if c in table.columns]])
    if table.attrs.get("meta", {}).get("untrained"):
        shown.insert(0, "weights", "UNTRAINED")
    return shown


def write_suite_table(table: pd.DataFrame, out_dir: str | os.PathLike, stem: str) -> tuple[Path, Path]:
    """``<stem>.csv`` (fractions, all columns), ``<stem>.md`` (note + percent table), ``<stem>.meta.json``."""
    from .files import atomic_write_text

    out = Path(out_dir)
    csv = atomic_write_text(out / f"{stem}.csv", table.to_csv(index=False))
    md_text = suite_note(table) + "\n\n" + display_table(table).to_markdown(index=False, floatfmt=".1f") + "\n"
    md = atomic_write_text(out / f"{stem}.md", md_text)
    atomic_write_text(out / f"{stem}.meta.json", json.dumps(table.attrs.get("meta", {}), indent=2, default=str))
    return Path(csv), Path(md)


def suites_table() -> pd.DataFrame:
    """The suites as a table (name, generators, NPR setting, sampling, paper tables)."""
    import pandas as pd

    from .data.transforms import NPR_TEST_SETTINGS

    rows = []
    for s in SUITES.values():
        cfg = NPR_TEST_SETTINGS[s.npr_setting]
        rows.append({"suite": s.name, "generators": ", ".join(s.generators), "n": len(s.sets),
                     "NPR no_resize/no_crop": f"{cfg['no_resize']}/{cfg['no_crop']}",
                     "sampling": "1000/1000 seed 0 (fallback 100)" if s.sampling else "all images",
                     "paper tables": ", ".join(s.paper_tables) or "-"})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- test trees


def shaped_tree(suite: str | Suite, source: str | os.PathLike, dest: str | os.PathLike, per_label: int = 2,
                link: bool = True) -> Path:
    """A tree shaped like ``suite``'s published layout, filled with images from ``source``.

    ``source`` is a test split in the ForenSynths layout (e.g. ``build_mini() / "test"``);
    its generators' real and fake images are dealt round-robin into every folder (and class
    sub-folder) of the suite, ``per_label`` real and fake images each, as symlinks (or
    copies with ``link=False``). Used to test the suites without the published data: the
    folder names are the real ones, the images are **not** (a ``README.txt`` says so).
    """
    import shutil

    s = get_suite(suite)
    src = Path(source)
    pools = {0: sorted(src.glob("*/0_real/*.png")), 1: sorted(src.glob("*/1_fake/*.png"))}
    if not pools[0] or not pools[1]:
        raise FileNotFoundError(f"{src} holds no <gen>/0_real/*.png and <gen>/1_fake/*.png images")
    dest = Path(dest)
    counter = {0: 0, 1: 0}
    sub = s.search[1] if len(s.search) > 1 else ""  # exercise the search path too
    for t in s.sets:
        base = dest / sub / t.folder if t.folder != s.sets[0].folder else dest / t.folder
        for cls in (t.classes or ("",)):
            for label, lab_dir in ((0, "0_real"), (1, "1_fake")):
                folder = base / cls / lab_dir
                folder.mkdir(parents=True, exist_ok=True)
                for _ in range(per_label):
                    img = pools[label][counter[label] % len(pools[label])]
                    counter[label] += 1
                    target = folder / f"{counter[label]:05d}_{img.name}"
                    if link:
                        target.symlink_to(img.resolve())
                    else:
                        shutil.copyfile(img, target)
    (dest / "README.txt").write_text(
        f"A tree shaped like the {s.name} suite ({s.layout}), filled with images from {src}. "
        "The folder names are the published ones; the images are not.\n")
    return dest


# --------------------------------------------------------------------------- the quick zoo

#: Every detector trained the same way on the mini benchmark (quick profile): the one train
#: family (``train/photos``, fakes of ``dcgan_transposed``), selected on ``val``, with the
#: paper's recipe and pipeline at mini sizes. ``build`` are the detector's keyword arguments;
#: ``epochs``/``batch_size`` override the recipe (the only change from the paper's settings).
#: ``features=True``: a frozen backbone, so the head is trained on cached features (UnivFD).
QUICK_ZOO: dict[str, dict] = {
    "cnnspot": {"build": {"load_size": 64, "crop_size": 56}, "epochs": 2, "batch_size": 64, "seed": 0,
                "note": "ResNet-50 from scratch (no ImageNet weights offline)"},
    "ufd": {"build": {"backbone": "efficientnet_lite0", "crop_size": 64}, "epochs": 100, "batch_size": 256,
            "seed": 0, "features": True,
            "note": "STAND-IN backbone: EfficientNet-Lite0 (ImageNet) instead of CLIP ViT-L/14"},
    "npr": {"build": {"load_size": 64, "crop_size": 56}, "epochs": 4, "batch_size": 32, "seed": 100,
            "note": "the official NPR network, trained from scratch as in the paper"},
    "lgrad": {"build": {"image_size": 64, "crop_size": 56}, "discriminator": "mini:dcgan_transposed", "epochs": 2,
              "batch_size": 16, "seed": 0,
              "note": "STAND-IN transformation model: the mini benchmark's DCGAN D (not the StyleGAN bedroom D); "
                      "ResNet-50 from scratch (no ImageNet weights offline)"},
}


def _zoo_kwargs(cfg: dict, root: Path) -> dict:
    """The detector's keyword arguments, with ``"mini:<gen>"`` resolved to that mini GAN's discriminator."""
    kw = dict(cfg["build"])
    d = cfg.get("discriminator")
    if isinstance(d, str) and d.startswith("mini:"):
        from .gan import load_pair

        kw["discriminator"] = load_pair(Path(root) / "models" / f"{d[5:]}.pth")[1]
    elif d is not None:
        kw["discriminator"] = d
    return kw


def zoo_dir() -> Path:
    """``DFDLAB_HOME/zoo/quick``: the quick zoo's checkpoints (``<name>/best.pth`` + ``<name>/info.json``)."""
    from .config import home

    return home() / "zoo" / "quick"


def quick_info(name: str) -> dict | None:
    """The cached quick checkpoint's record (build kwargs, epochs, seconds, sha256), or ``None``."""
    info = zoo_dir() / name / "info.json"
    if not info.exists():
        return None
    rec = json.loads(info.read_text())
    if not (zoo_dir() / name / "best.pth").exists():
        return None
    return rec


def load_quick(name: str):
    """The quick-profile detector ``name`` trained on the mini benchmark, from the cache; ``None`` if not trained."""
    from . import detectors

    rec = quick_info(name)
    if rec is None:
        return None
    model = detectors.build(name, **_zoo_kwargs(rec, Path(rec.get("mini_root", "."))))
    detectors.load_checkpoint(model, zoo_dir() / name / "best.pth")
    return model.eval()


def train_quick(name: str, root: str | os.PathLike | None = None, force: bool = False, progress: bool = False):
    """Train detector ``name`` on the mini benchmark with ``QUICK_ZOO[name]`` (or load it from the cache).

    Returns ``(model, info)``; ``info`` holds the settings, the training seconds (measured
    when it was trained), the checkpoint's sha256 and whether it came from the cache. The
    cache key is the settings plus the mini benchmark's folder (a rebuilt benchmark with
    another config lands in another folder, and retrains).
    """
    import time

    import dfdlab

    from . import detectors
    from .data import ForenSynths, build_mini
    from .files import atomic_torch_save, sha256sum
    from .train import fit, recipe

    if name not in QUICK_ZOO:
        raise KeyError(f"no quick-zoo settings for {name!r}; known: {', '.join(QUICK_ZOO)}")
    cfg = QUICK_ZOO[name]
    root = Path(root) if root is not None else build_mini()
    want = {"build": cfg["build"], "discriminator": cfg.get("discriminator"), "epochs": cfg["epochs"],
            "batch_size": cfg["batch_size"], "seed": cfg["seed"], "mini_root": str(root)}
    rec = quick_info(name)
    if rec is not None and not force and all(rec.get(k) == v for k, v in want.items()):
        model = load_quick(name)
        return model, {**rec, "from_cache": True}
    out = zoo_dir() / name
    if out.exists():
        import shutil

        shutil.rmtree(out)
    dfdlab.seed_everything(cfg["seed"])
    model = detectors.build(name, **_zoo_kwargs(cfg, root))
    r = recipe(model.recipe, epochs=cfg["epochs"], batch_size=cfg["batch_size"], seed=cfg["seed"])
    t0 = time.perf_counter()
    if cfg.get("features"):
        from .features import LinearProbe, extract_features

        train_fs = extract_features(model, ForenSynths(root / "train"), progress=progress)
        val_fs = extract_features(model, ForenSynths(root / "val"), progress=progress)
        probe = LinearProbe(model.feature_dim)
        result = fit(probe, train_fs.dataset(), val_fs.dataset(), r, out / "run", progress=progress)
        detectors.load_checkpoint(model, result.best_path)  # {'model': {'fc.weight', 'fc.bias'}}
    else:
        result = fit(model, ForenSynths(root / "train", transform=model.transform(True)),
                     ForenSynths(root / "val", transform=model.transform(False)), r, out / "run", progress=progress)
        detectors.load_checkpoint(model, result.best_path)
    seconds = time.perf_counter() - t0
    best = atomic_torch_save(model.state_dict(), out / "best.pth")
    info = {**want, "recipe": r.name, "train_seconds": round(seconds, 1), "best_epoch": result.best_epoch,
            "epochs_run": len(result.history), "checkpoint_sha256": sha256sum(best), "note": cfg.get("note", ""),
            "hardware": hardware(), "trained_at": __import__("datetime").datetime.now().isoformat(timespec="seconds")}
    from .files import atomic_write_text

    atomic_write_text(out / "info.json", json.dumps(info, indent=2))
    import shutil

    shutil.rmtree(out / "run", ignore_errors=True)  # best.pth above is all the zoo keeps
    return model.eval(), {**info, "from_cache": False}


__all__ = ["PAPER_METHOD", "PROGAN_CLASSES", "SUITES", "SampledSet", "Suite", "TestSet", "UNTRAINED",
           "display_table", "find_sets", "get_suite", "hardware", "protocol", "run_suite", "shaped_tree", "QUICK_ZOO", "zoo_dir", "quick_info", "load_quick", "train_quick", "suite_note",
           "suites_table", "univfd_sampled", "write_suite_table"]
