"""Helpers for the converter tests: tiny masks and a check of converted native datasets."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Optional

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from amodal.data.format import load_dataset


def _rect(h: int, w: int, y0: int, x0: int, y1: int, x1: int) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[y0:y1, x0:x1] = True
    return m


def _coco(mask: np.ndarray) -> Dict[str, Any]:
    """pycocotools encoding (bytes counts), as the released pickles hold it."""
    return mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))


def _decode(rle: Optional[Dict[str, Any]]) -> Optional[np.ndarray]:
    if rle is None:
        return None
    assert isinstance(rle["counts"], str), "converted RLEs must have string counts"
    return mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode()}).astype(bool)


def _check_native(d: Dict[str, Any], json_path: Optional[Path] = None,
                  image_root: Optional[Path] = None, check_files: bool = True) -> None:
    """Structural checks of a native dict, then a validating load of the written file."""
    assert [v["id"] for v in d["videos"]] == list(range(1, len(d["videos"]) + 1))
    assert [a["id"] for a in d["annotations"]] == list(range(1, len(d["annotations"]) + 1))
    cats = {c["id"] for c in d["categories"]}
    lengths = {v["id"]: v["length"] for v in d["videos"]}
    for v in d["videos"]:
        assert v["length"] == len(v["file_names"])
        if check_files and image_root is not None:
            for f in v["file_names"]:
                assert (image_root / f).is_file(), f
    for a in d["annotations"]:
        assert a["category_id"] in cats
        for key in ("segmentations", "bboxes", "areas", "amodal_segmentations", "amodal_bboxes", "amodal_areas"):
            if key in a:
                assert len(a[key]) == lengths[a["video_id"]], key
    json.dumps(d)  # JSON-ready
    if json_path is not None:
        ds = load_dataset(json_path, image_root=image_root, check_files=check_files and image_root is not None)
        assert len(ds.annotations) == len(d["annotations"]) and len(ds.videos) == len(d["videos"])
        for track, a in zip(ds.annotations, d["annotations"]):
            assert track.segmentations == a["segmentations"]
            assert track.amodal_segmentations == a.get("amodal_segmentations")
            assert track.amodal_bboxes == a.get("amodal_bboxes")


@pytest.fixture
def rect():
    return _rect


@pytest.fixture
def coco():
    return _coco


@pytest.fixture
def decode():
    return _decode


@pytest.fixture
def check_native():
    return _check_native
