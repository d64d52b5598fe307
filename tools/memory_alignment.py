"""How faithfully the per-object motions carry a memory entry forward, measured on amodal truth.

The shape memory moves each past entry of an object to the current frame by composing the
object's motions frame by frame (`amodal.models.alignment`: a similarity fitted to optical flow, dense DIS
or sparse Lucas-Kanade, inside the visible mask). This tool takes every occluded object-frame t (occlusion above
`--min-occlusion`) and, for each lag k, moves the object's *true amodal* mask of frame t - k to
frame t with the composed motions, and reports its mean IoU with the true amodal mask of frame t
(`motion`), beside two references: the mask left where it was (`none`) and moved by the true shift
of its centroid (`centroid`, an oracle without rotation or deformation). Motions are measured with
`--width` / `--preset` exactly as the session does (`model.completion.motion_width` /
`motion_preset`).

    python tools/memory_alignment.py DATA/annotations.json [--videos N] [--width 320] [--preset lk]
        [--lags 1,4,8] [--json result.json]
"""
from __future__ import annotations

import argparse
import sys
from typing import Dict, List, Optional, Sequence

import numpy as np

from amodal.models.alignment import DEFAULT_PRESET, DEFAULT_WIDTH, MOTION_PRESETS, check_motion_flow


def _centroid_shift(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(src)
    yt, xt = np.nonzero(dst)
    return np.array([[1.0, 0.0, xt.mean() - xs.mean()], [0.0, 1.0, yt.mean() - ys.mean()]])


def alignment_scores(dataset, width: int = DEFAULT_WIDTH, preset: str = DEFAULT_PRESET, lags: Sequence[int] = (1, 4, 8),
                     videos: Optional[int] = None, min_occlusion: float = 0.1) -> Dict[str, Dict[str, float]]:
    """{"lag K": {"pairs", "motion", "none", "centroid"}} over the first `videos` videos of an
    `AmodalDataset` read with amodal masks."""
    from amodal.data.clips import read_video_frames
    from amodal.models.alignment import compose, moved_mask, track_motions
    from amodal.utils.masks import mask_iou

    sums = {k: np.zeros(3) for k in lags}
    counts = {k: 0 for k in lags}
    for video in dataset.videos[:videos]:
        tracks = dataset.tracks(video.id)
        if not tracks or video.length < 2:
            continue
        frames = read_video_frames(dataset, video.id, range(video.length))
        visible = np.stack([np.stack([tr.visible_mask(t) for t in range(video.length)]) for tr in tracks])
        motions = track_motions(frames, visible, width, preset)  # [k, t]: frame t -> t + 1
        for i, tr in enumerate(tracks):
            amodal = [tr.amodal_mask(t) for t in range(video.length)]
            for t in range(1, video.length):
                area = amodal[t].sum()
                if area == 0 or 1.0 - visible[i, t].sum() / area <= min_occlusion:
                    continue
                for k in lags:
                    s = t - k
                    if s < 0 or not amodal[s].any():
                        continue
                    m = np.eye(3)
                    for u in range(s, t):
                        m = compose(motions[i, u], m)
                    sums[k] += (mask_iou(moved_mask(amodal[s], m), amodal[t]), mask_iou(amodal[s], amodal[t]),
                                mask_iou(moved_mask(amodal[s], _centroid_shift(amodal[s], amodal[t])), amodal[t]))
                    counts[k] += 1
    return {f"lag {k}": {"pairs": counts[k], **{name: round(float(v / max(counts[k], 1)), 4)
                                                for name, v in zip(("motion", "none", "centroid"), sums[k])}}
            for k in lags}


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("annotations", help="native annotations with amodal masks (and their frames)")
    parser.add_argument("--videos", type=int, default=None, help="only the first N videos")
    parser.add_argument("--width", type=int, default=DEFAULT_WIDTH, help="flow on frames reduced to at most this wide")
    parser.add_argument("--preset", default=DEFAULT_PRESET, help=f"flow method: one of {', '.join(MOTION_PRESETS)}")
    parser.add_argument("--lags", default="1,4,8", help="comma-separated frame lags")
    parser.add_argument("--min-occlusion", type=float, default=0.1, help="object-frames more occluded than this")
    parser.add_argument("--json", help="also write the result to this file")
    args = parser.parse_args(argv)
    from amodal.data.format import load_dataset
    from amodal.utils.files import run_json_tool

    def compute():
        lags = [int(x) for x in args.lags.split(",")]
        if not lags or min(lags) < 1:
            raise ValueError(f"--lags must be positive integers, got {args.lags!r}")
        check_motion_flow(args.width, args.preset, ("--width", "--preset"))
        dataset = load_dataset(args.annotations, read_amodal=True, check_files=False)
        if not dataset.has_amodal:
            raise ValueError(f"{args.annotations}: every object needs amodal masks")
        return alignment_scores(dataset, args.width, args.preset, lags, args.videos, args.min_occlusion)

    return run_json_tool("memory_alignment", compute, args.json)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
