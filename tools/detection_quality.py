"""Per-frame quality of a checkpoint's visible-mask network (no tracking), on a native dataset.

For every `--every`-th frame of the first `--videos` videos: each true object with at least
`--min-pixels` visible pixels is "found" when a detection has visible IoU >= 0.5 with it
(recall); a detection is "correct" when it has IoU >= 0.5 with some true object (precision).
Also the mean best IoU of the true objects and detections per true object. Amodal masks are not
read. Use it on the validation split to choose decoding thresholds (tools/set_decoding.py).

`--oracles` also tells which head loses the objects: the foreground IoU of the network at its
output resolution, and the same counts when the true foreground and/or the true instance centers
replace the network's (its offsets and boundaries are kept).

    python tools/detection_quality.py work_data/synth/val/annotations.json CKPT [--videos 16] [--every 4] [--oracles]
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Dict, List, Optional, Sequence

import numpy as np

ORACLES = ("true_foreground", "true_centers", "true_foreground_and_centers")


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


def oracle_detections(net, out, ids: np.ndarray, image: Optional[np.ndarray] = None) -> Dict[str, List[np.ndarray]]:
    """Detections of one frame with true cues in place of the network's (see `--oracles`).

    Args:
        net: VisibleNet; out: its `VisibleOutput` for this one frame (batch 1).
        ids: int (H, W) true visible instance ids of the frame (0 = background).
        image: RGB uint8 (H, W, 3), the frame (guides outline refinement, `refine_radius`).

    Returns:
        {"network": masks, "true_foreground": ..., "true_centers": ..., "true_foreground_and_centers": ...}
        plus "foreground": [intersection, union] counts of the network's foreground (output resolution).
    """
    import torch

    from amodal.models.instances import decode_instances
    from amodal.models.visible import visible_targets

    size = tuple(out.fg.shape[-2:])
    tg = visible_targets(torch.from_numpy(ids.astype(np.int64))[None], size)
    true_fg = torch.where(tg["fg"][0], 8.0, -8.0)
    true_ctr = torch.where(tg["heat"][0] >= 1.0 - 1e-6, 8.0, -8.0)
    fg, ctr = out.fg[0, 0], out.center[0, 0]
    cues = {"network": (fg, ctr), "true_foreground": (true_fg, ctr), "true_centers": (fg, true_ctr),
            "true_foreground_and_centers": (true_fg, true_ctr)}
    params = net.decode_params()
    res: Dict[str, List[np.ndarray]] = {
        name: [inst.mask for inst in decode_instances(f, out.boundary[0, 0], c, out.offset[0], ids.shape, params, image)]
        for name, (f, c) in cues.items()}
    pred = (fg > 0).numpy()
    true = tg["fg"][0].numpy()
    res["foreground"] = [float((pred & true).sum()), float((pred | true).sum())]
    return res


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("annotations")
    parser.add_argument("checkpoint")
    parser.add_argument("--videos", type=int, default=16)
    parser.add_argument("--every", type=int, default=4)
    parser.add_argument("--min-pixels", type=int, default=50)
    parser.add_argument("--oracles", action="store_true", help="also score with true foreground / centers")
    args = parser.parse_args(argv)
    from amodal.api import AmodalPredictor
    from amodal.data.clips import read_video_frames
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
    names = ("network",) + (ORACLES if args.oracles else ())
    totals = {n: {"objects": 0.0, "detections": 0.0, "found": 0.0, "correct": 0.0, "best_iou_sum": 0.0} for n in names}
    fg_counts = [0.0, 0.0]
    for video in ds.videos[: args.videos]:
        tracks = ds.tracks(video.id)
        for t in range(0, video.length, args.every):
            # motion networks also see the frame before (none at a video's first frame, as in a stream)
            try:
                frames = read_video_frames(ds, video.id, (t - 1, t) if t else (t,))
            except AmodalError as exc:
                print(f"detection_quality: {exc} (frame images are needed)", file=sys.stderr)
                return 2
            image, previous = frames[-1], (frames[0] if t else None)
            visible = [tr.visible_mask(t) for tr in tracks]
            truth = [m for m in visible if m.sum() >= args.min_pixels]
            if args.oracles:
                ids = np.zeros(image.shape[:2], np.int32)
                for i, m in enumerate(visible):
                    ids[m] = i + 1
                found = oracle_detections(net, net.infer([image], None if previous is None else [previous]), ids, image)
                fg_counts = [a + b for a, b in zip(fg_counts, found.pop("foreground"))]
            else:
                found = {"network": [inst.mask for inst in net.predict_instances(image, previous=previous)]}
            for name in names:
                for key, value in frame_counts(truth, found[name]).items():
                    totals[name][key] += value
    result = summarize(totals["network"])
    if args.oracles:
        result["foreground_iou"] = round(fg_counts[0] / max(fg_counts[1], 1.0), 4)
        result["oracles"] = {name: summarize(totals[name]) for name in ORACLES}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
