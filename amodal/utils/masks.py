"""Mask encoding: COCO RLE (through pycocotools), polygons, boxes and areas.

RLE dicts are `{"size": [H, W], "counts": str}` (counts as a string, JSON-ready).
Masks are bool numpy arrays (H, W).
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from pycocotools import mask as mask_utils

RLE = Dict[str, Any]


def encode_rle(mask: np.ndarray) -> RLE:
    """Encode a bool/0-1 mask (H, W) as a COCO RLE with string counts."""
    if mask.ndim != 2:
        raise ValueError(f"expected a 2-D mask, got shape {mask.shape}")
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode("ascii")}


def _as_coco_rle(rle: RLE) -> RLE:
    counts = rle["counts"]
    h, w = int(rle["size"][0]), int(rle["size"][1])
    if isinstance(counts, list):  # uncompressed RLE
        return mask_utils.frPyObjects({"size": [h, w], "counts": counts}, h, w)
    if isinstance(counts, str):
        counts = counts.encode("ascii")
    return {"size": [h, w], "counts": counts}


def decode_rle(rle: RLE) -> np.ndarray:
    """Decode a COCO RLE (string, bytes or uncompressed list counts) to a bool mask (H, W)."""
    return mask_utils.decode(_as_coco_rle(rle)).astype(bool)


def polygons_to_rle(polygons: Sequence[Sequence[float]], height: int, width: int) -> RLE:
    """Rasterise COCO polygons ([[x0, y0, x1, y1, ...], ...]) into one RLE."""
    rles = mask_utils.frPyObjects([list(map(float, p)) for p in polygons], height, width)
    merged = mask_utils.merge(rles)
    return {"size": [height, width], "counts": merged["counts"].decode("ascii")}


def rle_area(rle: RLE) -> int:
    """Number of foreground pixels of an RLE."""
    return int(mask_utils.area(_as_coco_rle(rle)))


def mask_bbox(mask: np.ndarray) -> Optional[List[float]]:
    """COCO box [x, y, w, h] of a mask's foreground, or None for an empty mask."""
    ys = np.flatnonzero(mask.any(axis=1))
    if ys.size == 0:
        return None
    xs = np.flatnonzero(mask.any(axis=0))
    return [float(xs[0]), float(ys[0]), float(xs[-1] - xs[0] + 1), float(ys[-1] - ys[0] + 1)]


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two bool masks; 0 when both are empty."""
    union = np.logical_or(a, b).sum()
    if union == 0:
        return 0.0
    return float(np.logical_and(a, b).sum() / union)
