"""Intra-op thread count of torch and OpenCV (process-wide settings)."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from amodal.errors import InputError


def check_threads(threads: Any, name: str = "threads") -> Optional[int]:
    """`threads` as an int >= 1, or None; raises `InputError` naming `name` otherwise."""
    if threads is None:
        return None
    if isinstance(threads, (bool, np.bool_)) or not isinstance(threads, (int, np.integer)) or int(threads) < 1:
        raise InputError(f"{name} must be an integer >= 1 (or None to keep the current setting), got {threads!r}")
    return int(threads)


def set_threads(threads: int) -> None:
    """Use `threads` intra-op threads in torch (`torch.set_num_threads`) and OpenCV (`cv2.setNumThreads`).

    Both are process-wide: every model and predictor of the process is affected.
    """
    import cv2
    import torch

    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)
