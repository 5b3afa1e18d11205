"""The try-it-yourself demo, driven programmatically: pick, upload, broken upload, read the outputs."""

from __future__ import annotations

import datetime
import io
import json

import numpy as np
import pytest
import torch
from PIL import Image

import dfdlab
from dfdlab import widgets, zoo


def _upload(demo, name: str, data: bytes):
    demo.upload.value = ({"name": name, "type": "image/png", "size": len(data), "content": memoryview(data),
                          "last_modified": datetime.datetime.now(datetime.timezone.utc)},)


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)  # the shared 2-core machine: 2 threads under load are far slower
    yield
    torch.set_num_threads(n)


def test_demo_untrained_detectors_show_no_score_and_panels_are_the_papers_maps(mini_root):
    demo = widgets.demo(root=mini_root, detector_names=["npr", "ufd"], display=False)
    labels = [lab for lab, _ in demo.picker.options[1:]]
    assert any("ae_nearest_f4 / 1_fake" in lab for lab in labels) and any("0_real" in lab for lab in labels)
    path = next(p for lab, p in demo.picker.options if "dcgan_transposed / 1_fake" in lab)
    demo.picker.value = path  # what a click does
    assert demo.message.startswith(path.split("/")[-1]) and "64x64" in demo.message
    # Untrained (fresh DFDLAB_HOME: no quick zoo): listed, no score, told to train first.
    assert demo.scores == {"npr": None, "ufd": None}
    assert all("untrained: no score" in s and "train" in s.lower() for s in demo.status.values())
    assert "untrained: no score" in demo.scores_box.value and "0." not in demo.scores_box.value.split("<td>")[2]
    # The four panels, side by side.
    titles = list(demo.panels)
    assert titles[0] == "image" and titles[1].startswith("NPR residual") and "spectrum" in titles[3]
    assert "STAND-IN D" in titles[2]  # no official StyleGAN D offline: the shipped mini StyleGAN D, labelled
    img = np.asarray(Image.open(path).convert("RGB"))
    assert np.array_equal(demo.panels["image"], img)
    npr = demo.panels[titles[1]]
    assert npr.shape == (64, 64) and np.all(npr[0::2, 0::2] == 0) and npr.max() > 0  # top-left of each 2x2 is 0
    grad = demo.panels[titles[2]]
    assert grad.dtype == np.uint8 and grad.shape == (64, 64, 3) and grad.min() == 0 and grad.max() == 255
    assert demo.panels[titles[3]].shape == (64, 64) and demo.figure is not None


def test_demo_scores_with_a_cached_checkpoint_and_handles_broken_uploads(mini_root, tmp_path):
    # A quick-zoo entry as train_quick writes it (weights: a seeded untrained NPR, enough to check the wiring).
    dfdlab.seed_everything(0)
    cfg = zoo.QUICK_ZOO["npr"]["build"]
    ref = dfdlab.detectors.build("npr", **cfg).eval()
    out = zoo.zoo_dir() / "npr"
    out.mkdir(parents=True)
    torch.save(ref.state_dict(), out / "best.pth")
    (out / "info.json").write_text(json.dumps({"build": cfg, "note": "test weights", "checkpoint_sha256": "ab" * 32}))

    demo = widgets.Demo(root=mini_root, detector_names=["npr", "cnnspot"])
    buf = io.BytesIO()
    photo = Image.fromarray(np.random.default_rng(0).integers(0, 255, (77, 101, 3), dtype=np.uint8))
    photo.save(buf, "PNG")
    _upload(demo, "odd.png", buf.getvalue())
    assert demo.message == "odd.png: 101x77 pixels"
    with torch.no_grad():
        expected = torch.sigmoid(ref(ref.transform(False)(photo)[None])).item()
    assert demo.scores["npr"] == pytest.approx(expected, abs=1e-6)
    assert f"{expected:.3f}" in demo.scores_box.value and "trained on the mini benchmark" in demo.status["npr"]
    assert demo.scores["cnnspot"] is None
    assert demo.panels["NPR residual |x - up(down(x))|"].shape == (76, 100)  # odd sizes trimmed, as NPR

    # Broken uploads: a clear one-line message naming the file, no scores, no panels, no exception.
    for name, data in (("notes.png", b"this is text"), ("cut.png", buf.getvalue()[:30]), ("empty.jpg", b"")):
        _upload(demo, name, data)
        assert demo.message.startswith(f"Could not read {name} as an image:"), demo.message
        assert "Upload a PNG, JPEG" in demo.message and "#b00020" in demo.message_box.value
        assert demo.scores == {} and demo.panels == {} and demo.scores_box.value == ""
    # And a good one afterwards works again.
    assert demo.show_path(next(mini_root.glob("test/*/0_real/*.png")))
    assert demo.scores["npr"] is not None


def test_demo_without_the_mini_benchmark_says_how_to_get_it():
    demo = widgets.Demo(root=None, detector_names=[])
    assert widgets.cached_mini_root() is None  # fresh DFDLAB_HOME
    assert len(demo.picker.options) == 1 and "build_mini" in demo.message
