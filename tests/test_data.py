"""load_rgb on every kind of bad input, the ForenSynths reader, the layout check, skip-and-name."""

from __future__ import annotations

import pickle
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageFile
from torch.utils.data import DataLoader

import dfdlab.data as data
from dfdlab.data import ImageError, load_rgb
from dfdlab.data.folders import (
    BadImage,
    ForenSynths,
    LayoutError,
    check_layout,
    collate_skip_bad,
    generator_sets,
    read_manifest,
    skip_bad,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _official_open(path, truncated=True):
    """What every official repository does: Image.open(path).convert('RGB') with LOAD_TRUNCATED_IMAGES."""
    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = truncated
    try:
        return Image.open(path).convert("RGB")
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous


def _png_with_size(path: Path, width: int, height: int) -> None:
    """A PNG whose header claims width x height (a decompression bomb as far as the header goes)."""
    Image.new("RGB", (8, 8)).save(path)
    raw = bytearray(path.read_bytes())
    i = raw.index(b"IHDR")
    raw[i + 4:i + 12] = struct.pack(">II", width, height)
    raw[i + 17:i + 21] = struct.pack(">I", zlib.crc32(bytes(raw[i:i + 17])) & 0xFFFFFFFF)
    path.write_bytes(bytes(raw))


@pytest.fixture()
def photo_array(photos) -> np.ndarray:
    return np.asarray(photos["chelsea_odd"])[:120, :150].copy()  # 150x120 real photo crop


def test_unusable_files_raise_image_error_naming_the_file(tmp_path, photo_array, caplog):
    jpg = tmp_path / "photo.jpg"
    Image.fromarray(photo_array).save(jpg, quality=90)
    good = jpg.read_bytes()
    sos = good.index(b"\xff\xda")
    cases = {
        "missing": tmp_path / "nope.png",
        "not_a_file": tmp_path,
        "empty": tmp_path / "empty.png",
        "not_image": tmp_path / "notes.png",
        "corrupt": tmp_path / "corrupt.jpg",
        "too_small": tmp_path / "tiny.png",
        "too_large": tmp_path / "bomb.png",
    }
    cases["empty"].write_bytes(b"")
    cases["not_image"].write_text("this is text, not a PNG")
    cases["corrupt"].write_bytes(good[:sos + 2] + b"\xff" * 400 + good[sos + 402:])  # header fine, scan destroyed
    Image.fromarray(photo_array[:4, :5]).save(cases["too_small"])
    _png_with_size(cases["too_large"], 100_000, 100_000)
    for reason, path in cases.items():
        with pytest.raises(ImageError) as info:
            load_rgb(path)
        assert info.value.reason == reason, (path, info.value)
        assert str(path) in str(info.value)
        assert isinstance(info.value, ValueError)
        # crosses DataLoader worker processes intact
        again = pickle.loads(pickle.dumps(info.value))
        assert (again.path, again.reason, str(again)) == (info.value.path, reason, str(info.value))
    # the limits are parameters
    assert load_rgb(cases["too_small"], min_side=1).size == (5, 4)
    with pytest.raises(ImageError, match="limit of 100"):
        load_rgb(jpg, max_pixels=100)


def test_pixel_limit_is_ours_not_pillows(tmp_path, photo_array, monkeypatch):
    path = tmp_path / "photo.png"
    Image.fromarray(photo_array).save(path)  # 150 x 120 = 18,000 pixels
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(Image.DecompressionBombError):
        Image.open(path)  # Pillow alone refuses it (> 2 x its limit) ...
    assert load_rgb(path, max_pixels=20_000).size == (150, 120)  # ... a larger max_pixels lets it through
    assert load_rgb(path, max_pixels=None).size == (150, 120)
    assert Image.MAX_IMAGE_PIXELS == 1000  # restored
    with pytest.raises(ImageError) as info:
        load_rgb(path, max_pixels=5000)
    assert info.value.reason == "too_large"


def test_truncated_files_load_like_the_official_code_or_raise(tmp_path, photo_array, caplog):
    for ext in ("jpg", "png"):
        full = tmp_path / f"full.{ext}"
        Image.fromarray(photo_array).save(full)
        cut = tmp_path / f"cut.{ext}"
        cut.write_bytes(full.read_bytes()[: full.stat().st_size * 2 // 3])
        with pytest.raises(OSError):  # plain Pillow refuses it ...
            _official_open(cut, truncated=False)
        with caplog.at_level("WARNING"):
            img = load_rgb(cut)
        assert str(cut) in caplog.text
        # ... the official code (LOAD_TRUNCATED_IMAGES=True) fills it; we give the same pixels
        np.testing.assert_array_equal(np.asarray(img), np.asarray(_official_open(cut)))
        assert ImageFile.LOAD_TRUNCATED_IMAGES is False  # the global flag is restored
        with pytest.raises(ImageError) as info:
            load_rgb(cut, truncated="raise")
        assert info.value.reason == "truncated"


def test_difficult_but_valid_images_are_converted(tmp_path, photo_array):
    h, w = photo_array.shape[:2]
    # odd-sized: unchanged pixels and size
    odd = tmp_path / "odd.png"
    Image.fromarray(photo_array[:33, :17]).save(odd)
    assert load_rgb(odd).size == (17, 33)
    np.testing.assert_array_equal(np.asarray(load_rgb(odd)), photo_array[:33, :17])

    # grayscale and 1-bit: the gray value in all three channels
    gray = tmp_path / "gray.png"
    Image.fromarray(photo_array).convert("L").save(gray)
    arr = np.asarray(load_rgb(gray))
    assert arr.shape == (h, w, 3) and (arr[..., 0] == arr[..., 1]).all() and (arr[..., 1] == arr[..., 2]).all()
    bilevel = tmp_path / "bw.png"
    Image.fromarray(photo_array).convert("1").save(bilevel)
    assert set(np.unique(np.asarray(load_rgb(bilevel)))) <= {0, 255}

    # CMYK: as the official convert('RGB')
    cmyk = tmp_path / "cmyk.jpg"
    Image.fromarray(photo_array).convert("CMYK").save(cmyk, quality=95)
    assert Image.open(cmyk).mode == "CMYK"
    np.testing.assert_array_equal(np.asarray(load_rgb(cmyk)), np.asarray(_official_open(cmyk)))
    assert np.abs(np.asarray(load_rgb(cmyk)).astype(int) - photo_array).mean() < 8

    # 16-bit grayscale: scaled to 8 bit (Pillow's own convert clips at 255)
    ramp = (np.arange(64 * 64, dtype=np.uint32).reshape(64, 64) * 16).astype(np.uint16)
    g16 = tmp_path / "g16.png"
    Image.fromarray(ramp).save(g16)
    assert Image.open(g16).mode.startswith("I;16")
    out = np.asarray(load_rgb(g16))
    np.testing.assert_array_equal(out[..., 0], np.rint(ramp / 257.0).astype(np.uint8))
    assert abs(out[..., 0].mean() - ramp.mean() / 257) < 0.5  # a real 16 -> 8 bit scaling ...
    assert (np.asarray(_official_open(g16))[..., 0] == 255).mean() > 0.9  # ... where Pillow saturates
    # 16-bit RGB: Pillow decodes the high byte
    rgb16 = tmp_path / "rgb16.png"
    cv2 = pytest.importorskip("cv2")
    cv2.imwrite(str(rgb16), (photo_array[..., ::-1].astype(np.uint16) * 257))
    np.testing.assert_array_equal(np.asarray(load_rgb(rgb16)), photo_array)

    # alpha: the official convert drops it; background= composites
    rgba = np.dstack([photo_array, np.full((h, w), 255, np.uint8)])
    rgba[:10, :, 3] = 0  # transparent band
    alpha = tmp_path / "alpha.png"
    Image.fromarray(rgba, "RGBA").save(alpha)
    np.testing.assert_array_equal(np.asarray(load_rgb(alpha)), photo_array)
    white = np.asarray(load_rgb(alpha, background=(255, 255, 255)))
    assert (white[:10] == 255).all()
    np.testing.assert_array_equal(white[10:], photo_array[10:])
    # palette with a transparent index
    pal = tmp_path / "pal.png"
    p_img = Image.fromarray(photo_array).quantize(16)
    p_img.info["transparency"] = 0
    p_img.save(pal, transparency=0)
    assert Image.open(pal).mode == "P"
    np.testing.assert_array_equal(np.asarray(load_rgb(pal)), np.asarray(_official_open(pal)))
    on_white = np.asarray(load_rgb(pal, background=(255, 255, 255)))
    idx0 = np.asarray(p_img) == 0
    assert idx0.any() and (on_white[idx0] == 255).all()

    # EXIF orientation 6 (rotate 90 CW to view): official keeps the stored grid; the option turns it
    rotated = tmp_path / "exif.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(photo_array).save(rotated, exif=exif, quality=95)
    assert load_rgb(rotated).size == (w, h)
    np.testing.assert_array_equal(np.asarray(load_rgb(rotated)), np.asarray(_official_open(rotated)))
    upright = load_rgb(rotated, exif_transpose=True)
    assert upright.size == (h, w)
    np.testing.assert_array_equal(np.asarray(upright), np.rot90(np.asarray(load_rgb(rotated)), k=-1))


# --------------------------------------------------------------------------------------
# folders
# --------------------------------------------------------------------------------------


def _write(folder: Path, n: int, rng, size=(24, 20), start=0) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + n):
        Image.fromarray((rng.random((size[1], size[0], 3)) * 255).astype(np.uint8)).save(folder / f"{i:03d}.png")


@pytest.fixture()
def bench(tmp_path) -> Path:
    """A tiny benchmark: train/val classes, a single-class and a two-class test generator."""
    rng = np.random.default_rng(0)
    root = tmp_path / "bench"
    for split in ("train", "val"):
        for cls in ("chair", "airplane"):
            for lab in ("0_real", "1_fake"):
                _write(root / split / cls / lab, 2, rng)
    _write(root / "test" / "gan_a" / "0_real", 3, rng)
    _write(root / "test" / "gan_a" / "1_fake", 4, rng)
    for cls in ("dog", "cat"):
        _write(root / "test" / "gan_b" / cls / "0_real", 2, rng)
        _write(root / "test" / "gan_b" / cls / "1_fake", 1, rng)
    (root / "manifest.csv").write_text("path,split,generator,family,label\n"
                                       "test/gan_a/1_fake/000.png,test,gan_a,gan,1\n"
                                       "test/gan_a/0_real/000.png,test,gan_a,real,0\n"
                                       "test/gan_b/cat/1_fake/000.png,test,gan_b,diffusion,1\n")
    return root


def test_forensynths_matches_imagefolder_and_pools_classes(bench):
    from torchvision.datasets import ImageFolder

    one = ForenSynths(bench / "test" / "gan_a")
    official = ImageFolder(str(bench / "test" / "gan_a"))  # what the official code builds
    assert official.class_to_idx == {"0_real": 0, "1_fake": 1}
    assert [(str(p), t) for p, t in one.samples] == official.samples
    assert one.generator == "gan_a" and one.family == "gan" and one.classes == [""]
    assert one.counts() == {"real": 3, "fake": 4}

    pooled = ForenSynths(bench / "test" / "gan_b", transform=lambda im: torch.zeros(1))
    assert pooled.classes == ["cat", "dog"]  # sorted
    expected = ImageFolder(str(bench / "test" / "gan_b" / "cat")).samples + ImageFolder(
        str(bench / "test" / "gan_b" / "dog")).samples
    assert [(str(p), t) for p, t in pooled.samples] == expected
    assert pooled.targets == [0, 0, 1, 0, 0, 1] and pooled.family == "diffusion"
    x, y = pooled[2]
    assert torch.equal(x, torch.zeros(1)) and y == 1
    img, label = one[0]
    assert isinstance(img, Image.Image) and img.mode == "RGB" and label == 0

    sets = generator_sets(bench / "test")
    assert list(sets) == ["gan_a", "gan_b"] and len(sets["gan_b"]) == 6
    assert sets["gan_b"].family == "diffusion"
    assert read_manifest(bench / "test" / "gan_a").shape == (3, 5)
    with pytest.raises(LayoutError, match="generator folder"):
        generator_sets(bench / "test" / "gan_a")
    with pytest.raises(FileNotFoundError, match="manifest"):
        read_manifest(bench.parent.parent.parent.parent)  # no manifest anywhere up there

    # wrong layouts: clear errors naming the folder
    (bench / "test" / "gan_a" / "1_fake").rename(bench / "test" / "gan_a" / "fake")
    with pytest.raises(LayoutError) as info:
        ForenSynths(bench / "test" / "gan_a")
    assert "missing folder 1_fake" in str(info.value) and "unknown folder(s) ['fake']" in str(info.value)
    for f in (bench / "test" / "gan_b" / "dog" / "1_fake").iterdir():
        f.unlink()
    with pytest.raises(LayoutError, match="dog/1_fake: holds no image files"):
        ForenSynths(bench / "test" / "gan_b")


def test_check_layout_reports_counts_and_problems(bench):
    (bench / "models").mkdir()  # the mini benchmark keeps its GANs beside the splits
    (bench / "models" / "gan.pth").write_bytes(b"x")
    (bench / "build_info.json").write_text("{}")
    report = check_layout(bench)
    assert report.ok and not report.warnings, str(report)
    counts = report.counts.set_index(["split", "generator", "class"])
    assert counts.loc[("test", "gan_a", ""), ["real", "fake"]].tolist() == [3, 4]
    assert counts.loc[("test", "gan_b", "cat"), ["real", "fake"]].tolist() == [2, 1]
    assert counts.loc[("train", "", "chair"), ["real", "fake"]].tolist() == [2, 2]
    assert report.totals().set_index(["split", "generator"]).loc[("test", "gan_b"), "real"] == 4
    assert "OK" in str(report) and "gan_b" in str(report)
    assert check_layout(bench / "test" / "gan_a").counts[["generator", "real"]].values.tolist() == [["gan_a", 3]]

    # break it in every way the report knows
    (bench / "test" / "gan_a" / "1_fake" / "notes.txt").write_text("x")  # non-image in a label folder
    (bench / "test" / "stray.txt").write_text("x")  # stray file
    for f in (bench / "train" / "chair" / "0_real").iterdir():
        f.unlink()  # empty label folder
    for f in (bench / "val" / "airplane" / "1_fake").iterdir():
        f.unlink()
    (bench / "val" / "airplane" / "1_fake").rmdir()  # missing label folder
    (bench / "test" / "gan_b" / "cat" / "2_other").mkdir()  # a third class for ImageFolder
    (bench / "test" / "gan_c").mkdir()  # an empty generator
    (bench / "test" / ".ipynb_checkpoints").mkdir()  # hidden, ignored
    (bench / "extra").mkdir()  # not a split
    report = check_layout(bench)
    assert not report.ok
    text = str(report)
    for expected in ("train/chair/0_real: empty", "val/airplane: missing 1_fake/", "cat/2_other: unknown folder",
                     "gan_c: holds no 0_real/1_fake folders", "notes.txt: not an image file",
                     "stray.txt: stray file", ".ipynb_checkpoints: hidden folder", "extra: not a split folder"):
        assert expected in text, (expected, text)
    assert len(report.errors) == 4 and len(report.warnings) == 4
    assert check_layout(bench / "nowhere").errors == [f"{bench / 'nowhere'}: no such folder"]


def test_evaluation_skips_and_names_broken_files(tmp_path, photos):
    """20 files, 3 broken: a DataLoader over the set delivers 17 images and names the 3."""
    from dfdlab.data import transforms as T

    rng = np.random.default_rng(1)
    gen = tmp_path / "test" / "gan"
    _write(gen / "0_real", 9, rng, size=(40, 36))
    _write(gen / "1_fake", 8, rng, size=(40, 36))
    (gen / "0_real" / "900.png").write_bytes(b"")
    (gen / "1_fake" / "901.jpg").write_text("not a jpeg")
    photos["coffee"].resize((40, 36)).save(gen / "1_fake" / "902.jpg")
    (gen / "1_fake" / "902.jpg").write_bytes((gen / "1_fake" / "902.jpg").read_bytes()[:200])  # header only
    broken = {str(gen / "0_real" / "900.png"), str(gen / "1_fake" / "901.jpg"), str(gen / "1_fake" / "902.jpg")}

    strict = ForenSynths(gen, T.npr_test(load_size=32))
    assert len(strict) == 20
    with pytest.raises(ImageError, match="900.png"):
        [strict[i] for i in range(len(strict))]

    for dataset in (ForenSynths(gen, T.npr_test(load_size=32), on_error="skip"), skip_bad(strict)):
        for workers in (0, 2):
            loader = DataLoader(dataset, batch_size=6, num_workers=workers, collate_fn=collate_skip_bad)
            xs, ys, bad = [], [], []
            for batch in loader:
                if batch.x is not None:
                    xs.append(batch.x)
                ys.append(batch.y)
                bad += batch.bad
            x = torch.cat(xs)
            assert x.shape == (17, 3, 32, 32) and torch.cat(ys).tolist() == [0] * 9 + [1] * 8
            assert {b.path for b in bad} == broken and all(isinstance(b, BadImage) for b in bad)
            assert sorted(b.reason for b in bad) == ["corrupt", "empty", "not_image"]
            assert sorted(b.label for b in bad) == [0, 1, 1]
    # a batch made only of bad files
    only_bad = collate_skip_bad([BadImage("a.png", 0, "empty", "a.png: empty")])
    assert only_bad.x is None and only_bad.y.numel() == 0 and len(only_bad.bad) == 1


def test_package_exports():
    for name in ("load_rgb", "ImageError", "ForenSynths", "generator_sets", "check_layout", "read_manifest",
                 "collate_skip_bad", "skip_bad", "BadImage", "transforms"):
        assert getattr(data, name) is not None
