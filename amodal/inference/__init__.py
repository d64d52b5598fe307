"""Inference drivers: streaming `AmodalSession` and offline bidirectional `run_offline`."""
from __future__ import annotations

from typing import Any

__all__ = ["AmodalSession", "run_offline"]


def __getattr__(name: str) -> Any:
    if name == "AmodalSession":
        from amodal.inference.session import AmodalSession

        return AmodalSession
    if name == "run_offline":
        from amodal.inference.offline import run_offline

        return run_offline
    raise AttributeError(f"module 'amodal.inference' has no attribute {name!r}")
