"""Argument checks shared by the API, the CLI and the configs."""
from __future__ import annotations

from typing import Any

import numpy as np

from amodal.errors import InputError


def check_max_side(value: Any, name: str = "max_side") -> Any:
    """`value` (the long side frames are reduced to) as an int >= 16, or None; InputError naming `name` otherwise."""
    if value is not None and (isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer))
                              or value < 16):
        raise InputError(f"{name} must be an integer >= 16 (pixels) or None, got {value!r}")
    return None if value is None else int(value)


def check_int(value: Any, name: str, minimum: int = 0) -> int:
    """`value` (a Python or numpy integer) as an int >= `minimum` (bools and non-integers refused);
    InputError naming `name` otherwise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)
