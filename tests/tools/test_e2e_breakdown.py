"""tools/e2e_breakdown.py: matched objects' object-frames grouped by the track's visible IoU."""
import json

import pytest

from amodal.data.format import PredictionTrack, load_dataset, save_predictions
from amodal_fixtures import load_tool, make_dataset, strip_amodal


def _tool():
    return load_tool("e2e_breakdown")


def test_groups_and_costs_by_hand():
    tool = _tool()
    records = [(None, 0.0, "before"), (None, 0.4, "gap"), (0.3, 0.5, ""), (0.95, 1.0, ""), (0.95, 0.9, ""),
               (0.85, 0.8, ""), (0.6, 0.7, ""), (None, 0.0, "after")]
    assert [tool.group_of(r[0]) for r in records[:4]] == ["no mask", "no mask", "< 0.5", ">= 0.9"]
    assert tool.group_of(0.5) == "0.5-0.8" and tool.group_of(0.8) == "0.8-0.9" and tool.group_of(0.9) == ">= 0.9"
    out = tool.summarize(records)
    g = out["groups"]
    assert out["object_frames"] == 8 and out["no_mask"] == {"before": 1, "gap": 1, "after": 1, "hidden": 1}
    assert g["no mask"]["object_frames"] == 3 and g["no mask"]["cost"] == pytest.approx(100 * 2.6 / 8)
    assert g[">= 0.9"]["full_iou"] == pytest.approx(0.95) and g[">= 0.9"]["cost"] == pytest.approx(100 * 0.1 / 8)
    # the costs add up to what the matched objects lose: 100 - 100 x mean full IoU
    assert sum(x["cost"] for x in g.values()) == pytest.approx(100 * (1 - out["full_miou"]))


def test_a_run_on_a_tiny_dataset(tmp_path, capsys):
    tool = _tool()
    gt = make_dataset(tmp_path, videos=1, frames=6, objects=2)
    ds = load_dataset(gt)
    a, b = ds.tracks(1)[:2]
    n = len(a.segmentations)
    held = [None if t in (0, 3) else a.segmentations[t] for t in range(n)]  # the first frame and one gap missing
    amodal = [None if t == 0 else am for t, am in enumerate(a.amodal_segmentations)]  # frame 3: wholly hidden
    tracks = [PredictionTrack(1, 7, 1, 0.9, held, amodal),
              PredictionTrack(1, 8, 1, 0.9, list(b.segmentations), list(b.amodal_segmentations))]
    save_predictions(tracks, tmp_path / "p.json")
    assert tool.main([str(gt), str(tmp_path / "p.json"), "--json", str(tmp_path / "r.json")]) == 0
    out = json.loads((tmp_path / "r.json").read_text())
    present = sum(1 for t in (a, b) for s in t.segmentations if s is not None)
    assert out["matched_objects"] == 2 and out["object_frames"] == present
    assert out["no_mask"] == {"before": 1, "gap": 1, "after": 0, "hidden": 1}
    assert out["groups"]["no mask"]["object_frames"] == 2 and out["groups"]["no mask"]["full_iou"] == 0.5
    assert out["groups"][">= 0.9"]["object_frames"] == present - 2 and out["groups"][">= 0.9"]["full_iou"] == 1.0
    assert "2 matched objects" in capsys.readouterr().out
    bare = strip_amodal(gt, tmp_path / "bare.json")
    assert tool.main([str(bare), str(tmp_path / "p.json")]) == 2
    assert "no amodal masks" in capsys.readouterr().err
    assert tool.main([str(gt), str(tmp_path / "missing.json")]) == 2
