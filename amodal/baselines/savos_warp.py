"""SaVos's warp: a patch prediction of frame t, mapped back into its image box and moved to t+1.

The amodal flow of frame t is the observed flow inside the visible mask, the visible mask's mean
flow elsewhere, plus the network's residual (a patch mapped into the box). Warping is backward
sampling with the forward field: the value at pixel y of frame t+1 is read at x with
x = y - F(x), solved by fixed-point iteration (exact for translations; 2 iterations by default).
All images are at the working resolution (Hs, Ws).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from amodal.baselines.geometry import patch_coords, pixel_centres


def _normalise(points: torch.Tensor, hw: tuple) -> torch.Tensor:
    """Image (x, y) pixels -> [-1, 1] for `grid_sample(align_corners=False)`."""
    h, w = hw
    scale = torch.tensor([2.0 / w, 2.0 / h], device=points.device, dtype=points.dtype)
    return points * scale - 1


def patch_to_image(patch: torch.Tensor, boxes: torch.Tensor, hw: tuple) -> torch.Tensor:
    """Map patches into their image boxes: (N, C, h, w), (N, 4) -> (N, C, Hs, Ws), 0 outside."""
    pts = pixel_centres(*hw, device=patch.device)[None].expand(patch.shape[0], -1, -1, -1)
    return F.grid_sample(patch, patch_coords(pts, boxes), mode="bilinear", padding_mode="zeros", align_corners=False)


def amodal_flow(vis: torch.Tensor, flow: torch.Tensor, residual: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """Amodal flow field of frame t.

    Args:
        vis: (N, 1, Hs, Ws) visible mask in [0, 1].
        flow: (N, 2, Hs, Ws) observed flow t -> t+1 (pixels).
        residual: (N, 2, h, w) residual patch (pixels).
        boxes: (N, 4) the patch boxes.

    Returns:
        (N, 2, Hs, Ws) = vis * flow + (1 - vis) * mean flow over vis + residual.
    """
    area = vis.sum(dim=(2, 3), keepdim=True).clamp_min(1e-6)
    mean = (flow * vis).sum(dim=(2, 3), keepdim=True) / area
    return vis * flow + (1 - vis) * mean + patch_to_image(residual, boxes, tuple(vis.shape[-2:]))


def warp_patch(values: torch.Tensor, boxes: torch.Tensor, field: torch.Tensor, iters: int = 2) -> torch.Tensor:
    """Move patch values of frame t to frame t+1 along `field`.

    Args:
        values: (N, C, h, w) patch values (probabilities, logits, ...).
        boxes: (N, 4) their boxes in frame t.
        field: (N, 2, Hs, Ws) amodal flow of frame t (pixels).

    Returns:
        (N, C, Hs, Ws) at frame t+1; 0 where nothing lands.
    """
    n, _, hs, ws = field.shape
    y = pixel_centres(hs, ws, device=field.device)[None].expand(n, -1, -1, -1)
    x = y - field.permute(0, 2, 3, 1)
    for _ in range(max(0, iters - 1)):
        f = F.grid_sample(field, _normalise(x, (hs, ws)), mode="bilinear", padding_mode="border", align_corners=False)
        x = y - f.permute(0, 2, 3, 1)
    return F.grid_sample(values, patch_coords(x, boxes), mode="bilinear", padding_mode="zeros", align_corners=False)


def fuse(probs: torch.Tensor, logits: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Per-pixel softmax fusion of K predictions.

    Args:
        probs: (K, N, 1, Hs, Ws) warped probabilities.
        logits: (K, N, 1, Hs, Ws) warped fusion logits.
        valid: (K, N) bool, which predictions exist (at least one per n, else the result is 0).

    Returns:
        (N, 1, Hs, Ws) sum_k softmax_k(logits) * probs over the valid k.
    """
    mask = valid[:, :, None, None, None]
    w = torch.softmax(logits.masked_fill(~mask, -1e4), dim=0) * mask
    return (w * probs).sum(0)


def soft_iou(a: torch.Tensor, b: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """Soft IoU per item: (N, ...) x2 -> (N,) = sum(ab) / sum(a + b - ab)."""
    inter = (a * b).flatten(1).sum(1)
    union = (a + b - a * b).flatten(1).sum(1)
    return (inter + eps) / (union + eps)
