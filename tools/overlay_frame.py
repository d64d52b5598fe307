"""Render one overlay frame of an `amodal infer` result as a PNG (e.g. docs/images/overlay.png).

The frame is redrawn from the source video and `predictions.json` (no video compression
artefacts), optionally enlarged before drawing so lines stay crisp.

    python tools/overlay_frame.py data/sample/videos/00000.mp4 outputs/demo/predictions.json \
        --out docs/images/overlay.png --frame auto --scale 2

`--frame auto` picks the frame with the largest hidden (amodal minus visible) area.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional

import numpy as np


def build_result(tracks: list, t: int, scale: float = 1.0):
    """`FrameResult` of frame `t` from prediction tracks (masks bool (N, H, W), enlarged by `scale`)."""
    import cv2

    from amodal.types import FrameResult

    present = [p for p in tracks if t < len(p.segmentations) and p.segmentations[t] is not None]
    ids = [int(p.track_id) for p in present]

    def grow(m: np.ndarray) -> np.ndarray:
        if scale == 1.0:
            return m
        return cv2.resize(m.astype(np.uint8), None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST) > 0

    vis = [grow(p.visible_mask(t)) for p in present]
    amo = [grow(p.amodal_mask(t)) if p.amodal_segmentations is not None else v for p, v in zip(present, vis)]
    h, w = (vis[0].shape if vis else (0, 0))
    ranks = [p.depth_ranks[t] if p.depth_ranks and p.depth_ranks[t] is not None else 10**6 for p in present]
    order = [oid for _, oid in sorted(zip(ranks, ids))]
    occ = [p.occlusion[t] if p.occlusion and p.occlusion[t] is not None else 0.0 for p in present]
    empty = np.zeros((0, h, w), bool)
    return FrameResult(t, ids, np.stack(vis) if vis else empty, np.stack(amo) if amo else empty,
                       np.array([p.score for p in present]), np.array(occ, dtype=np.float32), order)


def most_hidden_frame(tracks: list) -> int:
    """Index of the frame with the largest total hidden area (estimated from occlusion rates)."""
    from amodal.utils.masks import rle_area

    length = max((len(p.segmentations) for p in tracks), default=0)
    hidden = np.zeros(max(length, 1))
    for p in tracks:
        if p.amodal_segmentations is None:
            continue
        for t, rle in enumerate(p.amodal_segmentations):
            if rle is not None and p.segmentations[t] is not None:
                hidden[t] += rle_area(rle) - rle_area(p.segmentations[t])
    return int(np.argmax(hidden))


def read_frame(source: str, t: int) -> np.ndarray:
    """RGB uint8 (H, W, 3) frame `t` of a video file or frame folder."""
    from amodal.data.readers import open_source
    from amodal.errors import VideoReadError

    with open_source(source) as src:
        for frame in src:
            if frame.index == t:
                return frame.image
    raise VideoReadError(f"{source} has no frame {t}")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", help="the video file or frame folder given to `amodal infer`")
    parser.add_argument("predictions", help="its predictions.json")
    parser.add_argument("--out", required=True, help="PNG file to write")
    parser.add_argument("--frame", default="auto", help="frame index, or 'auto' (most hidden area)")
    parser.add_argument("--scale", type=float, default=1.0, help="enlarge the frame before drawing (e.g. 2)")
    args = parser.parse_args(argv)

    import cv2

    from amodal.data.format import load_predictions
    from amodal.errors import AmodalError
    from amodal.utils.files import atomic_write_bytes
    from amodal.viz.overlay import draw_overlay

    try:
        tracks = load_predictions(args.predictions)
        t = most_hidden_frame(tracks) if args.frame == "auto" else int(args.frame)
        image = read_frame(args.source, t)
        if args.scale != 1.0:
            image = cv2.resize(image, None, fx=args.scale, fy=args.scale, interpolation=cv2.INTER_CUBIC)
        result = build_result(tracks, t, args.scale)
        if result.num_objects and result.visible.shape[1:] != image.shape[:2]:
            raise AmodalError(f"{args.predictions} masks are {result.visible.shape[2]}x{result.visible.shape[1]}, "
                              f"the frames of {args.source} {image.shape[1]}x{image.shape[0]}")
        ok, buf = cv2.imencode(".png", cv2.cvtColor(draw_overlay(image, result), cv2.COLOR_RGB2BGR))
        if not ok:
            raise AmodalError(f"cannot encode {args.out}")
        atomic_write_bytes(Path(args.out), buf.tobytes())
    except (AmodalError, ValueError) as exc:
        print(f"overlay_frame: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote frame {t} to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
