"""Tests of the native annotation format (amodal/data/format.py)."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amodal.data.format import (
    AmodalDataset,
    ObjectTrack,
    PredictionTrack,
    dataset_from_dict,
    dataset_to_dict,
    load_dataset,
    load_predictions,
    save_dataset,
    save_predictions,
)
from amodal.errors import FormatError, InputError
from amodal.utils.masks import decode_rle, encode_rle

H, W, T = 12, 16, 4


def _mask(t: int, obj: int, amodal: bool = False) -> np.ndarray:
    m = np.zeros((H, W), bool)
    x = 2 + t + 5 * obj
    m[2 + obj : 9, x : x + (6 if amodal else 3)] = True
    m[0, (t * 3 + obj) % W] = True  # an asymmetric pixel so a transposed decode is caught
    return m


def _valid_dict() -> dict:
    videos = [
        {"id": 1, "width": W, "height": H, "length": T, "file_names": [f"v1/{t:05d}.png" for t in range(T)]},
        {"id": 2, "width": W, "height": H, "length": 2, "file_names": ["v2/a.png", "v2/b.png"], "video_file": "v2.mp4"},
    ]
    anns = []
    for obj in range(2):
        segs = [encode_rle(_mask(t, obj)) for t in range(T)]
        amodal = [encode_rle(_mask(t, obj, True) | _mask(t, obj)) for t in range(T)]
        segs[3] = amodal[3] = None  # the object is absent in the last frame
        anns.append({"id": 10 + obj, "video_id": 1, "category_id": 1, "iscrowd": 0,
                     "segmentations": segs, "amodal_segmentations": amodal})
    anns.append({"id": 20, "video_id": 2, "category_id": 2, "iscrowd": 0,
                 "segmentations": [encode_rle(_mask(0, 0)), None]})
    return {"videos": videos, "categories": [{"id": 1, "name": "fish"}, {"id": 2, "name": "car"}], "annotations": anns}


def _write_tree(root: Path, d: dict, frames_dir: bool = True) -> Path:
    image_root = root / "frames" if frames_dir else root
    for video in d["videos"]:
        for name in video["file_names"]:
            (image_root / name).parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(image_root / name), np.zeros((H, W, 3), np.uint8))
        if video.get("video_file"):
            (root / video["video_file"]).write_bytes(b"not checked here")
    path = root / "annotations.json"
    path.write_text(json.dumps(d))
    return path


def test_round_trip_keeps_masks_bit_exact(tmp_path):
    src = _write_tree(tmp_path, _valid_dict())
    ds = load_dataset(src)
    assert ds.image_root == tmp_path / "frames" and ds.has_amodal is False  # track 20 has no amodal
    out = tmp_path / "copy.json"
    save_dataset(ds, out)
    back = load_dataset(out)
    for a, b in zip(ds.annotations, back.annotations):
        for t in range(a.num_frames):
            assert np.array_equal(a.visible_mask(t), b.visible_mask(t))
            if a.has_amodal:
                assert np.array_equal(a.amodal_mask(t), b.amodal_mask(t))
    track = back.tracks(1)[1]
    for t in range(3):
        assert np.array_equal(track.visible_mask(t), _mask(t, 1))
        assert np.array_equal(track.amodal_mask(t), _mask(t, 1, True) | _mask(t, 1))
    assert not track.visible_mask(3).any() and track.visible_mask(3).shape == (H, W)
    assert dataset_to_dict(back) == dataset_to_dict(ds)


def test_computed_boxes_areas_and_paths(tmp_path):
    src = _write_tree(tmp_path, _valid_dict())
    ds = load_dataset(src)
    track = ds.tracks(1)[0]
    m = _mask(1, 0)
    ys, xs = np.nonzero(m)
    assert track.areas[1] == m.sum() and track.areas[3] is None
    assert track.bboxes[1] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
    assert track.amodal_areas[1] >= track.areas[1]
    assert ds.frame_path(1, 2) == tmp_path / "frames" / "v1" / "00002.png"
    assert ds.video_path(2) == tmp_path / "v2.mp4" and ds.video_path(1) is None
    assert ds.category_name(2) == "car" and [t.id for t in ds.tracks(2)] == [20]
    with pytest.raises(InputError, match="no video with id 9"):
        ds.video(9)
    with pytest.raises(InputError, match="no amodal"):
        ds.tracks(2)[0].amodal_mask(0)


def test_image_root_defaults_and_override(tmp_path):
    d = _valid_dict()
    src = _write_tree(tmp_path, d, frames_dir=False)
    assert load_dataset(src).image_root == tmp_path
    other = tmp_path / "elsewhere"
    other.mkdir()
    with pytest.raises(FormatError, match=r"videos\[0\]\.file_names\[0\]: frame file .*elsewhere"):
        load_dataset(src, image_root=other)
    assert load_dataset(src, image_root=other, check_files=False).image_root == other


def test_read_amodal_false_drops_amodal(tmp_path):
    d = _valid_dict()
    d["annotations"][0]["amodal_segmentations"][0] = {"size": [1, 1], "counts": "garbage!"}  # never parsed
    ds = dataset_from_dict(d, read_amodal=False)
    assert all(t.amodal_segmentations is None and t.amodal_areas is None for t in ds.annotations)
    assert not ds.has_amodal
    with pytest.raises(FormatError, match=r"annotations\[0\]\.amodal_segmentations\[0\]"):
        dataset_from_dict(d)


def test_polygons_and_uncompressed_rle_are_converted():
    d = _valid_dict()
    poly = [[2.0, 2.0, 10.0, 2.0, 10.0, 8.0, 2.0, 8.0]]
    m = _mask(1, 0)
    flat = m.T.ravel().astype(np.int8)  # column-major runs, starting with a background run
    edges = np.flatnonzero(np.diff(flat)) + 1
    runs = np.diff(np.concatenate([[0], edges, [flat.size]])).tolist()
    if flat[0]:
        runs = [0] + runs
    d["annotations"][0]["segmentations"][0] = poly
    d["annotations"][0]["segmentations"][1] = {"size": [H, W], "counts": runs}
    track = dataset_from_dict(d).annotations[0]
    assert isinstance(track.segmentations[0]["counts"], str) and isinstance(track.segmentations[1]["counts"], str)
    assert np.array_equal(track.visible_mask(1), m)
    pm = track.visible_mask(0)
    assert pm[3:8, 3:10].all() and not pm[9:].any() and not pm[:, 12:].any()


def _mutated(path: str, value):
    d = _valid_dict()
    keys = path.split("/")
    target = d
    for k in keys[:-1]:
        target = target[int(k)] if isinstance(target, list) else target[k]
    last = int(keys[-1]) if isinstance(target, list) else keys[-1]
    if value is _DELETE:
        del target[last]
    else:
        target[last] = value
    return d


_DELETE = object()


@pytest.mark.parametrize("path, value, message", [
    ("annotations/0/segmentations", [None] * 3, r"annotations\[0\]\.segmentations has 3 entries, video 1 has 4 frames"),
    ("videos/0/width", _DELETE, r"videos\[0\] is missing key 'width'"),
    ("videos/0/width", "16", r"videos\[0\]\.width must be an integer, got a string"),
    ("videos/0/length", 5, r"videos\[0\]\.file_names has 4 entries, videos\[0\]\.length is 5"),
    ("videos/1/id", 1, r"videos\[1\]\.id 1 is a duplicate of videos\[0\]\.id"),
    ("annotations/1/id", 10, r"annotations\[1\]\.id 10 is a duplicate of annotations\[0\]\.id"),
    ("categories/1/id", 1, r"categories\[1\]\.id 1 is a duplicate"),
    ("annotations/0/video_id", 7, r"annotations\[0\]\.video_id 7 is not the id of any video"),
    ("annotations/0/category_id", 7, r"annotations\[0\]\.category_id 7 is not the id of any category"),
    ("annotations/0/segmentations/1", {"size": [H + 1, W], "counts": "0"},
     r"annotations\[0\]\.segmentations\[1\]\.size is \[13, 16\], the video is 12x16"),
    ("annotations/0/segmentations/1", {"size": [H, W], "counts": "0"},
     r"annotations\[0\]\.segmentations\[1\]\.counts add up to 0 pixels"),
    ("annotations/0/segmentations/1", {"size": [H, W], "counts": "\u00e9"}, r"annotations\[0\]\.segmentations\[1\]\.counts contains non-ASCII"),
    ("annotations/0/segmentations/1", {"size": [H, W]}, r"annotations\[0\]\.segmentations\[1\] is missing key 'counts'"),
    ("annotations/0/segmentations/1", 5, r"annotations\[0\]\.segmentations\[1\] must be an RLE object, a polygon list or null"),
    ("annotations/0/segmentations/1", [[1, 2, 3]], r"annotations\[0\]\.segmentations\[1\]\[0\] must hold an even number"),
    ("annotations/0/amodal_segmentations", "x", r"annotations\[0\]\.amodal_segmentations must be a list, got a string"),
    ("annotations/0/bboxes", [[0, 0, 1]] * T, r"annotations\[0\]\.bboxes\[0\] must be \[x, y, w, h\]"),
    ("annotations/0/iscrowd", 3, r"annotations\[0\]\.iscrowd must be <= 1, got 3"),
    ("annotations", {}, r"annotations must be a list, got an object"),
    ("categories", _DELETE, r"missing top-level key 'categories'"),
    ("videos/0/file_names/2", None, r"videos\[0\]\.file_names\[2\] must be a string, got null"),
])
def test_validation_errors_name_the_key(path, value, message):
    with pytest.raises(FormatError, match=r"^annotations\.json: " + message):
        dataset_from_dict(_mutated(path, value), source="annotations.json")


def test_file_level_errors(tmp_path):
    missing = tmp_path / "nope.json"
    with pytest.raises(FormatError, match="nope.json: file not found"):
        load_dataset(missing)
    bad = tmp_path / "bad.json"
    bad.write_text('{"videos": [],\n "categories": [,]}')
    with pytest.raises(FormatError, match=r"bad.json: invalid JSON at line 2"):
        load_dataset(bad)
    lst = tmp_path / "list.json"
    lst.write_text("[]")
    with pytest.raises(FormatError, match=r"list.json: expected a JSON object .* got a list"):
        load_dataset(lst)
    with pytest.raises(FormatError, match="is a folder"):
        load_dataset(tmp_path)


def test_missing_frame_and_video_files(tmp_path):
    d = _valid_dict()
    src = _write_tree(tmp_path, d)
    (tmp_path / "frames" / "v1" / "00002.png").unlink()
    with pytest.raises(FormatError, match=r"annotations.json: videos\[0\]\.file_names\[2\]: frame file .*00002.png not found"):
        load_dataset(src)
    load_dataset(src, check_files=False)
    (tmp_path / "frames" / "v1" / "00002.png").write_bytes(b"")
    (tmp_path / "v2.mp4").unlink()
    with pytest.raises(FormatError, match=r"videos\[1\]\.video_file: .*v2.mp4 not found"):
        load_dataset(src)


def test_save_elsewhere_keeps_video_file_valid(tmp_path):
    src = _write_tree(tmp_path, _valid_dict())
    ds = load_dataset(src)
    out = tmp_path / "sub" / "ann.json"
    save_dataset(ds, out)
    back = load_dataset(out, image_root=ds.image_root)
    assert back.video_path(2).resolve() == (tmp_path / "v2.mp4").resolve()


def test_in_memory_tracks_compute_size_boxes_and_occlusion():
    vis = [encode_rle(_mask(0, 0)), None]
    amo = [encode_rle(_mask(0, 0, True) | _mask(0, 0)), None]
    track = ObjectTrack(1, 1, 1, 0, vis, amo)
    assert (track.height, track.width) == (H, W) and track.areas[1] is None
    assert not track.amodal_mask(1).any()
    pred = PredictionTrack(1, 5, 1, 0.9, vis, amo)
    a, v = _mask(0, 0, True) | _mask(0, 0), _mask(0, 0)
    assert pred.occlusion[0] == pytest.approx(1 - v.sum() / a.sum()) and pred.occlusion[1] is None
    assert pred.depth_ranks == [None, None]


def test_predictions_round_trip_and_validation(tmp_path):
    ds = dataset_from_dict(_valid_dict(), source="ann.json")
    masks = [encode_rle(_mask(t, 0)) for t in range(T)]
    amodal = [encode_rle(_mask(t, 0, True) | _mask(t, 0)) for t in range(T)]
    preds = [PredictionTrack(1, 3, 1, 0.75, masks, amodal, depth_ranks=[0, 1, 0, None]),
             PredictionTrack(2, 4, 1, 0.5, [None, masks[0]])]
    path = tmp_path / "preds.json"
    save_predictions(preds, path)
    back = load_predictions(path, ds)
    assert [p.track_id for p in back] == [3, 4] and back[0].depth_ranks == [0, 1, 0, None]
    assert back[0].occlusion == pytest.approx(preds[0].occlusion)
    assert np.array_equal(back[0].amodal_mask(2), decode_rle(amodal[2]))
    assert back[1].amodal_segmentations is None and not back[1].visible_mask(0).any()

    raw = json.loads(path.read_text())
    cases = [
        (lambda r: r[0].update(video_id=9), r"preds.json: \[0\]\.video_id 9 is not the id of any video in ann.json"),
        (lambda r: r[0].update(segmentations=masks[:3]), r"\[0\]\.segmentations has 3 entries, video 1 has 4 frames"),
        (lambda r: r[1]["segmentations"].__setitem__(1, encode_rle(np.zeros((5, 5), bool))),
         r"\[1\]\.segmentations\[1\]\.size is \[5, 5\], the video is 12x16"),
        (lambda r: r[0].update(occlusion=[0.1, 2.0, 0.0, None]), r"\[0\]\.occlusion\[1\] must be in \[0.0, 1.0\]"),
        (lambda r: r.append(dict(r[0], score=0.1)),
         r"\[2\] \(video_id, track_id\) \(1, 3\) is a duplicate of \[0\]"),
        (lambda r: r[0].pop("score"), r"\[0\] is missing key 'score'"),
    ]
    for mutate, message in cases:
        r = copy.deepcopy(raw)
        mutate(r)
        path.write_text(json.dumps(r))
        with pytest.raises(FormatError, match=message):
            load_predictions(path, ds)
    path.write_text(json.dumps({"videos": []}))
    with pytest.raises(FormatError, match="expected a JSON list of prediction tracks, got an object"):
        load_predictions(path)


# ----------------------------------------------------------------------------- fuzz

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


_VALID = _valid_dict()
_ALL_PATHS = list(_paths(_VALID))[1:]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(_ALL_PATHS), st.sampled_from(["set", "delete", "int", "dup"]), _json_values),
                min_size=1, max_size=3))
def test_fuzzed_dicts_raise_only_format_error(mutations):
    d = copy.deepcopy(_VALID)
    for path, op, value in mutations:
        target = d
        try:
            for k in path[:-1]:
                target = target[k]
            key = path[-1]
            old = target[key]
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed this path
        if not isinstance(target, (dict, list)):
            continue  # ... or replaced a container on it by a string
        if op == "delete":
            del target[key]
        elif op == "int" and isinstance(old, int) and not isinstance(old, bool):
            target[key] = old + (value if isinstance(value, int) and not isinstance(value, bool) else 1)
        elif op == "dup" and isinstance(target, list):
            target.append(copy.deepcopy(old))
        else:
            target[key] = value
    try:
        ds = dataset_from_dict(d, source="fuzz.json")
    except FormatError as exc:
        assert str(exc).startswith("fuzz.json: ")
        return
    assert isinstance(ds, AmodalDataset)
    for track in ds.annotations:  # whatever was accepted must decode
        for t in range(track.num_frames):
            assert track.visible_mask(t).shape == (ds.video(track.video_id).height, ds.video(track.video_id).width)


def test_example_in_format_doc_is_valid():
    import re

    doc = (Path(__file__).resolve().parents[2] / "docs" / "FORMAT.md").read_text()
    example = json.loads(re.findall(r"```json\n(.*?)```", doc, re.S)[0])
    track = dataset_from_dict(example, source="FORMAT.md").tracks(1)[0]
    assert track.visible_mask(0)[:, 1].tolist() == [True, True, False] and track.visible_mask(0).sum() == 2
    assert track.amodal_mask(0)[:, 1].all() and track.amodal_mask(0).sum() == 3
    assert not track.visible_mask(1).any()


def _single_ok(counts: str, total: int) -> bool:
    from amodal.data.native_masks import SegmentationError, string_counts_to_runs

    try:
        runs = string_counts_to_runs(counts)
    except SegmentationError:
        return False
    return runs.size > 0 and runs.min() >= 0 and runs.max() < 2**32 and runs.sum() == total


_rle_alphabet = st.text(alphabet=[chr(c) for c in range(48, 112)], min_size=1, max_size=6)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 5), st.integers(1, 5), st.data())
def test_batch_rle_check_agrees_with_single_check(h, w, data):
    from amodal.data.native_masks import _batch_runs_ok

    strings = data.draw(st.lists(
        st.one_of(_rle_alphabet, st.builds(lambda b: encode_rle(np.array(b).reshape(h, w))["counts"],
                                           st.lists(st.booleans(), min_size=h * w, max_size=h * w))),
        min_size=1, max_size=4))
    assert _batch_runs_ok(strings, h * w) == all(_single_ok(s, h * w) for s in strings)
    for s in strings:  # and pycocotools decodes every string the check accepts
        if _single_ok(s, h * w):
            assert decode_rle({"size": [h, w], "counts": s}).shape == (h, w)


def test_a_track_longer_than_255_frames_gets_its_boxes_and_areas():
    """pycocotools.mask.area fails on lists of 256+ RLEs (uint8 count): a 400-frame track once crashed loading."""
    import numpy as np

    from amodal.data.native_masks import boxes_and_areas
    from amodal.utils.masks import encode_rle

    rles = []
    for t in range(400):
        m = np.zeros((8, 10), bool)
        m[1:3, : 1 + t % 9] = True
        rles.append(encode_rle(m) if t % 50 else None)
    boxes, areas = boxes_and_areas(rles)
    assert len(areas) == 400 and areas[0] is None and boxes[0] is None
    assert areas[399] == 2 * (1 + 399 % 9) and boxes[399] == [0.0, 1.0, float(1 + 399 % 9), 2.0]
