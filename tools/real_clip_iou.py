"""How well `amodal infer` found the annotated objects of a clip that has visible masks only.

Real footage (e.g. the clips of ../shared/real-clips) comes with visible masks of a few objects
and no amodal truth. Looking at overlays says what goes wrong; this gives the number to follow.
Per annotated object:

- `track_iou`: the best predicted track's mean visible IoU over the frames where either of them is
  present (the end-to-end matching score of `amodal eval`, KINS-Video-Car protocol: a track
  matches at >= 0.5), and which track that is;
- `frame_best_iou`: per frame where the object is visible, the best IoU of any track, averaged
  (what the visible-mask network finds, whatever the tracker's identities).

Run on one video (one frame folder, one mask folder of instance-id PNGs as `--visible-masks` reads
them, and the predictions of `amodal infer` on those frames):

    amodal infer CLIP/frames --out OUT --no-video
    python tools/real_clip_iou.py CLIP/masks OUT/predictions.json [--json result.json]
"""
from __future__ import annotations

import argparse
import sys
from typing import Dict, List, Optional, Sequence

import numpy as np

RLE = Dict[str, object]


def frame_best_iou(truth: Sequence[Optional[RLE]], tracks: Sequence[Sequence[Optional[RLE]]]) -> float:
    """Mean over the frames where `truth` is present of the best IoU of any track's mask there
    (0 for a frame no track covers); NaN when the object is never present."""
    from pycocotools import mask as mask_utils

    from amodal.eval.matching import present_rle

    scores = []
    for t in range(len(truth)):
        g = present_rle(truth, t)
        if g is None:
            continue
        found = [r for r in (present_rle(p, t) for p in tracks) if r is not None]
        scores.append(float(np.max(mask_utils.iou(found, [g], [0]))) if found else 0.0)
    return float(np.mean(scores)) if scores else float("nan")


def score_clip(masks, tracks) -> List[Dict[str, object]]:
    """Scores of every annotated object.

    Args:
        masks: per-frame `{object id: bool (H, W)}` (a `VisibleMaskSequence` or a list).
        tracks: `PredictionTrack`s of the clip's one video, masks of the same size.

    Returns:
        One dict per annotated object, in id order: object, frames (present), tracks (predicted),
        best_track (None without tracks), track_iou, frame_best_iou.
    """
    from amodal.errors import InputError
    from amodal.eval.matching import mean_visible_iou
    from amodal.utils.masks import encode_rle

    length = len(masks)
    frames = [masks[t] for t in range(length)]
    first = next((m for f in frames for m in f.values()), None)
    for p in tracks:
        if len(p.segmentations) != length:
            raise InputError(f"prediction track {p.track_id} has {len(p.segmentations)} frames, the masks {length}")
        if first is not None and (p.height, p.width) != first.shape:
            raise InputError(f"predictions are {p.width}x{p.height}, the masks {first.shape[1]}x{first.shape[0]}")
    ids = sorted({k for f in frames for k in f})
    truth = {k: [encode_rle(f[k]) if k in f and f[k].any() else None for f in frames] for k in ids}
    pred = {p.track_id: p.segmentations for p in tracks}
    gt_ids, pred_ids, iou = mean_visible_iou(truth, pred, length)
    out = []
    for i, k in enumerate(gt_ids):
        best = int(np.argmax(iou[i])) if pred_ids else None
        out.append({"object": int(k), "frames": sum(r is not None for r in truth[k]), "tracks": len(pred_ids),
                    "best_track": None if best is None else int(pred_ids[best]),
                    "track_iou": round(float(iou[i, best]), 4) if best is not None else 0.0,
                    "frame_best_iou": round(frame_best_iou(truth[k], list(pred.values())), 4)})
    return out


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("masks", help="folder of instance-id PNG masks, one per frame")
    parser.add_argument("predictions", help="predictions.json written by `amodal infer` on the same frames")
    parser.add_argument("--json", help="also write the result to this file")
    args = parser.parse_args(argv)
    from amodal.data.format import load_predictions
    from amodal.inference.visible_inputs import load_visible_masks
    from amodal.utils.files import run_json_tool

    def compute():
        masks = load_visible_masks(args.masks)
        tracks = load_predictions(args.predictions)
        videos = {p.video_id for p in tracks}
        if len(videos) > 1:
            raise ValueError(f"{args.predictions} holds {len(videos)} videos; give the predictions of one clip")
        return score_clip(masks, tracks)

    return run_json_tool("real_clip_iou", compute, args.json)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
