"""The reproduction ledger: every paper number beside ours, with what produced ours.

``make reproduce`` (``dfdlab.reproduce``) ends with :func:`write_ledger`, which gathers the
tables the lessons saved in ``build/results`` (``dfdlab.results.save_table`` or
:func:`record`) and the suite runs in ``build/results/suites`` (``dfdlab.suites.run_suite``)
into ``ledger.csv`` and ``ledger.md``:

* **Paper rows**: one per (paper table, method, generator) of ``dfdlab.paper_results``: the
  published Acc/AP, and ours only when a run on the **published** test set with a
  **checkpoint** recorded that it reproduces that table. Each such row carries the settings
  that produced it (resize, crop, JPEG, sampling), the checkpoint's sha256 and the hardware.
* **Mini-benchmark rows**: everything measured in the quick profile (on the embedded
  mini benchmark, with stand-ins), and every untrained smoke test. They are labelled as
  such in the ``benchmark`` column and **never** sit in a paper column: their ``*_paper``
  cells stay empty, whatever the generator is called.

A table saved with plain ``save_table`` has no metadata; the ledger then takes the profile
and hardware of the run that writes the ledger (``make reproduce`` runs every lesson in
one profile on one machine) and says so in ``notes``. :func:`record` saves a table with its
metadata (a ``<name>.meta.json`` beside the CSV).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .config import REHEARSAL_LABEL, rehearsal
from .config import profile as current_profile
from .data.mini import GENERATORS as MINI_GENERATORS
from .files import atomic_write_text, sha256sum
from .health import hardware
from .paper_results import TABLES
from .results import results_dir, save_table

#: Tables in the results folder that are not per-generator results.
NOT_RESULTS = ("ledger", "lessons")
MINI = "mini-ForenSynths (quick profile, stand-ins): not comparable to any paper number"
SMOKE = "UNTRAINED smoke test: not a result"
REHEARSAL = f"{REHEARSAL_LABEL} on a miniature replica of the published layouts: not a result"
PUBLISHED = "published test set"
NOT_RUN = "not run here (needs the published data and checkpoint; see `dfdlab assets`)"

LEDGER_COLUMNS = ("section", "paper_table", "method", "generator", "label", "acc_paper", "ap_paper", "acc_ours",
                  "ap_ours", "benchmark", "condition", "resize", "crop", "jpeg", "sampling", "checkpoint_sha256",
                  "hardware", "profile", "source", "notes")


# --------------------------------------------------------------------------- recording


def _meta_path(csv: Path) -> Path:
    return csv.with_name(csv.stem + ".meta.json")


def record(df: pd.DataFrame, name: str, note: str = "", *, method: str | None = None,
           paper_table: str | None = None, detector: str | None = None, checkpoint=None,
           settings: dict | None = None, data: str | None = None, untrained: bool = False,
           units: str | None = None) -> Path:
    """``dfdlab.results.save_table`` plus the metadata the ledger needs (``<name>.meta.json``).

    Args:
        df: a per-generator table (``generator`` plus ``acc``/``ap`` columns, fractions or
            percent; a ``detector``/``method`` column for several models; a ``condition``
            column for robustness grids).
        method: the paper method these numbers are ours for ("NPR", "LGrad", "UnivFD").
        paper_table: the ``dfdlab.paper_results`` key they reproduce (only meaningful on
            the published data with a real checkpoint).
        checkpoint: the weights' file; its sha256 is recorded.
        settings: ``resize``, ``crop``, ``jpeg``, ``sampling`` in words.
        data: what the test data is; default: the mini benchmark in the quick profile.
        untrained: the numbers come from untrained weights (a smoke test).
    """
    csv = save_table(df, name, note)
    prof = current_profile()
    meta = {
        "kind": "lesson", "name": name, "method": method, "paper_table": paper_table, "detector": detector,
        "checkpoint": str(checkpoint) if checkpoint else None,
        "checkpoint_sha256": sha256sum(checkpoint) if checkpoint else "",
        "settings": settings or {}, "profile": prof, "hardware": hardware(), "untrained": untrained,
        "data": data or ("mini benchmark" if prof == "quick" else REHEARSAL if rehearsal() else "published"),
        "units": units,
        "note": note.splitlines()[0] if note else "",
    }
    atomic_write_text(_meta_path(csv), json.dumps(meta, indent=2, default=str))
    return csv


# --------------------------------------------------------------------------- gathering


def _percent(values: pd.Series, units: str | None) -> pd.Series:
    v = pd.to_numeric(values, errors="coerce").astype(float)
    if units == "percent":
        return v
    if units == "fraction" or (v.dropna() <= 1.0 + 1e-9).all():
        return v * 100.0
    return v


def _is_mini_generator(g: str) -> bool:
    return g in MINI_GENERATORS


def _result_tables(results: Path) -> list[Path]:
    files = sorted(results.glob("*.csv")) + sorted((results / "suites").glob("*.csv"))
    return [f for f in files if f.stem not in NOT_RESULTS and not f.stem.endswith("_skipped")]


def gather(results: str | os.PathLike | None = None) -> tuple[pd.DataFrame, list[dict]]:
    """All per-generator numbers under ``results`` as ledger rows, plus the other tables.

    Returns ``(rows, others)``: ``rows`` one row per (table, model, condition, generator)
    with ``acc_ours``/``ap_ours`` in percent and the metadata columns; ``others`` lists
    the tables that are not per-generator results (name, note).
    """
    results = Path(results) if results is not None else results_dir()
    now_profile, now_hw = current_profile(), hardware()
    recs, others = [], []
    for csv in _result_tables(results):
        try:
            df = pd.read_csv(csv)
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as e:
            others.append({"table": csv.name, "note": f"unreadable CSV ({type(e).__name__})"})
            continue
        meta_file = _meta_path(csv)
        meta = json.loads(meta_file.read_text()) if meta_file.exists() else {}
        md = csv.with_suffix(".md")
        note = meta.get("note") or (md.read_text().splitlines()[0] if md.exists() and md.read_text() else "")
        if "generator" not in df.columns or not ({"acc", "ap"} & set(df.columns)):
            others.append({"table": str(csv.relative_to(results)), "note": note})
            continue
        profile = meta.get("profile") or now_profile
        notes = [] if meta else [f"no metadata: profile and hardware of the ledger run ({now_profile})"]
        settings = meta.get("settings", {})
        model_col = next((c for c in ("detector", "method", "model") if c in df.columns), None)
        cond_col = "condition" if "condition" in df.columns else None
        acc = _percent(df["acc"], meta.get("units")) if "acc" in df.columns else pd.Series(np.nan, index=df.index)
        ap = _percent(df["ap"], meta.get("units")) if "ap" in df.columns else pd.Series(np.nan, index=df.index)
        weights = df["weights"].astype(str) if "weights" in df.columns else pd.Series("", index=df.index)
        for i, row in df.iterrows():
            gen = str(row["generator"])
            untrained = bool(meta.get("untrained")) or "UNTRAINED" in weights[i]
            data = str(meta.get("data", "")).lower()
            if meta.get("kind") == "suite":  # run_suite records whether it ran on the published layout
                mini = not data.startswith("published") or _is_mini_generator(gen)
            else:
                mini = profile == "quick" or "mini" in data or _is_mini_generator(gen)
            bench = SMOKE if untrained else (MINI if mini else PUBLISHED)
            if meta.get("rehearsal") or REHEARSAL_LABEL in data:  # random weights: never beside a paper number
                bench = REHEARSAL
            method = meta.get("paper_method") or meta.get("method")
            model = str(row[model_col]) if model_col else (meta.get("detector") or method or "")
            recs.append({
                "source": str(csv.relative_to(results)), "model": model, "method": method,
                "paper_tables": meta.get("paper_tables") or ([meta["paper_table"]] if meta.get("paper_table") else []),
                "generator": gen, "paper_key": str(row["paper_key"]) if "paper_key" in df.columns else gen,
                "condition": str(row[cond_col]) if cond_col else "clean",
                "acc_ours": acc[i], "ap_ours": ap[i], "benchmark": bench,
                "resize": settings.get("resize", row.get("resize", "")),
                "crop": settings.get("crop", row.get("crop", "")),
                "jpeg": settings.get("jpeg", row.get("jpeg", "")),
                "sampling": settings.get("sampling", row.get("sampling", "")),
                "checkpoint_sha256": meta.get("checkpoint_sha256") or (str(row["checkpoint_sha256"])
                                                                     if "checkpoint_sha256" in df.columns
                                                                     and pd.notna(row["checkpoint_sha256"]) else ""),
                "hardware": meta.get("hardware") or now_hw, "profile": profile,
                "notes": "; ".join(notes + ([meta["data"]] if meta.get("data") else [])),
            })
    cols = ["source", "model", "method", "paper_tables", "generator", "paper_key", "condition", "acc_ours", "ap_ours",
            "benchmark", "resize", "crop", "jpeg", "sampling", "checkpoint_sha256", "hardware", "profile", "notes"]
    return pd.DataFrame(recs, columns=cols), others


def build_ledger(results: str | os.PathLike | None = None) -> tuple[pd.DataFrame, list[dict]]:
    """The ledger table (``LEDGER_COLUMNS``) and the list of other tables."""
    ours, others = gather(results)
    # Only published-data runs with a checkpoint, clean condition, can fill a paper row.
    eligible = ours[(ours["benchmark"] == PUBLISHED) & (ours["condition"] == "clean")
                    & (ours["checkpoint_sha256"] != "")] if len(ours) else ours
    rows = []
    for key, t in TABLES.items():
        for method in t.rows:
            frame = t.frame()
            frame = frame[frame["method"] == method]
            for _, p in frame.iterrows():
                hit = None
                if len(eligible):
                    m = eligible[(eligible["method"] == method) & (eligible["paper_key"] == p["generator"])
                                 & eligible["paper_tables"].map(lambda ks, k=key: k in ks)]
                    hit = m.iloc[-1] if len(m) else None
                base = {"section": "paper", "paper_table": key, "method": method, "generator": p["generator"],
                        "label": p["label"], "acc_paper": p["acc"], "ap_paper": p["ap"], "condition": "clean"}
                if hit is None:
                    rows.append({**base, "acc_ours": np.nan, "ap_ours": np.nan, "benchmark": NOT_RUN,
                                 "notes": f"paper source {t.confidence}"})
                else:
                    rows.append({**base, **{k: hit[k] for k in ("acc_ours", "ap_ours", "benchmark", "resize", "crop",
                                                                "jpeg", "sampling", "checkpoint_sha256", "hardware",
                                                                "profile", "source", "notes")}})
    rest = ours.drop(eligible.index) if len(ours) else ours
    for _, r in rest.iterrows():
        rows.append({"section": "mini" if r["benchmark"] == MINI else ("smoke" if r["benchmark"] == SMOKE else "other"),
                     "paper_table": "", "method": r["model"], "generator": r["generator"], "label": "",
                     "acc_paper": np.nan, "ap_paper": np.nan,  # never a paper number beside these
                     **{k: r[k] for k in ("acc_ours", "ap_ours", "benchmark", "condition", "resize", "crop", "jpeg",
                                          "sampling", "checkpoint_sha256", "hardware", "profile", "source", "notes")}})
    return pd.DataFrame(rows, columns=list(LEDGER_COLUMNS)), others


def _fmt(x) -> str:
    return "" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.1f}"


def _paper(x) -> str:
    return "" if x is None or (isinstance(x, float) and np.isnan(x)) else str(float(x))  # as printed (1 or 2 decimals)


def ledger_markdown(ledger: pd.DataFrame, others: list[dict]) -> str:
    """The ledger as markdown: one section per paper table, then the mini-benchmark / smoke results."""
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = ["# Reproduction ledger", "",
           f"Written {stamp} by `dfdlab.ledger` (profile `{current_profile()}`, {hardware()}).", "",
           "Paper numbers (Acc / AP in %) come from `dfdlab.paper_results` with their sources. A cell under "
           "**ours** is filled only by a run on the published test set with a checkpoint (its sha256 and "
           "settings beside it). Mini-benchmark (quick profile) and untrained numbers are listed separately "
           "and never sit in a paper column.", ""]
    paper = ledger[ledger["section"] == "paper"]
    for key, t in TABLES.items():
        sub = paper[paper["paper_table"] == key]
        out += [f"## {t.title}", "", f"Source {t.confidence}: {t.source}", ""]
        view = pd.DataFrame({
            "method": sub["method"], "generator": sub["label"],
            "acc paper": sub["acc_paper"].map(_paper), "ap paper": sub["ap_paper"].map(_paper),
            "acc ours": sub["acc_ours"].map(_fmt), "ap ours": sub["ap_ours"].map(_fmt),
            "ours from": sub["benchmark"].where(sub["acc_ours"].notna() | sub["ap_ours"].notna(), "not run"),
            "resize / crop / JPEG / sampling": [" / ".join(str(v) for v in (r.resize, r.crop, r.jpeg, r.sampling))
                                                if isinstance(r.resize, str) and r.resize else ""
                                                for r in sub.itertuples()],
            "checkpoint sha256": sub["checkpoint_sha256"].map(lambda s: s[:12] if isinstance(s, str) else ""),
        })
        out += [view.to_markdown(index=False), ""]
    for section, title in (("mini", "Mini-benchmark results (quick profile): not comparable to the papers"),
                           ("smoke", "Untrained smoke tests: pipelines only, not results"),
                           ("other", "Other runs without a paper table")):
        sub = ledger[ledger["section"] == section]
        if not len(sub):
            continue
        out += [f"## {title}", ""]
        view = pd.DataFrame({
            "model": sub["method"], "generator": sub["generator"], "condition": sub["condition"],
            "acc": sub["acc_ours"].map(_fmt), "ap": sub["ap_ours"].map(_fmt),
            "resize / crop / JPEG / sampling": [" / ".join(str(v) for v in (r.resize, r.crop, r.jpeg, r.sampling))
                                                if isinstance(r.resize, str) and r.resize else ""
                                                for r in sub.itertuples()],
            "checkpoint sha256": sub["checkpoint_sha256"].map(lambda s: s[:12] if isinstance(s, str) else ""),
            "table": sub["source"], "hardware": sub["hardware"],
        })
        out += [f"Benchmark: {sub['benchmark'].iloc[0]}.", "", view.to_markdown(index=False), ""]
    if others:
        out += ["## Other tables", ""] + [f"- `{o['table']}`: {o['note']}" for o in others] + [""]
    return "\n".join(out)


def write_ledger(results: str | os.PathLike | None = None) -> tuple[Path, Path]:
    """Write ``ledger.csv`` and ``ledger.md`` into the results folder (``make reproduce``: ``build/results``)."""
    results = Path(results) if results is not None else results_dir()
    ledger, others = build_ledger(results)
    csv = atomic_write_text(results / "ledger.csv", ledger.to_csv(index=False))
    md = atomic_write_text(results / "ledger.md", ledger_markdown(ledger, others))
    return Path(csv), Path(md)


__all__ = ["LEDGER_COLUMNS", "MINI", "NOT_RUN", "PUBLISHED", "SMOKE", "build_ledger", "gather", "ledger_markdown",
           "record", "write_ledger"]
