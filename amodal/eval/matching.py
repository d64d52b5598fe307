"""Matching predicted tracks to ground-truth objects by visible-mask IoU (end-to-end runs).

Per video, the score of a (gt object, predicted track) pair is their visible-mask IoU averaged
over the frames where EITHER of them is present (a non-empty mask); frames where only one is
present count as IoU 0, so a track that covers the object for half of its life scores at most
0.5. The pairs are assigned one-to-one with the Hungarian algorithm (maximising the summed
score) and a pair is kept when its score is >= `threshold` (0.5, the KINS-Video-Car protocol
of SaVos). Matching is class-agnostic.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
from pycocotools import mask as mask_utils

RLE = Dict[str, Any]


@dataclass
class MatchResult:
    """One video's matching.

    Attributes:
        pairs: gt object id -> predicted track id.
        scores: gt object id -> mean visible IoU of its matched track.
        missed: gt object ids without a match.
        false_positives: predicted track ids without a match.
    """

    pairs: Dict[int, int] = field(default_factory=dict)
    scores: Dict[int, float] = field(default_factory=dict)
    missed: List[int] = field(default_factory=list)
    false_positives: List[int] = field(default_factory=list)


def _coco(rle: RLE) -> RLE:
    h, w = int(rle["size"][0]), int(rle["size"][1])
    counts = rle["counts"]
    if isinstance(counts, list):
        return mask_utils.frPyObjects({"size": [h, w], "counts": counts}, h, w)
    if isinstance(counts, str):
        counts = counts.encode("ascii")
    return {"size": [h, w], "counts": counts}


def present_rle(seq: Sequence[Optional[RLE]], t: int) -> Optional[RLE]:
    """Frame `t` of a per-frame RLE list as a pycocotools RLE, or None when absent or empty."""
    if t >= len(seq) or seq[t] is None:
        return None
    rle = _coco(seq[t])
    return rle if mask_utils.area(rle) > 0 else None


def mean_visible_iou(
    gt: Mapping[int, Sequence[Optional[RLE]]],
    pred: Mapping[int, Sequence[Optional[RLE]]],
    length: int,
) -> Tuple[List[int], List[int], np.ndarray]:
    """Mean visible IoU of every (gt, pred) pair over the frames where either is present.

    Args:
        gt: gt object id -> per-frame visible RLE (None: absent).
        pred: predicted track id -> per-frame visible RLE (None: absent).
        length: number of frames of the video.

    Returns:
        (gt ids, pred ids, float (G, P) matrix of mean IoUs; 0 for pairs never present).
    """
    gt_ids, pred_ids = list(gt), list(pred)
    total = np.zeros((len(gt_ids), len(pred_ids)))
    g_frames = np.zeros((len(gt_ids), length), dtype=bool)
    p_frames = np.zeros((len(pred_ids), length), dtype=bool)
    for t in range(length):
        g_rles = [(i, present_rle(gt[k], t)) for i, k in enumerate(gt_ids)]
        p_rles = [(j, present_rle(pred[k], t)) for j, k in enumerate(pred_ids)]
        g_rles = [(i, r) for i, r in g_rles if r is not None]
        p_rles = [(j, r) for j, r in p_rles if r is not None]
        for i, _ in g_rles:
            g_frames[i, t] = True
        for j, _ in p_rles:
            p_frames[j, t] = True
        if g_rles and p_rles:
            ious = np.asarray(mask_utils.iou([r for _, r in p_rles], [r for _, r in g_rles], [0] * len(g_rles)))
            ious = ious.reshape(len(p_rles), len(g_rles))
            gi = [i for i, _ in g_rles]
            pj = [j for j, _ in p_rles]
            total[np.ix_(gi, pj)] += ious.T
    either = (g_frames[:, None, :] | p_frames[None, :, :]).sum(-1) if gt_ids and pred_ids else total
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(either > 0, total / np.maximum(either, 1), 0.0)
    return gt_ids, pred_ids, mean


def match_tracks(
    gt: Mapping[int, Sequence[Optional[RLE]]],
    pred: Mapping[int, Sequence[Optional[RLE]]],
    length: int,
    threshold: float = 0.5,
) -> MatchResult:
    """One-to-one matching of predicted tracks to gt objects: among the pairs with mean visible IoU >=
    `threshold`, the assignment with the largest total IoU (Hungarian). Pairs under the threshold
    take no part, so they cannot crowd out a pair that is a match (two near-misses summing higher)."""
    from scipy.optimize import linear_sum_assignment

    gt_ids, pred_ids, iou = mean_visible_iou(gt, pred, length)
    result = MatchResult()
    if gt_ids and pred_ids:
        rows, cols = linear_sum_assignment(-np.where(iou >= threshold, iou, 0.0))
        for r, c in zip(rows, cols):
            if iou[r, c] >= threshold:
                result.pairs[gt_ids[r]] = pred_ids[c]
                result.scores[gt_ids[r]] = float(iou[r, c])
    matched_pred = set(result.pairs.values())
    result.missed = [g for g in gt_ids if g not in result.pairs]
    result.false_positives = [p for p in pred_ids if p not in matched_pred]
    return result
