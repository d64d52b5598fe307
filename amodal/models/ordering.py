"""Per-frame depth order and occlusion rates from visible and amodal masks.

A is in front of B when A's visible mask covers B's hidden part (amodal minus visible); for each
pair the larger of the two covered areas wins the vote. The order is a topological sort of the
won votes; ties among free objects go to the one that occludes the most, and a cycle is broken by
taking the highest-scoring remaining object.

The completion network sometimes extends an object behind a neighbour that it is in fact in front
of. `OrderVotes` accumulates each pair's votes over the frames they share, and `settle_order`
removes such extensions once the votes decide the pair clearly (docs/RESULTS.md, "Depth order
settles contradictions").
"""
from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Sequence, Tuple

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
                min_pixels: float = 1.0, votes: Optional[np.ndarray] = None) -> List[int]:
    """Indices of the objects sorted front to back.

    Args:
        visible, amodal: bool (N, H, W).
        scores: (N,) confidences used to break cycles (default: all equal).
        min_pixels: smaller covered areas cast no vote.
        votes: (N, N) votes to sort on instead of the masks' occlusion matrix (the pairs' running
            votes over frames, `OrderVotes.update`: an order that does not flicker).
    """
    n = len(visible)
    if n == 0:
        return []
    s = np.ones(n) if scores is None else np.asarray(scores, np.float64)
    m = occlusion_matrix(visible, amodal) if votes is None else votes
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


class OrderVotes:
    """Who hides whom, per pair of object ids, accumulated over the frames the pair shares.

    Each frame, the occlusion matrix's entry [a, b] (pixels of b's hidden part under a's visible
    mask) is added to the pair's running vote after multiplying the vote by `decay`; memory is one
    float per ordered pair of ids held (`keep` drops the pairs of forgotten ids).
    """

    def __init__(self, decay: float) -> None:
        self.decay = float(decay)
        self._votes: Dict[Tuple[int, int], float] = {}

    def reset(self) -> None:
        self._votes.clear()

    def __len__(self) -> int:
        return len(self._votes)

    def update(self, ids: Sequence[int], matrix: np.ndarray) -> np.ndarray:
        """Add this frame's (N, N) occlusion matrix; returns the pairs' running votes (N, N) float64."""
        n = len(ids)
        out = np.zeros((n, n), np.float64)
        for a in range(n):
            for b in range(n):
                if a != b:
                    key = (int(ids[a]), int(ids[b]))
                    out[a, b] = self._votes[key] = self._votes.get(key, 0.0) * self.decay + float(matrix[a, b])
        return out

    def keep(self, ids: Iterable[int]) -> None:
        """Forget every pair with an id not in `ids`."""
        held = set(int(k) for k in ids)
        for key in [k for k in self._votes if k[0] not in held or k[1] not in held]:
            del self._votes[key]


def settle_order(visible: np.ndarray, amodal: np.ndarray, votes: np.ndarray, ratio: float) -> np.ndarray:
    """Amodal masks without the hidden parts that contradict the depth order.

    When a's running vote over b (`votes[a, b]`, a's visible mask over b's hidden part) exceeds
    `ratio` times b's over a, a is in front of b and cannot be hidden behind it: a's amodal mask
    loses b's visible pixels (a's visible mask is kept whole).

    Args:
        visible, amodal: bool (N, H, W).
        votes: (N, N) running votes (`OrderVotes.update`).
        ratio: how many times the other's vote a pair's vote must exceed (>= 1).
    Returns:
        bool (N, H, W), a new array where a mask changed (`amodal` itself otherwise).
    """
    n = len(visible)
    out = amodal
    for a in range(n):
        behind = np.flatnonzero(votes[a] > ratio * votes[:, a])
        if behind.size == 0:
            continue
        spill = out[a] & visible[behind].any(0) & ~visible[a]
        if spill.any():
            if out is amodal:
                out = amodal.copy()
            out[a] &= ~spill
    return out
