"""``make reproduce``: execute every lesson headless and collect what it produced.

Writes, under ``--out`` (default ``build/``):
``lessons/NN_name.ipynb`` (executed), ``html/NN_name.html``, ``figures/NN_name/cell-K.png``,
``results/*.csv|md`` (tables the lessons save through ``dfdlab.results.save_table``) and
``results/lessons.csv`` (status and seconds per lesson). The profile comes from
``DFDLAB_PROFILE`` (default ``quick``).
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
import time
from pathlib import Path

import nbformat
import pandas as pd
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError
from nbconvert import HTMLExporter

from dfdlab.ledger import write_ledger

REPO = Path(__file__).resolve().parents[1]


def _export_figures(nb, folder: Path) -> int:
    n = 0
    for k, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            if png:
                folder.mkdir(parents=True, exist_ok=True)
                n += 1
                (folder / f"cell-{k:02d}-{n}.png").write_bytes(base64.b64decode(png))
    return n


def run_lesson(path: Path, out: Path, timeout: int) -> dict:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    status, error = "ok", ""
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    except (CellExecutionError, CellTimeoutError) as e:
        status, error = "failed", str(e).strip().splitlines()[-1][:300]
    seconds = time.perf_counter() - start
    (out / "lessons").mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out / "lessons" / path.name)
    html, _ = HTMLExporter().from_notebook_node(nb)
    (out / "html").mkdir(parents=True, exist_ok=True)
    (out / "html" / f"{path.stem}.html").write_text(html, encoding="utf-8")
    figures = _export_figures(nb, out / "figures" / path.stem)
    return {"lesson": path.stem, "status": status, "seconds": round(seconds, 1), "figures": figures,
            "error": error}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dfdlab.reproduce", description=__doc__.splitlines()[0])
    p.add_argument("--out", default="build", type=Path)
    p.add_argument("--notebooks", default=REPO / "notebooks", type=Path)
    p.add_argument("--only", nargs="*", help="lesson name prefixes, e.g. 00 05")
    p.add_argument("--timeout", type=int, default=900, help="seconds per cell (a stuck cell fails the lesson, the rest go on)")
    args = p.parse_args(argv)
    out = args.out.resolve()
    os.environ["DFDLAB_RESULTS"] = str(out / "results")
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    lessons = sorted(args.notebooks.glob("[0-9][0-9]_*.ipynb"))
    if args.only:
        lessons = [q for q in lessons if any(q.name.startswith(o) for o in args.only)]
    rows = []
    for lesson in lessons:
        print(f"running {lesson.name} ...", flush=True)
        row = run_lesson(lesson, out, args.timeout)
        print(f"  {row['status']} in {row['seconds']} s, {row['figures']} figures {row['error']}", flush=True)
        rows.append(row)
    table = pd.DataFrame(rows)
    (out / "results").mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "results" / "lessons.csv", index=False)
    print(table.to_string(index=False))
    ledger_csv, ledger_md = write_ledger(out / "results")  # the paper numbers beside ours
    print(f"reproduction ledger: {ledger_csv} and {ledger_md}")
    print(f"executed lessons in {out / 'lessons'}, HTML in {out / 'html'}, tables in {out / 'results'}")
    return 0 if all(r["status"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
