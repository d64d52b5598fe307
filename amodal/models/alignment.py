"""Per-object motion between consecutive frames, from DIS optical flow.

Motions are 2x3 float32 matrices in full-resolution pixel coordinates (pixel centres at integer
coordinates, OpenCV convention) mapping a point of frame t-1 to frame t. They are similarity
transforms (rotation, uniform scale, translation) fitted robustly (RANSAC) to flow vectors sampled
inside the object's eroded visible mask at t-1. With too few pixels the previous motion is reused
(constant velocity), or the identity when there is none.

Flow is computed on a downscaled grayscale pair (at most `max_width` pixels wide) with one of
OpenCV's DIS presets (`model.completion.motion_width`, `motion_preset`): "ultrafast" at 160 pixels
(well under 1 ms per frame pair on one core; checkpoints made before these keys) works down to 40
pixels across and smears the flow over object edges, so a partly hidden object takes on some of
its occluder's motion; "ultrafast_fine" at 320 (about 2 ms; the shipped checkpoint) and "medium"
at 320 (about 6 ms) work down to 160 pixels, follow the object itself and carry a memory entry
several frames forward far more faithfully (docs/RESULTS.md, "Memory alignment").
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence, Tuple

import cv2
import numpy as np

from amodal.utils.images import check_rgb

IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=np.float32)
# name -> (OpenCV DIS preset, finest scale: the flow is computed down to 1 / 2**scale of the frame's width).
# "ultrafast_fine" is ultrafast's parameters down to half the width, as "medium" works: as faithful
# as medium for the objects' motions at a third of its cost (docs/RESULTS.md, "Memory alignment").
DIS_PRESETS = {"ultrafast": (cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, 2),
               "ultrafast_fine": (cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, 1),
               "fast": (cv2.DISOPTICAL_FLOW_PRESET_FAST, 2),
               "medium": (cv2.DISOPTICAL_FLOW_PRESET_MEDIUM, 1)}


def dis_flow(preset: str) -> "cv2.DISOpticalFlow":
    """A DIS optical-flow object for a name of DIS_PRESETS."""
    base, finest = DIS_PRESETS[preset]
    dis = cv2.DISOpticalFlow_create(base)
    dis.setFinestScale(finest)
    return dis


MIN_FLOW_WIDTH = 32  # DIS refuses frames much smaller than this
DEFAULT_WIDTH, DEFAULT_PRESET = 160, "ultrafast"  # the flow of checkpoints without motion keys (CompletionConfig)


def check_motion_flow(max_width: Any, preset: Any,
                      names: Tuple[str, str] = ("model.completion.motion_width", "model.completion.motion_preset")) -> None:
    """ConfigError unless `max_width` is an int >= MIN_FLOW_WIDTH and `preset` one of DIS_PRESETS (`names`: theirs)."""
    from amodal.errors import ConfigError

    if isinstance(max_width, bool) or not isinstance(max_width, int) or max_width < MIN_FLOW_WIDTH:
        raise ConfigError(f"{names[0]} must be an integer >= {MIN_FLOW_WIDTH}, got {max_width!r}")
    if preset not in DIS_PRESETS:
        raise ConfigError(f"{names[1]} must be one of {', '.join(DIS_PRESETS)}, got {preset!r}")


@dataclass
class FlowField:
    """Optical flow of a frame pair at reduced resolution.

    Attributes:
        uv: float32 (h, w, 2) displacement, in reduced pixels, of each reduced pixel of the earlier
            frame.
        full_size: (H, W) of the frames the flow was computed from.
    """

    uv: np.ndarray
    full_size: tuple

    @property
    def scale(self) -> tuple:
        """(sx, sy): full-resolution pixels per reduced pixel."""
        h, w = self.uv.shape[:2]
        return self.full_size[1] / w, self.full_size[0] / h


def reduced_size(height: int, width: int, max_width: int) -> tuple:
    """(h, w) of a (height, width) frame reduced to at most `max_width` wide (aspect kept, h >= 8)."""
    if width <= max_width:
        return height, width
    w = max_width
    h = max(8, int(round(height * max_width / width)))
    return h, w


def to_gray_small(image: np.ndarray, max_width: int = DEFAULT_WIDTH) -> np.ndarray:
    """RGB uint8 (H, W, 3) -> downscaled grayscale uint8 (h, w), w <= max_width."""
    check_rgb(image)
    h, w = reduced_size(image.shape[0], image.shape[1], max_width)
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    if (h, w) != gray.shape:
        gray = cv2.resize(gray, (w, h), interpolation=cv2.INTER_AREA)
    return gray


class FlowEstimator:
    """Reusable DIS flow (a preset of DIS_PRESETS) on grayscale frames reduced to at most `max_width` wide."""

    def __init__(self, max_width: int = DEFAULT_WIDTH, preset: str = DEFAULT_PRESET) -> None:
        check_motion_flow(max_width, preset)
        self.max_width = max_width
        self.preset = preset
        self._dis = dis_flow(preset)

    def gray(self, image: np.ndarray) -> np.ndarray:
        return to_gray_small(image, self.max_width)

    def flow_gray(self, prev_gray: np.ndarray, cur_gray: np.ndarray, full_size: tuple) -> FlowField:
        """Flow from already reduced grayscale frames; `full_size` = (H, W) of the originals."""
        uv = self._dis.calc(prev_gray, cur_gray, None)
        return FlowField(uv=uv, full_size=tuple(full_size))

    def __call__(self, prev_rgb: np.ndarray, cur_rgb: np.ndarray) -> FlowField:
        return self.flow_gray(self.gray(prev_rgb), self.gray(cur_rgb), prev_rgb.shape[:2])


def compute_flow(prev_rgb: np.ndarray, cur_rgb: np.ndarray, max_width: int = DEFAULT_WIDTH,
                 preset: str = DEFAULT_PRESET) -> FlowField:
    """DIS optical flow from `prev_rgb` to `cur_rgb` (both RGB uint8 (H, W, 3))."""
    return FlowEstimator(max_width, preset)(prev_rgb, cur_rgb)


def _to3(m: np.ndarray) -> np.ndarray:
    out = np.eye(3, dtype=np.float64)
    out[:2] = m
    return out


def _small_to_full(m_small: np.ndarray, sx: float, sy: float) -> np.ndarray:
    """Conjugate a reduced-resolution affine into full-resolution pixel coordinates."""
    # full = s * small + (s - 1) / 2 (pixel centres).
    to_full = np.array([[sx, 0, (sx - 1) / 2], [0, sy, (sy - 1) / 2], [0, 0, 1]], dtype=np.float64)
    return (to_full @ _to3(m_small) @ np.linalg.inv(to_full))[:2].astype(np.float32)


def object_motion(
    flow: FlowField,
    mask: np.ndarray,
    prev_motion: Optional[np.ndarray] = None,
    min_pixels: int = 12,
    max_samples: int = 400,
    erode: int = 1,
) -> np.ndarray:
    """Similarity transform (2, 3) of one object from frame t-1 to frame t.

    Args:
        flow: flow from t-1 to t.
        mask: bool (H, W) visible mask of the object at t-1, full resolution.
        prev_motion: the object's previous motion, used when the mask is too small.
        min_pixels: minimum number of flow samples for a fit.
        max_samples: flow vectors used at most (evenly strided).
        erode: erosion radius (reduced pixels) that keeps flow samples off the boundary.

    Returns:
        float32 (2, 3) matrix mapping frame t-1 pixels to frame t pixels.
    """
    fallback = IDENTITY.copy() if prev_motion is None else np.asarray(prev_motion, np.float32)
    h, w = flow.uv.shape[:2]
    if mask is None or not mask.any():
        return fallback
    if mask.shape == (h, w):
        small = mask != 0
    else:
        small = cv2.resize(mask.astype(np.uint8), (w, h), interpolation=cv2.INTER_AREA) > 0
    small = small.astype(np.uint8)  # 0/1
    if erode > 0:
        eroded = cv2.erode(small, np.ones((2 * erode + 1, 2 * erode + 1), np.uint8))
        if np.count_nonzero(eroded) >= min_pixels:
            small = eroded
    flat = np.flatnonzero(small.view(bool))  # row-major pixel indices (0/1 values: the bool view is exact, and fast)
    if flat.size < min_pixels:
        return fallback
    if flat.size > max_samples:
        step = flat.size / max_samples
        flat = flat[(np.arange(max_samples) * step).astype(np.int64)]
    ys, xs = np.divmod(flat, w)
    src = np.stack([xs, ys], axis=1).astype(np.float32)
    dst = src + flow.uv[ys, xs]
    m, inliers = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=1.0, maxIters=200, confidence=0.98, refineIters=5
    )
    if m is None or inliers is None or int(inliers.sum()) < min_pixels // 2:
        return fallback
    sx, sy = flow.scale
    return _small_to_full(m, sx, sy)


def moved_mask(mask: np.ndarray, motion: np.ndarray) -> np.ndarray:
    """bool (H, W) mask moved by an affine motion (2, 3) (nearest neighbour)."""
    h, w = mask.shape
    return cv2.warpAffine(mask.view(np.uint8), np.asarray(motion, np.float64)[:2], (w, h), flags=cv2.INTER_NEAREST) > 0


def compose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Matrix product of affines: apply `b` then `a`. Shapes (2, 3) or (3, 3) -> (3, 3) float64."""
    a3 = a if a.shape == (3, 3) else _to3(a)
    b3 = b if b.shape == (3, 3) else _to3(b)
    return a3 @ b3


def track_motions(frames: Sequence[np.ndarray], masks: np.ndarray, max_width: int = DEFAULT_WIDTH,
                  preset: str = DEFAULT_PRESET) -> np.ndarray:
    """Motions of K objects over a clip.

    Args:
        frames: T RGB uint8 frames (H, W, 3).
        masks: bool (K, T, H, W) visible masks.
        max_width: width of the reduced frames the flow is computed on.
        preset: DIS preset (DIS_PRESETS).

    Returns:
        float32 (K, T-1, 2, 3): entry [k, t] maps frame t to frame t+1 for object k.
    """
    k_count, t_count = masks.shape[:2]
    out = np.tile(IDENTITY, (k_count, max(t_count - 1, 0), 1, 1)).astype(np.float32)
    est = FlowEstimator(max_width, preset)
    grays = [est.gray(f) for f in frames]
    size = frames[0].shape[:2]
    for t in range(t_count - 1):
        flow = est.flow_gray(grays[t], grays[t + 1], size)
        for k in range(k_count):
            prev = out[k, t - 1] if t > 0 else None
            out[k, t] = object_motion(flow, masks[k, t], prev)
    return out
