"""The reproduction ledger: paper numbers beside ours, mini/untrained results never in a paper column."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from dfdlab import ledger
from dfdlab.paper_results import TABLES
from dfdlab.results import save_table


def _table(gens, acc, ap, **extra):
    return pd.DataFrame({"generator": gens, "acc": acc, "ap": ap, **extra})


def test_ledger_places_each_number_where_it_belongs(tmp_path, monkeypatch):
    monkeypatch.setenv("DFDLAB_RESULTS", str(tmp_path))
    ckpt = tmp_path / "npr.pth"
    ckpt.write_bytes(b"weights")

    # 1. A lesson table saved with plain save_table in the quick profile (mini generators, fractions).
    save_table(_table(["dcgan_transposed", "upsample_only", "mean"], [0.9, 0.6, 0.75], [0.95, 0.7, 0.825]),
               "05_npr_cross_generator", "NPR trained on dcgan_transposed (quick)")
    # 2. A mini result whose generator is *named* like a paper generator: still never in a paper column.
    ledger.record(_table(["progan"], [0.99], [1.0]), "mini_named_progan", method="NPR",
                  paper_table="npr_table1", checkpoint=ckpt)
    # 3. A full-profile run on the published data with a checkpoint (percent), which fills the NPR rows.
    monkeypatch.setenv("DFDLAB_PROFILE", "full")
    settings = {"resize": "Resize((256,256))", "crop": "none", "jpeg": "none", "sampling": "all images"}
    ledger.record(_table(["progan", "stylegan", "mean"], [99.0, 95.5, 97.25], [100.0, 99.1, 99.55]), "npr_fs",
                  method="NPR", paper_table="npr_table1", checkpoint=ckpt, settings=settings, data="published",
                  units="percent")
    # 4. The same published data, robustness condition: not a paper cell either.
    ledger.record(_table(["progan"], [70.0], [80.0], condition=["jpeg 50"]), "npr_fs_jpeg", method="NPR",
                  paper_table="npr_table1", checkpoint=ckpt, data="published", units="percent")
    monkeypatch.setenv("DFDLAB_PROFILE", "quick")
    # 5. An untrained suite run (dfdlab.suites writes these under suites/) and a non-result table.
    (tmp_path / "suites").mkdir()
    _table(["adm", "mean"], [0.5, 0.5], [0.6, 0.6], weights=["UNTRAINED (no checkpoint)"] * 2).to_csv(
        tmp_path / "suites" / "suite_diffusionforensics_npr.csv", index=False)
    save_table(pd.DataFrame({"detector": ["npr"], "params": [1447897]}), "07_cost", "cost table")
    pd.DataFrame({"lesson": ["00_setup"], "status": ["ok"]}).to_csv(tmp_path / "lessons.csv", index=False)

    csv, md = ledger.write_ledger()
    led = pd.read_csv(csv)
    paper = led[led["section"] == "paper"]
    # Every published number of every paper table is a row.
    n_paper = sum(len(t.rows) * len(t.generators) for t in TABLES.values())
    assert len(paper) == n_paper
    npr1 = paper[(paper["paper_table"] == "npr_table1") & (paper["method"] == "NPR")].set_index("generator")
    assert npr1.loc["progan", "acc_paper"] == 99.8 and npr1.loc["progan", "acc_ours"] == 99.0
    assert npr1.loc["stylegan", "ap_ours"] == 99.1 and npr1.loc["mean", "acc_ours"] == 97.25
    assert npr1.loc["progan", "checkpoint_sha256"] == __import__("hashlib").sha256(b"weights").hexdigest()
    assert npr1.loc["progan", "resize"] == "Resize((256,256))" and npr1.loc["progan", "benchmark"] == ledger.PUBLISHED
    assert np.isnan(npr1.loc["biggan", "acc_ours"]) and npr1.loc["biggan", "benchmark"] == ledger.NOT_RUN
    # Only that run: the LGrad rows of the same table stay empty.
    assert paper[paper["method"] == "LGrad"]["acc_ours"].isna().all()

    rest = led[led["section"] != "paper"]
    # Nothing outside the paper section has a paper number beside it.
    assert rest["acc_paper"].isna().all() and rest["ap_paper"].isna().all()
    mini = rest[rest["section"] == "mini"]
    assert set(mini["generator"]) == {"dcgan_transposed", "upsample_only", "mean", "progan"}
    assert (mini["benchmark"] == ledger.MINI).all()
    # Fractions became percent; percent stayed percent.
    assert mini.set_index("generator").loc["dcgan_transposed", "acc_ours"] == pytest.approx(90.0)
    assert rest[rest["condition"] == "jpeg 50"]["acc_ours"].tolist() == [70.0]
    smoke = rest[rest["section"] == "smoke"]
    assert set(smoke["generator"]) == {"adm", "mean"} and (smoke["benchmark"] == ledger.SMOKE).all()
    assert not led["source"].fillna("").str.contains("lessons|07_cost").any()

    text = md.read_text()
    for t in TABLES.values():
        assert t.title in text
    assert "Mini-benchmark results (quick profile)" in text and "Untrained smoke tests" in text
    assert "`07_cost.csv`: cost table" in text
    meta = json.loads((tmp_path / "npr_fs.meta.json").read_text())
    assert meta["profile"] == "full" and meta["hardware"]


def test_reproduce_writes_the_ledger(tmp_path, monkeypatch):
    """``make reproduce`` (dfdlab.reproduce.main) ends by writing ledger.csv/md, even with no lessons."""
    from dfdlab import reproduce

    empty = tmp_path / "notebooks"
    empty.mkdir()
    monkeypatch.setenv("DFDLAB_RESULTS", str(tmp_path / "elsewhere"))  # restored afterwards
    rc = reproduce.main(["--out", str(tmp_path / "build"), "--notebooks", str(empty)])
    assert rc == 0
    assert (tmp_path / "build" / "results" / "ledger.csv").exists()
    assert "# Reproduction ledger" in (tmp_path / "build" / "results" / "ledger.md").read_text()
