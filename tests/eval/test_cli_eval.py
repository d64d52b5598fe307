"""`amodal eval` end to end on tiny files written in tmp_path."""
import json

import numpy as np
import pytest

from amodal.cli.main import main
from amodal.errors import InputError
from amodal.eval.baselines import MODELS, frame_result
from amodal.utils.masks import encode_rle

SHAPE = (4, 6)


def box(r0, r1, c0, c1):
    m = np.zeros(SHAPE, dtype=bool)
    m[r0 : r1 + 1, c0 : c1 + 1] = True
    return m


# Scene (2 frames, same masks in both):
#   object 10: G = rows 1-2 x cols 0-3 (8 px), V = cols 0-1 (4 px), hidden cols 2-3
#   object 20: fully visible, rows 0-3 x cols 4-5 ... placed so that it does not touch object 10
#              except through object 30
#   object 30: visible rows 0-3 x col 3 (4 px), covers column 3 of object 10's hidden part
G10, V10 = box(1, 2, 0, 3), box(1, 2, 0, 1)
G20 = V20 = box(0, 3, 5, 5)
G30 = V30 = box(0, 3, 3, 3)


def write_gt(path):
    anns = []
    for oid, g, v in [(10, G10, V10), (20, G20, V20), (30, G30, V30)]:
        anns.append({"id": oid, "video_id": 1, "category_id": 1, "segmentations": [encode_rle(v)] * 2,
                     "amodal_segmentations": [encode_rle(g)] * 2})
    d = {"videos": [{"id": 1, "width": 6, "height": 4, "length": 2, "file_names": ["f0.png", "f1.png"]}],
         "categories": [{"id": 1, "name": "obj"}], "annotations": anns}
    path.write_text(json.dumps(d))
    return path


def write_pred(path, video_id=1):
    # object 10: frame 0 P = rows 1-2 x cols 0-2 plus (1, 3) (7 px); frame 1 P = G (perfect)
    p0 = box(1, 2, 0, 2)
    p0[1, 3] = True
    tracks = [
        {"video_id": video_id, "track_id": 10, "category_id": 1, "score": 0.9,
         "segmentations": [encode_rle(V10)] * 2, "amodal_segmentations": [encode_rle(p0), encode_rle(G10)]},
        {"video_id": video_id, "track_id": 20, "category_id": 1, "score": 0.8,
         "segmentations": [encode_rle(V20)] * 2, "amodal_segmentations": [encode_rle(G20)] * 2},
        {"video_id": video_id, "track_id": 30, "category_id": 1, "score": 0.8,
         "segmentations": [encode_rle(V30)] * 2, "amodal_segmentations": [encode_rle(G30)] * 2},
    ]
    path.write_text(json.dumps(tracks))
    return path


OUTPUTS = ["predictions.json", "scores.json", "scores.md", "iou_vs_occlusion.png"]


def test_scoring_a_prediction_file(tmp_path, capsys):
    gt, pred, out = write_gt(tmp_path / "gt.json"), write_pred(tmp_path / "pred.json"), tmp_path / "out"
    code = main(["eval", "--gt", str(gt), "--pred", str(pred), "--out", str(out), "--given-visible",
                 "--pasted-erode", "0"])
    assert code == 0
    for name in OUTPUTS:
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    s = json.loads((out / "scores.json").read_text())["models"]["pred"]
    m = s["metrics"]
    # full, 6 object-frames: object 10 frame 0: 7/8; all others 1.
    assert m["full"]["count"] == 6
    assert m["full"]["object"] == pytest.approx((7 / 8 + 5) / 6)
    # frame 0 mean = (7/8 + 1 + 1) / 3, frame 1 mean = 1
    assert m["full"]["frame"] == pytest.approx(((7 / 8 + 2) / 3 + 1) / 2)
    # strict: only object 10 has a hidden part. frame 0: P-V = col 2 + (1,3) = 3 px vs 4 px
    assert m["strict"]["count"] == 2 and m["strict"]["object"] == pytest.approx((3 / 4 + 1) / 2)
    # savos: object 10 restricted to object 30's visible column 3: (1,3) vs (1,3),(2,3) -> 1/2.
    # objects 20 and 30 have no truth under another object's visible mask: excluded.
    assert m["savos"]["count"] == 2 and m["savos"]["object"] == pytest.approx((1 / 2 + 1) / 2)
    # pasted without erosion: P ∪ V = P here (V ⊂ P), so the same as full and strict
    assert m["pasted_full"]["object"] == pytest.approx(m["full"]["object"])
    assert m["pasted_occ"]["object"] == pytest.approx(m["strict"]["object"])
    # the occlusion of object 10 is 4/8 = 0.5: bucket [0.5, 0.7)
    assert [b["count"] for b in s["buckets"]] == [4, 0, 0, 2, 0]
    assert s["visible"]["J"]["object"] == 1.0  # predicted visible = true visible
    text = capsys.readouterr().out
    assert "occ strict" in text and "pred" in text
    md = (out / "scores.md").read_text()
    assert "| pred | object |" in md


def test_occlusion_filter_from_the_command_line(tmp_path, capsys):
    gt, pred = write_gt(tmp_path / "gt.json"), write_pred(tmp_path / "pred.json")
    out = tmp_path / "out"
    # keep 0.1 < occ < 0.7: only object 10 (occ 0.5) remains
    assert main(["eval", "--gt", str(gt), "--pred", str(pred), "--out", str(out), "--given-visible",
                 "--occ-min", "0.1", "--occ-max", "0.7"]) == 0
    m = json.loads((out / "scores.json").read_text())["models"]["pred"]["metrics"]
    assert m["full"]["count"] == 2 and m["full"]["object"] == pytest.approx((7 / 8 + 1) / 2)


def test_end_to_end_matching_from_the_command_line(tmp_path, capsys):
    gt = write_gt(tmp_path / "gt.json")
    tracks = json.loads(write_pred(tmp_path / "p.json").read_text())
    tracks = [dict(t, track_id=t["track_id"] + 100) for t in tracks if t["track_id"] != 20]
    tracks.append({"video_id": 1, "track_id": 999, "category_id": 1, "score": 0.1,
                   "segmentations": [encode_rle(box(3, 3, 0, 1))] * 2,
                   "amodal_segmentations": [encode_rle(box(3, 3, 0, 1))] * 2})
    pred = tmp_path / "pred.json"
    pred.write_text(json.dumps(tracks))
    assert main(["eval", "--gt", str(gt), "--pred", str(pred), "--out", str(tmp_path / "o")]) == 0
    s = json.loads((tmp_path / "o" / "scores.json").read_text())["models"]["pred"]
    assert s["tracking"] == {"gt_objects": 3, "matched": 2, "missed": 1, "false_positives": 1}
    assert s["metrics"]["full"]["count"] == 4  # objects 10 and 30, two frames each


def test_running_baselines_and_compare(tmp_path, capsys):
    gt, out = write_gt(tmp_path / "gt.json"), tmp_path / "out"
    assert main(["eval", "--gt", str(gt), "--out", str(out), "--model", "copy", "--given-visible"]) == 0
    for name in OUTPUTS:
        assert (out / name).is_file(), name
    m = json.loads((out / "scores.json").read_text())["models"]["copy"]["metrics"]
    # copy: object 10 full IoU = |V|/|G| = 4/8, the fully visible objects 1
    assert m["full"]["object"] == pytest.approx((0.5 * 2 + 4) / 6)
    assert m["strict"]["object"] == 0.0
    # refuses to overwrite, then compares three models with --overwrite
    assert main(["eval", "--gt", str(gt), "--out", str(out), "--model", "copy", "--given-visible"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["eval", "--gt", str(gt), "--out", str(out), "--compare", "copy,convex", "--given-visible",
                 "--overwrite"]) == 0
    assert (out / "predictions_copy.json").is_file() and (out / "predictions_convex.json").is_file()
    md = (out / "scores.md").read_text()
    assert "| copy | frame |" in md and "| convex | frame |" in md


def test_model_never_sees_amodal_truth(tmp_path, monkeypatch):
    seen = {}

    class Spy:
        def needs_frames(self, given_visible):
            return False

        def predict_video(self, frames, size, length, visible_masks):
            seen["masks"] = visible_masks
            for t in range(length):
                ids = sorted(visible_masks[t])
                vis = np.stack([visible_masks[t][k] for k in ids])
                yield frame_result(t, ids, vis, vis.copy())

    import amodal.data.format as fmt

    real = fmt.load_dataset
    calls = []

    def spy_load(path, image_root=None, read_amodal=True, check_files=True):
        calls.append(read_amodal)
        return real(path, image_root=image_root, read_amodal=read_amodal, check_files=check_files)

    monkeypatch.setattr(fmt, "load_dataset", spy_load)
    monkeypatch.setitem(MODELS, "spy", lambda options: Spy())
    gt = write_gt(tmp_path / "gt.json")
    assert main(["eval", "--gt", str(gt), "--out", str(tmp_path / "o"), "--model", "spy", "--given-visible"]) == 0
    assert calls == [False, True]  # the model run loads without amodal, the scorer reloads
    assert np.array_equal(seen["masks"][0][10], V10)  # visible, not amodal


@pytest.mark.parametrize("case", ["missing_gt", "missing_pred", "unknown_video", "unknown_track", "no_out"])
def test_bad_inputs_exit_nonzero_with_one_line(tmp_path, capsys, case):
    gt = write_gt(tmp_path / "gt.json")
    pred = write_pred(tmp_path / "pred.json", video_id=7 if case == "unknown_video" else 1)
    args = ["eval", "--gt", str(gt), "--pred", str(pred), "--given-visible"]
    if case == "missing_gt":
        args[2] = str(tmp_path / "nope.json")
    elif case == "missing_pred":
        args[4] = str(tmp_path / "nope.json")
    elif case == "unknown_track":
        tracks = json.loads(pred.read_text())
        tracks[0]["track_id"] = 55
        pred.write_text(json.dumps(tracks))
    elif case == "no_out":
        args = ["eval", "--gt", str(gt), "--model", "copy"]
    code = main(args)
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith("amodal eval: error:")
    if case == "unknown_video":
        assert "7" in err
    if case == "unknown_track":
        assert "55" in err


def test_end_to_end_run_reads_frames_and_matches_own_track_ids(tmp_path, monkeypatch):
    import cv2

    gt = write_gt(tmp_path / "gt.json")
    for name in ("f0.png", "f1.png"):  # frames live beside the JSON (default image root)
        cv2.imwrite(str(tmp_path / name), np.full((4, 6, 3), 50, np.uint8))
    got_frames = []

    class Finder:
        """Finds objects 10 and 30 under its own ids (a perfect visible model), copies amodal."""

        def needs_frames(self, given_visible):
            return True

        def predict_video(self, frames, size, length, visible_masks):
            assert visible_masks is None  # end to end: nothing given
            for t, image in enumerate(frames):
                got_frames.append(image.shape)
                vis = np.stack([V10, V30])
                yield frame_result(t, [7, 8], vis, vis.copy())

    monkeypatch.setitem(MODELS, "finder", lambda options: Finder())
    out = tmp_path / "o"
    assert main(["eval", "--gt", str(gt), "--out", str(out), "--model", "finder"]) == 0
    assert got_frames == [(4, 6, 3), (4, 6, 3)]
    s = json.loads((out / "scores.json").read_text())["models"]["finder"]
    assert s["tracking"] == {"gt_objects": 3, "matched": 2, "missed": 1, "false_positives": 0}
    # matched objects 10 (copy: 4/8) and 30 (fully visible: 1), two frames each
    assert s["metrics"]["full"]["object"] == pytest.approx((0.5 + 1) / 2)
    preds = json.loads((out / "predictions.json").read_text())
    assert sorted(p["track_id"] for p in preds) == [7, 8]


def test_detector_option_reaches_the_model_factory(tmp_path, monkeypatch):
    got = []

    def factory(options):
        got.append(options)
        raise InputError("stop here")

    monkeypatch.setitem(MODELS, "opts", factory)
    gt = write_gt(tmp_path / "gt.json")
    assert main(["eval", "--gt", str(gt), "--out", str(tmp_path / "o"), "--model", "opts", "--detector", "motion"]) == 2
    assert got[0].detector == "motion" and got[0].mode == "stream"


def test_depth_ranks_of_a_prediction_file_are_scored(tmp_path, capsys):
    """Object 1 hides 30 pixels of object 2: ranked right in frame 0, wrong in frame 1, unranked in frame 2."""
    front = np.zeros((20, 20), bool)
    front[5:15, 0:10] = True
    back = np.zeros((20, 20), bool)
    back[5:15, 7:17] = True
    anns, tracks = [], []
    for oid, amodal, ranks in ((1, front, [0, 1, 0]), (2, back, [1, 0, None])):
        vis = encode_rle(amodal & ~front) if oid == 2 else encode_rle(amodal)
        anns.append({"id": oid, "video_id": 1, "category_id": 1, "segmentations": [vis] * 3,
                     "amodal_segmentations": [encode_rle(amodal)] * 3})
        tracks.append({"video_id": 1, "track_id": oid, "category_id": 1, "score": 1.0, "segmentations": [vis] * 3,
                       "amodal_segmentations": [encode_rle(amodal)] * 3, "depth_ranks": ranks})
    gt, pred = tmp_path / "gt.json", tmp_path / "pred.json"
    gt.write_text(json.dumps({"videos": [{"id": 1, "width": 20, "height": 20, "length": 3,
                                          "file_names": ["a.png", "b.png", "c.png"]}],
                              "categories": [{"id": 1, "name": "obj"}], "annotations": anns}))
    pred.write_text(json.dumps(tracks))
    assert main(["eval", "--gt", str(gt), "--pred", str(pred), "--out", str(tmp_path / "out"), "--given-visible"]) == 0
    s = json.loads((tmp_path / "out" / "scores.json").read_text())["models"]["pred"]
    assert s["order"] == {"pairs": 3, "ranked": 2, "correct": 1, "accuracy": 0.5}
    assert "depth order" in capsys.readouterr().out


@pytest.mark.parametrize("option, value, phrase", [
    ("--pasted-erode", "-1", "erosion kernel must be an integer >= 0"),
    ("--match-iou", "2", "--match-iou must be in (0, 1]"),
    ("--match-iou", "0", "--match-iou must be in (0, 1]"),
    ("--buckets", "0,0.5,2", "must lie in [0, 1]"),
    ("--buckets", "0.5,0.1", "must increase"),
    ("--occ-min", "-0.5", "--occ-min) must be an occlusion rate in [0, 1]"),
    ("--occ-max", "1.5", "--occ-max) must be an occlusion rate in [0, 1]"),
])
def test_option_values_that_cannot_score_are_one_line_errors(tmp_path, capsys, option, value, phrase):
    gt = write_gt(tmp_path / "gt.json")
    pred = write_pred(tmp_path / "pred.json")
    code = main(["eval", "--gt", str(gt), "--pred", str(pred), option, value])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and phrase in err, err


def test_predictions_without_visible_masks_have_no_j_and_f(tmp_path, capsys):
    gt = write_gt(tmp_path / "gt.json")
    tracks = json.loads(write_pred(tmp_path / "pred.json").read_text())
    for tr in tracks:
        tr["segmentations"] = [None] * len(tr["segmentations"])  # amodal masks only
    pred = tmp_path / "amodal_only.json"
    pred.write_text(json.dumps(tracks))
    assert main(["eval", "--gt", str(gt), "--pred", str(pred), "--out", str(tmp_path / "o"), "--given-visible"]) == 0
    s = json.loads((tmp_path / "o" / "scores.json").read_text())["models"]["amodal_only"]
    assert s["metrics"]["full"]["count"] == 6  # scored on their amodal masks
    assert "visible" not in s  # no visible masks: no J and F (they were 0 over every object-frame)


def test_a_model_whose_frames_are_another_size_than_the_annotations_is_one_line(tmp_path, monkeypatch, capsys):
    class OtherSize:  # e.g. frames read from a video file one pixel smaller than the frame files
        def needs_frames(self, given_visible):
            return False

        def predict_video(self, frames, size, length, visible_masks):
            for t in range(length):
                m = np.zeros((1, size[0] - 1, size[1] - 1), bool)
                yield frame_result(t, [10], m, m.copy())

    monkeypatch.setitem(MODELS, "other_size", lambda options: OtherSize())
    gt = write_gt(tmp_path / "gt.json")
    code = main(["eval", "--gt", str(gt), "--out", str(tmp_path / "o"), "--model", "other_size", "--given-visible"])
    err = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress line
    assert code == 2 and err.startswith("amodal eval: error: video 1: its frames are 5x3 but the annotations say 6x4")
