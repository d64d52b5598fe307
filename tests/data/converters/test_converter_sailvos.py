"""SAIL-VOS as used by Diffusion-VAS: a JSON list of per-object window samples."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from amodal.data.converters.common import ConvertOptions, write_dataset
from amodal.data.converters.sailvos import convert
from amodal.errors import FormatError

H, W = 8, 12


def _str_rle(coco, mask):
    r = coco(mask)
    return {"size": [int(r["size"][0]), int(r["size"][1])], "counts": r["counts"].decode()}


def _make(tmp_path: Path, rect, coco, samples=None):
    root = tmp_path / "sailvos"
    truth = {}
    if samples is None:
        samples = []

        def sample(video, obj, cat, frames):
            names = [f"{video}/{f:06d}.bmp" for f in frames]
            amo = [rect(H, W, 1, f % 6, 5, f % 6 + 4) for f in frames]
            vis = [a & ~rect(H, W, 0, 0, H, 3) for a in amo]
            for n, v, a in zip(names, vis, amo):
                truth[(video, obj, n)] = (v, a)
            samples.append({"segmentation": [_str_rle(coco, a) for a in amo],
                            "visible_mask": [_str_rle(coco, v) for v in vis],
                            "bbox": [[0, 0, 1, 1]] * len(frames), "image_ids": list(frames),
                            "obj_id": obj, "category_id": cat, "image_file_names": names})

        sample("ah_3_mcs_1", 4, 11, [8, 9, 10])      # overlapping windows of one object
        sample("ah_3_mcs_1", 4, 11, [10, 11, 12])
        sample("ah_3_mcs_1", 2, 30, [9, 10])
        sample("bh_1", 1, 11, [100, 101])
    root.mkdir()
    for video, n in {(k[0], k[2]) for k in truth}:
        (root / video).mkdir(exist_ok=True)
        assert cv2.imwrite(str(root / n), np.zeros((H, W, 3), np.uint8))
    path = root / "samples.json"
    path.write_text(json.dumps(samples))
    return path, truth


def test_sailvos_round_trip(tmp_path, rect, coco, decode, check_native):
    path, truth = _make(tmp_path, rect, coco)
    res = convert(path, ConvertOptions())
    d = res.dataset
    assert res.image_root == path.parent and not res.notes
    assert [v["file_names"] for v in d["videos"]] == [
        [f"ah_3_mcs_1/{f:06d}.bmp" for f in range(8, 13)], ["bh_1/000100.bmp", "bh_1/000101.bmp"]]
    assert sorted((c["id"], c["name"]) for c in d["categories"]) == [(11, "11"), (30, "30")]
    anns = d["annotations"]
    assert [(a["video_id"], a["category_id"]) for a in anns] == [(1, 30), (1, 11), (2, 11)]
    keys = [("ah_3_mcs_1", 2), ("ah_3_mcs_1", 4), ("bh_1", 1)]
    for ann, (video, obj) in zip(anns, keys):
        names = d["videos"][ann["video_id"] - 1]["file_names"]
        for t, n in enumerate(names):
            if (video, obj, n) not in truth:
                assert ann["segmentations"][t] is None and ann["amodal_segmentations"][t] is None
                continue
            v, a = truth[(video, obj, n)]
            np.testing.assert_array_equal(decode(ann["segmentations"][t]), v)
            np.testing.assert_array_equal(decode(ann["amodal_segmentations"][t]), a)
    assert all(s is not None for s in anns[1]["segmentations"])  # merged windows 8..12
    out = tmp_path / "sv.json"
    write_dataset(d, out, overwrite=False, source="sailvos")
    check_native(d, out, res.image_root)


def test_sailvos_conflicting_windows_keep_first(tmp_path, rect, coco):
    path, _ = _make(tmp_path, rect, coco)
    samples = json.loads(path.read_text())
    samples[1]["segmentation"][0] = _str_rle(coco, rect(H, W, 0, 0, 8, 12))
    path.write_text(json.dumps(samples))
    res = convert(path, ConvertOptions())
    assert any("overlapping" in n for n in res.notes)
    assert res.dataset["annotations"][1]["amodal_areas"][2] == 16


def test_sailvos_missing_key(tmp_path, rect, coco):
    path, _ = _make(tmp_path, rect, coco)
    samples = json.loads(path.read_text())
    del samples[2]["visible_mask"]
    path.write_text(json.dumps(samples))
    with pytest.raises(FormatError, match=r"samples\.json: sample 2.*'visible_mask'"):
        convert(path, ConvertOptions())


def test_sailvos_length_mismatch(tmp_path, rect, coco):
    path, _ = _make(tmp_path, rect, coco)
    samples = json.loads(path.read_text())
    samples[0]["segmentation"].pop()
    path.write_text(json.dumps(samples))
    with pytest.raises(FormatError, match=r"sample 0.*same length"):
        convert(path, ConvertOptions())


def test_sailvos_not_a_list(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"samples": []}))
    with pytest.raises(FormatError, match=r"s\.json: expected a list"):
        convert(path, ConvertOptions())


def test_sailvos_null_file_names(tmp_path, rect, coco):
    path, _ = _make(tmp_path, rect, coco)
    samples = json.loads(path.read_text())
    samples[0]["image_file_names"] = None
    path.write_text(json.dumps(samples))
    with pytest.raises(FormatError, match=r"samples\.json: sample 0: 'image_file_names' must be a list, got null$"):
        convert(path, ConvertOptions())


def test_sailvos_empty_list_is_nothing_to_convert(tmp_path):
    path = tmp_path / "s.json"
    path.write_text("[]")
    with pytest.raises(FormatError, match=r"s\.json: the list of samples is empty; nothing to convert"):
        convert(path, ConvertOptions())


def test_sailvos_empty_rle_of_other_size(tmp_path, rect, coco):
    path, _ = _make(tmp_path, rect, coco)
    samples = json.loads(path.read_text())
    # object 2 has nothing visible there: visible and amodal masks both empty, the amodal one 9xW
    samples[2]["visible_mask"][0] = _str_rle(coco, np.zeros((H, W), bool))
    samples[2]["segmentation"][0] = _str_rle(coco, np.zeros((H + 1, W), bool))
    path.write_text(json.dumps(samples))
    with pytest.raises(FormatError, match=rf"sample 2 'segmentation'\[0\]: RLE size is \[{H + 1}, {W}\], "
                                          rf"the video is {H}x{W}"):
        convert(path, ConvertOptions())
