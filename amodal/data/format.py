"""The native annotation format: YouTube-VIS JSON with amodal fields (see docs/FORMAT.md).

`load_dataset` reads and validates a dataset file into typed records; `save_dataset` writes one
atomically. Predictions follow the YouTube-VIS results convention (a JSON list of tracks) with
amodal masks, occlusion rates and depth ranks: `save_predictions` / `load_predictions`.

Every problem in a file raises `FormatError` naming the file and the key path, for example
`annotations.json: annotations[3].segmentations has 31 entries, video 2 has 32 frames`.
Masks are COCO RLE dicts `{"size": [H, W], "counts": str}`; decoded masks are bool (H, W).
"""
from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, NoReturn, Optional, Sequence, Tuple, Union

import numpy as np

from amodal.data.native_masks import (
    MAX_SIDE,
    RLE,
    SegmentationError,
    _type_name,
    boxes_and_areas,
    normalize_segmentation,
    normalize_segmentations,
    rle_size,
)
from amodal.errors import FormatError, InputError
from amodal.utils.files import atomic_write_json
from amodal.utils.masks import decode_rle

log = logging.getLogger(__name__)
PathLike = Union[str, Path]
Box = List[float]


# ----------------------------------------------------------------------------- records


@dataclass
class VideoRecord:
    """One video: its size, its frames (relative to the image root) and optionally an mp4."""

    id: int
    width: int
    height: int
    length: int
    file_names: List[str]
    video_file: Optional[str] = None


@dataclass
class Category:
    """An object category."""

    id: int
    name: str


def _decode_or_empty(rle: Optional[RLE], height: int, width: int) -> np.ndarray:
    if rle is None:
        if height <= 0 or width <= 0:
            raise InputError("mask size unknown: every entry is null and no height/width was given")
        return np.zeros((height, width), dtype=bool)
    return decode_rle(rle)


def _infer_size(*lists: Optional[Sequence[Optional[RLE]]]) -> Tuple[int, int]:
    for rles in lists:
        for rle in rles or ():
            if rle is not None:
                return rle_size(rle)
    return 0, 0


@dataclass
class ObjectTrack:
    """One annotated object over a whole video (T = number of frames of the video).

    `segmentations` are the visible (modal) masks, `amodal_segmentations` the full extents
    (None when the dataset has none or was loaded with `read_amodal=False`). Per-frame entries
    are None where the object is absent. Boxes ([x, y, w, h], None when null or empty) and
    areas are computed when not given. `height`/`width` give the size of null masks; they are
    taken from the first non-null RLE when left at 0.
    """

    id: int
    video_id: int
    category_id: int
    iscrowd: int
    segmentations: List[Optional[RLE]]
    amodal_segmentations: Optional[List[Optional[RLE]]] = None
    bboxes: Optional[List[Optional[Box]]] = None
    areas: Optional[List[Optional[float]]] = None
    amodal_bboxes: Optional[List[Optional[Box]]] = None
    amodal_areas: Optional[List[Optional[float]]] = None
    height: int = 0
    width: int = 0

    def __post_init__(self) -> None:
        if self.height <= 0 or self.width <= 0:
            self.height, self.width = _infer_size(self.segmentations, self.amodal_segmentations)
        if self.bboxes is None or self.areas is None:
            boxes, areas = boxes_and_areas(self.segmentations)
            self.bboxes = boxes if self.bboxes is None else self.bboxes
            self.areas = areas if self.areas is None else self.areas
        if self.amodal_segmentations is None:
            self.amodal_bboxes = self.amodal_areas = None
        elif self.amodal_bboxes is None or self.amodal_areas is None:
            boxes, areas = boxes_and_areas(self.amodal_segmentations)
            self.amodal_bboxes = boxes if self.amodal_bboxes is None else self.amodal_bboxes
            self.amodal_areas = areas if self.amodal_areas is None else self.amodal_areas

    @property
    def num_frames(self) -> int:
        return len(self.segmentations)

    @property
    def has_amodal(self) -> bool:
        return self.amodal_segmentations is not None

    def visible_mask(self, t: int) -> np.ndarray:
        """Visible mask of frame `t`, bool (H, W); all False where the entry is null."""
        return _decode_or_empty(self.segmentations[t], self.height, self.width)

    def amodal_mask(self, t: int) -> np.ndarray:
        """Amodal (full-extent) mask of frame `t`, bool (H, W); all False where null.

        Raises:
            InputError: the track has no amodal segmentations.
        """
        if self.amodal_segmentations is None:
            raise InputError(f"track {self.id} of video {self.video_id} has no amodal segmentations")
        return _decode_or_empty(self.amodal_segmentations[t], self.height, self.width)


@dataclass
class AmodalDataset:
    """A loaded dataset. Treat as read-only (lookups are indexed at construction).

    Attributes:
        json_path: the file it was loaded from (None when built in memory).
        image_root: folder the `file_names` are relative to (None: relative to the cwd).
        source: name used in messages (default: json_path, else "<dataset>").
    """

    videos: List[VideoRecord]
    categories: List[Category]
    annotations: List[ObjectTrack]
    json_path: Optional[Path] = None
    image_root: Optional[Path] = None
    source: Optional[str] = None
    _videos_by_id: Dict[int, VideoRecord] = field(init=False, repr=False, compare=False)
    _tracks_by_video: Dict[int, List[ObjectTrack]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._videos_by_id = {v.id: v for v in self.videos}
        self._tracks_by_video = {v.id: [] for v in self.videos}
        for track in self.annotations:
            self._tracks_by_video.setdefault(track.video_id, []).append(track)

    @property
    def name(self) -> str:
        if self.source is not None:
            return self.source
        return str(self.json_path) if self.json_path is not None else "<dataset>"

    def video(self, video_id: int) -> VideoRecord:
        """The video with this id (InputError if there is none)."""
        try:
            return self._videos_by_id[video_id]
        except KeyError:
            raise InputError(f"{self.name}: no video with id {video_id!r}") from None

    def tracks(self, video_id: int) -> List[ObjectTrack]:
        """All annotated objects of a video, in file order."""
        self.video(video_id)
        return list(self._tracks_by_video.get(video_id, []))

    def category_name(self, category_id: int) -> str:
        for c in self.categories:
            if c.id == category_id:
                return c.name
        raise InputError(f"{self.name}: no category with id {category_id!r}")

    def frame_path(self, video_id: int, t: int) -> Path:
        """Path of frame `t` of a video: image_root / file_names[t]."""
        name = self.video(video_id).file_names[t]
        return Path(name) if self.image_root is None else self.image_root / name

    def video_path(self, video_id: int) -> Optional[Path]:
        """Path of the video's `video_file` (relative to the JSON's folder), or None."""
        video_file = self.video(video_id).video_file
        if video_file is None:
            return None
        path = Path(video_file)
        if path.is_absolute() or self.json_path is None:
            return path
        return self.json_path.parent / path

    @property
    def has_amodal(self) -> bool:
        """True when there is at least one track and every track has amodal segmentations."""
        return bool(self.annotations) and all(t.has_amodal for t in self.annotations)


# ----------------------------------------------------------------------------- validation


class FieldChecker:
    """Type checks that raise FormatError naming the source and the key path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, message: str) -> NoReturn:
        raise FormatError(f"{self.source}: {where}{message}")

    def obj(self, value: Any, where: str) -> Dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(where, f" must be an object, got {_type_name(value)}")
        return value

    def get(self, d: Dict[str, Any], key: str, where: str, default: Any = ...) -> Any:
        if key in d:
            return d[key]
        if default is ...:
            self.fail(where, f" is missing key '{key}'")
        return default

    def integer(self, value: Any, where: str, minimum: Optional[int] = None, maximum: Optional[int] = None) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(where, f" must be an integer, got {_type_name(value)}")
        if minimum is not None and value < minimum:
            self.fail(where, f" must be >= {minimum}, got {value}")
        if maximum is not None and value > maximum:
            self.fail(where, f" must be <= {maximum}, got {value}")
        return value

    def number(self, value: Any, where: str, lo: Optional[float] = None, hi: Optional[float] = None) -> float:
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            self.fail(where, f" must be a finite number, got {_type_name(value) if not isinstance(value, float) else value}")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            self.fail(where, f" must be in [{lo}, {hi}], got {value}")
        return float(value)

    def string(self, value: Any, where: str) -> str:
        if not isinstance(value, str):
            self.fail(where, f" must be a string, got {_type_name(value)}")
        return value

    def lst(self, value: Any, where: str) -> List[Any]:
        if not isinstance(value, list):
            self.fail(where, f" must be a list, got {_type_name(value)}")
        return value

    def per_frame(self, value: Any, where: str, video: Optional[VideoRecord], length: Optional[int] = None) -> List[Any]:
        items = self.lst(value, where)
        expected = video.length if video is not None else length
        if expected is not None and len(items) != expected:
            owner = f"video {video.id} has {expected} frames" if video is not None else f"expected {expected}"
            self.fail(where, f" has {len(items)} entries, {owner}")
        return items

    def masks(self, value: Any, where: str, video: Optional[VideoRecord], length: Optional[int] = None,
              size: Optional[Tuple[int, int]] = None) -> List[Optional[RLE]]:
        items = self.per_frame(value, where, video, length)
        h, w = (video.height, video.width) if video is not None else (size or (None, None))
        if h is not None and w is not None:
            try:
                return normalize_segmentations(items, h, w)
            except SegmentationError as exc:
                self.fail(f"{where}[{getattr(exc, 'index', '?')}]", str(exc))
        out: List[Optional[RLE]] = []
        for t, item in enumerate(items):
            try:
                rle = normalize_segmentation(item, h, w)
            except SegmentationError as exc:
                self.fail(f"{where}[{t}]", str(exc))
            if rle is not None and h is None:
                h, w = rle_size(rle)
            out.append(rle)
        return out

    def boxes(self, value: Any, where: str, video: VideoRecord) -> List[Optional[Box]]:
        out: List[Optional[Box]] = []
        for t, box in enumerate(self.per_frame(value, where, video)):
            if box is not None:
                if not isinstance(box, list) or len(box) != 4:
                    self.fail(f"{where}[{t}]", f" must be [x, y, w, h] or null, got {_type_name(box)}")
                box = [self.number(v, f"{where}[{t}][{k}]") for k, v in enumerate(box)]
            out.append(box)
        return out

    def areas(self, value: Any, where: str, video: VideoRecord) -> List[Optional[float]]:
        return [None if a is None else self.number(a, f"{where}[{t}]", lo=0.0)
                for t, a in enumerate(self.per_frame(value, where, video))]

    def unique(self, seen: Dict[Any, str], key: Any, where: str) -> None:
        if key in seen:
            self.fail(where, f" {key!r} is a duplicate of {seen[key]}")
        seen[key] = where


def _parse_video(c: FieldChecker, raw: Any, where: str) -> VideoRecord:
    d = c.obj(raw, where)
    vid = c.integer(c.get(d, "id", where), f"{where}.id")
    width = c.integer(c.get(d, "width", where), f"{where}.width", 1, MAX_SIDE)
    height = c.integer(c.get(d, "height", where), f"{where}.height", 1, MAX_SIDE)
    names = c.lst(c.get(d, "file_names", where), f"{where}.file_names")
    names = [c.string(n, f"{where}.file_names[{t}]") for t, n in enumerate(names)]
    length = c.integer(c.get(d, "length", where, len(names)), f"{where}.length", 1)
    if len(names) != length:
        c.fail(f"{where}.file_names", f" has {len(names)} entries, {where}.length is {length}")
    video_file = d.get("video_file")
    if video_file is not None:
        c.string(video_file, f"{where}.video_file")
    return VideoRecord(vid, width, height, length, names, video_file)


def _parse_track(c: FieldChecker, raw: Any, where: str, videos: Dict[int, VideoRecord], categories: Dict[int, str],
                 read_amodal: bool) -> ObjectTrack:
    d = c.obj(raw, where)
    tid = c.integer(c.get(d, "id", where), f"{where}.id")
    vid = c.integer(c.get(d, "video_id", where), f"{where}.video_id")
    if vid not in videos:
        c.fail(f"{where}.video_id", f" {vid} is not the id of any video")
    video = videos[vid]
    cat = c.integer(c.get(d, "category_id", where), f"{where}.category_id")
    if cat not in categories:
        c.fail(f"{where}.category_id", f" {cat} is not the id of any category")
    crowd = d.get("iscrowd", 0)
    crowd = c.integer(int(crowd) if isinstance(crowd, bool) else crowd, f"{where}.iscrowd", 0, 1)
    segs = c.masks(c.get(d, "segmentations", where), f"{where}.segmentations", video)
    opt: Dict[str, Any] = {}
    for key in ("bboxes", "amodal_bboxes"):
        if d.get(key) is not None and (read_amodal or not key.startswith("amodal")):
            opt[key] = c.boxes(d[key], f"{where}.{key}", video)
    for key in ("areas", "amodal_areas"):
        if d.get(key) is not None and (read_amodal or not key.startswith("amodal")):
            opt[key] = c.areas(d[key], f"{where}.{key}", video)
    amodal = None
    if read_amodal and d.get("amodal_segmentations") is not None:
        amodal = c.masks(d["amodal_segmentations"], f"{where}.amodal_segmentations", video)
    return ObjectTrack(tid, vid, cat, crowd, segs, amodal, height=video.height, width=video.width, **opt)


def dataset_from_dict(d: Any, source: str = "<dict>", read_amodal: bool = True, json_path: Optional[PathLike] = None,
                      image_root: Optional[PathLike] = None) -> AmodalDataset:
    """Validate a parsed native-format dict and build an `AmodalDataset`.

    Args:
        d: the parsed JSON.
        source: name used in error messages (usually the file name).
        read_amodal: False drops every amodal field without looking at it.
        json_path, image_root: stored on the dataset (see `load_dataset`).

    Raises:
        FormatError: naming `source` and the key path of the first problem.
    """
    c = FieldChecker(source)
    if not isinstance(d, dict):
        c.fail("", f"expected a JSON object with keys 'videos', 'categories', 'annotations', got {_type_name(d)}")
    for key in ("videos", "categories", "annotations"):
        if key not in d:
            c.fail("", f"missing top-level key '{key}'")
    videos, seen = [], {}
    for i, raw in enumerate(c.lst(d["videos"], "videos")):
        video = _parse_video(c, raw, f"videos[{i}]")
        c.unique(seen, video.id, f"videos[{i}].id")
        videos.append(video)
    categories, seen = [], {}
    for i, raw in enumerate(c.lst(d["categories"], "categories")):
        cd = c.obj(raw, f"categories[{i}]")
        cat = Category(c.integer(c.get(cd, "id", f"categories[{i}]"), f"categories[{i}].id"),
                       c.string(c.get(cd, "name", f"categories[{i}]"), f"categories[{i}].name"))
        c.unique(seen, cat.id, f"categories[{i}].id")
        categories.append(cat)
    by_id = {v.id: v for v in videos}
    names = {cat.id: cat.name for cat in categories}
    tracks, seen = [], {}
    for i, raw in enumerate(c.lst(d["annotations"], "annotations")):
        track = _parse_track(c, raw, f"annotations[{i}]", by_id, names, read_amodal)
        c.unique(seen, track.id, f"annotations[{i}].id")
        tracks.append(track)
    return AmodalDataset(videos, categories, tracks, Path(json_path) if json_path is not None else None,
                         Path(image_root) if image_root is not None else None, source)


def dataset_to_dict(ds: AmodalDataset) -> Dict[str, Any]:
    """The JSON-ready native-format dict of a dataset (amodal keys only on tracks that have them)."""
    videos = []
    for v in ds.videos:
        entry: Dict[str, Any] = {"id": v.id, "width": v.width, "height": v.height, "length": v.length,
                                 "file_names": list(v.file_names)}
        if v.video_file is not None:
            entry["video_file"] = v.video_file
        videos.append(entry)
    annotations = []
    for t in ds.annotations:
        entry = {"id": t.id, "video_id": t.video_id, "category_id": t.category_id, "iscrowd": t.iscrowd,
                 "segmentations": t.segmentations, "bboxes": t.bboxes, "areas": t.areas}
        if t.amodal_segmentations is not None:
            entry.update(amodal_segmentations=t.amodal_segmentations, amodal_bboxes=t.amodal_bboxes,
                         amodal_areas=t.amodal_areas)
        annotations.append(entry)
    return {"videos": videos, "categories": [{"id": c.id, "name": c.name} for c in ds.categories],
            "annotations": annotations}


# ----------------------------------------------------------------------------- files


def default_image_root(json_path: PathLike) -> Path:
    """`frames/` beside the JSON file if it is a folder, else the JSON's own folder."""
    folder = Path(json_path).parent
    return folder / "frames" if (folder / "frames").is_dir() else folder


def _read_json(path: Path) -> Any:
    if not path.exists():
        raise FormatError(f"{path}: file not found")
    if path.is_dir():
        raise FormatError(f"{path}: is a folder, expected a JSON file")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise FormatError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise FormatError(f"{path}: invalid JSON: nested too deeply") from None


def _check_frame_files(ds: AmodalDataset, source: str) -> None:
    listing: Dict[Path, set] = {}
    for i, video in enumerate(ds.videos):
        video_path = ds.video_path(video.id)
        if video.video_file is not None and video_path is not None and not video_path.is_file():
            raise FormatError(f"{source}: videos[{i}].video_file: {video_path} not found")
        if video_path is not None:
            continue  # frames come from the video file; frame images are optional
        for t in range(video.length):
            path = ds.frame_path(video.id, t)
            if path.parent not in listing:
                try:
                    listing[path.parent] = set(os.listdir(path.parent))
                except OSError:
                    listing[path.parent] = set()
            if path.name not in listing[path.parent] and not path.is_file():
                raise FormatError(f"{source}: videos[{i}].file_names[{t}]: frame file {path} not found "
                                  f"(image root {ds.image_root})")


def load_dataset(path: PathLike, image_root: Optional[PathLike] = None, read_amodal: bool = True,
                 check_files: bool = True) -> AmodalDataset:
    """Read and validate a native-format JSON file.

    Args:
        path: the JSON file.
        image_root: folder `file_names` are relative to (default: see `default_image_root`).
        read_amodal: False drops amodal fields at parse time (the training path uses this).
        check_files: check that every frame file (or the `video_file`, when given) exists.

    Raises:
        FormatError: naming the file and the key path of the problem.
    """
    path = Path(path)
    root = Path(image_root) if image_root is not None else default_image_root(path)
    ds = dataset_from_dict(_read_json(path), str(path), read_amodal, path, root)
    if check_files:
        _check_frame_files(ds, str(path))
    return ds


def save_dataset(ds: AmodalDataset, path: PathLike) -> None:
    """Write a dataset atomically. A relative `video_file` is rewritten to stay valid from the new folder."""
    path = Path(path)
    d = dataset_to_dict(ds)
    if ds.json_path is not None and ds.json_path.parent.resolve() != path.parent.resolve():
        for entry in d["videos"]:
            if entry.get("video_file") and not Path(entry["video_file"]).is_absolute():
                old = (ds.json_path.parent / entry["video_file"]).resolve()
                entry["video_file"] = os.path.relpath(old, path.parent.resolve())
    if ds.image_root is not None and default_image_root(path).resolve() != ds.image_root.resolve():
        log.warning("%s: frame files stay relative to %s; pass image_root=%s when loading it",
                    path, default_image_root(path), ds.image_root)
    atomic_write_json(path, d)


# ----------------------------------------------------------------------------- predictions


@dataclass
class PredictionTrack:
    """One predicted object track (YouTube-VIS results entry with amodal fields; T frames).

    `occlusion[t]` = 1 - |visible| / |amodal| (None when absent or no amodal mask);
    `depth_ranks[t]` = 0 for the frontmost object of frame t, 1 behind it, ... (None: absent).
    Left as None, `occlusion` is computed from the masks and `depth_ranks` filled with None.
    """

    video_id: int
    track_id: int
    category_id: int
    score: float
    segmentations: List[Optional[RLE]]
    amodal_segmentations: Optional[List[Optional[RLE]]] = None
    occlusion: Optional[List[Optional[float]]] = None
    depth_ranks: Optional[List[Optional[int]]] = None
    height: int = 0
    width: int = 0

    def __post_init__(self) -> None:
        if self.height <= 0 or self.width <= 0:
            self.height, self.width = _infer_size(self.segmentations, self.amodal_segmentations)
        if self.occlusion is None:
            self.occlusion = [None] * len(self.segmentations)
            if self.amodal_segmentations is not None:
                _, vis = boxes_and_areas(self.segmentations)
                _, amo = boxes_and_areas(self.amodal_segmentations)
                self.occlusion = [None if not a or v is None else min(1.0, max(0.0, 1.0 - v / a))
                                  for v, a in zip(vis, amo)]
        if self.depth_ranks is None:
            self.depth_ranks = [None] * len(self.segmentations)

    def visible_mask(self, t: int) -> np.ndarray:
        """Predicted visible mask of frame `t`, bool (H, W)."""
        return _decode_or_empty(self.segmentations[t], self.height, self.width)

    def amodal_mask(self, t: int) -> np.ndarray:
        """Predicted amodal mask of frame `t`, bool (H, W) (InputError when there are none)."""
        if self.amodal_segmentations is None:
            raise InputError(f"prediction track {self.track_id} of video {self.video_id} has no amodal masks")
        return _decode_or_empty(self.amodal_segmentations[t], self.height, self.width)


def _prediction_to_dict(p: PredictionTrack) -> Dict[str, Any]:
    d: Dict[str, Any] = {"video_id": p.video_id, "track_id": p.track_id, "category_id": p.category_id,
                         "score": float(p.score), "segmentations": p.segmentations}
    if p.amodal_segmentations is not None:
        d["amodal_segmentations"] = p.amodal_segmentations
    d["occlusion"] = p.occlusion
    d["depth_ranks"] = p.depth_ranks
    return d


def save_predictions(tracks: Iterable[PredictionTrack], path: PathLike) -> None:
    """Write predictions atomically as a JSON list (YouTube-VIS results convention)."""
    atomic_write_json(path, [_prediction_to_dict(p) for p in tracks])


def _parse_prediction(c: FieldChecker, raw: Any, where: str, index: int, ds: Optional[AmodalDataset]) -> PredictionTrack:
    d = c.obj(raw, where)
    vid = c.integer(c.get(d, "video_id", where), f"{where}.video_id")
    video = None
    if ds is not None:
        if vid not in ds._videos_by_id:
            c.fail(f"{where}.video_id", f" {vid} is not the id of any video in {ds.name}")
        video = ds._videos_by_id[vid]
    tid = c.integer(d.get("track_id", index), f"{where}.track_id")
    cat = c.integer(c.get(d, "category_id", where), f"{where}.category_id")
    score = c.number(c.get(d, "score", where), f"{where}.score")
    segs = c.masks(c.get(d, "segmentations", where), f"{where}.segmentations", video)
    length = len(segs)
    size = _infer_size(segs)
    size_or_none = size if size[0] > 0 else None
    amodal = None
    if d.get("amodal_segmentations") is not None:
        amodal = c.masks(d["amodal_segmentations"], f"{where}.amodal_segmentations", video, length, size_or_none)
        size = size if size[0] > 0 else _infer_size(amodal)
    occlusion = None
    if d.get("occlusion") is not None:
        occlusion = [None if v is None else c.number(v, f"{where}.occlusion[{t}]", 0.0, 1.0)
                     for t, v in enumerate(c.per_frame(d["occlusion"], f"{where}.occlusion", video, length))]
    ranks = None
    if d.get("depth_ranks") is not None:
        ranks = [None if v is None else c.integer(v, f"{where}.depth_ranks[{t}]", 0)
                 for t, v in enumerate(c.per_frame(d["depth_ranks"], f"{where}.depth_ranks", video, length))]
    h, w = (video.height, video.width) if video is not None else size
    return PredictionTrack(vid, tid, cat, score, segs, amodal, occlusion, ranks, h, w)


def load_predictions(path: PathLike, dataset: Optional[AmodalDataset] = None) -> List[PredictionTrack]:
    """Read a predictions JSON list; with `dataset`, check video ids, lengths and mask sizes.

    Raises:
        FormatError: naming the file and the key path of the problem.
    """
    path = Path(path)
    data = _read_json(path)
    c = FieldChecker(str(path))
    if not isinstance(data, list):
        c.fail("", f"expected a JSON list of prediction tracks, got {_type_name(data)}")
    tracks, seen = [], {}
    for i, raw in enumerate(data):
        p = _parse_prediction(c, raw, f"[{i}]", i, dataset)
        c.unique(seen, (p.video_id, p.track_id), f"[{i}] (video_id, track_id)")
        tracks.append(p)
    return tracks
