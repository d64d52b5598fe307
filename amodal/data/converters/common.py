"""Shared pieces of the dataset converters.

- `ConvertOptions` / `ConversionResult`: what every `convert(src, options)` takes and returns.
- `DatasetBuilder`: assembles the native dict (videos, categories, per-frame tracks with boxes
  and areas computed from the RLEs) and checks lengths and sizes as it goes.
- `to_rle`: normalises the RLE spellings found in the benchmarks (string/bytes/list counts,
  `size` as a list or a JSON string, pycocotools' one-element lists) into string-count RLEs,
  checking that the counts decode and add up to H*W; `FrameSize` adds the check that every
  RLE of a video has the video's frame size.
- `require`, `require_int`, `require_str`, `require_list`, `index_by_id`: typed key look-ups
  whose errors name the source and the key (`amodal.data.format.FieldChecker`).
- `safe_load_pickle`: a restricted unpickler (builtins and numpy arrays only).
- Frame output helpers (`write_frames`, `copy_frames`) and `write_dataset`.

Null convention of the converted data, per object and frame:
- object absent (nothing visible, no amodal extent): visible and amodal are both null;
- object present but fully hidden: visible is an empty RLE, amodal is non-empty;
- amodal truth not available on that frame (KINS, missing files): amodal is null.
"""
from __future__ import annotations

import io
import json
import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
from pycocotools import mask as mask_utils

from amodal.data.format import FieldChecker
from amodal.data.native_masks import SegmentationError, normalize_segmentation
from amodal.errors import FormatError, OutputExistsError

RLE = Dict[str, Any]
PathLike = Union[str, Path]


@dataclass
class ConvertOptions:
    """Options shared by all converters.

    Attributes:
        mode: split to convert where the source has several ("train" or "test").
        frames_out: folder to write frames into as `<video>/<t:05d>.png`; required by sources
            that only have an mp4 (fishbowl-raw), optional elsewhere (then frames are copied
            as RGB PNGs instead of referenced in place).
        image_root: where the source's own frames are, for sources whose annotation files do
            not sit beside them (kins, sailvos, tao).
        overwrite: replace existing per-video frame folders.
        progress: show a tqdm bar on stderr.
    """

    mode: str = "train"
    frames_out: Optional[Path] = None
    image_root: Optional[Path] = None
    overwrite: bool = False
    progress: bool = False


@dataclass
class ConversionResult:
    """A converted dataset and where its frames are.

    Attributes:
        dataset: the native dict (`videos`, `categories`, `annotations`).
        image_root: the folder `file_names` are relative to (pass it as `--image-root`).
        notes: human-readable warnings (skipped files, missing renders, ...).
        frames_written: number of frame images the converter wrote.
    """

    dataset: Dict[str, Any]
    image_root: Path
    notes: List[str] = field(default_factory=list)
    frames_written: int = 0


# ----------------------------------------------------------------------------- RLE


def _parse_size(size: Any, where: str) -> Tuple[int, int]:
    if isinstance(size, str):  # the FISHBOWL generator writes "[320, 480]"
        try:
            size = json.loads(size)
        except ValueError:
            raise FormatError(f"{where}: RLE 'size' {size!r} is not [height, width]") from None
    if isinstance(size, np.ndarray):
        size = size.tolist()
    if not isinstance(size, (list, tuple)) or len(size) != 2:
        raise FormatError(f"{where}: RLE 'size' {size!r} is not [height, width]")
    try:
        h, w = int(size[0]), int(size[1])
    except (TypeError, ValueError):
        raise FormatError(f"{where}: RLE 'size' {size!r} is not [height, width]") from None
    if h <= 0 or w <= 0:
        raise FormatError(f"{where}: RLE 'size' {size!r} must be positive")
    return h, w


def to_rle(obj: Any, where: str, size: Optional[Tuple[int, int]] = None) -> RLE:
    """Normalise and check one RLE: `{"size": [H, W], "counts": str}`.

    Accepts a dict with `size` (list, tuple, array or JSON string) and `counts` (str, bytes or
    an uncompressed list), or a one-element list of such a dict (pycocotools `_mask.encode`).
    The counts must decode and add up to H*W pixels (`amodal.data.native_masks`), and with
    `size` (the frame's (H, W)) the RLE must be of that size.

    Raises:
        FormatError: naming `where` when the value is not a valid RLE.
    """
    if isinstance(obj, (list, tuple)) and len(obj) == 1 and isinstance(obj[0], dict):
        obj = obj[0]
    if not isinstance(obj, dict):
        raise FormatError(f"{where}: expected a COCO RLE dict, got {type(obj).__name__}")
    for key in ("size", "counts"):
        if key not in obj:
            raise FormatError(f"{where}: RLE has no '{key}' key")
    h, w = _parse_size(obj["size"], where)
    rle = {"size": [h, w], "counts": _plain_counts(obj["counts"], where)}
    try:
        return normalize_segmentation(rle, *(size or (None, None)))
    except SegmentationError as exc:
        raise FormatError(f"{where}: RLE {str(exc).lstrip('. ')}") from None


def _plain_counts(counts: Any, where: str) -> Union[str, List[Any]]:
    """RLE counts as a str or a list of Python ints (bytes decoded, arrays listed)."""
    if isinstance(counts, (bytes, bytearray)):
        try:
            return bytes(counts).decode("ascii")
        except UnicodeDecodeError:
            raise FormatError(f"{where}: RLE 'counts' bytes are not ASCII") from None
    if isinstance(counts, np.ndarray):
        counts = counts.tolist()
    if isinstance(counts, (list, tuple)):
        return [int(c) if isinstance(c, np.integer) else c for c in counts]
    if isinstance(counts, str):
        return counts
    raise FormatError(f"{where}: RLE 'counts' is {type(counts).__name__}, not str/bytes/list")


class FrameSize:
    """The frame size of one video, for reading its RLEs with one shared size check.

    Args:
        size: (H, W) when known up front (e.g. decoded frames); otherwise the first RLE read
            fixes it.
    """

    def __init__(self, size: Optional[Tuple[int, int]] = None) -> None:
        self.size = None if size is None else (int(size[0]), int(size[1]))

    def rle(self, obj: Any, where: str) -> RLE:
        """`to_rle(obj, where)`, refusing an RLE of another size than the video's."""
        rle = to_rle(obj, where, self.size)
        if self.size is None:
            self.size = (rle["size"][0], rle["size"][1])
        return rle


def rle_box_area(rle: RLE) -> Tuple[Optional[List[float]], int]:
    """COCO box [x, y, w, h] (None when empty) and pixel area of a string-count RLE."""
    coco = {"size": rle["size"], "counts": rle["counts"].encode("ascii")}
    area = int(mask_utils.area(coco))
    if area == 0:
        return None, 0
    return [float(v) for v in mask_utils.toBbox(coco)], area


# ----------------------------------------------------------------------------- builder


class DatasetBuilder:
    """Assembles a native dataset dict; ids start at 1.

    Args:
        source: short name of the source format (for messages).
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.videos: List[Dict[str, Any]] = []
        self.categories: List[Dict[str, Any]] = []
        self.annotations: List[Dict[str, Any]] = []
        self._cat_by_name: Dict[str, int] = {}

    def category(self, name: str, category_id: Optional[int] = None) -> int:
        """Id of category `name`, adding it (with `category_id` or the next free id) if new."""
        name = str(name)
        if name in self._cat_by_name:
            return self._cat_by_name[name]
        used = {c["id"] for c in self.categories}
        if category_id is None or category_id in used:
            category_id = max(used, default=0) + 1
        self.categories.append({"id": int(category_id), "name": name})
        self._cat_by_name[name] = int(category_id)
        return int(category_id)

    def add_video(self, file_names: Sequence[str], width: int, height: int,
                  video_file: Optional[str] = None) -> int:
        """Add a video of `len(file_names)` frames (paths relative to the image root)."""
        vid = len(self.videos) + 1
        video: Dict[str, Any] = {"id": vid, "width": int(width), "height": int(height),
                                 "length": len(file_names), "file_names": [str(f) for f in file_names]}
        if video_file is not None:
            video["video_file"] = str(video_file)
        self.videos.append(video)
        return vid

    def add_track(self, video_id: int, category_id: int, visible: Sequence[Optional[RLE]],
                  amodal: Optional[Sequence[Optional[RLE]]] = None, where: str = "",
                  bboxes: Optional[Sequence[Optional[List[float]]]] = None,
                  amodal_bboxes: Optional[Sequence[Optional[List[float]]]] = None,
                  iscrowd: int = 0) -> Optional[int]:
        """Add one object track; returns its id, or None if it has nothing on any frame.

        Args:
            video_id: id returned by `add_video`.
            category_id: id returned by `category`.
            visible: per frame a normalised RLE (see `to_rle`) or None; length = video length.
            amodal: same for amodal masks, or None when the source has none.
            where: source location for error messages.
            bboxes, amodal_bboxes: per-frame [x, y, w, h] boxes for box-only sources (then
                `visible`/`amodal` are all None); computed from the masks otherwise.
        """
        video = self.videos[video_id - 1]
        n, size = video["length"], [video["height"], video["width"]]
        segs = list(visible)
        amods = list(amodal) if amodal is not None else None
        for label, seq in (("visible masks", segs), ("amodal masks", amods),
                           ("boxes", bboxes), ("amodal boxes", amodal_bboxes)):
            if seq is not None and len(seq) != n:
                raise FormatError(f"{where}: {len(seq)} {label} for a video of {n} frames")
        for label, seq in (("visible", segs), ("amodal", amods or [])):
            for t, rle in enumerate(seq):
                if rle is not None and list(rle["size"]) != size:
                    raise FormatError(f"{where}: {label} mask of frame {t} is {rle['size'][0]}x"
                                      f"{rle['size'][1]}, the video is {size[0]}x{size[1]}")
        ann: Dict[str, Any] = {"id": len(self.annotations) + 1, "video_id": video_id,
                               "category_id": int(category_id), "iscrowd": int(iscrowd)}
        if bboxes is not None or amodal_bboxes is not None:
            ann["segmentations"] = [None] * n
            ann["amodal_segmentations"] = [None] * n
            ann["bboxes"] = [_box_or_none(b) for b in (bboxes or [None] * n)]
            ann["areas"] = [None if b is None else b[2] * b[3] for b in ann["bboxes"]]
            ann["amodal_bboxes"] = [_box_or_none(b) for b in (amodal_bboxes or [None] * n)]
            ann["amodal_areas"] = [None if b is None else b[2] * b[3] for b in ann["amodal_bboxes"]]
            present = ann["bboxes"] + ann["amodal_bboxes"]
        else:
            ann["segmentations"] = segs
            ann["bboxes"], ann["areas"] = _boxes_areas(segs)
            if amods is not None:
                ann["amodal_segmentations"] = amods
                ann["amodal_bboxes"], ann["amodal_areas"] = _boxes_areas(amods)
            present = segs + (amods or [])
        if all(p is None for p in present):
            return None
        self.annotations.append(ann)
        return ann["id"]

    def to_dict(self, src: PathLike) -> Dict[str, Any]:
        """The native dataset dict; a FormatError naming `src` when it has no video."""
        if not self.videos:
            raise FormatError(f"{src}: nothing to convert (no video with frames and annotations)")
        return {"videos": self.videos, "categories": sorted(self.categories, key=lambda c: c["id"]),
                "annotations": self.annotations}


def _box_or_none(box: Any) -> Optional[List[float]]:
    return None if box is None else [float(v) for v in box]


def _boxes_areas(rles: Sequence[Optional[RLE]]) -> Tuple[List[Optional[List[float]]], List[Optional[int]]]:
    boxes: List[Optional[List[float]]] = []
    areas: List[Optional[int]] = []
    for rle in rles:
        if rle is None:
            boxes.append(None)
            areas.append(None)
        else:
            box, area = rle_box_area(rle)
            boxes.append(box)
            areas.append(area)
    return boxes, areas


def pair_frame(visible: Optional[RLE], amodal: Optional[RLE],
               amodal_known: bool = True) -> Tuple[Optional[RLE], Optional[RLE]]:
    """Apply the null convention to one object-frame.

    Empty masks become null; a visible mask that is empty while the amodal one is not stays
    an empty RLE (object present but fully hidden). With `amodal_known=False` the amodal
    value is null (no truth on this frame) and an empty visible mask becomes null.
    """
    vis_area = rle_box_area(visible)[1] if visible is not None else 0
    amo_area = rle_box_area(amodal)[1] if amodal is not None else 0
    if not amodal_known or amodal is None:
        return (visible if vis_area > 0 else None), None
    if amo_area == 0 and vis_area == 0:
        return None, None
    return visible, (amodal if amo_area > 0 else None)


# ----------------------------------------------------------------------------- pickles

_SAFE_GLOBALS = {
    ("builtins", name) for name in
    ("dict", "list", "tuple", "set", "frozenset", "int", "float", "complex", "bool", "str",
     "bytes", "bytearray", "slice", "range")
} | {
    ("collections", "OrderedDict"), ("collections", "defaultdict"), ("_codecs", "encode"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
}


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, fh: Any, path: Path) -> None:
        super().__init__(fh, encoding="latin1")
        self._path = path

    def find_class(self, module: str, name: str) -> Any:
        checked = "builtins" if module == "__builtin__" else module  # Python 2 / protocol < 3 name
        if (checked, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        if module.startswith("numpy") and name.endswith("DType"):  # numpy 2 dtype classes
            return super().find_class(module, name)
        raise FormatError(f"{self._path}: refusing to unpickle {module}.{name} "
                          "(only builtin containers and numpy arrays are allowed)")


def safe_load_pickle(path: PathLike) -> Any:
    """Load a pickle that may contain only builtin containers/scalars and numpy arrays.

    Raises:
        FormatError: the file is missing, corrupt, or references any other global.
    """
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"missing file {path}")
    try:
        with open(path, "rb") as fh:
            return _RestrictedUnpickler(io.BufferedReader(fh), path).load()
    except FormatError:
        raise
    except Exception as exc:  # corrupt or truncated pickles raise many types
        raise FormatError(f"{path}: not a readable pickle ({type(exc).__name__}: {exc})") from None


def load_json(path: PathLike) -> Any:
    """Read a JSON file; a missing or invalid file raises FormatError naming it."""
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"missing file {path}")
    try:
        with open(path, "r", encoding="utf-8") as fh:
            return json.load(fh)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FormatError(f"{path}: invalid JSON ({exc})") from None


def require(d: Any, key: Any, where: str) -> Any:
    """`d[key]`, or a FormatError naming `where` and the key."""
    if not isinstance(d, dict):
        raise FormatError(f"{where}: expected a dict, got {type(d).__name__}")
    if key not in d:
        raise FormatError(f"{where}: missing key {key!r}")
    return d[key]


def require_int(d: Any, key: Any, where: str, minimum: Optional[int] = None) -> int:
    """`d[key]` as an integer (not a bool or fraction; at least `minimum`), else a FormatError."""
    return FieldChecker(where).integer(require(d, key, where), f"'{key}'", minimum)


def require_str(d: Any, key: Any, where: str) -> str:
    """`d[key]` if it is a string, else a FormatError naming `where` and the key."""
    return FieldChecker(where).string(require(d, key, where), f"'{key}'")


def require_list(d: Any, key: Any, where: str) -> List[Any]:
    """`d[key]` if it is a list, else a FormatError naming `where` and the key."""
    return FieldChecker(where).lst(require(d, key, where), f"'{key}'")


def index_by_id(items: Any, key: str, where: str) -> Dict[int, Dict[str, Any]]:
    """The entries of list `key` (dicts with an integer `id`, each id once), by id."""
    if not isinstance(items, list):
        raise FormatError(f"{where}: '{key}' is not a list")
    out: Dict[int, Dict[str, Any]] = {}
    seen: Dict[Any, str] = {}
    for i, item in enumerate(items):
        item_id = require_int(item, "id", f"{where}: {key}[{i}]")
        FieldChecker(where).unique(seen, item_id, f"{key}[{i}].id")
        out[item_id] = item
    return out


def natural_key(name: str) -> List[Any]:
    """Sort key that orders embedded numbers numerically ("f2" < "f10")."""
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def require_dir(path: Path, what: str) -> Path:
    """Raise FormatError naming `path` if it is not an existing folder."""
    if not path.is_dir():
        raise FormatError(f"{what} {path} does not exist or is not a folder")
    return path


# ----------------------------------------------------------------------------- output


def progress_bar(items: Iterable[Any], enabled: bool, desc: str, total: Optional[int] = None) -> Iterator[Any]:
    """Wrap `items` in a tqdm bar on stderr when `enabled`."""
    if not enabled:
        return iter(items)
    from tqdm import tqdm

    return iter(tqdm(items, desc=desc, total=total, unit="video", leave=False))


def write_frames(frames_bgr: Iterable[np.ndarray], folder: Path, overwrite: bool) -> List[str]:
    """Write BGR uint8 frames (H, W, 3) as `folder/<t:05d>.png`; returns the file names.

    An existing non-empty `folder` is refused unless `overwrite` (then it is emptied).
    """
    import cv2

    from amodal.utils.files import prepare_output_dir

    prepare_output_dir(folder, overwrite)
    names = []
    for t, frame in enumerate(frames_bgr):
        name = f"{t:05d}.png"
        if not cv2.imwrite(str(folder / name), frame):
            raise OutputExistsError(f"cannot write frame {folder / name}")
        names.append(name)
    return names


def read_image_bgr(path: Path) -> np.ndarray:
    """Read an image as BGR uint8 (H, W, 3), dropping any alpha channel."""
    import cv2

    from amodal.errors import VideoReadError

    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise VideoReadError(f"cannot read image {path}")
    return img


def copy_frames(src_root: Path, file_names: Sequence[str], frames_out: Path, video_name: str,
                overwrite: bool) -> List[str]:
    """Re-encode a video's frames as RGB PNGs under `frames_out/<video_name>/`.

    Returns the new file names relative to `frames_out`.
    """
    folder = frames_out / video_name
    names = write_frames((read_image_bgr(src_root / f) for f in file_names), folder, overwrite)
    return [f"{video_name}/{n}" for n in names]


def write_dataset(dataset: Dict[str, Any], out: PathLike, overwrite: bool, source: str) -> Path:
    """Validate the native dict (`amodal.data.format`) and write it atomically.

    An existing file is refused unless `overwrite`.

    Raises:
        OutputExistsError: `out` exists (without `overwrite`) or is a folder.
        FormatError: the converted data fail validation (a converter bug or odd source values).
    """
    from amodal.data.format import dataset_from_dict, save_dataset

    out = Path(out)
    if out.is_dir():
        raise OutputExistsError(f"output path {out} is a folder, expected a .json file")
    if out.exists() and not overwrite:
        raise OutputExistsError(f"output file {out} already exists (use --overwrite)")
    save_dataset(dataset_from_dict(dataset, source=f"converted {source} data"), out)
    return out


def video_name_from(path_like: str) -> str:
    """A file-system safe video name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", path_like).strip("_") or "video"


ConverterFn = Callable[[Path, ConvertOptions], ConversionResult]
