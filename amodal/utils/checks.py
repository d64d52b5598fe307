"""Argument checks shared by the API, the CLI and the configs."""
from __future__ import annotations

from typing import Any

from amodal.errors import InputError


def check_int(value: Any, name: str, minimum: int = 0) -> int:
    """`value` as an int >= `minimum` (bools and non-integers refused); InputError naming `name` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)
