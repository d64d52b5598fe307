"""FISHBOWL raw generator output: `<clip>/main/{video.mp4,objects.json}`, `<clip>/single/...`."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from amodal.data.converters.common import ConvertOptions, write_dataset
from amodal.data.converters.fishbowl import convert_raw
from amodal.errors import FormatError

H, W, T = 32, 48, 5
REAL = Path("/work/shared/fishbowl-raw")


def _gen_rle(mask: np.ndarray) -> dict:
    """The generator's spelling: string counts and size as the JSON string "[H, W]"."""
    enc = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": json.dumps([H, W]), "counts": enc["counts"].decode()}


def _fish(fid: int, type_id: int, type_name: str, masks) -> dict:
    return {"id": fid, "type_id": type_id, "type_name": type_name, "speed": 1.0, "scale": 2.0,
            "masks": [_gen_rle(m) for m in masks]}


def _make(tmp_path: Path, rect, clip: str = "30001", bad_single_id: bool = False):
    c = tmp_path / "raw" / clip
    (c / "main").mkdir(parents=True)
    writer = cv2.VideoWriter(str(c / "main" / "video.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10, (W, H))
    for t in range(T):
        writer.write(np.full((H, W, 3), 30 * t, np.uint8))
    writer.release()
    # fish 2 (big, in front) slides over fish 5 (small); fish 5 leaves the image on frame 4
    amodal = {2: [rect(H, W, 10, 4 * t, 24, 4 * t + 16) for t in range(T)],
              5: [rect(H, W, 12, 12, 20, 28) for _ in range(T - 1)] + [np.zeros((H, W), bool)]}
    visible = {2: amodal[2], 5: [a & ~f for a, f in zip(amodal[5], amodal[2])]}
    visible[5][2] = np.zeros((H, W), bool)  # fully hidden on frame 2
    amodal[5][2] = rect(H, W, 12, 12, 20, 20)
    fish = [_fish(2, 3, "BigFishA", visible[2]), _fish(5, 0, "SmallFishA", visible[5])]
    (c / "main" / "objects.json").write_text(json.dumps(fish))
    (c / "main" / "recording.json").write_text(json.dumps({"frameTimes": list(range(T))}))
    for f in fish:
        s = c / "single" / f"{clip}_object{f['id']}"
        s.mkdir(parents=True)
        single = _fish(f["id"] + (1 if bad_single_id else 0), f["type_id"], f["type_name"], amodal[f["id"]])
        (s / "objects.json").write_text(json.dumps([single]))
    (c / "single" / f"{clip}_background").mkdir()
    (c / "single" / f"{clip}_background" / "objects.json").write_text("[]")
    return tmp_path / "raw", visible, amodal


def test_raw_round_trip(tmp_path, rect, decode, check_native):
    src, visible, amodal = _make(tmp_path, rect)
    frames = tmp_path / "out" / "frames"
    res = convert_raw(src, ConvertOptions(frames_out=frames))
    d = res.dataset
    assert res.frames_written == T and res.image_root == frames and not res.notes
    (video,) = d["videos"]
    assert video["file_names"] == [f"30001/{t:05d}.png" for t in range(T)]
    assert video["video_file"] == str((src / "30001" / "main" / "video.mp4").resolve())
    assert (video["height"], video["width"]) == (H, W)
    for t in range(T):  # frame order: the mp4 frames are 30 * t grey
        img = cv2.imread(str(frames / video["file_names"][t]))
        assert img.shape == (H, W, 3) and abs(int(img[H // 2, W // 2, 0]) - 30 * t) <= 6
    names = {c["id"]: c["name"] for c in d["categories"]}
    assert names[4] == "BigFishA" and names[1] == "SmallFishA"
    big, small = d["annotations"]
    assert (names[big["category_id"]], names[small["category_id"]]) == ("BigFishA", "SmallFishA")
    for ann, fid in ((big, 2), (small, 5)):
        for t in range(T):
            if not amodal[fid][t].any():
                assert ann["segmentations"][t] is None and ann["amodal_segmentations"][t] is None
                continue
            np.testing.assert_array_equal(decode(ann["segmentations"][t]), visible[fid][t])
            np.testing.assert_array_equal(decode(ann["amodal_segmentations"][t]), amodal[fid][t])
    assert small["areas"][2] == 0 and small["amodal_areas"][2] == 64  # hidden but present
    assert small["segmentations"][4] is None  # out of the image
    out = tmp_path / "out" / "fb.json"
    write_dataset(d, out, overwrite=False, source="fishbowl-raw")
    check_native(d, out, frames)


def test_raw_refuses_existing_frames_without_overwrite(tmp_path, rect):
    src, _, _ = _make(tmp_path, rect)
    frames = tmp_path / "frames"
    convert_raw(src, ConvertOptions(frames_out=frames))
    with pytest.raises(Exception, match="already exists"):
        convert_raw(src, ConvertOptions(frames_out=frames))
    res = convert_raw(src, ConvertOptions(frames_out=frames, overwrite=True))
    assert res.frames_written == T


def test_raw_missing_single_render_leaves_amodal_out(tmp_path, rect):
    src, _, _ = _make(tmp_path, rect)
    (src / "30001" / "single" / "30001_object5" / "objects.json").unlink()
    res = convert_raw(src, ConvertOptions(frames_out=tmp_path / "frames"))
    assert any("fish 5" in n for n in res.notes)
    small = res.dataset["annotations"][1]
    assert "amodal_segmentations" not in small and small["segmentations"][2] is None


def test_raw_single_render_of_another_fish(tmp_path, rect):
    src, _, _ = _make(tmp_path, rect, bad_single_id=True)
    with pytest.raises(FormatError, match=r"30001_object2.objects\.json.*id 2"):
        convert_raw(src, ConvertOptions(frames_out=tmp_path / "frames"))


def test_raw_mask_count_must_match_video(tmp_path, rect):
    src, _, _ = _make(tmp_path, rect)
    path = src / "30001" / "main" / "objects.json"
    fish = json.loads(path.read_text())
    fish[0]["masks"] = fish[0]["masks"][:-1]
    path.write_text(json.dumps(fish))
    with pytest.raises(FormatError, match=r"objects\.json: fish 2: 4 masks.*5 frames"):
        convert_raw(src, ConvertOptions(frames_out=tmp_path / "frames"))


def test_raw_bad_rle(tmp_path, rect):
    src, _, _ = _make(tmp_path, rect)
    path = src / "30001" / "main" / "objects.json"
    fish = json.loads(path.read_text())
    fish[1]["masks"][3] = {"size": "[32, 48]"}
    path.write_text(json.dumps(fish))
    with pytest.raises(FormatError, match=r"objects\.json: fish 5 frame 3.*'counts'"):
        convert_raw(src, ConvertOptions(frames_out=tmp_path / "frames"))


@pytest.mark.slow
@pytest.mark.skipif(not REAL.is_dir(), reason="real FISHBOWL sample not present")
def test_raw_real_sample(tmp_path, decode):
    res = convert_raw(REAL, ConvertOptions(frames_out=tmp_path / "frames"))
    d = res.dataset
    assert len(d["videos"]) == 4 and all(v["length"] == 32 and v["width"] == 480 for v in d["videos"])
    for ann in d["annotations"]:
        for v, a in zip(ann["segmentations"], ann["amodal_segmentations"]):
            if v is not None and a is not None:
                assert not (decode(v) & ~decode(a)).any()  # visible inside amodal


def test_raw_empty_amodal_mask_of_other_size(tmp_path, rect):
    src, _, _ = _make(tmp_path, rect)
    path = src / "30001" / "single" / "30001_object5" / "objects.json"
    single = json.loads(path.read_text())
    enc = mask_utils.encode(np.asfortranarray(np.zeros((H, W + 1), np.uint8)))
    single[0]["masks"][4] = {"size": [H, W + 1], "counts": enc["counts"].decode()}  # fish 5 gone on frame 4
    path.write_text(json.dumps(single))
    with pytest.raises(FormatError, match=rf"30001_object5.objects\.json: fish 5 frame 4: RLE size is "
                                          rf"\[{H}, {W + 1}\], the video is {H}x{W}"):
        convert_raw(src, ConvertOptions(frames_out=tmp_path / "frames"))
