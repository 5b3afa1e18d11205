"""A member's detector in one file outside the package (``dfdlab.plugins``): ``dfdlab train``, ``dfdlab eval
--suite`` over the rehearsal replica, the quick zoo, the fair comparison table, the ledger and the demo widget
pick it up with no edit to dfdlab; a broken or clashing plugin is one clear error naming its file."""

from __future__ import annotations

import dfdlab  # noqa: F401  (compat shim before torchvision)

# isort: split
import subprocess
import sys

import pandas as pd
import pytest
import torch

from dfdlab import detectors, ledger, plugins, widgets, zoo
from dfdlab.cli import main
from dfdlab.data import generator_sets
from dfdlab.data.replica import write_layouts
from dfdlab.detectors import base
from dfdlab.evaluate import evaluate

pytestmark = pytest.mark.usefixtures("one_torch_thread")

NAME = "member_idea"


@pytest.fixture(scope="module")
def replica(tmp_path_factory):
    root = tmp_path_factory.mktemp("replica") / "data"
    write_layouts(root)
    return root


@pytest.fixture
def clean_registry():
    """Whatever a test's plugins register is gone afterwards (the registry is process-wide)."""
    registry, aliases, quick = dict(base._REGISTRY), dict(base.ALIASES), dict(zoo.QUICK_ZOO)
    loaded, entries = dict(plugins._LOADED), dict(plugins.ZOO_ENTRIES)
    yield
    for d, keep in ((base._REGISTRY, registry), (base.ALIASES, aliases), (zoo.QUICK_ZOO, quick),
                    (plugins._LOADED, loaded), (plugins.ZOO_ENTRIES, entries)):
        d.clear()
        d.update(keep)


@pytest.fixture
def plugin_file(tmp_path, clean_registry, capsys):
    """``dfdlab new-detector member_idea --out <tmp>``: the template, outside the package."""
    out = tmp_path / "my_plugins"
    out.mkdir()
    assert main(["new-detector", NAME, "--out", str(out)]) == 0
    path = out / f"{NAME}.py"
    assert str(path) in capsys.readouterr().out
    assert NAME not in base._REGISTRY  # writing it loads nothing
    return path


def test_new_detector_writes_a_working_template_and_refuses_taken_names(plugin_file, tmp_path, capsys):
    text = plugin_file.read_text()
    assert f'@register("{NAME}")' in text and "class MemberIdea(Detector)" in text and "EXPERIMENT" in text
    assert main(["new-detector", NAME, "--out", str(plugin_file.parent)]) == 2  # exists: --force to overwrite
    assert "exists" in capsys.readouterr().err
    for taken in ("npr", "ufd", "tiny"):
        assert main(["new-detector", taken, "--out", str(tmp_path)]) == 2
        assert "taken" in capsys.readouterr().err
    assert main(["new-detector", "Bad-Name", "--out", str(tmp_path)]) == 2
    assert plugins.load_plugin(plugin_file) == [NAME]
    assert plugins.load_plugin(plugin_file) == [NAME]  # a second load is a no-op
    model = detectors.build(NAME, load_size=64, crop_size=56)
    assert model.recipe == "npr" and model.describe("test", "gangen")["input_size"] == "native"
    with torch.no_grad():  # one logit per image, odd sizes trimmed
        assert model.eval()(torch.randn(2, 3, 56, 56)).shape == (2,)
        assert model(torch.randn(1, 3, 63, 61)).shape == (1,)
    # its zoo entry is NPR's budget, by construction
    entry = zoo.QUICK_ZOO[NAME]
    assert all(entry[k] == zoo.QUICK_ZOO["npr"][k] for k in ("build", "epochs", "batch_size", "seed"))


def test_train_and_eval_suite_over_the_replica_pick_up_the_plugin(plugin_file, replica, tmp_path, capsys,
                                                                  monkeypatch):
    out = tmp_path / "run"
    argv = ["--plugin", str(plugin_file), "train", "--detector", NAME, "--data", str(replica / "ForenSynths"),
            "--classes", "horse", "--epochs", "1", "--batch-size", "2", "--set", "load_size=64",
            "--set", "crop_size=56", "--out", str(out), "--no-resume", "--quiet", "--device", "cpu"]
    assert main(argv) == 0, capsys.readouterr().err
    ck = torch.load(out / "last.pth", weights_only=True)
    assert ck["total_steps"] == 1 and ck["recipe"]["name"] == "npr"  # one step of NPR's recipe
    capsys.readouterr()
    # eval --suite through DFDLAB_PLUGINS (a folder), in a fresh registry: nothing loaded by hand
    for d in (base._REGISTRY, zoo.QUICK_ZOO, plugins.ZOO_ENTRIES):
        d.pop(NAME, None)
    plugins._LOADED.clear()
    monkeypatch.setenv("DFDLAB_PLUGINS", str(plugin_file.parent))
    suite_out = tmp_path / "suites"
    assert main(["eval", "--suite", "forensynths", "--detector", NAME, "--checkpoint", str(out / "best.pth"),
                 "--set", "load_size=64", "--set", "crop_size=56", "--data", str(replica), "--out", str(suite_out),
                 "--generators", "biggan,stargan", "--quiet", "--device", "cpu"]) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "biggan" in printed.lower() and "stargan" in printed.lower()
    (csv,) = [p for p in suite_out.glob("*.csv") if not p.stem.endswith("_skipped")]
    table = pd.read_csv(csv)
    assert set(table["detector"]) == {NAME} and {"biggan", "stargan"} <= set(table["generator"])
    assert table["ap"].between(0, 1).all()


def test_zoo_fair_table_ledger_and_widget_pick_up_the_plugin(plugin_file, replica, tmp_path, monkeypatch):
    monkeypatch.setenv("DFDLAB_PLUGINS", str(plugin_file))  # the zoo loads it: no import, no edit
    root = replica / "ForenSynths"  # train/ val/ test/ as the mini benchmark: a tiny stand-in for it
    sets = generator_sets(root / "test")
    sets = {g: sets[g] for g in ("biggan", "stargan", "gaugan")}
    runs, settings = {}, {}
    for name, seeds in ((NAME, (100, 1)), ("npr", (100, 1))):
        runs[name] = {}
        for seed in seeds:
            model, info = zoo.train_quick(name, root, seed=seed)
            runs[name][seed] = evaluate(model, sets, progress=False)
        settings[name] = plugins.run_settings(name, info, "replica test sets, every image")
    # each (seed, benchmark) has its own folder: the entry's seed and seed 1, both tagged with this replica
    assert zoo._folder(NAME, 100, root) != zoo._folder(NAME, 1, root) != zoo._folder(NAME, 1)
    assert (zoo._folder(NAME, 100, root) / "best.pth").exists() and (zoo._folder(NAME, 1, root) / "best.pth").exists()
    assert zoo.train_quick(NAME, root, seed=1)[1]["from_cache"]  # each seed cached on its own
    table = plugins.fair_table(runs, settings, train_generator="biggan")
    assert list(table.index) == [NAME, "npr"] and (table["n seeds"] == 2).all()
    assert table.loc[NAME, "budget"].startswith(f"QUICK_ZOO['{NAME}']: 4 epochs x batch 32")
    assert table.loc[NAME, ["epochs", "batch size", "recipe"]].tolist() == table.loc["npr", ["epochs", "batch size",
                                                                                             "recipe"]].tolist()
    unseen = [runs[NAME][s].set_index("generator").loc[["stargan", "gaugan"], "ap"].mean() * 100 for s in (100, 1)]
    assert table.loc[NAME, "unseen AP mean"] == pytest.approx(sum(unseen) / 2)
    assert table.loc[NAME, "unseen AP sd"] == pytest.approx(pd.Series(unseen).std(ddof=1))
    # unlike runs are refused, naming what differs
    settings_bad = {**settings, "npr": {**settings["npr"], "test images": "other images"}}
    with pytest.raises(ValueError, match="test images"):
        plugins.fair_table(runs, settings_bad, train_generator="biggan")
    # the ledger files it with the mini-benchmark results, under its own name
    results = tmp_path / "results"
    monkeypatch.setenv("DFDLAB_RESULTS", str(results))
    long = pd.concat([pd.DataFrame(runs[n][100].to_dict("list")).assign(detector=n) for n in runs])[["detector", "generator", "ap", "acc"]]
    ledger.record(long, "plugin_table", "a plugin beside NPR", data="mini benchmark")
    rows, _ = ledger.gather(results)
    assert set(rows["model"]) == {NAME, "npr"} and (rows["benchmark"] == ledger.MINI).all()
    # the demo widget on this benchmark lists and scores it from the zoo
    demo = widgets.Demo(root=root)
    assert NAME in demo.names
    img = next((root / "test" / "stargan" / "1_fake").iterdir())
    assert demo.show_path(img) and 0 <= demo.scores[NAME] <= 1 and "EXPERIMENT" in demo.status[NAME]


def plugin_text(name: str) -> str:
    """The template as ``name`` (what ``dfdlab new-detector`` writes), without the name checks."""
    return plugins.TEMPLATE.read_text().replace(plugins.TEMPLATE_NAME, name)


def test_bad_plugins_are_one_clear_error_naming_the_file(tmp_path, clean_registry, capsys, monkeypatch):
    broken = tmp_path / "broken.py"
    broken.write_text("import torch\n\nx = 1 / 0\n")
    with pytest.raises(plugins.PluginError, match=rf"{broken}.*line 3.*ZeroDivisionError"):
        plugins.load_plugin(broken)
    assert main(["--plugin", str(broken), "doctor"]) == 2
    err = capsys.readouterr().err
    assert str(broken) in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    # a clash with a built-in name, by a class of another name or of the same name
    for i, cls in enumerate(("Mine", "NPR")):
        clash = tmp_path / f"clash{i}.py"
        clash.write_text("from dfdlab.detectors import Detector, register\n\n"
                         f"@register('npr')\nclass {cls}(Detector):\n    recipe = 'npr'\n")
        with pytest.raises(plugins.PluginError, match=rf"{clash}.*'npr'"):
            plugins.load_plugin(clash)
        assert detectors.get("npr").__module__ == "dfdlab.detectors.npr"  # the built-in is untouched
    alias = tmp_path / "alias.py"
    alias.write_text("from dfdlab.detectors import Detector, register\n\n"
                     "@register('ufd')\nclass U(Detector):\n    recipe = 'npr'\n")
    with pytest.raises(plugins.PluginError, match=rf"{alias}.*'ufd'.*taken"):
        plugins.load_plugin(alias)
    zoo_clash = tmp_path / "zoo_clash.py"
    zoo_clash.write_text(plugin_text("univfd_finetuned"))
    with pytest.raises(plugins.PluginError, match=rf"{zoo_clash}.*quick zoo already has an entry 'univfd_finetuned'"):
        plugins.load_plugin(zoo_clash)
    assert "univfd_finetuned" not in base._REGISTRY and "plugin" not in zoo.QUICK_ZOO["univfd_finetuned"]
    empty = tmp_path / "empty.py"
    empty.write_text("X = 1\n")
    with pytest.raises(plugins.PluginError, match=rf"{empty} registers no detector"):
        plugins.load_plugin(empty)
    no_recipe = tmp_path / "no_recipe.py"
    no_recipe.write_text("import torch\nfrom dfdlab.detectors import Detector, register\n\n"
                         "@register('no_recipe_det')\nclass N(Detector):\n    recipe = 'nope'\n"
                         "    def forward(self, x):\n        return x.mean((1, 2, 3))\n"
                         "    def preprocessing(self, split, benchmark, augment):\n        raise NotImplementedError\n")
    with pytest.raises(plugins.PluginError, match=rf"{no_recipe}.*recipe = 'nope'"):
        plugins.load_plugin(no_recipe)
    assert "no_recipe_det" not in base._REGISTRY  # a refused plugin leaves nothing behind
    with pytest.raises(plugins.PluginError, match="does not exist"):
        plugins.load_plugins(str(tmp_path / "missing.py"))
    # DFDLAB_PLUGINS naming a broken file: the command says which file, in one line
    monkeypatch.setenv("DFDLAB_PLUGINS", str(broken))
    assert main(["doctor"]) == 2
    assert str(broken) in capsys.readouterr().err


def test_a_fresh_process_sees_the_plugin_through_the_environment(plugin_file, tmp_path):
    code = (f"from dfdlab import detectors, zoo; assert {NAME!r} in detectors.available(); "
            f"assert {NAME!r} in zoo.QUICK_ZOO; print('ok')")
    env = {"DFDLAB_PLUGINS": str(plugin_file), "DFDLAB_HOME": str(tmp_path / "home"), "OMP_NUM_THREADS": "1",
           "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
