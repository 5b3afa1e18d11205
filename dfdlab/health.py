"""``dfdlab.doctor()``: what is installed, which device, which profile, which assets are here.

Every probe is independent and reports its own failure as text, so the doctor works
offline and on a broken install (that is when people run it).
"""

from __future__ import annotations

import importlib
import os
import platform
import sys

from . import _compat, hub
from .config import data_root, home, profile

PACKAGES = ("torch", "torchvision", "open_clip", "timm", "numpy", "PIL", "scipy", "sklearn", "skimage",
            "cv2", "pandas", "matplotlib", "tqdm", "ipywidgets")


def _version(module: str) -> str:
    try:
        mod = importlib.import_module(module)
    except ImportError as e:  # also catches a broken extension module
        return f"missing ({e.__class__.__name__}: {str(e).splitlines()[0][:80]})"
    return str(getattr(mod, "__version__", "installed"))


def _device_report() -> dict:
    import torch  # inside the probe: a broken torch becomes a line of the report, not a failed doctor

    from .runtime import device

    info = {"device": str(device()), "cuda_available": torch.cuda.is_available(),
            "torch_cuda_build": torch.version.cuda, "threads": torch.get_num_threads()}
    if torch.cuda.is_available():
        info["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        info["cudnn"] = torch.backends.cudnn.version()
    return info


def _folder_report(path) -> dict:
    exists = path.exists()
    writable = os.access(path if exists else path.parent if path.parent.exists() else os.path.expanduser("~"),
                         os.W_OK)
    return {"path": str(path), "exists": exists, "writable": writable}


def doctor(print_report: bool = True) -> dict:
    """Collect the environment report; print it as text when ``print_report``. Never raises."""
    report: dict = {"python": sys.version.split()[0], "platform": platform.platform(),
                    "packages": {name: _version(name) for name in PACKAGES}}
    report["torchvision_ops"] = ("fallback (compiled ops did not load against this torch; dfdlab registered "
                                 "a CPU nms and uses PIL for image I/O)" if _compat.ACTIVE else "native")
    try:
        report["profile"] = profile()
    except ValueError as e:
        report["profile"] = f"invalid: {e}"
    try:
        report["compute"] = _device_report()
    except (ImportError, RuntimeError) as e:
        report["compute"] = {"error": str(e)}
    report["DFDLAB_HOME"] = _folder_report(home())
    report["DFDLAB_DATA"] = _folder_report(data_root())
    report["assets"] = hub.status()
    if print_report:
        print(format_report(report))
    return report


def format_report(report: dict) -> str:
    lines = [f"dfdlab doctor  (python {report['python']}, {report['platform']})", "", "packages:"]
    lines += [f"  {k:<12} {v}" for k, v in report["packages"].items()]
    lines.append(f"  torchvision ops: {report['torchvision_ops']}")
    c = report["compute"]
    lines += ["", f"profile: {report['profile']}  (set DFDLAB_PROFILE=quick|full)"]
    if "error" in c:
        lines.append(f"device:  could not be probed ({c['error']})")
    else:
        gpus = ", ".join(c.get("gpus", [])) or "none"
        lines.append(f"device:  {c['device']}  (CUDA available: {c['cuda_available']}, torch CUDA build: "
                     f"{c['torch_cuda_build']}, GPUs: {gpus}, CPU threads: {c['threads']})")
    for key in ("DFDLAB_HOME", "DFDLAB_DATA"):
        f = report[key]
        state = "exists" if f["exists"] else "will be created"
        lines.append(f"{key}: {f['path']} ({state}{'' if f['writable'] else ', NOT writable'})")
    present = [a for a in report["assets"] if a["present"]]
    lines += ["", f"assets: {len(present)} of {len(report['assets'])} present "
                  "(the quick profile needs none of them)"]
    for a in report["assets"]:
        mark = "ok " if a["present"] else "-- "
        lines.append(f"  {mark}{a['name']:<22} " + ("" if a["present"] else a["advice"]))
    return "\n".join(lines)


def cpu_name() -> str:
    """The CPU's model name (Linux: ``/proc/cpuinfo``), else what ``platform`` says (often only "x86_64").

    Float results of training move with the CPU's vector units, so every record names the model
    (an AMD EPYC and an Intel Xeon both read "x86_64" in ``platform.processor()`` on Linux).
    """
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware() -> str:
    """One line: device, CPU/GPU name, torch version (recorded beside every measured number)."""
    import torch  # the doctor must start even where torch is broken

    from .runtime import device

    dev = device()
    if dev.type == "cuda":
        what = f"cuda: {torch.cuda.get_device_name(dev)}"
    else:
        what = f"cpu: {cpu_name()} ({platform.machine()}), {os.cpu_count()} cores"
    return f"{what}; torch {torch.__version__}; {platform.system()}"
