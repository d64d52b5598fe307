"""tools/stream_offline_gap.py: two given-visible runs compared per object-frame, grouped."""
import json

import numpy as np
import pytest

from amodal.data.format import PredictionTrack, load_dataset, save_predictions
from amodal.utils.masks import encode_rle
from amodal_fixtures import load_tool, make_dataset, strip_amodal


def _tool():
    return load_tool("stream_offline_gap")


def _square(size: int, side: int) -> dict:
    m = np.zeros((size, size), bool)
    m[:side, :side] = True
    return encode_rle(m)


def test_records_by_hand():
    tool = _tool()
    full = _square(10, 4)  # area 16
    half = _square(10, 2)  # area 4: IoU 0.25 with the full square
    # frame 0 absent, frame 1 first visible (area 4), frame 2 visible 8, frame 3 wholly hidden, frame 4 visible 16
    vis_areas = [None, 4, 8, 0, 16]
    full_areas = [None, 16, 16, 16, 16]
    gt = [None, full, full, full, full]
    a = [None, half, full, None, full]
    b = [None, full, full, full, full]
    recs = tool.object_frames(vis_areas, full_areas, gt, a, b)
    assert [r[0] for r in recs] == [0, 1, 2, 3]  # age from the first visible frame
    assert [r[1] for r in recs] == pytest.approx([0.75, 0.5, 1.0, 0.0])  # occlusion
    assert [r[2] for r in recs] == pytest.approx([0.0, 0.25, 0.5, 0.5])  # the past's best visible area / full now
    assert [r[3] for r in recs] == pytest.approx([0.25, 1.0, 0.0, 1.0])
    assert [r[4] for r in recs] == [1.0] * 4
    out = tool.summarize(recs)
    assert out["object_frames"] == 4 and out["a"] == pytest.approx(0.5625) and out["b"] == 1.0
    past = {(r["from"], r["to"]): r for r in out["past"]}
    assert past[(0.0, 0.5)]["object_frames"] == 2 and past[(0.0, 0.5)]["share_of_difference"] == pytest.approx(0.75 / 1.75)
    assert past[(0.5, 0.8)]["share_of_difference"] == pytest.approx(1.0 / 1.75)
    for name in tool.EDGES:  # every grouping covers every record, and the shares add up
        assert sum(r["object_frames"] for r in out[name]) == 4
        assert sum(r["share_of_difference"] or 0.0 for r in out[name]) == pytest.approx(1.0)


def test_a_run_on_a_tiny_dataset(tmp_path, capsys):
    tool = _tool()
    gt = make_dataset(tmp_path, videos=1, frames=6, objects=2)
    ds = load_dataset(gt)
    a_tracks, b_tracks = [], []
    for k, tr in enumerate(ds.tracks(1)):
        amodal = list(tr.amodal_segmentations)
        b_tracks.append(PredictionTrack(1, tr.id, 1, 0.9, list(tr.segmentations), amodal))
        missed = [None if (k == 0 and t == 4) else m for t, m in enumerate(amodal)]  # A misses one frame
        a_tracks.append(PredictionTrack(1, tr.id, 1, 0.9, list(tr.segmentations), missed))
    save_predictions(a_tracks, tmp_path / "a.json")
    save_predictions(b_tracks, tmp_path / "b.json")
    assert tool.main([str(gt), str(tmp_path / "a.json"), str(tmp_path / "b.json"), "--json", str(tmp_path / "r.json")]) == 0
    out = json.loads((tmp_path / "r.json").read_text())
    first = next(t for t, s in enumerate(ds.tracks(1)[0].segmentations) if s is not None)
    n = out["object_frames"]
    assert out["b"] == 1.0 and out["a"] == pytest.approx(1.0 - 1.0 / n)
    group = [r for r in out["age"] if r["from"] <= 4 - first < r["to"]][0]  # the missed frame's age group
    assert group["share_of_difference"] == 1.0 and group["a"] < 1.0
    assert all(r["share_of_difference"] == 0.0 for r in out["age"] if r is not group and r["object_frames"])
    assert "object-frames" in capsys.readouterr().out
    bare = strip_amodal(gt, tmp_path / "bare.json")
    assert tool.main([str(bare), str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 2
    assert "no amodal masks" in capsys.readouterr().err
    assert tool.main([str(gt), str(tmp_path / "a.json"), str(tmp_path / "missing.json")]) == 2
