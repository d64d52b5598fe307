"""tools/hidden_objects.py: wholly hidden object-frames, what the predictions give there, phantoms."""
import json

import numpy as np

from amodal.data.format import PredictionTrack, save_predictions
from amodal.utils.masks import encode_rle
from amodal_fixtures import load_tool

H, W, T = 20, 30, 4


def _box(x0: int) -> np.ndarray:
    m = np.zeros((H, W), bool)
    m[4:12, x0:x0 + 8] = True
    return m


def _rle(m):
    return encode_rle(m) if m is not None and m.any() else None


def _dataset(tmp_path):
    """One object, visible in frames 0 and 3, wholly hidden in 1 and 2 (amodal box moving right)."""
    vis = [_box(2), None, None, _box(11)]
    amo = [_box(2), _box(5), _box(8), _box(11)]
    d = {"videos": [{"id": 1, "width": W, "height": H, "length": T, "file_names": [f"{t}.png" for t in range(T)]}],
         "categories": [{"id": 1, "name": "box"}],
         "annotations": [{"id": 5, "video_id": 1, "category_id": 1, "segmentations": [_rle(m) for m in vis],
                          "amodal_segmentations": [_rle(m) for m in amo]}]}
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(d))
    return path


def test_counts_hidden_frames_their_iou_and_phantoms(tmp_path, capsys):
    tool = load_tool("hidden_objects")
    gt = _dataset(tmp_path)
    # frame 1: the right box (IoU 1); frame 2: not reported; a second track hidden where no object is
    right = PredictionTrack(1, 5, 1, 0.9, [_rle(_box(2)), None, None, _rle(_box(11))],
                            [_rle(_box(2)), _rle(_box(5)), None, _rle(_box(11))], height=H, width=W)
    save_predictions([right], tmp_path / "p.json")
    assert tool.main([str(gt), str(tmp_path / "p.json"), "--json", str(tmp_path / "r.json")]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result == {"hidden": 2, "reported": 1, "iou": 0.5, "iou_reported": 1.0, "half": 1, "hidden_outputs": 1, "phantoms": 0}
    assert json.loads((tmp_path / "r.json").read_text()) == result
    shifted = PredictionTrack(1, 5, 1, 0.9, [_rle(_box(2)), None, None, None],
                              [_rle(_box(2)), _rle(_box(13)), _rle(_box(8)), _rle(_box(20))], height=H, width=W)
    save_predictions([shifted], tmp_path / "q.json")
    assert tool.main([str(gt), str(tmp_path / "q.json")]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["reported"] == 2 and result["iou"] == round((0.0 + 1.0) / 2, 4)  # frame 1 off by 8 (IoU 0), frame 2 right
    assert result["hidden_outputs"] == 3 and result["phantoms"] == 0  # frame 3 is hidden output, object present


def test_phantoms_and_bad_input(tmp_path, capsys):
    tool = load_tool("hidden_objects")
    gt = _dataset(tmp_path)
    d = json.loads(gt.read_text())
    d["annotations"][0]["amodal_segmentations"][3] = None  # the object has left by frame 3
    d["annotations"][0]["segmentations"][3] = None
    gt.write_text(json.dumps(d))
    ghost = PredictionTrack(1, 5, 1, 0.9, [_rle(_box(2)), None, None, None],
                            [_rle(_box(2)), None, None, _rle(_box(11))], height=H, width=W)
    save_predictions([ghost], tmp_path / "p.json")
    assert tool.main([str(gt), str(tmp_path / "p.json")]) == 0
    assert json.loads(capsys.readouterr().out)["phantoms"] == 1
    assert tool.main([str(gt), str(tmp_path / "missing.json")]) == 2
    assert capsys.readouterr().err.startswith("hidden_objects: ")
