"""Per-frame quality of a checkpoint's visible-mask network (no tracking), on a native dataset.

For every `--every`-th frame of the first `--videos` videos: each true object with at least
`--min-pixels` visible pixels is "found" when a detection has visible IoU >= 0.5 with it
(recall); a detection is "correct" when it has IoU >= 0.5 with some true object (precision).
Also the mean best IoU of the true objects and detections per true object. Amodal masks are not
read. Use it on the validation split to choose decoding thresholds (tools/set_decoding.py).

    python tools/detection_quality.py work_data/synth/val/annotations.json CKPT [--videos 16] [--every 4]
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Dict, List, Sequence

import numpy as np


def frame_counts(truth: Sequence[np.ndarray], found: Sequence[np.ndarray]) -> Dict[str, float]:
    """Counts of one frame: true objects (T, bool H x W masks) against detections (D masks)."""
    from amodal.models.tracker import iou_matrix

    if truth and found:
        iou = iou_matrix(np.stack(truth).reshape(len(truth), -1), np.stack(found).reshape(len(found), -1))
    else:
        iou = np.zeros((len(truth), len(found)), np.float32)
    best_t = iou.max(1) if len(found) else np.zeros(len(truth), np.float32)
    best_d = iou.max(0) if len(truth) else np.zeros(len(found), np.float32)
    return {"objects": float(len(truth)), "detections": float(len(found)), "found": float((best_t >= 0.5).sum()),
            "correct": float((best_d >= 0.5).sum()), "best_iou_sum": float(best_t.sum())}


def summarize(totals: Dict[str, float]) -> Dict[str, float]:
    """Recall, precision, mean best IoU and detections per object from summed frame counts."""
    n, d = max(totals["objects"], 1.0), max(totals["detections"], 1.0)
    return {"objects": int(totals["objects"]), "detections": int(totals["detections"]),
            "recall": round(totals["found"] / n, 4), "precision": round(totals["correct"] / d, 4),
            "mean_best_iou": round(totals["best_iou_sum"] / n, 4),
            "detections_per_object": round(totals["detections"] / n, 3)}


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("annotations")
    parser.add_argument("checkpoint")
    parser.add_argument("--videos", type=int, default=16)
    parser.add_argument("--every", type=int, default=4)
    parser.add_argument("--min-pixels", type=int, default=50)
    args = parser.parse_args(argv)
    import cv2

    from amodal.api import AmodalPredictor
    from amodal.data.format import load_dataset
    from amodal.errors import AmodalError

    try:
        if args.videos < 1 or args.every < 1:
            raise ValueError("--videos and --every must be >= 1")
        ds = load_dataset(args.annotations, read_amodal=False)
        net = AmodalPredictor.from_checkpoint(args.checkpoint).model.visible
        if net is None:
            raise ValueError(f"{args.checkpoint} has no visible-mask network")
    except (AmodalError, ValueError) as exc:
        print(f"detection_quality: {exc}", file=sys.stderr)
        return 2
    totals = {"objects": 0.0, "detections": 0.0, "found": 0.0, "correct": 0.0, "best_iou_sum": 0.0}
    for video in ds.videos[: args.videos]:
        tracks = ds.tracks(video.id)
        for t in range(0, video.length, args.every):
            bgr = cv2.imread(str(ds.frame_path(video.id, t)))
            if bgr is None:
                print(f"detection_quality: cannot read frame {ds.frame_path(video.id, t)} (frame images are needed)",
                      file=sys.stderr)
                return 2
            image = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            truth = [m for m in (tr.visible_mask(t) for tr in tracks) if m.sum() >= args.min_pixels]
            found = [inst.mask for inst in net.predict_instances(image)]
            for key, value in frame_counts(truth, found).items():
                totals[key] += value
    print(json.dumps(summarize(totals)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
