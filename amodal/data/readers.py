"""Frame readers: one iterator of `Frame(index, timestamp, image RGB uint8 (H, W, 3))` for

- video files (.mp4 .avi .mkv .webm .mov ...): decord, lazy with random access (default), or
  OpenCV, sequential and a little lighter (`backend="opencv"`);
- frame folders (images sorted naturally by name) and lists of image paths;
- live sources: a camera index or a stream URL (rtsp://, http://, ...) through OpenCV.

`open_source(source)` picks the reader. Every reader decodes one frame at a time, so memory does
not grow with the video. Problems raise `VideoReadError` with one line naming the file; the
noise FFmpeg prints on stderr while probing ("moov atom not found", ...) is captured and folded
into that message. Readers are not thread-safe: use one per thread.
"""
from __future__ import annotations

import logging
import math
import os
import re
import sys
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from amodal.errors import InputError, VideoReadError
from amodal.types import Frame
from amodal.utils.decord_import import import_decord

log = logging.getLogger(__name__)
PathLike = Union[str, Path]
Source = Union[int, str, Path, Sequence[PathLike]]

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg", ".ts", ".wmv")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
DEFAULT_FPS = 30.0


class FrameIndexError(VideoReadError, IndexError):
    """A frame index outside the readable frames of a source."""


# ----------------------------------------------------------------------------- native stderr

_STDERR_LOCK = threading.RLock()


@contextmanager
def captured_native_stderr() -> Iterator[List[str]]:
    """Send what native code writes to file descriptor 2 into a list of lines (filled on exit).

    FFmpeg and OpenCV write straight to fd 2, bypassing `sys.stderr`. Output of other threads
    in the same window is captured too, so keep the window short.
    """
    lines: List[str] = []
    with _STDERR_LOCK:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError, AttributeError):
            yield lines  # no usable fd 2: nothing to capture
            return
        tmp = tempfile.TemporaryFile()
        try:
            os.dup2(tmp.fileno(), 2)
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            text = tmp.read().decode("utf-8", "replace")
            tmp.close()
            lines.extend(line.strip() for line in text.splitlines() if line.strip())


_KNOWN_REASONS = [
    ("moov atom not found", "no 'moov' index (an unfinished or truncated mp4, or not a video)"),
    ("cannot find video stream", "no video stream in the file"),
    ("Invalid data found when processing input", "not a video file (invalid data)"),
    ("End of file", "the file ends early (truncated)"),
    ("Permission denied", "permission denied"),
    ("can't open camera by index", "no such camera, or it is busy"),
    ("can't be used to capture by name", "FFmpeg cannot read it (not a video, or damaged)"),
]


def native_reason(lines: Sequence[str], exc: Optional[BaseException] = None, default: str = "unknown error") -> str:
    """One short reason out of captured native stderr lines and an exception message."""
    text = list(lines) + ([str(exc)] if exc is not None else [])
    for needle, reason in _KNOWN_REASONS:
        if any(needle in line for line in text):
            return reason
    cleaned = []
    for line in text:
        line = re.sub(r"\[[^\]]*@ ?0x[0-9a-fA-F]+\]\s*", "", line)  # "[mov,mp4 @ 0x55...] "
        line = re.sub(r"^\[[\d:]+\]\s*\S+:\d+:\s*", "", line)  # decord "[05:04:12] file.cc:86: "
        line = re.sub(r"^\[\s*WARN:[^\]]*\]\s*", "", line)  # OpenCV "[ WARN:0@0.01] "
        line = " ".join(line.split())
        if line and line not in cleaned:
            cleaned.append(line)
    return "; ".join(cleaned[:2])[:240] or default


_DEVNULL: Optional[int] = None


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Drop fd-2 output during one decode call (cheaper than capturing it)."""
    global _DEVNULL
    with _STDERR_LOCK:
        try:
            if _DEVNULL is None:
                _DEVNULL = os.open(os.devnull, os.O_WRONLY)
            saved = os.dup(2)
        except OSError:
            yield
            return
        os.dup2(_DEVNULL, 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


# ----------------------------------------------------------------------------- base


class FrameSource(ABC):
    """A source of RGB frames. Iterate it, index it (files and folders) and close it.

    Attributes:
        name: the file, folder, camera or URL, as used in messages.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._closed = False
        self._fps: float = DEFAULT_FPS  # set by each source once it has opened
        self._size: Tuple[int, int] = (0, 0)

    @property
    def fps(self) -> float:
        """Frames per second (nominal for live sources)."""
        return self._fps

    @property
    def size(self) -> Tuple[int, int]:
        """Frame size (W, H)."""
        return self._size

    @property
    def num_frames(self) -> Optional[int]:
        """Number of frames, or None for live sources."""
        return None

    @property
    def is_live(self) -> bool:
        return self.num_frames is None

    def __len__(self) -> int:
        n = self.num_frames
        if n is None:
            raise TypeError(f"{self.name}: a live source has no length")
        return n

    def __getitem__(self, index: int) -> Frame:
        """Frame `index` (negative counts from the end). Random access on files and folders."""
        self._check_open()
        if self.num_frames is None:
            raise TypeError(f"{self.name}: a live source has no random access")
        if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
            raise TypeError(f"frame index must be an integer, got {type(index).__name__}")
        n = self.num_frames
        i = int(index) + n if index < 0 else int(index)
        if not 0 <= i < n:
            raise FrameIndexError(f"{self.name}: frame {index} is out of range{self._range_hint()}")
        return self._read(i)

    def __iter__(self) -> Iterator[Frame]:
        """Frames in order, one decoded at a time."""
        self._check_open()
        for i in range(len(self)):
            yield self[i]

    def _range_hint(self) -> str:
        return f" (the source has {self.num_frames} frames)"

    def _read(self, i: int) -> Frame:
        raise NotImplementedError

    def _check_open(self) -> None:
        if self._closed:
            raise VideoReadError(f"{self.name}: the source is closed")

    def _check_size(self, image: np.ndarray, where: str) -> np.ndarray:
        w, h = self.size
        if image.shape[:2] != (h, w):
            raise VideoReadError(f"{where}: frame size changed from {w}x{h} to {image.shape[1]}x{image.shape[0]}")
        return image

    def close(self) -> None:
        """Release the decoder. Further reads raise VideoReadError."""
        self._closed = True

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


def _check_file(path: Path) -> None:
    if not path.exists():
        raise VideoReadError(f"{path}: no such file")
    if path.is_dir():
        raise VideoReadError(f"{path}: is a folder, expected a video file")
    if path.stat().st_size == 0:
        raise VideoReadError(f"{path}: empty file (0 bytes)")


# ----------------------------------------------------------------------------- video files


class VideoFileSource(FrameSource):
    """A video file read with decord: lazy, random access, one frame decoded at a time.

    Timestamps come from the container (seconds from the first frame); with `fps` given they
    are `index / fps` instead. A truncated file exposes the frames before the damage.
    """

    def __init__(self, path: PathLike, fps: Optional[float] = None, num_threads: int = 1) -> None:
        decord = import_decord()
        path = Path(path)
        super().__init__(str(path))
        _check_file(path)
        logging_api = getattr(decord, "logging", None)
        with captured_native_stderr() as lines:
            if logging_api is not None:  # FFmpeg's log level is global: loud while probing, to explain failures
                logging_api.set_level(logging_api.INFO)
            try:
                vr = decord.VideoReader(str(path), ctx=decord.cpu(0), num_threads=num_threads)
                n = len(vr)
                first = vr[0].asnumpy() if n > 0 else None
                t0 = float(vr.get_frame_timestamp(0)[0]) if n > 0 else 0.0
                avg_fps = float(vr.get_avg_fps())
            except Exception as exc:  # decord raises DECORDError / RuntimeError
                error: Optional[Exception] = exc
            else:
                error = None
            if logging_api is not None:  # then quiet: decord decodes ahead in its own thread
                logging_api.set_level(logging_api.QUIET)
        if error is not None:
            raise VideoReadError(f"{path}: cannot open video: {native_reason(lines, error)}") from None
        if n == 0 or first is None:
            raise VideoReadError(f"{path}: the video has no frames")
        self._vr = vr
        self._n = n
        self._t0 = t0
        self._size = (int(first.shape[1]), int(first.shape[0]))
        self._fixed_fps = fps
        self._fps = float(fps) if fps else (avg_fps if math.isfinite(avg_fps) and avg_fps > 0 else DEFAULT_FPS)
        self.truncated = any("partial file" in line for line in lines)
        if self.truncated:
            log.warning("%s: the file looks truncated; %d frames are readable", path, n)

    @property
    def num_frames(self) -> int:
        return self._n

    def _range_hint(self) -> str:
        note = ", the file is truncated" if self.truncated else ""
        return f" ({self.name} has {self._n} readable frames{note})"

    def _read(self, i: int) -> Frame:
        try:
            with _quiet_stderr():
                image = self._vr[i].asnumpy()
                stamp = i / self._fixed_fps if self._fixed_fps else float(self._vr.get_frame_timestamp(i)[0]) - self._t0
        except Exception as exc:
            raise VideoReadError(f"{self.name}: cannot decode frame {i}: {native_reason([], exc)}") from None
        return Frame(i, stamp, np.ascontiguousarray(self._check_size(image, f"{self.name} frame {i}")))

    def close(self) -> None:
        with _quiet_stderr():  # tearing the decoder down can log about a damaged stream
            self._vr = None
        super().close()


_EXACT_COUNT = (".mp4", ".mov", ".m4v", ".avi")  # containers whose header lists every frame


class OpenCVFileSource(FrameSource):
    """A video file read with OpenCV: fast sequential reading; random access seeks.

    The frame count comes from the container. In .mp4/.mov/.m4v/.avi it lists every frame, and
    reading a listed frame that cannot be decoded (a truncated file) raises VideoReadError;
    elsewhere (.mkv, .webm, ...) it is an estimate from the duration, and iteration simply ends
    at the last decodable frame. Timestamps are `index / fps`.
    """

    def __init__(self, path: PathLike, fps: Optional[float] = None) -> None:
        import cv2

        path = Path(path)
        super().__init__(str(path))
        _check_file(path)
        with captured_native_stderr() as lines:
            cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
            ok, first = cap.read() if cap.isOpened() else (False, None)
        if not cap.isOpened():
            raise VideoReadError(f"{path}: cannot open video: {native_reason(lines)}")
        if not ok or first is None:
            cap.release()
            raise VideoReadError(f"{path}: the video has no frames")
        self._cv2 = cv2
        self._cap = cap
        self._next = 1
        self._first: Optional[np.ndarray] = first
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self._n = count if count > 0 else 1
        native_fps = float(cap.get(cv2.CAP_PROP_FPS))
        self._fps = float(fps) if fps else (native_fps if math.isfinite(native_fps) and native_fps > 0 else DEFAULT_FPS)
        self._size = (int(first.shape[1]), int(first.shape[0]))
        self._exact_count = path.suffix.lower() in _EXACT_COUNT

    @property
    def num_frames(self) -> int:
        return self._n

    def __iter__(self) -> Iterator[Frame]:
        self._check_open()
        i = 0
        while i < self._n:
            try:
                yield self[i]
            except VideoReadError:
                if self._exact_count or i == 0:
                    raise
                log.info("%s: %d frames decoded, the container estimated %d", self.name, i, self._n)
                self._n = i
                return
            i += 1

    def _read(self, i: int) -> Frame:
        cv2 = self._cv2
        if i == 0 and self._first is not None:
            bgr, self._first = self._first, None
        else:
            self._first = None
            with _quiet_stderr():
                if i != self._next:
                    self._cap.set(cv2.CAP_PROP_POS_FRAMES, i)
                ok, bgr = self._cap.read()
            if not ok or bgr is None:
                self._next = -1
                raise VideoReadError(f"{self.name}: cannot decode frame {i} of {self._n} "
                                     "(the file is truncated or damaged)")
        self._next = i + 1
        image = cv2.cvtColor(self._check_size(bgr, f"{self.name} frame {i}"), cv2.COLOR_BGR2RGB)
        return Frame(i, i / self._fps, image)

    def close(self) -> None:
        if getattr(self, "_cap", None) is not None:
            with _quiet_stderr():  # FFmpeg flushes (and may complain about) a damaged stream on release
                self._cap.release()
            self._cap = None
        super().close()


# ----------------------------------------------------------------------------- images


def read_image(path: PathLike) -> np.ndarray:
    """Read an image file as RGB uint8 (H, W, 3); grayscale is replicated, alpha dropped.

    Raises:
        VideoReadError: the file is missing or not a readable image.
    """
    import cv2

    path = Path(path)
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except (OSError, ValueError) as exc:
        reason = "no such file" if not path.exists() else "is a folder" if path.is_dir() else str(exc)
        raise VideoReadError(f"{path}: cannot read image: {reason}") from None
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if bgr is None:
        raise VideoReadError(f"{path}: not a readable image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def natural_key(name: str) -> Tuple:
    """Sort key that orders "frame2" before "frame10"."""
    parts = re.split(r"(\d+)", name)  # text at even positions, digit runs at odd ones
    return tuple(int(p) if k % 2 else p.lower() for k, p in enumerate(parts)), name


class ImageSequenceSource(FrameSource):
    """A list of image files played as a video; timestamps are `index / fps`.

    All images must have the size of the first; the first one that differs raises.
    """

    def __init__(self, paths: Sequence[PathLike], fps: Optional[float] = None, name: Optional[str] = None) -> None:
        self._paths = [Path(p) for p in paths]
        super().__init__(name or (str(self._paths[0].parent) if self._paths else "<empty image list>"))
        if not self._paths:
            raise VideoReadError(f"{self.name}: no images")
        self._fps = float(fps) if fps else DEFAULT_FPS
        first = read_image(self._paths[0])
        self._size = (int(first.shape[1]), int(first.shape[0]))

    @property
    def paths(self) -> List[Path]:
        return list(self._paths)

    @property
    def num_frames(self) -> int:
        return len(self._paths)

    def _read(self, i: int) -> Frame:
        path = self._paths[i]
        image = read_image(path)
        w, h = self._size
        if image.shape[:2] != (h, w):
            raise VideoReadError(f"{path}: image is {image.shape[1]}x{image.shape[0]}, "
                                 f"the sequence started at {w}x{h} ({self._paths[0].name})")
        return Frame(i, i / self._fps, image)


class FolderSource(ImageSequenceSource):
    """A folder of frames (.png .jpg .jpeg .bmp ...), in natural name order; hidden files skipped."""

    def __init__(self, folder: PathLike, fps: Optional[float] = None) -> None:
        folder = Path(folder)
        if not folder.is_dir():
            raise VideoReadError(f"{folder}: no such folder")
        try:
            names = [e.name for e in os.scandir(folder)
                     if e.is_file() and not e.name.startswith(".") and Path(e.name).suffix.lower() in IMAGE_EXTENSIONS]
        except OSError as exc:
            raise VideoReadError(f"{folder}: cannot list folder ({exc.strerror})") from None
        if not names:
            raise VideoReadError(f"{folder}: no image files ({' '.join(IMAGE_EXTENSIONS)}) in the folder")
        names.sort(key=natural_key)
        super().__init__([folder / n for n in names], fps, name=str(folder))


# ----------------------------------------------------------------------------- live


def _redact(url: str) -> str:
    return re.sub(r"//[^/@\s]+@", "//***@", url)


class LiveSource(FrameSource):
    """A camera (index) or a stream URL read with OpenCV; frames as they arrive.

    No length and no random access. Timestamps are seconds since the source was opened
    (`time.monotonic`). Iteration ends when the stream ends. A file path works too (useful in
    tests); it is then read at decoding speed, not in real time.
    """

    def __init__(self, source: Union[int, str], fps: Optional[float] = None, timeout_s: float = 10.0) -> None:
        import cv2

        is_camera = isinstance(source, int) and not isinstance(source, bool)
        super().__init__(f"camera {source}" if is_camera else _redact(str(source)))
        ms = int(timeout_s * 1000)
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
        with captured_native_stderr() as lines:
            cap = cv2.VideoCapture(source, cv2.CAP_ANY, params)
            opened = cap.isOpened()
            ok, first = cap.read() if opened else (False, None)
            self._t0 = time.monotonic()
        if not opened:
            what = ("no such camera, or it is busy" if is_camera
                    else native_reason(lines, default="cannot connect, or not a video stream"))
            raise VideoReadError(f"{self.name}: cannot open live source: {what}")
        if not ok or first is None:
            cap.release()
            raise VideoReadError(f"{self.name}: opened, but no frame arrived within {timeout_s:g} s")
        self._cv2 = cv2
        self._cap = cap
        self._pending: Optional[Tuple[float, np.ndarray]] = (0.0, first)
        self._index = 0
        native_fps = float(cap.get(cv2.CAP_PROP_FPS))
        self._fps = float(fps) if fps else (native_fps if math.isfinite(native_fps) and 0 < native_fps < 1000 else DEFAULT_FPS)
        self._size = (int(first.shape[1]), int(first.shape[0]))

    def read(self) -> Optional[Frame]:
        """The next frame, or None when the stream has ended."""
        self._check_open()
        if self._pending is not None:
            stamp, bgr = self._pending
            self._pending = None
        else:
            ok, bgr = self._cap.read()
            stamp = time.monotonic() - self._t0
            if not ok or bgr is None:
                return None
        frame = Frame(self._index, stamp, self._cv2.cvtColor(
            self._check_size(bgr, f"{self.name} frame {self._index}"), self._cv2.COLOR_BGR2RGB))
        self._index += 1
        return frame

    def __iter__(self) -> Iterator[Frame]:
        while True:
            frame = self.read()
            if frame is None:
                return
            yield frame

    def close(self) -> None:
        if getattr(self, "_cap", None) is not None:
            with _quiet_stderr():  # FFmpeg flushes (and may complain about) a damaged stream on release
                self._cap.release()
            self._cap = None
        super().close()


# ----------------------------------------------------------------------------- factory


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def open_source(source: Union[Source, FrameSource], fps: Optional[float] = None, backend: str = "decord") -> FrameSource:
    """Open a frame source, choosing the reader from the argument.

    Args:
        source: a camera index (int or digit string), a URL with "://", a video file, an image
            file, a folder of frames, or a list of image paths.
        fps: frame rate of folders and image lists (default 30); for video files it replaces
            the container's timestamps with index / fps; for live sources the nominal rate.
        backend: "decord" (random access, default) or "opencv" (sequential) for video files.

    Raises:
        VideoReadError: the source cannot be opened (the message names it).
    """
    if isinstance(source, FrameSource):
        return source
    if fps is not None and (isinstance(fps, (bool, str)) or not 0 < _as_float(fps) < math.inf):
        raise InputError(f"fps must be a positive number, got {fps!r}")
    if backend not in ("decord", "opencv"):
        raise InputError(f"unknown video backend {backend!r} (expected 'decord' or 'opencv')")
    if isinstance(source, (int, np.integer)) and not isinstance(source, bool):
        return LiveSource(int(source), fps)
    if isinstance(source, (list, tuple)):
        return ImageSequenceSource(source, fps)
    if not isinstance(source, (str, Path)):
        raise InputError(f"cannot open a frame source from {type(source).__name__}")
    text = str(source)
    if isinstance(source, str) and text.strip().isdigit():
        return LiveSource(int(text), fps)
    if "://" in text:
        return LiveSource(text, fps)
    path = Path(source)
    if not path.exists():
        raise VideoReadError(f"{path}: no such file or folder")
    if path.is_dir():
        return FolderSource(path, fps)
    suffix = path.suffix.lower()
    if suffix in IMAGE_EXTENSIONS:
        return ImageSequenceSource([path], fps)
    if suffix not in VIDEO_EXTENSIONS:
        raise VideoReadError(f"{path}: unsupported file type '{suffix}' (videos: {' '.join(VIDEO_EXTENSIONS)}; "
                             f"images: {' '.join(IMAGE_EXTENSIONS)}; or a folder of frames)")
    if backend == "opencv":
        return OpenCVFileSource(path, fps)
    return VideoFileSource(path, fps)
