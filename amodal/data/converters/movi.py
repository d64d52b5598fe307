"""MOVi / MOViD-Amodal (Kubric renders) -> native.

SRC is a folder of video folders (or `SRC/{mode}/` when that exists, or one video folder):
    <vid>/metadata.json                 {"metadata": {num_frames, height, width}, "instances": [...]}
    <vid>/rgba_full_{F:05d}.png         the frame (RGBA; alpha is dropped when read)
    <vid>/segmentation_full_{F:05d}.png visible instance ids: 0 background, object k has value k+1
    <vid>/segmentation_{K}_{F:05d}.png  amodal mask of object K (any non-zero pixel)
Frames are referenced in place (image root = the folder holding the video folders). Category
names come from each instance's "category" or "shape" field ("object" when neither exists).
A missing amodal file leaves that object-frame's amodal mask null.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from amodal.data.converters.common import (
    ConversionResult, ConvertOptions, DatasetBuilder, copy_frames, load_json,
    natural_key, pair_frame, progress_bar, require, require_dir,
)
from amodal.errors import FormatError
from amodal.utils.masks import encode_rle

_AMODAL_RE = re.compile(r"segmentation_(\d+)_(\d+)\.png$")


def _video_dirs(src: Path, mode: str) -> Tuple[Path, List[Path]]:
    """(image root, video folders)."""
    require_dir(src, "MOVi source folder")
    if (src / "metadata.json").is_file():
        return src.parent, [src]
    root = src / mode if (src / mode).is_dir() else src
    vids = sorted((p for p in root.iterdir() if (p / "metadata.json").is_file()), key=lambda p: natural_key(p.name))
    if not vids:
        raise FormatError(f"MOVi source {root} has no <video>/metadata.json folders")
    return root, vids


def read_label_png(path: Path) -> np.ndarray:
    """Read a label PNG as integer values (H, W): palette indices for paletted files.

    Raises:
        FormatError: missing file, or a colour image whose channels differ.
    """
    from PIL import Image

    if not path.is_file():
        raise FormatError(f"missing file {path}")
    try:
        with Image.open(path) as img:
            arr = np.array(img)
    except OSError as exc:
        raise FormatError(f"{path}: not a readable PNG ({exc})") from None
    if arr.ndim == 3:
        if arr.shape[2] == 4:
            arr = arr[..., :3]
        if not (np.all(arr[..., 0] == arr[..., 1]) and np.all(arr[..., 0] == arr[..., 2])):
            raise FormatError(f"{path}: colour label image; expected one id per pixel")
        arr = arr[..., 0]
    return arr.astype(np.int64)


def _category_name(inst: Any) -> str:
    if isinstance(inst, dict):
        for key in ("category", "shape"):
            if inst.get(key) is not None:
                return str(inst[key])
    return "object"


def _read_meta(path: Path) -> Tuple[int, int, int, list]:
    meta = load_json(path)
    info = require(meta, "metadata", str(path))
    try:
        n = int(require(info, "num_frames", f"{path}: 'metadata'"))
        h = int(require(info, "height", f"{path}: 'metadata'"))
        w = int(require(info, "width", f"{path}: 'metadata'"))
    except (TypeError, ValueError):
        raise FormatError(f"{path}: 'metadata' num_frames/height/width must be integers") from None
    instances = require(meta, "instances", str(path))
    if not isinstance(instances, list):
        raise FormatError(f"{path}: 'instances' is not a list")
    if n <= 0 or h <= 0 or w <= 0:
        raise FormatError(f"{path}: 'metadata' num_frames/height/width must be positive")
    return n, h, w, instances


def _convert_video(vdir: Path, builder: DatasetBuilder, root: Path, opts: ConvertOptions,
                   result: ConversionResult) -> None:
    n, h, w, instances = _read_meta(vdir / "metadata.json")
    amodal_files: Dict[Tuple[int, int], Path] = {}
    for p in vdir.iterdir():
        m = _AMODAL_RE.match(p.name)
        if m:
            amodal_files[(int(m.group(1)), int(m.group(2)))] = p
    k = len(instances)
    visible: List[List[Optional[dict]]] = [[None] * n for _ in range(k)]
    amodal: List[List[Optional[dict]]] = [[None] * n for _ in range(k)]
    missing = 0
    for f in range(n):
        frame = vdir / f"rgba_full_{f:05d}.png"
        if not frame.is_file():
            raise FormatError(f"missing file {frame} (metadata.json says {n} frames)")
        seg_path = vdir / f"segmentation_full_{f:05d}.png"
        seg = read_label_png(seg_path)
        if seg.shape != (h, w):
            raise FormatError(f"{seg_path}: size {seg.shape[0]}x{seg.shape[1]}, metadata.json says {h}x{w}")
        if seg.max() > k:
            raise FormatError(f"{seg_path}: instance value {int(seg.max())} but metadata.json lists {k} instances")
        for obj in range(k):
            vis = encode_rle(seg == obj + 1)
            path = amodal_files.get((obj, f))
            if path is None:
                missing += 1
                visible[obj][f], amodal[obj][f] = pair_frame(vis, None, amodal_known=False)
                continue
            amo_arr = read_label_png(path)
            if amo_arr.shape != (h, w):
                raise FormatError(f"{path}: size {amo_arr.shape[0]}x{amo_arr.shape[1]}, metadata.json says {h}x{w}")
            visible[obj][f], amodal[obj][f] = pair_frame(vis, encode_rle(amo_arr > 0))
    if missing:
        result.notes.append(f"{vdir.name}: {missing} object-frames without a segmentation_K_F file; amodal null")
    file_names = [f"{vdir.name}/rgba_full_{f:05d}.png" for f in range(n)]
    if opts.frames_out is not None:
        file_names = copy_frames(root, file_names, Path(opts.frames_out), vdir.name, opts.overwrite)
        result.frames_written += len(file_names)
    video_id = builder.add_video(file_names, width=w, height=h)
    for obj in range(k):
        cat = builder.category(_category_name(instances[obj]))
        builder.add_track(video_id, cat, visible[obj], amodal[obj], where=f"{vdir}: instance {obj}")


def convert(src: Path, opts: ConvertOptions) -> ConversionResult:
    """Convert a MOVi / MOViD-Amodal folder of Kubric renders."""
    root, vids = _video_dirs(Path(src), opts.mode)
    builder = DatasetBuilder("movi")
    result = ConversionResult(dataset={}, image_root=root)
    for vdir in progress_bar(vids, opts.progress, "movi", len(vids)):
        _convert_video(vdir, builder, root, opts, result)
    if opts.frames_out is not None:
        result.image_root = Path(opts.frames_out)
    result.dataset = builder.to_dict(src)
    return result
