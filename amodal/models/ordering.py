"""Per-frame depth order and occlusion rates from visible and amodal masks.

A is in front of B when A's visible mask covers B's hidden part (amodal minus visible); for each
pair the larger of the two covered areas wins the vote. The order is a topological sort of the
won votes; ties among free objects go to the one that occludes the most, and a cycle is broken by
taking the highest-scoring remaining object.
"""
from __future__ import annotations

from typing import List, Optional, Sequence

import numpy as np


def mask_areas(masks: np.ndarray) -> np.ndarray:
    """Pixel count of each mask (N, H, W), float64 (N,) (one fast count per mask, not a bool sum)."""
    return np.array([np.count_nonzero(m) for m in masks], np.float64)


def occlusion_rates(visible: np.ndarray, amodal: np.ndarray) -> np.ndarray:
    """1 - |V| / |A| per object, in [0, 1] (0 for empty amodal masks). visible, amodal: (N, H, W)."""
    n = len(visible)
    if n == 0:
        return np.zeros(0, np.float32)
    v = mask_areas(visible)
    a = mask_areas(amodal)
    rate = np.where(a > 0, 1.0 - v / np.maximum(a, 1.0), 0.0)
    return np.clip(rate, 0.0, 1.0).astype(np.float32)


def occlusion_matrix(visible: np.ndarray, amodal: np.ndarray) -> np.ndarray:
    """(N, N) pixel counts: entry [a, b] = |V_a ∩ (A_b minus V_b)| (a hides that much of b)."""
    n = len(visible)
    if n == 0:
        return np.zeros((0, 0), np.float64)
    hidden = (amodal & ~visible).reshape(n, -1)
    cols = np.flatnonzero(hidden.any(0))
    if cols.size == 0:
        return np.zeros((n, n), np.float64)
    v = visible.reshape(n, -1)[:, cols].astype(np.float32)
    h = hidden[:, cols].astype(np.float32)
    m = (v @ h.T).astype(np.float64)
    np.fill_diagonal(m, 0.0)
    return m


def depth_order(visible: np.ndarray, amodal: np.ndarray, scores: Optional[Sequence[float]] = None,
                min_pixels: float = 1.0) -> List[int]:
    """Indices of the objects sorted front to back.

    Args:
        visible, amodal: bool (N, H, W).
        scores: (N,) confidences used to break cycles (default: all equal).
        min_pixels: smaller covered areas cast no vote.
    """
    n = len(visible)
    if n == 0:
        return []
    s = np.ones(n) if scores is None else np.asarray(scores, np.float64)
    m = occlusion_matrix(visible, amodal)
    front = (m > m.T) & (m >= min_pixels)  # front[a, b]: a is in front of b
    strength = m.sum(1)
    remaining = list(range(n))
    order: List[int] = []
    while remaining:
        free = [i for i in remaining if not any(front[j, i] for j in remaining if j != i)]
        pool = free if free else remaining
        key = (lambda i: (strength[i], s[i], -i)) if free else (lambda i: (s[i], strength[i], -i))
        best = max(pool, key=key)
        order.append(best)
        remaining.remove(best)
    return order
