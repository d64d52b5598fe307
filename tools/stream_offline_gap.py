"""Where one given-visible run beats another, e.g. offline over streaming (docs/RESULTS.md, "Where streaming loses to offline").

Both runs are `amodal eval --given-visible` runs on the same annotations (track ids are the true
objects' ids). Per object-frame (every frame where the object has a true amodal mask, from its
first visible frame on), the full IoU of run A and of run B, grouped three ways:

- `age`: frames since the object was first visible;
- `occlusion`: 1 - visible area / full area;
- `past`: the largest visible area the object had shown *before* this frame, over its full area
  now: below 1, the past never showed as much of it as is there now (only a prior, or the
  future, can say where the rest is).

Per group: its share of the object-frames, A's and B's mean full IoU there, and its share of the
total B - A difference (the shares add up to 100 %).

    amodal eval --gt GT.json --given-visible --out A
    amodal eval --gt GT.json --given-visible --mode offline --out B
    python tools/stream_offline_gap.py GT.json A/predictions.json B/predictions.json [--json out.json]
"""
from __future__ import annotations

import argparse
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

EDGES = {
    "age": (0, 1, 3, 6, 11, float("inf")),
    "occlusion": (0.0, 0.1, 0.3, 0.5, 0.7, float("inf")),
    "past": (0.0, 0.5, 0.8, 0.95, 1.05, float("inf")),
}

Record = Tuple[int, float, float, float, float]  # age, occlusion, past, IoU of A, IoU of B


def _iou(a: Any, b: Any) -> float:
    if a is None or b is None:
        return 0.0
    from pycocotools import mask as mask_utils

    return float(mask_utils.iou([a], [b], [0])[0][0])


def object_frames(visible_areas: Sequence[Optional[float]], full_areas: Sequence[Optional[float]],
                  gt_amodal: Sequence[Any], amodal_a: Sequence[Any], amodal_b: Sequence[Any]) -> List[Record]:
    """(age, occlusion, past, IoU of A, IoU of B) per frame with a true amodal mask from the first visible frame.

    Args:
        visible_areas, full_areas: per-frame true visible / amodal areas (None or 0: absent).
        gt_amodal, amodal_a, amodal_b: per-frame RLEs (None: absent) of the truth and the two runs.
    """
    out: List[Record] = []
    first: Optional[int] = None
    best_seen = 0.0
    for t, (va, fa) in enumerate(zip(visible_areas, full_areas)):
        va, fa = float(va or 0.0), float(fa or 0.0)
        if first is None and va > 0:
            first = t
        if first is not None and fa > 0:
            out.append((t - first, 1.0 - va / fa, best_seen / fa,
                        _iou(amodal_a[t], gt_amodal[t]), _iou(amodal_b[t], gt_amodal[t])))
        best_seen = max(best_seen, va)
    return out


def summarize(records: Sequence[Record]) -> Dict[str, Any]:
    """Mean IoU of A and B overall, and per group of each grouping: share, means, share of the difference."""
    n = len(records)
    total = sum(r[4] - r[3] for r in records)
    out: Dict[str, Any] = {"object_frames": n, "a": sum(r[3] for r in records) / n if n else None,
                           "b": sum(r[4] for r in records) / n if n else None}
    for col, (name, edges) in enumerate(EDGES.items()):
        rows = []
        for lo, hi in zip(edges[:-1], edges[1:]):
            sel = [r for r in records if lo <= r[col] < hi]
            diff = sum(r[4] - r[3] for r in sel)
            rows.append({"from": lo, "to": hi, "object_frames": len(sel), "share": len(sel) / n if n else 0.0,
                         "a": sum(r[3] for r in sel) / len(sel) if sel else None,
                         "b": sum(r[4] for r in sel) / len(sel) if sel else None,
                         "share_of_difference": diff / total if total else None})
        out[name] = rows
    return out


def compare(dataset: Any, run_a: Sequence[Any], run_b: Sequence[Any]) -> Dict[str, Any]:
    """`summarize` over every true object of `dataset` (tracks of the runs matched by id)."""
    def by_key(run: Sequence[Any]) -> Dict[Tuple[int, int], Any]:
        return {(int(p.video_id), int(p.track_id)): p for p in run}

    a, b = by_key(run_a), by_key(run_b)
    records: List[Record] = []
    for video in dataset.videos:
        for track in dataset.tracks(video.id):
            key = (int(video.id), int(track.id))
            n = len(track.segmentations)
            none = [None] * n
            pa, pb = a.get(key), b.get(key)
            records += object_frames(track.areas, track.amodal_areas, track.amodal_segmentations,
                                     (pa.amodal_segmentations or none) if pa else none,
                                     (pb.amodal_segmentations or none) if pb else none)
    return summarize(records)


def _table(result: Dict[str, Any]) -> str:
    pct = lambda x: "-" if x is None else f"{100 * x:.2f}"  # noqa: E731
    lines = [f"{result['object_frames']} object-frames, full mIoU A {pct(result['a'])}, B {pct(result['b'])}"]
    for name in EDGES:
        lines.append(f"\n{name}: group | share | A | B | share of B - A")
        for r in result[name]:
            if r["object_frames"]:
                share = "-" if r["share_of_difference"] is None else f"{100 * r['share_of_difference']:.0f} %"
                lines.append(f"[{r['from']:g}, {r['to']:g}) | {100 * r['share']:.1f} % | {pct(r['a'])} | {pct(r['b'])} | {share}")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("annotations", help="native annotations with amodal masks (the --gt of amodal eval)")
    parser.add_argument("run_a", help="predictions.json of the first given-visible run (e.g. streaming)")
    parser.add_argument("run_b", help="predictions.json of the second given-visible run (e.g. offline)")
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args(argv)
    from amodal.data.format import load_dataset, load_predictions
    from amodal.utils.files import run_json_tool

    def compute() -> Dict[str, Any]:
        dataset = load_dataset(args.annotations, read_amodal=True)
        if not dataset.has_amodal:
            raise ValueError(f"{args.annotations} has no amodal masks")
        return compare(dataset, load_predictions(args.run_a, dataset), load_predictions(args.run_b, dataset))

    return run_json_tool("stream_offline_gap", compute, args.json, render=_table)

if __name__ == "__main__":
    sys.exit(main())
