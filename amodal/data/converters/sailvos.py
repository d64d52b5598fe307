"""SAIL-VOS, as Diffusion-VAS uses it -> native.

SRC is the JSON file: a list of samples, each one object over a window of frames:
    {"segmentation": [amodal RLE per frame], "visible_mask": [RLE per frame], "bbox": [...],
     "image_ids": [...], "obj_id": int, "category_id": int, "image_file_names": ["<video>/<frame>", ...]}
Samples are grouped into videos by the folder of their frame files; a video's frames are the
union of its samples' frames in file-name order (frames no sample covers are not in the
video). One track per (video, obj_id): overlapping windows are merged, the first sample wins
where two disagree. File names are kept as given, relative to the image root (the folder the
samples' paths start from; default: the JSON's folder). Category names are the ids as text.
"""
from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from amodal.data.converters.common import (
    ConversionResult, ConvertOptions, DatasetBuilder, FrameSize, copy_frames, load_json, natural_key,
    pair_frame, progress_bar, require, require_int, require_list, video_name_from,
)
from amodal.errors import FormatError

_KEYS = ("segmentation", "visible_mask", "image_file_names", "obj_id", "category_id")


def _norm_name(name: Any, where: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise FormatError(f"{where}: frame file name {name!r} is not a path")
    return posixpath.normpath(name.replace("\\", "/")).lstrip("/")


def _read_samples(path: Path) -> list:
    samples = load_json(path)
    if not isinstance(samples, list):
        raise FormatError(f"{path}: expected a list of samples, got {type(samples).__name__}")
    if not samples:
        raise FormatError(f"{path}: the list of samples is empty; nothing to convert")
    return samples


def _read_sample(s: Any, where: str) -> Tuple[str, List[str], list, list, int, int]:
    """(video folder, frame names, visible RLEs, amodal RLEs, obj_id, category_id) of a sample."""
    for key in _KEYS:
        require(s, key, where)
    names = [_norm_name(n, where) for n in require_list(s, "image_file_names", where)]
    segs, vis = require_list(s, "segmentation", where), require_list(s, "visible_mask", where)
    if not names:
        raise FormatError(f"{where}: 'image_file_names' is empty")
    if len(segs) != len(names) or len(vis) != len(names):
        raise FormatError(f"{where}: 'segmentation', 'visible_mask' and 'image_file_names' "
                          "must be lists of the same length")
    folders = {posixpath.dirname(n) for n in names}
    if len(folders) != 1:
        raise FormatError(f"{where}: 'image_file_names' span several folders {sorted(folders)}")
    return (folders.pop(), names, vis, segs, require_int(s, "obj_id", where),
            require_int(s, "category_id", where))


def convert(src: Path, opts: ConvertOptions) -> ConversionResult:
    """Convert a Diffusion-VAS SAIL-VOS sample file."""
    path = Path(src)
    if path.is_dir():
        raise FormatError(f"SAIL-VOS source {path} is a folder; give the samples JSON file")
    samples = _read_samples(path)
    root = Path(opts.image_root) if opts.image_root is not None else path.parent
    frames: Dict[str, set] = {}
    sizes: Dict[str, FrameSize] = {}
    tracks: Dict[Tuple[str, int], Dict[str, Any]] = {}
    conflicts = 0
    for i, s in enumerate(samples):
        where = f"{path}: sample {i}"
        folder, names, vis, segs, obj_id, cat_id = _read_sample(s, where)
        frames.setdefault(folder, set()).update(names)
        frame = sizes.setdefault(folder, FrameSize())
        track = tracks.setdefault((folder, obj_id), {"category_id": cat_id, "frames": {}, "where": where})
        for t, name in enumerate(names):
            pair = (frame.rle(vis[t], f"{where} 'visible_mask'[{t}]"),
                    frame.rle(segs[t], f"{where} 'segmentation'[{t}]"))
            old = track["frames"].get(name)
            if old is None:
                track["frames"][name] = pair
            elif old[0]["counts"] != pair[0]["counts"] or old[1]["counts"] != pair[1]["counts"]:
                conflicts += 1

    builder = DatasetBuilder("sailvos")
    result = ConversionResult(dataset={}, image_root=root)
    if conflicts:
        result.notes.append(f"{conflicts} object-frames given differently by overlapping samples; kept the first")
    folders = sorted(frames, key=natural_key)
    for folder in progress_bar(folders, opts.progress, "sailvos", len(folders)):
        names = sorted(frames[folder], key=natural_key)
        index = {n: t for t, n in enumerate(names)}
        objs = sorted(obj for (f, obj) in tracks if f == folder)
        height, width = sizes[folder].size
        file_names = names
        if opts.frames_out is not None:
            file_names = copy_frames(root, names, Path(opts.frames_out), video_name_from(folder), opts.overwrite)
            result.frames_written += len(file_names)
        video_id = builder.add_video(file_names, width=width, height=height)
        for obj in objs:
            track = tracks[(folder, obj)]
            visible: List[Optional[dict]] = [None] * len(names)
            amodal: List[Optional[dict]] = [None] * len(names)
            for name, (v, a) in track["frames"].items():
                visible[index[name]], amodal[index[name]] = pair_frame(v, a)
            cat = builder.category(str(track["category_id"]), track["category_id"])
            builder.add_track(video_id, cat, visible, amodal, where=f"{track['where']} (obj_id {obj})")
    if opts.frames_out is not None:
        result.image_root = Path(opts.frames_out)
    result.dataset = builder.to_dict(path)
    return result
