"""Typed records passed between the parts of `amodal`.

Conventions: images are RGB uint8 arrays of shape (H, W, 3); masks are bool arrays of
shape (H, W) (or (N, H, W) for N objects) at the input resolution.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np


@dataclass
class Frame:
    """One decoded frame.

    Attributes:
        index: 0-based frame index in its source.
        timestamp: seconds since the start of the source (or since opening a live source).
        image: RGB uint8 array (H, W, 3).
    """

    index: int
    timestamp: float
    image: np.ndarray


@dataclass
class FrameResult:
    """What the predictor returns for one frame.

    Attributes:
        frame_index: index of the frame in its stream.
        object_ids: track ids, one per object, stable over time.
        visible: bool (N, H, W) visible masks at input resolution.
        amodal: bool (N, H, W) full-extent masks; amodal ⊇ visible.
        scores: float (N,) confidence per object.
        occlusion: float (N,) occlusion rate 1 - |visible| / |amodal| in [0, 1].
        depth_order: object ids sorted front to back.
        latency_ms: wall time spent on this frame.
        timestamp: seconds, from the source.
    """

    frame_index: int
    object_ids: List[int]
    visible: np.ndarray
    amodal: np.ndarray
    scores: np.ndarray
    occlusion: np.ndarray
    depth_order: List[int] = field(default_factory=list)
    latency_ms: float = 0.0
    timestamp: Optional[float] = None

    @property
    def num_objects(self) -> int:
        return len(self.object_ids)
