"""Files written by the generator: layout, native format, PNG colour order, frame order, workers."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from amodal.data.synth.dataset import generate_dataset
from amodal.data.synth.generator import generate_video
from amodal.errors import OutputExistsError
from amodal.utils.masks import decode_rle, mask_bbox


def _read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert bgr is not None, path
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def test_native_format_and_files(tmp_path, tiny_cfg):
    data, _ = generate_dataset(tiny_cfg, tmp_path / "d", videos=2, seed=9, workers=1, progress=False)
    on_disk = json.loads((tmp_path / "d" / "annotations.json").read_text())
    assert on_disk == json.loads(json.dumps(data))
    assert [v["id"] for v in on_disk["videos"]] == [1, 2]
    assert [a["id"] for a in on_disk["annotations"]] == list(range(1, len(on_disk["annotations"]) + 1))
    names = {c["id"]: c["name"] for c in on_disk["categories"]}
    assert {"ellipse", "star", "animal", "occluder"} <= set(names.values())
    for i, vid in enumerate(on_disk["videos"]):
        assert vid["file_names"] == [f"{i:05d}/{t:05d}.png" for t in range(6)]
        assert vid["video_file"] == f"videos/{i:05d}.mp4"
        assert (vid["width"], vid["height"], vid["length"]) == (64, 48, 6)
        for name in vid["file_names"]:
            assert (tmp_path / "d" / "frames" / name).is_file()
        cap = cv2.VideoCapture(str(tmp_path / "d" / vid["video_file"]))
        count = 0
        while cap.read()[0]:
            count += 1
        cap.release()
        assert count == 6
    assert (tmp_path / "d" / "synth_config.yaml").is_file()
    for ann in on_disk["annotations"]:
        assert ann["iscrowd"] == 0 and ann["category_id"] in names
        assert any(r is not None for r in ann["amodal_segmentations"])
        for key in ("segmentations", "amodal_segmentations", "bboxes", "areas", "amodal_bboxes", "amodal_areas"):
            assert len(ann[key]) == 6
        for t in range(6):
            for seg, box, area in (("segmentations", "bboxes", "areas"),
                                   ("amodal_segmentations", "amodal_bboxes", "amodal_areas")):
                rle = ann[seg][t]
                if rle is None:
                    assert ann[box][t] is None and ann[area][t] is None
                    continue
                m = decode_rle(rle)
                assert m.shape == (48, 64) and m.any()
                assert ann[area][t] == int(m.sum()) and ann[box][t] == mask_bbox(m)
            if ann["segmentations"][t] is not None:
                vis, amo = decode_rle(ann["segmentations"][t]), decode_rle(ann["amodal_segmentations"][t])
                assert not (vis & ~amo).any()


def test_png_frames_are_rgb_in_order(tmp_path, flat_cfg):
    generate_dataset(flat_cfg, tmp_path / "d", videos=1, seed=4, workers=1, with_mp4=False, progress=False)
    video = generate_video(flat_cfg, 4, 0)
    data = json.loads((tmp_path / "d" / "annotations.json").read_text())
    assert data["videos"][0]["video_file"] is None
    assert not (tmp_path / "d" / "videos").exists()
    for t, name in enumerate(data["videos"][0]["file_names"]):
        img = _read_rgb(tmp_path / "d" / "frames" / name)
        assert np.array_equal(img, video.frames[t]), t  # same frame, same channel order
    # Masks in the file are the generator's masks, frame by frame.
    for ann, k in zip(data["annotations"], range(len(video.category_ids))):
        for t in range(flat_cfg.frames):
            rle = ann["segmentations"][t]
            got = decode_rle(rle) if rle is not None else np.zeros((48, 64), bool)
            assert np.array_equal(got, video.visible[k, t])
    # Frames differ over time (objects move), so an order mix-up would be caught above.
    assert any(not np.array_equal(video.frames[0], video.frames[t]) for t in range(1, flat_cfg.frames))


def test_workers_do_not_change_output(tmp_path, tiny_cfg):
    a, _ = generate_dataset(tiny_cfg, tmp_path / "a", videos=3, seed=5, workers=1, progress=False)
    b, _ = generate_dataset(tiny_cfg, tmp_path / "b", videos=3, seed=5, workers=2, progress=False)
    assert a == b
    for name in a["videos"][2]["file_names"]:
        assert (tmp_path / "a" / "frames" / name).read_bytes() == (tmp_path / "b" / "frames" / name).read_bytes()


def test_existing_folder_refused(tmp_path, tiny_cfg):
    out = tmp_path / "d"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(OutputExistsError):
        generate_dataset(tiny_cfg, out, videos=1, seed=0, progress=False)
    generate_dataset(tiny_cfg, out, videos=1, seed=0, overwrite=True, progress=False)
    assert not (out / "keep.txt").exists() and (out / "annotations.json").is_file()
