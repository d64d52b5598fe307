"""Per-object motion between consecutive frames, from optical flow.

Motions are 2x3 float32 matrices in full-resolution pixel coordinates (pixel centres at integer
coordinates, OpenCV convention) mapping a point of frame t-1 to frame t. They are similarity
transforms (rotation, uniform scale, translation) fitted robustly (RANSAC) to where points sampled
inside the object's eroded visible mask at t-1 went at t. With too few points, or a fit whose scale
changes by more than MAX_SCALE_STEP in one frame (a sliver of a hidden object's visible mask gives
such fits), the previous motion is reused (constant velocity), or the identity when there is none.

The points are followed on a downscaled grayscale pair (at most `max_width` pixels wide;
`model.completion.motion_width`) by the method `motion_preset` names: one of OpenCV's dense DIS
presets (DIS_PRESETS), whose flow is sampled at the points, or "lk", OpenCV's pyramidal
Lucas-Kanade run on the sampled points of every object of the frame in one call (LK_PRESET).
"ultrafast" at 160 pixels (checkpoints made before these keys) works down to 40 pixels across and
smears the flow over object edges, so a partly hidden object takes on some of its occluder's
motion; "ultrafast_fine" and "medium" at 320 work down to 160 pixels and follow the object itself;
"lk" at 320 (the shipped checkpoint) follows 60 points per object with 9-pixel windows at full
working resolution: as faithful again, and cheaper, since nothing is computed where no object is
(docs/RESULTS.md, "Memory alignment").
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from amodal.utils.images import check_rgb

IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=np.float32)
# name -> (OpenCV DIS preset, finest scale: the flow is computed down to 1 / 2**scale of the frame's width,
# (gradient-descent, variational-refinement) iterations, or None for the preset's own).
# "ultrafast_fine" is ultrafast's parameters down to half the width, as "medium" works: as faithful
# as medium for the objects' motions at a third of its cost (docs/RESULTS.md, "Memory alignment").
# "medium_fast" is medium with 12 and 2 iterations instead of 25 and 5: half of medium's cost, and the
# visible-mask network trained on medium's flow scores the same with it (docs/RESULTS.md, "Cheaper flow input").
DIS_PRESETS = {"ultrafast": (cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, 2, None),
               "ultrafast_fine": (cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, 1, None),
               "fast": (cv2.DISOPTICAL_FLOW_PRESET_FAST, 2, None),
               "medium": (cv2.DISOPTICAL_FLOW_PRESET_MEDIUM, 1, None),
               "medium_fast": (cv2.DISOPTICAL_FLOW_PRESET_MEDIUM, 1, (12, 2))}


# Sparse pyramidal Lucas-Kanade: window side, pyramid levels above the working resolution, points
# sampled per object (validation, docs/RESULTS.md "Memory alignment": 7-9 pixels, 2-3 levels and
# 30-100 points all score alike; 3 levels follow up to ~36 working pixels a frame).
LK_PRESET = "lk"
LK_WINDOW, LK_LEVELS, LK_SAMPLES = 9, 3, 60
MOTION_PRESETS = tuple(DIS_PRESETS) + (LK_PRESET,)
DENSE_SAMPLES = 400  # flow vectors sampled per object from a dense field
# A fitted scale change beyond this in one frame is taken for a bad fit (docs/RESULTS.md "Memory
# alignment": 0.07-0.15 score alike on validation; without the guard, objects about to be hidden
# shrank or swelled by up to 30 % a frame).
MAX_SCALE_STEP = 0.1


def dis_flow(preset: str) -> "cv2.DISOpticalFlow":
    """A DIS optical-flow object for a name of DIS_PRESETS."""
    base, finest, iterations = DIS_PRESETS[preset]
    dis = cv2.DISOpticalFlow_create(base)
    dis.setFinestScale(finest)
    if iterations is not None:
        dis.setGradientDescentIterations(iterations[0])
        dis.setVariationalRefinementIterations(iterations[1])
    return dis


MIN_FLOW_WIDTH = 32  # DIS refuses frames much smaller than this
DEFAULT_WIDTH, DEFAULT_PRESET = 160, "ultrafast"  # the flow of checkpoints without motion keys (CompletionConfig)


def check_motion_flow(max_width: Any, preset: Any,
                      names: Tuple[str, str] = ("model.completion.motion_width", "model.completion.motion_preset")) -> None:
    """ConfigError unless `max_width` is an int >= MIN_FLOW_WIDTH and `preset` one of MOTION_PRESETS (`names`: theirs)."""
    from amodal.errors import ConfigError

    if isinstance(max_width, bool) or not isinstance(max_width, int) or max_width < MIN_FLOW_WIDTH:
        raise ConfigError(f"{names[0]} must be an integer >= {MIN_FLOW_WIDTH}, got {max_width!r}")
    if preset not in MOTION_PRESETS:
        raise ConfigError(f"{names[1]} must be one of {', '.join(MOTION_PRESETS)}, got {preset!r}")


class MotionField:
    """Where the points of a reduced frame t-1 went in frame t (FlowField or SparseFlow).

    Attributes:
        full_size: (H, W) of the frames the reduced pair was made from.
        samples: points sampled per object for a motion fit.
    """

    full_size: tuple
    samples: int

    @property
    def shape(self) -> tuple:
        """(h, w) of the reduced frames."""
        raise NotImplementedError

    @property
    def scale(self) -> tuple:
        """(sx, sy): full-resolution pixels per reduced pixel."""
        h, w = self.shape
        return self.full_size[1] / w, self.full_size[0] / h

    def track(self, points: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """float32 (N, 2) integer (x, y) reduced pixels of frame t-1 -> their float32 (N, 2) positions in
        frame t and bool (N,): found."""
        raise NotImplementedError


@dataclass
class FlowField(MotionField):
    """Dense optical flow of a frame pair at reduced resolution.

    Attributes:
        uv: float32 (h, w, 2) displacement, in reduced pixels, of each reduced pixel of the earlier
            frame.
        full_size: (H, W) of the frames the flow was computed from.
    """

    uv: np.ndarray
    full_size: tuple
    samples: int = DENSE_SAMPLES

    @property
    def shape(self) -> tuple:
        return self.uv.shape[:2]

    def track(self, points: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        xs, ys = points[:, 0].astype(np.int64), points[:, 1].astype(np.int64)
        return points + self.uv[ys, xs], np.ones(len(points), bool)


@dataclass
class SparseFlow(MotionField):
    """A reduced grayscale frame pair whose points are followed on demand by pyramidal Lucas-Kanade.

    Attributes:
        prev, cur: uint8 (h, w) reduced grayscale frames t-1 and t.
        full_size: (H, W) of the original frames.
    """

    prev: np.ndarray
    cur: np.ndarray
    full_size: tuple
    samples: int = LK_SAMPLES

    @property
    def shape(self) -> tuple:
        return self.prev.shape[:2]

    def track(self, points: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        if not len(points):
            return points.copy(), np.zeros(0, bool)
        criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03)
        moved, status, _ = cv2.calcOpticalFlowPyrLK(self.prev, self.cur, points.reshape(-1, 1, 2), None,
                                                    winSize=(LK_WINDOW, LK_WINDOW), maxLevel=LK_LEVELS,
                                                    criteria=criteria)
        return moved.reshape(-1, 2), status.reshape(-1) == 1


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
    """Reusable flow (a preset of MOTION_PRESETS) on grayscale frames reduced to at most `max_width` wide."""

    def __init__(self, max_width: int = DEFAULT_WIDTH, preset: str = DEFAULT_PRESET) -> None:
        check_motion_flow(max_width, preset)
        self.max_width = max_width
        self.preset = preset
        self._dis = dis_flow(preset) if preset in DIS_PRESETS else None

    def gray(self, image: np.ndarray) -> np.ndarray:
        return to_gray_small(image, self.max_width)

    def flow_gray(self, prev_gray: np.ndarray, cur_gray: np.ndarray, full_size: tuple) -> MotionField:
        """Flow from already reduced grayscale frames; `full_size` = (H, W) of the originals."""
        if self._dis is None:
            return SparseFlow(prev=prev_gray, cur=cur_gray, full_size=tuple(full_size))
        uv = self._dis.calc(prev_gray, cur_gray, None)
        return FlowField(uv=uv, full_size=tuple(full_size))

    def __call__(self, prev_rgb: np.ndarray, cur_rgb: np.ndarray) -> MotionField:
        return self.flow_gray(self.gray(prev_rgb), self.gray(cur_rgb), prev_rgb.shape[:2])


def compute_flow(prev_rgb: np.ndarray, cur_rgb: np.ndarray, max_width: int = DEFAULT_WIDTH,
                 preset: str = DEFAULT_PRESET) -> MotionField:
    """Optical flow (a preset of MOTION_PRESETS) from `prev_rgb` to `cur_rgb` (both RGB uint8 (H, W, 3))."""
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


def _sample_points(mask: Optional[np.ndarray], shape: tuple, min_pixels: int, max_samples: int,
                   erode: int) -> Optional[np.ndarray]:
    """float32 (n, 2) integer (x, y) reduced pixels evenly strided over the eroded mask, or None (too few)."""
    h, w = shape
    if mask is None or not mask.any():
        return None
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
        return None
    if flat.size > max_samples:
        step = flat.size / max_samples
        flat = flat[(np.arange(max_samples) * step).astype(np.int64)]
    ys, xs = np.divmod(flat, w)
    return np.stack([xs, ys], axis=1).astype(np.float32)


def object_motions(
    flow: MotionField,
    masks: Sequence[Optional[np.ndarray]],
    prev_motions: Sequence[Optional[np.ndarray]],
    min_pixels: int = 12,
    max_samples: Optional[int] = None,
    erode: int = 1,
) -> List[np.ndarray]:
    """Similarity transforms (2, 3) of N objects from frame t-1 to frame t (all points followed at once).

    Args:
        flow: flow from t-1 to t.
        masks: N bool (H, W) visible masks of the objects at t-1, full resolution (None: not seen).
        prev_motions: N previous motions (or None), used when a mask is too small.
        min_pixels: minimum number of points for a fit.
        max_samples: points per object at most (evenly strided; None: the flow's own `samples`).
        erode: erosion radius (reduced pixels) that keeps the points off the boundary.

    Returns:
        N float32 (2, 3) matrices mapping frame t-1 pixels to frame t pixels.
    """
    cap = flow.samples if max_samples is None else max_samples
    points = [_sample_points(m, flow.shape, min_pixels, cap, erode) for m in masks]
    found = [p for p in points if p is not None]
    moved, ok = flow.track(np.concatenate(found)) if found else (None, None)
    out, start = [], 0
    sx, sy = flow.scale
    for src, prev in zip(points, prev_motions):
        fallback = IDENTITY.copy() if prev is None else np.asarray(prev, np.float32)
        if src is None:
            out.append(fallback)
            continue
        sel = ok[start:start + len(src)]
        dst = moved[start:start + len(src)][sel]
        start += len(src)
        if len(dst) < min_pixels // 2:
            out.append(fallback)
            continue
        m, inliers = cv2.estimateAffinePartial2D(
            src[sel], dst, method=cv2.RANSAC, ransacReprojThreshold=1.0, maxIters=200, confidence=0.98,
            refineIters=5)
        if (m is None or inliers is None or int(inliers.sum()) < min_pixels // 2
                or abs(np.sqrt(abs(np.linalg.det(m[:, :2]))) - 1.0) > MAX_SCALE_STEP):
            out.append(fallback)
        else:
            out.append(_small_to_full(m, sx, sy))
    return out


def object_motion(flow: MotionField, mask: Optional[np.ndarray], prev_motion: Optional[np.ndarray] = None,
                  **kwargs: Any) -> np.ndarray:
    """Similarity transform (2, 3) of one object from frame t-1 to frame t (`object_motions` of one)."""
    return object_motions(flow, [mask], [prev_motion], **kwargs)[0]


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
        preset: flow method (MOTION_PRESETS).

    Returns:
        float32 (K, T-1, 2, 3): entry [k, t] maps frame t to frame t+1 for object k.
    """
    k_count, t_count = masks.shape[:2]
    out = np.tile(IDENTITY, (k_count, max(t_count - 1, 0), 1, 1)).astype(np.float32)
    est = FlowEstimator(max_width, preset)
    if k_count == 0 or t_count < 2:  # nothing to fit (the settings are still checked)
        return out
    grays = [est.gray(f) for f in frames]
    size = frames[0].shape[:2]
    for t in range(t_count - 1):
        flow = est.flow_gray(grays[t], grays[t + 1], size)
        prevs = [out[k, t - 1] if t > 0 else None for k in range(k_count)]
        out[:, t] = object_motions(flow, list(masks[:, t]), prevs)
    return out
