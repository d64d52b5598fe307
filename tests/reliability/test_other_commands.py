"""`amodal eval`, `amodal convert` and `amodal synth` on bad input: exit 2, one line naming the file.

Also: an output folder that holds an input is refused even with --overwrite (it would be cleared).
"""
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from amodal.cli.main import main
from amodal.utils.masks import encode_rle

H, W, T = 6, 8, 2


def run_cli(capsys, *args) -> tuple:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, [line for line in captured.err.splitlines() if line.strip()]


def _one_error(code: int, err: list, command: str, *phrases: str) -> None:
    assert code == 2, err
    assert len(err) == 1, err
    assert err[0].startswith(f"amodal {command}: error:"), err[0]
    for phrase in phrases:
        assert phrase in err[0], err[0]


def _gt(path: Path, video_id: int = 1, size=(H, W)) -> Path:
    h, w = size
    vis = np.zeros((h, w), bool)
    vis[1:3, 1:4] = True
    amo = vis.copy()
    amo[1:4, 1:5] = True
    d = {"videos": [{"id": video_id, "width": w, "height": h, "length": T,
                     "file_names": [f"v/{t}.png" for t in range(T)]}],
         "categories": [{"id": 1, "name": "object"}],
         "annotations": [{"id": 1, "video_id": video_id, "category_id": 1,
                          "segmentations": [encode_rle(vis)] * T, "amodal_segmentations": [encode_rle(amo)] * T}]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(d))
    return path


def _pred(path: Path, video_id: int = 1, size=(H, W), frames: int = T) -> Path:
    m = np.zeros(size, bool)
    m[1:3, 1:4] = True
    tracks = [{"video_id": video_id, "track_id": 1, "category_id": 1, "score": 0.9,
               "segmentations": [encode_rle(m)] * frames, "amodal_segmentations": [encode_rle(m)] * frames}]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(tracks))
    return path


# ----------------------------------------------------------------------------- eval


def test_eval_scores_good_files(tmp_path, capsys):
    code, err = run_cli(capsys, "eval", "--gt", _gt(tmp_path / "gt.json"), "--pred", _pred(tmp_path / "p.json"),
                        "--given-visible")
    assert code == 0, err


def test_eval_missing_gt_and_pred(tmp_path, capsys):
    pred = _pred(tmp_path / "p.json")
    _one_error(*run_cli(capsys, "eval", "--gt", tmp_path / "nope.json", "--pred", pred), "eval", "nope.json")
    gt = _gt(tmp_path / "gt.json")
    _one_error(*run_cli(capsys, "eval", "--gt", gt, "--pred", tmp_path / "gone.json"), "eval", "gone.json")
    (tmp_path / "folder.json").mkdir()
    _one_error(*run_cli(capsys, "eval", "--gt", tmp_path / "folder.json", "--pred", pred), "eval", "folder.json")


@pytest.mark.parametrize("kind, phrases", [
    ("other_video", ["p.json", "[0].video_id 7 is not the id of any video in", "gt.json"]),
    ("other_size", ["p.json", "[0].segmentations[0].size is [5, 10], the video is 6x8"]),
    ("other_length", ["p.json", "[0].segmentations has 3 entries, video 1 has 2 frames"]),
    ("gt_as_pred", ["gt.json", "expected a JSON list of prediction tracks"]),
    ("not_json", ["p.json", "invalid JSON at line 1"]),
])
def test_eval_pred_file_for_another_dataset(kind, phrases, tmp_path, capsys):
    gt = _gt(tmp_path / "gt.json")
    pred = tmp_path / "p.json"
    if kind == "other_video":
        _pred(pred, video_id=7)
    elif kind == "other_size":
        _pred(pred, size=(5, 10))
    elif kind == "other_length":
        _pred(pred, frames=T + 1)
    elif kind == "gt_as_pred":
        pred = gt
    else:
        pred.write_bytes(b"\x00\x01 binary")
    out = tmp_path / "out"
    _one_error(*run_cli(capsys, "eval", "--gt", gt, "--pred", pred, "--out", out), "eval", *phrases)
    assert not out.exists()  # nothing half-written to clear with --overwrite before the next try


@pytest.mark.parametrize("edit, phrase", [
    (lambda d: d["videos"][0].update(height="6"), "videos[0].height must be an integer"),
    (lambda d: d["annotations"][0]["amodal_segmentations"].pop(), "annotations[0].amodal_segmentations has 1 entries"),
    (lambda d: d.pop("annotations"), "missing top-level key 'annotations'"),
])
def test_eval_malformed_gt(edit, phrase, tmp_path, capsys):
    gt = _gt(tmp_path / "gt.json")
    d = json.loads(gt.read_text())
    edit(d)
    gt.write_text(json.dumps(d))
    _one_error(*run_cli(capsys, "eval", "--gt", gt, "--pred", _pred(tmp_path / "p.json")), "eval", "gt.json", phrase)


def test_eval_gt_without_amodal_masks(tmp_path, capsys):
    gt = _gt(tmp_path / "gt.json")
    d = json.loads(gt.read_text())
    del d["annotations"][0]["amodal_segmentations"]
    gt.write_text(json.dumps(d))
    _one_error(*run_cli(capsys, "eval", "--gt", gt, "--pred", _pred(tmp_path / "p.json")), "eval",
               "gt.json", "no amodal masks")


@pytest.mark.parametrize("inside", ["gt", "pred"])
def test_eval_out_holding_an_input_is_refused_even_with_overwrite(inside, tmp_path, capsys):
    data = tmp_path / "data"
    gt, pred = _gt(data / "gt.json"), _pred(data / "p.json")
    if inside == "pred":
        gt = _gt(tmp_path / "gt.json")
    before = {p.name: p.read_bytes() for p in data.iterdir()}
    _one_error(*run_cli(capsys, "eval", "--gt", gt, "--pred", pred, "--out", data, "--overwrite"), "eval",
               "--out", "contains the input")
    assert {p.name: p.read_bytes() for p in data.iterdir()} == before  # nothing deleted


def test_eval_existing_out_refused_without_overwrite(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    code, err = run_cli(capsys, "eval", "--gt", _gt(tmp_path / "gt.json"), "--pred", _pred(tmp_path / "p.json"),
                        "--out", out)
    _one_error(code, err, "eval", "already exists", "--overwrite")
    assert (out / "mine.txt").read_text() == "keep"


# ----------------------------------------------------------------------------- convert


def _movi_video(root: Path, name: str = "vid0") -> Path:
    """A one-frame, one-object MOVi video folder under root."""
    vdir = root / name
    vdir.mkdir(parents=True)
    (vdir / "metadata.json").write_text(json.dumps({"metadata": {"num_frames": 1, "height": H, "width": W},
                                                    "instances": [{"shape": "cube"}]}))
    Image.fromarray(np.full((H, W, 4), 200, np.uint8)).save(vdir / "rgba_full_00000.png")
    seg = np.zeros((H, W), np.uint8)
    seg[2:4, 2:5] = 1
    Image.fromarray(seg).save(vdir / "segmentation_full_00000.png")
    Image.fromarray(seg * 255).save(vdir / "segmentation_0_00000.png")
    return root


@pytest.mark.parametrize("fmt", ["fishbowl", "fishbowl-raw", "kins", "movi", "sailvos", "tao"])
def test_convert_missing_source(fmt, tmp_path, capsys):
    out = tmp_path / "out.json"
    _one_error(*run_cli(capsys, "convert", fmt, tmp_path / "no_such_source", "--out", out), "convert",
               "no_such_source", "does not exist")
    assert not out.exists()


@pytest.mark.parametrize("fmt", ["fishbowl", "kins", "movi", "sailvos", "tao"])
def test_convert_wrong_kind_of_source(fmt, tmp_path, capsys):
    src = tmp_path / "notes.txt"
    src.write_text("not a dataset")
    code, err = run_cli(capsys, "convert", fmt, src, "--out", tmp_path / "out.json")
    _one_error(code, err, "convert", "notes.txt")
    assert not (tmp_path / "out.json").exists()


def test_convert_out_is_the_source_file(tmp_path, capsys):
    src = tmp_path / "tao.json"
    src.write_text("{}")
    _one_error(*run_cli(capsys, "convert", "tao", src, "--out", src, "--overwrite"), "convert",
               "is the source file")
    assert src.read_text() == "{}"


def test_convert_frames_out_holding_the_source_is_refused(tmp_path, capsys):
    src = _movi_video(tmp_path / "movi")
    before = sorted(p.relative_to(src) for p in src.rglob("*"))
    code, err = run_cli(capsys, "convert", "movi", src, "--out", tmp_path / "out.json", "--frames-out", src,
                        "--overwrite", "--no-progress")
    _one_error(code, err, "convert", "--frames-out", "contains the input")
    assert sorted(p.relative_to(src) for p in src.rglob("*")) == before  # the source is untouched
    code, err = run_cli(capsys, "convert", "movi", src, "--out", tmp_path / "out.json", "--frames-out",
                        tmp_path / "frames", "--no-progress")
    assert code == 0, err
    assert (tmp_path / "frames" / "vid0" / "00000.png").is_file()


# ----------------------------------------------------------------------------- synth


@pytest.mark.parametrize("size, phrase", [
    ("abc", "--size must be WIDTHxHEIGHT"),
    ("64x", "--size must be WIDTHxHEIGHT"),
    ("64x48x3", "--size must be WIDTHxHEIGHT"),
    ("-64x48", "--size must be WIDTHxHEIGHT"),
    ("0x0", "--size sides must be 16..4096"),
    ("8x8", "--size sides must be 16..4096"),
    ("100000x100000", "--size sides must be 16..4096"),  # used to run out of memory with a traceback
])
def test_synth_bad_size(size, phrase, tmp_path, capsys):
    out = tmp_path / "synth"
    _one_error(*run_cli(capsys, "synth", "--out", out, f"--size={size}", "--videos", "1", "--frames", "2",
                        "--quiet", "--no-mp4"), "synth", phrase, repr(size))
    assert not out.exists()


@pytest.mark.parametrize("args, phrase", [
    (["--frames", "0"], "--frames must be >= 1"),
    (["--videos", "0"], "--videos must be >= 1"),
    (["--workers", "0"], "--workers must be >= 1"),
    (["--config", "missing.yaml"], "missing.yaml"),
])
def test_synth_other_bad_arguments(args, phrase, tmp_path, capsys):
    _one_error(*run_cli(capsys, "synth", "--out", tmp_path / "s", "--quiet", *args), "synth", phrase)


def test_synth_out_holding_the_config_is_refused(tmp_path, capsys):
    folder = tmp_path / "work"
    folder.mkdir()
    config = folder / "synth.yaml"
    config.write_text("frames: 2\n")
    _one_error(*run_cli(capsys, "synth", "--out", folder, "--config", config, "--overwrite", "--quiet"), "synth",
               "contains the input", "synth.yaml")
    assert config.read_text() == "frames: 2\n"


def _out_under_a_file(tmp_path: Path) -> Path:
    """An output path whose parent is a regular file: no folder can be made there."""
    blocker = tmp_path / "a_file.txt"
    blocker.write_text("not a folder")
    return blocker / "out"


@pytest.mark.parametrize("command", ["synth", "eval", "convert"])
def test_output_that_cannot_be_made_is_one_line(command, tmp_path, capsys):
    """An --out the system refuses (here under a file) is one line naming it, exit 2: no traceback."""
    out = _out_under_a_file(tmp_path)
    args = {
        "synth": ["synth", "--out", out, "--videos", "1", "--frames", "2", "--size", "64x48", "--quiet", "--no-mp4"],
        "eval": ["eval", "--gt", _gt(tmp_path / "gt.json"), "--pred", _pred(tmp_path / "p.json"), "--given-visible",
                 "--out", out],
        "convert": ["convert", "movi", _movi_video(tmp_path / "movi"), "--out", out / "movi.json"],
    }[command]
    _one_error(*run_cli(capsys, *args), command, str(tmp_path / "a_file.txt"), "Not a directory")
    assert (tmp_path / "a_file.txt").read_text() == "not a folder"
