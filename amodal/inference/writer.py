"""Background writer of inference results.

`ResultWriter` takes `(image, FrameResult)` pairs from the inference loop and, on its own thread
behind a bounded queue, encodes the masks (RLE), draws the overlay video and writes per-frame PNG
masks, so decoding and inference are not held up by disk I/O. A failure on the writer thread is
raised in the caller's thread on its next `put` or at `close`.

Files in the output folder (all written atomically: a temporary file renamed into place):

- `predictions.json`: one record per track (YouTube-VIS results convention plus amodal fields),
  written by `amodal.data.format.save_predictions`.
- `overlay.mp4`: the overlay video (`amodal.viz.overlay.draw_overlay`), unless disabled.
- `masks/visible/<frame:05d>.png`: instance-id image, pixel value = track id, 0 = background
  (uint8, or uint16 when an id exceeds 255); where visible masks overlap, the front object wins.
- `masks/amodal/<frame:05d>/<id>.png`: one uint8 0/255 image per object (amodal masks overlap).
- `summary.json`: frames, objects, files, plus whatever the caller adds.
"""
from __future__ import annotations

import os
import queue
import threading
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import cv2
import numpy as np

from amodal.errors import OutputWriteError
from amodal.types import FrameResult
from amodal.utils.files import atomic_write_json, write_png
from amodal.utils.masks import encode_rle

PREDICTIONS_FILE = "predictions.json"
OVERLAY_FILE = "overlay.mp4"
SUMMARY_FILE = "summary.json"
MASKS_DIR = "masks"

_STOP = object()


class PredictionAccumulator:
    """Collects frame results into per-track records with RLE masks.

    Frames are numbered by arrival (0, 1, ...). Memory grows with the number of frames times
    objects, but only by the compact RLE strings.
    """

    def __init__(self, video_id: int = 1) -> None:
        self.video_id = int(video_id)
        self.num_frames = 0
        self.size: Tuple[int, int] = (0, 0)  # (H, W) of the masks
        self._tracks: Dict[int, Dict[int, Tuple[dict, dict, float, int, float]]] = {}

    def add(self, result: FrameResult) -> None:
        """Add one frame's result (masks bool (N, H, W))."""
        t = self.num_frames
        self.size = tuple(np.asarray(result.visible).shape[-2:])  # type: ignore[assignment]
        rank = {int(oid): r for r, oid in enumerate(result.depth_order)}
        n = len(result.object_ids)
        for k, oid in enumerate(result.object_ids):
            oid = int(oid)
            entry = (
                encode_rle(np.asarray(result.visible[k], dtype=bool)),
                encode_rle(np.asarray(result.amodal[k], dtype=bool)),
                float(result.occlusion[k]),
                rank.get(oid, n - 1),
                float(result.scores[k]),
            )
            self._tracks.setdefault(oid, {})[t] = entry
        self.num_frames += 1

    @property
    def track_ids(self) -> List[int]:
        return sorted(self._tracks)

    def tracks(self) -> list:
        """`amodal.data.format.PredictionTrack` records, one per track id, `None` where absent."""
        from amodal.data.format import PredictionTrack

        out = []
        h, w = self.size
        for oid in self.track_ids:
            per_frame = self._tracks[oid]
            seg: List[Optional[dict]] = [None] * self.num_frames
            amodal: List[Optional[dict]] = [None] * self.num_frames
            occ: List[Optional[float]] = [None] * self.num_frames
            depth: List[Optional[int]] = [None] * self.num_frames
            for t, (v, a, o, d, _) in per_frame.items():
                seg[t], amodal[t], occ[t], depth[t] = v, a, o, d
            score = float(np.mean([e[4] for e in per_frame.values()]))
            out.append(
                PredictionTrack(
                    video_id=self.video_id,
                    track_id=oid,
                    category_id=1,
                    score=score,
                    segmentations=seg,
                    amodal_segmentations=amodal,
                    occlusion=occ,
                    depth_ranks=depth,
                    height=h,
                    width=w,
                )
            )
        return out


def instance_id_image(result: FrameResult) -> np.ndarray:
    """Visible masks as one instance-id image (H, W): uint8 (uint16 if an id > 255), 0 = background.

    Objects are painted back to front (by `result.depth_order`), so the front one wins overlaps.
    """
    ids = [int(i) for i in result.object_ids]
    if ids and (min(ids) < 1 or max(ids) > 65535):
        raise OutputWriteError(f"track ids must be in 1..65535 to be written as PNG, got {ids}")
    h, w = np.asarray(result.visible).shape[-2:]
    dtype = np.uint16 if ids and max(ids) > 255 else np.uint8
    out = np.zeros((h, w), dtype=dtype)
    rank = {int(oid): r for r, oid in enumerate(result.depth_order)}
    for k in sorted(range(len(ids)), key=lambda k: -rank.get(ids[k], len(ids))):
        out[np.asarray(result.visible[k], dtype=bool)] = ids[k]
    return out


class ResultWriter:
    """Writes inference results of one video/stream on a background thread.

    Args:
        out_dir: output folder (must exist; see `amodal.utils.files.prepare_output_dir`).
        fps: frame rate of the overlay video (falls back to 30 when unknown).
        write_video: write `overlay.mp4`.
        save_png: write per-frame PNG masks under `masks/`.
        video_id: `video_id` of the prediction records.
        queue_size: bound of the queue; `put` blocks while it is full.
    """

    def __init__(
        self,
        out_dir: Union[str, Path],
        fps: Optional[float] = None,
        write_video: bool = True,
        save_png: bool = False,
        video_id: int = 1,
        queue_size: int = 8,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.fps = float(fps) if fps and fps > 0 else 30.0
        self.write_video = write_video
        self.save_png = save_png
        self.accumulator = PredictionAccumulator(video_id)
        self._queue: "queue.Queue[Any]" = queue.Queue(maxsize=max(1, queue_size))
        self._error: Optional[BaseException] = None
        self._video: Optional[cv2.VideoWriter] = None
        self._video_tmp = self.out_dir / f".{OVERLAY_FILE}.partial.mp4"
        self._closed = False
        self._summary: Dict[str, Any] = {}
        self._thread = threading.Thread(target=self._run, name="amodal-result-writer", daemon=True)
        self._thread.start()

    # -- producer side -----------------------------------------------------------------------
    def put(self, image: np.ndarray, result: FrameResult) -> None:
        """Queue one frame (RGB uint8 (H, W, 3)) and its result; blocks while the queue is full.

        Raises:
            The writer thread's error, if it failed (e.g. `OutputWriteError`).
        """
        if self._closed:
            raise RuntimeError("ResultWriter.put called after close()")
        while True:
            self._raise_if_failed()
            try:
                self._queue.put((image, result), timeout=0.2)
                return
            except queue.Full:
                if not self._thread.is_alive():
                    self._raise_if_failed()
                    raise RuntimeError("result writer thread stopped unexpectedly")

    def close(self, summary: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """Flush the queue, finalise all files and write `summary.json`.

        Args:
            summary: extra entries for `summary.json` (e.g. fps achieved, source, mode).

        Returns:
            The summary written.

        Raises:
            The writer thread's error, if it failed.
        """
        if not self._closed:
            self._closed = True
            self._queue.put(_STOP)
            self._thread.join()
            if self._video is not None:
                self._video.release()
                self._video = None
            if self._error is not None:
                self._remove_partial_video()
            self._raise_if_failed()
            self._summary = self._finalise(summary or {})
        else:
            self._raise_if_failed()
        return self._summary

    def abort(self) -> None:
        """Stop the thread without finalising; removes the partial overlay video."""
        if not self._closed:
            self._closed = True
            self._queue.put(_STOP)
            self._thread.join()
            if self._video is not None:
                self._video.release()
                self._video = None
        self._remove_partial_video()

    def _remove_partial_video(self) -> None:
        if self._video_tmp.exists():
            self._video_tmp.unlink()

    def __enter__(self) -> "ResultWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    # -- writer thread -----------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if self._error is not None:
                continue  # keep draining so the producer never blocks
            try:
                self._write(*item)
            except OSError as exc:
                self._error = OutputWriteError(f"cannot write results to {self.out_dir}: {exc}")
            except BaseException as exc:  # re-raised in the caller's thread
                self._error = exc

    def _write(self, image: np.ndarray, result: FrameResult) -> None:
        t = self.accumulator.num_frames
        self.accumulator.add(result)
        if self.write_video:
            self._write_video_frame(image, result)
        if self.save_png:
            self._write_pngs(t, result)

    def _write_video_frame(self, image: np.ndarray, result: FrameResult) -> None:
        from amodal.viz.overlay import draw_overlay

        h, w = image.shape[:2]
        if self._video is None:
            fourcc = cv2.VideoWriter_fourcc(*"mp4v")
            self._video = cv2.VideoWriter(str(self._video_tmp), fourcc, self.fps, (w, h))
            if not self._video.isOpened():
                raise OutputWriteError(f"cannot open video writer for {self.out_dir / OVERLAY_FILE}")
        overlay = draw_overlay(image, result)
        self._video.write(cv2.cvtColor(overlay, cv2.COLOR_RGB2BGR))

    def _write_pngs(self, t: int, result: FrameResult) -> None:
        write_png(self.out_dir / MASKS_DIR / "visible" / f"{t:05d}.png", instance_id_image(result))
        for k, oid in enumerate(result.object_ids):
            mask = np.asarray(result.amodal[k], dtype=bool).astype(np.uint8) * 255
            write_png(self.out_dir / MASKS_DIR / "amodal" / f"{t:05d}" / f"{int(oid)}.png", mask)

    # -- finalisation (caller's thread, after the writer thread stopped) -----------------------
    def _finalise(self, extra: Dict[str, Any]) -> Dict[str, Any]:
        from amodal.data.format import save_predictions

        files: Dict[str, str] = {}
        pred_path = self.out_dir / PREDICTIONS_FILE
        try:
            save_predictions(self.accumulator.tracks(), pred_path)
            files["predictions"] = str(pred_path)
            if self.write_video and self._video_tmp.exists():
                os.replace(self._video_tmp, self.out_dir / OVERLAY_FILE)
                files["overlay"] = str(self.out_dir / OVERLAY_FILE)
            if self.save_png and self.accumulator.num_frames:
                files["masks"] = str(self.out_dir / MASKS_DIR)
            files["summary"] = str(self.out_dir / SUMMARY_FILE)
            summary: Dict[str, Any] = {
                "frames": self.accumulator.num_frames,
                "objects": len(self.accumulator.track_ids),
                "track_ids": self.accumulator.track_ids,
                "files": files,
            }
            summary.update(extra)
            summary["files"] = {**files, **extra.get("files", {})}
            atomic_write_json(self.out_dir / SUMMARY_FILE, summary, indent=2)
        except OSError as exc:
            raise OutputWriteError(f"cannot write results to {self.out_dir}: {exc}") from None
        return summary
