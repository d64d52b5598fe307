"""copy / convex baselines, the model name table and matching."""
import numpy as np
import pytest

from amodal.data.format import dataset_from_dict
from amodal.errors import AmodalError
from amodal.eval.baselines import MODELS, ModelOptions, build_runner, convex_hull_mask, register_model
from amodal.eval.evaluator import AmodalEvaluator
from amodal.eval.matching import match_tracks, mean_visible_iou
from amodal.eval.run import run_model, score_predictions
from amodal.utils.masks import decode_rle, encode_rle


def box(r0, r1, c0, c1, shape=(4, 6)):
    m = np.zeros(shape, dtype=bool)
    m[r0 : r1 + 1, c0 : c1 + 1] = True
    return m


def test_convex_hull_of_an_l_shape():
    # L: column 0 (rows 0-3) and row 3 (cols 0-3) -> 7 px; hull of pixel centres is the
    # triangle (x=0,y=0), (x=0,y=3), (x=3,y=3): every pixel with col <= row -> 4+3+2+1 = 10 px
    m = np.zeros((4, 4), bool)
    m[:, 0] = True
    m[3, :] = True
    hull = convex_hull_mask(m)
    expected = np.array([[c <= r for c in range(4)] for r in range(4)])
    assert hull.sum() == 10
    assert np.array_equal(hull, expected)
    assert not convex_hull_mask(np.zeros((3, 3), bool)).any()


def _two_object_dataset():
    # video 1, 4x6, 1 frame. object 10: G = rows 1-2 x cols 0-3 (8 px), V = cols 0-1 (4 px)
    # object 20: a 6-px object, 2 px hidden: G = rows 0-2 x cols 4-5, V = rows 0-1 x cols 4-5
    g10, v10 = box(1, 2, 0, 3), box(1, 2, 0, 1)
    g20, v20 = box(0, 2, 4, 5), box(0, 1, 4, 5)
    d = {
        "videos": [{"id": 1, "width": 6, "height": 4, "length": 1, "file_names": ["a.png"]}],
        "categories": [{"id": 3, "name": "thing"}],
        "annotations": [
            {"id": 10, "video_id": 1, "category_id": 3, "segmentations": [encode_rle(v10)],
             "amodal_segmentations": [encode_rle(g10)]},
            {"id": 20, "video_id": 1, "category_id": 3, "segmentations": [encode_rle(v20)],
             "amodal_segmentations": [encode_rle(g20)]},
        ],
    }
    return d


def test_copy_baseline_full_iou_is_visible_fraction():
    d = _two_object_dataset()
    run_set = dataset_from_dict(d, read_amodal=False)
    preds = run_model(run_set, build_runner("copy"), given_visible=True, frames_for=lambda v: None)
    assert sorted(p.track_id for p in preds) == [10, 20]
    assert all(p.category_id == 3 for p in preds)
    score_set = dataset_from_dict(d)
    for p in preds:
        # the copy prediction is the visible mask itself
        assert np.array_equal(decode_rle(p.amodal_segmentations[0]), decode_rle(p.segmentations[0]))
        ev = AmodalEvaluator()
        score_predictions(score_set, [p], given_visible=True, evaluator=ev)
        full = ev.summarize()["metrics"]["full"]
        # object 10: |V|/|G| = 4/8; object 20: 4/6. (the other object has no prediction: IoU 0)
        per_object = {10: 4 / 8, 20: 4 / 6}
        assert full["count"] == 2
        assert full["object"] == pytest.approx(per_object[p.track_id] / 2)
    ev = AmodalEvaluator()
    score_predictions(score_set, preds, given_visible=True, evaluator=ev)
    m = ev.summarize()["metrics"]
    assert m["full"]["object"] == pytest.approx((4 / 8 + 4 / 6) / 2)
    assert m["strict"]["object"] == 0.0  # copy predicts nothing hidden


def test_model_table_and_registration():
    assert {"ours", "copy", "convex"} <= set(MODELS)
    with pytest.raises(AmodalError, match="unknown model 'nope'"):
        build_runner("nope")
    with pytest.raises(ValueError):
        register_model("copy", MODELS["copy"])
    register_model("copy2", MODELS["copy"])
    try:
        assert build_runner("copy2", ModelOptions()).needs_frames(given_visible=True) is False
    finally:
        del MODELS["copy2"]


def test_mean_visible_iou_counts_frames_where_either_is_present():
    a = box(0, 1, 0, 1)
    gt = {1: [encode_rle(a), encode_rle(a), None, None]}
    # pred 7 equals the object on frame 0 only, and is present alone on frame 3:
    # frames where either is present: 0, 1, 3 -> mean IoU (1 + 0 + 0) / 3
    pred = {7: [encode_rle(a), None, None, encode_rle(a)]}
    _, _, iou = mean_visible_iou(gt, pred, 4)
    assert iou[0, 0] == pytest.approx(1 / 3)


def test_match_tracks_threshold_and_false_positives():
    a, b, c = box(0, 1, 0, 1), box(2, 3, 3, 5), box(0, 0, 4, 5)
    gt = {1: [encode_rle(a), encode_rle(a)], 2: [encode_rle(b), encode_rle(b)]}
    pred = {
        7: [encode_rle(a), None],  # half the frames: mean IoU 0.5 -> matched (>= 0.5)
        8: [encode_rle(b), encode_rle(b)],  # perfect
        9: [encode_rle(c), encode_rle(c)],  # nothing
    }
    r = match_tracks(gt, pred, 2)
    assert r.pairs == {1: 7, 2: 8}
    assert r.scores[1] == pytest.approx(0.5)
    assert r.missed == [] and r.false_positives == [9]
    r = match_tracks(gt, pred, 2, threshold=0.6)
    assert r.pairs == {2: 8} and r.missed == [1] and sorted(r.false_positives) == [7, 9]


def test_match_tracks_never_trades_a_match_for_two_near_misses():
    """Object 1 on column 0, object 2 on column 1 of a 2x2 image, 20 frames. Track 10 covers column 0
    for frames 0-8 and column 1 for 9-18; track 11 covers column 1 for frames 0-8. Mean IoUs:
    (1, 10) 0.45, (2, 10) 0.50, (2, 11) 0.45: one match (2 <-> 10), whatever the near misses sum to."""
    col0, col1 = np.zeros((2, 2), bool), np.zeros((2, 2), bool)
    col0[:, 0], col1[:, 1] = True, True
    gt = {1: [encode_rle(col0)] * 20, 2: [encode_rle(col1)] * 20}
    pred = {10: [encode_rle(col0)] * 9 + [encode_rle(col1)] * 10 + [None],
            11: [encode_rle(col1)] * 9 + [None] * 11}
    _, _, iou = mean_visible_iou(gt, pred, 20)
    assert iou == pytest.approx(np.array([[0.45, 0.0], [0.5, 0.45]]))
    r = match_tracks(gt, pred, 20)
    assert r.pairs == {2: 10} and r.missed == [1] and r.false_positives == [11]

