"""Named weights on the command line and fetching from the Hugging Face Hub / Google Drive, all offline.

``huggingface_hub.hf_hub_download``, ``HfApi.get_paths_info`` and ``gdown`` are replaced by stand-ins that
copy local files: nothing here touches the network.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import dfdlab
from dfdlab import detectors, hub
from dfdlab.cli import main
from dfdlab.files import sha256sum

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture()
def dirs(tmp_path, monkeypatch):
    """Empty DFDLAB_HOME / DFDLAB_DATA, and the Hub in offline mode should anything reach for it."""
    monkeypatch.setenv("DFDLAB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DFDLAB_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tmp_path


def _png(path: Path, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(path)


# --------------------------------------------------------------------------- --weights


def test_weights_published_resolves_through_the_registry_or_says_the_one_command(dirs, monkeypatch, capsys):
    img = dirs / "x.png"
    _png(img, 0)
    argv = ["predict", "--detector", "npr", "--set", "load_size=32", "--set", "crop_size=32", str(img)]
    assert main(argv + ["--weights", "published"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err  # one paragraph on one line, exit 2
    assert "`dfdlab assets --fetch npr`" in err and str(hub.get("npr").target) in err

    # NPR.pth as the official DDP save ({'model': {'module.*'}}), registered under its digest.
    dfdlab.seed_everything(0)
    net = detectors.build("npr", load_size=32, crop_size=32)
    target = hub.get("npr").target
    target.parent.mkdir(parents=True)
    torch.save({"model": {f"module.{k}": v for k, v in net.state_dict().items()}}, target)
    monkeypatch.setitem(hub.ASSETS, "npr", dataclasses.replace(hub.ASSETS["npr"], sha256=sha256sum(target)))
    assert main(argv + ["--weights", "published"]) == 0
    line = capsys.readouterr().out.strip()
    with torch.no_grad():
        p = torch.sigmoid(net.eval()(net.transform("test")(Image.open(img).convert("RGB"))[None]))[0].item()
    assert line.startswith(str(img)) and float(line.split("\t")[1]) == pytest.approx(p, abs=1e-4)
    assert main(argv + ["--weights", "npr"]) == 0  # the asset name works too
    capsys.readouterr()

    # A checksum that does not match is refused; weights of another detector are refused by name.
    monkeypatch.setitem(hub.ASSETS, "npr", dataclasses.replace(hub.ASSETS["npr"], sha256="0" * 64))
    assert main(argv + ["--weights", "published"]) == 2
    assert "fetch it again" in capsys.readouterr().err
    assert main(argv + ["--weights", "lgrad-4class"]) == 2
    assert "holds lgrad weights, not npr" in capsys.readouterr().err
    assert main(argv + ["--weights", "forensynths-test"]) == 2
    assert "is a dataset, not weights" in capsys.readouterr().err
    assert main(argv + ["--weights", "npr", "--checkpoint", str(target)]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["predict", "--detector", "tiny", "--weights", "published", str(img)]) == 2
    assert "no published weights are registered for detector 'tiny'" in capsys.readouterr().err
    assert set(hub.PUBLISHED_WEIGHTS.values()) <= set(hub.ASSETS)
    for det, name in hub.PUBLISHED_WEIGHTS.items():
        assert hub.ASSETS[name].kind == "weights" and hub.ASSETS[name].detector in (None, det)


def test_eval_suite_with_published_weights_records_their_sha256(dirs, monkeypatch, capsys):
    from dfdlab.testing import shaped_tree

    for i, lab in enumerate(("0_real", "1_fake")):
        _png(dirs / "src" / "gan" / lab / "0.png", i)
    dfdlab.seed_everything(0)
    net = detectors.build("npr", load_size=32, crop_size=32)
    target = hub.get("npr-3090").target
    target.parent.mkdir(parents=True)
    torch.save(net.state_dict(), target)  # model_epoch_last_3090.pth is a raw state dict
    digest = sha256sum(target)
    monkeypatch.setitem(hub.ASSETS, "npr-3090", dataclasses.replace(hub.ASSETS["npr-3090"], sha256=digest))
    tree = shaped_tree("aigcdetect", dirs / "src", dirs / "aigc", per_label=1)
    argv = ["eval", "--suite", "aigcdetect", "--data", str(tree), "--detector", "npr", "--set", "load_size=32",
            "--set", "crop_size=32", "--weights", "npr-3090", "--generators", "progan,ADM", "--quiet",
            "--out", str(dirs / "out")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "UNTRAINED" not in out and digest in out and "none (native size)" in out


# --------------------------------------------------------------------------- the Hub


class _FakeHub:
    """``hf_hub_download`` / ``HfApi().get_paths_info`` over a local folder standing for one dataset repository."""

    def __init__(self, repo: Path, sha_override: dict | None = None):
        self.repo, self.sha_override, self.calls = repo, sha_override or {}, []

    def hf_hub_download(self, repo_id, filename, *, repo_type=None, local_dir=None, **kw):
        self.calls.append((repo_id, filename, repo_type, kw.get("revision")))
        dest = Path(local_dir) / filename
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.repo / filename, dest)
        return str(dest)

    def api(self):
        hub_ = self

        class Api:
            def get_paths_info(self, repo_id, paths, repo_type=None, **kw):
                sha = hub_.sha_override.get(paths[0]) or sha256sum(hub_.repo / paths[0])
                return [types.SimpleNamespace(path=paths[0], lfs=types.SimpleNamespace(sha256=sha))]

        return Api()

    def install(self, monkeypatch):
        import huggingface_hub

        monkeypatch.setattr(huggingface_hub, "hf_hub_download", self.hf_hub_download)
        monkeypatch.setattr(huggingface_hub, "HfApi", self.api)


def _zip_tree(zip_path: Path, top: str, gens: dict) -> None:
    """A zip whose members sit under ``top/`` (the archive's own folder name), 2 images per label folder."""
    with zipfile.ZipFile(zip_path, "w") as z:
        for gen, classes in gens.items():
            for cls in classes or ("",):
                for i, lab in enumerate(("0_real", "1_fake")):
                    src = zip_path.parent / "src.png"
                    _png(src, i)
                    z.write(src, "/".join(p for p in (top, gen, cls, lab, f"{i}.png") if p))


def test_forensynths_test_comes_from_the_hub_verified_unzipped_into_the_checked_layout(dirs, monkeypatch, capsys):
    repo = dirs / "repo"
    repo.mkdir()
    _zip_tree(repo / "CNN_synth_testset.zip", "CNN_synth_testset",
              {"progan": ("airplane", "cat"), "stylegan": ("car",), "whichfaceisreal": ()})
    fake = _FakeHub(repo)
    fake.install(monkeypatch)
    assert main(["assets", "--fetch", "forensynths-test"]) == 0
    target = hub.get("forensynths-test").target
    # the repository and commit of CNNDetection's dataset/test/download_testset.sh
    assert fake.calls == [("sywang/CNNDetection", "CNN_synth_testset.zip", "dataset",
                           "f287cf3c3e92ca2e5451ce200bab8b6f5e0175b2")]
    assert (target / "progan" / "cat" / "1_fake" / "1.png").is_file() and not (target / "CNN_synth_testset").exists()
    assert not hub._staging(hub.get("forensynths-test")).exists()  # the archive is gone once unpacked
    capsys.readouterr()
    assert main(["data", "check", str(dirs / "data")]) == 0
    out = capsys.readouterr().out
    assert "forensynths13: 3 of 13 sets found" in out and "missing: biggan" in out

    # A download whose sha256 differs from the Hub's LFS record is removed and nothing is unpacked.
    shutil.rmtree(target)
    _FakeHub(repo, {"CNN_synth_testset.zip": "f" * 64}).install(monkeypatch)
    assert main(["assets", "--fetch", "forensynths-test"]) == 2
    err = capsys.readouterr().err
    assert "expected ffff" in err and "removed" in err and not target.exists()


def test_multi_part_7z_holding_a_zip_unpacks_into_the_train_layout(dirs, monkeypatch):
    py7zr = pytest.importorskip("py7zr")
    multivolumefile = pytest.importorskip("multivolumefile")
    repo = dirs / "repo"
    repo.mkdir()
    inner = dirs / "progan_train.zip"
    _zip_tree(inner, "progan_train", {"airplane": (), "tvmonitor": ()})
    with multivolumefile.MultiVolume(repo / "progan_train.7z", mode="wb", volume=400, ext_digits=3) as vol:
        with py7zr.SevenZipFile(vol, "w", filters=[{"id": py7zr.FILTER_COPY}]) as z:
            z.write(inner, "progan_train.zip")
    parts = tuple(sorted(p.name for p in repo.iterdir()))
    assert len(parts) > 1 and parts[0] == "progan_train.7z.001"  # CNNDetection's progan_train.7z.001...
    asset = dataclasses.replace(hub.ASSETS["forensynths-train"], hf_files=parts)
    monkeypatch.setitem(hub.ASSETS, "forensynths-train", asset)
    _FakeHub(repo).install(monkeypatch)
    target = hub.fetch("forensynths-train")
    assert sorted(p.name for p in target.iterdir()) == ["airplane", "tvmonitor"]
    assert (target / "airplane" / "0_real" / "0.png").is_file()
    assert not list(target.rglob("*.zip"))

    # Without py7zr the message names the one pip install that adds it.
    shutil.rmtree(target)
    monkeypatch.setitem(sys.modules, "py7zr", None)
    with pytest.raises(hub.AssetMissing, match=r"`pip install py7zr`"):
        hub.fetch("forensynths-train")


def test_unpack_refuses_members_outside_the_target(dirs):
    evil = dirs / "evil.zip"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("../outside.txt", "x")
    with pytest.raises(ValueError, match="outside"):
        hub.unpack([evil], dirs / "data" / "x")
    assert not (dirs / "data" / "outside.txt").exists()


# --------------------------------------------------------------------------- Google Drive


def test_google_drive_folder_weights_and_the_browser_steps_when_drive_refuses(dirs, monkeypatch, capsys):
    gdown = pytest.importorskip("gdown")
    name = "LGrad-4class-Trainon-Progan_car_cat_chair_horse.pth"
    seen = {}

    def download_folder(id=None, output=None, resume=False, quiet=False, **kw):
        seen.update(id=id, resume=resume)
        out = []
        for f in (name, "LGrad-1class-Trainon-Progan_horse.pth"):
            (Path(output) / f).write_bytes(f.encode())
            out.append(str(Path(output) / f))
        return out

    monkeypatch.setattr(gdown, "download_folder", download_folder)
    assert main(["assets", "--fetch", "lgrad-4class"]) == 0
    out = capsys.readouterr().out
    target = hub.get("lgrad-4class").target
    assert target.read_bytes() == name.encode()
    assert seen == {"id": "17-MAyCpMqyn4b_DFP2LekrmIgRovwoix", "resume": True}  # the LGrad README's folder
    assert "no published checksum; recorded sha256" in out

    def refuse(**kw):
        raise gdown.exceptions.FileURLRetrievalError("Too many users have viewed or downloaded this file recently")

    target.unlink()
    monkeypatch.setattr(gdown, "download_folder", refuse)
    assert main(["assets", "--fetch", "lgrad-4class"]) == 2
    err = capsys.readouterr().err
    assert "needs a browser" in err and "17-MAyCpMqyn4b_DFP2LekrmIgRovwoix" in err and "Too many users" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_browser_only_assets_print_their_steps(dirs, capsys):
    assert main(["assets", "--fetch", "aigcdetect"]) == 2
    err = capsys.readouterr().err
    assert "needs a browser" in err and "zip -s-" in err and str(hub.get("aigcdetect").target) in err
    for name in ("forensynths-train", "forensynths-val", "forensynths-test"):
        a = hub.get(name)
        assert a.hf_repo == "sywang/CNNDetection" and a.fetchable and a.unpack_marker
    assert hub.get("univfd-diffusion").gdrive == "1FXlGIRh_Ud3cScMgSVDbEWmPDmjcrm1t"
