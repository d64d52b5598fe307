"""Pseudo-labels for raw videos: visible masks + tracks, written as a native dataset (no amodal fields).

For each video, frames are read one at a time, downscaled so their long side is at most
`max_side`, and written as PNG under `OUT/frames/<video name>/<t:05d>.png`. Visible masks and
track ids come from given masks (`visible_masks`: a folder of instance-id PNGs, a native JSON, or
per-frame `{id: mask}` dicts) or from a predictor's visible-mask network + tracker run in stream
mode (`FrameResult.visible`, `FrameResult.object_ids`). `OUT/annotations.json` is a native
dataset with visible masks only; tracks seen in fewer than `min_track_frames` frames are dropped.

The per-object motions the clip loader needs (optical flow + similarity fit, exactly as
`amodal.models.alignment.track_motions` computes them) are computed in the same pass and written
into the loader's motion cache, so nothing ever holds a whole decoded video: memory is one frame
plus compact RLE strings.
"""
from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from amodal.errors import InputError
from amodal.models.alignment import DEFAULT_PRESET, DEFAULT_WIDTH, IDENTITY, FlowEstimator, object_motions
from amodal.utils.files import atomic_write_bytes, atomic_write_json
from amodal.utils.masks import encode_rle

PathLike = Union[str, Path]
MaskDict = Dict[int, np.ndarray]
ANNOTATIONS_FILE = "annotations.json"
FRAMES_DIR = "frames"


@dataclass
class PseudoLabelSummary:
    """What `pseudo_label` wrote.

    Attributes:
        json_path: the native dataset (visible masks only).
        videos: number of videos; frames: frames over all videos; tracks: tracks kept;
        dropped_tracks: tracks seen in fewer than `min_track_frames` frames; seconds: wall time;
        names: video name per video id - 1 (its frame folder under `frames/`).
    """

    json_path: Path
    videos: int = 0
    frames: int = 0
    tracks: int = 0
    dropped_tracks: int = 0
    seconds: float = 0.0
    names: List[str] = field(default_factory=list)


# ----------------------------------------------------------------------------- inputs


def list_videos(path: PathLike) -> List[Path]:
    """The videos of a `--data` folder: its video files, else the folder itself when it holds
    frames, else its sub-folders that hold frames. A video file is returned as the only video.

    Raises:
        InputError: nothing usable at `path` (the message names it).
    """
    from amodal.data.readers import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, natural_key

    p = Path(path)
    if not p.exists():
        raise InputError(f"--data {p}: no such file or folder")
    if p.is_file():
        if p.suffix.lower() in VIDEO_EXTENSIONS:
            return [p]
        raise InputError(f"--data {p}: expected a video file ({' '.join(VIDEO_EXTENSIONS)}), a folder of videos "
                         "or frames, or a native .json dataset")
    children = sorted((c for c in p.iterdir() if not c.name.startswith(".")), key=lambda c: natural_key(c.name))
    videos = [c for c in children if c.is_file() and c.suffix.lower() in VIDEO_EXTENSIONS]
    if videos:
        return videos
    if any(c.is_file() and c.suffix.lower() in IMAGE_EXTENSIONS for c in children):
        return [p]
    folders = [c for c in children if c.is_dir()
               and any(f.suffix.lower() in IMAGE_EXTENSIONS for f in c.iterdir() if f.is_file())]
    if folders:
        return folders
    raise InputError(f"--data {p}: no video files ({' '.join(VIDEO_EXTENSIONS)}), frames or frame folders in it")


def _safe_name(name: str, seen: Dict[str, int]) -> str:
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "video"
    seen[name] = seen.get(name, 0) + 1
    return name if seen[name] == 1 else f"{name}-{seen[name]}"


def _downscale(image: np.ndarray, max_side: int) -> np.ndarray:
    h, w = image.shape[:2]
    if max(h, w) <= max_side:
        return image
    s = max_side / float(max(h, w))
    return cv2.resize(image, (max(2, int(round(w * s))), max(2, int(round(h * s)))), interpolation=cv2.INTER_AREA)


def _resize_mask(mask: np.ndarray, height: int, width: int) -> np.ndarray:
    if mask.shape == (height, width):
        return mask
    return cv2.resize(mask.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST) > 0


# ----------------------------------------------------------------------------- streaming state


class StreamingMotions:
    """Per-track motions computed frame by frame, identical to `track_motions` over the whole video.

    Entry t of a track maps frame t to t+1: a similarity fit of the flow t -> t+1 inside the
    track's visible mask at t, or the previous entry (identity at first) when it is absent.
    """

    def __init__(self, flow_width: int = DEFAULT_WIDTH, preset: str = DEFAULT_PRESET) -> None:
        self.est = FlowEstimator(flow_width, preset)
        self.entries: Dict[int, List[np.ndarray]] = {}
        self._prev_gray: Optional[np.ndarray] = None
        self._prev_masks: MaskDict = {}
        self._frame = -1

    def add(self, image: np.ndarray, masks: MaskDict) -> None:
        """Next frame: RGB uint8 (H, W, 3) and its `{track id: bool (H, W)}` visible masks."""
        self._frame += 1
        gray = self.est.gray(image)
        if self._prev_gray is not None:
            flow = self.est.flow_gray(self._prev_gray, gray, image.shape[:2])
            t = self._frame - 1  # entry index: frame t -> t + 1
            tids = list(self.entries)
            motions = object_motions(flow, [self._prev_masks.get(tid) for tid in tids],
                                     [self.entries[tid][t - 1] if t > 0 else None for tid in tids])
            for tid, motion in zip(tids, motions):
                self.entries[tid].append(motion)
        for tid in masks:
            if tid not in self.entries:
                self.entries[tid] = [IDENTITY.copy() for _ in range(max(self._frame, 0))]
        self._prev_gray = gray
        self._prev_masks = masks

    def array(self, track_ids: Sequence[int], length: int) -> np.ndarray:
        """float32 (len(track_ids), length - 1, 2, 3) motions of the given tracks."""
        out = np.tile(IDENTITY, (len(track_ids), max(length - 1, 0), 1, 1)).astype(np.float32)
        for k, tid in enumerate(track_ids):
            for t, m in enumerate(self.entries.get(tid, [])[: max(length - 1, 0)]):
                out[k, t] = m
        return out


class _TrackRecorder:
    """RLE masks per track id, frame by frame."""

    def __init__(self) -> None:
        self.rles: Dict[int, Dict[int, dict]] = {}

    def add(self, t: int, masks: MaskDict) -> None:
        for tid, m in masks.items():
            if m.any():
                self.rles.setdefault(tid, {})[t] = encode_rle(m)


# ----------------------------------------------------------------------------- main entry


def motion_cache_path(json_path: Path, max_width: int = DEFAULT_WIDTH, preset: str = DEFAULT_PRESET) -> Path:
    """Where `amodal.data.clips.load_motions` looks for the motions of `json_path` (default cache dir)."""
    from amodal.data import clips

    return clips.motion_cache_path(json_path, None, max_width, preset)


def _frames(source: Any, fps: Optional[float]) -> Tuple[Any, Any, str]:
    from amodal.api import _open_frames

    if isinstance(source, (str, Path)) and (str(source).strip().isdigit() or "://" in str(source)):
        raise InputError(f"{source} is a live source; adaptation needs a finite video (a file or frame folder)")
    return _open_frames(source, fps)


def _masks_for(visible_masks: Any, name: str, frames: Any, display: str) -> Optional[Sequence[MaskDict]]:
    if visible_masks is None:
        return None
    from amodal.api import _resolve_visible_masks, _safe_len, frames_size
    from amodal.inference.visible_inputs import check_visible_masks

    masks = _resolve_visible_masks(visible_masks, name)
    check_visible_masks(masks, _safe_len(frames), frames_size(frames), display)
    return masks


def pseudo_label(sources: Sequence[Any], out_dir: PathLike, predictor: Any = None, visible_masks: Any = None,
                 names: Optional[Sequence[str]] = None, max_side: int = 640, min_track_frames: int = 3,
                 fps: Optional[float] = None, show_progress: bool = False, motion_width: int = DEFAULT_WIDTH,
                 motion_preset: str = DEFAULT_PRESET) -> PseudoLabelSummary:
    """Pseudo-label videos into `out_dir` (frames/, annotations.json and the motion cache).

    Args:
        sources: video files / frame folders, or (API) frame arrays (T, H, W, 3) / iterables of frames.
        out_dir: folder to write into (created; existing files of the same names are replaced).
        predictor: an `AmodalPredictor` whose visible net + tracker make the masks (needed unless
            `visible_masks` is given); it is reset before each video.
        visible_masks: a path (PNG folder, folder of per-video PNG folders, or native JSON; the
            video is picked by name) or, for one source, per-frame `{id: bool (H, W)}` dicts.
        names: a name per source (default: the file stem / folder name).
        max_side: frames (and masks) are stored with their long side at most this.
        min_track_frames: tracks seen in fewer frames are dropped.
        fps: frame rate of frame folders (only used for reading).
        show_progress: a progress bar per video.
        motion_width, motion_preset: flow settings of the cached motions (the model's
            `model.completion.motion_width` / `motion_preset`, which the clip loader asks for).

    Raises:
        InputError / VideoReadError / FormatError: unreadable video, masks that do not fit it, a live
            source, no predictor and no masks, or a model without a visible-mask network (and a
            detector that needs one).
    """
    from amodal.api import as_rgb, check_masks, source_name

    out = Path(out_dir)
    start = time.perf_counter()
    if visible_masks is None:
        if predictor is None:
            raise InputError("pseudo-labelling needs visible masks (--visible-masks) or a model to make them")
        if getattr(predictor.session, "detector", None) is None:
            raise InputError("this checkpoint has no visible-mask network: give the visible masks (--visible-masks PATH) "
                             "or take the objects from motion (--detector motion)")
    if not isinstance(visible_masks, (str, Path, type(None))) and len(sources) != 1:
        raise InputError("per-frame visible mask dicts can be given for one video only; give a path for several")
    videos, annotations, seen = [], [], {}  # type: List[dict], List[dict], Dict[str, int]
    motions: Dict[int, np.ndarray] = {}
    summary = PseudoLabelSummary(json_path=out / ANNOTATIONS_FILE)
    for i, source in enumerate(sources):
        raw_name = names[i] if names is not None else (source_name(source) if isinstance(source, (str, Path)) else "video")
        name = _safe_name(raw_name, seen)
        frames, closer, display = _frames(source, fps)
        try:
            masks = _masks_for(visible_masks, raw_name, frames, display)
            if masks is None:
                predictor.reset()
            folder = out / FRAMES_DIR / name
            folder.mkdir(parents=True, exist_ok=True)
            recorder, stream = _TrackRecorder(), StreamingMotions(motion_width, motion_preset)
            size: Optional[Tuple[int, int]] = None
            file_names: List[str] = []
            for t, item in enumerate(_progress(frames, name, show_progress)):
                image = as_rgb(getattr(item, "image", item), what=f"{display} frame {t}")
                h, w = image.shape[:2]
                small = _downscale(image, max_side)
                sh, sw = small.shape[:2]
                if size is None:
                    size = (sh, sw)
                elif size != (sh, sw):
                    raise InputError(f"{display}: frame {t} is {w}x{h}, unlike the first frame")
                if masks is not None:
                    if t >= len(masks):
                        raise InputError(f"visible masks end after {len(masks)} frames, but {display} goes on")
                    given = check_masks(masks[t], h, w) or {}
                    current = {k: _resize_mask(m, sh, sw) for k, m in given.items()}
                else:
                    res = predictor.step(small)
                    current = {int(k): np.asarray(res.visible[j], bool) for j, k in enumerate(res.object_ids)}
                rel = f"{name}/{t:05d}.png"
                if not cv2.imwrite(str(out / FRAMES_DIR / rel), cv2.cvtColor(small, cv2.COLOR_RGB2BGR),
                                   [cv2.IMWRITE_PNG_COMPRESSION, 1]):
                    raise InputError(f"cannot write pseudo-label frame {out / FRAMES_DIR / rel}")
                file_names.append(rel)
                recorder.add(t, current)
                stream.add(small, current)
        finally:
            if closer is not None:
                closer()
        length = len(file_names)
        if length == 0:
            raise InputError(f"{display}: no frames")
        vid = i + 1
        videos.append({"id": vid, "width": size[1], "height": size[0], "length": length, "file_names": file_names})
        kept = [tid for tid in sorted(recorder.rles) if len(recorder.rles[tid]) >= min_track_frames]
        summary.dropped_tracks += len(recorder.rles) - len(kept)
        for tid in kept:
            per = recorder.rles[tid]
            annotations.append({"id": len(annotations) + 1, "video_id": vid, "category_id": 1, "iscrowd": 0,
                                "segmentations": [per.get(t) for t in range(length)]})
        motions[vid] = stream.array(kept, length)
        summary.videos += 1
        summary.frames += length
        summary.tracks += len(kept)
        summary.names.append(name)
    data = {"videos": videos, "categories": [{"id": 1, "name": "object"}], "annotations": annotations}
    atomic_write_json(summary.json_path, data)
    buf = io.BytesIO()
    np.savez(buf, **{f"v{k}": v for k, v in motions.items()})
    atomic_write_bytes(motion_cache_path(summary.json_path, motion_width, motion_preset), buf.getvalue())
    summary.seconds = time.perf_counter() - start
    return summary


def _progress(frames: Any, name: str, show: bool) -> Iterator[Any]:
    if not show:
        yield from frames
        return
    from tqdm import tqdm

    total = None
    try:
        total = len(frames)
    except (TypeError, NotImplementedError):
        pass
    with tqdm(total=total, desc=f"pseudo-labels {name}", unit="frame", dynamic_ncols=True) as bar:
        for item in frames:
            yield item
            bar.update(1)


__all__ = ["PseudoLabelSummary", "StreamingMotions", "list_videos", "motion_cache_path", "pseudo_label"]
