"""Where the matched objects of an end-to-end run lose full mIoU (docs/RESULTS.md, "Where the matched objects lose").

`amodal eval` (end to end) matches predicted tracks to true objects and reports the matched
objects' full mIoU. This splits that number per object-frame (every frame where a matched object
is visible), by how good the track's visible mask is in that frame:

- `no mask`: the track has no visible mask in that frame, split into frames `before` its first
  mask, `gap`s inside it and frames `after` its last (an amodal mask it reports there, a wholly
  hidden prediction, still counts for full IoU);
- visible IoU `< 0.5`, `0.5-0.8`, `0.8-0.9`, `>= 0.9`.

Per group: its share of the object-frames, the mean full (amodal) IoU there, and the points of
full mIoU it costs (its share x (1 - its mean full IoU), x 100); the groups' costs add up to
100 minus the object-frame mean of full IoU.

    amodal eval --gt GT.json --out RUN
    python tools/e2e_breakdown.py GT.json RUN/predictions.json [--match-iou 0.5] [--json out.json]
"""
from __future__ import annotations

import argparse
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

GROUPS = ("no mask", "< 0.5", "0.5-0.8", "0.8-0.9", ">= 0.9")
_EDGES = (0.5, 0.8, 0.9)


def group_of(visible_iou: Optional[float]) -> str:
    """The group of an object-frame from its track's visible IoU (None: no mask)."""
    if visible_iou is None:
        return GROUPS[0]
    return GROUPS[1 + sum(visible_iou >= e for e in _EDGES)]


def _iou(a: Any, b: Any) -> float:
    from pycocotools import mask as mask_utils

    return float(mask_utils.iou([a], [b], [0])[0][0])


def object_frames(gt_vis: Sequence[Any], gt_amodal: Sequence[Any], pred_vis: Sequence[Any],
                  pred_amodal: Sequence[Any]) -> List[Tuple[Optional[float], float, str]]:
    """(visible IoU or None, full IoU, where) for each frame where a matched object is visible.

    Args:
        gt_vis, gt_amodal, pred_vis, pred_amodal: per-frame RLEs (None: absent) of one true object
            and its matched track.

    Returns:
        One record per frame with a visible true mask; `where` is "" for frames with a track mask,
        else "before", "gap" or "after" the track's masks.
    """
    from amodal.eval.matching import present_rle

    n = len(gt_vis)
    preds = [present_rle(pred_vis, t) for t in range(n)]
    shown = [t for t, p in enumerate(preds) if p is not None]
    first, last = (shown[0], shown[-1]) if shown else (n, -1)
    out = []
    for t, p in enumerate(preds):
        g = present_rle(gt_vis, t)
        if g is None:
            continue
        ga, pa = present_rle(gt_amodal, t), present_rle(pred_amodal, t)
        full = _iou(pa, ga) if pa is not None and ga is not None else 0.0
        if p is None:
            out.append((None, full, "before" if t < first else "after" if t > last else "gap"))
            continue
        out.append((_iou(p, g), full, ""))
    return out


def summarize(records: Sequence[Tuple[Optional[float], float, str]]) -> Dict[str, Any]:
    """Groups' shares, mean full IoU and cost (points), and where the frames without a mask lie."""
    n = len(records)
    names = [group_of(r[0]) for r in records]
    groups = {}
    for name in GROUPS:
        full = [r[1] for r, g in zip(records, names) if g == name]
        mean = sum(full) / len(full) if full else None
        groups[name] = {"object_frames": len(full), "share": len(full) / n if n else 0.0, "full_iou": mean,
                        "cost": 100.0 * (len(full) - sum(full)) / n if n else 0.0}
    where = {k: sum(1 for r in records if r[2] == k) for k in ("before", "gap", "after")}
    where["hidden"] = sum(1 for r in records if r[0] is None and r[1] > 0)  # an amodal mask on the truth
    mean_full = sum(r[1] for r in records) / n if n else None
    return {"object_frames": n, "full_miou": mean_full, "groups": groups, "no_mask": where}


def breakdown(dataset: Any, predictions: Sequence[Any], match_iou: float = 0.5) -> Dict[str, Any]:
    """`summarize` over every matched (object, track) pair of every video (end-to-end matching)."""
    from amodal.eval.matching import match_tracks

    by_video: Dict[int, Dict[int, Any]] = {}
    for p in predictions:
        by_video.setdefault(int(p.video_id), {})[int(p.track_id)] = p
    records: List[Tuple[Optional[float], float, str]] = []
    matched = 0
    for video in dataset.videos:
        tracks = {t.id: t for t in dataset.tracks(video.id)}
        preds = by_video.get(int(video.id), {})
        result = match_tracks({k: t.segmentations for k, t in tracks.items()},
                              {k: p.segmentations for k, p in preds.items()}, int(video.length), match_iou)
        for gid, pid in result.pairs.items():
            t, p = tracks[gid], preds[pid]
            records += object_frames(t.segmentations, t.amodal_segmentations, p.segmentations,
                                     p.amodal_segmentations or [None] * len(p.segmentations))
        matched += len(result.pairs)
    out = summarize(records)
    out["matched_objects"] = matched
    return out


def _table(result: Dict[str, Any]) -> str:
    lines = [f"{result['matched_objects']} matched objects, {result['object_frames']} object-frames, "
             f"full mIoU {100 * (result['full_miou'] or 0.0):.1f} (object-frame mean)",
             "track's visible IoU   share   full IoU   cost (points)"]
    for name, g in result["groups"].items():
        full = "-" if g["full_iou"] is None else f"{100 * g['full_iou']:.1f}"
        lines.append(f"{name:<20} {100 * g['share']:5.1f} %  {full:>8}   {g['cost']:6.1f}")
    w = result["no_mask"]
    lines.append(f"no mask: {w['before']} before the track's first mask, {w['gap']} in gaps, {w['after']} after its last; "
                 f"{w['hidden']} of them predicted wholly hidden (an amodal mask overlapping the truth)")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("annotations", help="native annotations with amodal masks (the --gt of amodal eval)")
    parser.add_argument("predictions", help="predictions.json of an end-to-end run")
    parser.add_argument("--match-iou", type=float, default=0.5, help="minimum mean visible IoU of a match (0.5)")
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args(argv)
    from amodal.data.format import load_dataset, load_predictions
    from amodal.utils.files import run_json_tool

    def compute() -> Dict[str, Any]:
        if not 0.0 < args.match_iou <= 1.0:
            raise ValueError(f"--match-iou must be in (0, 1], got {args.match_iou}")
        dataset = load_dataset(args.annotations, read_amodal=True)
        if not dataset.has_amodal:
            raise ValueError(f"{args.annotations} has no amodal masks")
        return breakdown(dataset, load_predictions(args.predictions, dataset), args.match_iou)

    return run_json_tool("e2e_breakdown", compute, args.json, render=_table)

if __name__ == "__main__":
    sys.exit(main())
