"""Bad annotation files: one `FormatError` naming the file and the key, never another exception.

Covers malformed JSON, wrong types, RLE of the wrong size, per-frame lists of the wrong length,
unknown ids, polygons and empty masks (accepted), a hypothesis fuzz of `load_dataset` on mutated
JSON text, and the same files given to `amodal eval`.
"""
import copy
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amodal.data.format import load_dataset, load_predictions
from amodal.errors import FormatError
from amodal.utils.masks import encode_rle

H, W, T = 6, 8, 3


def _mask(y0: int, x0: int, h: int = 2, w: int = 3) -> np.ndarray:
    m = np.zeros((H, W), bool)
    m[y0:y0 + h, x0:x0 + w] = True
    return m


def valid_dataset() -> dict:
    """Two videos of T frames of WxH, two tracks with visible and amodal masks."""
    vis = [encode_rle(_mask(1, t)) for t in range(T)]
    amo = [encode_rle(_mask(1, t, 3, 4)) for t in range(T)]
    return {
        "videos": [
            {"id": 1, "width": W, "height": H, "length": T, "file_names": [f"v1/{t:05d}.png" for t in range(T)]},
            {"id": 2, "width": W, "height": H, "length": T, "file_names": [f"v2/{t:05d}.png" for t in range(T)]},
        ],
        "categories": [{"id": 1, "name": "object"}],
        "annotations": [
            {"id": 1, "video_id": 1, "category_id": 1, "iscrowd": 0,
             "segmentations": vis, "amodal_segmentations": amo},
            {"id": 2, "video_id": 2, "category_id": 1, "segmentations": [vis[0], None, vis[2]],
             "amodal_segmentations": [amo[0], None, amo[2]]},
        ],
    }


def _write(tmp_path: Path, data, name: str = "annotations.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def _load_error(path: Path) -> str:
    with pytest.raises(FormatError) as info:
        load_dataset(path, check_files=False)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path)), message
    return message


def test_valid_dataset_loads(tmp_path):
    ds = load_dataset(_write(tmp_path, valid_dataset()), check_files=False)
    assert [v.id for v in ds.videos] == [1, 2]
    assert ds.annotations[0].amodal_mask(2).sum() == 12


@pytest.mark.parametrize("text, needle", [
    ("", "invalid JSON at line 1"),
    ("{", "invalid JSON"),
    ('{"videos": [], "categories": [], "annotations": [}', "invalid JSON"),
    ("[1, 2, 3]", "expected a JSON object"),
    ("null", "expected a JSON object"),
    ('{"videos": []}', "missing top-level key 'categories'"),
    ("NaN", "expected a JSON object"),
    ('{"videos": [], "categories": [], "annotations": []} trailing', "invalid JSON"),
    ("[" * 100000, "invalid JSON"),
])
def test_malformed_json(tmp_path, text, needle):
    assert needle in _load_error(_write(tmp_path, text))


def test_binary_and_non_utf8_files(tmp_path):
    path = tmp_path / "annotations.json"
    path.write_bytes(b"\xff\xfe\x00garbage\x80")
    assert "not UTF-8" in _load_error(path)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    _load_error(path)


def test_missing_file_and_folder(tmp_path):
    assert "not found" in _load_error(tmp_path / "nope.json")
    (tmp_path / "dir.json").mkdir()
    assert "is a folder" in _load_error(tmp_path / "dir.json")


def _set(d: dict, path: str, value) -> dict:
    d = copy.deepcopy(d)
    keys = path.split(".")
    node = d
    for k in keys[:-1]:
        node = node[int(k)] if isinstance(node, list) else node[k]
    last = keys[-1]
    if value is KeyError:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return d


@pytest.mark.parametrize("path, value, needle", [
    ("videos.0.width", "8", "videos[0].width must be an integer"),
    ("videos.0.height", -3, "videos[0].height must be >= 1"),
    ("videos.0.height", True, "videos[0].height must be an integer"),
    ("videos.0.width", 1e400, "videos[0].width must be an integer"),
    ("videos.0.id", None, "videos[0].id must be an integer"),
    ("videos.0.file_names", "v1/", "videos[0].file_names must be a list"),
    ("videos.0.file_names", ["a.png", 3, "b.png"], "videos[0].file_names[1] must be a string"),
    ("videos.0.width", KeyError, "videos[0] is missing key 'width'"),
    ("videos", {}, "videos must be a list"),
    ("categories.0.name", 5, "categories[0].name must be a string"),
    ("annotations.0", [], "annotations[0] must be an object"),
    ("annotations.0.segmentations", {"size": [H, W]}, "annotations[0].segmentations must be a list"),
    ("annotations.0.segmentations.1", 7, "annotations[0].segmentations[1] must be an RLE object"),
    ("annotations.0.segmentations.1", {"size": [H, W], "counts": 12}, "counts must be a string"),
    ("annotations.0.segmentations.1", {"size": [H, W], "counts": "zz"}, "outside the RLE alphabet"),
    ("annotations.0.segmentations.1", {"size": [H, W], "counts": "3"}, "add up to 3 pixels"),
    ("annotations.0.segmentations.1", {"size": "6x8", "counts": "3"}, "size must be a list"),
    ("annotations.0.iscrowd", 2, "annotations[0].iscrowd must be <= 1"),
    ("annotations.0.bboxes", [[0, 0, 1]] * T, "annotations[0].bboxes[0] must be [x, y, w, h]"),
    ("annotations.0.areas", [-1, 0, 0], "annotations[0].areas[0] must be in"),
])
def test_wrong_types_name_the_key(tmp_path, path, value, needle):
    assert needle in _load_error(_write(tmp_path, _set(valid_dataset(), path, value)))


def test_rle_size_disagrees_with_video(tmp_path):
    wrong = encode_rle(np.ones((H + 1, W), bool))
    message = _load_error(_write(tmp_path, _set(valid_dataset(), "annotations.0.segmentations.2", wrong)))
    assert "annotations[0].segmentations[2]" in message and f"[{H + 1}, {W}]" in message
    wrong = {"size": [W, H], "counts": [H * W]}  # transposed, uncompressed
    message = _load_error(_write(tmp_path, _set(valid_dataset(), "annotations.1.amodal_segmentations.0", wrong)))
    assert "annotations[1].amodal_segmentations[0]" in message


@pytest.mark.parametrize("key", ["segmentations", "amodal_segmentations", "bboxes", "areas"])
@pytest.mark.parametrize("length", [T - 1, T + 1, 0])
def test_per_frame_lists_of_wrong_length(tmp_path, key, length):
    d = valid_dataset()
    entry = d["annotations"][0]
    entry[key] = ([entry["segmentations"][0]] if "seg" in key else [None]) * length
    message = _load_error(_write(tmp_path, d))
    assert f"annotations[0].{key} has {length} entries, video 1 has {T} frames" in message


def test_video_length_disagrees_with_file_names(tmp_path):
    message = _load_error(_write(tmp_path, _set(valid_dataset(), "videos.1.length", T + 2)))
    assert f"videos[1].file_names has {T} entries" in message


@pytest.mark.parametrize("path, value, needle", [
    ("annotations.0.video_id", 9, "annotations[0].video_id 9 is not the id of any video"),
    ("annotations.1.category_id", 4, "annotations[1].category_id 4 is not the id of any category"),
    ("annotations.1.id", 1, "annotations[1].id 1 is a duplicate of annotations[0].id"),
    ("videos.1.id", 1, "videos[1].id 1 is a duplicate of videos[0].id"),
])
def test_unknown_and_duplicate_ids(tmp_path, path, value, needle):
    assert needle in _load_error(_write(tmp_path, _set(valid_dataset(), path, value)))


def test_polygons_and_empty_masks_are_accepted(tmp_path):
    d = valid_dataset()
    track = d["annotations"][0]
    track["segmentations"][0] = [[1, 1, 4, 1, 4, 3, 1, 3]]  # a polygon (rectangle)
    track["amodal_segmentations"][0] = [[0, 0, 6, 0, 6, 4, 0, 4], [6, 4, 7, 4, 7, 5]]  # two polygons
    track["segmentations"][1] = encode_rle(np.zeros((H, W), bool))  # empty but present
    track["amodal_segmentations"][1] = {"size": [H, W], "counts": [H * W]}  # empty, uncompressed
    ds = load_dataset(_write(tmp_path, d), check_files=False)
    t = ds.annotations[0]
    assert t.visible_mask(0).sum() > 0 and t.amodal_mask(0).sum() > t.visible_mask(0).sum()
    assert not t.visible_mask(1).any() and not t.amodal_mask(1).any()
    assert t.bboxes[1] is None and t.areas[1] == 0.0
    assert isinstance(t.segmentations[0]["counts"], str)


def test_bad_polygons(tmp_path):
    for poly, needle in [([[1, 2, 3, 4]], "even number (>= 6)"), ([], "empty polygon list"),
                         ([[0, 0, 1e9, 0, 0, 1]], "invalid coordinate"), ([["a", 0, 1, 0, 0, 1]], "invalid coordinate")]:
        d = _set(valid_dataset(), "annotations.0.segmentations.0", poly)
        assert needle in _load_error(_write(tmp_path, d))


def test_missing_frame_files_named(tmp_path):
    path = _write(tmp_path, valid_dataset())
    with pytest.raises(FormatError, match=r"videos\[0\]\.file_names\[0\]: frame file .*v1/00000.png not found"):
        load_dataset(path)


# -- fuzz: random edits of the JSON text of a valid file, loaded through the file path ----------------

VALID_TEXT = json.dumps(valid_dataset())
_TOKENS = ['"', "{", "}", "[", "]", ",", ":", "null", "true", "-1", "0", "1e400", "NaN", "Infinity", "2.5",
           '"size"', '"counts"', '"x"', "999999999999999999999999", "[]", "{}", "\\u0000", "\ud800", "é"]


@st.composite
def mutated_text(draw) -> str:
    text = VALID_TEXT
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["delete", "insert", "replace", "truncate", "swap_number"]))
        i = draw(st.integers(0, len(text)))
        if kind == "delete":
            text = text[:i] + text[i + draw(st.integers(1, 8)):]
        elif kind == "insert":
            text = text[:i] + draw(st.sampled_from(_TOKENS) | st.text(max_size=3)) + text[i:]
        elif kind == "replace":
            text = text[:i] + draw(st.sampled_from(_TOKENS)) + text[i + 1:]
        elif kind == "truncate":
            text = text[:i]
        else:  # change a digit: sizes, ids, lengths and RLE counts go out of step
            digits = [k for k, ch in enumerate(text) if ch.isdigit()]
            if digits:
                k = digits[draw(st.integers(0, len(digits) - 1))]
                text = text[:k] + draw(st.sampled_from("0123456789")) + text[k + 1:]
    return text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=mutated_text(), check_files=st.booleans())
def test_fuzzed_files_raise_only_format_error(tmp_path, text, check_files):
    path = tmp_path / "fuzz.json"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        ds = load_dataset(path, check_files=check_files)
    except FormatError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)
        return
    for track in ds.annotations:  # whatever loads decodes to masks of the video's size
        video = ds.video(track.video_id)
        for t in range(video.length):
            assert track.visible_mask(t).shape == (video.height, video.width)
            if track.has_amodal:
                assert track.amodal_mask(t).shape == (video.height, video.width)


def _as_prediction_text(text: str) -> str:
    """The (possibly mutated) annotation list of a dataset text, edited into a predictions list."""
    start = text.find('"annotations": ')
    body = text[start + len('"annotations": '):-1] if start >= 0 else text
    return body.replace('"id"', '"track_id"').replace('"category_id": 1', '"category_id": 1, "score": 0.5')


def test_prediction_text_of_the_valid_dataset_loads(tmp_path):
    gt = load_dataset(_write(tmp_path, valid_dataset(), "gt.json"), check_files=False)
    tracks = load_predictions(_write(tmp_path, _as_prediction_text(VALID_TEXT), "pred.json"), dataset=gt)
    assert [(t.video_id, t.track_id) for t in tracks] == [(1, 1), (2, 2)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=mutated_text())
def test_fuzzed_prediction_files_raise_only_format_error(tmp_path, text):
    """The same mutations read as predictions (a list of the tracks) against a valid dataset."""
    gt = load_dataset(_write(tmp_path, valid_dataset(), "gt.json"), check_files=False)
    path = tmp_path / "pred.json"
    path.write_bytes(_as_prediction_text(text).encode("utf-8", "surrogatepass"))
    try:
        tracks = load_predictions(path, dataset=gt)
    except FormatError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)
        return
    for track in tracks:
        for t in range(len(track.segmentations)):
            assert track.visible_mask(t).shape == (H, W)
            if track.amodal_segmentations is not None:
                assert track.amodal_mask(t).shape == (H, W)
