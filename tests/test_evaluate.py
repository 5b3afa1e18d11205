"""Metrics against sklearn and hand-computed values; evaluation over folders with broken files."""

from __future__ import annotations

import math
import warnings

import dfdlab  # noqa: F401  (compat shim before torchvision)

# isort: split
import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.metrics import accuracy_score, average_precision_score, roc_auc_score
from torch import nn
from torchvision import transforms as T

from dfdlab.detectors import Detector
from dfdlab.evaluate import evaluate, metrics, oracle_accuracy, paper_style, paper_table, predict, robustness


class MeanPixel(Detector):
    """Tiny detector: logit = a * (mean pixel - 0.5). Size-agnostic, deterministic, fast."""

    name = "mean_pixel_test"

    def __init__(self):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(8.0))

    def forward(self, x):
        return self.a * (x.mean(dim=(1, 2, 3)) - 0.5)

    def transform(self, train=False):
        return T.ToTensor()


def make_forensynths(root, n_real=10, n_fake=10, seed=0, sizes=((32, 32),)):
    """``root/{0_real,1_fake}/*.png``: darker reals, brighter fakes (overlapping), PNGs of the given sizes."""
    rng = np.random.default_rng(seed)
    paths = []
    for label, n in ((0, n_real), (1, n_fake)):
        d = root / ("0_real" if label == 0 else "1_fake")
        d.mkdir(parents=True)
        for i in range(n):
            h, w = sizes[i % len(sizes)]
            level = rng.uniform(0.25, 0.6) if label == 0 else rng.uniform(0.4, 0.75)
            arr = np.clip(rng.normal(level * 255, 20, (h, w, 3)), 0, 255).astype(np.uint8)
            p = d / f"{i:03d}.png"
            Image.fromarray(arr).save(p)
            paths.append(p)
    return paths


def break_three(paths):
    """Truncated (header only), not an image, empty: the three ways a download goes wrong."""
    truncated, text, empty = paths[2], paths[7], paths[15]
    truncated.write_bytes(truncated.read_bytes()[:20])
    text.write_text("<html>404 Not Found</html>")
    empty.write_bytes(b"")
    return {str(truncated), str(text), str(empty)}


def test_metrics_equal_sklearn_on_random_data():
    rng = np.random.default_rng(0)
    for trial in range(20):
        n = int(rng.integers(10, 300))
        y = rng.integers(0, 2, n)
        y[0], y[1] = 0, 1
        s = rng.random(n)
        if trial % 2:  # ties and exact 0.5 values, as saturated float32 sigmoids give
            s = np.round(s * 4) / 4
        m = metrics(y, s)
        assert m["n"] == n
        assert m["ap"] == pytest.approx(average_precision_score(y, s), abs=1e-12)
        assert m["auc"] == pytest.approx(roc_auc_score(y, s), abs=1e-12)
        assert m["acc"] == pytest.approx(accuracy_score(y, s > 0.5))
        assert m["r_acc"] == pytest.approx(accuracy_score(y[y == 0], s[y == 0] > 0.5))
        assert m["f_acc"] == pytest.approx(accuracy_score(y[y == 1], s[y == 1] > 0.5))
        brute = max(accuracy_score(y, s > t) for t in np.r_[-np.inf, np.unique(s)])
        assert m["acc_oracle"] == pytest.approx(brute)


def test_threshold_is_strict_and_oracle_by_hand():
    # A score of exactly 0.5 is "real" (validate.py: y_pred > 0.5); with >= acc would be 0.5.
    m = metrics([0, 0, 1, 1], [0.5, 0.5, 0.5, 0.9])
    assert m["acc"] == 0.75 and m["r_acc"] == 1.0 and m["f_acc"] == 0.5
    # float32 sigmoid of a zero logit is exactly 0.5, so an undecided model calls it real.
    assert torch.sigmoid(torch.zeros(1)).item() == 0.5
    # Hand example: y = 0 0 1 1 0 1, s = .1 .2 .3 .4 .45 .9. At 0.5 only .9 is called fake:
    # 3 reals + 1 fake right = 4/6. Cutting at t=.2 gets .1,.2 (real) and .3,.4,.9 (fake)
    # right and only .45 wrong: 5/6, the best any threshold does.
    y, s = [0, 0, 1, 1, 0, 1], [0.1, 0.2, 0.3, 0.4, 0.45, 0.9]
    assert metrics(y, s)["acc"] == pytest.approx(4 / 6)
    assert oracle_accuracy(y, s) == pytest.approx(5 / 6)
    # A perfect but shy ranker: AP 1, acc 0.5, oracle 1.
    m = metrics([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4])
    assert (m["ap"], m["auc"], m["acc"], m["acc_oracle"]) == (1.0, 1.0, 0.5, 1.0)
    # One-class sets: NaN AP/AUC with a warning, no crash.
    with pytest.warns(UserWarning, match="only fake"):
        m = metrics([1, 1, 1], [0.2, 0.7, 0.9])
    assert math.isnan(m["ap"]) and math.isnan(m["auc"]) and math.isnan(m["r_acc"])
    assert m["f_acc"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="labels"):
        metrics([0, 2], [0.1, 0.2])


def test_evaluation_with_3_broken_files_among_20_scores_17_and_names_them(tmp_path):
    from dfdlab.data import ForenSynths

    paths = make_forensynths(tmp_path / "gan_a", seed=1)
    broken = break_three(paths)
    make_forensynths(tmp_path / "gan_b", n_real=6, n_fake=4, seed=2, sizes=((32, 32), (24, 40), (17, 33)))
    model = MeanPixel()
    sets = {g: ForenSynths(tmp_path / g, transform=model.transform(False)) for g in ("gan_a", "gan_b")}

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = evaluate(model, sets, batch_size=4, device="cpu", progress=False)

    assert list(table["generator"]) == ["gan_a", "gan_b", "mean"]
    row = table.set_index("generator").loc["gan_a"]
    assert row["n"] == 17 and row["skipped"] == 3
    named = {b.path for b in table.attrs["skipped"]}
    assert named == broken
    reasons = {b.reason for b in table.attrs["skipped"]}
    assert {"empty", "not_image"} <= reasons

    # The 17 scores are exactly what the model gives on the readable files.
    good = [(p, lab) for p, lab in sets["gan_a"].samples if str(p) not in broken]
    with torch.no_grad():
        s = [torch.sigmoid(model(T.ToTensor()(Image.open(p).convert("RGB"))[None])).item() for p, _ in good]
    ref = metrics([lab for _, lab in good], s)
    for k in ("ap", "acc", "auc", "acc_oracle"):
        assert row[k] == pytest.approx(ref[k])
    # Mixed image sizes (no_resize protocols) are scored one shape group at a time.
    assert table.set_index("generator").loc["gan_b", "n"] == 10
    # The mean is unweighted over generators, as the papers print it.
    assert table.iloc[-1]["acc"] == pytest.approx(table.iloc[:2]["acc"].mean())
    assert table.iloc[-1]["n"] == 27
    shown = paper_style(table)
    assert shown.loc[0, "acc"] == round(row["acc"] * 100, 1)

    # Datasets that already skip (on_error="skip") are reported the same way.
    with pytest.warns(UserWarning, match="skipped 3 unreadable"):
        pr = predict(model, ForenSynths(tmp_path / "gan_a", model.transform(False), on_error="skip"),
                     batch_size=8, device="cpu", progress=False)
    assert len(pr.y_score) == 17 and {b.path for b in pr.skipped} == broken
    assert pr.paths == [str(p) for p, _ in good]

    # The skipped files are reported once per generator, and listed in a CSV beside the table.
    from dfdlab.data import skipped_csv_path
    from dfdlab.data.skipping import SkippedImagesWarning

    csv_path = skipped_csv_path(tmp_path / "results" / "table.csv")
    with pytest.warns(SkippedImagesWarning, match="skipped 3 unreadable"):
        evaluate(model, {"gan_a": sets["gan_a"]}, device="cpu", progress=False, skipped_csv=csv_path)
    import pandas as pd

    listed = pd.read_csv(csv_path)
    assert csv_path.name == "table_skipped.csv" and list(listed.columns) == ["path", "label", "reason", "message"]
    assert set(listed["path"]) == broken and sorted(listed["label"]) == [0, 0, 1]


def test_an_error_in_a_transform_is_a_bug_not_a_skipped_file(tmp_path):
    """Only ``ImageError`` (an unreadable file) is skipped; any other exception propagates out of evaluate."""
    from dfdlab.data import ForenSynths

    make_forensynths(tmp_path / "gan", n_real=3, n_fake=3)

    def buggy(img):
        if img.size[0] > 0:
            raise ValueError("a bug in the transform")
        return T.ToTensor()(img)

    for on_error in ("raise", "skip"):
        sets = {"gan": ForenSynths(tmp_path / "gan", transform=buggy, on_error=on_error)}
        with pytest.raises(ValueError, match="a bug in the transform"):
            evaluate(MeanPixel(), sets, device="cpu", progress=False)
    with pytest.raises(OSError, match="disk"):
        predict(MeanPixel(), ForenSynths(tmp_path / "gan"), device="cpu", progress=False,
                transform=lambda img: (_ for _ in ()).throw(OSError("disk on fire")))


def test_robustness_applies_the_perturbation_before_the_transform(tmp_path):
    from dfdlab.data import ForenSynths

    make_forensynths(tmp_path / "gan", seed=3)
    model = MeanPixel()
    sets = {"gan": ForenSynths(tmp_path / "gan")}
    grid = robustness(model, sets, {"clean": lambda im: im, "grey": lambda im: Image.new("RGB", im.size, (128,) * 3)},
                      batch_size=8, device="cpu", progress=False)
    clean = evaluate(model, {"gan": ForenSynths(tmp_path / "gan", transform=T.ToTensor())}, device="cpu",
                     progress=False)
    g = grid.set_index(["condition", "generator"])
    assert g.loc[("clean", "gan"), "ap"] == pytest.approx(clean.loc[0, "ap"])
    # A constant image makes every score equal: AUC 0.5, accuracy = the share of the called class.
    assert g.loc[("grey", "gan"), "auc"] == pytest.approx(0.5)
    assert set(grid["generator"]) == {"gan", "mean"}


def test_paper_tables_are_consistent_with_their_printed_means():
    t = paper_table("npr_table1")
    assert set(t["method"]) == {"NPR", "LGrad", "UnivFD"}
    npr = t[t.method == "NPR"].set_index("generator")
    assert npr.loc["progan", "acc"] == 99.8 and npr.loc["deepfake", "ap"] == 86.2
    for key in ("npr_table1", "npr_genimage", "univfd_lc", "lgrad_4class", "npr_aigcdetect"):
        df = paper_table(key)
        assert df.attrs["source"]
        for _, g in df.groupby("method"):
            for m in ("acc", "ap"):
                v = g[m].to_numpy()
                if np.isnan(v).any():
                    continue
                assert v[:-1].mean() == pytest.approx(v[-1], abs=0.051), (key, m)
    with pytest.raises(KeyError, match="known"):
        paper_table("nope")


def test_curves_draw(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from dfdlab.evaluate import wide
    from dfdlab.viz.curves import heatmap, metric_bars, roc_curves

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 40)
    s = np.clip(0.3 * y + 0.7 * rng.random(40), 0, 1)
    import pandas as pd

    rows = [{"generator": "g", **metrics(y, s), "skipped": 0}]
    from dfdlab.evaluate import _table

    table = _table(rows, [], {"g": (y, s)})
    ax = roc_curves(table)
    assert "AUC" in ax.get_legend().get_texts()[0].get_text()
    metric_bars(table)
    long = pd.DataFrame({"condition": ["a", "a", "b", "b"], "generator": ["g", "h"] * 2, "acc": [0.5, 0.6, 0.7, 0.8]})
    grid = wide(long, "acc")
    assert grid.loc["b", "h"] == 0.8
    heatmap(grid).figure.savefig(tmp_path / "h.png")
    assert (tmp_path / "h.png").stat().st_size > 0


def test_predict_runs_image_batches_channels_last_with_the_nchw_scores(tmp_path):
    from dfdlab.data import ForenSynths
    from dfdlab.detectors import build

    make_forensynths(tmp_path / "gan", n_real=6, n_fake=6, seed=5, sizes=((64, 64),))
    torch.manual_seed(0)
    model = build("npr", load_size=64, crop_size=56).eval()
    layouts = []
    model.register_forward_pre_hook(
        lambda m, args: layouts.append(args[0].is_contiguous(memory_format=torch.channels_last)))
    ds = ForenSynths(tmp_path / "gan", transform=model.transform("test"))
    pr = predict(model, ds, batch_size=4, device="cpu", progress=False)
    assert layouts == [True] * 3, layouts
    with torch.no_grad():
        nchw = torch.cat([model(torch.stack([ds[i][0] for i in range(j, j + 4)])).sigmoid() for j in (0, 4, 8)])
    # the same convolutions in another memory order: rounding only (measured max 1.5e-5 on the zoo NPR's logits)
    np.testing.assert_allclose(pr.y_score, nchw.numpy(), atol=1e-5)
