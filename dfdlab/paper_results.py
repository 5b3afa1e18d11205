"""The papers' published numbers as data, for side-by-side comparison with our runs.

Every value is a percentage exactly as printed (1 or 2 decimals); ``None`` where a paper
prints nothing. Each table carries its source and how sure we are of it (``confidence``:
[code]/[README] read in the official repository, [3p] quoted by a third party,
[paper, recalled] not checked against the PDF). Use ``dfdlab.evaluate.paper_table(key)``
or ``paper_table`` here; ``TABLES`` lists the keys.

Generator keys are the test-set folder names (``progan``, ``stylegan2``, ``ldm_200`` ...)
so a table joins with ``dfdlab.evaluate.evaluate``'s ``generator`` column; ``label`` is the
column heading as the paper prints it. ``mean`` is the paper's own "Mean"/"Avg" value.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class PaperTable:
    key: str
    title: str
    source: str
    confidence: str  # "[README]", "[3p]", "[paper, recalled]" ...
    generators: tuple  # ((key, label), ...) in the printed order, "mean" last
    rows: dict  # method -> {"acc": (...), "ap": (...)} aligned with generators (None = not printed)
    notes: str = ""

    def frame(self) -> pd.DataFrame:
        recs = []
        for method, vals in self.rows.items():
            for i, (gen, label) in enumerate(self.generators):
                acc = vals.get("acc")
                ap = vals.get("ap")
                recs.append({
                    "method": method, "generator": gen, "label": label,
                    "acc": None if acc is None else acc[i], "ap": None if ap is None else ap[i],
                })
        df = pd.DataFrame(recs, columns=["method", "generator", "label", "acc", "ap"])
        df[["acc", "ap"]] = df[["acc", "ap"]].astype(float)
        df.attrs.update(key=self.key, title=self.title, source=self.source, confidence=self.confidence,
                        notes=self.notes, units="percent")
        return df


_FS8 = (("progan", "ProGAN"), ("stylegan", "StyleGAN"), ("stylegan2", "StyleGAN2"), ("biggan", "BigGAN"),
        ("cyclegan", "CycleGAN"), ("stargan", "StarGAN"), ("gaugan", "GauGAN"), ("deepfake", "Deepfake"),
        ("mean", "Mean"))

_NPR_T1 = PaperTable(
    key="npr_table1",
    title="NPR Table 1: ForenSynths, trained on 4-class ProGAN (car, cat, chair, horse); Acc / AP",
    source="chuangchuangtan/NPR-DeepfakeDetection README (HTML-commented table, present since the first "
           "commit); NPR-DeepfakeDetection issue #4 quotes the same values as the paper's.",
    confidence="[README]",
    generators=_FS8,
    rows={
        "NPR": {"acc": (99.8, 96.3, 97.3, 87.5, 95.0, 99.7, 86.6, 77.4, 92.5),
                "ap": (100.0, 99.8, 100.0, 94.5, 99.5, 100.0, 88.8, 86.2, 96.1)},
        "LGrad": {"acc": (99.9, 94.8, 96.0, 82.9, 85.3, 99.6, 72.4, 58.0, 86.1),
                  "ap": (100.0, 99.9, 99.9, 90.7, 94.0, 100.0, 79.3, 67.9, 91.5)},
        "UnivFD": {"acc": (99.7, 89.0, 83.9, 90.5, 87.9, 91.4, 89.9, 80.2, 89.1),
                   "ap": (100.0, 98.7, 98.4, 99.1, 99.8, 100.0, 100.0, 90.2, 98.3)},
    },
    notes="LGrad and UnivFD rows are as quoted by NPR (LGrad: its 4-class model; UnivFD: Ojha et al.). "
          "Released NPR.pth does not reproduce BigGAN/GauGAN/Deepfake (NPR issues #4, #17).",
)

_NPR_T3 = PaperTable(
    key="npr_table3",
    title="NPR Table 3: DiffusionForensics; Acc / AP",
    source="values quoted as 'paper' in chuangchuangtan/NPR-DeepfakeDetection issue #4.",
    confidence="[3p]",
    generators=(("adm", "ADM"), ("ddpm", "DDPM"), ("iddpm", "IDDPM"), ("ldm", "LDM"), ("pndm", "PNDM"),
                ("sdv1", "SD v1"), ("sdv2", "SD v2"), ("vqdiffusion", "VQ-Diffusion"), ("mean", "Mean")),
    rows={"NPR": {"acc": (88.6, 99.8, 91.8, 100.0, 91.2, 97.4, 93.8, 100.0, None),
                  "ap": (98.9, 100.0, 99.8, 100.0, 100.0, 99.8, 100.0, 100.0, None)}},
    notes="The issue quotes no mean; it is left empty rather than recomputed.",
)

_NPR_AIGC = PaperTable(
    key="npr_aigcdetect",
    title="NPR on AIGCDetectBenchmark with model_epoch_last_3090.pth; accuracy only",
    source="chuangchuangtan/NPR-DeepfakeDetection README. LGrad's average from the same README.",
    confidence="[README]",
    generators=(("progan", "ProGAN"), ("stylegan", "StyleGAN"), ("biggan", "BigGAN"), ("cyclegan", "CycleGAN"),
                ("stargan", "StarGAN"), ("gaugan", "GauGAN"), ("stylegan2", "StyleGAN2"),
                ("whichfaceisreal", "WFIR"), ("adm", "ADM"), ("glide", "Glide"), ("midjourney", "Midjourney"),
                ("sdv1.4", "SDv1.4"), ("sdv1.5", "SDv1.5"), ("vqdm", "VQDM"), ("wukong", "Wukong"),
                ("dalle2", "DALLE2"), ("mean", "Average")),
    rows={
        "NPR": {"acc": (99.9, 96.1, 87.3, 90.3, 99.6, 85.4, 98.1, 60.7, 84.9, 96.7, 92.6, 97.4, 97.5, 90.1,
                        91.7, 99.6, 91.7)},
        "LGrad": {"acc": (None,) * 16 + (75.34,)},
    },
    notes="Native-size test (no_resize, no_crop, batch 1) with the README's odd-size trim. "
          "Issue #35 gets Midjourney 84.2 vs 92.6 even in the author's environment.",
)

_NPR_GENIMAGE = PaperTable(
    key="npr_genimage",
    title="NPR on GenImage, trained on SD v1.4 (crop 224, 1 epoch, seed 70); Acc / AP",
    source="chuangchuangtan/NPR-DeepfakeDetection README.",
    confidence="[README]",
    generators=(("adm", "ADM"), ("biggan", "BigGAN"), ("glide", "Glide"), ("midjourney", "Midjourney"),
                ("sdv5", "SDv5"), ("vqdm", "VQDM"), ("wukong", "Wukong"), ("mean", "Mean")),
    rows={"NPR": {"acc": (87.8, 80.7, 93.2, 91.7, 94.4, 88.7, 94.0, 90.1),
                  "ap": (96.0, 89.8, 99.1, 97.9, 99.9, 96.1, 99.7, 96.9)}},
)

_UFD_LC = PaperTable(
    key="univfd_lc",
    title="UnivFD (Ours, LC: CLIP ViT-L/14 + linear probe, trained on 20-class ProGAN); AP / Acc",
    source="Ojha et al. CVPR 2023, Tables 2/3 as recalled (not checked against the PDF); the 8 diffusion APs match a "
           "third-party 'published_ap' table exactly.",
    confidence="[paper, recalled]",
    generators=(("progan", "ProGAN"), ("cyclegan", "CycleGAN"), ("biggan", "BigGAN"), ("stylegan", "StyleGAN"),
                ("gaugan", "GauGAN"), ("stargan", "StarGAN"), ("deepfake", "Deepfakes"), ("seeingdark", "SITD"),
                ("san", "SAN"), ("crn", "CRN"), ("imle", "IMLE"), ("guided", "Guided"), ("ldm_200", "LDM200"),
                ("ldm_200_cfg", "LDM200cfg"), ("ldm_100", "LDM100"), ("glide_100_27", "Glide100-27"),
                ("glide_50_27", "Glide50-27"), ("glide_100_10", "Glide100-10"), ("dalle", "DALL-E"),
                ("mean", "mean")),
    rows={"UnivFD": {
        "ap": (100.0, 99.46, 99.59, 97.24, 99.98, 99.60, 82.45, 61.32, 79.02, 96.72, 99.00, 87.77, 99.14, 92.15,
               99.17, 94.74, 95.34, 94.57, 97.15, 93.38),
        "acc": (100.0, 98.50, 94.50, 82.00, 99.50, 97.00, 66.60, 63.00, 57.50, 59.50, 72.00, 70.03, 94.19, 73.76,
                94.36, 79.07, 79.85, 78.14, 86.78, 81.38),
    }},
    notes="Protocol: 1000 real + 1000 fake per set, sampled with seed 0 (100 + 100 when a class has fewer "
          "than 1000, i.e. SAN and SITD). The printed mAP is 93.38 (recalled); the mean of the 19 APs is 93.39. "
          "The acc mean 81.38 is recomputed from the 19 values. Verify against the PDF before quoting.",
)

_LGRAD_4 = PaperTable(
    key="lgrad_4class",
    title="LGrad, trained on 4-class ProGAN (car, cat, chair, horse); Acc / AP",
    source="LGrad paper values as reproduced in NPR's README table (the LGrad README has no table).",
    confidence="[README of NPR]",
    generators=_FS8,
    rows={"LGrad": {"acc": (99.9, 94.8, 96.0, 82.9, 85.3, 99.6, 72.4, 58.0, 86.1),
                    "ap": (100.0, 99.9, 99.9, 90.7, 94.0, 100.0, 79.3, 67.9, 91.5)}},
    notes="Official eval_test8gan.py prints 2 decimals; NPR's table 1. No reliable 1-/2-class numbers.",
)

TABLES: dict[str, PaperTable] = {t.key: t for t in (_NPR_T1, _NPR_T3, _NPR_AIGC, _NPR_GENIMAGE, _UFD_LC, _LGRAD_4)}


def paper_table(key: str) -> pd.DataFrame:
    """Long table ``method, generator, label, acc, ap`` (percent as printed); ``.attrs`` has title/source/notes."""
    if key not in TABLES:
        raise KeyError(f"unknown paper table {key!r}; known: {', '.join(TABLES)}")
    return TABLES[key].frame()


def paper_wide(key: str, metric: str = "acc") -> pd.DataFrame:
    """One metric as the paper lays it out: methods x generators (printed labels)."""
    df = paper_table(key)
    t = df.pivot(index="method", columns="label", values=metric)
    t = t[[lab for _, lab in TABLES[key].generators]].loc[list(TABLES[key].rows)]
    t.attrs = df.attrs
    return t


# --------------------------------------------------------------------------- across papers
@dataclass(frozen=True)
class PublishedResult:
    """One published summary number (a mean over a benchmark's sets), with the protocol it was measured under.

    Numbers from different protocols (4- vs 20-class ProGAN, threshold 0.5 vs best threshold, retrained or
    released checkpoints, JPEG-aligned or not) are not comparable; ``protocol`` says which one each is.
    ``acc`` / ``ap`` / ``auroc`` are percentages as printed, ``None`` where the source prints none.
    """

    method: str
    benchmark: str
    protocol: str
    source: str
    acc: float | None = None
    ap: float | None = None
    auroc: float | None = None
    venue: str = ""


_FS8_4CLASS = ("trained on 4-class ProGAN (car, cat, chair, horse); mean over ForenSynths' 8 GANs of Table 1; "
               "accuracy at 0.5")
_DIFF10 = "trained on 4-class ProGAN; mean over 10 diffusion subsets (UnivFD's and DIRE's test sets); accuracy at 0.5"
# Michel-liu/FatFormer README @febc24c: "Results on the GANs dataset (4-class supervision)", Mean column
# (CNNDetection printed as "Wang [48]", UnivFD as "UniFD [35]"), and "Results on the DMs dataset", Mean row.
_FATFORMER_GANS = "Michel-liu/FatFormer README, GANs table (4-class supervision), Mean column"
_FATFORMER_DMS = ("Michel-liu/FatFormer README, DMs table (4-class supervision), Mean row; the same value in the "
                  "FerretNet README figure (results_2.png)")
_AIGC16 = "AIGCDetectBenchmark: trained on ProGAN, mean accuracy over its 16 test sets"
_AIGIB2 = ("AIGIBench Setting-II: trained on SD v1.4 (GenImage) + 4-class ProGAN, every detector retrained by the "
           "benchmark's authors; mean over its test subsets; accuracy at 0.5 (UnivFD printed as UniFD)")

#: Published means that place the three papers among other detectors. Every value was read where ``source``
#: says; the ForenSynths rows of NPR, LGrad and UnivFD equal the "Mean" column of ``npr_table1``.
CROSS_PAPER: tuple[PublishedResult, ...] = (
    PublishedResult("CNNDetection", "ForenSynths (8 GANs)", _FS8_4CLASS, _FATFORMER_GANS + " (as Wang)",
                    acc=67.1, ap=86.9, venue="CVPR 2020"),
    PublishedResult("LGrad", "ForenSynths (8 GANs)", _FS8_4CLASS,
                    _FATFORMER_GANS + "; chuangchuangtan/NPR-DeepfakeDetection README (HTML-commented table)",
                    acc=86.1, ap=91.5, venue="CVPR 2023"),
    PublishedResult("UnivFD", "ForenSynths (8 GANs)", _FS8_4CLASS,
                    _FATFORMER_GANS + " (as UniFD); chuangchuangtan/NPR-DeepfakeDetection README",
                    acc=89.1, ap=98.3, venue="CVPR 2023"),
    PublishedResult("FreqNet", "ForenSynths (8 GANs)", _FS8_4CLASS, "FerretNet README figure (results_1.png)",
                    acc=91.5, ap=98.5, venue="AAAI 2024"),
    PublishedResult("NPR", "ForenSynths (8 GANs)", _FS8_4CLASS, "chuangchuangtan/NPR-DeepfakeDetection README",
                    acc=92.5, ap=96.1, venue="CVPR 2024"),
    PublishedResult("FerretNet", "ForenSynths (8 GANs)", _FS8_4CLASS,
                    "FerretNet README, docs/results/ForenSynths.txt", acc=95.9, ap=99.3, venue="NeurIPS 2025"),
    PublishedResult("FatFormer", "ForenSynths (8 GANs)", _FS8_4CLASS, _FATFORMER_GANS,
                    acc=98.4, ap=99.7, venue="CVPR 2024"),
    PublishedResult("NPR (user retrain)", "ForenSynths (8 GANs)",
                    _FS8_4CLASS + "; retrained by a user with the official command",
                    "chuangchuangtan/NPR-DeepfakeDetection issue #26", acc=79.7, ap=92.3),
    PublishedResult("UnivFD", "diffusion (10 subsets)", _DIFF10,
                    _FATFORMER_DMS,
                    acc=85.4, ap=94.6, venue="CVPR 2023"),
    PublishedResult("LGrad", "diffusion (10 subsets)", _DIFF10,
                    _FATFORMER_DMS,
                    acc=89.4, ap=97.7, venue="CVPR 2023"),
    PublishedResult("NPR", "diffusion (10 subsets)", _DIFF10,
                    "FerretNet README figure (results_2.png)",
                    acc=94.9, ap=97.3, venue="CVPR 2024"),
    PublishedResult("FatFormer", "diffusion (10 subsets)", _DIFF10, _FATFORMER_DMS,
                    acc=95.0, ap=98.8, venue="CVPR 2024"),
    PublishedResult("NPR", "AIGCDetectBenchmark (16 sets)",
                    _AIGC16 + "; NPR's model_epoch_last_3090.pth at native size",
                    "chuangchuangtan/NPR-DeepfakeDetection README", acc=91.7, venue="CVPR 2024"),
    PublishedResult("UnivFD", "AIGCDetectBenchmark (16 sets)", _AIGC16,
                    "chuangchuangtan/NPR-DeepfakeDetection README", acc=78.43, venue="CVPR 2023"),
    PublishedResult("LGrad", "AIGCDetectBenchmark (16 sets)", _AIGC16,
                    "chuangchuangtan/NPR-DeepfakeDetection README", acc=75.34, venue="CVPR 2023"),
    PublishedResult("CNNDetection", "AIGCDetectBenchmark (16 sets)", _AIGC16 + " (printed as CNNSpot)",
                    "chuangchuangtan/NPR-DeepfakeDetection README", acc=70.78, venue="CVPR 2020"),
    PublishedResult("CNNDetection", "AIGIBench Setting-II", _AIGIB2, "HorizonTEL AIGIBench README",
                    acc=54.9, ap=67.0, venue="CVPR 2020"),
    PublishedResult("LGrad", "AIGIBench Setting-II", _AIGIB2, "HorizonTEL AIGIBench README",
                    acc=62.9, ap=66.6, venue="CVPR 2023"),
    PublishedResult("NPR", "AIGIBench Setting-II", _AIGIB2, "HorizonTEL AIGIBench README",
                    acc=67.9, ap=73.9, venue="CVPR 2024"),
    PublishedResult("UnivFD", "AIGIBench Setting-II", _AIGIB2, "HorizonTEL AIGIBench README",
                    acc=72.5, ap=75.6, venue="CVPR 2023"),
    PublishedResult("AIDE", "AIGIBench Setting-II", _AIGIB2, "HorizonTEL AIGIBench README",
                    acc=77.6, ap=82.7, venue="ICLR 2025"),
    PublishedResult("Effort", "AIGIBench Setting-II", _AIGIB2, "HorizonTEL AIGIBench README",
                    acc=77.1, ap=87.2, venue="ICML 2025"),
    PublishedResult("SAFE", "AIGIBench Setting-II", _AIGIB2, "HorizonTEL AIGIBench README",
                    acc=78.1, ap=83.6, venue="KDD 2025"),
    PublishedResult("Effort", "UnivFD test suite (19 sets)",
                    "UnivFD's protocol: trained on 20-class ProGAN; mean over the 19 sets; accuracy at 0.5",
                    "YZY-stack/Effort-AIGI-Detection results files", acc=95.17, ap=99.34, venue="ICML 2025"),
    PublishedResult("DINOv2 L/14", "AI-GenBench",
                    "AI-GenBench's temporal protocol (train on older generators, test on newer), JPEG QF 50-100 "
                    "at evaluation; AUROC leaderboard", "MI-BioLab AI-GenBench leaderboard", auroc=94.24),
    PublishedResult("CLIP L/14", "AI-GenBench",
                    "AI-GenBench's temporal protocol (train on older generators, test on newer), JPEG QF 50-100 "
                    "at evaluation; AUROC leaderboard", "MI-BioLab AI-GenBench leaderboard", auroc=92.04),
)


@dataclass(frozen=True)
class PublishedFinding:
    """A published measurement of a shortcut (format, size, threshold): what was changed and what it did."""

    topic: str
    finding: str
    source: str


#: Shortcut evidence, each as its source states it (percentages as printed).
SHORTCUTS: tuple[PublishedFinding, ...] = (
    PublishedFinding("format (JPEG vs PNG)",
                     "GenImage's reals are JPEG (typically quality 96), its fakes PNG at fixed sizes; JPEG-ing every "
                     "fake at quality 96 and filtering reals by size raises cross-generator accuracy by more than 11 "
                     "points (ResNet-50 trained on SD v1.4: BigGAN 91.39%, +40.58)",
                     "Grommelt et al., \"Fake or JPEG?\", arXiv 2403.17608 (gendetection/UnbiasedGenImage)"),
    PublishedFinding("format (JPEG vs PNG)",
                     "re-saving the fakes as JPEG q95 drops the DIRE checkpoint to Acc 50.1%, AP 66.6% (real acc "
                     "100%, fake acc 0.2%): it had learned \"PNG = fake\"", "ZhendongWang6/DIRE issue #11"),
    PublishedFinding("format (JPEG vs PNG)",
                     "LSUN reals are JPEG q75; swapping them for PNG FFHQ gives 56.64% real accuracy",
                     "Ouxiang-Li/SAFE issue #7"),
    PublishedFinding("format (JPEG vs PNG)",
                     "re-evaluated with quality-96 JPEG fakes, NPR scores 53.1 on AIGCDetectBenchmark (91.7 in NPR's "
                     "README; the checkpoints may differ)", "roy-ch/Dual-Data-Alignment README"),
    PublishedFinding("size (resizing)",
                     "resizing destroys NPR's traces; the authors tile (translate_duplicate) instead of resizing on "
                     "GenImage", "chuangchuangtan/NPR-DeepfakeDetection issue #23"),
    PublishedFinding("size (resizing)", "cropping instead of down-sampling: +4.5% accuracy", "Ouxiang-Li/SAFE"),
    PublishedFinding("size (resizing)", "no resizing at all: 504-pixel crops", "grip-unina/B-Free"),
    PublishedFinding("threshold (calibration at 0.5)",
                     "detectors are often mis-calibrated at 0.5 while AP stays high; the real set must match the "
                     "generator's training data", "PeterWang512/CNNDetection issues #2 and #14"),
    PublishedFinding("threshold (calibration at 0.5)",
                     "the best-threshold accuracy is reported, and called \"oracle\"", "mever-team/sidbench"),
)


def cross_paper_table(benchmark: str | None = None) -> pd.DataFrame:
    """``CROSS_PAPER`` as a table (one row per method and benchmark), optionally of one benchmark only."""
    rows = [r for r in CROSS_PAPER if benchmark is None or r.benchmark == benchmark]
    if not rows:
        known = sorted({r.benchmark for r in CROSS_PAPER})
        raise KeyError(f"no published results for benchmark {benchmark!r}; known: {', '.join(known)}")
    df = pd.DataFrame([{"method": r.method, "venue": r.venue, "benchmark": r.benchmark, "acc": r.acc, "ap": r.ap,
                        "auroc": r.auroc, "protocol": r.protocol, "source": r.source} for r in rows])
    df[["acc", "ap", "auroc"]] = df[["acc", "ap", "auroc"]].astype(float)
    df.attrs.update(units="percent", notes="protocols differ between rows; compare only rows of one benchmark")
    return df
