"""FISHBOWL -> native: the SaVos release (pickle + PNG frames) and the raw generator output.

SaVos release (`fishbowl`), SRC = the folder holding `{mode}_data/` (or that folder itself):
    {mode}_data/{mode}_frames/<vid>/*.png      frames, sorted by name; frame t = t-th file
    {mode}_data/{mode}_data.pkl                "<vid>_<fish>" -> {t: {"FM", "VM", "fish_type", ...}}
Frames are referenced in place (image root `{mode}_data/{mode}_frames`).

Raw generator output (`fishbowl-raw`), SRC = a folder of clips (or one clip):
    <clip>/main/video.mp4                      the rendered clip (frames are decoded from it)
    <clip>/main/objects.json                   [{id, type_id, type_name, masks: [RLE per frame]}]
    <clip>/single/<clip>_object<id>/objects.json   the fish rendered alone: amodal masks
Frames are written to `frames_out/<clip>/<t:05d>.png`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from amodal.data.converters.common import (
    ConversionResult, ConvertOptions, DatasetBuilder, FrameSize, copy_frames, load_json, natural_key,
    pair_frame, progress_bar, require, require_dir, safe_load_pickle, write_frames,
)
from amodal.errors import FormatError, InputError, VideoReadError

# The generator's five fish types, in its type_id order; category id = type_id + 1.
FISHBOWL_TYPES = ("SmallFishA", "MediumFishA", "MediumFishB", "BigFishA", "BigFishB")
_IMAGE_EXTS = (".png", ".jpg", ".jpeg")


def _add_fish_categories(builder: DatasetBuilder) -> None:
    for i, name in enumerate(FISHBOWL_TYPES):
        builder.category(name, i + 1)


# ----------------------------------------------------------------------------- SaVos release


def _savos_data_dir(src: Path, mode: str) -> Path:
    if (src / f"{mode}_data").is_dir():
        return src / f"{mode}_data"
    if src.name == f"{mode}_data":
        return src
    require_dir(src, "FISHBOWL source folder")
    raise FormatError(f"FISHBOWL source {src} has no {mode}_data/ folder")


def _frame_index(t: Any, where: str) -> int:
    try:
        value = int(t)
    except (TypeError, ValueError):
        raise FormatError(f"{where}: frame key {t!r} is not an integer") from None
    if value < 0:
        raise FormatError(f"{where}: frame key {t!r} is negative")
    return value


def convert_savos(src: Path, opts: ConvertOptions) -> ConversionResult:
    """Convert the SaVos FISHBOWL release (`{mode}_data.pkl` + `{mode}_frames/`)."""
    data_dir = _savos_data_dir(Path(src), opts.mode)
    pkl = data_dir / f"{opts.mode}_data.pkl"
    frames_root = require_dir(data_dir / f"{opts.mode}_frames", "FISHBOWL frame folder")
    data = safe_load_pickle(pkl)
    if not isinstance(data, dict):
        raise FormatError(f"{pkl}: expected a dict keyed '<vid>_<fish>', got {type(data).__name__}")

    by_video: Dict[str, List[Tuple[str, str]]] = {}
    for key in data:
        parts = str(key).rsplit("_", 1)
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise FormatError(f"{pkl}: key {key!r} is not '<vid>_<fish>'")
        by_video.setdefault(parts[0], []).append((key, parts[1]))

    builder = DatasetBuilder("fishbowl")
    _add_fish_categories(builder)
    result = ConversionResult(dataset={}, image_root=frames_root)
    out_root = opts.frames_out
    for vid in progress_bar(sorted(by_video, key=natural_key), opts.progress, "fishbowl", len(by_video)):
        folder = frames_root / vid
        if not folder.is_dir():
            raise FormatError(f"{pkl}: video {vid!r} has no frame folder {folder}")
        names = sorted((p.name for p in folder.iterdir() if p.suffix.lower() in _IMAGE_EXTS))
        if not names:
            raise FormatError(f"frame folder {folder} has no images")
        keys = [key for key, _ in sorted(by_video[vid], key=lambda kv: natural_key(kv[1]))]
        frame = FrameSize()
        tracks = [_savos_track(data[key], pkl, key, len(names), frame) for key in keys]
        size = _first_size(tracks, f"{pkl}: video {vid!r}")
        file_names = [f"{vid}/{n}" for n in names]
        if out_root is not None:
            file_names = copy_frames(frames_root, file_names, out_root, vid, opts.overwrite)
            result.frames_written += len(file_names)
        video_id = builder.add_video(file_names, width=size[1], height=size[0])
        for key, (fish_type, visible, amodal) in zip(keys, tracks):
            cat = builder.category(fish_type)
            builder.add_track(video_id, cat, visible, amodal, where=f"{pkl}: key {key!r}")
    if out_root is not None:
        result.image_root = out_root
    result.dataset = builder.to_dict(pkl)
    return result


def _savos_track(obj: Any, pkl: Path, key: str, length: int, frame: FrameSize) -> Tuple[str, list, list]:
    """(fish type, visible RLEs, amodal RLEs) of one `"<vid>_<fish>"` entry, per frame.

    Every RLE is read through `frame`, the size check shared by the video's fish.
    """
    where = f"{pkl}: key {key!r}"
    if not isinstance(obj, dict) or not obj:
        raise FormatError(f"{where}: expected a non-empty dict of frames")
    visible: List[Optional[dict]] = [None] * length
    amodal: List[Optional[dict]] = [None] * length
    fish_type = "fish"
    for t_key, rec in obj.items():
        t = _frame_index(t_key, where)
        fwhere = f"{where} frame {t}"
        if t >= length:
            raise FormatError(f"{fwhere}: the video folder has only {length} frames")
        if not isinstance(rec, dict):
            raise FormatError(f"{fwhere}: expected a dict, got {type(rec).__name__}")
        if "FM" not in rec and "VM" not in rec:
            raise FormatError(f"{fwhere}: missing key 'FM' (and 'VM')")
        fm = frame.rle(rec["FM"], f"{fwhere} 'FM'") if "FM" in rec else None
        vm = frame.rle(rec["VM"], f"{fwhere} 'VM'") if "VM" in rec else None
        visible[t], amodal[t] = pair_frame(vm, fm, amodal_known=fm is not None)
        if "fish_type" in rec:
            fish_type = str(rec["fish_type"])
    return fish_type, visible, amodal


def _first_size(tracks: List[Tuple[str, list, list]], where: str) -> Tuple[int, int]:
    for _, vis, amo in tracks:
        for rle in list(vis) + list(amo):
            if rle is not None:
                return int(rle["size"][0]), int(rle["size"][1])
    raise FormatError(f"{where}: no masks on any frame")


# ----------------------------------------------------------------------------- raw generator


def _raw_clips(src: Path) -> List[Path]:
    require_dir(src, "FISHBOWL raw source folder")
    if (src / "main").is_dir():
        return [src]
    clips = sorted((p for p in src.iterdir() if (p / "main").is_dir()), key=lambda p: natural_key(p.name))
    if not clips:
        raise FormatError(f"FISHBOWL raw source {src} has no <clip>/main/ folders")
    return clips


def _decode_mp4(path: Path) -> Any:
    """Yield the BGR frames (H, W, 3) of an mp4."""
    import cv2

    if not path.is_file():
        raise FormatError(f"missing file {path}")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise VideoReadError(f"cannot open video {path}")
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            yield frame
    finally:
        cap.release()


def _read_fish_list(path: Path) -> List[Dict[str, Any]]:
    fish = load_json(path)
    if not isinstance(fish, list):
        raise FormatError(f"{path}: expected a list of fish, got {type(fish).__name__}")
    for i, f in enumerate(fish):
        for key in ("id", "masks"):
            require(f, key, f"{path}: fish #{i}")
        if not isinstance(f["masks"], list):
            raise FormatError(f"{path}: fish #{i} 'masks' is not a list")
    return fish


def _raw_amodal(clip: Path, fish_id: Any, length: int, frame: FrameSize) -> Optional[List[Optional[dict]]]:
    """The fish's amodal RLEs from its single render, or None if the render is missing."""
    path = clip / "single" / f"{clip.name}_object{fish_id}" / "objects.json"
    if not path.is_file():
        return None
    single = _read_fish_list(path)
    match = [f for f in single if f["id"] == fish_id]
    if len(match) != 1:
        raise FormatError(f"{path}: expected exactly one fish with id {fish_id}, "
                          f"found ids {[f['id'] for f in single]}")
    masks = match[0]["masks"]
    if len(masks) != length:
        raise FormatError(f"{path}: {len(masks)} masks, the main render has {length} frames")
    return [None if m is None else frame.rle(m, f"{path}: fish {fish_id} frame {t}") for t, m in enumerate(masks)]


def convert_raw(src: Path, opts: ConvertOptions) -> ConversionResult:
    """Convert raw FISHBOWL generator output; decodes each clip's mp4 into `opts.frames_out`."""
    if opts.frames_out is None:
        raise InputError("fishbowl-raw needs a frames_out folder to decode the videos into")
    frames_out = Path(opts.frames_out)
    clips = _raw_clips(Path(src))
    builder = DatasetBuilder("fishbowl-raw")
    _add_fish_categories(builder)
    result = ConversionResult(dataset={}, image_root=frames_out)
    for clip in progress_bar(clips, opts.progress, "fishbowl-raw", len(clips)):
        main = clip / "main"
        objects_path = main / "objects.json"
        fish = _read_fish_list(objects_path)
        mp4 = main / "video.mp4"
        shapes: List[Tuple[int, int]] = []
        names = write_frames(_remember_shape(_decode_mp4(mp4), shapes), frames_out / clip.name, opts.overwrite)
        if not names:
            raise VideoReadError(f"no frames decoded from {mp4}")
        result.frames_written += len(names)
        height, width = shapes[0]
        frame = FrameSize((height, width))
        video_id = builder.add_video([f"{clip.name}/{n}" for n in names], width, height,
                                     video_file=str(mp4.resolve()))
        for f in fish:
            where = f"{objects_path}: fish {f['id']}"
            if len(f["masks"]) != len(names):
                raise FormatError(f"{where}: {len(f['masks'])} masks, {mp4} has {len(names)} frames")
            type_name = str(f.get("type_name", "fish"))
            cat = builder.category(type_name, int(f["type_id"]) + 1 if isinstance(f.get("type_id"), int) else None)
            visible = [None if m is None else frame.rle(m, f"{where} frame {t}") for t, m in enumerate(f["masks"])]
            amodal = _raw_amodal(clip, f["id"], len(names), frame)
            if amodal is None:
                result.notes.append(f"{clip.name}: no single render for fish {f['id']}; amodal left null")
                pairs = [pair_frame(v, None, amodal_known=False) for v in visible]
            else:
                pairs = [pair_frame(v, a) for v, a in zip(visible, amodal)]
            added = builder.add_track(video_id, cat, [p[0] for p in pairs],
                                      None if amodal is None else [p[1] for p in pairs], where=where)
            if added is None:
                result.notes.append(f"{clip.name}: fish {f['id']} is empty on every frame; skipped")
    result.dataset = builder.to_dict(src)
    return result


def _remember_shape(frames: Any, shapes: List[Tuple[int, int]]) -> Any:
    """Pass frames through, recording the first frame's (H, W) into `shapes`."""
    for frame in frames:
        if not shapes:
            shapes.append(frame.shape[:2])
        yield frame
