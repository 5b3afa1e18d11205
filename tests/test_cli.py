"""The ``dfdlab`` command: predict, eval, train, data check. One line per problem, never a traceback."""

from __future__ import annotations

import dfdlab  # noqa: F401  (compat shim before torchvision)

# isort: split
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from torch import nn
from torchvision import transforms as T

from dfdlab import detectors
from dfdlab.cli import main


def _folder(root, n=10, seed=0):
    rng = np.random.default_rng(seed)
    paths = []
    for sub in ("0_real", "1_fake"):
        (root / sub).mkdir(parents=True)
        for i in range(n):
            p = root / sub / f"{i}.png"
            Image.fromarray(rng.integers(0, 256, (36, 36, 3), dtype=np.uint8)).save(p)
            paths.append(p)
    return paths


@detectors.register("tiny_cli_test")
class TinyCLI(detectors.Detector):
    """A small stand-in so the CLI tests stay fast; ``cnnspot`` runs once in the predict test."""

    def __init__(self, crop_size: int = 32):
        super().__init__()
        self.crop_size = crop_size
        self.conv = nn.Conv2d(3, 4, 3, stride=2)
        self.fc = nn.Linear(4, 1)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).mean((2, 3))).squeeze(1)

    def transform(self, train=False):
        return T.Compose([T.CenterCrop(self.crop_size), T.ToTensor()])


@pytest.fixture()
def ckpt(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "tiny.pth"
    torch.save({"model": TinyCLI().state_dict(), "total_steps": 0}, path)
    return path


def test_predict_lines_exit_codes_and_no_traceback(tmp_path, ckpt, capsys):
    good = _folder(tmp_path / "imgs", n=1)
    broken = tmp_path / "broken.png"
    broken.write_bytes(good[0].read_bytes()[:20])
    notimg = tmp_path / "notes.jpg"
    notimg.write_text("hello")
    base = ["predict", "--detector", "tiny_cli_test", "--checkpoint", str(ckpt)]

    assert main(base + [str(p) for p in good]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    path, prob, verdict = lines[0].split("\t")
    assert path == str(good[0]) and 0.0 <= float(prob) <= 1.0 and verdict in ("real", "fake")

    code = main(base + [str(good[0]), str(broken), str(notimg), str(tmp_path / "missing.png")])
    out, err = capsys.readouterr()
    assert code == 1
    lines = out.strip().splitlines()
    assert len(lines) == 4 and lines[0].startswith(str(good[0]))
    for line, name in zip(lines[1:], ("broken.png", "notes.jpg", "missing.png"), strict=True):
        assert line.startswith("error: ") and name in line
    assert "Traceback" not in out + err

    # Untrained weights are refused unless asked for; a checkpoint that does not fit is one line.
    assert main(["predict", "--detector", "tiny_cli_test", str(good[0])]) == 2
    assert "--allow-untrained" in capsys.readouterr().err
    assert main(["predict", "--detector", "tiny_cli_test", "--allow-untrained", str(good[0])]) == 0
    assert "UNTRAINED" in capsys.readouterr().err
    wrong = tmp_path / "wrong.pth"
    torch.save({"fc.weight": torch.zeros(1, 4)}, wrong)
    assert main(["predict", "--detector", "tiny_cli_test", "--checkpoint", str(wrong), str(good[0])]) == 2
    err = capsys.readouterr().err
    assert "wrong.pth" in err and "missing keys" in err and "Traceback" not in err and len(err.splitlines()) == 1
    assert main(["predict", "--detector", "nope", "--checkpoint", str(ckpt), str(good[0])]) == 2
    assert "unknown detector" in capsys.readouterr().err

    # The real baseline through the same path: an official-format cnnspot checkpoint.
    cnn = tmp_path / "cnnspot.pth"
    torch.save({"model": detectors.build("cnnspot").state_dict(), "optimizer": {}, "total_steps": 0}, cnn)
    assert main(["predict", "--detector", "cnnspot", "--checkpoint", str(cnn), "--set", "crop_size=32",
                 str(good[0]), str(broken)]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith(str(good[0])) and lines[1].startswith("error: ")


def test_eval_table_csv_and_skipped_files(tmp_path, ckpt, capsys):
    paths = _folder(tmp_path / "test" / "gan_a", seed=1)
    _folder(tmp_path / "test" / "gan_b", n=4, seed=2)
    paths[3].write_bytes(b"")
    paths[12].write_text("not an image")
    csv = tmp_path / "out" / "table.csv"
    code = main(["eval", "--detector", "tiny_cli_test", "--checkpoint", str(ckpt), "--data", str(tmp_path / "test"),
                 "--csv", str(csv), "--set", "crop_size=30", "--batch-size", "8", "--quiet"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "gan_a" in out and "gan_b" in out and "mean" in out
    assert "skipped 2" in err and str(paths[3]) in err and str(paths[12]) in err
    table = pd.read_csv(csv)
    assert list(table["generator"]) == ["gan_a", "gan_b", "mean"]
    assert list(table["n"]) == [18, 8, 26] and list(table["skipped"]) == [2, 0, 2]
    assert len(pd.read_csv(tmp_path / "out" / "table_skipped.csv")) == 2

    assert main(["eval", "--detector", "tiny_cli_test", "--checkpoint", str(ckpt), "--data", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_data_check(tmp_path, capsys):
    _folder(tmp_path / "ok" / "test" / "gan", n=2)
    assert main(["data", "check", str(tmp_path / "ok")]) == 0
    assert "gan" in capsys.readouterr().out
    (tmp_path / "bad" / "test" / "gan" / "0_real").mkdir(parents=True)  # no 1_fake, no images
    assert main(["data", "check", str(tmp_path / "bad")]) == 1
    out, err = capsys.readouterr()
    assert "1_fake" in out and "Traceback" not in out + err
    assert main(["data", "check", str(tmp_path / "absent")]) == 2


# ---------------------------------------------------------------- train


def _split(root: Path, n: int, seed: int):
    rng = np.random.default_rng(seed)
    for label, folder in enumerate(("0_real", "1_fake")):
        (root / folder).mkdir(parents=True)
        for i in range(n):
            a = np.kron(rng.integers(0, 256, (4, 4, 3)), np.ones((4, 4, 1))) if label else rng.integers(0, 256, (16, 16, 3))
            Image.fromarray(a.astype(np.uint8)).save(root / folder / f"{i:02d}.png")


def test_train_seeds_before_building_skips_unreadable_files_and_names_them(tmp_path, capsys):
    data = tmp_path / "data"
    _split(data / "train" / "car", 6, 0)
    _split(data / "holdout" / "car", 3, 1)
    (data / "train" / "car" / "1_fake" / "05.png").unlink()
    broken = data / "train" / "car" / "1_fake" / "99.png"  # 11 readable files + 1: three batches of 4
    broken.write_bytes(b"\x89PNG not really")
    argv = ["train", "--detector", "tiny", "--set", "size=8", "--data", str(data), "--val-split", "holdout",
            "--classes", "car", "--epochs", "2", "--batch-size", "4", "--seed", "3", "--quiet", "--device", "cpu"]
    torch.manual_seed(123)
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    out, err = capsys.readouterr()
    assert "val_acc" in out and "best:" in out
    assert "skipped 1 unreadable training file" in err and str(broken) in err and "Traceback" not in err
    listed = pd.read_csv(tmp_path / "a" / "train_skipped.csv")
    assert list(listed["path"]) == [str(broken)]  # each file once, not once per epoch
    ck = torch.load(tmp_path / "a" / "last.pth", weights_only=True)
    assert ck["total_steps"] == 2 * 3 and ck["recipe"]["batch_size"] == 4 and ck["seed"] == 3
    torch.manual_seed(456)  # other global RNG state: the seed, set before the model is built, decides the weights
    assert main([*argv, "--out", str(tmp_path / "b")]) == 0
    b = torch.load(tmp_path / "b" / "last.pth", weights_only=True)
    assert all(torch.equal(v, b["model"][k]) for k, v in ck["model"].items())
    # A user error is one line: no such split, an unknown detector.
    capsys.readouterr()
    assert main([*("nope" if a == "holdout" else a for a in argv), "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and len(err.strip().splitlines()) == 1
    assert main(["train", "--detector", "nope", "--data", str(data), "--out", str(tmp_path / "c")]) == 2
    assert "unknown detector" in capsys.readouterr().err


def test_train_help_is_the_same_for_dfdlab_train_and_python_m_dfdlab_train(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "100")  # argparse wraps to the terminal width
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    dfdlab_train = capsys.readouterr().out
    python_m = subprocess.run([sys.executable, "-m", "dfdlab.train", "--help"], capture_output=True, text=True,
                              env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=120, check=True).stdout
    assert python_m == dfdlab_train
    for option in ("--val-split", "--seed", "--batch-size", "--detector", "--no-resume"):
        assert option in dfdlab_train
