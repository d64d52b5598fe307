"""tools/detection_quality.py: per-frame recall/precision counts and a run on a tiny dataset."""
import json

import numpy as np

from amodal_fixtures import load_tool, make_dataset, save_tiny_checkpoint


def _tool():
    return load_tool("detection_quality")


def _box(y0, x0, s=10):
    m = np.zeros((40, 40), bool)
    m[y0:y0 + s, x0:x0 + s] = True
    return m


def test_counts_match_by_iou_half():
    tool = _tool()
    truth = [_box(0, 0), _box(20, 20)]
    found = [_box(1, 0), _box(0, 25), _box(30, 0)]  # one good match, two wrong
    c = tool.frame_counts(truth, found)
    assert c == {"objects": 2.0, "detections": 3.0, "found": 1.0, "correct": 1.0, "best_iou_sum": c["best_iou_sum"]}
    assert abs(c["best_iou_sum"] - 90 / 110) < 1e-6
    s = tool.summarize(c)
    assert s["recall"] == 0.5 and s["precision"] == round(1 / 3, 4) and s["detections_per_object"] == 1.5
    assert tool.frame_counts([], [_box(0, 0)])["correct"] == 0 and tool.frame_counts([_box(0, 0)], [])["found"] == 0


def test_runs_on_a_dataset_and_refuses_bad_input(tmp_path, capsys):
    tool = _tool()
    ann = make_dataset(tmp_path / "d", videos=1, frames=4)
    ckpt = save_tiny_checkpoint(tmp_path / "m.pt")
    assert tool.main([str(ann), str(ckpt), "--videos", "1", "--every", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"objects", "detections", "recall", "precision", "mean_best_iou", "detections_per_object"}
    assert out["objects"] > 0 and 0 <= out["recall"] <= 1
    assert tool.main([str(ann), str(tmp_path / "missing.pt")]) == 2
    assert "detection_quality:" in capsys.readouterr().err


def test_oracles_score_true_cues_and_perfect_oracle_finds_separated_objects(tmp_path, capsys):
    tool = _tool()
    ann = make_dataset(tmp_path / "d", videos=1, frames=4)
    ckpt = save_tiny_checkpoint(tmp_path / "m.pt")
    assert tool.main([str(ann), str(ckpt), "--videos", "1", "--every", "2", "--oracles"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["oracles"]) == set(tool.ORACLES) and 0.0 <= out["foreground_iou"] <= 1.0
    for summary in out["oracles"].values():
        assert summary["objects"] == out["objects"]


def test_oracle_with_true_foreground_and_centers_recovers_apart_objects():
    """Two well-separated squares: with true foreground and centers, zero offsets still give both."""
    import torch

    from amodal.config import VisibleConfig
    from amodal.models.visible import VisibleNet, VisibleOutput

    tool = _tool()
    net = VisibleNet(VisibleConfig(width=4, input_height=64, input_width=64, min_area=4)).eval()
    ids = np.zeros((64, 64), np.int32)
    ids[4:20, 4:20] = 1
    ids[40:60, 36:60] = 2
    z = torch.zeros(1, 1, 32, 32)
    out = VisibleOutput(fg=z - 5, boundary=z - 5, center=z - 5, offset=torch.zeros(1, 2, 32, 32))
    found = tool.oracle_detections(net, out, ids)
    assert found["network"] == [] and found["foreground"] == [0.0, float((ids > 0).sum() // 4)]
    truth = [ids == 1, ids == 2]
    assert tool.frame_counts(truth, found["true_foreground_and_centers"])["found"] == 2
