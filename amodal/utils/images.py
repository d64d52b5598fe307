"""Checks of the RGB images the library takes (uint8 (H, W, 3), the layout every entry point uses)."""
from __future__ import annotations

from typing import Any

import numpy as np

from amodal.errors import InputError


def check_rgb(image: Any, what: str = "image") -> None:
    """Raise `InputError` naming `what` unless `image` is an RGB uint8 numpy array (H, W, 3)."""
    if isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3:
        return
    desc = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
    raise InputError(f"{what}: expected an RGB uint8 image (H, W, 3), got {desc}")
