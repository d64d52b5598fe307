"""Validation and normalisation of the segmentations found in annotation files.

An entry may be a COCO RLE with string counts (the native form), an uncompressed RLE (counts as
a list of run lengths), or polygons (a list of flat [x0, y0, x1, y1, ...] lists). Everything is
checked *before* it reaches pycocotools, whose C code trusts its input (a compressed RLE whose
runs add up to more than H*W overflows the decode buffer), and is returned as a compressed RLE
`{"size": [H, W], "counts": str}`.

Problems raise `SegmentationError` with a message relative to the entry (the caller adds the
file name and key path).
"""
from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from pycocotools import mask as mask_utils

RLE = Dict[str, Any]

MAX_SIDE = 65535  # largest accepted frame width/height
_POLY_RANGE = 10  # polygon coordinates must lie within +-10x the frame's larger side


class SegmentationError(ValueError):
    """A segmentation entry is malformed; the message says what is wrong with it."""


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def string_counts_to_runs(counts: str) -> np.ndarray:
    """Decode COCO's compressed RLE string into run lengths (int64, may be invalid).

    The string stores each run as 5-bit groups (char - 48, continuation bit 0x20, sign bit 0x10
    in the last group), and runs after the second as differences to the run two places back.

    Raises:
        SegmentationError: characters outside '0'..'o', a truncated last run, or a run too
            long for pycocotools' decoder.
    """
    if not counts:
        return np.zeros(0, dtype=np.int64)
    try:
        raw = counts.encode("ascii")
    except UnicodeEncodeError:
        raise SegmentationError(".counts contains non-ASCII characters") from None
    c = np.frombuffer(raw, dtype=np.uint8).astype(np.int64) - 48
    if c.min() < 0 or c.max() > 63:
        raise SegmentationError(".counts contains characters outside the RLE alphabet '0'..'o'")
    more = (c & 0x20) != 0
    if more[-1]:
        raise SegmentationError(".counts ends in the middle of a run (truncated string)")
    ends = np.flatnonzero(~more)
    starts = np.concatenate([[0], ends[:-1] + 1])
    if (ends - starts).max() > 5:  # pycocotools shifts a C int: more than 6 groups overflow it
        raise SegmentationError(".counts holds a run longer than 2**29 pixels")
    group = np.repeat(np.arange(len(ends)), ends - starts + 1)
    k = np.arange(len(c)) - starts[group]
    values = np.add.reduceat((c & 0x1F) << (5 * k), starts)
    negative = (c[ends] & 0x10) != 0
    values = values - np.where(negative, np.left_shift(1, 5 * (ends - starts + 1)), 0)
    runs = values.copy()
    # pycocotools: runs[i] = value[i] + runs[i - 2] for i > 2 (runs 0, 1, 2 are stored as is)
    runs[2::2] = np.cumsum(values[2::2])
    runs[3::2] = np.cumsum(values[3::2]) + values[1] if len(values) > 3 else runs[3::2]
    return runs


def _check_runs(runs: np.ndarray, height: int, width: int) -> None:
    if runs.size and (runs.min() < 0 or runs.max() >= 2**32):
        raise SegmentationError(".counts holds a negative or too large run length")
    total = int(runs.sum())
    if total != height * width:
        raise SegmentationError(f".counts add up to {total} pixels, size {height}x{width} has {height * width}")


def _check_size(value: Any, height: Optional[int], width: Optional[int]) -> tuple:
    if not isinstance(value, list) or len(value) != 2:
        raise SegmentationError(f".size must be a list [height, width], got {_type_name(value)}")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise SegmentationError(".size must hold two integers")
    h, w = value
    if not (0 < h <= MAX_SIDE and 0 < w <= MAX_SIDE):
        raise SegmentationError(f".size {value} is not a valid image size")
    if height is not None and width is not None and (h, w) != (height, width):
        raise SegmentationError(f".size is [{h}, {w}], the video is {height}x{width} (height x width)")
    return h, w


def _rle_entry(obj: Dict[str, Any], height: Optional[int], width: Optional[int]) -> RLE:
    if "size" not in obj:
        raise SegmentationError(" is missing key 'size'")
    if "counts" not in obj:
        raise SegmentationError(" is missing key 'counts'")
    h, w = _check_size(obj["size"], height, width)
    counts = obj["counts"]
    if isinstance(counts, str):
        _check_runs(string_counts_to_runs(counts), h, w)
        return {"size": [h, w], "counts": counts}
    if isinstance(counts, list):
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in counts):
            raise SegmentationError(".counts must be a string or a list of integers")
        if any(v < 0 or v >= 2**32 for v in counts):
            raise SegmentationError(".counts holds a negative or too large run length")
        _check_runs(np.asarray(counts, dtype=np.int64), h, w)
        rle = mask_utils.frPyObjects({"size": [h, w], "counts": counts}, h, w)
        return {"size": [h, w], "counts": rle["counts"].decode("ascii")}
    raise SegmentationError(f".counts must be a string or a list of integers, got {_type_name(counts)}")


def _polygon_entry(obj: List[Any], height: Optional[int], width: Optional[int]) -> RLE:
    if height is None or width is None:
        raise SegmentationError(" is a polygon but the image size is unknown")
    if not obj:
        raise SegmentationError(" is an empty polygon list (use null for no mask)")
    limit = _POLY_RANGE * max(height, width)
    polygons = []
    for j, poly in enumerate(obj):
        if not isinstance(poly, list):
            raise SegmentationError(f"[{j}] must be a list of coordinates, got {_type_name(poly)}")
        if len(poly) < 6 or len(poly) % 2:
            raise SegmentationError(f"[{j}] must hold an even number (>= 6) of coordinates, got {len(poly)}")
        for v in poly:
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or abs(v) > limit:
                raise SegmentationError(f"[{j}] holds an invalid coordinate {v!r}")
        polygons.append([float(v) for v in poly])
    rles = mask_utils.frPyObjects(polygons, height, width)
    merged = mask_utils.merge(rles)
    return {"size": [height, width], "counts": merged["counts"].decode("ascii")}


def normalize_segmentation(obj: Any, height: Optional[int] = None, width: Optional[int] = None) -> Optional[RLE]:
    """Check one segmentation entry and return it as a compressed RLE (or None for null).

    Args:
        obj: None, a COCO RLE dict (string or list counts) or a list of polygons.
        height, width: the frame size the mask must have (None: any size; polygons need it).

    Raises:
        SegmentationError: the entry is malformed or of the wrong size.
    """
    if obj is None:
        return None
    if isinstance(obj, dict):
        return _rle_entry(obj, height, width)
    if isinstance(obj, list):
        return _polygon_entry(obj, height, width)
    raise SegmentationError(f" must be an RLE object, a polygon list or null, got {_type_name(obj)}")


def rle_size(rle: RLE) -> tuple:
    """(H, W) of an RLE dict."""
    return int(rle["size"][0]), int(rle["size"][1])


AREA_CHUNK = 255  # most RLEs pycocotools.mask.area takes at once


def boxes_and_areas(rles: Sequence[Optional[RLE]]) -> tuple:
    """COCO boxes [x, y, w, h] (None when null or empty) and areas (None when null) of RLEs."""
    present = [i for i, r in enumerate(rles) if r is not None]
    boxes: List[Optional[List[float]]] = [None] * len(rles)
    areas: List[Optional[float]] = [None] * len(rles)
    if not present:
        return boxes, areas
    coco = [{"size": rles[i]["size"], "counts": rles[i]["counts"].encode("ascii")} for i in present]
    bb = mask_utils.toBbox(coco)
    # pycocotools' area() of a list of 256 or more overflows (its count is a uint8 under numpy 2): in chunks
    ar = np.concatenate([np.atleast_1d(mask_utils.area(coco[k:k + AREA_CHUNK])) for k in range(0, len(coco), AREA_CHUNK)])
    for k, i in enumerate(present):
        areas[i] = float(ar[k])
        boxes[i] = [float(v) for v in bb[k]] if ar[k] > 0 else None
    return boxes, areas


def _batch_runs_ok(strings: List[str], total: int) -> bool:
    """True when every compressed counts string decodes to valid runs adding up to `total`.

    One vectorised pass over all strings (the fast path of `normalize_segmentations`); any
    doubt returns False and the caller re-checks entry by entry for the exact message.
    """
    if not strings or not all(strings) or not all(s.isascii() for s in strings):
        return False
    lengths = np.fromiter((len(s) for s in strings), dtype=np.int64, count=len(strings))
    c = np.frombuffer("".join(strings).encode("ascii"), dtype=np.uint8).astype(np.int64) - 48
    if c.min() < 0 or c.max() > 63:
        return False
    more = (c & 0x20) != 0
    str_end = np.cumsum(lengths) - 1
    if more[str_end].any():
        return False
    ends = np.flatnonzero(~more)
    starts = np.concatenate([[0], ends[:-1] + 1])
    if (ends - starts).max() > 5:
        return False
    group = np.repeat(np.arange(len(ends)), ends - starts + 1)
    k = np.arange(len(c)) - starts[group]
    values = np.add.reduceat((c & 0x1F) << (5 * k), starts)
    values -= np.where((c[ends] & 0x10) != 0, np.left_shift(1, 5 * (ends - starts + 1)), 0)
    # run index g of each value within its string, and the string it belongs to
    groups_per_str = np.diff(np.concatenate([[0], np.searchsorted(ends, str_end, side="right")]))
    sid = np.repeat(np.arange(len(strings)), groups_per_str)
    first_group = np.concatenate([[0], np.cumsum(groups_per_str)[:-1]])
    g = np.arange(len(values)) - first_group[sid]
    # runs[g] = values[g] + runs[g - 2] for g > 2: a cumulative sum per string and parity
    runs = values.copy()
    summed = np.where(g == 0, 0, values)
    for parity in (0, 1):
        idx = np.flatnonzero((g % 2 == parity) & (g >= 1))
        if idx.size == 0:
            continue
        cs = np.cumsum(summed[idx])
        new_seg = np.concatenate([[True], sid[idx][1:] != sid[idx][:-1]])
        base = (cs - summed[idx])[new_seg]
        runs[idx] = cs - base[np.cumsum(new_seg) - 1]
    if runs.min() < 0 or runs.max() >= 2**32:
        return False
    sums = np.add.reduceat(runs, first_group)
    return bool((sums == total).all())


def normalize_segmentations(items: Sequence[Any], height: int, width: int) -> List[Optional[RLE]]:
    """`normalize_segmentation` over a list of entries of one known size (a fast path for the
    common case of string-count RLEs; the first bad entry raises `SegmentationError` with its
    index in `SegmentationError.index`)."""
    simple = all(item is None or (type(item) is dict and len(item) == 2 and type(item.get("counts")) is str
                                  and item.get("size") == [height, width]) for item in items)
    if simple and 0 < height <= MAX_SIDE and 0 < width <= MAX_SIDE:
        strings = [item["counts"] for item in items if item is not None]
        if not strings or _batch_runs_ok(strings, height * width):
            return [None if item is None else {"size": [height, width], "counts": item["counts"]} for item in items]
    out: List[Optional[RLE]] = []
    for t, item in enumerate(items):
        try:
            out.append(normalize_segmentation(item, height, width))
        except SegmentationError as exc:
            exc.index = t
            raise
    return out
