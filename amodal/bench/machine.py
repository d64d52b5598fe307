"""Machine description (CPU, cores, library versions, load) and resident memory of this process."""
from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import Any, Dict, Optional


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo ("unknown" elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> Optional[list]:
    """1, 5 and 15-minute load averages, or None where unavailable."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def rss_mb() -> float:
    """Resident memory of this process in MB (VmRSS from /proc/self/status, else psutil, else NaN)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return float(line.split()[1]) / 1024.0  # kB
    except OSError:
        pass
    try:  # optional, never a dependency
        import psutil  # type: ignore

        return psutil.Process().memory_info().rss / 2**20
    except Exception:
        return float("nan")


def machine_info() -> Dict[str, Any]:
    """CPU model, cores, OS, Python/torch/OpenCV/decord versions, torch threads, load average."""
    import torch

    info: Dict[str, Any] = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "load_average": load_average(),
        "thread_env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")},
    }
    try:
        import cv2

        info["opencv"] = cv2.__version__
    except Exception:  # pragma: no cover - OpenCV is a dependency
        info["opencv"] = None
    try:
        from amodal.utils.decord_import import import_decord

        decord = import_decord()
        info["decord"] = getattr(decord, "__version__", "installed")
    except Exception:
        info["decord"] = None
    from amodal import __version__

    info["amodal"] = __version__
    return info
