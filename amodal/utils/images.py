"""Checks of the RGB images the library takes (uint8 (H, W, 3), the layout every entry point uses)."""
from __future__ import annotations

from typing import Any

import numpy as np

from amodal.errors import InputError


MIN_SIDE = 16  # smallest frame side accepted, and kept when downscaling (motion estimation needs it)


def check_frame_size(image: np.ndarray, what: str = "frame") -> None:
    """Raise `InputError` naming `what` when a side of `image` (H, W, ...) is under MIN_SIDE pixels."""
    if image.shape[0] < MIN_SIDE or image.shape[1] < MIN_SIDE:
        raise InputError(f"{what} is too small: {image.shape[1]}x{image.shape[0]} (at least {MIN_SIDE} pixels a side)")


def check_rgb(image: Any, what: str = "image") -> None:
    """Raise `InputError` naming `what` unless `image` is an RGB uint8 numpy array (H, W, 3)."""
    if isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3:
        return
    desc = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
    raise InputError(f"{what}: expected an RGB uint8 image (H, W, 3), got {desc}")
