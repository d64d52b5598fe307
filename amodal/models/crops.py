"""Object-centric square crops: boxes, frame->crop matrices, extraction and paste-back.

A crop is a square of side `side` frame pixels centred on (cx, cy), resampled to `size` x `size`.
Its matrix M (2, 3) maps frame pixel coordinates to crop pixel coordinates (pixel centres at
integer coordinates). Extraction and paste-back exist twice: with OpenCV (inference, numpy) and
with torch `affine_grid`/`grid_sample` (training, differentiable); both follow the same convention.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F

Box = Tuple[float, float, float, float]  # x0, y0, x1, y1 (inclusive pixel extents)


def mask_box(mask: np.ndarray) -> Optional[Box]:
    """Tight box (x0, y0, x1, y1) of a bool mask (H, W), or None when empty."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask[rows[0]:rows[-1] + 1].any(axis=0))
    return float(cols[0]), float(rows[0]), float(cols[-1]), float(rows[-1])


def union_box(boxes: Sequence[Optional[Box]]) -> Optional[Box]:
    """Smallest box holding every non-None box, or None."""
    boxes = [b for b in boxes if b is not None]
    if not boxes:
        return None
    arr = np.asarray(boxes, dtype=np.float64)
    return float(arr[:, 0].min()), float(arr[:, 1].min()), float(arr[:, 2].max()), float(arr[:, 3].max())


def warp_box(box: Optional[Box], motion: np.ndarray) -> Optional[Box]:
    """Bounding box of a box's corners moved by an affine (2, 3)."""
    if box is None:
        return None
    x0, y0, x1, y1 = box
    pts = np.array([[x0, y0, 1], [x1, y0, 1], [x0, y1, 1], [x1, y1, 1]], dtype=np.float64)
    moved = pts @ np.asarray(motion, np.float64).T
    return float(moved[:, 0].min()), float(moved[:, 1].min()), float(moved[:, 0].max()), float(moved[:, 1].max())


def square_from_box(box: Box, scale: float = 1.5, min_side: float = 16.0) -> Tuple[float, float, float]:
    """(cx, cy, side): square of `scale` x the box's longer extent, at least `min_side`."""
    x0, y0, x1, y1 = box
    side = max((x1 - x0 + 1.0), (y1 - y0 + 1.0)) * scale
    return (x0 + x1) / 2.0, (y0 + y1) / 2.0, max(side, min_side)


def crop_matrix(square: Tuple[float, float, float], size: int) -> np.ndarray:
    """Frame->crop affine (2, 3) float32 for a square (cx, cy, side) resampled to size x size."""
    cx, cy, side = square
    a = size / side
    c = (size - 1) / 2.0
    return np.array([[a, 0.0, c - a * cx], [0.0, a, c - a * cy]], dtype=np.float32)


def to3(m: np.ndarray) -> np.ndarray:
    """(…, 2, 3) affine -> (…, 3, 3) homogeneous (numpy)."""
    m = np.asarray(m)
    out = np.zeros(m.shape[:-2] + (3, 3), dtype=np.float64)
    out[..., :2, :] = m
    out[..., 2, 2] = 1.0
    return out


def extract_crops(images: Sequence[np.ndarray], matrices: np.ndarray, size: int) -> np.ndarray:
    """Crop N images with their own matrix (OpenCV, bilinear, zero outside the frame).

    Args:
        images: N arrays (H, W) or (H, W, C), float32 or uint8 (uint8 is rescaled to [0, 1]).
        matrices: (N, 2, 3) frame->crop.
        size: crop side S.

    Returns:
        float32 (N, C, S, S).
    """
    out = []
    for img, m in zip(images, matrices):
        c = _unit_float(warp_crop(img, m, size))
        out.append(c[None] if c.ndim == 2 else np.moveaxis(c, -1, 0))
    return np.stack(out) if out else np.zeros((0, 1, size, size), np.float32)


def extract_plane_crops(planes: Sequence[Sequence[np.ndarray]], matrices: np.ndarray, size: int) -> np.ndarray:
    """Like `extract_crops` for images given as separate channel planes (no interleaved copy needed).

    Each plane is resampled on its own, which gives exactly the channels of `extract_crops` on the
    stacked image; planes may be shared between crops (e.g. one background plane for all objects).

    Args:
        planes: N sequences of C planes (H, W) of one dtype (uint8 is rescaled to [0, 1]).
        matrices: (N, 2, 3) frame->crop.
        size: crop side S.

    Returns:
        float32 (N, C, S, S).
    """
    if not len(planes):
        return np.zeros((0, 1, size, size), np.float32)
    out = np.empty((len(planes), len(planes[0]), size, size), planes[0][0].dtype)
    for i, (chans, m) in enumerate(zip(planes, matrices)):
        for k, plane in enumerate(chans):
            warp_crop(plane, m, size, out[i, k])
    return _unit_float(out)


def warp_crop(img: np.ndarray, matrix: np.ndarray, size: int, out: Optional[np.ndarray] = None) -> np.ndarray:
    """One crop (S, S[, C]) of `img` by a frame->crop matrix (2, 3); bilinear, zero outside; into `out` if given."""
    res = cv2.warpAffine(img, np.asarray(matrix, np.float64), (size, size), dst=out, flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    if out is not None and res is not out:  # OpenCV allocated instead (shape/dtype mismatch): copy or fail loudly
        out[...] = res
        return out
    return res


def _unit_float(crops: np.ndarray) -> np.ndarray:
    """float32 copy of crops; uint8 is rescaled from [0, 255] to [0, 1]."""
    if crops.dtype == np.uint8:
        return crops.astype(np.float32) * (1.0 / 255.0)
    return crops.astype(np.float32, copy=False)


def paste_crops(crops: np.ndarray, matrices: np.ndarray, height: int, width: int, fill: float = -30.0) -> np.ndarray:
    """Map crop maps back into the frame (inverse of `extract_crops`).

    Args:
        crops: float32 (N, S, S), e.g. logits.
        matrices: (N, 2, 3) frame->crop, as used to extract them.
        height, width: frame size.
        fill: value outside the crop (a very negative logit: "object not here").

    Returns:
        float32 (N, H, W).
    """
    out = np.empty((len(crops), height, width), np.float32)
    for i, (c, m) in enumerate(zip(crops, matrices)):
        out[i] = cv2.warpAffine(np.ascontiguousarray(c, np.float32), np.asarray(m, np.float64), (width, height),
                                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=float(fill))
    return out


def paste_crops_into(out: np.ndarray, crops: np.ndarray, matrices: np.ndarray, rows: Sequence[int],
                     fill: float = -30.0) -> None:
    """Like `paste_crops`, but only writes each crop's own frame rectangle into `out[rows[i]]`.

    Args:
        out: float32 (N, H, W), pre-filled with `fill`.
        crops: float32 (n, S, S).
        matrices: (n, 2, 3) frame->crop.
        rows: n indices into `out`.
        fill: value outside the crop (as in `paste_crops`).
    """
    h, w = out.shape[1:]
    size = crops.shape[-1]
    for c, m, r in zip(crops, matrices, rows):
        a = float(m[0, 0])
        x0 = int(max(np.floor((-1 - m[0, 2]) / a), 0))
        y0 = int(max(np.floor((-1 - m[1, 2]) / a), 0))
        x1 = int(min(np.ceil((size - m[0, 2]) / a) + 1, w))
        y1 = int(min(np.ceil((size - m[1, 2]) / a) + 1, h))
        if x1 <= x0 or y1 <= y0:
            continue
        shifted = np.asarray(m, np.float64).copy()
        shifted[:, 2] += shifted[:, :2] @ np.array([x0, y0], np.float64)
        out[r, y0:y1, x0:x1] = cv2.warpAffine(np.ascontiguousarray(c, np.float32), shifted, (x1 - x0, y1 - y0),
                                              flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                              borderMode=cv2.BORDER_CONSTANT, borderValue=float(fill))


# ---------------------------------------------------------------- torch (differentiable) versions


def _pixel_to_norm(height: int, width: int, like: torch.Tensor) -> torch.Tensor:
    """3x3 map from pixel coordinates to grid_sample's [-1, 1] (align_corners=False)."""
    return torch.tensor([[2.0 / width, 0.0, 1.0 / width - 1.0], [0.0, 2.0 / height, 1.0 / height - 1.0],
                         [0.0, 0.0, 1.0]], dtype=like.dtype, device=like.device)


def homogeneous(m: torch.Tensor) -> torch.Tensor:
    """(N, 2, 3) -> (N, 3, 3)."""
    bottom = torch.zeros(m.shape[:-2] + (1, 3), dtype=m.dtype, device=m.device)
    bottom[..., 0, 2] = 1.0
    return torch.cat([m, bottom], dim=-2)


def warp_tensor(src: torch.Tensor, src_to_dst: torch.Tensor, dst_hw: Tuple[int, int],
                mode: str = "bilinear") -> torch.Tensor:
    """Resample images by an affine map (differentiable), zero outside the source.

    Args:
        src: (N, C, Hs, Ws).
        src_to_dst: (N, 2, 3) or (N, 3, 3) affine from source pixels to destination pixels.
        dst_hw: (Hd, Wd).
        mode: grid_sample interpolation.

    Returns:
        (N, C, Hd, Wd).
    """
    if src.shape[0] == 0:
        return src.new_zeros((0, src.shape[1]) + tuple(dst_hw))
    m = src_to_dst if src_to_dst.shape[-2] == 3 else homogeneous(src_to_dst)
    m = m.to(src.dtype)
    n_src = _pixel_to_norm(src.shape[-2], src.shape[-1], src)
    n_dst = _pixel_to_norm(dst_hw[0], dst_hw[1], src)
    theta = n_src @ torch.linalg.inv(m) @ torch.linalg.inv(n_dst)
    grid = F.affine_grid(theta[:, :2], [src.shape[0], src.shape[1], dst_hw[0], dst_hw[1]], align_corners=False)
    return F.grid_sample(src, grid, mode=mode, padding_mode="zeros", align_corners=False)


def warp_with_coverage(src: torch.Tensor, src_to_dst: torch.Tensor, dst_hw: Tuple[int, int]
                       ) -> Tuple[torch.Tensor, torch.Tensor]:
    """`warp_tensor` that also says where the source covers the result.

    Args:
        src: (N, C, Hs, Ws); src_to_dst, dst_hw: as `warp_tensor`.

    Returns:
        the warped maps (N, C, Hd, Wd) and their coverage (N, 1, Hd, Wd) in src's dtype: 1 where the
        pixel is interpolated from the source alone (a warped all-ones plane > 0.99), else 0.
    """
    moved = warp_tensor(torch.cat([src, torch.ones_like(src[:, :1])], 1), src_to_dst, dst_hw)
    return moved[:, :-1], (moved[:, -1:] > 0.99).to(src.dtype)


def crop_tensor(frames: torch.Tensor, matrices: torch.Tensor, size: int) -> torch.Tensor:
    """Crop frames (N, C, H, W) with frame->crop matrices (N, 2, 3) -> (N, C, S, S)."""
    return warp_tensor(frames, matrices, (size, size))


def paste_tensor(crops: torch.Tensor, matrices: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Crops (N, C, S, S) back into the frame (N, C, H, W), zero outside the crop."""
    m = homogeneous(matrices) if matrices.shape[-2] == 2 else matrices
    return warp_tensor(crops, torch.linalg.inv(m), (height, width))
