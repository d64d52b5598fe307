"""Where a frame's visible instances come from: the visible-mask network, motion, or both.

- `network`: the visible-mask network (`VisibleNet.predict_instances`): finds still and moving
  objects in the world it was trained on; on real footage it finds objects in pieces.
- `motion`: the regions that move on their own (`MotionSegmenter`; nothing learnt): finds whole
  moving objects on any footage, nothing that stands still, and one region where moving objects
  touch.
- `network+motion`: the network's instances, where a moving region holds none that the network
  is sure of (score >= `confident`): there the region and the network's instances lying in it
  become one instance (the network's unsure pieces of one moving object joined, and completed
  with the moving pixels it missed); regions with a sure instance are left to the network, which
  separates touching objects.

The first frame of a stream has no motion: `motion` finds nothing there and `network+motion` is
the network alone.
"""
from __future__ import annotations

from typing import List, Optional, Sequence

import numpy as np

from amodal.config import DETECTORS
from amodal.errors import ConfigError
from amodal.models.instances import Instance
from amodal.models.motion_segments import MotionSegmenter

MOTION_SCORE = 0.5  # score of a moving region no network instance vouches for
INSIDE = 0.6  # a network instance lies in a moving region when this much of its area does
SURE_INSIDE = 0.5  # ... a sure instance blocks the region when this much of its area lies in it


def check_detector(name: str, motion_threshold: float = 1.0, confident: float = 0.6) -> str:
    """`name` if it is one of DETECTORS and the motion settings are valid, else ConfigError."""
    if name not in DETECTORS:
        raise ConfigError(f"detector must be one of {', '.join(DETECTORS)}; got {name!r}")
    if not motion_threshold > 0:
        raise ConfigError(f"model.visible.motion_threshold must be > 0, got {motion_threshold}")
    if not 0.0 <= confident <= 1.0:
        raise ConfigError(f"model.visible.motion_confident must be in [0, 1], got {confident}")
    return name


def _share_inside(mask: np.ndarray, region: np.ndarray) -> float:
    area = np.count_nonzero(mask)
    return np.count_nonzero(mask & region) / area if area else 0.0


def fuse_motion(instances: Sequence[Instance], regions: Sequence[np.ndarray], confident: float,
                min_area: int) -> List[Instance]:
    """The network's instances joined along moving regions (see the module docstring).

    Args:
        instances: the network's disjoint instances, bool (H, W) masks.
        regions: moving regions, bool (H, W), largest first.
        confident: network score from which an instance is sure.
        min_area: smallest joined instance kept, in pixels.

    Returns:
        Disjoint instances sorted by decreasing score.
    """
    out = list(instances)
    for region in regions:
        if any(x.score >= confident and _share_inside(x.mask, region) >= SURE_INSIDE for x in out):
            continue
        inside = [x for x in out if _share_inside(x.mask, region) >= INSIDE]
        joined = region.copy()
        for x in inside:
            joined |= x.mask
        out = [x for x in out if all(x is not y for y in inside)]
        for x in out:
            joined &= ~x.mask
        if np.count_nonzero(joined) >= min_area:
            out.append(Instance(joined, max((x.score for x in inside), default=MOTION_SCORE)))
        else:
            out.extend(inside)
    out.sort(key=lambda x: -x.score)
    return out


class Detector:
    """Visible instances of one frame (see the module docstring).

    Args:
        visible: the visible-mask network (VisibleNet), or None (then only `motion`).
            `visible.motion` networks are given the previous frame too.
        kind: one of DETECTORS.
        motion_threshold: `MotionSegmenter` threshold (working pixels per frame).
        confident: `network+motion`: network score from which an instance is sure.
    """

    def __init__(self, visible, kind: str = "network", motion_threshold: float = 1.0,
                 confident: float = 0.6) -> None:
        self.visible = visible
        self.kind = check_detector(kind, motion_threshold, confident)
        if kind != "motion" and visible is None:
            raise ConfigError(f"detector {kind!r} needs a visible-mask network and this model has none; use 'motion'")
        self.confident = float(confident)
        self.segmenter = MotionSegmenter(motion_threshold) if kind != "network" else None

    @property
    def needs_previous(self) -> bool:
        """Whether detection reads the previous frame."""
        return self.segmenter is not None or bool(getattr(self.visible, "motion", False))

    def __call__(self, image: np.ndarray, previous: Optional[np.ndarray], max_objects: int) -> List[Instance]:
        """Disjoint instances of RGB uint8 (H, W, 3) `image` sorted by decreasing score (at most
        `max_objects`); `previous` is the frame before (None at a stream's first frame)."""
        if self.kind == "motion":
            if previous is None:
                return []
            regions = self.segmenter.segments(image, previous)
            return [Instance(r, MOTION_SCORE) for r in regions[:max_objects]]
        found = self.visible.predict_instances(image, max_objects, previous=previous)
        if self.kind == "network" or previous is None:
            return found
        min_area = int(np.ceil(self.segmenter.min_area * image.shape[0] * image.shape[1]))
        return fuse_motion(found, self.segmenter.segments(image, previous), self.confident, min_area)[:max_objects]
