"""Boxes, crops and paste-back shared by the baselines (torch, `grid_sample` convention).

Image coordinates are continuous pixels: pixel (row i, column j) covers [j, j+1) x [i, i+1), its
centre is (j + 0.5, i + 0.5). A box is (x0, y0, w, h) in those units. A patch of (h, w) pixels
covers its box exactly, so cropping (`crop`) and mapping back (`patch_coords`, `paste`) use the
same box: the crop scale and the output scale always agree.
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F

Box = Tuple[float, float, float, float]


def mask_box(mask: np.ndarray) -> Optional[Box]:
    """Tight box (x0, y0, w, h) of a bool (H, W) mask; None when empty."""
    rows = np.flatnonzero(mask.any(1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(0))
    return float(cols[0]), float(rows[0]), float(cols[-1] + 1 - cols[0]), float(rows[-1] + 1 - rows[0])


def expand_box(box: Box, scale: float, min_side: float = 1.0, square: bool = False) -> Box:
    """Scale a box about its centre (sides at least `min_side`; `square`: both = the larger)."""
    x0, y0, w, h = box
    cx, cy = x0 + w / 2, y0 + h / 2
    w, h = max(w * scale, min_side), max(h * scale, min_side)
    if square:
        w = h = max(w, h)
    return cx - w / 2, cy - h / 2, w, h


def crop_grid(boxes: torch.Tensor, out_hw: Tuple[int, int], img_hw: Tuple[int, int]) -> torch.Tensor:
    """Sampling grid cutting `boxes` out of images.

    Args:
        boxes: (N, 4) float (x0, y0, w, h) in image pixels.
        out_hw: patch size (h, w).
        img_hw: image size (H, W).

    Returns:
        (N, h, w, 2) normalised (x, y) for `F.grid_sample(..., align_corners=False)`.
    """
    h, w = out_hw
    H, W = img_hw
    dev, dt = boxes.device, boxes.dtype
    u = (torch.arange(w, device=dev, dtype=dt) + 0.5) / w
    v = (torch.arange(h, device=dev, dtype=dt) + 0.5) / h
    x = boxes[:, 0:1] + u[None] * boxes[:, 2:3]  # (N, w)
    y = boxes[:, 1:2] + v[None] * boxes[:, 3:4]  # (N, h)
    gx = (2 * x / W - 1)[:, None, :].expand(-1, h, -1)
    gy = (2 * y / H - 1)[:, :, None].expand(-1, -1, w)
    return torch.stack([gx, gy], dim=-1)


def crop(images: torch.Tensor, boxes: torch.Tensor, out_hw: Tuple[int, int], mode: str = "bilinear") -> torch.Tensor:
    """Cut boxes out of images: (N, C, H, W), (N, 4) -> (N, C, h, w); outside the image is 0."""
    grid = crop_grid(boxes.to(images.dtype), out_hw, tuple(images.shape[-2:]))
    return F.grid_sample(images, grid, mode=mode, padding_mode="zeros", align_corners=False)


def patch_coords(points: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """Image points -> normalised patch coordinates of each box.

    Args:
        points: (N, ..., 2) image (x, y) pixels.
        boxes: (N, 4) (x0, y0, w, h).

    Returns:
        (N, ..., 2) in [-1, 1] inside the box (for `grid_sample` on the patch, align_corners=False).
    """
    shape = (boxes.shape[0],) + (1,) * (points.dim() - 2) + (2,)
    origin = boxes[:, :2].reshape(shape)
    size = boxes[:, 2:].reshape(shape)
    return 2 * (points - origin) / size - 1


def pixel_centres(h: int, w: int, device: Optional[torch.device] = None) -> torch.Tensor:
    """(h, w, 2) image (x, y) of the pixel centres."""
    ys, xs = torch.meshgrid(torch.arange(h, device=device, dtype=torch.float32) + 0.5,
                            torch.arange(w, device=device, dtype=torch.float32) + 0.5, indexing="ij")
    return torch.stack([xs, ys], dim=-1)


def paste(patch: torch.Tensor, box: Box, img_hw: Tuple[int, int]) -> np.ndarray:
    """Map a (h, w) patch of values back into a (H, W) float32 image (0 outside the box)."""
    H, W = img_hw
    x0, y0, bw, bh = box
    c0, c1 = max(0, int(np.floor(x0))), min(W, int(np.ceil(x0 + bw)))
    r0, r1 = max(0, int(np.floor(y0))), min(H, int(np.ceil(y0 + bh)))
    out = np.zeros((H, W), dtype=np.float32)
    if c1 <= c0 or r1 <= r0:
        return out
    pts = pixel_centres(r1 - r0, c1 - c0) + torch.tensor([c0, r0], dtype=torch.float32)
    boxes = torch.tensor([box], dtype=torch.float32)
    grid = patch_coords(pts[None], boxes)
    vals = F.grid_sample(patch[None, None].float(), grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    out[r0:r1, c0:c1] = vals[0, 0].numpy()
    return out
