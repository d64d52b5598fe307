"""Visible masks from elsewhere (another tracker, annotations) fed to inference.

Two inputs are understood, both read lazily one frame at a time:

- a folder of per-frame instance-id PNGs, as SAM2, Cutie, XMem and DAVIS write them: one PNG per
  frame, sorted by name (numbers in names compare numerically), pixel value = object id,
  0 = background; 8-bit grey, 16-bit grey, 1-bit and palette PNGs (palette indices are the ids).
  A folder holding one sub-folder per video is accepted when the video's name is known.
- a native JSON file (`amodal.data.format`): the video is the only one in the file, or the one
  whose name (or id) matches the source's name.

Each frame is a dict `{object id: bool mask (H, W)}`.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from amodal.errors import FormatError, InputError

MaskDict = Dict[int, np.ndarray]
Size = Tuple[int, int]  # (W, H)


def _natural_key(name: str) -> List[Union[int, str]]:
    return [int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", name)]


def read_instance_png(path: Union[str, Path]) -> np.ndarray:
    """Read an instance-id PNG keeping palette indices (PIL, not cv2, which maps palettes to colours).

    Returns:
        int64 (H, W) array of object ids, 0 = background.

    Raises:
        FormatError: unreadable file, or a colour (RGB/RGBA) image whose ids cannot be known.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as im:
            mode = im.mode
            if mode in ("P", "L", "1", "I", "I;16", "I;16B", "I;16L"):
                arr = np.array(im)
            else:
                raise FormatError(
                    f"mask PNG {path} is a {mode} colour image; expected instance ids "
                    "(8/16-bit grey or palette PNG, pixel value = object id, 0 = background)"
                )
    except (OSError, UnidentifiedImageError) as exc:
        raise FormatError(f"cannot read mask PNG {path}: {exc}") from None
    return arr.astype(np.int64)


def id_image_to_masks(ids: np.ndarray) -> MaskDict:
    """Split an instance-id image (H, W) into `{id: bool (H, W)}` (0 = background is skipped)."""
    return {int(v): ids == v for v in np.unique(ids) if v != 0}


class VisibleMaskSequence(Sequence[MaskDict]):
    """Per-frame visible masks read lazily: `len()`, `[i] -> {id: bool (H, W)}`, `size` (W, H)."""

    origin: str = ""

    @property
    def size(self) -> Size:  # pragma: no cover - abstract
        raise NotImplementedError

    def frame(self, index: int) -> MaskDict:  # pragma: no cover - abstract
        """The masks of frame `index` (0 <= index < len)."""
        raise NotImplementedError

    def __getitem__(self, index: Union[int, slice]) -> Any:  # type: ignore[override]
        """`[i]` (negative counts from the end, like a list) -> the frame's masks; `[a:b:c]` -> a lazy
        sequence of those frames (e.g. the first frames of a long video)."""
        if isinstance(index, slice):
            return MaskFrames(self, range(len(self))[index])
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"visible masks are indexed by frame number or slice, not {type(index).__name__}")
        n = len(self)
        i = int(index) + n if index < 0 else int(index)
        if not 0 <= i < n:
            raise IndexError(f"frame {index} of {n}")
        return self.frame(i)

    def __iter__(self) -> Iterator[MaskDict]:
        for i in range(len(self)):
            yield self.frame(i)


class MaskFrames(VisibleMaskSequence):
    """Some frames of another `VisibleMaskSequence` (what slicing it returns), still read lazily."""

    def __init__(self, source: VisibleMaskSequence, frames: range) -> None:
        self.source, self.frames = source, frames
        self.origin = source.origin
        self.video_id = getattr(source, "video_id", 1)

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def size(self) -> Size:
        return self.source.size

    def frame(self, index: int) -> MaskDict:
        return self.source.frame(self.frames[index])


class PngMaskFolder(VisibleMaskSequence):
    """A folder of instance-id PNGs, frame i = i-th file in natural name order."""

    def __init__(self, folder: Union[str, Path]) -> None:
        self.folder = Path(folder)
        self.origin = str(self.folder)
        self.files = sorted((p for p in self.folder.iterdir() if p.suffix.lower() == ".png"),
                            key=lambda p: _natural_key(p.name))
        if not self.files:
            raise FormatError(f"no PNG mask files in {self.folder}")
        self._size: Optional[Size] = None

    def __len__(self) -> int:
        return len(self.files)

    @property
    def size(self) -> Size:
        if self._size is None:
            from PIL import Image

            try:
                with Image.open(self.files[0]) as im:
                    self._size = (int(im.size[0]), int(im.size[1]))
            except OSError as exc:
                raise FormatError(f"cannot read mask PNG {self.files[0]}: {exc}") from None
        return self._size

    def frame(self, index: int) -> MaskDict:
        ids = read_instance_png(self.files[index])
        if (ids.shape[1], ids.shape[0]) != self.size:
            raise FormatError(
                f"mask PNG {self.files[index]} is {ids.shape[1]}x{ids.shape[0]}, but {self.files[0].name} "
                f"is {self.size[0]}x{self.size[1]}; all masks of a video must have one size"
            )
        return id_image_to_masks(ids)


class NativeVisibleMasks(VisibleMaskSequence):
    """Visible masks of one video of a native JSON file (RLE decoded per frame on access)."""

    def __init__(self, path: Union[str, Path], video_id: int, size: Size, tracks: Sequence[Tuple[int, list]]) -> None:
        """Args: tracks: (track id, per-frame RLE or None) pairs; size: (W, H)."""
        self.origin = f"{path} (video {video_id})"
        self.video_id = int(video_id)
        self._size = size
        self._tracks = list(tracks)
        lengths = {len(segs) for _, segs in self._tracks}
        self._length = max(lengths) if lengths else 0

    def __len__(self) -> int:
        return self._length

    @property
    def size(self) -> Size:
        return self._size

    def frame(self, index: int) -> MaskDict:
        from amodal.utils.masks import decode_rle

        out: MaskDict = {}
        for tid, segs in self._tracks:
            rle = segs[index] if index < len(segs) else None
            if rle is not None:
                out[int(tid)] = decode_rle(rle)
        return out


def load_visible_masks(path: Union[str, Path], video_name: Optional[str] = None) -> VisibleMaskSequence:
    """Open visible masks for one video.

    Args:
        path: a folder of instance-id PNGs (or of per-video sub-folders), or a native JSON file.
        video_name: the source's name (file stem or folder name), used to pick the video.

    Raises:
        FormatError: nothing readable at `path`, or the video cannot be chosen.
    """
    p = Path(path)
    if p.is_dir():
        has_png = any(c.suffix.lower() == ".png" for c in p.iterdir())
        if not has_png and video_name and (p / video_name).is_dir():
            return PngMaskFolder(p / video_name)
        if not has_png:
            hint = f" (nor a sub-folder {video_name}/)" if video_name else ""
            raise FormatError(f"no PNG mask files in {p}{hint}")
        return PngMaskFolder(p)
    if p.is_file() and p.suffix.lower() == ".json":
        return _load_native(p, video_name)
    if not p.exists():
        raise FormatError(f"visible masks not found: {p}")
    raise FormatError(f"visible masks {p}: expected a folder of PNGs or a native .json file")


def _load_native(path: Path, video_name: Optional[str]) -> NativeVisibleMasks:
    from amodal.data.format import load_dataset

    ds = load_dataset(path, read_amodal=False, check_files=False)
    videos = list(ds.videos)
    if not videos:
        raise FormatError(f"{path}: no videos")
    if len(videos) == 1:
        video = videos[0]
    else:
        # A file or folder name match wins over an id match ("00000.mp4" is video 1 in amodal synth output).
        matches = [v for v in videos if video_name is not None and video_name in _video_names(v)[1:]]
        if not matches:
            matches = [v for v in videos if video_name is not None and video_name == str(v.id)]
        if len(matches) > 1:
            raise FormatError(f"{path}: several videos match the source name {video_name!r}; give a file with one video")
        if not matches:
            names = ", ".join(sorted({n for v in videos for n in _video_names(v)})[:8])
            raise FormatError(
                f"{path} holds {len(videos)} videos and none matches the source name {video_name!r} "
                f"(known: {names}{', ...' if len(videos) > 8 else ''})"
            )
        video = matches[0]
    tracks = [(t.id, list(t.segmentations)) for t in ds.tracks(video.id)]
    seq = NativeVisibleMasks(path, video.id, (int(video.width), int(video.height)), tracks)
    seq._length = int(video.length)
    return seq


def _video_names(video) -> List[str]:
    """Names a native video answers to: its id, its mp4's stem, its frame folder's name."""
    names = [str(video.id)]
    if video.video_file:
        names.append(Path(video.video_file).stem)
    if video.file_names:
        names.append(Path(video.file_names[0]).parent.name)
    return [n for n in names if n]


def check_visible_masks(masks: Sequence[MaskDict], num_frames: Optional[int], size: Optional[Size], source: str) -> None:
    """Check that visible masks fit a video; raise `InputError` naming both when they do not.

    Args:
        masks: a `VisibleMaskSequence` or a list of per-frame dicts.
        num_frames: frame count of the source, or None when unknown (live sources).
        size: (W, H) of the source's frames, or None when unknown.
        source: the source's name for the message.
    """
    origin = getattr(masks, "origin", "") or "the given visible masks"
    if num_frames is not None and len(masks) != num_frames:
        raise InputError(f"{origin} has masks for {len(masks)} frames, but {source} has {num_frames} frames")
    msize = getattr(masks, "size", None)
    if msize is None and len(masks):
        first = next((m for m in masks[0].values()), None) if isinstance(masks[0], dict) else None
        msize = (first.shape[1], first.shape[0]) if first is not None else None
    if size is not None and msize is not None and tuple(msize) != tuple(size):
        raise InputError(
            f"{origin} masks are {msize[0]}x{msize[1]}, but the frames of {source} are {size[0]}x{size[1]}"
        )
