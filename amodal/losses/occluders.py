"""Synthetic occluders for the `occluder_synthesis` term (PCNet-M's eraser, over time).

For a target object, another object's visible mask (from the same clip when possible, else from
another clip of the batch), scaled by 0.8-1.5x, is shifted so that its box overlaps 40-100% of the
smaller of the two boxes, and pasted as an occluder E. With probability `p_front` it is in front
(the target's pixels under it are erased), else behind (the target is unchanged). A front eraser
must leave at least `min_kept` (5 %) of the target visible, so that completing it is possible.

Two ways to place them (`persistent`):
- independent (PCNet-M's, image by image): each object-frame gets its own eraser with
  probability `p_apply`;
- persistent runs (how real occlusions happen in video): every object gets one eraser held over a
  run of consecutive frames (random start and length), following the target's box centre with a
  small constant drift of its own, so a part can stay hidden for several frames and the model has
  to carry it through its memory of its own predictions (frames of the run where the eraser would
  hide too much or nothing are skipped).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

import cv2
import numpy as np


@dataclass
class Erasers:
    """Per object and frame: mask (M, T, H, W) bool, front (M, T) bool, applied (M, T) bool.

    `persistent`: drawn as runs over frames (then the training memory stores the erased visible
    masks, as the streaming memory would under a real occlusion).
    """

    mask: np.ndarray
    front: np.ndarray
    applied: np.ndarray
    persistent: bool = False


def _boxes(masks: np.ndarray) -> np.ndarray:
    """(..., H, W) bool -> (..., 4) int boxes x0, y0, x1, y1 (exclusive ends); -1 rows when empty."""
    rows = masks.any(-1)
    cols = masks.any(-2)
    h, w = masks.shape[-2:]
    has = rows.any(-1)
    y0 = rows.argmax(-1)
    y1 = h - rows[..., ::-1].argmax(-1)
    x0 = cols.argmax(-1)
    x1 = w - cols[..., ::-1].argmax(-1)
    out = np.stack([x0, y0, x1, y1], -1)
    out[~has] = -1
    return out


def _overlap(a: Tuple[int, int, int, int], b: Tuple[int, int, int, int]) -> float:
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return iw * ih / max(smaller, 1)


def sample_erasers(visible: np.ndarray, clip_index: np.ndarray, rng: np.random.Generator, p_apply: float = 0.5,
                   p_front: float = 0.8, overlap: Tuple[float, float] = (0.4, 1.0), min_kept: float = 0.05,
                   tries: int = 8, persistent: bool = False, max_drift: float = 1.5,
                   scale: Tuple[float, float] = (0.8, 1.5)) -> Erasers:
    """Draw synthetic occluders (see the module docstring).

    Args:
        visible: bool (M, T, H, W) visible masks of the M objects of a batch.
        clip_index: (M,) which clip each object belongs to.
        rng: random generator (the trainer seeds it from the step for exact resumes).
        p_apply: independent: probability that an object-frame gets an occluder; persistent: the
            expected fraction of an object's frames inside its run.
        p_front: probability that an occluder (a run's) is in front.
        overlap: accepted range of box overlap (intersection over the smaller box) where placed.
        min_kept: a front occluder keeps at least this fraction of the target's visible pixels.
        tries: placements tried before giving up on an object-frame (or run).
        persistent: draw runs over frames instead of independent object-frames.
        max_drift: persistent: the occluder's own drift, up to this many pixels per frame and axis.
        scale: range of the random scale of the occluder's shape.
    """
    m_count, t_count, h, w = visible.shape
    out = Erasers(np.zeros_like(visible, dtype=bool), np.zeros((m_count, t_count), bool),
                  np.zeros((m_count, t_count), bool), persistent)
    boxes = _boxes(visible)
    areas = visible.reshape(m_count, t_count, -1).sum(-1)
    centres = (boxes[..., :2] + boxes[..., 2:]) / 2.0
    for m in range(m_count):
        same = [j for j in range(m_count) if j != m and clip_index[j] == clip_index[m] and areas[j].any()]
        pool = same or [j for j in range(m_count) if j != m and areas[j].any()]
        if not pool:
            continue
        if persistent:
            run = _run(rng, t_count, p_apply)
            starts = [run[0]] if run else []
        else:
            starts = [t for t in range(t_count) if rng.random() < p_apply]
        for t0 in starts:
            if areas[m, t0] == 0:
                continue
            src = _source(visible, boxes, areas, pool, rng, scale)
            is_front = bool(rng.random() < p_front)
            placed = _place(src, boxes[m, t0], rng, overlap, tries,
                            lambda e: _accept(e, visible[m, t0], areas[m, t0], is_front, min_kept), h, w)
            if placed is None:
                continue
            x0, y0, e = placed
            if not persistent:
                out.mask[m, t0], out.front[m, t0], out.applied[m, t0] = e, is_front, True
                continue
            # the whole run: same occluder, same offset from the target's box centre, plus its own drift
            drift = rng.uniform(-max_drift, max_drift, size=2)
            offset = np.array([x0, y0], float) - centres[m, t0]
            for t in range(t0, t0 + run[1]):
                if areas[m, t] == 0:
                    continue
                xy = np.round(centres[m, t] + offset + drift * (t - t0)).astype(int)
                e = _paste(src, int(xy[0]), int(xy[1]), h, w)
                if _accept(e, visible[m, t], areas[m, t], is_front, min_kept):
                    out.mask[m, t], out.front[m, t], out.applied[m, t] = e, is_front, True
    return out


def _run(rng: np.random.Generator, t_count: int, fraction: float) -> Optional[Tuple[int, int]]:
    """(start, length) of an object's occluder run, or None for no run.

    The length is uniform in 1..T and the start uniform where it fits; an object gets a run with
    probability min(1, fraction / E[length / T]), so that about `fraction` of object-frames are in runs.
    """
    mean_cover = (t_count + 1) / (2.0 * t_count)
    if rng.random() >= min(1.0, fraction / mean_cover):
        return None
    length = int(rng.integers(1, t_count + 1))
    return int(rng.integers(0, t_count - length + 1)), length


def _source(visible: np.ndarray, boxes: np.ndarray, areas: np.ndarray, pool: List[int],
            rng: np.random.Generator, scale: Tuple[float, float]) -> np.ndarray:
    """The cropped visible mask of a random frame of a random object of `pool`, randomly scaled."""
    j = pool[int(rng.integers(len(pool)))]
    frames = np.flatnonzero(areas[j] > 0)
    tj = int(frames[rng.integers(len(frames))])
    sx0, sy0, sx1, sy1 = boxes[j, tj]
    src = visible[j, tj, sy0:sy1, sx0:sx1]
    f = float(rng.uniform(*scale))
    size = (max(1, int(round(src.shape[1] * f))), max(1, int(round(src.shape[0] * f))))
    return cv2.resize(src.view(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0


def _place(src: np.ndarray, target_box: np.ndarray, rng: np.random.Generator, overlap: Tuple[float, float],
           tries: int, accept, h: int, w: int) -> Optional[Tuple[int, int, np.ndarray]]:
    """Top-left corner and pasted mask of `src` centred in the target's box, within `overlap`; None on failure."""
    sh, sw = src.shape
    tx0, ty0, tx1, ty1 = (int(v) for v in target_box)
    for _ in range(tries):
        x0 = int(round(rng.uniform(tx0, tx1) - sw / 2))
        y0 = int(round(rng.uniform(ty0, ty1) - sh / 2))
        if not overlap[0] <= _overlap((x0, y0, x0 + sw, y0 + sh), (tx0, ty0, tx1, ty1)) <= overlap[1]:
            continue
        e = _paste(src, x0, y0, h, w)
        if accept(e):
            return x0, y0, e
    return None


def _accept(e: np.ndarray, target: np.ndarray, area: int, is_front: bool, min_kept: float) -> bool:
    """An eraser must touch the frame; in front, it must hide some but keep >= min_kept of the target."""
    if not e.any():
        return False
    if is_front:
        kept = np.count_nonzero(target & ~e) / area
        return min_kept <= kept <= 0.98
    return True


def _paste(src: np.ndarray, x0: int, y0: int, h: int, w: int) -> np.ndarray:
    out = np.zeros((h, w), bool)
    sh, sw = src.shape
    ax0, ay0 = max(x0, 0), max(y0, 0)
    ax1, ay1 = min(x0 + sw, w), min(y0 + sh, h)
    if ax1 <= ax0 or ay1 <= ay0:
        return out
    out[ay0:ay1, ax0:ax1] = src[ay0 - y0:ay1 - y0, ax0 - x0:ax1 - x0]
    return out


def empty_erasers(shape: Tuple[int, int, int, int]) -> Erasers:
    """No occluders at all (validation, or the term disabled)."""
    m, t = shape[:2]
    return Erasers(np.zeros(shape, bool), np.zeros((m, t), bool), np.zeros((m, t), bool))


__all__ = ["Erasers", "sample_erasers", "empty_erasers"]
