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
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from amodal.data.converters.common import (
    ConversionResult, ConvertOptions, DatasetBuilder, copy_frames, load_json, progress_bar,
    index_by_id, require, require_int, require_str, rle_box_area, to_rle, video_name_from,
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


def _add_categories(builder: DatasetBuilder, data: Dict[str, Any], where: str) -> None:
    """Keep the JSON's category table (ids and names)."""
    for cat_id, cat in index_by_id(data.get("categories", []), "categories", where).items():
        builder.category(require_str(cat, "name", f"{where}: category {cat_id}"), cat_id)


def _frames_of(images: Dict[int, Dict[str, Any]], videos: Dict[int, Any],
               where: str) -> Dict[int, List[Dict[str, Any]]]:
    """Per video id, its images in `frame_index` order (a frame index given twice is refused)."""
    frames: Dict[int, List[Dict[str, Any]]] = {vid: [] for vid in videos}
    for img_id, img in images.items():
        iw = f"{where}: image {img_id}"
        vid = require_int(img, "video_id", iw)
        if vid not in videos:
            raise FormatError(f"{iw}: unknown video_id {vid!r}")
        require_int(img, "frame_index", iw, minimum=0)
        require_str(img, "file_name", iw)
        frames[vid].append(img)
    for vid, imgs in frames.items():
        imgs.sort(key=lambda im: im["frame_index"])
        for a, b in zip(imgs, imgs[1:]):
            if a["frame_index"] == b["frame_index"]:
                raise FormatError(f"{where}: images {a['id']} and {b['id']} of video {vid} "
                                  f"both have frame_index {a['frame_index']}")
    return frames


def _read_tracks(tracks: Dict[int, Dict[str, Any]], where: str) -> Dict[int, Tuple[Optional[int], int]]:
    """Per track id, (its `video_id` or None when it gives none, its `category_id`)."""
    out = {}
    for tid, tr in tracks.items():
        tw = f"{where}: track {tid}"
        vid = None if tr.get("video_id") is None else require_int(tr, "video_id", tw)
        out[tid] = (vid, require_int(tr, "category_id", tw))
    return out


def _group_tracks(track_info: Dict[int, Tuple[Optional[int], int]], boxes_of: Dict[int, Dict[int, Any]],
                  images: Dict[int, Dict[str, Any]], videos: Dict[int, Any], where: str) -> Dict[int, List[int]]:
    """Per video id, its track ids (a track without `video_id` is in its first image's video)."""
    by_video: Dict[int, List[int]] = {}
    for tid, (vid, _) in track_info.items():
        if vid is None and boxes_of[tid]:
            vid = images[next(iter(boxes_of[tid]))]["video_id"]
        if vid not in videos:
            raise FormatError(f"{where}: track {tid} has unknown video_id {vid!r}")
        by_video.setdefault(vid, []).append(tid)
    return by_video


def _boxes_of(anns: Any, images: Dict[int, Dict[str, Any]], track_info: Dict[int, Tuple[Optional[int], int]],
              where: str, drop_uncertain: bool) -> Dict[int, Dict[int, Tuple[Optional[Box], Optional[Box]]]]:
    """Per track id and image id, the (modal, amodal) boxes of the annotations."""
    if not isinstance(anns, list):
        raise FormatError(f"{where}: 'annotations' is not a list")
    boxes: Dict[int, Dict[int, Tuple[Optional[Box], Optional[Box]]]] = {tid: {} for tid in track_info}
    for i, ann in enumerate(anns):
        aw = f"{where}: annotations[{i}]"
        tid, img_id = require_int(ann, "track_id", aw), require_int(ann, "image_id", aw)
        if tid not in track_info:
            raise FormatError(f"{aw}: unknown track_id {tid!r}")
        if img_id not in images:
            raise FormatError(f"{aw}: unknown image_id {img_id!r}")
        if track_info[tid][0] not in (None, images[img_id]["video_id"]):
            raise FormatError(f"{aw}: image {img_id} and track {tid} are in different videos")
        modal = _box(ann.get("bbox"), f"{aw} 'bbox'", modal=True)
        amodal = _box(ann.get("amodal_bbox"), f"{aw} 'amodal_bbox'", modal=False)
        if drop_uncertain and ann.get("amodal_is_uncertain"):
            amodal = None
        boxes[tid][img_id] = (modal, amodal)
    return boxes


def _video_size(video: Dict[str, Any], first_image: Dict[str, Any], vid: int, where: str) -> Tuple[int, int]:
    """(width, height) of a video, from its entry or else from its first image."""
    size = []
    for key in ("width", "height"):
        if key in video:
            size.append(require_int(video, key, f"{where}: video {vid}", minimum=1))
        elif key in first_image:
            size.append(require_int(first_image, key, f"{where}: image {first_image['id']}", minimum=1))
        else:
            raise FormatError(f"{where}: video {vid} has no '{key}' (nor has its first image)")
    return size[0], size[1]


def convert(src: Path, opts: ConvertOptions, drop_uncertain: bool = False) -> ConversionResult:
    """Convert a TAO-Amodal JSON; with `drop_uncertain`, uncertain amodal boxes become null."""
    path = Path(src)
    if path.is_dir():
        raise FormatError(f"TAO-Amodal source {path} is a folder; give the annotation JSON file")
    data = load_json(path)
    where = str(path)
    videos = index_by_id(require(data, "videos", where), "videos", where)
    images = index_by_id(require(data, "images", where), "images", where)
    tracks = index_by_id(require(data, "tracks", where), "tracks", where)
    anns = require(data, "annotations", where)
    root = Path(opts.image_root) if opts.image_root is not None else path.parent

    builder = DatasetBuilder("tao")
    _add_categories(builder, data, where)
    cat_ids = {c["id"] for c in builder.categories}
    frames_of = _frames_of(images, videos, where)
    track_info = _read_tracks(tracks, where)
    boxes_of = _boxes_of(anns, images, track_info, where, drop_uncertain)
    tracks_by_video = _group_tracks(track_info, boxes_of, images, videos, where)

    result = ConversionResult(dataset={}, image_root=root)
    for vid in progress_bar(sorted(videos), opts.progress, "tao", len(videos)):
        imgs = frames_of[vid]
        if not imgs:
            result.notes.append(f"video {vid}: no images; skipped")
            continue
        v = videos[vid]
        width, height = _video_size(v, imgs[0], vid, where)
        file_names = [im["file_name"] for im in imgs]
        if opts.frames_out is not None:
            name = video_name_from(str(v.get("name", vid)))
            file_names = copy_frames(root, file_names, Path(opts.frames_out), name, opts.overwrite)
            result.frames_written += len(file_names)
        video_id = builder.add_video(file_names, width, height)
        for tid in sorted(tracks_by_video.get(vid, [])):
            cat = track_info[tid][1]
            if cat not in cat_ids:
                cat = builder.category(f"category_{cat}", cat)
            per = [boxes_of[tid].get(im["id"], (None, None)) for im in imgs]
            builder.add_track(video_id, cat, [None] * len(imgs), None, where=f"{where}: track {tid}",
                              bboxes=[p[0] for p in per], amodal_bboxes=[p[1] for p in per])
    if opts.frames_out is not None:
        result.image_root = Path(opts.frames_out)
    result.dataset = builder.to_dict(path)
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
