"""MOVi / MOViD-Amodal: rgba_full, segmentation_full (ids), segmentation_K_F (amodal), metadata.json."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from amodal.data.converters.common import ConvertOptions, write_dataset
from amodal.data.converters.movi import convert
from amodal.errors import FormatError

H, W, T = 16, 16, 3


def _palette_png(path: Path, ids: np.ndarray) -> None:
    img = Image.fromarray(ids.astype(np.uint8), mode="P")
    img.putpalette([v for i in range(256) for v in (i * 7 % 256, i * 13 % 256, i * 29 % 256)])
    img.save(path)


def _make(tmp_path: Path, rect, vid: str = "00007", meta=None, seg_override=None):
    d = tmp_path / "movi" / "train" / vid
    d.mkdir(parents=True)
    # object 0 (cube) in front; object 1 (sphere) behind it, fully hidden on frame 1, gone on frame 2
    amodal = {0: [rect(H, W, 2, 2 + 3 * f, 10, 10 + 3 * f) for f in range(T)],
              1: [rect(H, W, 4, 6, 8, 10), rect(H, W, 4, 6, 8, 10), np.zeros((H, W), bool)]}
    amodal[0][0], amodal[0][1] = rect(H, W, 2, 0, 10, 8), rect(H, W, 2, 4, 10, 12)
    visible = {0: amodal[0], 1: [a & ~f for a, f in zip(amodal[1], amodal[0])]}
    assert not visible[1][1].any() and visible[1][0].any()
    for f in range(T):
        rgba = np.zeros((H, W, 4), np.uint8)
        rgba[..., 2] = 50 * f  # red channel in RGB order
        rgba[..., 3] = 255
        cv2.imwrite(str(d / f"rgba_full_{f:05d}.png"), rgba)
        ids = np.zeros((H, W), np.uint8)
        for k in (1, 0):  # paint back to front
            ids[visible[k][f]] = k + 1
        if seg_override is not None:
            ids[0, 0] = seg_override
        _palette_png(d / f"segmentation_full_{f:05d}.png", ids)
        for k in (0, 1):
            cv2.imwrite(str(d / f"segmentation_{k}_{f:05d}.png"), amodal[k][f].astype(np.uint8) * 255)
    if meta is None:
        meta = {"metadata": {"num_frames": T, "height": H, "width": W},
                "instances": [{"shape": "cube", "bboxes": []}, {"shape": "sphere", "bboxes": []}],
                "camera": {}}
    (d / "metadata.json").write_text(json.dumps(meta))
    return tmp_path / "movi", visible, amodal


def test_movi_round_trip(tmp_path, rect, decode, check_native):
    src, visible, amodal = _make(tmp_path, rect)
    res = convert(src, ConvertOptions(mode="train"))
    d = res.dataset
    assert res.image_root == src / "train"
    (video,) = d["videos"]
    assert video["file_names"] == [f"00007/rgba_full_{f:05d}.png" for f in range(T)]
    names = {c["id"]: c["name"] for c in d["categories"]}
    assert [names[a["category_id"]] for a in d["annotations"]] == ["cube", "sphere"]
    for ann, k in zip(d["annotations"], (0, 1)):
        for f in range(T):
            if not amodal[k][f].any():
                assert ann["segmentations"][f] is None and ann["amodal_segmentations"][f] is None
                continue
            np.testing.assert_array_equal(decode(ann["segmentations"][f]), visible[k][f])
            np.testing.assert_array_equal(decode(ann["amodal_segmentations"][f]), amodal[k][f])
    assert d["annotations"][1]["areas"][1] == 0  # hidden but present
    out = tmp_path / "movi.json"
    write_dataset(d, out, overwrite=False, source="movi")
    check_native(d, out, res.image_root)


def test_movi_frames_out_drops_alpha(tmp_path, rect, check_native):
    src, _, _ = _make(tmp_path, rect)
    res = convert(src / "train" / "00007", ConvertOptions(frames_out=tmp_path / "frames"))
    assert res.frames_written == T
    img = cv2.imread(str(tmp_path / "frames" / "00007" / "00002.png"), cv2.IMREAD_UNCHANGED)
    assert img.shape == (H, W, 3) and int(img[0, 0, 2]) == 100
    check_native(res.dataset, None, res.image_root)


def test_movi_missing_amodal_file_gives_null(tmp_path, rect):
    src, _, _ = _make(tmp_path, rect)
    (src / "train" / "00007" / "segmentation_1_00000.png").unlink()
    res = convert(src, ConvertOptions())
    sphere = res.dataset["annotations"][1]
    assert sphere["amodal_segmentations"][0] is None and sphere["segmentations"][0] is not None
    assert any("segmentation_K_F" in n for n in res.notes)


def test_movi_instance_id_out_of_range(tmp_path, rect):
    src, _, _ = _make(tmp_path, rect, seg_override=9)
    with pytest.raises(FormatError, match=r"segmentation_full_00000\.png: instance value 9"):
        convert(src, ConvertOptions())


def test_movi_metadata_missing_key(tmp_path, rect):
    src, _, _ = _make(tmp_path, rect, meta={"metadata": {"num_frames": T, "height": H}, "instances": []})
    with pytest.raises(FormatError, match=r"metadata\.json: 'metadata'.*'width'"):
        convert(src, ConvertOptions())


def test_movi_missing_frame(tmp_path, rect):
    src, _, _ = _make(tmp_path, rect)
    (src / "train" / "00007" / "rgba_full_00001.png").unlink()
    with pytest.raises(FormatError, match=r"rgba_full_00001\.png"):
        convert(src, ConvertOptions())
