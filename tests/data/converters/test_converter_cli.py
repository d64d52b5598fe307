"""`amodal convert` end to end: output files, image root, refusals and one-line errors."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from amodal.cli.main import main

H, W, T = 16, 24, 3


def _raw_clip(tmp_path: Path, coco) -> Path:
    main_dir = tmp_path / "raw" / "40001" / "main"
    main_dir.mkdir(parents=True)
    writer = cv2.VideoWriter(str(main_dir / "video.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10, (W, H))
    for t in range(T):
        writer.write(np.full((H, W, 3), 60 * t, np.uint8))
    writer.release()
    m = np.zeros((H, W), bool)
    m[2:9, 3:12] = True
    rle = coco(m)
    masks = [{"size": json.dumps([H, W]), "counts": rle["counts"].decode()}] * T
    fish = {"id": 1, "type_id": 2, "type_name": "MediumFishB", "speed": 1.0, "scale": 1.0, "masks": masks}
    (main_dir / "objects.json").write_text(json.dumps([fish]))
    single = tmp_path / "raw" / "40001" / "single" / "40001_object1"
    single.mkdir(parents=True)
    (single / "objects.json").write_text(json.dumps([fish]))
    return tmp_path / "raw"


def test_cli_fishbowl_raw_writes_json_and_frames(tmp_path, coco, capsys):
    src = _raw_clip(tmp_path, coco)
    out = tmp_path / "out" / "fishbowl.json"
    assert main(["convert", "fishbowl-raw", str(src), "--out", str(out), "--no-progress"]) == 0
    stdout = capsys.readouterr().out
    frames = (tmp_path / "out" / "frames").resolve()
    assert f"--image-root {frames}" in stdout and "1 videos, 1 tracks" in stdout
    d = json.loads(out.read_text())
    assert d["videos"][0]["file_names"] == [f"40001/{t:05d}.png" for t in range(T)]
    assert all((frames / f).is_file() for f in d["videos"][0]["file_names"])
    # refused without --overwrite, one line on stderr, exit 2
    assert main(["convert", "fishbowl-raw", str(src), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "already exists" in err[0] and "Traceback" not in err[0]
    assert main(["convert", "fishbowl-raw", str(src), "--out", str(out), "--overwrite", "--no-progress"]) == 0


def test_cli_missing_source_is_named(tmp_path, capsys):
    missing = tmp_path / "nope"
    assert main(["convert", "movi", str(missing), "--out", str(tmp_path / "o.json")]) == 2
    err = capsys.readouterr().err
    assert str(missing) in err and err.startswith("amodal convert: error:")


def test_cli_malformed_input_exits_2(tmp_path, capsys):
    bad = tmp_path / "samples.json"
    bad.write_text("[{\"obj_id\": 1}]")
    assert main(["convert", "sailvos", str(bad), "--out", str(tmp_path / "o.json")]) == 2
    err = capsys.readouterr().err
    assert "samples.json: sample 0" in err and "'segmentation'" in err
    assert not (tmp_path / "o.json").exists()


def test_cli_never_overwrites_its_input(tmp_path, capsys):
    src = tmp_path / "tao.json"
    src.write_text(json.dumps({"videos": [], "images": [], "tracks": [], "annotations": []}))
    assert main(["convert", "tao", str(src), "--out", str(src), "--overwrite"]) == 2
    assert "source file" in capsys.readouterr().err
    assert json.loads(src.read_text())["videos"] == []


def test_cli_malformed_tao_and_empty_sailvos_one_line_exit_2(tmp_path, capsys):
    tao = tmp_path / "tao.json"
    tao.write_text(json.dumps({"videos": [{"id": 1, "width": 4, "height": 3}],
                               "images": [{"id": 1, "video_id": 1, "frame_index": None, "file_name": "a.jpg"}],
                               "tracks": [], "annotations": []}))
    empty = tmp_path / "samples.json"
    empty.write_text("[]")
    for fmt, src, message in (("tao", tao, "image 1: 'frame_index' must be an integer, got null"),
                              ("sailvos", empty, "nothing to convert")):
        assert main(["convert", fmt, str(src), "--out", str(tmp_path / "o.json")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and str(src) in err[0] and message in err[0], err
        assert not (tmp_path / "o.json").exists()
