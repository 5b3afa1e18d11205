"""The one checkpoint reader: every model family loads through it, strictly, naming the file on error."""

from __future__ import annotations

import collections

import pytest
import torch
from torch import nn

from dfdlab import checkpoints, detectors
from dfdlab.checkpoints import CheckpointError, load_checkpoint, read_checkpoint, unwrap_state_dict


def test_detector_checkpoint_with_wrong_keys_lists_missing_and_unexpected_and_names_the_file(tmp_path):
    model = detectors.build("npr")
    sd = model.state_dict()
    # a checkpoint of another head name: fc1.* is missing, fc.* is unexpected
    wrong = {("fc." + k[len("fc1."):] if k.startswith("fc1.") else k): v for k, v in sd.items()}
    path = tmp_path / "npr_other_head.pth"
    torch.save({"model": {f"module.{k}": v for k, v in wrong.items()}}, path)  # NPR.pth's DDP layout
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(CheckpointError) as e:
        detectors.load_checkpoint(model, path)
    msg = str(e.value)
    assert str(path) in msg and "does not fit NPR" in msg
    assert "missing keys (2): fc1.weight, fc1.bias" in msg and "unexpected keys (2): fc.weight, fc.bias" in msg
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # nothing half-loaded
    # the public name is the one reader
    assert detectors.load_checkpoint is checkpoints.load_checkpoint
    assert detectors.CheckpointError is CheckpointError


def test_wrappers_entries_conversion_and_safetensors(tmp_path):
    from safetensors.torch import save_file

    net = nn.Linear(3, 2)
    sd = net.state_dict()
    for name, obj in {"raw.pth": sd, "trainer.pth": {"model": sd, "optimizer": {}, "total_steps": 1},
                      "open_clip.pth": {"epoch": 1, "state_dict": {f"module.{k}": v for k, v in sd.items()}},
                      "genforce.pth": {"generator": {}, "discriminator": sd}}.items():
        torch.save(obj, tmp_path / name)
        got = load_checkpoint(nn.Linear(3, 2), tmp_path / name, entry="discriminator")
        assert all(torch.equal(a, b) for a, b in zip(got.state_dict().values(), sd.values(), strict=True)), name
    save_file(dict(sd), str(tmp_path / "w.safetensors"))
    assert set(read_checkpoint(tmp_path / "w.safetensors")) == {"weight", "bias"}
    # convert maps foreign names before the strict check
    torch.save({"w": sd["weight"], "b": sd["bias"]}, tmp_path / "renamed.pth")
    load_checkpoint(nn.Linear(3, 2), tmp_path / "renamed.pth", convert=lambda d: {"weight": d["w"], "bias": d["b"]})
    with pytest.raises(CheckpointError, match="(?s)renamed.pth.*missing keys \\(2\\): weight, bias"):
        load_checkpoint(nn.Linear(3, 2), tmp_path / "renamed.pth")
    with pytest.raises(CheckpointError, match="not tensors"):
        unwrap_state_dict({"weight": [1, 2]}, source="toy")
    (tmp_path / "bad.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{garbage")
    with pytest.raises(CheckpointError, match="bad.safetensors"):
        read_checkpoint(tmp_path / "bad.safetensors")


def test_gan_pairs_load_through_the_reader(tmp_path):
    from dfdlab.gan import Discriminator, Generator, load_pair, save_pair

    G, D = Generator(nz=8, ngf=8), Discriminator(ndf=8)
    save_pair(tmp_path / "pair.pth", G, D, history=[{"loss": 1.0}])
    G2, _ = load_pair(tmp_path / "pair.pth")
    assert all(torch.equal(a, b) for a, b in zip(G2.state_dict().values(), G.state_dict().values(), strict=True))
    obj = torch.load(tmp_path / "pair.pth", weights_only=True)
    obj["D"] = collections.OrderedDict((k.replace("net.", "main.", 1), v) for k, v in obj["D"].items())
    torch.save(obj, tmp_path / "renamed.pth")
    with pytest.raises(CheckpointError, match=r"(?s)renamed.pth \['D'\].*missing keys.*unexpected keys"):
        load_pair(tmp_path / "renamed.pth")
    (tmp_path / "page.pth").write_text("<html>quota exceeded</html>")
    with pytest.raises(CheckpointError, match="page.pth is not a PyTorch file"):
        load_pair(tmp_path / "page.pth")
