"""The published numbers of ``dfdlab.paper_results`` agree with each other and carry their protocol and source."""

import math

import pytest

from dfdlab import paper_results as pr


def test_cross_paper_forensynths_means_equal_npr_table1():
    """NPR's Table 1 and the cross-paper rows were read from different places; their means must agree."""
    t1 = pr.paper_table("npr_table1")
    means = t1[t1["generator"] == "mean"].set_index("method")
    cross = pr.cross_paper_table("ForenSynths (8 GANs)").set_index("method")
    for method in ("NPR", "LGrad", "UnivFD"):
        assert cross.loc[method, "acc"] == means.loc[method, "acc"], method
        assert cross.loc[method, "ap"] == means.loc[method, "ap"], method


def test_npr_table1_means_are_the_means_of_its_columns():
    t1 = pr.paper_table("npr_table1")
    for method, rows in t1.groupby("method"):
        for metric in ("acc", "ap"):
            per_set = rows[rows["generator"] != "mean"][metric]
            printed = float(rows[rows["generator"] == "mean"][metric].iloc[0])
            assert abs(per_set.mean() - printed) <= 0.051, (method, metric, per_set.mean(), printed)


def test_every_published_result_has_protocol_source_and_a_percentage():
    for r in pr.CROSS_PAPER:
        assert r.protocol and r.source, r
        values = [v for v in (r.acc, r.ap, r.auroc) if v is not None]
        assert values, r
        assert all(0 < v <= 100 and not math.isnan(v) for v in values), r
    keys = [(r.method, r.benchmark) for r in pr.CROSS_PAPER]
    assert len(keys) == len(set(keys)), "one row per method and benchmark"
    for f in pr.SHORTCUTS:
        assert f.topic and f.finding and f.source, f


def test_cross_paper_table_filters_and_names_the_known_benchmarks():
    df = pr.cross_paper_table()
    assert len(df) == len(pr.CROSS_PAPER)
    assert list(df.columns) == ["method", "venue", "benchmark", "acc", "ap", "auroc", "protocol", "source"]
    with pytest.raises(KeyError, match="ForenSynths"):
        pr.cross_paper_table("no such benchmark")
