"""Clip-consistent augmentation (albumentations ReplayCompose: one draw per clip).

The geometric part (horizontal flip, affine scale/rotate/translate) is drawn once on the first
frame and replayed on every frame and every mask of the clip (nearest-neighbour for masks, so a
visible mask stays inside its amodal mask pixel for pixel). Its 3x3 matrix G (frame pixels ->
augmented pixels) is read back from the replay so the caller can move per-object motions into the
augmented frame: A' = G A G^-1. The photometric part (colour jitter, blur, noise) is drawn once and
replayed on every frame.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import albumentations as A
import cv2
import numpy as np

from amodal.config import AUGMENT_SCALE, AUGMENT_TRANSLATE
from amodal.errors import ConfigError


def _geometric(scale: Tuple[float, float], translate: float) -> A.ReplayCompose:
    return A.ReplayCompose([
        A.HorizontalFlip(p=0.5),
        A.Affine(scale=scale, rotate=(-10, 10), translate_percent=(-translate, translate), p=0.7,
                 interpolation=cv2.INTER_LINEAR, mask_interpolation=cv2.INTER_NEAREST,
                 border_mode=cv2.BORDER_CONSTANT, fill=0, fill_mask=0),
    ])


def _photometric() -> A.ReplayCompose:
    return A.ReplayCompose([
        A.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.04, p=0.8),
        A.GaussianBlur(blur_limit=(3, 5), p=0.2),
        A.GaussNoise(std_range=(0.01, 0.04), p=0.2),
    ])


def replay_matrix(replay: dict, height: int, width: int) -> np.ndarray:
    """3x3 matrix (input pixels -> output pixels) of the applied geometric transforms of a replay."""
    g = np.eye(3)
    for tr in replay.get("transforms", []):
        if not tr.get("applied"):
            continue
        name = tr["__class_fullname__"].rsplit(".", 1)[-1]
        if name == "HorizontalFlip":
            m = np.array([[-1.0, 0.0, width - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        elif name == "VerticalFlip":
            m = np.array([[1.0, 0.0, 0.0], [0.0, -1.0, height - 1.0], [0.0, 0.0, 1.0]])
        elif name == "Affine":
            m = np.asarray(tr["params"]["matrix"], np.float64)
        else:
            raise ValueError(f"no matrix known for geometric transform {name}")
        g = m @ g
    return g


class ClipAugment:
    """Apply one random draw to a whole clip.

    Args:
        geometric: flips and affine (positions change: motions must follow, see `transform_motions`).
        photometric: colour jitter, blur, noise.
        scale: (min, max) affine zoom, drawn uniformly (> 1 shows objects larger, cropping the frame).
        translate: largest affine shift, a fraction of the frame size either way.
    """

    def __init__(self, geometric: bool = True, photometric: bool = True,
                 scale: Sequence[float] = AUGMENT_SCALE, translate: float = AUGMENT_TRANSLATE) -> None:
        scale = tuple(float(s) for s in scale)
        if len(scale) != 2 or not 0.0 < scale[0] <= scale[1]:
            raise ConfigError(f"augmentation scale range must be [min, max] with 0 < min <= max, got {list(scale)}")
        if not 0.0 <= float(translate) < 1.0:
            raise ConfigError(f"augmentation translate must be in [0, 1), got {translate}")
        self.geo = _geometric(scale, float(translate)) if geometric else None
        self.photo = _photometric() if photometric else None

    def __call__(self, frames: Sequence[np.ndarray], masks: Sequence[Sequence[np.ndarray]], seed: int
                 ) -> Tuple[List[np.ndarray], List[List[np.ndarray]], np.ndarray]:
        """Augment a clip.

        Args:
            frames: T RGB uint8 (H, W, 3).
            masks: per frame, a list of uint8 (H, W) maps (id maps or binary masks), same count per frame.
            seed: the draw (same seed -> same augmentation).

        Returns:
            (frames, masks, G) with G float64 (3, 3) frame pixels -> augmented pixels.
        """
        h, w = frames[0].shape[:2]
        out_f, out_m = list(frames), [list(m) for m in masks]
        g = np.eye(3)
        if self.geo is not None:
            self.geo.set_random_seed(seed)
            replay: Optional[dict] = None
            for t in range(len(out_f)):
                kwargs = {"image": out_f[t], "masks": out_m[t]} if out_m[t] else {"image": out_f[t]}
                r = self.geo(**kwargs) if replay is None else A.ReplayCompose.replay(replay, **kwargs)
                replay = r["replay"] if replay is None else replay
                out_f[t] = r["image"]
                if out_m[t]:
                    out_m[t] = [np.asarray(x) for x in r["masks"]]
            g = replay_matrix(replay, h, w) if replay is not None else g
        if self.photo is not None:
            self.photo.set_random_seed(seed + 1)
            replay = None
            for t in range(len(out_f)):
                r = self.photo(image=out_f[t]) if replay is None else A.ReplayCompose.replay(replay, image=out_f[t])
                replay = r["replay"] if replay is None else replay
                out_f[t] = r["image"]
        return out_f, out_m, g


def transform_motions(motions: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Move motions (..., 2, 3) into a transformed frame: G A G^-1 (float32)."""
    m = np.zeros(motions.shape[:-2] + (3, 3))
    m[..., :2, :] = motions
    m[..., 2, 2] = 1.0
    out = g @ m @ np.linalg.inv(g)
    return out[..., :2, :].astype(np.float32)


def resize_clip(frames: Sequence[np.ndarray], masks: Sequence[Sequence[np.ndarray]], width: int, height: int
                ) -> Tuple[List[np.ndarray], List[List[np.ndarray]], np.ndarray]:
    """Resize frames (area/linear) and masks (nearest) to width x height; returns the 3x3 matrix too."""
    h, w = frames[0].shape[:2]
    sx, sy = width / w, height / h
    g = np.array([[sx, 0.0, (sx - 1) / 2], [0.0, sy, (sy - 1) / 2], [0.0, 0.0, 1.0]])
    interp = cv2.INTER_AREA if sx < 1 else cv2.INTER_LINEAR
    f = [cv2.resize(x, (width, height), interpolation=interp) for x in frames]
    m = [[cv2.resize(x, (width, height), interpolation=cv2.INTER_NEAREST) for x in ms] for ms in masks]
    return f, m, g
