"""Import decord without breaking torch's matrix products.

On import, decord2 (3.x) loads every CUDA library of the `nvidia-*` pip packages into the
process's global symbol scope, even its CPU build. torch's default Linux wheels install those
packages, and one of them, libnvblas, then answers torch's BLAS calls: when decord was imported
before torch, the first `nn.Linear` (the completion network's context layer) ends in a
segmentation fault. Imported after torch, decord is harmless.

`import_decord` imports torch first; `check_blas_usable` turns the bad order, when a user's
script imported decord itself before torch, into a clear error instead of a crash.

A CPU build of decord (its library names no CUDA library) needs none of those libraries, yet loading
them all took ~1.2 s and ~430 MB of resident memory here: `import_decord` hides the `nvidia`
packages from decord's search while it imports such a build (a build that names CUDA libraries is
imported as it is).
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Iterator

from amodal.errors import LibraryOrderError

__all__ = ["LibraryOrderError", "check_blas_usable", "decord_came_first", "import_decord"]

_CUDA_LIBRARY_NAMES = (b"libcuda", b"libnvcuvid", b"libcudart", b"libnvrtc")


def _cpu_build() -> bool:
    """True when decord's native library is found and names no CUDA library (a CPU build). Every
    libdecord decord could load is read: in `DECORD_LIBRARY_PATH`, `LD_LIBRARY_PATH` and its package."""
    try:
        spec = importlib.util.find_spec("decord")
        folders = [os.environ.get("DECORD_LIBRARY_PATH", "")] + os.environ.get("LD_LIBRARY_PATH", "").split(":")
        folders = [f.strip() for f in folders if f.strip()]
        folders += list(spec.submodule_search_locations or []) if spec is not None else []
        libraries = [lib for folder in folders for lib in Path(folder).glob("libdecord*.so*")]
        return bool(libraries) and not any(name in lib.read_bytes() for lib in libraries
                                           for name in _CUDA_LIBRARY_NAMES)
    except (OSError, ImportError, ValueError):
        return False


@contextlib.contextmanager
def _nvidia_packages_hidden() -> Iterator[None]:
    """While decord imports: `importlib.util.find_spec("nvidia")`, its search for the CUDA pip
    packages, finds nothing, so it preloads none of them."""
    real = importlib.util.find_spec

    def find_spec(name, package=None):  # type: ignore[no-untyped-def]
        return None if name == "nvidia" else real(name, package)

    importlib.util.find_spec = find_spec
    try:
        yield
    finally:
        importlib.util.find_spec = real


def import_decord() -> ModuleType:
    """The decord module, imported after torch (a no-op import when both are loaded), without the
    CUDA libraries a CPU build does not use."""
    import torch  # noqa: F401  # torch's BLAS must be bound before decord could load libnvblas

    if "decord" in sys.modules:
        return sys.modules["decord"]
    with _nvidia_packages_hidden() if sys.platform.startswith("linux") and _cpu_build() else contextlib.nullcontext():
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
