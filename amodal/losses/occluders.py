"""Synthetic occluders for the `occluder_synthesis` term (PCNet-M's eraser, per object and frame).

For a target object at frame t, another object's visible mask (from the same clip when possible,
else from another clip of the batch) is shifted so that its box overlaps 40-100% of the smaller
of the two boxes, and pasted as an occluder E. With probability `p_front` it is in front (the
target's pixels under it are erased), else behind (the target is unchanged). A front eraser must
leave at least `min_kept` of the target visible, so that completing it is possible.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import numpy as np


@dataclass
class Erasers:
    """Per object and frame: mask (M, T, H, W) bool, front (M, T) bool, applied (M, T) bool."""

    mask: np.ndarray
    front: np.ndarray
    applied: np.ndarray


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
                   p_front: float = 0.8, overlap: Tuple[float, float] = (0.4, 1.0), min_kept: float = 0.2,
                   tries: int = 8) -> Erasers:
    """Draw synthetic occluders.

    Args:
        visible: bool (M, T, H, W) visible masks of the M objects of a batch.
        clip_index: (M,) which clip each object belongs to.
        rng: random generator (the trainer seeds it from the step for exact resumes).
        p_apply: probability that an object-frame gets an occluder.
        p_front: probability that an applied occluder is in front.
        overlap: accepted range of box overlap (intersection over the smaller box).
        min_kept: a front occluder keeps at least this fraction of the target's visible pixels.
        tries: placements tried before giving up on an object-frame.
    """
    m_count, t_count, h, w = visible.shape
    mask = np.zeros_like(visible, dtype=bool)
    front = np.zeros((m_count, t_count), bool)
    applied = np.zeros((m_count, t_count), bool)
    boxes = _boxes(visible)
    areas = visible.reshape(m_count, t_count, -1).sum(-1)
    for m in range(m_count):
        same = [j for j in range(m_count) if j != m and clip_index[j] == clip_index[m] and areas[j].any()]
        other = [j for j in range(m_count) if j != m and areas[j].any()]
        pool = same or other
        for t in range(t_count):
            if not pool or areas[m, t] == 0 or rng.random() >= p_apply:
                continue
            j = pool[int(rng.integers(len(pool)))]
            frames = np.flatnonzero(areas[j] > 0)
            tj = int(frames[rng.integers(len(frames))])
            sx0, sy0, sx1, sy1 = boxes[j, tj]
            src = visible[j, tj, sy0:sy1, sx0:sx1]
            tx0, ty0, tx1, ty1 = boxes[m, t]
            is_front = bool(rng.random() < p_front)
            for _ in range(tries):
                cx = rng.uniform(tx0, tx1)
                cy = rng.uniform(ty0, ty1)
                x0 = int(round(cx - (sx1 - sx0) / 2))
                y0 = int(round(cy - (sy1 - sy0) / 2))
                placed = (x0, y0, x0 + sx1 - sx0, y0 + sy1 - sy0)
                if not overlap[0] <= _overlap(placed, (tx0, ty0, tx1, ty1)) <= overlap[1]:
                    continue
                e = _paste(src, x0, y0, h, w)
                if not e.any():
                    continue
                if is_front:
                    kept = np.count_nonzero(visible[m, t] & ~e) / areas[m, t]
                    if kept < min_kept or kept > 0.98:
                        continue
                mask[m, t], front[m, t], applied[m, t] = e, is_front, True
                break
    return Erasers(mask, front, applied)


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
