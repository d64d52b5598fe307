"""tools/hidden_region.py: per object-frame scores by hand, buckets, and a run on a tiny dataset."""
import json
import math

import numpy as np

from amodal_fixtures import load_tool, make_dataset, save_tiny_checkpoint


def _tool():
    return load_tool("hidden_region")


def test_object_frame_scores_by_hand():
    tool = _tool()
    gt = np.zeros((10, 10), bool)
    gt[2:8, 2:8] = True  # 36 pixels
    vis = gt.copy()
    vis[:, 5:] = False  # columns 5-7 hidden: H = 18 pixels
    others = np.zeros_like(gt)
    others[:, 5:9] = True  # the occluder covers H and one more column
    logits = np.full(gt.shape, -5.0, np.float32)
    logits[2:8, 5:7] = 1.0  # two of the three hidden columns, confident
    logits[2:8, 8] = -0.5  # a wrong column, unsure
    rec = tool.object_frame(gt, vis, others, logits, [0.0, -1.0], 0.0)
    assert rec["rate"] == 0.5 and rec["hidden"] == 18 and rec["hit"] == 12 and rec["predicted"] == 12
    assert math.isclose(rec["occ"][0], 12 / 18) and math.isclose(rec["occ"][1], 12 / 24)
    assert math.isclose(rec["full"][0], 30 / 36) and math.isclose(rec["full"][1], 30 / 42)
    assert tool.object_frame(gt, gt, others, logits, [0.0], 0.0)["occ"] is None  # nothing hidden


def test_summary_buckets():
    tool = _tool()
    recs = [{"rate": 0.05, "full": [0.9], "occ": [0.5], "hit": 1, "hidden": 2, "predicted": 4, "age": 0, "own": 0},
            {"rate": 0.6, "full": [0.7], "occ": [0.25], "hit": 3, "hidden": 6, "predicted": 3, "age": 9, "own": 0},
            {"rate": 0.0, "full": [1.0], "occ": None, "hit": 0, "hidden": 0, "predicted": 0, "age": 0, "own": 0}]
    s = tool.summarize(recs, [0.5])
    assert s["object_frames"] == 3 and s["thresholds"][0]["full_miou"] == 86.67
    assert s["hidden"] == {"object_frames": 2, "occluded_miou": 37.5, "recall": 50.0, "precision": 62.5}
    assert s["by_occlusion"]["0.5-0.7"]["recall"] == 50.0 and s["by_occlusion"]["0.0-0.1"]["precision"] == 25.0
    assert s["by_age"][">=8"]["object_frames"] == 1 and s["by_age"]["0"]["object_frames"] == 1


def test_runs_on_a_dataset_and_refuses_bad_input(tmp_path, capsys):
    tool = _tool()
    ann = make_dataset(tmp_path / "d", videos=1, frames=4)
    ckpt = save_tiny_checkpoint(tmp_path / "m.pt")
    out_json = tmp_path / "s.json"
    assert tool.main([str(ann), str(ckpt), "--videos", "1", "--thresholds", "0.3,0.7", "--json", str(out_json)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["threshold"] for r in out["thresholds"]] == [0.3, 0.5, 0.7]  # the checkpoint's own 0.5 added
    assert out["object_frames"] > 0 and json.loads(out_json.read_text()) == out
    assert tool.main([str(ann), str(ckpt), "--thresholds", "1.5"]) == 2
    assert tool.main([str(ann), str(tmp_path / "missing.pt")]) == 2
    assert "hidden_region:" in capsys.readouterr().err
