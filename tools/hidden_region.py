"""Where a checkpoint's completion loses: the hidden region, given the true visible masks.

Runs the streaming session over the first `--videos` videos of a native dataset with amodal truth,
the visible masks given (the SaVos protocol), and per object-frame compares the prediction with
the hidden region H = amodal truth minus visible mask:

- full and strict occluded mIoU (as `amodal eval`, object-frames averaged) at several decision
  thresholds (`--thresholds`, probabilities; the session's logits are re-thresholded, so one run
  serves all), to see whether the network is calibrated;
- at the checkpoint's own threshold: the share of H recovered (recall) and of the predicted
  hidden pixels that are in H (precision), per occlusion rate and per occlusion age (frames
  since the object was last less than 10 % occluded).

Evaluation only (it reads amodal masks). Use it on the validation split.

    python tools/hidden_region.py work_data/synth/val/annotations.json CKPT [--videos 30] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Dict, List, Sequence

import numpy as np

from amodal.utils.masks import mask_iou

RATE_BUCKETS = ((0.0, 0.1), (0.1, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 1.01))
AGE_BUCKETS = ((0, 1), (1, 2), (2, 4), (4, 8), (8, 10 ** 9))
OCCLUDED = 0.1  # an object more hidden than this is "occluded" for the age count


def object_frame(gt: np.ndarray, vis: np.ndarray, others: np.ndarray, logits: np.ndarray,
                 cuts: Sequence[float], own_cut: float) -> Dict[str, object]:
    """Scores of one object-frame (bool (H, W) masks, float logits (H, W)).

    Returns: rate (hidden share of the amodal truth), full (IoU per cut), occ (strict occluded IoU
    per cut, None when nothing is hidden), and at `own_cut` the counts hit / hidden / predicted.
    """
    hidden = gt & ~vis
    full: List[float] = []
    occ: List[float] = []
    for cut in cuts:
        extra = (logits > cut) & others
        pred = vis | extra
        full.append(mask_iou(pred, gt))
        if hidden.any():
            occ.append(mask_iou(extra & ~vis, hidden))
    extra = (logits > own_cut) & others & ~vis
    return {"rate": float(hidden.sum() / max(gt.sum(), 1)), "full": full, "occ": occ if hidden.any() else None,
            "hit": int((extra & hidden).sum()), "hidden": int(hidden.sum()), "predicted": int(extra.sum())}


def summarize(records: List[Dict[str, object]], thresholds: Sequence[float]) -> Dict[str, object]:
    """Thresholds table, and recall / precision / occluded IoU at the own threshold per bucket.

    records: `object_frame` results with an added "age" (int) and "own" (index of the own cut in
    the thresholds, whose occ IoU the buckets report).
    """
    out: Dict[str, object] = {"object_frames": len(records)}
    occ_recs = [r for r in records if r["occ"] is not None]
    out["thresholds"] = [{"threshold": th, "full_miou": _mean([r["full"][i] for r in records]),
                          "occluded_miou": _mean([r["occ"][i] for r in occ_recs])} for i, th in enumerate(thresholds)]

    def bucket(sel: List[Dict[str, object]]) -> Dict[str, object]:
        own = [r["occ"][r["own"]] for r in sel]
        return {"object_frames": len(sel), "occluded_miou": _mean(own),
                "recall": _mean([r["hit"] / r["hidden"] for r in sel]),
                "precision": _mean([r["hit"] / r["predicted"] if r["predicted"] else 0.0 for r in sel])}

    out["hidden"] = bucket(occ_recs)
    out["by_occlusion"] = {f"{lo:.1f}-{min(hi, 1.0):.1f}": bucket([r for r in occ_recs if lo <= r["rate"] < hi])
                           for lo, hi in RATE_BUCKETS}
    out["by_age"] = {(f"{lo}" if hi == lo + 1 else f"{lo}-{hi - 1}" if hi < 10 ** 9 else f">={lo}"):
                     bucket([r for r in occ_recs if lo <= r["age"] < hi]) for lo, hi in AGE_BUCKETS}
    return out


def _mean(xs: Sequence[float]) -> float:
    return round(100.0 * float(np.mean(xs)), 2) if len(xs) else float("nan")


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("annotations")
    parser.add_argument("checkpoint")
    parser.add_argument("--videos", type=int, default=30)
    parser.add_argument("--thresholds", default="0.2,0.27,0.38,0.5,0.62,0.73",
                        help="comma-separated amodal probabilities (the checkpoint's own is added)")
    parser.add_argument("--json", help="also write the summary here")
    args = parser.parse_args(argv)
    from amodal.data.clips import read_video_frames
    from amodal.data.format import load_dataset
    from amodal.engine.checkpoint import load_model
    from amodal.errors import AmodalError
    from amodal.inference.session import AmodalSession
    from amodal.models.completion import check_threshold, threshold_logit

    try:
        given = [float(x) for x in args.thresholds.split(",") if x.strip()]
        thresholds = sorted({check_threshold(p, "--thresholds") for p in given})
        if args.videos < 1 or not thresholds:
            raise ValueError("--videos must be >= 1 and --thresholds must list probabilities in (0, 1)")
        model, cfg = load_model(args.checkpoint)
        ds = load_dataset(args.annotations, read_amodal=True)
        if not ds.has_amodal:
            raise ValueError(f"{args.annotations}: needs amodal masks on every track")
    except (AmodalError, ValueError) as exc:
        print(f"hidden_region: {exc}", file=sys.stderr)
        return 2
    own = cfg.model.completion.threshold
    thresholds = sorted(set(thresholds) | {own})
    cuts = [threshold_logit(cfg.model.completion, p) for p in thresholds]
    records: List[Dict[str, object]] = []
    try:
        for video in ds.videos[: args.videos]:
            tracks = {tr.id: tr for tr in ds.tracks(video.id)}
            session = AmodalSession(model, max_objects=max(len(tracks), 1))
            age: Dict[int, int] = {}
            for t, image in enumerate(read_video_frames(ds, video.id, range(video.length))):
                vis = {k: tr.visible_mask(t) for k, tr in tracks.items()}
                raw = session.step_raw(image, {k: v for k, v in vis.items() if v.any()})
                for i, oid in enumerate(raw.ids):
                    gt = tracks[oid].amodal_mask(t)
                    if not gt.any():
                        continue
                    rec = object_frame(gt, raw.visible[i], raw.others[i], raw.logits[i], cuts, session.cut)
                    age[oid] = age.get(oid, 0) + 1 if rec["rate"] > OCCLUDED else 0
                    rec.update(age=age[oid], own=thresholds.index(own))
                    records.append(rec)
    except AmodalError as exc:
        print(f"hidden_region: {exc}", file=sys.stderr)
        return 2
    summary = {"checkpoint": str(args.checkpoint), "videos": min(args.videos, len(ds.videos)), "own_threshold": own,
               **summarize(records, thresholds)}
    text = json.dumps(summary, indent=2)
    print(text)
    if args.json:
        from amodal.utils.files import atomic_write_text

        atomic_write_text(args.json, text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
