"""The package core: torchvision shim, profiles, seeding, atomic files, the asset hub, doctor."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import socket
import subprocess
import sys
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest
import torch

import dfdlab
from dfdlab import _compat, files, hub

REPO = Path(__file__).resolve().parents[1]


# --- torchvision compatibility -------------------------------------------------------

def test_torchvision_and_open_clip_import_and_nms_matches_reference():
    import open_clip  # noqa: F401
    import torchvision

    g = torch.Generator().manual_seed(0)
    xy = torch.rand(60, 2, generator=g) * 50
    boxes = torch.cat([xy, xy + 5 + torch.rand(60, 2, generator=g) * 20], 1)
    scores = torch.rand(60, generator=g)
    # torchvision.ops.nms itself refuses to run without the compiled ops; the op is still callable
    keep = torch.ops.torchvision.nms(boxes, scores, 0.3) if _compat.ACTIVE else torchvision.ops.nms(boxes, scores, 0.3)
    # brute-force reference: greedy suppression in score order
    iou = torchvision.ops.box_iou(boxes, boxes)
    order, ref, alive = scores.argsort(descending=True).tolist(), [], set(range(60))
    for i in order:
        if i in alive:
            ref.append(i)
            alive -= {j for j in alive if iou[i, j] > 0.3}
    assert keep.tolist() == ref


def test_compat_does_nothing_when_the_extension_loads(monkeypatch):
    monkeypatch.setattr(_compat, "ACTIVE", False)
    monkeypatch.setattr(_compat, "_torchvision_extension_loads", lambda: True)
    monkeypatch.setattr(_compat, "_LIBRARY", None)
    _compat.install()
    assert _compat.ACTIVE is False and _compat._LIBRARY is None


# --- profiles, seeding, files -------------------------------------------------------

def test_profile_and_settings(monkeypatch, capsys):
    monkeypatch.setenv("DFDLAB_PROFILE", "full")
    cfg = dfdlab.settings(quick={"epochs": 2, "size": 64}, full={"epochs": 50, "size": 256})
    assert (cfg.epochs, cfg.size, cfg.profile) == (50, 256, "full")
    shown = capsys.readouterr().out
    assert "quick" in shown and "full" in shown and "50" in shown and "2" in shown
    monkeypatch.setenv("DFDLAB_PROFILE", "fast")
    with pytest.raises(ValueError, match="quick, full"):
        dfdlab.profile()
    with pytest.raises(ValueError, match="differ in keys"):
        dfdlab.settings(quick={"a": 1}, full={"b": 1})


def test_seed_everything_repeats_and_sets_npr_cudnn_flags():
    dfdlab.seed_everything(100)
    a = (torch.rand(3), __import__("random").random(), __import__("numpy").random.rand())
    dfdlab.seed_everything(100)
    b = (torch.rand(3), __import__("random").random(), __import__("numpy").random.rand())
    assert torch.equal(a[0], b[0]) and a[1:] == b[1:]
    assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    assert not torch.backends.cudnn.enabled
    torch.backends.cudnn.enabled = True


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    target = tmp_path / "ckpt.pth"
    files.atomic_torch_save({"w": torch.ones(2)}, target)
    with pytest.raises(RuntimeError):
        with files.atomic_open(target) as f:
            f.write(b"half")
            raise RuntimeError("crash while writing")
    assert torch.equal(torch.load(target, weights_only=True)["w"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pth"]
    assert target.stat().st_mode & 0o044, "readable by others, like a plain open() would make it"


def test_cache_lock_makes_a_second_process_wait_and_says_so(tmp_path):
    entry = tmp_path / "mini" / "abc123"
    script = ("import sys, time; from dfdlab import files\n"
              f"with files.cache_lock({str(entry)!r}):\n"
              "    print('got it', flush=True)\n")
    with files.cache_lock(entry):
        other = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
        with pytest.raises(subprocess.TimeoutExpired):
            other.wait(timeout=3)  # blocked while this process holds the entry
    out, err = other.communicate(timeout=60)
    assert other.returncode == 0 and out == "got it\n"
    assert f"{entry} is being built by another process; waiting for it" in err
    assert not entry.exists(), "the lock file sits beside the entry, not in it"


# --- asset hub ------------------------------------------------------------------------

def _register(monkeypatch, **kw) -> hub.Asset:
    asset = hub.Asset(name="toy", kind="weights", filename="toy.bin", description="a toy file",
                      source="tests", licence="MIT", **kw)
    monkeypatch.setitem(hub.ASSETS, "toy", asset)
    return asset


def test_missing_asset_is_one_clear_paragraph():
    with pytest.raises(hub.AssetMissing) as e:
        hub.path("lgrad-4class")
    msg = str(e.value)
    assert "lgrad-4class" in msg and "Google Drive" in msg and str(hub.get("lgrad-4class").target) in msg
    assert "\n" not in msg
    with pytest.raises(KeyError, match="known:"):
        hub.get("no-such-asset")


def test_checksums_full_and_partial(monkeypatch):
    data = b"dfdlab" * 1000
    digest = hashlib.sha256(data).hexdigest()
    asset = _register(monkeypatch, sha256=digest)
    asset.target.parent.mkdir(parents=True)
    asset.target.write_bytes(data)
    assert hub.path("toy") == asset.target
    _register(monkeypatch, sha256=digest[:8] + "…" + digest[-6:])
    assert hub.path("toy") == asset.target
    _register(monkeypatch, sha256="0" * 64)
    with pytest.raises(hub.ChecksumMismatch, match="fetch it again"):
        hub.path("toy")


class _RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves ``payload`` with HTTP ranges, like a CDN; can drop a connection or ignore ranges."""

    payload = b""
    drop_after: int | None = None  # the next answer announces the full length, then stops after this many bytes
    honour_range = True

    def do_GET(self):  # noqa: N802
        cls = type(self)
        start = 0
        if "Range" in self.headers and cls.honour_range:
            start = int(self.headers["Range"].split("=")[1].split("-")[0])
            if start >= len(cls.payload):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(cls.payload)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(cls.payload) - 1}/{len(cls.payload)}")
        else:
            self.send_response(200)
        body = cls.payload[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if cls.drop_after is not None:
            body, cls.drop_after = body[: cls.drop_after], None
            self.close_connection = True
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _serve(payload: bytes):
    handler = type("H", (_RangeHandler,), {"payload": payload})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, handler, f"http://127.0.0.1:{server.server_port}/toy.bin"


def test_download_resumes_after_a_dropped_connection_and_verifies(monkeypatch):
    payload = bytes(range(256)) * 400
    server, handler, url = _serve(payload)
    try:
        asset = _register(monkeypatch, url=url, sha256=hashlib.sha256(payload).hexdigest())
        part = asset.target.with_name("toy.bin.part")
        handler.drop_after = 10000  # the connection drops after 10000 bytes
        with pytest.raises(hub.AssetMissing, match="stopped after 10,000 bytes.*again to resume") as e:
            hub.fetch("toy")
        assert "\n" not in str(e.value) and part.read_bytes() == payload[:10000]
        assert hub.fetch("toy").read_bytes() == payload  # asks for bytes=10000- and appends
        assert not part.exists()

        # A .part that is already whole: the server answers 416, the file is verified and kept.
        asset.target.unlink()
        part.write_bytes(payload)
        assert hub.fetch("toy").read_bytes() == payload
        # A server that ignores ranges sends everything again: the .part is overwritten, not appended to.
        asset.target.unlink()
        part.write_bytes(payload[:5000])
        handler.honour_range = False
        assert hub.fetch("toy").read_bytes() == payload
        # A corrupt download is removed and reported.
        _register(monkeypatch, url=url, sha256="0" * 64)
        asset.target.unlink()
        with pytest.raises(hub.ChecksumMismatch, match="removed"):
            hub.fetch("toy")
        assert not part.exists() and not asset.target.exists()
    finally:
        server.shutdown()


def test_download_errors_are_one_paragraph(monkeypatch):
    with socket.socket() as s:  # a port nothing listens on: offline
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _register(monkeypatch, url=f"http://127.0.0.1:{port}/toy.bin", sha256="0" * 64)
    with pytest.raises(hub.AssetMissing) as e:
        hub.fetch("toy")
    msg = str(e.value)
    assert "Could not download 'toy'" in msg and "dfdlab assets --fetch toy" in msg and "\n" not in msg


def test_safe_extract_refuses_paths_outside(tmp_path):
    good, bad = tmp_path / "good.zip", tmp_path / "bad.zip"
    with zipfile.ZipFile(good, "w") as z:
        z.writestr("set/0_real/a.png", b"x")
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("../escape.txt", b"x")
    assert (hub.safe_extract(good, tmp_path / "out") / "set/0_real/a.png").exists()
    with pytest.raises(ValueError, match="outside"):
        hub.safe_extract(bad, tmp_path / "out2")
    assert not (tmp_path / "escape.txt").exists()
    tar = tmp_path / "bad.tar"
    with tarfile.open(tar, "w") as t:
        info = tarfile.TarInfo("../../evil")
        info.size = 1
        t.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(ValueError, match="outside"):
        hub.safe_extract(tar, tmp_path / "out3")


# --- doctor ---------------------------------------------------------------------------

def test_doctor_works_without_network(monkeypatch, capsys):
    def no_network(*a, **k):
        raise OSError("network is unreachable (test)")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    report = dfdlab.doctor()
    out = capsys.readouterr().out
    assert report["profile"] == "quick" and "torch" in report["packages"]
    assert len(report["assets"]) == len(hub.ASSETS)
    assert "assets: 0 of" in out and "dfdlab assets --fetch ufd-fc" in out


def test_cli_doctor_json_and_module_entry():
    out = subprocess.run([sys.executable, "-m", "dfdlab", "doctor", "--json"], capture_output=True,
                         text=True, timeout=120, check=True).stdout
    assert json.loads(out)["packages"]["torch"].startswith("2.")


# --- repository hygiene -----------------------------------------------------------------

def test_committed_notebooks_carry_no_outputs():
    tracked = subprocess.run(["git", "ls-files", "notebooks/*.ipynb"], cwd=REPO, capture_output=True,
                             text=True).stdout.split()
    if not tracked:  # a source tarball without git: check the files on disk
        tracked = [str(p.relative_to(REPO)) for p in (REPO / "notebooks").glob("*.ipynb")]
    dirty = []
    for name in tracked:
        nb = json.loads((REPO / name).read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count")):
                dirty.append(name)
                break
    assert not dirty, f"strip outputs before committing (make strip): {dirty}"


def test_claim_sweep_keeps_each_machines_runs_and_the_newest_per_seed(tmp_path):
    """A rerun of a seed replaces that seed's value on its machine; the same seed on another CPU is another run."""
    import pandas as pd

    from dfdlab.experiments import claim_sweep, sweep_caption
    from dfdlab.health import cpu_name, hardware

    row = {"claim": "c", "statistic": "s", "threshold": "> 0.5", "threads": 1}
    pd.DataFrame([{**row, "seed": 0, "value": 0.7, "machine": "A", "date": "2026-01-01"},
                  {**row, "seed": 1, "value": 0.8, "machine": "A", "date": "2026-01-01"}]).to_csv(tmp_path / "a.csv")
    pd.DataFrame([{**row, "seed": 0, "value": 0.9, "machine": "A", "date": "2026-01-02"},
                  {**row, "seed": 0, "value": 0.6, "machine": "B", "date": "2026-01-03"}]).to_csv(tmp_path / "b.csv")
    t = claim_sweep(["c"], tmp_path).iloc[0]
    assert t["runs"] == 3 and t["min"] == 0.6 and t["max"] == 0.9 and t["machine"] == "A + B"
    assert "on A + B" in sweep_caption(claim_sweep(["c"], tmp_path))
    assert cpu_name() and cpu_name() in hardware()  # the CPU's model, not only "x86_64"
