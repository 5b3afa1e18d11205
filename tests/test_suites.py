"""Every suite runs over a tree shaped like its published layout, built from the mini benchmark."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

import dfdlab
from dfdlab import detectors, suites
from dfdlab.data import ForenSynths
from dfdlab.data import transforms as T
from dfdlab.detectors import Detector, Preprocessing
from dfdlab.detectors.npr import DETECTION_TESTS
from dfdlab.detectors.univfd import list_images_os_walk, univfd_sample, univfd_subset
from dfdlab.testing import shaped_tree


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One intra-op thread: on the shared 2-core machine, 2 threads under load are 15-40x slower (measured)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def seeded_npr():
    """An UNTRAINED, seeded NPR at the quick profile's sizes: scores are meaningless, the pipeline is real."""
    dfdlab.seed_everything(0)
    return detectors.build("npr", load_size=64, crop_size=56)


def _odd_image(tree, folder):
    """An odd-sized native image in a GANGen folder (NPR's README trim path)."""
    src = next((tree / folder / "1_fake").iterdir())
    Image.open(src).convert("RGB").resize((67, 61)).save(tree / folder / "1_fake" / "odd.png")


@pytest.mark.parametrize("name", list(suites.SUITES))
def test_every_suite_over_a_tree_shaped_like_the_published_one(name, mini_root, tmp_path, seeded_npr):
    suite = suites.SUITES[name]
    tree = shaped_tree(name, mini_root / "test", tmp_path / name, per_label=1 if name != "gangen" else 2)
    if name == "gangen":
        _odd_image(tree / "test", "BEGAN")
    out = tmp_path / "out"
    table = suites.run_suite(seeded_npr, name, tree, out_dir=out, progress=False, data_note="mini images")

    # The done-when: the rows are the suite's generators, in the paper's order, plus the mean.
    assert list(table["generator"]) == suite.generators + ["mean"]
    assert table["n"].iloc[-1] == table["n"].iloc[:-1].sum() > 0
    # Multi-class generators pool every class folder (1 real + 1 fake each).
    for t in suite.sets:
        if t.classes and name != "univfd":
            assert table.set_index("generator").loc[t.folder, "n"] == 2 * len(t.classes)
    # Never presented as a result: every row, the note and the metadata say UNTRAINED.
    assert (table["weights"] == suites.UNTRAINED).all()
    md = (out / f"suite_{name}_npr.md").read_text()
    assert md.startswith("**UNTRAINED") and "not a result" in md
    meta = json.loads((out / f"suite_{name}_npr.meta.json").read_text())
    assert meta["untrained"] is True and meta["checkpoint_sha256"] == ""
    csv = pd.read_csv(out / f"suite_{name}_npr.csv")
    assert list(csv["generator"]) == suite.generators + ["mean"]
    # The markdown table has one line per generator + mean (+ header and rule).
    rows = [ln for ln in md.splitlines() if ln.startswith("|")]
    assert len(rows) == len(suite.generators) + 3

    # Per-table NPR settings (NPR test.py DetectionTests and README), recorded beside the numbers.
    cfg = DETECTION_TESTS[suite.detector_benchmark]
    if cfg.get("translate_duplicate"):
        assert table["resize"].iloc[0].startswith("translate_duplicate to >= 56")
        assert table["crop"].iloc[0] == "CenterCrop(56)"
    elif cfg["no_resize"]:
        assert table["resize"].iloc[0].startswith("none (native")
        assert table["crop"].iloc[0] == "none"
    else:
        assert table["resize"].iloc[0] == "Resize((64,64)) bilinear"
        assert table["crop"].iloc[0] == "none"
    if name == "gangen":
        assert table.set_index("generator").loc["BEGAN", "skipped"] == 0  # the odd-sized image was scored
        assert table.set_index("generator").loc["BEGAN", "n"] == 5
    assert meta["batch_size"] == (1 if name == "aigcdetect" else 64)
    if suite.sampling:
        # Fewer than 1000 images per set: validate.py falls back to 100 per class, i.e. all of them here.
        assert table["fell_back"].iloc[:-1].all()
        assert table["sampling"].iloc[0].startswith("1000 real + 1000 fake, seed 0")
    else:
        assert table["sampling"].iloc[0] == "all images"


def test_suite_protocols_and_errors(mini_root, tmp_path, seeded_npr):
    # The transform each suite gives NPR equals npr_test with the paper's settings.
    img = Image.fromarray(np.random.default_rng(0).integers(0, 255, (61, 67, 3), dtype=np.uint8))
    for name, suite in suites.SUITES.items():
        tf, settings = suites.protocol(seeded_npr, name)
        ref = T.npr_test(load_size=64, crop_size=56, **DETECTION_TESTS[suite.detector_benchmark])
        assert torch.equal(tf(img), ref(img)), name
    assert tuple(suites.protocol(seeded_npr, "gangen")[0](img).shape) == (3, 61, 67)  # native size kept
    assert suites.SUITES["diffusionforensics"].sets[5].paper_key == "sdv1"
    # Every suite generator with a published number joins its paper table.
    from dfdlab.paper_results import TABLES

    for suite in suites.SUITES.values():
        for key in suite.paper_tables:
            published = {g for g, _ in TABLES[key].generators} - {"mean"}
            mine = {t.paper_key or t.folder for t in suite.sets}
            assert published <= mine, (suite.name, published - mine)

    # UnivFD sampling: 1000/1000 seed 0 with the fallback; in os.walk order it is validate.py's subset.
    tree = shaped_tree("univfd", mini_root / "test", tmp_path / "u", per_label=3)
    folder = suites.find_sets("univfd", tree, ["biggan"])["biggan"]
    s, sample = univfd_subset(ForenSynths(folder), max_sample=2, seed=0, fallback=1, os_walk_order=True)
    assert len(s) == 4 and not sample.fell_back
    ref = univfd_sample(list_images_os_walk(folder, "0_real"), list_images_os_walk(folder, "1_fake"), 2, 0, 1)
    assert [str(p) for p, _ in s.samples] == [str(p) for p, _ in ref.items]
    s, sample = univfd_subset(ForenSynths(folder), max_sample=5, seed=0, fallback=1)
    assert sample.fell_back and len(s) == 2

    # A missing generator folder is named, with the way out; a subset runs.
    (tree / "test" / "stargan").rename(tree / "test" / "stargan_moved")
    with pytest.raises(FileNotFoundError, match=r"missing .*stargan.*--generators"):
        suites.run_suite(seeded_npr, "univfd", tree, out_dir=False, progress=False)
    t = suites.run_suite(seeded_npr, "univfd", tree, generators=["progan", "guided"], out_dir=False, progress=False)
    assert list(t["generator"]) == ["progan", "guided", "mean"]
    with pytest.raises(KeyError, match="no generator"):
        suites.find_sets("univfd", tree, ["dcgan_nearest"])
    with pytest.raises(KeyError, match="unknown suite"):
        suites.get_suite("imagenet")

    # With a checkpoint: its sha256 in every row, no UNTRAINED label.
    ckpt = tmp_path / "npr.pth"
    torch.save(seeded_npr.state_dict(), ckpt)
    t = suites.run_suite(seeded_npr, "univfd", tree, checkpoint=ckpt, generators=["progan"], out_dir=tmp_path / "o",
                         progress=False)
    from dfdlab.files import sha256sum

    assert (t["checkpoint_sha256"] == sha256sum(ckpt)).all() and not t["weights"].str.contains("UNTRAINED").any()
    assert "UNTRAINED" not in (tmp_path / "o" / "suite_univfd_npr.md").read_text()


def test_cli_eval_suite_prints_the_suite_rows(mini_root, tmp_path, capsys, seeded_npr):
    """``dfdlab eval --suite NAME`` over a shaped tree: one printed row per suite generator, untrained labelled."""
    from dfdlab.cli import main

    tree = shaped_tree("diffusionforensics", mini_root / "test", tmp_path / "DiffusionForensics", per_label=1)
    argv = ["eval", "--suite", "diffusionforensics", "--data", str(tree), "--detector", "npr", "--set", "load_size=64",
            "--set", "crop_size=56", "--quiet", "--out", str(tmp_path / "out")]
    assert main(argv) == 2  # no checkpoint: refused unless --allow-untrained
    assert "untrained" in capsys.readouterr().err
    assert main(argv + ["--allow-untrained"]) == 0
    out = capsys.readouterr().out
    rows = [ln.split()[1] for ln in out.splitlines() if ln.startswith("UNTRAINED ")]
    assert rows == suites.SUITES["diffusionforensics"].generators + ["mean"]
    assert "Resize((64,64))" in out and (tmp_path / "out" / "suite_diffusionforensics_npr.md").exists()
    # A checkpoint: loaded strictly, its sha256 in the CSV.
    ckpt = tmp_path / "npr.pth"
    torch.save(seeded_npr.state_dict(), ckpt)
    assert main(argv[:-2] + ["--out", str(tmp_path / "o2"), "--checkpoint", str(ckpt), "--generators", "adm,ldm"]) == 0
    csv = pd.read_csv(tmp_path / "o2" / "suite_diffusionforensics_npr.csv")
    assert list(csv["generator"]) == ["adm", "ldm", "mean"] and csv["checkpoint_sha256"].str.len().eq(64).all()
    capsys.readouterr()
    assert main(argv + ["--allow-untrained", "--generators", "adm,sdxl"]) == 2
    assert "no generator" in capsys.readouterr().err


class MeanBrightness(Detector):
    """A detector the suites have never heard of: its own pipeline, its own words, no registry entry."""

    name = "mean_brightness_test"
    paper = "none (a test detector)"

    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.tensor(4.0))

    def forward(self, x):
        return self.scale * (x.mean(dim=(1, 2, 3)) - 0.5)

    def preprocessing(self, split, benchmark, augment):
        size = 32 if benchmark == "gangen" else 48  # a per-benchmark choice the suite cannot know about
        tf = T.npr_test(load_size=size, crop_size=size)  # any PIL -> tensor pipeline does
        return Preprocessing(tf, f"Resize(({size},{size}))", "none", "ImageNet mean/std", f"{size}x{size}",
                             source=f"its own rule for {benchmark}")


def test_protocol_asks_the_detector_and_a_new_detector_runs_through_run_suite(mini_root, tmp_path):
    """``protocol`` holds no detector knowledge: an unregistered subclass gets its own settings per suite."""
    det = MeanBrightness()
    tf, settings = suites.protocol(det, "gangen")
    img = Image.new("RGB", (61, 67))
    assert tuple(tf(img).shape) == (3, 32, 32) and settings["resize"] == "Resize((32,32))"
    assert settings["protocol_source"] == "its own rule for gangen" and settings["sampling"] == "all images"
    assert suites.protocol(det, "univfd")[1]["sampling"].startswith("1000 real + 1000 fake, seed 0")
    tree = shaped_tree("diffusionforensics", mini_root / "test", tmp_path / "DF", per_label=1)
    table = suites.run_suite(det, "diffusionforensics", tree, out_dir=tmp_path / "out", progress=False)
    assert list(table["generator"]) == suites.SUITES["diffusionforensics"].generators + ["mean"]
    assert (table["resize"] == "Resize((48,48))").all()
    meta = json.loads((tmp_path / "out" / "suite_diffusionforensics_mean_brightness_test.meta.json").read_text())
    assert meta["settings"]["input_size"] == "48x48" and meta["paper_method"] is None
    # The suites table shows each detector's own answer per benchmark.
    shown = suites.suites_table([det, detectors.build("npr", load_size=64, crop_size=56)]).set_index("suite")
    assert shown.loc["gangen", "mean_brightness_test test input"] == "Resize((32,32)) / none"
    assert shown.loc["gangen", "npr test input"] == "none (native size) / none"
    assert shown.loc["forensynths", "npr test input"] == "Resize((64,64)) bilinear / none"
