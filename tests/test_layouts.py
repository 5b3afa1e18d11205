"""The published layouts as released: UnivFD's shared real pools, ForenSynths' multi-class folders, GenImage's
own download, AIGCDetectBenchmark; ``dfdlab data check`` recognises each and says what is missing."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from dfdlab import suites
from dfdlab.cli import main
from dfdlab.data import transforms as T
from dfdlab.data.folders import check_layout
from dfdlab.detectors.univfd import list_images_os_walk, univfd_sample
from dfdlab.testing import shaped_tree

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A small test split (``<gen>/{0_real,1_fake}/*.png``, 16x16 noise) to fill the shaped trees with."""
    root = tmp_path_factory.mktemp("source")
    rng = np.random.default_rng(0)
    for gen in ("gan_a", "gan_b"):
        for lab in ("0_real", "1_fake"):
            (root / gen / lab).mkdir(parents=True)
            for i in range(3):
                Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(root / gen / lab / f"{i}.png")
    return root

TINY = ["--detector", "tiny", "--set", "size=8", "--allow-untrained", "--quiet", "--device", "cpu"]


def _rows(out: str) -> list[str]:
    """The generator column of the printed suite table (untrained rows start with the UNTRAINED label)."""
    return [ln.split()[1] for ln in out.splitlines() if ln.startswith("UNTRAINED ")]


def test_univfd_scores_the_released_layout_with_shared_real_pools(source, tmp_path, capsys):
    """19 rows + mean over ``test/<gen>`` and ``diffusion_datasets/<set>/1_fake`` + ``laion``/``imagenet`` reals."""
    tree = shaped_tree("univfd", source, tmp_path / "univfd", per_label=2)
    dd = tree / "diffusion_datasets"
    assert not (dd / "ldm_200" / "0_real").exists() and len(list((dd / "laion" / "0_real").iterdir())) == 2
    where = suites.locate_sets("univfd", tree)
    assert where["guided"].real_pool == dd / "imagenet" and where["dalle"].real_pool == dd / "laion"
    assert where["progan"].real_pool is None and where["progan"].folder == tree / "test" / "progan"

    assert main(["eval", "--suite", "univfd", "--data", str(tree), "--out", str(tmp_path / "out"), *TINY]) == 0
    out = capsys.readouterr().out
    assert _rows(out) == suites.SUITES["univfd"].generators + ["mean"] and len(_rows(out)) == 20
    csv = pd.read_csv(tmp_path / "out" / "suite_univfd_tiny.csv").set_index("generator")
    # each diffusion set pairs its 2 fakes with the 2 reals of its pool (fewer than 1000: the fallback keeps all)
    assert (csv.loc[["guided", "ldm_200", "dalle"], "n"] == 4).all() and csv.loc["progan", "n"] == 80

    # The pooled set is sub-sampled as validate.py: each list in os.walk order of its own folder, seed 0.
    ds = where["ldm_100"].dataset()
    assert ds.roots == (dd / "laion", dd / "ldm_100") and ds.counts() == {"real": 2, "fake": 2}
    sub, _ = suites.univfd_subset(ds, max_sample=1, seed=0, fallback=1, os_walk_order=True)
    ref = univfd_sample(list_images_os_walk(dd / "laion", "0_real"), list_images_os_walk(dd / "ldm_100", "1_fake"),
                        1, 0, 1)
    assert [str(p) for p, _ in sub.samples] == [str(p) for p, _ in ref.items]

    # NPR's copy of the same sets holds its own 0_real: that one is used, not the pool.
    shutil.copytree(dd / "laion" / "0_real", dd / "dalle" / "0_real", symlinks=True)
    assert suites.locate_sets("univfd", tree, ["dalle"])["dalle"].real_pool is None

    # Without the laion pool the seven sets that read it are named, with the pool they need.
    shutil.rmtree(dd / "laion")
    with pytest.raises(FileNotFoundError, match=r"ldm_200 \(real pool .*laion/0_real\)"):
        suites.locate_sets("univfd", tree)
    assert main(["eval", "--suite", "univfd", "--data", str(tree), "--out", str(tmp_path / "o2"), *TINY]) == 2
    err = capsys.readouterr().err
    assert "glide_50_27 (real pool" in err and "--generators" in err and "Traceback" not in err


def test_forensynths_pools_multiclass_folders_and_names_the_skipped_file(source, tmp_path, capsys):
    tree = shaped_tree("forensynths", source, tmp_path / "fs", per_label=1, link=False)
    broken = tree / "test" / "stylegan" / "cat" / "1_fake" / "truncated.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not an image")
    assert main(["eval", "--suite", "forensynths", "--data", str(tree), "--out", str(tmp_path / "out"), *TINY]) == 0
    out, err = capsys.readouterr()
    assert _rows(out) == suites.SUITES["forensynths"].generators + ["mean"] and len(_rows(out)) == 9
    csv = pd.read_csv(tmp_path / "out" / "suite_forensynths_tiny.csv").set_index("generator")
    assert csv.loc["progan", "n"] == 40 and csv.loc["cyclegan", "n"] == 12  # 20 and 6 classes pooled
    assert csv.loc["stylegan", "n"] == 6 and csv.loc["stylegan", "skipped"] == 1
    assert "skipped 1 unreadable file(s)" in err and str(broken) in err
    listed = pd.read_csv(tmp_path / "out" / "suite_forensynths_tiny_skipped.csv")
    assert list(listed["path"]) == [str(broken)]


def test_the_13_sets_the_aigc_benchmark_and_genimage_run_in_their_layouts(source, tmp_path, capsys):
    for name, n in (("forensynths13", 13), ("aigcdetect", 16), ("genimage", 7)):
        tree = shaped_tree(name, source, tmp_path / name, per_label=1)
        assert main(["eval", "--suite", name, "--data", str(tree), "--out", str(tmp_path / "out"), *TINY]) == 0
        rows = _rows(capsys.readouterr().out)
        assert rows == suites.SUITES[name].generators + ["mean"] and len(rows) == n + 1
    meta = pd.read_json(tmp_path / "out" / "suite_aigcdetect_tiny.meta.json", typ="series")
    assert meta["batch_size"] == 1  # NPR README: batch_size 1 on AIGCDetectBenchmark
    # GenImage as it downloads: <Generator>/<imagenet_...>/val/{nature,ai}; nature is real (label 0).
    tree = shaped_tree("genimage", source, tmp_path / "GenImage", per_label=1, released=True)
    where = suites.locate_sets("genimage", tree)["sdv5"]
    assert where.folder == tree / "stable_diffusion_v_1_5" / "imagenet_ai_0424_sdv5" / "val"
    assert where.labels == ("nature", "ai")
    ds = where.dataset()
    assert {p.parent.name: y for p, y in ds.samples} == {"nature": 0, "ai": 1}
    assert main(["eval", "--suite", "genimage", "--data", str(tree), "--out", str(tmp_path / "o"), *TINY]) == 0
    assert len(_rows(capsys.readouterr().out)) == 8


def test_translate_duplicate_tiles_small_images_and_keeps_large_ones():
    """NPR README (GenImage): a 100x60 image is tiled to 300x240 for a 224 crop; a 300x256 one passes untouched."""
    small = Image.new("RGB", (100, 60))
    small.putpixel((0, 0), (255, 0, 0))
    tiled = T.TranslateDuplicate(224)(small)
    assert tiled.size == (300, 240)
    assert all(tiled.getpixel((x, y)) == (255, 0, 0) for x in (0, 100, 200) for y in (0, 60, 120, 180))
    big = Image.new("RGB", (300, 256))
    assert T.TranslateDuplicate(224)(big) is big
    assert tuple(T.npr_test(256, 224, no_resize=True, no_crop=False, translate_duplicate=True)(small).shape) == (
        3, 224, 224)


@pytest.mark.parametrize("name", list(suites.SUITES))
def test_data_check_recognises_each_published_layout(name, source, tmp_path, capsys):
    s = suites.SUITES[name]
    tree = shaped_tree(name, source, tmp_path / name, per_label=1)
    assert main(["data", "check", str(tree)]) == 0
    out = capsys.readouterr().out
    n = len(s.sets)
    assert f"{name}: {n} of {n} sets found" in out and "ERROR" not in out
    if name == "univfd":
        assert "fake-only set(s) read a shared real pool" in out and "shared real pools:" in out
    # One set gone: the check says which, and the command that fetches the data.
    gone = suites.locate_sets(name, tree)[s.sets[-1].folder].folder
    shutil.rmtree(gone)
    assert main(["data", "check", str(tree)]) == 0
    out = capsys.readouterr().out
    assert f"{name}: {n - 1} of {n} sets found" in out and f"missing: {s.sets[-1].folder}" in out
    assert f"dfdlab assets --fetch {' '.join(s.assets)}" in out


def test_data_check_reads_genimage_as_downloaded_and_flags_a_half_set(source, tmp_path, capsys):
    tree = shaped_tree("genimage", source, tmp_path / "GenImage", per_label=1, released=True)
    assert main(["data", "check", str(tree)]) == 0
    out = capsys.readouterr().out
    assert "genimage: 7 of 7 sets found" in out and "ERROR" not in out
    # A real-only folder with no fake-only sibling is not a pool: the missing fakes are an error.
    tree = shaped_tree("forensynths", source, tmp_path / "fs", per_label=1)
    shutil.rmtree(tree / "test" / "biggan" / "1_fake")
    report = check_layout(tree)
    assert not report.ok and any("biggan: missing 1_fake/" in e for e in report.errors)
