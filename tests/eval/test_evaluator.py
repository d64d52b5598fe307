"""AmodalEvaluator: averaging, filters, buckets, merge / state_dict, streaming == batch."""
import json

import numpy as np
import pytest

from amodal.eval.evaluator import AmodalEvaluator

SHAPE = (4, 6)


def box(r0, r1, c0, c1):
    m = np.zeros(SHAPE, dtype=bool)
    m[r0 : r1 + 1, c0 : c1 + 1] = True
    return m


def test_frame_and_object_averaging_differ():
    # frame 0: objects 1 (IoU 1) and 2 (IoU 0); frame 1: object 1 only (IoU 1)
    # object average = (1 + 0 + 1) / 3 = 2/3; frame average = mean(0.5, 1.0) = 0.75
    a, b = box(0, 1, 0, 1), box(2, 3, 3, 5)
    ev = AmodalEvaluator()
    ev.process("v", 0, {1: a, 2: b}, {1: a, 2: b}, {1: a, 2: box(0, 0, 5, 5)})
    ev.process("v", 1, {1: a}, {1: a}, {1: a})
    full = ev.summarize()["metrics"]["full"]
    assert full["object"] == pytest.approx(2 / 3)
    assert full["frame"] == pytest.approx(0.75)
    assert full["count"] == 3 and full["frames"] == 2


def test_same_frame_index_in_two_videos_are_two_frames():
    a = box(0, 1, 0, 1)
    ev = AmodalEvaluator()
    ev.process("v1", 0, {1: a}, {1: a}, {1: a})  # IoU 1
    ev.process("v2", 0, {1: a, 2: a}, {1: a, 2: a}, {1: a, 2: np.zeros(SHAPE, bool)})  # 1, 0
    full = ev.summarize()["metrics"]["full"]
    assert full["frames"] == 2 and full["frame"] == pytest.approx((1 + 0.5) / 2)


def test_missing_gt_amodal_skipped_and_missing_prediction_is_empty():
    a = box(0, 1, 0, 1)
    ev = AmodalEvaluator()
    # object 2 has no amodal truth in this frame (None) and object 3 an empty one: skipped.
    # object 1 has no prediction: counted as an empty prediction -> IoU 0.
    ev.process("v", 0, {1: a, 2: a, 3: None}, {1: a, 2: None, 3: np.zeros(SHAPE, bool)}, {})
    s = ev.summarize()
    assert s["object_frames"] == 1 and s["metrics"]["full"]["object"] == 0.0


def occ_object(hidden: int):
    """A 10-px object (row 0 cols 0-4 + row 1 cols 0-4) with `hidden` px not visible."""
    g = box(0, 1, 0, 4)
    v = g.copy()
    v.ravel()[np.flatnonzero(g.ravel())[:hidden]] = False
    return v, g


def test_occlusion_filter_is_strict_at_both_ends_and_buckets():
    ev = AmodalEvaluator(occ_min=0.1, occ_max=0.7)
    for frame, hidden in enumerate([0, 1, 2, 6, 7, 10]):  # occ 0, .1, .2, .6, .7, 1.0
        v, g = occ_object(hidden)
        ev.process("v", frame, {5: v}, {5: g}, {5: g})
    s = ev.summarize()
    assert s["object_frames_total"] == 6
    assert s["object_frames"] == 2  # only 0.2 and 0.6: 0.1 and 0.7 are excluded (strict)
    counts = [b["count"] for b in s["buckets"]]
    assert counts == [0, 1, 0, 1, 0]  # [0,.1) [.1,.3) [.3,.5) [.5,.7) [.7,1]
    no_filter = AmodalEvaluator()
    no_filter.load_state_dict(ev.state_dict())  # same records, no filter
    s = no_filter.summarize()
    # 0 -> bucket 0; 0.1, 0.2 -> bucket 1; 0.6 -> bucket 3; 0.7 and 1.0 -> last (closed) bucket
    assert [b["count"] for b in s["buckets"]] == [1, 2, 0, 1, 2]
    assert s["buckets"][0]["strict"]["count"] == 0  # occ 0: nothing hidden, excluded from strict


def test_visible_quality_j_and_f():
    a = box(0, 3, 1, 3)
    ev = AmodalEvaluator()
    # pred visible shifted by one column: J = 8 / 16 = 0.5; F = 1 (tolerance 1 px at 4x6)
    ev.process("v", 0, {1: a}, {1: a}, {1: a}, pred_visible={1: box(0, 3, 2, 4)})
    vis = ev.summarize()["visible"]
    assert vis["J"]["object"] == pytest.approx(0.5)
    assert vis["F"]["object"] == pytest.approx(1.0)


def _random_frames(seed: int, n_frames: int = 6):
    rng = np.random.default_rng(seed)
    frames = []
    for t in range(n_frames):
        gt_v, gt_a, pr = {}, {}, {}
        for k in range(3):
            g = rng.random(SHAPE) < 0.5
            v = g & (rng.random(SHAPE) < 0.6)
            gt_v[k], gt_a[k] = v, g
            pr[k] = rng.random(SHAPE) < 0.5
        frames.append((f"vid{t % 2}", t, gt_v, gt_a, pr))
    return frames


def test_merge_and_streaming_equal_one_batch():
    frames = _random_frames(0)
    single = AmodalEvaluator(occ_min=0.05, occ_max=0.95, pasted_erode=3)
    for f in frames:
        single.process(*f, pred_visible=f[2])
    # two "processes" on interleaved shards, one restored from a JSON state
    a = AmodalEvaluator(occ_min=0.05, occ_max=0.95, pasted_erode=3)
    b = AmodalEvaluator(occ_min=0.05, occ_max=0.95, pasted_erode=3)
    for i, f in enumerate(frames):
        (a if i % 2 else b).process(*f, pred_visible=f[2])
    restored = AmodalEvaluator(occ_min=0.05, occ_max=0.95, pasted_erode=3)
    restored.load_state_dict(json.loads(json.dumps(b.state_dict())))
    a.merge(restored)
    sa, ss = a.summarize(), single.summarize()
    for name, m in ss["metrics"].items():
        assert sa["metrics"][name]["count"] == m["count"]
        for avg in ("frame", "object"):
            assert sa["metrics"][name][avg] == pytest.approx(m[avg]), (name, avg)
    assert sa["visible"]["J"]["object"] == pytest.approx(ss["visible"]["J"]["object"])
    assert ss["metrics"]["full"]["count"] > 0


def test_reset_and_incompatible_merge():
    ev = AmodalEvaluator()
    a = box(0, 1, 0, 1)
    ev.process("v", 0, {1: a}, {1: a}, {1: a})
    ev.reset()
    assert ev.summarize()["object_frames"] == 0
    assert ev.summarize()["metrics"]["full"]["object"] is None
    with pytest.raises(ValueError):
        ev.merge(AmodalEvaluator(pasted_erode=0))
    with pytest.raises(ValueError):
        AmodalEvaluator(occ_min=0.7, occ_max=0.1)


def test_tracking_counts_are_reported():
    ev = AmodalEvaluator()
    ev.add_matching(gt_objects=3, matched=2, missed=1, false_positives=4)
    ev.add_matching(gt_objects=1, matched=1, missed=0, false_positives=0)
    assert ev.summarize()["tracking"] == {"gt_objects": 4, "matched": 3, "missed": 1, "false_positives": 4}


def _occluding_pair(shape=(20, 20)):
    """Object 1 in front hides 30 pixels of object 2; object 3 stands apart. (visible, amodal) dicts."""
    front = np.zeros(shape, bool)
    front[5:15, 0:10] = True
    back_amodal = np.zeros(shape, bool)
    back_amodal[5:15, 7:17] = True  # columns 7-9 under object 1
    apart = np.zeros(shape, bool)
    apart[17:20, 17:20] = True
    return {1: front, 2: back_amodal & ~front, 3: apart}, {1: front, 2: back_amodal, 3: apart}


def test_depth_order_accuracy_counts_true_occluding_pairs():
    vis, amodal = _occluding_pair()
    ev = AmodalEvaluator()
    ev.process("v", 0, vis, amodal, amodal, pred_depth={1: 0, 2: 2, 3: 1})  # right (3 is in no pair)
    ev.process("v", 1, vis, amodal, amodal, pred_depth={1: 1, 2: 0, 3: 2})  # wrong
    ev.process("v", 2, vis, amodal, amodal, pred_depth={1: 0, 2: None})  # object 2 not ranked
    ev.process("v", 3, vis, amodal, amodal)  # no ranks: not counted
    assert ev.summarize()["order"] == {"pairs": 3, "ranked": 2, "correct": 1, "accuracy": 0.5}
    # the pair's ranks are read for scored objects only; an occlusion of a few pixels is no pair
    ev2 = AmodalEvaluator()
    ev2.process("v", 0, vis, amodal, amodal, score_ids=[1, 3], pred_depth={1: 0, 2: 1, 3: 2})
    small_vis, small_amodal = dict(vis), dict(amodal)
    small_amodal[2] = np.zeros((20, 20), bool)
    small_amodal[2][5:8, 9:17] = True  # 3 pixels under object 1
    small_vis[2] = small_amodal[2] & ~vis[1]
    ev2.process("v", 1, small_vis, small_amodal, small_amodal, pred_depth={1: 0, 2: 1})
    assert "order" not in ev2.summarize()


def test_depth_order_counts_survive_state_dict_and_merge():
    vis, amodal = _occluding_pair()
    a, b = AmodalEvaluator(), AmodalEvaluator()
    a.process("v", 0, vis, amodal, amodal, pred_depth={1: 0, 2: 1})
    b.process("w", 0, vis, amodal, amodal, pred_depth={1: 1, 2: 0})
    c = AmodalEvaluator()
    c.load_state_dict(json.loads(json.dumps(a.state_dict())))
    c.merge(b)
    assert c.summarize()["order"] == {"pairs": 2, "ranked": 2, "correct": 1, "accuracy": 0.5}
