"""Elementary loss functions with don't-care masks (pixels of weight 0 get exactly zero gradient)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def masked_bce(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Weighted mean binary cross-entropy; pixels with weight 0 are ignored.

    Args:
        logits, target, weight: same shape (any). target in [0, 1], weight >= 0.

    Returns:
        Scalar: sum(w * bce) / max(sum(w), 1). Zero (with a graph) when every weight is 0.
    """
    per_pixel = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return (per_pixel * weight).sum() / weight.sum().clamp(min=1.0)


def soft_iou_loss(p: torch.Tensor, q: torch.Tensor, weight: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """Mean over the first dimension of 1 - soft IoU between probability maps p and q (N, ...).

    Pixels of weight 0 do not count. Items with no weighted mass of p or q give 0 loss.
    """
    dims = tuple(range(1, p.ndim))
    inter = (p * q * weight).sum(dims)
    union = ((p + q - p * q) * weight).sum(dims)
    return (1.0 - (inter + eps) / (union + eps)).mean() if p.shape[0] else p.sum() * 0.0
