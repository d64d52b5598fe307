"""`amodal synth` command line and config errors."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from amodal.cli.main import main
from amodal.data.synth.config import load_synth_config
from amodal.errors import ConfigError

TINY = ["--frames", "4", "--size", "64x48", "--quiet"]


def test_cli_writes_layout_and_refuses_existing(tmp_path, capsys):
    out = tmp_path / "d"
    assert main(["synth", "--out", str(out), "--videos", "2", "--seed", "3", *TINY]) == 0
    assert "wrote 2 videos" in capsys.readouterr().out
    data = json.loads((out / "annotations.json").read_text())
    assert len(data["videos"]) == 2 and data["videos"][1]["length"] == 4
    assert (out / "frames" / "00001" / "00003.png").is_file()
    assert (out / "videos" / "00000.mp4").is_file()
    assert main(["synth", "--out", str(out), "--videos", "1", *TINY]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["synth", "--out", str(out), "--videos", "1", "--overwrite", "--no-mp4", *TINY]) == 0
    assert not (out / "videos").exists()


def test_cli_user_errors_are_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("objects:\n  colour: red\n")
    assert main(["synth", "--out", str(tmp_path / "x"), "--config", str(bad), *TINY]) == 2
    err = capsys.readouterr().err
    assert "objects.colour" in err and "bad.yaml" in err and "Traceback" not in err
    assert main(["synth", "--out", str(tmp_path / "x"), "--size", "64by48"]) == 2
    assert main(["synth", "--out", str(tmp_path / "x"), "--split", "val", "--seed", "1"]) == 2
    assert main(["synth", "--out", str(tmp_path / "x"), "--workers", "0", *TINY]) == 2
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("argv, phrase", [
    (["--size", "65x48"], "even frame sides"),  # OpenCV's mp4 writer would drop a column: a 64x48 video
    (["--seed", "-1"], "--seed must be >= 0"),
    (["--frames", "20000", "--size", "4096x4096"], "GiB, held in memory"),
])
def test_cli_refuses_what_it_cannot_write_faithfully(tmp_path, capsys, argv, phrase):
    assert main(["synth", "--out", str(tmp_path / "x"), "--videos", "1", "--quiet", *argv]) == 2
    err = capsys.readouterr().err
    assert phrase in err and len(err.strip().splitlines()) == 1 and not (tmp_path / "x").exists()


def test_odd_sizes_are_fine_without_mp4(tmp_path):
    out = tmp_path / "odd"
    assert main(["synth", "--out", str(out), "--videos", "1", "--frames", "2", "--size", "65x49", "--no-mp4",
                 "--quiet"]) == 0
    assert json.loads((out / "annotations.json").read_text())["videos"][0]["width"] == 65


def test_the_photo_folder_is_an_input_and_a_worker_that_cannot_start_fails_the_run(tmp_path, capsys):
    import cv2
    import numpy as np

    out = tmp_path / "out"
    photos = out / "photos"
    photos.mkdir(parents=True)
    cv2.imwrite(str(photos / "a.png"), np.full((40, 40, 3), 128, np.uint8))
    cfg = tmp_path / "photo.yaml"
    cfg.write_text(f"photos: {photos}\nbackground:\n  textures: {{photo: 1}}\n")
    assert main(["synth", "--out", str(out), "--overwrite", "--config", str(cfg), "--workers", "2", *TINY]) == 2
    assert "photos" in capsys.readouterr().err and (photos / "a.png").is_file()  # not cleared by --overwrite
    from amodal.data.synth.config import load_synth_config
    from amodal.data.synth.dataset import generate_dataset

    cfg_obj = load_synth_config(cfg)
    (photos / "a.png").unlink()  # the workers find no photograph: the run fails, it does not hang
    with pytest.raises(ConfigError, match="photo"):
        generate_dataset(cfg_obj, tmp_path / "run2", 2, 0, workers=2, with_mp4=False, progress=False)
    assert not (tmp_path / "run2").exists()  # and leaves nothing behind


@pytest.mark.parametrize("text, key", [
    ("frames: 0\n", "frames"),
    ("width: 5000\n", "width"),
    ("motion:\n  speed: [0.5, 0.1]\n", "motion.speed"),
    ("objects:\n  shapes: {triangle: 1}\n", "objects.shapes.triangle"),
    ("objects:\n  count: 3\n", "objects.count"),
    ("photometric:\n  antialias: 2\n", "photometric.antialias"),
    ("width: [1]\n", "width"),
    ("nonsense: 1\n", "nonsense"),
])
def test_bad_config_values_raise_config_error(tmp_path, text, key):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_synth_config(path)


def test_shipped_configs_load():
    root = Path(__file__).resolve().parents[3]
    default = load_synth_config(root / "configs/synth/default.yaml")
    assert default == load_synth_config(None)
    shifted = load_synth_config(root / "configs/synth/shifted.yaml")
    assert shifted != default
