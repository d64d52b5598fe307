"""Which frames of a batch of clips the visible-mask network is trained on.

A network without motion input (`model.visible.motion` false) is trained on `n` distinct frames
per clip. A motion network sees each of its frames together with an earlier frame of the same
clip, `1..MAX_GAP` frames before it (different gaps teach it different speeds: real video runs at
several frame rates), and in `STATIC_PROBABILITY` of the cases with itself as the earlier frame,
which is what it gets at a stream's first frame (no motion known).
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

MAX_GAP = 2
STATIC_PROBABILITY = 0.1


def pick_visible_frames(clips: int, length: int, n: int, rng: np.random.Generator,
                        motion: bool = False, static: float = STATIC_PROBABILITY) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frames for the visible-net terms.

    Args:
        clips: clips in the batch (B).
        length: frames per clip (T).
        n: frames wanted per clip (at most T, or T - 1 with motion when T >= 2).
        rng: the draws.
        motion: also pick an earlier frame for each picked frame.
        static: share of the picks whose earlier frame is the frame itself (0 for a network that sees
            the flow alone: without motion it sees nothing).

    Returns:
        int64 (B * n',) clip indices, frame indices and earlier-frame indices (equal to the frame
        indices without motion), n' = the number of frames actually picked per clip.
    """
    if not motion or length < 2:
        k = min(n, length)
        pick = np.stack([rng.choice(length, size=k, replace=False) for _ in range(clips)]).reshape(-1)
        return np.repeat(np.arange(clips), k), pick, pick.copy()
    k = min(n, length - 1)
    pick = np.stack([rng.choice(np.arange(1, length), size=k, replace=False) for _ in range(clips)]).reshape(-1)
    gaps = rng.integers(1, MAX_GAP + 1, size=pick.shape)
    gaps = np.where(rng.random(pick.shape) < static, 0, np.minimum(gaps, pick))
    return np.repeat(np.arange(clips), k), pick, pick - gaps
