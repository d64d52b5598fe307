"""Temporal shape memory: bounded per-object memory of past visible masks and amodal predictions.

An entry is one past frame of one object: a canvas S x S in that frame's crop coordinates
(channels: visible mask, post-processed amodal probability, ones), the affine from that crop to the *current*
frame (composed with the object's motion every frame, so an entry is resampled exactly once when
read: no accumulated blur), and a quality (the visible area in frame pixels).

Bound: `permanent` entries kept by quality (the frames where the object was seen most fully) plus
the `recent` most recent ones. Entries are held in the order [permanent..., recent...]; when a
write makes the list longer than permanent + recent, the oldest recent entry competes with the
permanent ones and the lowest-quality candidate is dropped (`_drop_index`). The streaming
`ShapeMemory` and the batched training `ClipMemory` apply exactly this rule.

The streaming memory resamples with OpenCV (into one reused buffer, reduced with numpy), the
training one with torch `grid_sample` (same convention). Reading aggregates the warped entries
into `MEMORY_CHANNELS` with one formula for both (`combine`).
"""
from __future__ import annotations

from typing import List, Optional, Sequence

import numpy as np
import torch

from amodal.models.crops import homogeneous, to3, warp_crop, warp_tensor

MEMORY_CHANNELS = ("mem_vis_mean", "mem_vis_max", "mem_amodal_mean", "mem_valid")


def combine(vis_sum: torch.Tensor, vis_max: torch.Tensor, amodal_sum: torch.Tensor, cover: torch.Tensor,
            count: torch.Tensor) -> torch.Tensor:
    """Memory channels (N, 4, S, S) from per-object sums over entries, each (N, S, S), and entry counts (N,).

    Channels: mean visible over covering entries, max visible, mean amodal over covering entries,
    fraction of the object's entries covering the pixel.
    """
    denom = cover.clamp(min=1.0)
    count = count.to(cover.dtype).clamp(min=1.0)[:, None, None]
    return torch.stack([vis_sum / denom, vis_max, amodal_sum / denom, cover / count], dim=1)


def aggregate(warped: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
    """Aggregate warped entries into memory channels (see `combine`).

    Args:
        warped: (N, E, 3, S, S) entries in the current crop: visible, amodal, coverage (warped ones).
        present: (N, E) bool, False for padding entries.

    Returns:
        (N, 4, S, S) memory channels.
    """
    p = present.to(warped.dtype)[:, :, None, None]
    vis, amo, cov = warped[:, :, 0] * p, warped[:, :, 1] * p, warped[:, :, 2] * p
    cover = cov.sum(1)
    vis_max = vis.max(1).values if warped.shape[1] else cover
    return combine(vis.sum(1), vis_max, amo.sum(1), cover, p.sum(1)[:, 0, 0])


def _drop_index(quality: Sequence[float], permanent: int) -> int:
    """Which entry to drop from [permanent..., recent...] when the list is one too long."""
    if permanent == 0:
        return 0
    perm = list(quality[:permanent])
    j = int(np.argmin(perm))
    return permanent if quality[permanent] <= perm[j] else j


class ShapeMemory:
    """Streaming memory of one object (see module docstring). Constant size and cost per step.

    Entries live in fixed slots allocated at the first write: canvases float32 (capacity, S, S, 4)
    (visible, amodal probability, ones, zeros: four channels resample faster than three with
    OpenCV), their crop->current frame affines (capacity, 3, 3) and qualities; `_slots` lists the
    slots of the entries in order [permanent..., recent...]. Canvases are resampled with OpenCV
    (bilinear, zero outside), which matches the torch `grid_sample` resampling of `ClipMemory`
    used in training.
    """

    def __init__(self, permanent: int = 2, recent: int = 6) -> None:
        if permanent < 0 or recent < 1:
            raise ValueError(f"memory needs permanent >= 0 and recent >= 1, got {permanent}, {recent}")
        self.permanent = permanent
        self.recent = recent
        self._canvas: Optional[np.ndarray] = None
        self._to_frame = np.tile(np.eye(3), (self.capacity, 1, 1))
        self._quality = np.zeros(self.capacity, np.float64)
        self._slots: List[int] = []

    @property
    def capacity(self) -> int:
        return self.permanent + self.recent

    def __len__(self) -> int:
        return len(self._slots)

    @property
    def qualities(self) -> List[float]:
        """Quality of every entry, in entry order."""
        return [float(self._quality[s]) for s in self._slots]

    @property
    def canvases(self) -> np.ndarray:
        """float32 (E, S, S, 4) canvases of the entries, in entry order (a copy)."""
        size = 0 if self._canvas is None else self._canvas.shape[1]
        return self._canvas[self._slots] if self._slots else np.zeros((0, size, size, 4), np.float32)

    def reset(self) -> None:
        self._slots.clear()

    def advance(self, motion: np.ndarray) -> None:
        """Move every entry with the object's motion (2, 3) from the previous frame to this one."""
        if self._slots:
            self._to_frame = to3(motion) @ self._to_frame

    def write(self, visible: np.ndarray, amodal: np.ndarray, crop_matrix: np.ndarray, quality: float) -> None:
        """Add the current frame: crops (S, S) of the visible mask and amodal probability."""
        slot = self._free_slot(float(quality), int(np.shape(visible)[-1]))
        canvas = self._canvas[slot]
        canvas[..., 0] = visible
        canvas[..., 1] = amodal
        self._to_frame[slot] = np.linalg.inv(to3(crop_matrix))
        self._quality[slot] = quality
        self._slots.append(slot)

    def _free_slot(self, quality: float, size: int) -> int:
        """A slot for a new entry of side `size`, evicting one entry when full (rule in `_drop_index`)."""
        if self._canvas is None:
            self._canvas = np.zeros((self.capacity, size, size, 4), np.float32)
            self._canvas[..., 2] = 1.0
        elif self._canvas.shape[1] != size:
            raise ValueError(f"memory canvases are {self._canvas.shape[1]} pixels, got a {size}-pixel crop")
        if len(self._slots) < self.capacity:
            return min(set(range(self.capacity)) - set(self._slots))
        return self._slots.pop(_drop_index(self.qualities + [quality], self.permanent))

    def read(self, crop_matrix: np.ndarray, size: int) -> torch.Tensor:
        """Memory channels (4, S, S) in the crop `crop_matrix` (2, 3) of the current frame."""
        return read_memories([self], np.asarray(crop_matrix)[None], size)[0]

    def warp_into(self, crop_matrix: np.ndarray, out: np.ndarray) -> int:
        """Resample every entry once into the current crop.

        Args:
            crop_matrix: (2, 3) current frame -> crop.
            out: float32 (>= E, S, S, 4) buffer; entry j goes to out[j].

        Returns:
            E, the number of entries written.
        """
        size = out.shape[1]
        mats = to3(crop_matrix) @ self._to_frame[self._slots]
        for j, slot in enumerate(self._slots):
            warp_crop(self._canvas[slot], mats[j, :2], size, out[j])
        return len(self._slots)


def read_memories(memories: Sequence[ShapeMemory], crop_matrices: np.ndarray, size: int,
                  device: Optional[torch.device] = None) -> torch.Tensor:
    """Read N memories (each entry resampled once into the current crop, then aggregated).

    Args:
        memories: N memories.
        crop_matrices: (N, 2, 3) current frame->crop matrices.
        size: crop side S.
        device: device of the returned tensor.

    Returns:
        (N, 4, S, S) memory channels (see `combine`).
    """
    n = len(memories)
    sums = np.zeros((n, size, size, 4), np.float32)  # visible, amodal, coverage, (zeros) summed over entries
    vis_max = np.zeros((n, size, size), np.float32)
    count = np.zeros(n, np.float32)
    buf = np.empty((max((m.capacity for m in memories), default=0), size, size, 4), np.float32)
    for i, (mem, cm) in enumerate(zip(memories, crop_matrices)):
        e = mem.warp_into(cm, buf)
        if e:
            np.sum(buf[:e], axis=0, out=sums[i])
            np.max(buf[:e, ..., 0], axis=0, out=vis_max[i])
            count[i] = e
    s = torch.from_numpy(sums)
    out = combine(s[..., 0], torch.from_numpy(vis_max), s[..., 1], s[..., 2], torch.from_numpy(count))
    return out if device is None else out.to(device)


class ClipMemory:
    """Batched memory of M objects for training over a clip (same rule as `ShapeMemory`).

    Every object is written once per frame, so all objects hold the same number of entries.
    """

    def __init__(self, num_objects: int, permanent: int, recent: int, size: int, device: torch.device) -> None:
        self.m, self.permanent, self.recent, self.size = num_objects, permanent, recent, size
        self.device = device
        self.canvas = torch.zeros((num_objects, 0, 3, size, size), device=device)
        self.to_frame = torch.zeros((num_objects, 0, 3, 3), device=device)
        self.quality = torch.zeros((num_objects, 0), device=device)

    def __len__(self) -> int:
        return self.canvas.shape[1]

    def advance(self, motions: torch.Tensor) -> None:
        """motions: (M, 2, 3) from the previous frame to the current one."""
        if len(self):
            self.to_frame = homogeneous(motions)[:, None] @ self.to_frame

    def write(self, visible: torch.Tensor, amodal: torch.Tensor, crop_matrices: torch.Tensor,
              quality: torch.Tensor) -> None:
        """visible, amodal: (M, S, S) crops; crop_matrices (M, 2, 3); quality (M,)."""
        canvas = torch.stack([visible, amodal, torch.ones_like(visible)], dim=1).detach()
        inv = torch.linalg.inv(homogeneous(crop_matrices.to(torch.float64))).to(self.to_frame.dtype)
        self.canvas = torch.cat([self.canvas, canvas[:, None]], dim=1)
        self.to_frame = torch.cat([self.to_frame, inv[:, None]], dim=1)
        self.quality = torch.cat([self.quality, quality.to(self.quality.dtype)[:, None]], dim=1)
        if len(self) > self.permanent + self.recent:
            self._evict()

    def _evict(self) -> None:
        p, n = self.permanent, len(self)
        if p == 0:
            drop = torch.zeros(self.m, dtype=torch.long, device=self.device)
        else:
            perm_q = self.quality[:, :p]
            j = perm_q.argmin(dim=1)
            worst = perm_q.gather(1, j[:, None])[:, 0]
            drop = torch.where(self.quality[:, p] <= worst, torch.full_like(j, p), j)
        ar = torch.arange(n, device=self.device)[None].expand(self.m, n)
        keep = ar[ar != drop[:, None]].view(self.m, n - 1)
        self.canvas = self.canvas.gather(1, keep[:, :, None, None, None].expand(-1, -1, *self.canvas.shape[2:]))
        self.to_frame = self.to_frame.gather(1, keep[:, :, None, None].expand(-1, -1, 3, 3))
        self.quality = self.quality.gather(1, keep)

    def read(self, crop_matrices: torch.Tensor) -> torch.Tensor:
        """Memory channels (M, 4, S, S) in the current crops (M, 2, 3)."""
        e, s = len(self), self.size
        if e == 0:
            return torch.zeros((self.m, len(MEMORY_CHANNELS), s, s), device=self.device)
        mats = (homogeneous(crop_matrices.to(self.to_frame.dtype))[:, None] @ self.to_frame).reshape(-1, 3, 3)
        warped = warp_tensor(self.canvas.reshape(-1, 3, s, s), mats, (s, s)).view(self.m, e, 3, s, s)
        return aggregate(warped, torch.ones((self.m, e), dtype=torch.bool, device=self.device))
