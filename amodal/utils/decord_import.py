"""Import decord without breaking torch's matrix products.

On import, decord2 (3.x) loads every CUDA library of the `nvidia-*` pip packages into the
process's global symbol scope, even its CPU build. torch's default Linux wheels install those
packages, and one of them, libnvblas, then answers torch's BLAS calls: when decord was imported
before torch, the first `nn.Linear` (the completion network's context layer) ends in a
segmentation fault. Imported after torch, decord is harmless.

`import_decord` imports torch first; `check_blas_usable` turns the bad order, when a user's
script imported decord itself before torch, into a clear error instead of a crash.
"""
from __future__ import annotations

import sys
from types import ModuleType

from amodal.errors import LibraryOrderError

__all__ = ["LibraryOrderError", "check_blas_usable", "decord_came_first", "import_decord"]


def import_decord() -> ModuleType:
    """The decord module, imported after torch (a no-op import when both are loaded)."""
    import torch  # noqa: F401  # torch's BLAS must be bound before decord loads libnvblas

    import decord

    return decord


def _nvblas_loaded() -> bool:
    try:
        with open("/proc/self/maps", "r") as maps:
            return any("libnvblas" in line for line in maps)
    except OSError:  # not Linux: decord loads no CUDA libraries there
        return False


def decord_came_first() -> bool:
    """True when decord was imported before torch (or torch not yet) and libnvblas is loaded."""
    if "decord" not in sys.modules:
        return False
    modules = list(sys.modules)  # in first-import order
    if "torch" in sys.modules and modules.index("torch") < modules.index("decord"):
        return False
    return _nvblas_loaded()


def check_blas_usable() -> None:
    """Raise `LibraryOrderError` when torch's matrix products would crash (see the module docstring)."""
    if decord_came_first():
        raise LibraryOrderError(
            "decord was imported before torch, and it loaded NVIDIA's libnvblas, which makes torch's matrix "
            "products crash (a segmentation fault); import amodal's model API (or torch) before decord")
