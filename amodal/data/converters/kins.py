"""KINS-Video-Car (as released with SaVos) -> native.

SRC is the KINS-Video-Car root:
    car_data/{mode}_data.pkl            video -> obj -> t -> {"VM": RLE, "VM_bbox", "loss_mask"}
    car_data/{mode}_data_full_mask.pkl  video -> obj -> t -> {"FM": RLE}   (optional)
    Kitti/raw_video/<date>/<video>/<N>.png   KITTI raw frames; <date> = first 3 "_" parts
                                             of the video name, frames sorted by number
SRC may also be the `car_data` folder itself; then `image_root` (the `raw_video` folder) must be
given. Frame t of a track is the t-th frame of the sorted folder.

Amodal truth exists only on frames KINS annotates: a frame missing from the full-mask pickle, or
whose "FM" is empty (the release stores all-zero masks there), gets a null amodal mask.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional

from amodal.data.converters.common import (
    ConversionResult, ConvertOptions, DatasetBuilder, FrameSize, copy_frames, natural_key, pair_frame,
    progress_bar, require, require_dir, rle_box_area, safe_load_pickle,
)
from amodal.errors import FormatError


def _locate(src: Path, opts: ConvertOptions) -> tuple:
    """(car_data folder, raw_video image root)."""
    require_dir(src, "KINS-Video-Car source folder")
    if (src / "car_data").is_dir():
        car = src / "car_data"
        default_root = src / "Kitti" / "raw_video"
    elif (src / f"{opts.mode}_data.pkl").is_file():
        car, default_root = src, None
    else:
        raise FormatError(f"KINS-Video-Car source {src} has no car_data/ folder "
                          f"(nor {opts.mode}_data.pkl)")
    root = Path(opts.image_root) if opts.image_root is not None else default_root
    if root is None:
        raise FormatError(f"{src} is a car_data folder: give the KITTI raw_video folder as image root")
    require_dir(root, "KITTI raw_video folder")
    return car, root


def _lookup(d: Dict[Any, Any], key: Any) -> Any:
    """`d[key]`, also trying the key as int or str (pickles differ in key types)."""
    if key in d:
        return d[key]
    for alt in (str(key), _as_int(key)):
        if alt is not None and alt in d:
            return d[alt]
    return None


def _as_int(key: Any) -> Optional[int]:
    try:
        return int(key)
    except (TypeError, ValueError):
        return None


def _frame_files(folder: Path) -> List[str]:
    names = [p.name for p in folder.iterdir() if p.suffix.lower() == ".png"]
    return sorted(names, key=natural_key)


def convert(src: Path, opts: ConvertOptions) -> ConversionResult:
    """Convert KINS-Video-Car `{mode}` split; frames are referenced under the raw_video root."""
    car, root = _locate(Path(src), opts)
    pkl = car / f"{opts.mode}_data.pkl"
    data = safe_load_pickle(pkl)
    if not isinstance(data, dict):
        raise FormatError(f"{pkl}: expected a dict keyed by video name, got {type(data).__name__}")
    full_pkl = car / f"{opts.mode}_data_full_mask.pkl"
    full: Optional[Dict[Any, Any]] = None
    result = ConversionResult(dataset={}, image_root=root)
    if full_pkl.is_file():
        full = safe_load_pickle(full_pkl)
        if not isinstance(full, dict):
            raise FormatError(f"{full_pkl}: expected a dict keyed by video name, got {type(full).__name__}")
    else:
        result.notes.append(f"no {full_pkl.name} beside {pkl.name}: amodal masks left out")

    builder = DatasetBuilder("kins")
    car_id = builder.category("car", 1)
    videos = sorted(data, key=lambda v: natural_key(str(v)))
    for video in progress_bar(videos, opts.progress, "kins", len(videos)):
        vname = str(video)
        objs = data[video]
        if not isinstance(objs, dict):
            raise FormatError(f"{pkl}: video {vname!r}: expected a dict of objects")
        date = "_".join(vname.split("_")[:3])
        rel = f"{date}/{vname}"
        folder = root / rel
        if not folder.is_dir():
            raise FormatError(f"{pkl}: video {vname!r} has no frame folder {folder}")
        names = _frame_files(folder)
        if not names:
            raise FormatError(f"frame folder {folder} has no .png frames")
        full_objs = _lookup(full, video) if full is not None else None
        if full is not None and full_objs is None:
            result.notes.append(f"video {vname}: not in {full_pkl.name}; amodal left null")
        elif full_objs is not None and not isinstance(full_objs, dict):
            raise FormatError(f"{full_pkl}: video {vname!r}: expected a dict of objects")
        tracks, frame = [], FrameSize()
        for obj in sorted(objs, key=lambda o: natural_key(str(o))):
            where = f"{pkl}: video {vname!r} object {obj!r}"
            full_frames = _lookup(full_objs, obj) if isinstance(full_objs, dict) else None
            tracks.append((where, *_kins_track(objs[obj], full_frames, where, full_pkl, len(names),
                                               amodal=full is not None, frame=frame)))
        sizes = [r["size"] for _, vis, _ in tracks for r in vis if r is not None]
        if not sizes:
            raise FormatError(f"{pkl}: video {vname!r} has no visible masks")
        file_names = [f"{rel}/{n}" for n in names]
        if opts.frames_out is not None:
            file_names = copy_frames(root, file_names, Path(opts.frames_out), vname, opts.overwrite)
            result.frames_written += len(file_names)
        video_id = builder.add_video(file_names, width=sizes[0][1], height=sizes[0][0])
        for where, visible, amodal in tracks:
            builder.add_track(video_id, car_id, visible, amodal, where=where)
    if opts.frames_out is not None:
        result.image_root = Path(opts.frames_out)
    result.dataset = builder.to_dict(pkl)
    return result


def _kins_track(frames: Any, full_frames: Any, where: str, full_pkl: Path, length: int,
                amodal: bool, frame: FrameSize) -> tuple:
    """(visible RLEs, amodal RLEs or None) per frame of one car; RLEs are read through `frame`,
    the size check shared by the video's cars."""
    if not isinstance(frames, dict) or not frames:
        raise FormatError(f"{where}: expected a non-empty dict of frames")
    visible: List[Optional[dict]] = [None] * length
    amodals: List[Optional[dict]] = [None] * length
    for t_key, rec in frames.items():
        t = _as_int(t_key)
        if t is None or t < 0:
            raise FormatError(f"{where}: frame key {t_key!r} is not a frame index")
        if t >= length:
            raise FormatError(f"{where} frame {t}: the video folder has only {length} frames")
        vm = frame.rle(require(rec, "VM", f"{where} frame {t}"), f"{where} frame {t} 'VM'")
        fm = None
        if isinstance(full_frames, dict):
            frec = _lookup(full_frames, t)
            if frec is not None:
                fwhere = f"{full_pkl}: {where.split(': ', 1)[1]} frame {t}"
                fm = frame.rle(require(frec, "FM", fwhere), f"{fwhere} 'FM'")
                if rle_box_area(fm)[1] == 0:
                    fm = None  # the release marks frames without KINS truth with empty masks
        visible[t], amodals[t] = pair_frame(vm, fm, amodal_known=fm is not None)
    return visible, (amodals if amodal else None)
