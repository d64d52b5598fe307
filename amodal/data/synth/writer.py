"""Write one rendered video to disk (PNG frames, optional mp4) and build its native-format records.

Layout under the output folder, for the 0-based video index i (video id i + 1):
    frames/{i:05d}/{t:05d}.png   RGB frames (stored by OpenCV as BGR on disk, as PNG requires)
    videos/{i:05d}.mp4           the same frames, fourcc 'mp4v'
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import cv2
import numpy as np

from amodal.data.synth.scene import SynthVideo
from amodal.errors import OutputWriteError
from amodal.utils.files import write_png
from amodal.utils.masks import encode_rle, mask_bbox


def folder_name(index: int) -> str:
    """Frame folder / video file stem of 0-based video `index` (= video id - 1)."""
    return f"{index:05d}"


def frame_name(index: int, t: int) -> str:
    """Frame path relative to DIR/frames."""
    return f"{folder_name(index)}/{t:05d}.png"


def write_frames(frames: np.ndarray, out_dir: Path, index: int) -> None:
    """Write RGB frames (T, H, W, 3) uint8 as PNGs under out_dir/frames/<index>/."""
    folder = Path(out_dir) / "frames" / folder_name(index)
    for t, frame in enumerate(frames):
        write_png(folder / f"{t:05d}.png", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))


def write_mp4(frames: np.ndarray, out_dir: Path, index: int, fps: int) -> None:
    """Encode RGB frames (T, H, W, 3) to out_dir/videos/<index>.mp4 (written beside, then renamed)."""
    folder = Path(out_dir) / "videos"
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{folder_name(index)}.mp4"
    tmp = folder / f".{folder_name(index)}.tmp.mp4"
    h, w = frames.shape[1:3]
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), (w, h))
    if not writer.isOpened():
        free = shutil.disk_usage(folder).free
        raise OutputWriteError(f"cannot open an mp4 writer for {final} ({free / 1e6:.1f} MB free there; or OpenCV "
                               "without an mp4v encoder)")
    try:
        for frame in frames:
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
    os.replace(tmp, final)


def _track(masks: np.ndarray) -> Dict[str, List[Any]]:
    """Per-frame RLEs, boxes and areas of one object's masks (T, H, W); None where empty."""
    rles: List[Optional[dict]] = []
    boxes: List[Optional[List[float]]] = []
    areas: List[Optional[int]] = []
    for m in masks:
        area = int(np.count_nonzero(m))
        if area == 0:
            rles.append(None)
            boxes.append(None)
            areas.append(None)
        else:
            rles.append(encode_rle(m))
            boxes.append(mask_bbox(m))
            areas.append(area)
    return {"rles": rles, "boxes": boxes, "areas": areas}


def video_entry(index: int, n_frames: int, height: int, width: int, with_mp4: bool) -> Dict[str, Any]:
    """The native-format video record of 0-based video `index` (id index + 1) written by `write_frames`."""
    return {
        "id": index + 1,
        "width": int(width),
        "height": int(height),
        "length": int(n_frames),
        "file_names": [frame_name(index, t) for t in range(n_frames)],
        "video_file": f"videos/{folder_name(index)}.mp4" if with_mp4 else None,
    }


def object_records(video_id: int, visible: np.ndarray, amodal: np.ndarray, category_ids: Sequence[int]
                   ) -> List[Dict[str, Any]]:
    """Native-format annotations (ids unset) of N objects: visible, amodal bool (N, T, H, W).

    Objects whose amodal mask is empty in every frame are left out.
    """
    anns = []
    for k in range(len(category_ids)):
        full = _track(amodal[k])
        if all(r is None for r in full["rles"]):
            continue
        vis = _track(visible[k])
        anns.append({
            "video_id": int(video_id),
            "category_id": int(category_ids[k]),
            "iscrowd": 0,
            "segmentations": vis["rles"],
            "amodal_segmentations": full["rles"],
            "bboxes": vis["boxes"],
            "areas": vis["areas"],
            "amodal_bboxes": full["boxes"],
            "amodal_areas": full["areas"],
        })
    return anns


def video_records(video: SynthVideo, index: int, with_mp4: bool) -> Dict[str, Any]:
    """Native-format records of one video: {"video": {...}, "annotations": [...]} (annotation ids unset).

    Video id is index + 1. Objects whose amodal mask is empty in every frame are left out.
    """
    n_frames, h, w = video.frames.shape[:3]
    return {"video": video_entry(index, n_frames, h, w, with_mp4),
            "annotations": object_records(index + 1, video.visible, video.amodal, video.category_ids)}


def write_video(video: SynthVideo, out_dir: Path, index: int, with_mp4: bool, fps: int) -> Dict[str, Any]:
    """Write frames (and mp4) of one video and return its records (see `video_records`)."""
    write_frames(video.frames, out_dir, index)
    if with_mp4:
        write_mp4(video.frames, out_dir, index, fps)
    return video_records(video, index, with_mp4)
