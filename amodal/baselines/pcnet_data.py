"""PCNet-M training samples: synthetic occluders ("erasers") pasted over visible masks.

Only visible masks are read (the dataset is loaded with `read_amodal=False`). For a target
object-frame, the visible mask of another instance is placed over it so that a fraction
`overlap = |E ∩ T| / |E|` in [overlap_min, overlap_max] of the eraser E lies on the target T:
- in front (probability `eraser_front_p`): the input is T \\ E with E as eraser; the network must
  restore T (the full visible mask);
- behind: the input is T unchanged with E \\ T as eraser; the target is T (do not over-extend).
Loss weights: `eraser_weight` inside the eraser, 1 elsewhere, 0 on pixels of the frame's real
other objects (the target may be hidden there, its extent is unknown).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch

from amodal.baselines.config import PCNetModelConfig, TrainSettings
from amodal.baselines.geometry import crop, expand_box, mask_box


@dataclass
class PCNetBatch:
    """inputs (B, 2, S, S) [erased mask, eraser]; target (B, 1, S, S) in {0, 1}; weight (B, 1, S, S)."""

    inputs: torch.Tensor
    target: torch.Tensor
    weight: torch.Tensor


def synthesize(target: np.ndarray, eraser: np.ndarray, front: bool) -> Tuple[np.ndarray, np.ndarray]:
    """Apply an eraser to a visible mask.

    Args:
        target, eraser: bool (H, W).
        front: eraser in front of the target (else behind it).

    Returns:
        (observed mask, eraser input), bool (H, W) each, disjoint.
    """
    if front:
        return target & ~eraser, eraser.copy()
    return target.copy(), eraser & ~target


def loss_weights(eraser_in: np.ndarray, others: np.ndarray, eraser_weight: float) -> np.ndarray:
    """float32 (H, W): `eraser_weight` in the eraser, 1 elsewhere, 0 on real other objects."""
    w = np.where(eraser_in, np.float32(eraser_weight), np.float32(1.0)).astype(np.float32)
    w[others] = 0.0
    return w


def place_eraser(target: np.ndarray, eraser_tight: np.ndarray, rng: np.random.Generator,
                 overlap: Tuple[float, float], tries: int = 10) -> Optional[np.ndarray]:
    """Place a tightly cropped mask over `target` (bool (H, W)) with the wanted overlap.

    The eraser is rescaled so its box diagonal is 0.5-1.2x the target's and centred at a random
    point of the target's box. Returns a bool (H, W) eraser, or None if no try met the overlap.
    """
    box = mask_box(target)
    if box is None or not eraser_tight.any():
        return None
    H, W = target.shape
    tx, ty, tw, th = box
    eh, ew = eraser_tight.shape
    for _ in range(tries):
        s = rng.uniform(0.5, 1.2) * np.hypot(tw, th) / max(np.hypot(ew, eh), 1.0)
        nw, nh = max(1, int(round(ew * s))), max(1, int(round(eh * s)))
        small = cv2.resize(eraser_tight.astype(np.uint8), (nw, nh), interpolation=cv2.INTER_NEAREST) > 0
        if not small.any():
            continue
        cx, cy = tx + rng.uniform(0, tw), ty + rng.uniform(0, th)
        x0, y0 = int(round(cx - nw / 2)), int(round(cy - nh / 2))
        out = np.zeros((H, W), dtype=bool)
        sx0, sy0 = max(0, -x0), max(0, -y0)
        dx0, dy0 = max(0, x0), max(0, y0)
        dx1, dy1 = min(W, x0 + nw), min(H, y0 + nh)
        if dx1 <= dx0 or dy1 <= dy0:
            continue
        out[dy0:dy1, dx0:dx1] = small[sy0:sy0 + dy1 - dy0, sx0:sx0 + dx1 - dx0]
        area = out.sum()
        if area == 0:
            continue
        ratio = (out & target).sum() / area
        if overlap[0] <= ratio <= overlap[1] and (target & ~out).any():
            return out
    return None


def crop_sample(observed: np.ndarray, eraser_in: np.ndarray, target: np.ndarray, weight: np.ndarray,
                crop_size: int, crop_scale: float) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Square crop around the OBSERVED mask's box (never the full target's: no leak of its extent).

    Returns:
        inputs (2, S, S), target (1, S, S) in {0, 1}, weight (1, S, S).
    """
    box = expand_box(mask_box(observed), crop_scale, min_side=8.0, square=True)
    stack = torch.from_numpy(np.stack([observed, eraser_in, target]).astype(np.float32))
    boxes = torch.tensor([box], dtype=torch.float32)
    soft = crop(stack[None], boxes, (crop_size, crop_size))[0]
    w = crop(torch.from_numpy(weight)[None, None], boxes, (crop_size, crop_size), mode="nearest")[0]
    return soft[:2], (soft[2:3] > 0.5).float(), w


class PCNetSampler:
    """Draws PCNet-M training batches from a dataset loaded with `read_amodal=False`.

    Args:
        dataset: `AmodalDataset` (visible masks only are used).
        video_ids: videos to draw from (train or validation split).
        model_cfg, train_cfg: crop geometry; eraser probabilities and weights.
    """

    def __init__(self, dataset, video_ids: Sequence[int], model_cfg: PCNetModelConfig,
                 train_cfg: TrainSettings) -> None:
        self.ds = dataset
        self.m = model_cfg
        self.c = train_cfg
        self.items: List[Tuple[int, int, int]] = []  # (video id, frame, track index)
        self.tracks = {vid: dataset.tracks(vid) for vid in video_ids}
        for vid in video_ids:
            for k, tr in enumerate(self.tracks[vid]):
                for t, area in enumerate(tr.areas or []):
                    if area is not None and area >= train_cfg.min_area:
                        self.items.append((vid, t, k))
        if not self.items:
            from amodal.errors import TrainingError

            raise TrainingError(f"{dataset.name}: no visible mask of at least {train_cfg.min_area} pixels to train on")

    def _masks(self, vid: int, t: int, k: int) -> Tuple[np.ndarray, np.ndarray]:
        tracks = self.tracks[vid]
        target = tracks[k].visible_mask(t)
        others = np.zeros_like(target)
        for j, tr in enumerate(tracks):
            if j != k and tr.segmentations[t] is not None:
                others |= tr.visible_mask(t)
        return target, others & ~target

    def sample(self, rng: np.random.Generator) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One (inputs (2, S, S), target (1, S, S), weight (1, S, S))."""
        while True:
            vid, t, k = self.items[rng.integers(len(self.items))]
            target, others = self._masks(vid, t, k)
            evid, et, ek = self.items[rng.integers(len(self.items))]
            if (evid, ek) == (vid, k):
                continue
            emask = self.tracks[evid][ek].visible_mask(et)
            ebox = mask_box(emask)
            x0, y0, w, h = (int(v) for v in ebox)
            eraser = place_eraser(target, emask[y0:y0 + h, x0:x0 + w], rng, (self.c.overlap_min, self.c.overlap_max))
            if eraser is None:
                continue
            front = bool(rng.random() < self.c.eraser_front_p)
            observed, eraser_in = synthesize(target, eraser, front)
            weight = loss_weights(eraser_in, others, self.c.eraser_weight)
            return crop_sample(observed, eraser_in, target, weight, self.m.crop_size, self.m.crop_scale)

    def batch(self, rng: np.random.Generator, size: int) -> PCNetBatch:
        parts = [self.sample(rng) for _ in range(size)]
        return PCNetBatch(*(torch.stack(p) for p in zip(*parts)))
