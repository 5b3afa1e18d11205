"""The rehearsal of the full profile: the replica's layouts and checkpoints, the rehearsal registry, the shrunk
settings. (The rehearsal itself is ``make rehearse``; these are its parts, in seconds.)"""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image

import dfdlab
from dfdlab import hub, suites
from dfdlab.config import REHEARSAL_LABEL, rehearsal_settings
from dfdlab.data import ImageError, load_rgb
from dfdlab.data.replica import REPLICA_VERSION, write_checkpoints, write_layouts
from dfdlab.detectors import build, load_checkpoint
from dfdlab.files import sha256sum


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("replica") / "data"
    write_layouts(root)
    return root


def test_every_suite_finds_all_its_sets_in_the_replica(data):
    for name, suite in suites.SUITES.items():
        found = suites.locate_sets(name, data)
        assert list(found) == suite.generators, name
        for g, folders in found.items():
            ds = folders.dataset(generator=g)
            assert set(ds.targets) == {0, 1}, (name, g)  # reals (own or the shared pool) and fakes


def test_univfd_diffusion_sets_read_the_shared_real_pools(data):
    found = suites.locate_sets("univfd", data)
    assert found["guided"].real_pool.name == "imagenet" and found["ldm_200"].real_pool.name == "laion"
    assert not (found["dalle"].folder / "0_real").exists()  # as released: fakes only in the set's folder


def test_replica_holds_the_edge_cases_of_real_data(data):
    files = [p for p in data.rglob("*") if p.is_file() and p.suffix.lower() in (".png", ".jpg", ".jpeg")]
    assert {".PNG", ".JPG", ".JPEG"} <= {p.suffix for p in files}
    readable = [p for p in files if p.name != "corrupt.png"]
    modes = {Image.open(p).mode for p in readable[:12]}
    sizes = {Image.open(p).size for p in readable[:12]}
    assert {"L", "CMYK", "RGB"} <= modes and any(w % 2 or h % 2 for w, h in sizes)
    assert load_rgb(readable[3]).mode == "RGB"  # CMYK and greyscale decode to RGB
    corrupt = [p for p in files if p.name == "corrupt.png"]
    assert len(corrupt) == 1
    with pytest.raises(ImageError):
        load_rgb(corrupt[0])


def test_official_format_checkpoints_load_strictly(tmp_path):
    written = write_checkpoints(tmp_path, {"npr", "npr-3090", "ufd-fc"})
    npr_file = torch.load(written["npr"][0], weights_only=True)
    assert set(npr_file) == {"model"} and all(k.startswith("module.") for k in npr_file["model"])
    assert not any(k.startswith("module.") for k in torch.load(written["npr-3090"][0], weights_only=True))
    assert set(torch.load(written["ufd-fc"][0], weights_only=True)) == {"weight", "bias"}
    for name in ("npr", "npr-3090"):
        load_checkpoint(build("npr"), written[name][0])


def _registry(root, assets):
    (root / "registry.json").write_text(json.dumps({"version": REPLICA_VERSION, "assets": assets}))


def test_rehearsal_registry_points_at_replica_files_and_keeps_their_checks(tmp_path, monkeypatch):
    written = write_checkpoints(tmp_path / "weights", {"npr"})
    f = written["npr"][0]
    _registry(tmp_path, {"npr": {"path": "weights/NPR.pth", "sha256": sha256sum(f), "note": "random"}})
    published = hub.ASSETS["npr"]
    monkeypatch.setenv("DFDLAB_REHEARSAL", str(tmp_path))
    monkeypatch.setenv("DFDLAB_PROFILE", "quick")
    assert hub.get("npr") is published  # only a rehearsal of the full profile reads the registry
    monkeypatch.setenv("DFDLAB_PROFILE", "full")
    assert hub.path("npr") == f and hub.get("npr").rehearsal
    assert REHEARSAL_LABEL in hub.get("npr").description
    assert hub.ASSETS["npr"] is published and hub.get("npr-3090").target == published_target("npr-3090")
    assert dfdlab.data_root() == tmp_path / "data"
    f.write_bytes(f.read_bytes() + b"x")  # a changed replica file fails its own checksum
    (f.parent / (f.name + ".sha256.json")).unlink(missing_ok=True)
    with pytest.raises(hub.ChecksumMismatch):
        hub.path("npr")


def published_target(name):
    return hub.ASSETS[name].target


def test_missing_gives_one_sentence_per_asset(monkeypatch, tmp_path):
    monkeypatch.setenv("DFDLAB_HOME", str(tmp_path))
    lines = hub.missing(["npr", "lgrad-4class"])
    assert len(lines) == 2 and all(line.startswith("Skipped: the asset") for line in lines)
    assert "dfdlab assets --fetch npr" in lines[0] and "lgrad-4class" in lines[1]


def test_rehearsal_settings_shrink_the_full_profile(monkeypatch, tmp_path, capsys):
    quick = {"epochs": 2, "size": 64, "data": "mini", "n": 50, "all": None}
    full = {"epochs": 50, "size": 256, "data": "ForenSynths", "n": None, "all": None}
    assert rehearsal_settings(quick, full, {"n": 1}) == {"epochs": 2, "size": 64, "data": "ForenSynths", "n": 1,
                                                          "all": None}
    with pytest.raises(ValueError, match="keys the lesson does not have"):
        rehearsal_settings(quick, full, {"typo": 1})
    monkeypatch.setenv("DFDLAB_PROFILE", "full")
    monkeypatch.setenv("DFDLAB_REHEARSAL", str(tmp_path))
    cfg = dfdlab.settings(quick, full, rehearsal={"n": 1})
    assert (cfg.epochs, cfg.data, cfg.n, cfg.profile) == (2, "ForenSynths", 1, "full")
    shown = capsys.readouterr().out
    assert "rehearsal" in shown.splitlines()[0] and REHEARSAL_LABEL in shown
    assert dfdlab.config.labelled("AP").endswith("not a result]")
    monkeypatch.delenv("DFDLAB_REHEARSAL")
    assert dfdlab.settings(quick, full, show=False, rehearsal={"n": 1}).epochs == 50
    assert dfdlab.config.labelled("AP") == "AP"


def test_small_openai_layout_clip_stands_in_for_vit_l14(tmp_path, monkeypatch):
    written = write_checkpoints(tmp_path / "weights", {"clip-vit-l-14-openai", "ufd-fc"})
    _registry(tmp_path, {n: {"path": str(p.relative_to(tmp_path)), "sha256": sha256sum(p), "note": "random"}
                         for n, (p, _) in written.items()})
    monkeypatch.setenv("DFDLAB_PROFILE", "full")
    monkeypatch.setenv("DFDLAB_REHEARSAL", str(tmp_path))
    model = build("univfd", head_weights="official")  # the default ViT-L-14 path, through the registry
    assert model.is_stand_in and model.feature_dim == 768
    with torch.no_grad():
        assert model(torch.zeros(2, 3, 224, 224)).shape == (2,)


def test_rehearsal_runs_every_lesson_suite_predict_and_recipe(data, tmp_path):
    from dfdlab.recipes import RECIPES
    from dfdlab.reproduce import REPO, rehearsal_steps

    steps = rehearsal_steps(tmp_path, data.parent, REPO / "notebooks")
    lessons = {name for kind, name, _ in steps if kind == "lesson"}
    assert lessons == {p.stem for p in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    (cli,) = [what for kind, _, what in steps if kind == "cli"]
    commands = [argv for _, argv in cli]
    assert {argv[argv.index("--suite") + 1] for argv in commands if argv[0] == "eval"} == set(suites.SUITES)
    assert {argv[argv.index("--recipe") + 1] for argv in commands if argv[0] == "train"} == set(RECIPES)
    assert all("--weights" in argv for argv in commands if argv[0] in ("eval", "predict"))
