"""Each paper's test protocol over the published folder layout, as data: ``SUITES`` and ``run_suite``.

A *suite* is one benchmark as the papers test on it: which generator folders it holds (in
the published layout, with the folder names the download gives you), where they sit, and
whether the test sets are sub-sampled. ``dfdlab eval --suite NAME``, ``dfdlab data check``
(:func:`recognise_layouts`), the rehearsal replica (``dfdlab.data.replica``) and the
reproduction ledger use it.

======================  ==============================================  ========================================
suite                   generators (folder names)                       protocol
======================  ==============================================  ========================================
``forensynths``         the 8 GANs of NPR Table 1 / LGrad               every image
                        ``eval_test8gan.py`` (CNNDetection test set)
``forensynths13``       all 13 sets of CNNDetection ``eval_config.py``  every image
``gangen``              9 GANs of GANGen-Detection (NPR Table 2)        every image
``diffusionforensics``  8 diffusion models (NPR Table 3, DIRE data)     every image
``univfd``              UnivFD's 19 test sets (11 CNN + 8 diffusion,    1000 real / 1000 fake, seed 0, falling
                        shared real pools; ``dataset_paths.py``)        back to 100 (``validate.py``)
``aigcdetect``          AIGCDetectBenchmark's 16 (``eval_config.py``)   every image, batch size 1 (NPR README)
``genimage``            GenImage's 7 test generators of NPR's README    every image
======================  ==============================================  ========================================

Layouts are data: a :class:`TestSet` names its folder, its class sub-folders (pooled), the
release folder that holds it (``group``), a shared real pool (``real_pool``: UnivFD's
``diffusion_datasets/laion/0_real``) and other published places (``also_at``: GenImage's
own download); a :class:`Suite` adds the searched sub-folders and the accepted label-folder
names. :func:`locate_sets` turns them into folders, or names what is missing.

The preprocessing is the detector's: :func:`protocol` asks it for its test pipeline on the
benchmark (``detector.transform("test", benchmark=suite.detector_benchmark)``) and for its
settings in words (``detector.describe``). Only NPR's official test pipeline changes per
benchmark (``dfdlab.detectors.npr.DETECTION_TESTS``: native size on GANGen-Detection and
AIGCDetectBenchmark, ``translate_duplicate`` + CenterCrop on GenImage, 256x256 on the
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

from .config import REHEARSAL_LABEL, profile, rehearsal
from .data.folders import LABEL_FOLDERS, ForenSynths
from .detectors.univfd import univfd_subset
from .evaluate import evaluate, paper_style
from .files import atomic_write_text, sha256sum
from .health import hardware
from .results import results_dir

#: The 20 LSUN classes of the ProGAN test set (CNNDetection ``CNN_synth_testset``).
PROGAN_CLASSES = ("airplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
                  "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
                  "tvmonitor")
#: Class folders of the other multi-class generators of ``CNN_synth_testset``.
STYLEGAN_CLASSES = ("bedroom", "car", "cat")
STYLEGAN2_CLASSES = ("car", "cat", "church", "horse")
CYCLEGAN_CLASSES = ("apple", "horse", "orange", "summer", "winter", "zebra")
#: GenImage's own download: ``nature`` holds the ImageNet photos, ``ai`` the generated images.
GENIMAGE_LABEL_FOLDERS = ("nature", "ai")

UNTRAINED = "UNTRAINED (no checkpoint): a pipeline smoke test, not a result"


@dataclass(frozen=True)
class TestSet:
    """One generator folder of a suite, as the published archive lays it out.

    ``<search>/<folder>/{0_real,1_fake}``, or ``<search>/<folder>/<class>/{0_real,1_fake}`` for a
    multi-class generator (``classes``, pooled as the official ``ConcatDataset``). ``real_pool``
    names a folder of shared real images beside it (UnivFD ``dataset_paths.py``: the diffusion
    sets hold only ``1_fake``; their reals are ``diffusion_datasets/laion/0_real`` or
    ``imagenet/0_real``); it is used when the set has no ``0_real`` of its own (NPR's copy of
    the same sets has one). ``group`` is the folder of the release that holds the set
    (``test`` for ``CNN_synth_testset.zip``, ``diffusion_datasets`` for UnivFD's zip), and
    ``also_at`` lists other published places of it relative to a search folder (GenImage's own
    download, ``ADM/imagenet_ai_0508_adm/val``).
    """

    __test__ = False  # not a pytest test class, despite the name

    folder: str
    label: str  # the heading the paper prints
    classes: tuple = ()  # sub-folders of a multi-class generator (pooled, as the official ConcatDataset)
    paper_key: str | None = None  # generator key in dfdlab.paper_results when it differs from the folder
    real_pool: str | None = None  # shared real pool beside the set: <pool>/0_real (UnivFD diffusion_datasets)
    group: str = ""  # the release's folder holding the set (a member of Suite.search)
    also_at: tuple = ()  # other published paths of the set, relative to a search folder


@dataclass(frozen=True)
class Suite:
    """A benchmark's test protocol and published layout (see the module docstring).

    ``benchmark`` is the key the detectors know (``detector.transform("test", benchmark=...)``,
    default ``name``): two suites over the same images share it (``forensynths`` and
    ``forensynths13``). ``label_folders`` lists the accepted ``(real, fake)`` folder names, the
    first preferred. ``batch_size`` is the protocol's, when it fixes one (AIGCDetectBenchmark:
    1, NPR README).
    """

    name: str
    title: str
    sets: tuple  # TestSet, in the order the paper prints them
    layout: str  # the published layout, in words
    search: tuple = ("",)  # sub-folders of the root searched for the generator folders
    sampling: dict | None = None  # UnivFD: {"max_sample": 1000, "seed": 0, "fallback": 100}
    paper_tables: tuple = ()  # keys of dfdlab.paper_results.TABLES
    source: str = ""
    notes: str = ""
    benchmark: str | None = None  # the detectors' benchmark key (default: name)
    label_folders: tuple = (LABEL_FOLDERS,)  # accepted (real, fake) folder-name pairs
    batch_size: int | None = None  # the protocol's batch size, when it fixes one
    assets: tuple = ()  # dfdlab.hub dataset assets that hold the suite's folders

    @property
    def generators(self) -> list[str]:
        """The generator folder names, in the paper's order (the rows of the suite's table)."""
        return [s.folder for s in self.sets]

    @property
    def detector_benchmark(self) -> str:
        return self.benchmark or self.name

    @property
    def real_pools(self) -> list[str]:
        """The shared real pools of the suite (``laion``, ``imagenet`` for UnivFD), in first-use order."""
        return list(dict.fromkeys(t.real_pool for t in self.sets if t.real_pool))


def _cnn(folder: str, label: str, classes: tuple = (), **kw) -> TestSet:
    """A generator of CNNDetection's ``CNN_synth_testset.zip`` (it unzips to ``<gen>/...``)."""
    return TestSet(folder, label, classes, group="test", **kw)


#: CNNDetection ``eval_config.py``: the 13 sets of ``CNN_synth_testset.zip`` in its order.
_CNN_SETS = {t.folder: t for t in (
    _cnn("progan", "ProGAN", PROGAN_CLASSES), _cnn("stylegan", "StyleGAN", STYLEGAN_CLASSES),
    _cnn("biggan", "BigGAN"), _cnn("cyclegan", "CycleGAN", CYCLEGAN_CLASSES), _cnn("stargan", "StarGAN"),
    _cnn("gaugan", "GauGAN"), _cnn("crn", "CRN"), _cnn("imle", "IMLE"), _cnn("seeingdark", "SITD"),
    _cnn("san", "SAN"), _cnn("deepfake", "Deepfake"), _cnn("stylegan2", "StyleGAN2", STYLEGAN2_CLASSES),
    _cnn("whichfaceisreal", "WFIR"),
)}
#: Where the CNNDetection test set sits below a suite root: the root itself, ``test/`` (the
#: repository's ``dataset/test``), NPR's ``ForenSynths_test`` and the dfdlab data folder.
_CNN_SEARCH = ("", "test", "dataset/test", "CNN_synth_testset", "Generalization_Test/ForenSynths_test",
               "ForenSynths/test")

_FS = Suite(
    name="forensynths",
    title="ForenSynths (CNNDetection test set), 8 GANs of NPR Table 1 / LGrad eval_test8gan.py",
    sets=tuple(_CNN_SETS[g] for g in ("progan", "stylegan", "stylegan2", "biggan", "cyclegan", "stargan", "gaugan",
                                      "deepfake")),
    layout="<root>/<gen>/{0_real,1_fake} or <root>/<gen>/<class>/{0_real,1_fake} (CNN_synth_testset.zip)",
    search=_CNN_SEARCH,
    paper_tables=("npr_table1", "lgrad_4class"),
    source="NPR test.py DetectionTests['ForenSynths']; LGrad CNNDetection/eval_test8gan.py",
    notes="CNNDetection's eval.py tests 13 sets (suite forensynths13); the NPR/LGrad tables use these 8.",
    assets=("forensynths-test",),
)

_FS13 = Suite(
    name="forensynths13",
    title="ForenSynths (CNNDetection test set), all 13 sets of CNNDetection eval_config.py",
    sets=tuple(_CNN_SETS.values()),
    layout=_FS.layout,
    search=_CNN_SEARCH,
    source="CNNDetection eval_config.py (vals, multiclass) + eval.py",
    notes="The 11 CNN sets of UnivFD's table, StyleGAN2 and whichfaceisreal; the same images as forensynths, "
          "so a detector tests them with its forensynths pipeline.",
    benchmark="forensynths",
    assets=("forensynths-test",),
)

_GANGEN = Suite(
    name="gangen",
    title="GANGen-Detection, 9 GANs (NPR Table 2)",
    sets=tuple(TestSet(g, g) for g in ("AttGAN", "BEGAN", "CramerGAN", "InfoMaxGAN", "MMDGAN", "RelGAN", "S3GAN",
                                       "SNGAN", "STGAN")),
    layout="<root>/<GAN>/{0_real,1_fake} (GANGen-Detection Google Drive folder, extracted)",
    search=("", "test", "GANGen-Detection", "Generalization_Test/GANGen-Detection"),
    paper_tables=(),
    source="NPR test.py DetectionTests['GANGen-Detection']",
    notes="Native size for NPR: odd sizes are trimmed (NPR README patch), images of different sizes are scored "
          "in groups of equal shape (= batch size 1). dfdlab holds no published Table 2 numbers.",
    assets=("gangen",),
)

_DF = Suite(
    name="diffusionforensics",
    title="DiffusionForensics (DIRE), 8 diffusion models (NPR Table 3)",
    sets=(TestSet("adm", "ADM"), TestSet("ddpm", "DDPM"), TestSet("iddpm", "IDDPM"), TestSet("ldm", "LDM"),
          TestSet("pndm", "PNDM"), TestSet("sdv1_new", "SD v1", paper_key="sdv1"), TestSet("sdv2", "SD v2"),
          TestSet("vqdiffusion", "VQ-Diffusion")),
    layout="<root>/<model>/{0_real,1_fake} (NPR's arrangement of DIRE's DiffusionForensics)",
    search=("", "test", "DiffusionForensics", "Generalization_Test/DiffusionForensics"),
    paper_tables=("npr_table3",),
    source="NPR test.py DetectionTests['DiffusionForensics']",
    assets=("diffusionforensics",),
)


def _diffusion(folder: str, label: str, pool: str = "laion") -> TestSet:
    """A set of UnivFD's ``diffusion_datasets``: fakes in ``<set>/1_fake``, reals in ``<pool>/0_real``."""
    return TestSet(folder, label, real_pool=pool, group="diffusion_datasets")


_UFD = Suite(
    name="univfd",
    title="UnivFD's 19 test sets (CNNDetection test set + diffusion_datasets), validate.py protocol",
    sets=tuple(_CNN_SETS[g] for g in ("progan", "cyclegan", "biggan", "stylegan", "gaugan", "stargan"))
    + (_cnn("deepfake", "Deepfakes"),) + tuple(_CNN_SETS[g] for g in ("seeingdark", "san", "crn", "imle"))
    + (_diffusion("guided", "Guided", pool="imagenet"), _diffusion("ldm_200", "LDM200"),
       _diffusion("ldm_200_cfg", "LDM200cfg"), _diffusion("ldm_100", "LDM100"),
       _diffusion("glide_100_27", "Glide100-27"), _diffusion("glide_50_27", "Glide50-27"),
       _diffusion("glide_100_10", "Glide100-10"), _diffusion("dalle", "DALL-E")),
    layout="the 11 CNN sets as CNN_synth_testset.zip unzips (<root>/test/<gen>/...), the 8 diffusion sets as "
           "UnivFD's zip unzips: <root>/diffusion_datasets/<set>/1_fake with the shared real pools "
           "diffusion_datasets/laion/0_real and diffusion_datasets/imagenet/0_real (guided); a set that holds "
           "its own 0_real (NPR's copy) uses it",
    search=_CNN_SEARCH + ("diffusion_datasets", "UnivFD/diffusion_datasets", "Generalization_Test/UniversalFakeDetect",
                          "UniversalFakeDetect"),
    sampling={"max_sample": 1000, "seed": 0, "fallback": 100},
    paper_tables=("univfd_lc",),
    source="UnivFD validate.py + dataset_paths.py (real_path/fake_path, set_seed(0), shuffle, 1000/1000, "
           "fallback 100); NPR test.py DetectionTests['UniversalFakeDetect']",
    notes="The subset follows os.walk order, as validate.py: it is the official subset only on the same "
          "filesystem. The laion pool serves seven sets: its reals are scored with each. NPR's Table 4 scored "
          "the 8 diffusion sets without sub-sampling (run_suite(..., sampling=False)).",
    assets=("forensynths-test", "univfd-diffusion"),
)

#: AIGCDetectBenchmark ``eval_config.py`` (``vals``): 16 sets below one ``test`` folder.
_AIGC = Suite(
    name="aigcdetect",
    title="AIGCDetectBenchmark, 16 generators (NPR README, model_epoch_last_3090.pth)",
    sets=(TestSet("progan", "ProGAN"), TestSet("stylegan", "StyleGAN"), TestSet("biggan", "BigGAN"),
          TestSet("cyclegan", "CycleGAN"), TestSet("stargan", "StarGAN"), TestSet("gaugan", "GauGAN"),
          TestSet("stylegan2", "StyleGAN2"), TestSet("whichfaceisreal", "WFIR"),
          TestSet("ADM", "ADM", paper_key="adm"), TestSet("Glide", "Glide", paper_key="glide"),
          TestSet("Midjourney", "Midjourney", paper_key="midjourney"),
          TestSet("stable_diffusion_v_1_4", "SDv1.4", paper_key="sdv1.4"),
          TestSet("stable_diffusion_v_1_5", "SDv1.5", paper_key="sdv1.5"), TestSet("VQDM", "VQDM", paper_key="vqdm"),
          TestSet("wukong", "Wukong"), TestSet("DALLE2", "DALLE2", paper_key="dalle2")),
    layout="<root>/<gen>/{0_real,1_fake}; class sub-folders below a generator are pooled (test.zip of the "
           "AIGCDetectBenchmark release, unzipped)",
    search=("", "test", "AIGCDetect_testset", "AIGCDetect_testset/test", "AIGCDetectBenchmark/test"),
    paper_tables=("npr_aigcdetect",),
    source="AIGCDetectBenchmark eval_config.py (vals) + eval_all.py; NPR README (no_resize, no_crop, batch_size 1, "
           "odd-size trim)",
    notes="Native size, batch size 1: every image is scored on its own. The official loader walks every 0_real / "
          "1_fake below a generator, so class sub-folders, when present, are pooled.",
    batch_size=1,
    assets=("aigcdetect",),
)


def _genimage(folder: str, label: str, released: str, inner: str) -> TestSet:
    """A GenImage test set in NPR's arrangement (``test/<gen>/{0_real,1_fake}``), or GenImage's own download
    (``<released>/<inner>/val/{nature,ai}``: the val split is GenImage's test set)."""
    return TestSet(folder, label, paper_key=folder.lower(), also_at=(f"{released}/{inner}/val", f"{inner}/val"))


_GENIMAGE = Suite(
    name="genimage",
    title="GenImage, 7 test generators, NPR trained on SD v1.4 (NPR README: translate_duplicate, seed 70)",
    sets=(_genimage("ADM", "ADM", "ADM", "imagenet_ai_0508_adm"),
          _genimage("biggan", "BigGAN", "BigGAN", "imagenet_ai_0419_biggan"),
          _genimage("glide", "Glide", "glide", "imagenet_glide"),
          _genimage("midjourney", "Midjourney", "Midjourney", "imagenet_midjourney"),
          _genimage("sdv5", "SDv1.5", "stable_diffusion_v_1_5", "imagenet_ai_0424_sdv5"),
          _genimage("vqdm", "VQDM", "VQDM", "imagenet_ai_0419_vqdm"),
          _genimage("wukong", "Wukong", "wukong", "imagenet_ai_0424_wukong")),
    layout="NPR's arrangement <root>/test/<gen>/{0_real,1_fake} (train.py vals), or GenImage's own download "
           "<root>/<Generator>/<imagenet_ai_...>/val/{nature,ai} (nature = real, ai = fake)",
    search=("", "test", "GenImage", "GenImage/test"),
    paper_tables=("npr_genimage",),
    source="NPR README, GenImage section (translate_duplicate instead of the resize, CenterCrop 224 at test, "
           "train.py vals/multiclass); GenImage README (ai / nature)",
    notes="The released inner folder names (imagenet_ai_0508_adm, ...) are those the GenImage archives unpack to; "
          "GenImage's README shows only the outer ones. SD v1.4 is the training generator, not a test row. The "
          "published NPR model for this table (asset npr-genimage-sdv4) was trained with seed 70, one epoch, "
          "translate_duplicate in place of the resize at train time too; dfdlab has no training recipe for it.",
    label_folders=(LABEL_FOLDERS, GENIMAGE_LABEL_FOLDERS),
    assets=("genimage",),
)

#: The suites by name (``dfdlab eval --suite NAME``).
SUITES: dict[str, Suite] = {s.name: s for s in (_FS, _FS13, _GANGEN, _DF, _UFD, _AIGC, _GENIMAGE)}


def get_suite(name: str | Suite) -> Suite:
    if isinstance(name, Suite):
        return name
    if name not in SUITES:
        raise KeyError(f"unknown suite {name!r}; known: {', '.join(SUITES)}")
    return SUITES[name]


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class SetFolders:
    """Where one test set's images are: its own folder, and the shared real pool it reads (or ``None``).

    ``labels`` are the ``(real, fake)`` folder names found there (``0_real``/``1_fake``, or
    GenImage's ``nature``/``ai``).
    """

    folder: Path
    real_pool: Path | None = None
    labels: tuple = LABEL_FOLDERS

    def dataset(self, transform=None, generator: str | None = None) -> ForenSynths:
        """The set as one dataset: ``ForenSynths`` over the folder, with the pool's reals when it has one."""
        if self.real_pool is not None:
            return ForenSynths.with_real_pool(self.folder, self.real_pool, transform, generator=generator)
        return ForenSynths(self.folder, transform=transform, generator=generator, label_folders=self.labels)


def _holds(folder: Path, name: str) -> bool:
    return (folder / name).is_dir()


def _set_labels(s: Suite, folder: Path) -> tuple | None:
    """The accepted label-folder pair found in ``folder`` or in its class sub-folders, else ``None``."""
    groups = [folder] + [d for d in sorted(folder.iterdir()) if d.is_dir()] if folder.is_dir() else []
    for pair in s.label_folders:
        if any(_holds(g, name) for g in groups for name in pair):
            return pair
    return None


def _locate_one(s: Suite, t: TestSet, root: Path) -> tuple[SetFolders | None, str]:
    """``(SetFolders, "")`` for one set, or ``(None, what is missing)``."""
    places = [root / sub / t.folder for sub in s.search] + [root / sub / alt for sub in s.search for alt in t.also_at]
    places = [p for p in places if p.is_dir()]
    # a place that holds label folders wins over a same-named folder that does not (GenImage's ADM/)
    folder = next((p for p in places if _set_labels(s, p)), places[0] if places else None)
    if folder is None:
        return None, "folder"
    labels = _set_labels(s, folder) or s.label_folders[0]
    if t.real_pool and not _holds(folder, labels[0]) and not any(
            _holds(d, labels[0]) for d in folder.iterdir() if d.is_dir()):
        pool = folder.parent / t.real_pool
        if not _holds(pool, labels[0]):
            return None, f"real pool {pool}/{labels[0]}"
        return SetFolders(folder, pool, labels), ""
    return SetFolders(folder, None, labels), ""


def locate_sets(suite: str | Suite, root: str | os.PathLike,
                generators: Sequence[str] | None = None) -> dict[str, SetFolders]:
    """``{generator: SetFolders}`` for the suite's generators under ``root`` (searched in ``suite.search``).

    A set with a ``real_pool`` and no real folder of its own reads the pool beside it
    (UnivFD's ``diffusion_datasets/laion/0_real``). Raises ``FileNotFoundError`` naming every
    missing generator folder or pool and saying how to run on a subset (``generators=[...]``,
    ``--generators a,b``).
    """
    s = get_suite(suite)
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"suite {s.name}: data root {root} does not exist; expected {s.layout}")
    wanted = list(generators) if generators else s.generators
    unknown = [g for g in wanted if g not in s.generators]
    if unknown:
        raise KeyError(f"suite {s.name} has no generator(s) {unknown}; its generators: {', '.join(s.generators)}")
    by_folder = {t.folder: t for t in s.sets}
    found, missing = {}, []
    for g in wanted:
        hit, what = _locate_one(s, by_folder[g], root)
        if hit is None:
            missing.append(g if what == "folder" else f"{g} ({what})")
        else:
            found[g] = hit
    if missing:
        where = ", ".join(str(root / sub) if sub else str(root) for sub in s.search)
        raise FileNotFoundError(
            f"suite {s.name}: {len(missing)} generator folder(s) missing under {root} (searched {where}): "
            f"{', '.join(missing)}. Expected layout: {s.layout}. To run on the folders you have, pass "
            f"generators=[...] (CLI: --generators {','.join(found) or 'a,b'})")
    return found


def find_sets(suite: str | Suite, root: str | os.PathLike, generators: Sequence[str] | None = None) -> dict[str, Path]:
    """``{generator: folder}``: each set's own folder (see :func:`locate_sets`, which also gives its real pool)."""
    return {g: f.folder for g, f in locate_sets(suite, root, generators).items()}


@dataclass
class LayoutMatch:
    """How far a folder matches one suite's published layout (:func:`recognise_layouts`)."""

    suite: str
    found: dict  # {generator: SetFolders}
    missing: dict  # {generator: what is missing ("folder" or the real pool)}

    @property
    def complete(self) -> bool:
        return not self.missing

    def __str__(self) -> str:
        s = get_suite(self.suite)
        n = len(s.sets)
        line = f"{self.suite}: {len(self.found)} of {n} sets found ({s.title})"
        if self.missing:
            parts = [g if w == "folder" else f"{g} (needs {w})" for g, w in self.missing.items()]
            line += f"; missing: {', '.join(parts)}"
        pools = sorted({str(f.real_pool) for f in self.found.values() if f.real_pool is not None})
        if pools:
            line += f"; shared real pools: {', '.join(pools)}"
        if self.missing and s.assets:
            line += f"; to get the data: dfdlab assets --fetch {' '.join(s.assets)}"
        return line


def recognise_layouts(root: str | os.PathLike) -> list[LayoutMatch]:
    """The suites whose published layout ``root`` holds at least one set of, best match first.

    Each :class:`LayoutMatch` says which sets were found (with the shared real pools they
    read) and what is missing (a set's folder, or the real pool a fake-only set needs).
    ``dfdlab data check`` prints them after the folder check.
    """
    root = Path(root).expanduser()
    matches = []
    for s in SUITES.values():
        found, missing = {}, {}
        for t in s.sets:
            hit, what = _locate_one(s, t, root)
            if hit is None:
                missing[t.folder] = what
            else:
                found[t.folder] = hit
        if found:
            matches.append(LayoutMatch(s.name, found, missing))
    return sorted(matches, key=lambda m: (len(m.missing) > 0, -len(m.found), len(m.missing)))


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

    The transform is ``detector.transform("test", benchmark=suite.detector_benchmark)``; ``settings`` holds
    ``resize``, ``crop``, ``normalisation``, ``input_size``, ``transform`` and
    ``protocol_source`` from ``detector.describe("test", suite.name)``, plus the suite's
    ``jpeg`` (none: the published images as they are) and ``sampling``, in words, for the CSV,
    the markdown note and the ledger.
    """
    s = get_suite(suite)
    tf = detector.transform("test", benchmark=s.detector_benchmark)
    d = detector.describe("test", benchmark=s.detector_benchmark)
    settings = {k: d[k] for k in ("resize", "crop", "normalisation", "input_size", "transform", "protocol_source")}
    settings.update(jpeg="none (as published)", sampling=sampling_words(s, sampling))
    return tf, settings


# --------------------------------------------------------------------------- running


def _weights_label(checkpoint) -> tuple[str, str]:
    if checkpoint is None:
        return UNTRAINED, ""
    p = Path(checkpoint)
    # a rehearsal's checkpoints are the replica's random weights (dfdlab.data.replica)
    return (f"{REHEARSAL_LABEL}: " if rehearsal() else "") + f"checkpoint {p.name}", sha256sum(p)


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
    skipped_csv: str | os.PathLike | None = None,
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
        batch_size: used unless the suite's protocol fixes one (AIGCDetectBenchmark: 1).
        skipped_csv: also list the unreadable files there (``.attrs["skipped"]`` always holds them).

    Returns ``dfdlab.evaluate.evaluate``'s table (fractions) with ``suite``, ``label``,
    ``paper_key``, ``weights`` and the protocol settings as columns, one row per generator in
    the paper's order plus "mean". ``.attrs`` holds ``meta``, ``csv``, ``markdown``.
    """
    s = get_suite(suite)
    det_name = getattr(detector, "name", "") or type(detector).__name__
    stem = name or f"suite_{s.name}_{det_name}"
    out = None if out_dir is False else Path(out_dir) if out_dir is not None else results_dir() / "suites"
    if skipped_csv is None and out is not None:
        skipped_csv = out / f"{stem}_skipped.csv"  # written only when a file was skipped
    tf, settings = protocol(detector, s, sampling=sampling)
    sets, fell_back = _suite_sets(s, locate_sets(s, root, generators), tf, sampling)
    table = evaluate(detector, sets, batch_size=s.batch_size or batch_size, device=device, num_workers=num_workers,
                     progress=progress, amp=amp, skipped_csv=skipped_csv)
    weights, sha = _weights_label(checkpoint)
    _label_rows(table, s, det_name, settings, weights, sha, fell_back)
    table.attrs["meta"] = {
        "kind": "suite", "suite": s.name, "suite_title": s.title, "detector": det_name,
        "paper": getattr(detector, "paper", ""), "paper_method": getattr(detector, "paper_method", "") or None,
        "paper_tables": list(s.paper_tables), "root": str(Path(root)), "weights": weights,
        "batch_size": s.batch_size or batch_size, "skipped": [str(b.path) for b in table.attrs.get("skipped", [])],
        "checkpoint": str(checkpoint) if checkpoint else None, "checkpoint_sha256": sha,
        "untrained": checkpoint is None, "settings": settings, "hardware": hardware(),
        "data": data_note or (f"{REHEARSAL_LABEL}: a miniature replica of the published layout ({s.layout})"
                              if rehearsal() else f"published layout: {s.layout}"), "source": s.source,
        "rehearsal": rehearsal(),
        "model": detector.summary(), "profile": profile(),
    }
    if out is not None:
        csv, md = write_suite_table(table, out, stem)
        table.attrs["csv"], table.attrs["markdown"] = csv, md
    return table


def _suite_sets(s: Suite, folders: dict[str, SetFolders], tf, sampling: bool) -> tuple[dict, dict]:
    """One dataset per generator, sub-sampled as the suite's protocol says (UnivFD ``validate.py``)."""
    sets, fell_back = {}, {}
    for g, where in folders.items():
        sets[g] = where.dataset(transform=tf, generator=g)
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
    if m.get("rehearsal"):
        lines.insert(0, f"**{REHEARSAL_LABEL.upper()}.** These numbers only show that the pipeline runs.")
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
            d = det.describe("test", benchmark=s.detector_benchmark)
            row[f"{det.name} test input"] = f"{d['resize']} / {d['crop']}"
        rows.append(row)
    return pd.DataFrame(rows)


__all__ = ["GENIMAGE_LABEL_FOLDERS", "LayoutMatch", "PROGAN_CLASSES", "SUITES", "SetFolders", "Suite", "TestSet",
           "UNTRAINED", "display_table", "find_sets", "get_suite", "locate_sets", "protocol", "recognise_layouts",
           "run_suite", "sampling_words", "suite_note", "suites_table", "write_suite_table"]
