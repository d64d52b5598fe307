"""KINS-Video-Car: `car_data/{mode}_data.pkl`, `{mode}_data_full_mask.pkl`, KITTI raw frames."""
from __future__ import annotations

import pickle
from pathlib import Path

import cv2
import numpy as np
import pytest

from amodal.data.converters.common import ConvertOptions, write_dataset
from amodal.data.converters.kins import convert
from amodal.errors import FormatError

H, W, T = 10, 20, 5
VIDEO = "2011_09_26_drive_0001_sync"


def _make(tmp_path: Path, rect, coco, data=None, full=None):
    root = tmp_path / "kins"
    frames = root / "Kitti" / "raw_video" / "2011_09_26" / VIDEO
    frames.mkdir(parents=True)
    for t in range(T):  # 10-digit KITTI names; 10 must sort after 9
        cv2.imwrite(str(frames / f"{t * 3:010d}.png"), np.full((H, W, 3), t, np.uint8))
    (frames / "notes.txt").write_text("not a frame")
    truth = {}
    if data is None:
        data, full = {VIDEO: {}}, {VIDEO: {}}
        for obj in (7, 2):
            data[VIDEO][obj], full[VIDEO][obj] = {}, {}
            for t in range(1, 4):
                fm = rect(H, W, 2, obj + t, 8, obj + t + 6)
                vm = fm & ~rect(H, W, 0, 0, H, obj + t + 2)
                data[VIDEO][obj][t] = {"VM": coco(vm), "VM_bbox": [0, 1, 2, 3], "loss_mask": coco(~vm)}
                # KINS annotates frame 2 only; frame 1 carries the release's all-zero mask
                if t == 2:
                    full[VIDEO][obj][t] = {"FM": coco(fm)}
                elif t == 1:
                    full[VIDEO][obj][t] = {"FM": coco(np.zeros((H, W), bool))}
                truth[(obj, t)] = (vm, fm if t == 2 else None)
    car = root / "car_data"
    car.mkdir()
    (car / "train_data.pkl").write_bytes(pickle.dumps(data))
    if full is not None:
        (car / "train_data_full_mask.pkl").write_bytes(pickle.dumps(full))
    return root, truth


def test_kins_round_trip(tmp_path, rect, coco, decode, check_native):
    root, truth = _make(tmp_path, rect, coco)
    res = convert(root, ConvertOptions(mode="train"))
    d = res.dataset
    assert res.image_root == root / "Kitti" / "raw_video"
    (video,) = d["videos"]
    assert video["file_names"] == [f"2011_09_26/{VIDEO}/{t * 3:010d}.png" for t in range(T)]
    assert (video["height"], video["width"]) == (H, W)
    assert d["categories"] == [{"id": 1, "name": "car"}]
    assert len(d["annotations"]) == 2
    for ann, obj in zip(d["annotations"], (2, 7)):  # objects in id order
        for t in range(T):
            if (obj, t) not in truth:
                assert ann["segmentations"][t] is None and ann["amodal_segmentations"][t] is None
                continue
            vm, fm = truth[(obj, t)]
            np.testing.assert_array_equal(decode(ann["segmentations"][t]), vm)
            if fm is None:
                assert ann["amodal_segmentations"][t] is None  # no KINS truth on this frame
            else:
                np.testing.assert_array_equal(decode(ann["amodal_segmentations"][t]), fm)
    out = tmp_path / "kins.json"
    write_dataset(d, out, overwrite=False, source="kins")
    check_native(d, out, res.image_root)


def test_kins_without_full_mask_pickle(tmp_path, rect, coco):
    root, _ = _make(tmp_path, rect, coco)
    (root / "car_data" / "train_data_full_mask.pkl").unlink()
    res = convert(root, ConvertOptions())
    assert "amodal_segmentations" not in res.dataset["annotations"][0]
    assert any("full_mask" in n for n in res.notes)


def test_kins_car_data_folder_needs_image_root(tmp_path, rect, coco):
    root, _ = _make(tmp_path, rect, coco)
    with pytest.raises(FormatError, match="image root"):
        convert(root / "car_data", ConvertOptions())
    res = convert(root / "car_data", ConvertOptions(image_root=root / "Kitti" / "raw_video"))
    assert len(res.dataset["annotations"]) == 2


def test_kins_missing_vm_names_file_and_key(tmp_path, rect, coco):
    data = {VIDEO: {4: {1: {"VM_bbox": [0, 1, 2, 3]}}}}
    root, _ = _make(tmp_path, rect, coco, data=data, full={})
    with pytest.raises(FormatError, match=rf"train_data\.pkl: video '{VIDEO}' object 4 frame 1.*'VM'"):
        convert(root, ConvertOptions())


def test_kins_unknown_video_folder(tmp_path, rect, coco):
    m = coco(rect(H, W, 0, 0, 2, 2))
    root, _ = _make(tmp_path, rect, coco, data={"2011_09_28_drive_0099_sync": {1: {0: {"VM": m}}}}, full={})
    with pytest.raises(FormatError, match=r"2011_09_28_drive_0099_sync.*no frame folder"):
        convert(root, ConvertOptions())


def test_kins_missing_split(tmp_path, rect, coco):
    root, _ = _make(tmp_path, rect, coco)
    with pytest.raises(FormatError, match=r"test_data\.pkl"):
        convert(root, ConvertOptions(mode="test"))


@pytest.mark.parametrize("counts, message", [(b"1", "counts add up to 1 pixels"),
                                             (b"\xff\xfe", "'counts' bytes are not ASCII")])
def test_kins_bad_counts_name_source_and_key(tmp_path, rect, coco, counts, message):
    root, _ = _make(tmp_path, rect, coco)
    pkl = root / "car_data" / "train_data.pkl"
    data = pickle.loads(pkl.read_bytes())
    data[VIDEO][7][2]["VM"]["counts"] = counts  # among valid cars and frames
    pkl.write_bytes(pickle.dumps(data))
    with pytest.raises(FormatError, match=rf"train_data\.pkl: video '{VIDEO}' object 7 frame 2 'VM': RLE {message}"):
        convert(root, ConvertOptions())


def test_kins_empty_pickle_is_nothing_to_convert(tmp_path, rect, coco):
    root, _ = _make(tmp_path, rect, coco, data={}, full={})
    with pytest.raises(FormatError, match=r"train_data\.pkl: nothing to convert"):
        convert(root, ConvertOptions())
