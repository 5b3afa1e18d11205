"""Shared fixtures. Tests never touch the network and write only under tmp folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
UFD_FC = SHARED / "weights" / "ufd_fc_weights.pth"
#: DFDLAB_HOME as the test session found it (``.ci/run`` sets a fresh one); the lessons use it too.
SESSION_HOME = os.environ.get("DFDLAB_HOME")


#: Lessons by cold runtime under ``make test`` (longest first); the others follow in file order. xdist
#: (``--dist loadscope --no-loadscope-reorder``) hands out whole files in collection order, so the long ones
#: start first and the short files fill the other worker's time. 05 goes before 09: 09 needs the zoo's
#: LGrad, which 06 trains on the other worker, and started second it waited 60-100 s on its lock.
LONGEST_FIRST = ("06_lgrad", "05_npr", "09_improve", "07_benchmark", "02_attention", "03_clip")


def pytest_configure(config):
    """Under pytest-xdist, split the cores between the workers (and the lesson kernels they start).

    Two workers with two torch threads each on a 2-core machine contend and run several times
    slower; an ``OMP_NUM_THREADS`` the caller set is kept.
    """
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    if workers > 1 and "OMP_NUM_THREADS" not in os.environ:
        threads = max(1, (os.cpu_count() or 1) // workers)
        os.environ["OMP_NUM_THREADS"] = str(threads)  # inherited by the nbval kernels
        import torch

        torch.set_num_threads(threads)


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist: lessons first, the longest first (:data:`LONGEST_FIRST`), then the unit tests."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return  # one process: unit tests first, they fail fastest

    def rank(item) -> tuple[int, int]:
        path = Path(str(item.path))
        if path.suffix != ".ipynb":
            return (1, 0)
        stem = path.stem
        return (0, LONGEST_FIRST.index(stem) if stem in LONGEST_FIRST else len(LONGEST_FIRST))

    items.sort(key=rank)  # stable: the cells of a lesson, and files of equal rank, keep their order


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Each test gets an empty DFDLAB_HOME unless it asks for the session one (``mini_root``)."""
    if "DFDLAB_TEST_KEEP_HOME" not in os.environ:
        monkeypatch.setenv("DFDLAB_HOME", str(tmp_path_factory.mktemp("home")))
    monkeypatch.setenv("DFDLAB_PROFILE", "quick")


@pytest.fixture
def one_torch_thread():
    """For modules of tiny tensor ops: one intra-op thread beats two contending on a shared 2-core CPU.

    Opt in per module with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``.
    """
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def ufd_fc_path() -> Path:
    if not UFD_FC.exists():
        pytest.skip(f"the official UnivFD head is not at {UFD_FC}; it is never committed, see docs/univfd.md")
    return UFD_FC


@pytest.fixture(scope="session")
def photos() -> dict:
    """Real photographs of odd sizes from scikit-image (offline)."""
    import numpy as np
    from PIL import Image
    from skimage import data

    out = {}
    for name in ("astronaut", "coffee", "chelsea", "rocket"):
        arr = getattr(data, name)()
        out[name] = Image.fromarray(np.ascontiguousarray(arr)).convert("RGB")
    # odd sizes: crop off one row/column
    out["astronaut_odd"] = out["astronaut"].crop((0, 0, 511, 301))
    out["chelsea_odd"] = out["chelsea"].crop((3, 5, 450, 300))
    return out


@pytest.fixture(scope="session")
def mini_root() -> Path:
    """The quick mini benchmark, built once per session in the session's DFDLAB_HOME.

    The lessons find it there as a cache hit (or, under pytest-xdist, wait on its cache lock
    while the other worker builds it).
    """
    import dfdlab.data

    with pytest.MonkeyPatch.context() as mp:
        if SESSION_HOME:
            mp.setenv("DFDLAB_HOME", SESSION_HOME)
        else:
            mp.delenv("DFDLAB_HOME", raising=False)
        return dfdlab.data.build_mini()
