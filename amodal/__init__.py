"""amodal: self-supervised amodal video object segmentation.

Colour order is RGB everywhere: readers yield RGB uint8 frames (H, W, 3) and every public
API expects RGB. Masks come out at the input resolution.

Importing the package has no side effects; heavy modules load on first use.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["AmodalPredictor", "AmodalError", "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from amodal.api import AmodalPredictor
    from amodal.errors import AmodalError


def __getattr__(name: str) -> Any:
    if name == "AmodalPredictor":
        from amodal.api import AmodalPredictor

        return AmodalPredictor
    if name == "AmodalError":
        from amodal.errors import AmodalError

        return AmodalError
    raise AttributeError(f"module 'amodal' has no attribute {name!r}")
