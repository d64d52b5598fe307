"""Helpers shared by the baseline runners: frames, given visible masks, end-to-end visible masks."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, List, Optional, Tuple

import numpy as np

from amodal.errors import InputError

FrameMasks = Tuple[List[int], np.ndarray, Optional[np.ndarray]]  # ids, bool (N, H, W), scores (N,) or None


def read_frames(frames: Any, length: int) -> List[np.ndarray]:
    """All frames as RGB uint8 (H, W, 3): from an iterable of arrays/`Frame`s or a video path."""
    if frames is None:
        raise InputError("this model needs the RGB frames, none were given")
    if isinstance(frames, (str, Path)):
        from amodal.data.readers import open_source

        with open_source(frames) as source:
            out = [f.image for f in source]
    else:
        out = [getattr(f, "image", f) for f in frames]
    if len(out) < length:
        raise InputError(f"expected {length} frames, got {len(out)}")
    return [np.ascontiguousarray(f[..., :3], dtype=np.uint8) for f in out[:length]]


def given_masks(visible_masks: List[dict], length: int, size: Tuple[int, int]) -> List[FrameMasks]:
    """Per frame (ids, bool (N, H, W), None) from {track id: bool (H, W)} dicts."""
    out: List[FrameMasks] = []
    for t in range(length):
        masks = visible_masks[t] if t < len(visible_masks) else {}
        ids = [int(k) for k in masks]
        vis = (np.stack([np.asarray(masks[k], dtype=bool) for k in masks]) if ids
               else np.zeros((0, *size), dtype=bool))
        if vis.shape[1:] != tuple(size):
            raise InputError(f"frame {t}: visible masks are {list(vis.shape[1:])}, the video is {list(size)}")
        out.append((ids, vis, None))
    return out


def ours_masks(options: Any, frames: Iterable[np.ndarray], size: Tuple[int, int], length: int) -> List[FrameMasks]:
    """End to end: the visible masks and tracks of `ours` (as `copy`/`convex` use them)."""
    from amodal.eval.baselines import OursRunner

    out: List[FrameMasks] = [([], np.zeros((0, *size), dtype=bool), None) for _ in range(length)]
    for res in OursRunner(options).predict_video(frames, size, length, None):
        ids = [int(i) for i in res.object_ids]
        vis = np.asarray(res.visible, dtype=bool).reshape(len(ids), *size)
        out[int(res.frame_index)] = (ids, vis, np.asarray(res.scores, dtype=np.float32))
    return out
