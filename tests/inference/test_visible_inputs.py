"""Visible masks from PNG folders (grey, 16-bit, palette) and native JSON; mismatch errors."""
import json

import numpy as np
import pytest
from PIL import Image

from amodal.errors import FormatError, InputError
from amodal.inference.visible_inputs import (
    check_visible_masks,
    load_visible_masks,
    read_instance_png,
)
from amodal.utils.masks import encode_rle

H, W = 24, 32


def _ids(t: int) -> np.ndarray:
    ids = np.zeros((H, W), np.uint8)
    ids[2:10, 3 + t:12 + t] = 1
    ids[12:20, 15:25] = 4
    return ids


def _palette_png(path, ids):
    im = Image.fromarray(ids, mode="P")
    im.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0, 0, 0, 128] + [0] * (256 * 3 - 15))
    im.save(path)


def test_png_folder_grey_natural_order(tmp_path):
    for t in (0, 1, 2, 10):  # "10.png" must come after "2.png"
        Image.fromarray(_ids(min(t, 3))).save(tmp_path / f"{t}.png")
    masks = load_visible_masks(tmp_path)
    assert len(masks) == 4 and masks.size == (W, H)
    frame = masks[3]
    assert set(frame) == {1, 4}
    np.testing.assert_array_equal(frame[1], _ids(3) == 1)
    assert frame[4].dtype == bool


def test_palette_png_keeps_indices(tmp_path):
    _palette_png(tmp_path / "00000.png", _ids(0))
    ids = read_instance_png(tmp_path / "00000.png")
    np.testing.assert_array_equal(ids, _ids(0))
    masks = load_visible_masks(tmp_path)
    assert set(masks[0]) == {1, 4}


def test_16bit_png(tmp_path):
    ids = _ids(0).astype(np.uint16) * 300
    Image.fromarray(ids).save(tmp_path / "00000.png")
    assert set(load_visible_masks(tmp_path)[0]) == {300, 1200}


def test_per_video_subfolder(tmp_path):
    (tmp_path / "clip7").mkdir()
    Image.fromarray(_ids(0)).save(tmp_path / "clip7" / "00000.png")
    assert len(load_visible_masks(tmp_path, video_name="clip7")) == 1
    with pytest.raises(FormatError, match="no PNG"):
        load_visible_masks(tmp_path, video_name="other")


def test_rgb_png_refused(tmp_path):
    Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(tmp_path / "00000.png")
    with pytest.raises(FormatError, match="colour image"):
        load_visible_masks(tmp_path)[0]


def test_mismatches_raise(tmp_path):
    for t in range(3):
        Image.fromarray(_ids(t)).save(tmp_path / f"{t:05d}.png")
    masks = load_visible_masks(tmp_path)
    check_visible_masks(masks, 3, (W, H), "clip.mp4")
    with pytest.raises(InputError, match="3 frames, but clip.mp4 has 5"):
        check_visible_masks(masks, 5, (W, H), "clip.mp4")
    with pytest.raises(InputError, match="32x24, but the frames of clip.mp4 are 64x48"):
        check_visible_masks(masks, 3, (64, 48), "clip.mp4")
    check_visible_masks(masks, None, None, "camera0")  # live source: nothing known to check
    Image.fromarray(np.zeros((H + 1, W), np.uint8)).save(tmp_path / "00001.png")
    with pytest.raises(FormatError, match="00001.png is 32x25"):
        masks[1]


def test_list_of_dicts_checked():
    frames = [{1: np.zeros((H, W), bool)}] * 2
    with pytest.raises(InputError, match="32x24"):
        check_visible_masks(frames, 2, (10, 10), "x")


def test_missing_and_bad_paths(tmp_path):
    with pytest.raises(FormatError, match="not found"):
        load_visible_masks(tmp_path / "nope")
    (tmp_path / "m.txt").write_text("x")
    with pytest.raises(FormatError, match="expected a folder of PNGs"):
        load_visible_masks(tmp_path / "m.txt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FormatError, match="no PNG"):
        load_visible_masks(tmp_path / "empty")


def _native(path, videos):
    d = {"videos": [], "categories": [{"id": 1, "name": "object"}], "annotations": []}
    tid = 1
    for vid, name in videos:
        d["videos"].append({"id": vid, "width": W, "height": H, "length": 3,
                            "file_names": [f"{name}/{t:05d}.jpg" for t in range(3)]})
        for oid in (1, 4):
            segs = [encode_rle(_ids(t) == oid) if (oid == 1 or t > 0) else None for t in range(3)]
            d["annotations"].append({"id": tid, "video_id": vid, "category_id": 1, "segmentations": segs})
            tid += 1
    path.write_text(json.dumps(d))


def test_native_json_single_and_matched(tmp_path):
    _native(tmp_path / "one.json", [(3, "clipA")])
    masks = load_visible_masks(tmp_path / "one.json", video_name="anything")
    assert len(masks) == 3 and masks.size == (W, H) and masks.video_id == 3
    assert len(masks[0]) == 1 and len(masks[1]) == 2  # second track absent in frame 0
    np.testing.assert_array_equal(next(iter(masks[2].values())), _ids(2) == 1)

    _native(tmp_path / "two.json", [(3, "clipA"), (8, "clipB")])
    assert load_visible_masks(tmp_path / "two.json", video_name="clipB").video_id == 8
    with pytest.raises(FormatError, match="none matches the source name 'clipC'"):
        load_visible_masks(tmp_path / "two.json", video_name="clipC")


def test_masks_are_indexed_and_sliced_like_a_list(tmp_path):
    for t in range(4):
        Image.fromarray(_ids(t)).save(tmp_path / f"{t}.png")
    _native(tmp_path / "one.json", [(3, "clipA")])
    for masks in (load_visible_masks(tmp_path), load_visible_masks(tmp_path / "one.json")):
        n = len(masks)
        last, also_last = masks[-1], masks[n - 1]
        assert sorted(last) == sorted(also_last) and all(np.array_equal(last[k], also_last[k]) for k in last)
        first = masks[:2]  # e.g. the first frames of a long video, still read lazily
        assert len(first) == 2 and first.size == masks.size and first.origin == masks.origin
        assert [sorted(f) for f in first] == [sorted(masks[0]), sorted(masks[1])]
        assert len(masks[::2]) == (n + 1) // 2 and sorted(masks[::2][1]) == sorted(masks[2])
        assert len(masks[5:]) == 0
        assert getattr(first, "video_id", 1) == getattr(masks, "video_id", 1)
        with pytest.raises(IndexError):
            masks[n]
        with pytest.raises(IndexError):
            masks[-n - 1]
        with pytest.raises(TypeError, match="frame number or slice"):
            masks["0"]
