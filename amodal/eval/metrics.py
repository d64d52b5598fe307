"""Per object-frame statistics of amodal and visible masks, as small integer counts.

Nothing here keeps a mask: every function turns masks of one object in one frame into a few
pixel counts (intersection / union per metric variant, boundary matches), which evaluators
accumulate and reduce. See docs/EVALUATION.md for the formulas and the paper behind each.

Masks are bool numpy arrays (H, W).

Variants (index into the counts array of `amodal_counts`):
    full         P vs G on the whole image.
    strict       (P minus V) vs (G minus V); only when G minus V is non-empty (EoRaS).
    savos        P ∩ O vs G ∩ O, O = union of the OTHER objects' true visible masks; only when
                 G ∩ O is non-empty (SaVos).
    pasted_full  P' vs G with P' = P ∪ V (C2F-Seg, Diffusion-VAS).
    pasted_occ   erode(P' minus V) vs erode(G minus V), square kernel `pasted_erode`
                 (Diffusion-VAS uses 5; 0 = no erosion, C2F-Seg); only when the (eroded) true
                 occluded region is non-empty.
An excluded variant is stored as intersection = union = 0.
"""
from __future__ import annotations

import math
from typing import Optional, Tuple

import numpy as np

VARIANTS: Tuple[str, ...] = ("full", "strict", "savos", "pasted_full", "pasted_occ")
OCCLUDED_VARIANTS: Tuple[str, ...] = ("strict", "savos", "pasted_occ")


def occlusion_rate(visible: np.ndarray, amodal: np.ndarray) -> float:
    """Occlusion rate 1 - |V ∩ G| / |G| = |G minus V| / |G| of one object-frame, in [0, 1].

    Args:
        visible: bool (H, W) true visible mask V.
        amodal: bool (H, W) true amodal mask G (non-empty).

    Returns:
        The hidden fraction of the object; V is intersected with G so that annotation noise
        (visible pixels outside the amodal mask) cannot make it negative.
    """
    area = int(np.count_nonzero(amodal))
    if area == 0:
        raise ValueError("occlusion rate is undefined for an empty amodal mask")
    hidden = int(np.count_nonzero(np.asarray(amodal, dtype=bool) & ~np.asarray(visible, dtype=bool)))
    return hidden / area  # exact for e.g. 1/10 == 0.1, unlike 1 - 9/10


def _pair(a: np.ndarray, b: np.ndarray) -> Tuple[int, int]:
    inter = int(np.count_nonzero(np.logical_and(a, b)))
    union = int(np.count_nonzero(np.logical_or(a, b)))
    return inter, union


def erode(mask: np.ndarray, size: int) -> np.ndarray:
    """Binary erosion with a `size` x `size` square (size <= 1: unchanged).

    Pixels outside the image count as foreground (OpenCV's default), so the image border
    does not erode a mask that touches it.
    """
    if size <= 1:
        return mask
    import cv2

    kernel = np.ones((size, size), np.uint8)
    return cv2.erode(mask.astype(np.uint8), kernel).astype(bool)


def amodal_counts(
    pred: np.ndarray,
    gt: np.ndarray,
    visible: np.ndarray,
    others_visible: np.ndarray,
    pasted_erode: int = 5,
) -> np.ndarray:
    """Intersection and union pixel counts of every variant for one object-frame.

    Args:
        pred: bool (H, W) predicted amodal mask P.
        gt: bool (H, W) true amodal mask G (the caller skips object-frames with an empty G).
        visible: bool (H, W) true visible mask V of this object.
        others_visible: bool (H, W) union O of the other objects' true visible masks.
        pasted_erode: square kernel size for the `pasted_occ` erosion (0 or 1: none).

    Returns:
        int64 (len(VARIANTS), 2): [intersection, union] per variant, (0, 0) when excluded.
    """
    if not (pred.shape == gt.shape == visible.shape == others_visible.shape):
        raise ValueError(
            f"mask shapes differ: pred {pred.shape}, gt {gt.shape}, visible {visible.shape}, "
            f"others {others_visible.shape}"
        )
    out = np.zeros((len(VARIANTS), 2), dtype=np.int64)
    out[0] = _pair(pred, gt)

    hidden = gt & ~visible
    if hidden.any():
        out[1] = _pair(pred & ~visible, hidden)

    gt_behind = gt & others_visible
    if gt_behind.any():
        out[2] = _pair(pred & others_visible, gt_behind)

    pasted = pred | visible
    out[3] = _pair(pasted, gt)
    gt_occ = erode(hidden, pasted_erode)
    if gt_occ.any():
        out[4] = _pair(erode(pasted & ~visible, pasted_erode), gt_occ)
    return out


def boundary(mask: np.ndarray) -> np.ndarray:
    """One-pixel inner boundary of a mask: mask minus its 3x3 erosion; bool (H, W).

    The image border is not a boundary (an object cut by the frame edge has no contour there).
    """
    return mask & ~erode(mask, 3)


def boundary_tolerance(height: int, width: int, fraction: float = 0.008) -> int:
    """DAVIS-style boundary tolerance in pixels: `fraction` of the image diagonal, at least 1."""
    return max(1, int(math.ceil(fraction * math.hypot(height, width))))


def boundary_counts(pred: np.ndarray, gt: np.ndarray, tolerance: int) -> np.ndarray:
    """Boundary match counts for the F-measure of one object-frame.

    A boundary pixel of one mask is matched when a boundary pixel of the other lies within
    `tolerance` pixels (disk-shaped dilation with cv2).

    Args:
        pred: bool (H, W) predicted visible mask.
        gt: bool (H, W) true visible mask.
        tolerance: matching distance in pixels (>= 0).

    Returns:
        int64 (4,): [pred boundary pixels, matched pred boundary pixels,
                     gt boundary pixels, matched gt boundary pixels].
    """
    import cv2

    bp = boundary(pred)
    bg = boundary(gt)
    if tolerance > 0:
        disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * tolerance + 1, 2 * tolerance + 1))
        bp_wide = cv2.dilate(bp.astype(np.uint8), disk).astype(bool)
        bg_wide = cv2.dilate(bg.astype(np.uint8), disk).astype(bool)
    else:
        bp_wide, bg_wide = bp, bg
    return np.array(
        [
            np.count_nonzero(bp),
            np.count_nonzero(bp & bg_wide),
            np.count_nonzero(bg),
            np.count_nonzero(bg & bp_wide),
        ],
        dtype=np.int64,
    )


def f_measure(counts: np.ndarray) -> Optional[float]:
    """Boundary F-measure from `boundary_counts`; None when both boundaries are empty.

    One empty boundary and one not gives 0.
    """
    n_pred, m_pred, n_gt, m_gt = (int(c) for c in counts)
    if n_pred == 0 and n_gt == 0:
        return None
    if n_pred == 0 or n_gt == 0:
        return 0.0
    precision = m_pred / n_pred
    recall = m_gt / n_gt
    if precision + recall == 0:
        return 0.0
    return 2.0 * precision * recall / (precision + recall)
