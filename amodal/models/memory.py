"""Temporal shape memory: bounded per-object memory of past visible masks and amodal predictions.

An entry is one past frame of one object: a canvas (3, S, S) in that frame's crop coordinates
(visible mask, post-processed amodal probability, ones), the affine from that crop to the *current*
frame (composed with the object's motion every frame, so an entry is resampled exactly once when
read: no accumulated blur), and a quality (the visible area in frame pixels).

Bound: `permanent` entries kept by quality (the frames where the object was seen most fully) plus
the `recent` most recent ones. Entries are held in the order [permanent..., recent...]; when a
write makes the list longer than permanent + recent, the oldest recent entry competes with the
permanent ones and the lowest-quality candidate is dropped (`_drop_index`). The streaming
`ShapeMemory` and the batched training `ClipMemory` apply exactly this rule.

The streaming memory resamples with OpenCV, the training one with torch `grid_sample` (same
convention). Reading aggregates the warped entries into `MEMORY_CHANNELS` (see `aggregate`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence

import cv2
import numpy as np
import torch

from amodal.models.crops import homogeneous, warp_tensor

MEMORY_CHANNELS = ("mem_vis_mean", "mem_vis_max", "mem_amodal_mean", "mem_valid")


def aggregate(warped: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
    """Aggregate warped entries into memory channels.

    Args:
        warped: (N, E, 3, S, S) entries in the current crop: visible, amodal, coverage (warped ones).
        present: (N, E) bool, False for padding entries.

    Returns:
        (N, 4, S, S): mean visible over covering entries, max visible, mean amodal over covering
        entries, fraction of the object's entries covering the pixel.
    """
    p = present.to(warped.dtype)[:, :, None, None]
    vis, amo, cov = warped[:, :, 0] * p, warped[:, :, 1] * p, warped[:, :, 2] * p
    cover = cov.sum(1)
    denom = cover.clamp(min=1.0)
    count = p.sum(1).clamp(min=1.0)
    vis_max = vis.max(1).values if warped.shape[1] else cover
    return torch.stack([vis.sum(1) / denom, vis_max, amo.sum(1) / denom, cover / count], dim=1)


def _drop_index(quality: Sequence[float], permanent: int) -> int:
    """Which entry to drop from [permanent..., recent...] when the list is one too long."""
    if permanent == 0:
        return 0
    perm = list(quality[:permanent])
    j = int(np.argmin(perm))
    return permanent if quality[permanent] <= perm[j] else j


@dataclass
class MemoryEntry:
    canvas: np.ndarray  # float32 (S, S, 3): visible, amodal probability, ones
    to_frame: np.ndarray  # (3, 3) float64: entry crop pixels -> current frame pixels
    quality: float


class ShapeMemory:
    """Streaming memory of one object (see module docstring). Constant size and cost per step.

    Canvases are numpy arrays resampled with OpenCV (bilinear, zero outside), which matches the
    torch `grid_sample` resampling of `ClipMemory` used in training.
    """

    def __init__(self, permanent: int = 2, recent: int = 6) -> None:
        if permanent < 0 or recent < 1:
            raise ValueError(f"memory needs permanent >= 0 and recent >= 1, got {permanent}, {recent}")
        self.permanent = permanent
        self.recent = recent
        self.entries: List[MemoryEntry] = []

    @property
    def capacity(self) -> int:
        return self.permanent + self.recent

    def __len__(self) -> int:
        return len(self.entries)

    def reset(self) -> None:
        self.entries.clear()

    def advance(self, motion: np.ndarray) -> None:
        """Move every entry with the object's motion (2, 3) from the previous frame to this one."""
        m = np.eye(3)
        m[:2] = motion
        for e in self.entries:
            e.to_frame = m @ e.to_frame

    def write(self, visible: np.ndarray, amodal: np.ndarray, crop_matrix: np.ndarray, quality: float) -> None:
        """Add the current frame: crops (S, S) of the visible mask and amodal probability."""
        visible = np.asarray(visible, np.float32)
        canvas = np.dstack([visible, np.asarray(amodal, np.float32), np.ones_like(visible)])
        inv = np.linalg.inv(np.vstack([np.asarray(crop_matrix, np.float64), [0.0, 0.0, 1.0]]))
        self.entries.append(MemoryEntry(canvas, inv, float(quality)))
        if len(self.entries) > self.capacity:
            del self.entries[_drop_index([e.quality for e in self.entries], self.permanent)]

    def read(self, crop_matrix: np.ndarray, size: int) -> torch.Tensor:
        """Memory channels (4, S, S) in the crop `crop_matrix` (2, 3) of the current frame."""
        return read_memories([self], np.asarray(crop_matrix)[None], size)[0]


def read_memories(memories: Sequence[ShapeMemory], crop_matrices: np.ndarray, size: int,
                  device: Optional[torch.device] = None) -> torch.Tensor:
    """Read N memories (each entry resampled once into the current crop).

    Args:
        memories: N memories.
        crop_matrices: (N, 2, 3) current frame->crop matrices.
        size: crop side S.
        device: device of the returned tensor.

    Returns:
        (N, 4, S, S) memory channels.
    """
    n = len(memories)
    e_max = max((len(m) for m in memories), default=0)
    if e_max == 0:
        return torch.zeros((n, len(MEMORY_CHANNELS), size, size), device=device)
    warped = np.zeros((n, e_max, size, size, 3), np.float32)
    present = np.zeros((n, e_max), bool)
    for i, (mem, cm) in enumerate(zip(memories, crop_matrices)):
        cur = np.vstack([np.asarray(cm, np.float64), [0.0, 0.0, 1.0]])
        for j, e in enumerate(mem.entries):
            warped[i, j] = cv2.warpAffine(e.canvas, (cur @ e.to_frame)[:2], (size, size), flags=cv2.INTER_LINEAR,
                                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            present[i, j] = True
    w = torch.from_numpy(warped).permute(0, 1, 4, 2, 3)
    return aggregate(w, torch.from_numpy(present)).to(device) if device is not None else aggregate(w, torch.from_numpy(present))


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
