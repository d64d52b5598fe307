"""Keep freed memory in the process instead of handing it back to the OS at once (glibc malloc).

A frame's tensors are a few MB each (a 48-channel map at 160x120 is 3.7 MB). glibc serves blocks
that large with a fresh `mmap` once its adaptive threshold has moved, and gives the top of the heap
back to the OS whenever more than 128 kB is free there; every frame then touches new pages, and
each first touch is a page fault that the kernel zero-fills. On this project's 2-core virtual
machine that made the visible-mask network 1.6-2.5x slower than its arithmetic (a residual block
at 160x120, timed on 2026-12-01: 4.9 ms in a chain of layers against 1.2 ms with the memory kept;
~3,500 page faults a call against none, as tests/utils/test_allocator.py counts).

`reuse_freed_memory` fixes the two thresholds (`mallopt`): blocks up to `MMAP_THRESHOLD` come from
the heap, and up to `TRIM_THRESHOLD` of free memory stays mapped for the next frame. The cost is
that much resident memory kept after a peak, once: it does not grow with the video. The setting
is process-wide; set the environment variable `AMODAL_KEEP_MALLOC=1` to leave malloc alone.
Elsewhere than glibc (macOS, musl) it does nothing.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

MMAP_THRESHOLD = 32 << 20  # glibc's largest allowed value on 64-bit systems
TRIM_THRESHOLD = 256 << 20
OPT_OUT_VARIABLE = "AMODAL_KEEP_MALLOC"

_M_TRIM_THRESHOLD = -1  # <malloc.h>
_M_MMAP_THRESHOLD = -3

_applied = False


def reuse_freed_memory() -> bool:
    """Fix glibc's mmap and trim thresholds for this process (once; later calls do nothing).

    Returns:
        True when the thresholds are (or already were) set by this function; False where they
        cannot be (not Linux, no glibc `mallopt`) or `AMODAL_KEEP_MALLOC` is set to a non-empty
        value other than "0".
    """
    global _applied
    if _applied:
        return True
    if os.environ.get(OPT_OUT_VARIABLE, "0") not in ("", "0") or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # no C library by that name, or one without mallopt (musl)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    _applied = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _applied
