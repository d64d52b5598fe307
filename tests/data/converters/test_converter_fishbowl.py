"""FISHBOWL as released with SaVos: `{mode}_data/{mode}_frames/<vid>/*.png` + `{mode}_data.pkl`."""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools import _mask as coco_lowlevel

from amodal.data.converters.common import ConvertOptions, safe_load_pickle, write_dataset
from amodal.data.converters.fishbowl import convert_savos
from amodal.errors import FormatError

H, W, T = 12, 16, 6


def _encode_list(mask: np.ndarray):
    """The SaVos notebook's encoding: a one-element list from pycocotools._mask.encode."""
    return coco_lowlevel.encode(np.asfortranarray(mask[:, :, None].astype(np.uint8)))


def _make(tmp_path: Path, rect, data=None):
    root = tmp_path / "data"
    frames = root / "train_data" / "train_frames"
    for vid in ("00000", "00001"):
        (frames / vid).mkdir(parents=True)
        for t in reversed(range(T)):  # creation order must not matter
            cv2.imwrite(str(frames / vid / f"{t:05d}.png"), np.full((H, W, 3), t * 10, np.uint8))
    truth = {}
    if data is None:
        data = {}
        # fish 3 of video 0: frames 1..4; hidden completely on frame 3
        fish = {}
        for t in range(1, 5):
            fm = rect(H, W, 2, t, 8, t + 5)
            vm = fm & ~rect(H, W, 0, 0, H, t + 3) if t != 3 else np.zeros((H, W), bool)
            fish[t] = {"FM": _encode_list(fm), "FM_bx": [np.int64(2), np.int64(7), np.int64(t), np.int64(t + 4)],
                       "VM": _encode_list(vm), "VM_bx": [1, 2, 3, 4], "OCC_R": np.float64(1 - vm.sum() / fm.sum()),
                       "loss_mask_weight": _encode_list(~vm), "fish_type": "MediumFishB"}
            truth[("00000", 3, t)] = (vm, fm)
        data["00000_3"] = fish
        fm = rect(H, W, 5, 5, 10, 12)
        data["00000_12"] = {0: {"FM": _encode_list(fm), "VM": _encode_list(fm), "fish_type": "SmallFishA"}}
        truth[("00000", 12, 0)] = (fm, fm)
        fm = rect(H, W, 0, 0, 3, 3)
        data["00001_0"] = {5: {"FM": _encode_list(fm), "VM": _encode_list(fm), "fish_type": "BigFishB"}}
        truth[("00001", 0, 5)] = (fm, fm)
    with open(root / "train_data" / "train_data.pkl", "wb") as fh:
        pickle.dump(data, fh, protocol=2)
    return root, truth


def test_savos_round_trip(tmp_path, rect, decode, check_native):
    root, truth = _make(tmp_path, rect)
    res = convert_savos(root, ConvertOptions(mode="train"))
    d = res.dataset
    assert res.image_root == root / "train_data" / "train_frames"
    assert [v["file_names"] for v in d["videos"]] == [[f"{vid}/{t:05d}.png" for t in range(T)]
                                                      for vid in ("00000", "00001")]
    assert (d["videos"][0]["height"], d["videos"][0]["width"]) == (H, W)
    names = {c["id"]: c["name"] for c in d["categories"]}
    anns = d["annotations"]
    # tracks: video 0 fish 3, fish 12 (natural order), video 1 fish 0
    assert [(a["video_id"], names[a["category_id"]]) for a in anns] == [
        (1, "MediumFishB"), (1, "SmallFishA"), (2, "BigFishB")]
    keys = [("00000", 3), ("00000", 12), ("00001", 0)]
    for a, (vid, fish) in zip(anns, keys):
        for t in range(T):
            if (vid, fish, t) in truth:
                vm, fm = truth[(vid, fish, t)]
                np.testing.assert_array_equal(decode(a["segmentations"][t]), vm)
                np.testing.assert_array_equal(decode(a["amodal_segmentations"][t]), fm)
                assert a["amodal_areas"][t] == fm.sum()
            else:
                assert a["segmentations"][t] is None and a["amodal_segmentations"][t] is None
                assert a["bboxes"][t] is None
    hidden = anns[0]
    assert hidden["areas"][3] == 0 and hidden["bboxes"][3] is None  # present, fully hidden
    assert hidden["amodal_bboxes"][1] == [1.0, 2.0, 5.0, 6.0]
    out = tmp_path / "out.json"
    write_dataset(d, out, overwrite=False, source="fishbowl")
    check_native(d, out, res.image_root)


def test_savos_copies_frames_when_asked(tmp_path, rect, check_native):
    root, _ = _make(tmp_path, rect)
    res = convert_savos(root, ConvertOptions(frames_out=tmp_path / "frames"))
    assert res.frames_written == 2 * T and res.image_root == tmp_path / "frames"
    img = cv2.imread(str(tmp_path / "frames" / "00000" / "00004.png"))
    assert img.shape == (H, W, 3) and int(img[0, 0, 0]) == 40
    check_native(res.dataset, None, res.image_root)


def test_savos_malformed_key_names_file_and_key(tmp_path, rect):
    root, _ = _make(tmp_path, rect, data={"nounderscore": {0: {}}})
    with pytest.raises(FormatError, match=r"train_data\.pkl.*'nounderscore'"):
        convert_savos(root, ConvertOptions())


def test_savos_missing_mask_key(tmp_path, rect):
    root, _ = _make(tmp_path, rect, data={"00000_1": {2: {"fish_type": "SmallFishA"}}})
    with pytest.raises(FormatError, match=r"'00000_1' frame 2.*'FM'"):
        convert_savos(root, ConvertOptions())


def test_savos_frame_beyond_folder(tmp_path, rect):
    fm = _encode_list(rect(H, W, 0, 0, 2, 2))
    root, _ = _make(tmp_path, rect, data={"00000_1": {T: {"FM": fm, "VM": fm}}})
    with pytest.raises(FormatError, match=f"frame {T}.*only {T} frames"):
        convert_savos(root, ConvertOptions())


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_restricted_unpickler_refuses_code(tmp_path):
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"a": _Evil()}))
    with pytest.raises(FormatError, match=r"evil\.pkl.*refusing to unpickle"):
        safe_load_pickle(path)


def test_restricted_unpickler_loads_numpy(tmp_path):
    path = tmp_path / "ok.pkl"
    for proto in (2, 4, 5):
        value = {"a": np.arange(4, dtype=np.int32), "b": np.float64(0.5), "c": [b"xy", (1, 2.0)], "d": {3}}
        path.write_bytes(pickle.dumps(value, protocol=proto))
        got = safe_load_pickle(path)
        np.testing.assert_array_equal(got["a"], value["a"])
        assert got["b"] == 0.5 and got["c"] == [b"xy", (1, 2.0)] and got["d"] == {3}


def test_truncated_pickle_is_a_format_error(tmp_path):
    path = tmp_path / "cut.pkl"
    path.write_bytes(pickle.dumps({"a": list(range(100))})[:20])
    with pytest.raises(FormatError, match=r"cut\.pkl"):
        safe_load_pickle(path)


def test_savos_short_counts_name_file_and_key(tmp_path, rect):
    fm = _encode_list(rect(H, W, 0, 0, 2, 2))
    short = [{"size": [H, W], "counts": "0"}]  # adds up to 0 pixels, not H*W
    root, _ = _make(tmp_path, rect, data={"00000_1": {2: {"FM": short, "VM": fm}}})
    with pytest.raises(FormatError, match=rf"train_data\.pkl: key '00000_1' frame 2 'FM': RLE counts add up to 0 "
                                          rf"pixels, size {H}x{W} has {H * W}$"):
        convert_savos(root, ConvertOptions())
