"""tools/real_clip_iou.py: scores of `amodal infer` tracks against a clip's visible masks."""
import json

import numpy as np
from PIL import Image

from amodal.data.format import PredictionTrack, save_predictions
from amodal.utils.masks import encode_rle
from amodal_fixtures import load_tool

H, W, T = 20, 30, 4


def _box(t: int, y0: int = 4) -> np.ndarray:
    m = np.zeros((H, W), bool)
    m[y0:y0 + 8, 2 + 3 * t:12 + 3 * t] = True
    return m


def _clip(tmp_path):
    """Mask PNGs of one object (id 255, as the real clips store it) moving right for T frames."""
    folder = tmp_path / "masks"
    folder.mkdir()
    for t in range(T):
        Image.fromarray(_box(t).astype(np.uint8) * 255).save(folder / f"{t:05d}.png")
    return folder


def _track(track_id, masks):
    return PredictionTrack(1, track_id, 1, 0.9, [encode_rle(m) if m is not None and m.any() else None for m in masks],
                           height=H, width=W)


def test_scores_the_best_track_and_the_best_per_frame(tmp_path, capsys):
    tool = load_tool("real_clip_iou")
    folder = _clip(tmp_path)
    exact_half = _track(7, [_box(t) if t < 2 else None for t in range(T)])  # right, but for half the frames
    other_half = _track(9, [None, None, _box(2), _box(3)])
    stray = _track(3, [_box(t, y0=12) for t in range(T)])  # overlaps the object by 0 rows: IoU 0
    save_predictions([exact_half, other_half, stray], tmp_path / "p.json")
    assert tool.main([str(folder), str(tmp_path / "p.json"), "--json", str(tmp_path / "r.json")]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["object"] == 255 and row["frames"] == T and row["tracks"] == 3
    assert row["track_iou"] == 0.5 and row["best_track"] in (7, 9)  # each covers half of the object's life
    assert row["frame_best_iou"] == 1.0  # every frame is found by some track
    assert json.loads((tmp_path / "r.json").read_text()) == [row]
    save_predictions([stray], tmp_path / "q.json")
    assert tool.main([str(folder), str(tmp_path / "q.json")]) == 0
    assert json.loads(capsys.readouterr().out)[0]["frame_best_iou"] == 0.0


def test_refuses_predictions_that_do_not_fit_the_masks(tmp_path, capsys):
    tool = load_tool("real_clip_iou")
    folder = _clip(tmp_path)
    save_predictions([_track(1, [_box(t) for t in range(T - 1)])], tmp_path / "short.json")
    assert tool.main([str(folder), str(tmp_path / "short.json")]) == 2
    assert "has 3 frames, the masks 4" in capsys.readouterr().err
    small = PredictionTrack(1, 1, 1, 0.9, [encode_rle(np.ones((5, 5), bool))] * T, height=5, width=5)
    save_predictions([small], tmp_path / "small.json")
    assert tool.main([str(folder), str(tmp_path / "small.json")]) == 2
    assert "5x5" in capsys.readouterr().err
    assert tool.main([str(folder), str(tmp_path / "missing.json")]) == 2
    assert "real_clip_iou:" in capsys.readouterr().err
