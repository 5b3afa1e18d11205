"""Atomic writes, cache locks and checksums: a crash never leaves a half-written file behind,
and two processes never build the same cache entry at once."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator

import torch
from filelock import FileLock, Timeout

log = logging.getLogger(__name__)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path``; rename it over ``path`` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    with atomic_open(path, "w") as f:
        f.write(text)
    return Path(path)


def atomic_torch_save(obj, path: str | os.PathLike) -> Path:
    """``torch.save`` through a temporary file and an atomic rename."""
    with atomic_open(path, "wb") as f:
        torch.save(obj, f)
    return Path(path)


@contextlib.contextmanager
def cache_lock(entry: str | os.PathLike) -> Iterator[None]:
    """Hold an inter-process lock on the cache entry ``entry`` (a folder or file, existing or not).

    Whoever takes it first builds the entry; another process (a second notebook, a parallel
    ``make test`` worker) waits, logs that it does, then finds the entry finished. The lock
    file ``.<name>.lock`` sits beside the entry.
    """
    entry = Path(entry)
    entry.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(entry.parent / f".{entry.name}.lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log.warning("%s is being built by another process; waiting for it", entry)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def sha256sum(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()
