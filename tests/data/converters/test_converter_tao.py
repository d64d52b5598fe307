"""TAO-Amodal: TAO/LVIS JSON with modal and amodal boxes; box-IoU scoring."""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from amodal.data.converters.common import ConvertOptions, write_dataset
from amodal.data.converters.tao import box_iou, convert, score_boxes
from amodal.errors import FormatError
from amodal.utils.masks import encode_rle


def _tao(tmp_path: Path) -> Path:
    data = {
        "videos": [{"id": 5, "name": "train/YFCC100M/v_a", "width": 64, "height": 48},
                   {"id": 9, "name": "train/YFCC100M/v_b", "width": 64, "height": 48}],
        "images": [  # listed out of order on purpose
            {"id": 12, "video_id": 5, "frame_index": 60, "file_name": "train/YFCC100M/v_a/frame0061.jpg"},
            {"id": 11, "video_id": 5, "frame_index": 30, "file_name": "train/YFCC100M/v_a/frame0031.jpg"},
            {"id": 10, "video_id": 5, "frame_index": 0, "file_name": "train/YFCC100M/v_a/frame0001.jpg"},
            {"id": 20, "video_id": 9, "frame_index": 0, "file_name": "train/YFCC100M/v_b/frame0001.jpg"},
        ],
        "tracks": [{"id": 100, "video_id": 5, "category_id": 805}, {"id": 101, "video_id": 5, "category_id": 95},
                   {"id": 200, "video_id": 9, "category_id": 95}],
        "categories": [{"id": 95, "name": "bicycle"}, {"id": 805, "name": "person"}],
        "annotations": [
            {"id": 1, "image_id": 10, "track_id": 100, "bbox": [1, 2, 10, 20], "amodal_bbox": [1, 2, 10, 25],
             "amodal_is_uncertain": False, "visibility": 0.8},
            {"id": 2, "image_id": 12, "track_id": 100, "bbox": [0, 0, 0, 0], "amodal_bbox": [5, 5, 10, 10],
             "amodal_is_uncertain": True, "visibility": 0.0},
            {"id": 3, "image_id": 11, "track_id": 101, "bbox": [30, 10, 8, 8], "amodal_bbox": [28, 10, 12, 8],
             "amodal_is_uncertain": False, "visibility": 0.6},
            {"id": 4, "image_id": 20, "track_id": 200, "bbox": [3, 3, 4, 4], "amodal_bbox": [3, 3, 4, 4],
             "amodal_is_uncertain": False, "visibility": 1.0},
        ],
    }
    path = tmp_path / "tao_amodal_train.json"
    path.write_text(json.dumps(data))
    return path


def test_tao_boxes(tmp_path, check_native):
    path = _tao(tmp_path)
    res = convert(path, ConvertOptions())
    d = res.dataset
    v1, v2 = d["videos"]
    assert v1["file_names"] == [f"train/YFCC100M/v_a/frame00{n}.jpg" for n in ("01", "31", "61")]
    assert (v1["width"], v1["height"], v2["length"]) == (64, 48, 1)
    assert {(c["id"], c["name"]) for c in d["categories"]} == {(95, "bicycle"), (805, "person")}
    person, bike, bike2 = d["annotations"]
    assert (person["category_id"], bike["category_id"], bike2["video_id"]) == (805, 95, 2)
    assert person["segmentations"] == [None] * 3 and person["amodal_segmentations"] == [None] * 3
    assert person["bboxes"] == [[1, 2, 10, 20], None, None]  # zero-size modal box: invisible
    assert person["amodal_bboxes"] == [[1, 2, 10, 25], None, [5, 5, 10, 10]]
    assert person["amodal_areas"] == [250, None, 100] and person["areas"] == [200, None, None]
    assert bike["amodal_bboxes"] == [None, [28, 10, 12, 8], None]
    out = tmp_path / "tao.json"
    write_dataset(d, out, overwrite=False, source="tao")
    check_native(d, out, None, check_files=False)
    dropped = convert(path, ConvertOptions(progress=True), drop_uncertain=True).dataset
    assert dropped["annotations"][0]["amodal_bboxes"][2] is None


def test_tao_unknown_track(tmp_path):
    path = _tao(tmp_path)
    data = json.loads(path.read_text())
    data["annotations"][2]["track_id"] = 999
    path.write_text(json.dumps(data))
    with pytest.raises(FormatError, match=r"tao_amodal_train\.json: annotations\[2\].*track_id 999"):
        convert(path, ConvertOptions())


def test_tao_missing_key(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"videos": [], "images": []}))
    with pytest.raises(FormatError, match=r"t\.json.*'tracks'"):
        convert(path, ConvertOptions())


def test_box_iou_by_hand():
    assert box_iou([0, 0, 10, 10], [0, 0, 10, 10]) == 1.0
    assert box_iou([0, 0, 10, 10], [5, 0, 10, 10]) == pytest.approx(50 / 150)
    assert box_iou([0, 0, 10, 10], [20, 20, 5, 5]) == 0.0
    assert box_iou(None, [0, 0, 1, 1]) == 0.0


def _gt():
    return {"videos": [{"id": 1, "length": 2}, {"id": 2, "length": 1}],
            "annotations": [
                {"video_id": 1, "amodal_bboxes": [[0, 0, 10, 10], [0, 0, 10, 10]]},   # A
                {"video_id": 1, "amodal_bboxes": [[50, 50, 10, 10], None]},           # B
                {"video_id": 2, "amodal_bboxes": [[0, 0, 4, 4]]},                      # C
                {"video_id": 2, "amodal_bboxes": [None]},                              # no boxes
            ]}


def test_score_boxes_by_hand():
    preds = [
        # matches B on its only frame, half overlap: 50/150
        {"video_id": 1, "amodal_bboxes": [[55, 50, 10, 10], [0, 0, 10, 10]]},
        # matches A: frame 0 exact (1), frame 1 missing (0)
        {"video_id": 1, "amodal_bboxes": [[0, 0, 10, 10], None]},
    ]
    # video 2 has no prediction: C counts 0. Object-frames: A 2, B 1, C 1 = 4
    got = score_boxes(_gt(), preds)
    # Hungarian: pred0->A scores 0+1=1, pred0->B 1/3; pred1->A 1, pred1->B 0.
    # best total: pred0->B (1/3) + pred1->A (1) = 4/3 beats pred0->A + pred1->B = 1
    assert got["amodal_box_iou"] == pytest.approx((1 + 1 / 3) / 4)
    assert (got["object_frames"], got["gt_tracks"], got["matched_tracks"]) == (4, 3, 2)


def test_score_boxes_from_masks_and_empty():
    m = np.zeros((8, 8), bool)
    m[0:4, 0:4] = True
    got = score_boxes(_gt(), [{"video_id": 2, "amodal_segmentations": [encode_rle(m)]}])
    assert got["amodal_box_iou"] == pytest.approx(1 / 4) and got["matched_tracks"] == 1
    empty = score_boxes({"videos": [], "annotations": []}, [])
    assert math.isnan(empty["amodal_box_iou"]) and empty["object_frames"] == 0


def test_score_boxes_bad_prediction():
    with pytest.raises(FormatError, match="prediction 0: 3 frames, video 1 has 2"):
        score_boxes(_gt(), [{"video_id": 1, "amodal_bboxes": [None, None, None]}])
    with pytest.raises(FormatError, match="prediction 0: unknown video_id 7"):
        score_boxes(_gt(), [{"video_id": 7, "amodal_bboxes": []}])


def _edit(path: Path, change) -> Path:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("change, message", [
    (lambda d: d["images"][0].update(frame_index=None), r"image 12: 'frame_index' must be an integer, got null"),
    (lambda d: d["tracks"][0].update(category_id="x"), r"track 100: 'category_id' must be an integer, got a string"),
    (lambda d: d["categories"][0].update(id="p"), r"categories\[0\]: 'id' must be an integer, got a string"),
    (lambda d: d["videos"][0].update(width=None), r"video 5: 'width' must be an integer, got null"),
    (lambda d: d["images"][0].update(video_id=[5]), r"image 12: 'video_id' must be an integer, got a list"),
    (lambda d: d["videos"].append({"id": "s", "width": 1, "height": 1}),
     r"videos\[2\]: 'id' must be an integer, got a string"),
    (lambda d: d["images"][1].update(frame_index=60),
     r"images 1[12] and 1[12] of video 5 both have frame_index 60"),
])
def test_tao_malformed_value_names_file_and_entry(tmp_path, change, message):
    path = _edit(_tao(tmp_path), change)
    with pytest.raises(FormatError, match=rf"^{re.escape(str(path))}: {message}$"):
        convert(path, ConvertOptions())
