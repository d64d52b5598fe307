"""Glue between datasets, predictions, models and the evaluator.

- `score_predictions`: feeds a dataset (loaded WITH amodal masks) and prediction tracks to an
  `AmodalEvaluator`, frame by frame (masks decoded one frame at a time).
- `run_model`: runs a model on the videos of a dataset loaded WITHOUT amodal masks and returns
  prediction tracks. The model never sees amodal ground truth.

Dataset and prediction objects follow `amodal.data.format` (`AmodalDataset`, `VideoRecord`,
`ObjectTrack`, `PredictionTrack`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence

import numpy as np

from amodal.errors import FormatError, InputError
from amodal.eval.baselines import ModelRunner
from amodal.eval.evaluator import AmodalEvaluator
from amodal.eval.matching import match_tracks
from amodal.utils.masks import decode_rle, encode_rle


def _at(seq: Optional[Sequence[Any]], t: int) -> Any:
    if seq is None or t >= len(seq):
        return None
    return seq[t]


def _decode(rle: Any, size: tuple, where: str) -> Optional[np.ndarray]:
    if rle is None:
        return None
    try:
        mask = decode_rle(rle)
    except Exception as exc:  # malformed RLE from a user file
        raise FormatError(f"{where}: cannot decode RLE ({exc})") from exc
    if mask.shape != size:
        raise FormatError(f"{where}: mask size {list(mask.shape)} differs from the video's {list(size)}")
    return mask


def _group_predictions(dataset: Any, predictions: Iterable[Any], source: str) -> Dict[str, List[Any]]:
    known = {str(v.id) for v in dataset.videos}
    by_video: Dict[str, List[Any]] = {}
    for p in predictions:
        vid = str(p.video_id)
        if vid not in known:
            raise FormatError(f"{source}: prediction for unknown video {p.video_id!r} (track {p.track_id})")
        if p.amodal_segmentations is None:
            raise FormatError(f"{source}: track {p.track_id} of video {p.video_id!r} has no amodal_segmentations")
        by_video.setdefault(vid, []).append(p)
    return by_video


def score_predictions(
    dataset: Any,
    predictions: Iterable[Any],
    given_visible: bool,
    evaluator: Optional[AmodalEvaluator] = None,
    match_threshold: float = 0.5,
    video_ids: Optional[Iterable[str]] = None,
    source: str = "predictions",
) -> AmodalEvaluator:
    """Score prediction tracks against a dataset with amodal ground truth.

    Args:
        dataset: `AmodalDataset` loaded with read_amodal=True.
        predictions: `PredictionTrack`s (RLE lists per frame).
        given_visible: match by track_id == gt annotation id (else end to end: visible-IoU
            matching, see `amodal.eval.matching`; only matched objects are scored).
        evaluator: evaluator to add to (a new default one if None).
        match_threshold: minimum mean visible IoU of an end-to-end match.
        video_ids: restrict to these videos (default: every video of the dataset).
        source: name of the prediction file, for error messages.

    Returns:
        The evaluator.
    """
    ev = evaluator if evaluator is not None else AmodalEvaluator()
    by_video = _group_predictions(dataset, predictions, source)
    wanted = None if video_ids is None else {str(v) for v in video_ids}
    for video in dataset.videos:
        vid = str(video.id)
        if wanted is not None and vid not in wanted:
            continue
        size = (int(video.height), int(video.width))
        tracks = list(dataset.tracks(video.id))
        preds = by_video.get(vid, [])
        pred_by_id: Dict[int, Any] = {}
        for p in preds:
            if p.track_id in pred_by_id:
                raise FormatError(f"{source}: video {vid!r} has two tracks with id {p.track_id}")
            pred_by_id[p.track_id] = p
        if given_visible:
            gt_ids = {t.id for t in tracks}
            for tid in pred_by_id:
                if tid not in gt_ids:
                    raise FormatError(f"{source}: video {vid!r} track_id {tid} is not a ground-truth annotation "
                                      f"id (--given-visible matches track_id to annotation id)")
            pairs = {t.id: t.id for t in tracks if t.id in pred_by_id}
            score_ids = [t.id for t in tracks]
        else:
            result = match_tracks({t.id: t.segmentations for t in tracks},
                                  {k: (p.segmentations or []) for k, p in pred_by_id.items()},
                                  int(video.length), match_threshold)
            ev.add_matching(len(tracks), len(result.pairs), len(result.missed), len(result.false_positives))
            pairs = result.pairs
            score_ids = list(pairs)
        has_visible = any(s is not None for p in pairs.values() for s in (pred_by_id[p].segmentations or []))
        has_depth = any(r is not None for p in pairs.values() for r in (pred_by_id[p].depth_ranks or []))
        for t in range(int(video.length)):
            gt_vis, gt_am, pr_am, pr_vis, pr_depth = {}, {}, {}, {}, {}
            for tr in tracks:
                where = f"ground truth video {vid!r} object {tr.id} frame {t}"
                gt_vis[tr.id] = _decode(_at(tr.segmentations, t), size, where)
                gt_am[tr.id] = _decode(_at(tr.amodal_segmentations, t), size, where)
                if tr.id in pairs:
                    p = pred_by_id[pairs[tr.id]]
                    where = f"{source}: video {vid!r} track {p.track_id} frame {t}"
                    pr_am[tr.id] = _decode(_at(p.amodal_segmentations, t), size, where)
                    pr_vis[tr.id] = _decode(_at(p.segmentations, t), size, where)
                    pr_depth[tr.id] = _at(p.depth_ranks, t)
            if not tracks:
                continue
            gt_vis = {k: (m if m is not None else np.zeros(size, bool)) for k, m in gt_vis.items()}
            ev.process(vid, t, gt_vis, gt_am, pr_am, pr_vis if has_visible else None, score_ids=score_ids,
                       pred_depth=pr_depth if has_depth else None)
    return ev


def gt_visible_prompts(dataset: Any, video: Any) -> List[Dict[int, np.ndarray]]:
    """Per frame {gt track id: bool (H, W) visible mask}, non-empty masks only."""
    size = (int(video.height), int(video.width))
    tracks = list(dataset.tracks(video.id))
    out: List[Dict[int, np.ndarray]] = []
    for t in range(int(video.length)):
        frame: Dict[int, np.ndarray] = {}
        for tr in tracks:
            m = _decode(_at(tr.segmentations, t), size, f"ground truth video {video.id!r} object {tr.id} frame {t}")
            if m is not None and m.any():
                frame[tr.id] = m
        out.append(frame)
    return out


def _accumulate(video: Any, results: Iterable[Any], categories: Dict[int, int], make_track: Callable[..., Any]) -> List[Any]:
    length = int(video.length)
    size = (int(video.height), int(video.width))
    per: Dict[int, Dict[str, list]] = {}
    for res in results:
        t = int(res.frame_index)
        if not 0 <= t < length:
            raise InputError(f"model returned frame index {t} for video {video.id!r} of {length} frames")
        ids = [int(i) for i in res.object_ids]
        visible, amodal = np.asarray(res.visible, dtype=bool), np.asarray(res.amodal, dtype=bool)
        for masks in (visible, amodal):
            if masks.size and masks.shape[-2:] != size:
                raise FormatError(f"video {video.id!r}: its frames are {masks.shape[-1]}x{masks.shape[-2]} but the "
                                  f"annotations say {size[1]}x{size[0]} (a video file of another size than the frame "
                                  "files?)")
        visible, amodal = visible.reshape(len(ids), *size), amodal.reshape(len(ids), *size)
        depth = {int(k): r for r, k in enumerate(res.depth_order or [])}
        for n, k in enumerate(ids):
            rec = per.setdefault(k, {"vis": [None] * length, "am": [None] * length, "occ": [None] * length,
                                     "depth": [None] * length, "scores": []})
            rec["vis"][t] = encode_rle(visible[n])
            rec["am"][t] = encode_rle(amodal[n] | visible[n])
            rec["occ"][t] = float(np.asarray(res.occlusion)[n]) if len(np.asarray(res.occlusion)) else None
            rec["depth"][t] = depth.get(k)
            rec["scores"].append(float(np.asarray(res.scores)[n]) if len(np.asarray(res.scores)) else 1.0)
    tracks = []
    for k, rec in sorted(per.items()):
        tracks.append(make_track(video_id=video.id, track_id=k, category_id=categories.get(k, 1),
                                 score=float(np.mean(rec["scores"])) if rec["scores"] else 1.0,
                                 segmentations=rec["vis"], amodal_segmentations=rec["am"],
                                 occlusion=rec["occ"], depth_ranks=rec["depth"]))
    return tracks


def run_model(
    dataset: Any,
    runner: ModelRunner,
    given_visible: bool,
    frames_for: Callable[[Any], Optional[Iterable[np.ndarray]]],
    video_ids: Optional[Iterable[str]] = None,
    on_video: Optional[Callable[[Any], None]] = None,
) -> List[Any]:
    """Run a model on every video and collect `PredictionTrack`s.

    Args:
        dataset: `AmodalDataset` loaded with read_amodal=False (the model never sees amodal truth).
        runner: a model from `amodal.eval.baselines.build_runner`.
        given_visible: pass the gt visible masks to the model (keyed by gt annotation id).
        frames_for: video record -> RGB frames (or a source accepted by the model).
        video_ids: restrict to these videos.
        on_video: called with each video record before it is run (progress display).

    Returns:
        Prediction tracks; predicted amodal masks are made to contain the visible ones.
    """
    from amodal.data.format import PredictionTrack

    wanted = None if video_ids is None else {str(v) for v in video_ids}
    out: List[Any] = []
    for video in dataset.videos:
        if wanted is not None and str(video.id) not in wanted:
            continue
        if on_video is not None:
            on_video(video)
        prompts = gt_visible_prompts(dataset, video) if given_visible else None
        categories = {tr.id: tr.category_id for tr in dataset.tracks(video.id)} if given_visible else {}
        frames = frames_for(video) if runner.needs_frames(given_visible) else None
        size = (int(video.height), int(video.width))
        results = runner.predict_video(frames, size, int(video.length), prompts)
        out.extend(_accumulate(video, results, categories, PredictionTrack))
    return out


def iter_rgb(paths: Sequence[Path]) -> Iterator[np.ndarray]:
    """Read image files as RGB uint8 (H, W, 3), one at a time."""
    import cv2

    from amodal.errors import VideoReadError

    for path in paths:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise VideoReadError(f"cannot read frame {path}")
        yield cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
