"""Decode VisibleNet outputs (foreground, instance boundaries, centers, offsets) into instances.

Decoding runs at the network's output resolution (h, w) and is fully vectorised (numpy and
OpenCV); only loops over the (few) instances remain:

1. foreground = sigmoid(fg) > fg_threshold;
2. centers = local maxima of sigmoid(center) (max-pool NMS) above center_threshold, top-k;
3. every foreground pixel votes for `pixel + offset` and joins the nearest center; pixels whose
   vote is farther than max(`vote_radius`, `vote_radius_rel` x sqrt(instance area)) from every
   center are "unexplained": their connected components big enough to be objects become extra
   instances (a missed center must not merge an object into its neighbour), small ones fall
   back to the nearest center;
4. boundary clean-up: connected pieces of foreground cut by predicted instance boundaries
   (probability > `boundary_threshold`) whose votes agree (>= `fragment_agreement`) are
   relabelled to their majority instance, which removes offset noise near edges without
   trusting boundaries that have gaps;
5. labels are upsampled to the input size (nearest) and gated by the bilinearly upsampled
   foreground (smooth outlines), optionally snapped to the image's edges by a guided filter
   (`refine_radius` > 0 and the image given; `amodal.models.guided_filter`); small holes are
   filled, instances under `min_area` or `score_threshold` dropped.

Masks of different instances never overlap by construction (one label per pixel).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple, Union

import cv2
import numpy as np
import torch
from scipy.ndimage import find_objects

from amodal.models.guided_filter import refine_probability

ArrayLike = Union[np.ndarray, torch.Tensor]


@dataclass
class Instance:
    """One visible object instance.

    Attributes:
        mask: bool (H, W) visible mask at the input resolution.
        score: confidence in [0, 1].
    """

    mask: np.ndarray
    score: float


@dataclass
class DecodeParams:
    """Thresholds of `decode_instances` (see `VisibleConfig` for the defaults' meaning)."""

    fg_threshold: float = 0.5
    center_threshold: float = 0.2
    nms_kernel: int = 5
    vote_radius: float = 6.0
    vote_radius_rel: float = 0.5
    score_threshold: float = 0.0
    min_area: int = 20
    hole_area: int = 64
    max_objects: int = 16
    fragment_agreement: float = 0.7
    boundary_threshold: float = 0.5  # boundary probability above which a pixel separates fragments (step 4)
    refine_radius: int = 0  # guided-filter window radius in network-input pixels (0: no refinement)
    refine_eps: float = 1e-4


def _logit(p: float) -> float:
    p = min(max(float(p), 1e-6), 1.0 - 1e-6)
    return float(np.log(p / (1.0 - p)))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _np(x: ArrayLike) -> np.ndarray:
    """float32 numpy view of a CPU tensor or array."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.ascontiguousarray(x, dtype=np.float32)


def find_centers(center_logits: ArrayLike, threshold: float, kernel: int, top_k: int) -> Tuple[np.ndarray, np.ndarray]:
    """Peaks of a center heatmap.

    Args:
        center_logits: (h, w) logits.
        threshold: minimum peak probability.
        kernel: odd NMS window.
        top_k: maximum number of peaks kept (highest first).

    Returns:
        yx: float32 (K, 2) peak coordinates (row, col); peak: float32 (K,) probabilities.
    """
    logits = _np(center_logits)
    k = max(1, int(kernel) | 1)
    pooled = cv2.dilate(logits, np.ones((k, k), np.uint8), borderType=cv2.BORDER_REPLICATE)
    ys, xs = np.nonzero((logits >= pooled) & (logits > _logit(threshold)))
    if ys.size == 0:
        return np.zeros((0, 2), np.float32), np.zeros((0,), np.float32)
    vals = logits[ys, xs]
    order = np.argsort(-vals, kind="stable")[: 4 * top_k]
    yx = np.stack([ys[order], xs[order]], 1).astype(np.float32)
    peak = _sigmoid(vals[order]).astype(np.float32)
    # plateaus give several equal maxima: keep the first of peaks closer than the NMS radius
    d2 = ((yx[:, None, :] - yx[None, :, :]) ** 2).sum(-1)
    kept: List[int] = []
    for i in range(yx.shape[0]):
        if all(d2[i, j] > (k // 2) ** 2 for j in kept):
            kept.append(i)
            if len(kept) == top_k:
                break
    return yx[kept], peak[kept]


def assign_pixels(fg: np.ndarray, offsets: np.ndarray, centers: np.ndarray, params: DecodeParams) -> np.ndarray:
    """Label map at output resolution from center votes.

    Args:
        fg: bool (h, w) foreground.
        offsets: float32 (2, h, w) predicted (dy, dx) from each pixel to its instance center.
        centers: float32 (K, 2) center coordinates (row, col).
        params: decoding thresholds (`vote_radius`, `min_area` is compared after scaling by caller).

    Returns:
        int32 (h, w) labels: 0 background, k in 1..K for center k-1, K+1.. for extra instances made
        of unexplained foreground.
    """
    h, w = fg.shape
    labels = np.zeros((h, w), np.int32)
    ys, xs = np.nonzero(fg)
    if ys.size == 0:
        return labels
    vy = ys + offsets[0, ys, xs]
    vx = xs + offsets[1, ys, xs]
    n_centers = centers.shape[0]
    if n_centers:
        d2 = (vy[:, None] - centers[None, :, 0]) ** 2 + (vx[:, None] - centers[None, :, 1]) ** 2
        nearest = np.argmin(d2, axis=1)
        # an instance's votes spread with its size: radius = max(vote_radius, rel * sqrt(area))
        area = np.bincount(nearest, minlength=n_centers)
        radius = np.maximum(params.vote_radius, params.vote_radius_rel * np.sqrt(area))
        explained = d2[np.arange(ys.size), nearest] <= radius[nearest] ** 2
        labels[ys, xs] = nearest + 1
    else:
        nearest = np.zeros(ys.size, np.int64)
        explained = np.zeros(ys.size, bool)
    if explained.all():
        return labels
    loose = np.zeros((h, w), np.uint8)
    loose[ys[~explained], xs[~explained]] = 1
    n_cc, cc, stats, _ = cv2.connectedComponentsWithStats(loose, connectivity=8)
    min_px = max(1, int(params.min_area))
    big = np.flatnonzero(stats[:, cv2.CC_STAT_AREA] >= min_px)
    big = big[big > 0]
    new_label = np.zeros(n_cc, np.int32)
    new_label[big] = n_centers + 1 + np.arange(big.size, dtype=np.int32)
    comp = cc[ys, xs]
    is_new = new_label[comp] > 0
    labels[ys[is_new], xs[is_new]] = new_label[comp[is_new]]
    if n_centers == 0:  # small unexplained bits with no center to fall back to are dropped
        drop = (~explained) & (~is_new)
        labels[ys[drop], xs[drop]] = 0
    return labels


def clean_with_boundaries(labels: np.ndarray, fg: np.ndarray, boundary: np.ndarray, agreement: float) -> np.ndarray:
    """Relabel boundary-delimited fragments of foreground whose votes mostly agree.

    Args:
        labels: int32 (h, w) labels from `assign_pixels`.
        fg: bool (h, w) foreground.
        boundary: bool (h, w) predicted instance boundaries.
        agreement: minimum share of the majority label within a fragment.

    Returns:
        int32 (h, w) labels (a new array).
    """
    inner = (fg & ~boundary).astype(np.uint8)
    n_frag, frag = cv2.connectedComponents(inner, connectivity=4)
    if n_frag <= 1:
        return labels
    n_lab = int(labels.max()) + 1
    sel = frag > 0
    f, lab = frag[sel], labels[sel]
    hist = np.bincount(f.astype(np.int64) * n_lab + lab, minlength=n_frag * n_lab).reshape(n_frag, n_lab)
    hist[:, 0] = 0  # unlabelled pixels never vote
    total = hist.sum(axis=1)
    major = hist.argmax(axis=1)
    ok = (total > 0) & (hist[np.arange(n_frag), major] >= agreement * np.maximum(total, 1))
    ok[0] = False
    out = labels.copy()
    relabel = ok[f]
    idx = np.nonzero(sel)
    out[idx[0][relabel], idx[1][relabel]] = major[f[relabel]]
    return out


def fill_small_holes(crop: np.ndarray, k: int, max_hole: int) -> None:
    """Fill background holes of at most `max_hole` pixels inside instance `k`, in place.

    Args:
        crop: int (h, w) label map (typically the instance's bounding box, a view).
        k: instance label.
        max_hole: largest hole area filled (pixels).

    Only pixels labelled 0 are filled, so instances stay disjoint.
    """
    if max_hole <= 0 or crop.size == 0:
        return
    outside = (crop != k).astype(np.uint8)
    n, cc, stats, _ = cv2.connectedComponentsWithStats(outside, connectivity=4)
    if n <= 2:  # only the instance and what surrounds it
        return
    border = np.unique(np.concatenate([cc[0], cc[-1], cc[:, 0], cc[:, -1]]))
    small = stats[:, cv2.CC_STAT_AREA] <= max_hole
    small[0] = False
    small[border] = False
    if not small.any():
        return
    # a "hole" holding another instance's pixels is that instance in front, not a hole
    other = np.bincount(cc[(crop > 0) & (crop != k)], minlength=n)
    small &= other[:n] == 0
    if small.any():
        crop[small[cc]] = k


def decode_instances(
    fg_logits: ArrayLike,
    boundary_logits: ArrayLike,
    center_logits: ArrayLike,
    offsets: ArrayLike,
    out_size: Tuple[int, int],
    params: DecodeParams,
    image: Optional[np.ndarray] = None,
) -> List[Instance]:
    """Instances of one image from network outputs.

    Args:
        fg_logits, boundary_logits, center_logits: (h, w) logits at output resolution.
        offsets: (2, h, w) (dy, dx) in output pixels from each pixel to its instance center.
        out_size: (H, W) of the input image; masks are returned at this size.
        params: decoding thresholds.
        image: RGB uint8 (H, W, 3), the input image: guides the outline refinement
            (`params.refine_radius` > 0). None: no refinement.

    Returns:
        Instances sorted by decreasing score, at most `params.max_objects`, disjoint masks.
    """
    H, W = int(out_size[0]), int(out_size[1])
    fg_l = _np(fg_logits)
    h, w = fg_l.shape
    thr = _logit(params.fg_threshold)
    fg = fg_l > thr
    if not fg.any():
        return []
    centers, peaks = find_centers(center_logits, params.center_threshold, params.nms_kernel, 2 * params.max_objects + 8)
    scale_area = (h * w) / float(H * W)
    sub = DecodeParams(**{**params.__dict__, "min_area": max(1, int(round(params.min_area * scale_area)))})
    labels = assign_pixels(fg, _np(offsets), centers, sub)
    boundary = _np(boundary_logits) > _logit(params.boundary_threshold)
    labels = clean_with_boundaries(labels, fg, boundary, params.fragment_agreement)
    if not labels.any():
        return []
    n_lab = max(int(labels.max()), peaks.size) + 1
    # per-label score: sqrt(center peak * mean foreground probability), at output resolution
    ys, xs = np.nonzero(labels)
    lab = labels[ys, xs]
    counts = np.bincount(lab, minlength=n_lab)
    mean_fg = np.bincount(lab, weights=_sigmoid(fg_l[ys, xs]), minlength=n_lab) / np.maximum(counts, 1)
    peak = np.zeros(n_lab)
    peak[1 : 1 + peaks.size] = peaks
    if n_lab > 1 + peaks.size:  # extra instances (no center): best heat inside them
        heat = _np(center_logits)[ys, xs]
        for k in range(1 + peaks.size, n_lab):
            sel = lab == k
            if sel.any():
                peak[k] = _sigmoid(heat[sel].max())
    score = np.sqrt(np.clip(peak * mean_fg, 0.0, 1.0))
    # upsample: nearest labels gated by the bilinearly upsampled foreground (smooth outlines)
    same = (h, w) == (H, W)
    lab_up = labels.astype(np.uint16)
    if not same:
        lab_up = cv2.resize(lab_up, (W, H), interpolation=cv2.INTER_NEAREST)
    fg_up = fg_l if same else cv2.resize(fg_l, (W, H), interpolation=cv2.INTER_LINEAR)
    if params.refine_radius > 0 and image is not None:
        if image.shape[:2] != (H, W):
            raise ValueError(f"decode_instances: image {image.shape[:2]} differs from out_size {(H, W)}")
        radius = max(1, int(round(params.refine_radius * W / (2.0 * w))))  # network-input -> image pixels
        reach = int(np.ceil(max(H / h, W / w)))  # the refined outline may lie outside the labels: grow them
        grown = cv2.dilate(lab_up, np.ones((2 * reach + 1, 2 * reach + 1), np.uint8))
        lab_up = np.where(lab_up == 0, grown, lab_up)
        lab_up[refine_probability(_sigmoid(fg_up), image, radius, params.refine_eps) <= params.fg_threshold] = 0
    elif not same:
        lab_up[fg_up <= thr] = 0
    boxes = find_objects(labels)
    present = np.flatnonzero(counts > 0)
    present = present[present > 0]
    order = present[np.argsort(-score[present], kind="stable")]
    sy, sx = H / h, W / w
    out: List[Instance] = []
    order = order[score[order] >= params.score_threshold]
    for k in order:
        by, bx = boxes[k - 1]
        y0, y1 = max(0, int(by.start * sy) - 1), min(H, int(np.ceil(by.stop * sy)) + 1)
        x0, x1 = max(0, int(bx.start * sx) - 1), min(W, int(np.ceil(bx.stop * sx)) + 1)
        crop = lab_up[y0:y1, x0:x1]
        fill_small_holes(crop, int(k), params.hole_area)
        m = crop == k
        if np.count_nonzero(m) < params.min_area:
            crop[m] = 0
            continue
        mask = np.zeros((H, W), bool)
        mask[y0:y1, x0:x1] = m
        out.append(Instance(mask=mask, score=float(score[k])))
        if len(out) >= params.max_objects:
            break
    return out
