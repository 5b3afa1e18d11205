"""``make reproduce``: execute every lesson headless and collect what it produced.

Writes, under ``--out`` (default ``build/``):
``lessons/NN_name.ipynb`` (executed), ``html/NN_name.html``, ``figures/NN_name/cell-K.png``,
``results/*.csv|md`` (tables the lessons save through ``dfdlab.results.save_table``) and
``results/lessons.csv`` (status and seconds per lesson). The profile comes from
``DFDLAB_PROFILE`` (default ``quick``).

``--rehearse`` (``make rehearse``) rehearses the full profile instead: it writes the miniature
replica of the published layouts with official-format checkpoints of random weights
(``dfdlab.data.replica``) under ``OUT/replica``, then runs, two at a time, every lesson with
``DFDLAB_PROFILE=full`` and ``DFDLAB_REHEARSAL`` (sizes shrunk to seconds, numbers labelled
"rehearsal, random weights"), every suite of ``dfdlab eval --suite`` with a published checkpoint
(``--weights``), and one step of every recipe of ``dfdlab train``. ``OUT/results/rehearsal.csv``
lists each step (status, seconds); the command fails when one fails, when a lesson printed no
rehearsal label, or when a lesson skipped a section for a missing asset (the replica holds every
asset, so such a skip means the registry and the replica disagree).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
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


# --------------------------------------------------------------------------- the rehearsal

#: ``dfdlab eval --suite`` in the rehearsal: suite -> (detector, --weights). Suites not listed use NPR's.
SUITE_WEIGHTS = {"forensynths": ("npr", "published"), "forensynths13": ("npr", "published"),
                 "gangen": ("npr", "published"), "diffusionforensics": ("npr", "published"),
                 "univfd": ("univfd", "published"), "aigcdetect": ("npr", "npr-3090"),
                 "genimage": ("npr", "npr-genimage-sdv4")}

# Lessons by their rehearsal time here, longest first, so two workers finish together.
_SLOW_FIRST = ("07", "06", "03", "02", "01", "05", "09", "04", "00")
#: The detectors whose published weights ``dfdlab predict --weights published`` loads in the rehearsal.
PREDICT_DETECTORS = ("cnndetection", "npr", "lgrad", "univfd")


def run_cli_steps(steps: list[tuple[str, list[str]]], log_dir: Path) -> list[dict]:
    """Run ``dfdlab`` commands in this one process (one torch import for all): a row per command.

    Each command's output goes to its own log; an exception in one is written there with its
    traceback and fails that step only (the rehearsal reports every step).
    """
    import contextlib
    import traceback

    from .cli import main as cli_main

    rows = []
    for name, argv in steps:
        log = log_dir / f"{re.sub(r'[^A-Za-z0-9]+', '_', name).strip('_')}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        with open(log, "w") as f, contextlib.redirect_stdout(f), contextlib.redirect_stderr(f):
            try:
                rc = cli_main(argv)
            except Exception:  # noqa: BLE001 - a rehearsal step that crashes is reported, the others still run
                traceback.print_exc()
                rc = 1
        text = log.read_text().strip().splitlines()
        rows.append({"kind": argv[0], "step": name, "status": "ok" if rc == 0 else "failed",
                     "seconds": round(time.perf_counter() - start, 1),
                     "error": "" if rc == 0 else (text or [""])[-1][:300], "log": str(log)})
    return rows


def _lesson_output(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return "\n".join(o.get("text", "") if o.get("output_type") == "stream" else o.get("data", {}).get("text/plain", "")
                     for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def _rehearsal_checks(path: Path) -> str:
    """Why an executed lesson did not rehearse its full path ("" when it did)."""
    from .config import REHEARSAL_LABEL

    text = _lesson_output(path)
    if REHEARSAL_LABEL not in text:
        return f"no '{REHEARSAL_LABEL}' label in the outputs (does the lesson call dfdlab.settings?)"
    missing = [line for line in text.splitlines() if "Skipped: the asset" in line]
    return f"skipped for a missing asset: {missing[0]}" if missing else ""


def _run(kind: str, name: str, cmd: list[str], env: dict, timeout: int, log: Path) -> dict:
    start = time.perf_counter()
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO)
        status = "ok" if done.returncode == 0 else "failed"
        output, last = done.stdout + done.stderr, (done.stdout.strip().splitlines() or [""])[-1]
    except subprocess.TimeoutExpired as e:
        status, output, last = "timeout", f"{e}", ""
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(output)
    error = "" if status == "ok" else (output.strip().splitlines() or [""])[-1][:300]
    return {"kind": kind, "step": name, "status": status, "seconds": round(time.perf_counter() - start, 1),
            "error": error, "log": str(log), "stdout_last": last}


def _lesson_step(path: Path, out: Path, env: dict, timeout: int) -> dict:
    code = ("import json, sys; from pathlib import Path; from dfdlab.reproduce import run_lesson; "
            f"print(json.dumps(run_lesson(Path({str(path)!r}), Path({str(out)!r}), {timeout})))")
    row = _run("lesson", path.stem, [sys.executable, "-c", code], env, 20 * timeout, out / "logs" / f"{path.stem}.log")
    if row["status"] == "ok":
        lesson = json.loads(row["stdout_last"])
        row.update(status=lesson["status"], error=lesson["error"])
        if row["status"] == "ok":
            why = _rehearsal_checks(out / "lessons" / path.name)
            row.update(status="failed" if why else "ok", error=why)
    return row


def rehearsal_steps(out: Path, replica: Path, notebooks: Path, only=None) -> list[tuple]:
    """Every step of the rehearsal: ``(kind, name, command or lesson path)``."""
    from .recipes import RECIPES
    from .suites import SUITES

    lessons = sorted(notebooks.glob("[0-9][0-9]_*.ipynb"),
                     key=lambda q: _SLOW_FIRST.index(q.name[:2]) if q.name[:2] in _SLOW_FIRST else -1)
    if only:
        lessons = [q for q in lessons if any(q.name.startswith(o) for o in only)]
    steps = [("lesson", q.stem, q) for q in lessons]
    if only:
        return steps
    cli = []
    for suite in SUITES:
        detector, weights = SUITE_WEIGHTS.get(suite, ("npr", "published"))
        cli.append((f"eval --suite {suite} ({detector}, --weights {weights})",
                    ["eval", "--suite", suite, "--detector", detector, "--weights", weights,
                     "--data", str(replica / "data"), "--out", str(out / "suites"), "--quiet"]))
    images = [str(next((replica / "data" / "ForenSynths" / "test" / "stargan" / d).iterdir()))
              for d in ("0_real", "1_fake")]
    for detector in PREDICT_DETECTORS:
        cli.append((f"predict ({detector}, --weights published)",
                    ["predict", "--detector", detector, "--weights", "published", *images]))
    for name in RECIPES:  # one step: one class folder (1 real + 1 fake), batch 2, one epoch
        cli.append((f"train --recipe {name}",
                    ["train", "--detector", name, "--recipe", name, "--data", str(replica / "data" / "ForenSynths"),
                     "--classes", "horse", "--epochs", "1", "--batch-size", "2", "--out", str(out / "train" / name),
                     "--no-resume", "--quiet"]))
    steps.insert(0, ("cli", f"{len(cli)} dfdlab commands in one process", cli))
    return steps


def rehearse(out: Path, notebooks: Path, timeout: int, jobs: int = 2, only=None) -> int:
    """``make rehearse``: the full profile's every path over the replica (see the module docstring)."""
    from .data.replica import write_replica

    t0 = time.perf_counter()
    replica = write_replica(out / "replica")
    env = dict(os.environ, DFDLAB_PROFILE="full", DFDLAB_REHEARSAL=str(replica), DFDLAB_DATA=str(replica / "data"),
               DFDLAB_RESULTS=str(out / "results"), PYTHONWARNINGS="ignore::UserWarning")
    env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    # the steps share the cores: torch threads per step = cores / steps at a time (unless set)
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 2) // jobs)))
    print(f"replica at {replica} ({time.perf_counter() - t0:.0f} s); rehearsing with {jobs} worker(s)", flush=True)

    def one(step) -> list[dict]:
        kind, name, what = step
        if kind == "lesson":
            rows = [_lesson_step(what, out, env, timeout)]
        else:  # the dfdlab commands, in one process of their own
            code = ("import json, sys; from pathlib import Path; from dfdlab.reproduce import run_cli_steps; "
                    "steps = json.loads(sys.stdin.read()); "
                    f"print(json.dumps(run_cli_steps(steps, Path({str(out / 'logs' / 'cli')!r}))))")
            done = subprocess.run([sys.executable, "-c", code], input=json.dumps(what), env=env, text=True,
                                  capture_output=True, timeout=20 * timeout, cwd=REPO)
            last = (done.stdout.strip().splitlines() or ["[]"])[-1]
            rows = json.loads(last) if done.returncode == 0 and last.startswith("[") else [
                {"kind": "cli", "step": name, "status": "failed", "seconds": 0.0,
                 "error": (done.stderr.strip().splitlines() or [""])[-1][:300], "log": ""}]
        for row in rows:
            print(f"  {row['status']:7s} {row['seconds']:6.1f} s  {row['kind']:7s} {row['step']} {row['error']}",
                  flush=True)
        return rows

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        rows = [r for rs in pool.map(one, rehearsal_steps(out, replica, notebooks, only)) for r in rs]
    table = pd.DataFrame(rows, columns=["kind", "step", "status", "seconds", "error", "log", "stdout_last"])
    table = table.drop(columns="stdout_last")
    (out / "results").mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "results" / "rehearsal.csv", index=False)
    print(table[["kind", "step", "status", "seconds"]].to_string(index=False))
    failed = table[table["status"] != "ok"]
    print(f"rehearsal: {len(table) - len(failed)} of {len(table)} steps passed in {time.perf_counter() - t0:.0f} s "
          f"(logs in {out / 'logs'}, executed lessons in {out / 'lessons'})")
    return 1 if len(failed) else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dfdlab.reproduce", description=__doc__.splitlines()[0])
    p.add_argument("--out", default="build", type=Path)
    p.add_argument("--notebooks", default=REPO / "notebooks", type=Path)
    p.add_argument("--only", nargs="*", help="lesson name prefixes, e.g. 00 05")
    p.add_argument("--timeout", type=int, default=900, help="seconds per cell (a stuck cell fails the lesson, the rest go on)")
    p.add_argument("--rehearse", action="store_true",
                   help="rehearse the full profile over the replica (every lesson, suite and recipe): make rehearse")
    p.add_argument("--jobs", type=int, default=2, help="with --rehearse: steps run at the same time")
    args = p.parse_args(argv)
    if args.rehearse:
        return rehearse(args.out.resolve(), args.notebooks, args.timeout, jobs=args.jobs, only=args.only)
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
