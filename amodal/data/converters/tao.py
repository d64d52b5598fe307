"""TAO-Amodal -> native (boxes only), and amodal box scoring.

SRC is a TAO-Amodal annotation JSON (TAO/LVIS style):
    "videos": [{id, name, width, height}], "images": [{id, video_id, frame_index, file_name, ...}],
    "tracks": [{id, video_id, category_id}], "categories": [{id, name}],
    "annotations": [{image_id, track_id, bbox (modal), amodal_bbox, amodal_is_uncertain, visibility}]
Each video's frames are its annotated images in `frame_index` order (TAO labels about 1 frame
per second), referenced by their `file_name` under the TAO frames root (the image root;
default: the JSON's folder). Masks are null; `bboxes` hold the modal boxes (null when the
object is invisible: no box or zero size), `amodal_bboxes` the amodal ones, areas are box areas.
These data are scored by box IoU (`score_boxes`), not mask IoU.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from amodal.data.converters.common import (
    ConversionResult, ConvertOptions, DatasetBuilder, copy_frames, load_json, progress_bar,
    require, rle_box_area, to_rle, video_name_from,
)
from amodal.errors import FormatError

Box = List[float]


def _box(value: Any, where: str, modal: bool) -> Optional[Box]:
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or len(value) != 4:
        raise FormatError(f"{where}: expected [x, y, w, h], got {value!r}")
    try:
        box = [float(v) for v in value]
    except (TypeError, ValueError):
        raise FormatError(f"{where}: box {value!r} has non-numbers") from None
    if not all(math.isfinite(v) for v in box):
        raise FormatError(f"{where}: box {value!r} is not finite")
    if box[2] <= 0 or box[3] <= 0:
        if modal:
            return None  # invisible object: no modal extent
        raise FormatError(f"{where}: amodal box {value!r} has no area")
    return box


def _index(items: Any, key: str, where: str) -> Dict[Any, Dict[str, Any]]:
    if not isinstance(items, list):
        raise FormatError(f"{where}: '{key}' is not a list")
    out = {}
    for i, item in enumerate(items):
        out[require(item, "id", f"{where}: {key}[{i}]")] = item
    return out


def convert(src: Path, opts: ConvertOptions, drop_uncertain: bool = False) -> ConversionResult:
    """Convert a TAO-Amodal JSON; with `drop_uncertain`, uncertain amodal boxes become null."""
    path = Path(src)
    if path.is_dir():
        raise FormatError(f"TAO-Amodal source {path} is a folder; give the annotation JSON file")
    data = load_json(path)
    where = str(path)
    videos = _index(require(data, "videos", where), "videos", where)
    images = _index(require(data, "images", where), "images", where)
    tracks = _index(require(data, "tracks", where), "tracks", where)
    anns = require(data, "annotations", where)
    if not isinstance(anns, list):
        raise FormatError(f"{where}: 'annotations' is not a list")
    root = Path(opts.image_root) if opts.image_root is not None else path.parent

    builder = DatasetBuilder("tao")
    for i, cat in enumerate(data.get("categories", [])):
        builder.category(str(require(cat, "name", f"{where}: categories[{i}]")),
                         int(require(cat, "id", f"{where}: categories[{i}]")))
    cat_ids = {c["id"] for c in builder.categories}

    frames_of: Dict[Any, List[Dict[str, Any]]] = {vid: [] for vid in videos}
    for img_id, img in images.items():
        iw = f"{where}: image {img_id}"
        vid = require(img, "video_id", iw)
        if vid not in videos:
            raise FormatError(f"{iw}: unknown video_id {vid!r}")
        require(img, "frame_index", iw)
        require(img, "file_name", iw)
        frames_of[vid].append(img)
    boxes_of: Dict[Any, Dict[Any, tuple]] = {tid: {} for tid in tracks}
    for i, ann in enumerate(anns):
        aw = f"{where}: annotations[{i}]"
        tid, img_id = require(ann, "track_id", aw), require(ann, "image_id", aw)
        if tid not in tracks:
            raise FormatError(f"{aw}: unknown track_id {tid!r}")
        if img_id not in images:
            raise FormatError(f"{aw}: unknown image_id {img_id!r}")
        if images[img_id]["video_id"] != tracks[tid].get("video_id", images[img_id]["video_id"]):
            raise FormatError(f"{aw}: image {img_id} and track {tid} are in different videos")
        modal = _box(ann.get("bbox"), f"{aw} 'bbox'", modal=True)
        amodal = _box(ann.get("amodal_bbox"), f"{aw} 'amodal_bbox'", modal=False)
        if drop_uncertain and ann.get("amodal_is_uncertain"):
            amodal = None
        boxes_of[tid][img_id] = (modal, amodal)

    result = ConversionResult(dataset={}, image_root=root)
    tracks_by_video: Dict[Any, List[Any]] = {}
    for tid, tr in tracks.items():
        vid = tr.get("video_id")
        if vid is None and boxes_of[tid]:
            vid = images[next(iter(boxes_of[tid]))]["video_id"]
        if vid not in videos:
            raise FormatError(f"{where}: track {tid} has unknown video_id {vid!r}")
        tracks_by_video.setdefault(vid, []).append(tid)
    for vid in progress_bar(sorted(videos), opts.progress, "tao", len(videos)):
        imgs = sorted(frames_of[vid], key=lambda im: im["frame_index"])
        if not imgs:
            result.notes.append(f"video {vid}: no images; skipped")
            continue
        v = videos[vid]
        width, height = int(v.get("width", imgs[0].get("width", 0))), int(v.get("height", imgs[0].get("height", 0)))
        if width <= 0 or height <= 0:
            raise FormatError(f"{where}: video {vid} has no width/height")
        file_names = [str(im["file_name"]) for im in imgs]
        if opts.frames_out is not None:
            name = video_name_from(str(v.get("name", vid)))
            file_names = copy_frames(root, file_names, Path(opts.frames_out), name, opts.overwrite)
            result.frames_written += len(file_names)
        video_id = builder.add_video(file_names, width, height)
        for tid in sorted(tracks_by_video.get(vid, [])):
            cat = int(require(tracks[tid], "category_id", f"{where}: track {tid}"))
            if cat not in cat_ids:
                cat = builder.category(f"category_{cat}", cat)
            per = [boxes_of[tid].get(im["id"], (None, None)) for im in imgs]
            builder.add_track(video_id, cat, [None] * len(imgs), None, where=f"{where}: track {tid}",
                              bboxes=[p[0] for p in per], amodal_bboxes=[p[1] for p in per])
    if opts.frames_out is not None:
        result.image_root = Path(opts.frames_out)
    result.dataset = builder.to_dict()
    return result


# ----------------------------------------------------------------------------- scoring


def box_iou(a: Optional[Sequence[float]], b: Optional[Sequence[float]]) -> float:
    """IoU of two [x, y, w, h] boxes; 0 when either is None or both are empty."""
    if a is None or b is None:
        return 0.0
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return float(inter / union) if union > 0 else 0.0


def _pred_boxes(pred: Dict[str, Any], i: int) -> List[Optional[Box]]:
    if pred.get("amodal_bboxes") is not None:
        return [None if b is None else [float(v) for v in b] for b in pred["amodal_bboxes"]]
    if pred.get("amodal_segmentations") is not None:
        return [None if r is None else rle_box_area(to_rle(r, f"prediction {i} frame {t}"))[0]
                for t, r in enumerate(pred["amodal_segmentations"])]
    raise FormatError(f"prediction {i}: needs 'amodal_bboxes' or 'amodal_segmentations'")


def score_boxes(gt_dataset: Dict[str, Any], pred_tracks: Sequence[Dict[str, Any]]) -> Dict[str, float]:
    """Mean amodal box IoU over ground-truth object-frames.

    Per video, predicted tracks are matched one-to-one to ground-truth tracks (Hungarian, on
    the summed amodal box IoU over the ground truth's boxed frames). Every ground-truth
    object-frame with an amodal box counts once: IoU with its matched track's box on that
    frame, 0 when unmatched or the prediction has no box there.

    Args:
        gt_dataset: native dict (e.g. from `convert`), with `amodal_bboxes` per track.
        pred_tracks: dicts with `video_id` and per-frame `amodal_bboxes` ([x, y, w, h] or None)
            or `amodal_segmentations` (RLE or None), one entry per frame of the video.

    Returns:
        {"amodal_box_iou": mean (nan without object-frames), "object_frames": n,
         "gt_tracks": tracks with a box, "matched_tracks": matches with IoU > 0}.
    """
    from scipy.optimize import linear_sum_assignment

    lengths = {v["id"]: v["length"] for v in gt_dataset["videos"]}
    preds: Dict[Any, List[List[Optional[Box]]]] = {}
    for i, p in enumerate(pred_tracks):
        vid = require(p, "video_id", f"prediction {i}")
        if vid not in lengths:
            raise FormatError(f"prediction {i}: unknown video_id {vid!r}")
        boxes = _pred_boxes(p, i)
        if len(boxes) != lengths[vid]:
            raise FormatError(f"prediction {i}: {len(boxes)} frames, video {vid} has {lengths[vid]}")
        preds.setdefault(vid, []).append(boxes)
    total, count, gt_tracks, matched = 0.0, 0, 0, 0
    by_video: Dict[Any, List[List[Optional[Box]]]] = {}
    for ann in gt_dataset["annotations"]:
        boxes = ann.get("amodal_bboxes") or []
        if any(b is not None for b in boxes):
            by_video.setdefault(ann["video_id"], []).append(boxes)
    for vid, gts in by_video.items():
        gt_tracks += len(gts)
        count += sum(b is not None for g in gts for b in g)
        cands = preds.get(vid, [])
        if not cands:
            continue
        # ious[g, p, t]: per frame IoU (0 where the ground truth has no box)
        ious = np.array([[[box_iou(gb, pb) if gb is not None else 0.0 for gb, pb in zip(g, p)]
                          for p in cands] for g in gts])
        sums = ious.sum(axis=2)
        rows, cols = linear_sum_assignment(-sums)
        for r, c in zip(rows, cols):
            if sums[r, c] > 0:
                total += float(sums[r, c])
                matched += 1
    mean = total / count if count else float("nan")
    return {"amodal_box_iou": mean, "object_frames": count, "gt_tracks": gt_tracks, "matched_tracks": matched}
