"""Whole-process behaviour, in fresh interpreters: importing has no side effects, `amodal --help`
works without heavy imports, and native libraries (FFmpeg, decord, OpenCV) print nothing on stderr
beyond the one error line (checked on the real file descriptor 2, which capsys cannot see)."""
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": ""}


def _python(*args: str, cwd=None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=ENV, cwd=cwd,
                          timeout=timeout)


def test_import_has_no_side_effects(tmp_path):
    code = (
        "import os, sys, threading, logging\n"
        "before = set(os.listdir('.'))\n"
        "import amodal, amodal.errors, amodal.cli.main\n"
        "heavy = [m for m in ('torch', 'cv2', 'decord', 'pycocotools', 'matplotlib', 'scipy', 'albumentations')"
        " if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "assert threading.active_count() == 1\n"
        "assert not logging.getLogger().handlers and not logging.getLogger('amodal').handlers\n"
        "assert set(os.listdir('.')) == before\n"
        "assert amodal.__version__\n"
        "print('ok')\n"
    )
    proc = _python("-c", code, cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok" and proc.stderr == "", proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_help_works_and_stays_light(tmp_path):
    proc = _python("-m", "amodal", "--help", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stderr == ""
    for command in ("synth", "train", "infer", "eval", "convert"):
        assert command in proc.stdout
    proc = _python("-m", "amodal", cwd=tmp_path)  # no command: the help, exit 2
    assert proc.returncode == 2 and "usage: amodal" in proc.stdout
    code = "import sys; from amodal.cli.main import build_parser; build_parser(); print('torch' in sys.modules)"
    assert _python("-c", code).stdout.strip() == "False"
    for command in ("infer", "eval", "convert", "synth"):
        proc = _python("-m", "amodal", command, "--help", cwd=tmp_path)
        assert proc.returncode == 0 and proc.stdout.startswith("usage: amodal " + command), proc.stderr
    proc = _python("-m", "amodal", "infer", cwd=tmp_path)  # argparse: missing arguments, exit 2
    assert proc.returncode == 2 and "required" in proc.stderr and "Traceback" not in proc.stderr


@pytest.fixture(scope="module")
def bad_videos(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bad")
    (folder / "notes.mp4").write_text("just some text, not a video\n" * 50)
    ok, png = cv2.imencode(".png", np.zeros((48, 64, 3), np.uint8))
    (folder / "picture.mp4").write_bytes(png.tobytes())
    writer = cv2.VideoWriter(str(folder / "full.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48))
    rng = np.random.default_rng(0)
    for _ in range(20):
        writer.write(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    writer.release()
    data = (folder / "full.mp4").read_bytes()
    (folder / "cut.mp4").write_bytes(data[:len(data) // 2])
    (folder / "full.mp4").unlink()
    return folder


@pytest.mark.parametrize("name", ["notes.mp4", "picture.mp4", "cut.mp4"])
def test_no_native_noise_on_stderr(name, bad_videos, checkpoint, tmp_path):
    """FFmpeg/decord would print "moov atom not found" and friends; only our one line may appear."""
    proc = _python("-m", "amodal", "infer", str(bad_videos / name), "--out", str(tmp_path / "o"),
                   "--checkpoint", str(checkpoint))
    lines = proc.stderr.splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert lines[0].startswith("amodal infer: error:") and name in lines[0]
    assert "moov atom" not in proc.stderr and "@ 0x" not in proc.stderr
    assert not (tmp_path / "o" / "predictions.json").exists()


@pytest.mark.parametrize("name", ["notes.mp4", "cut.mp4"])
def test_no_native_noise_when_opening_in_python(name, bad_videos):
    code = ("from amodal.data.readers import open_source\n"
            "from amodal.errors import VideoReadError\n"
            "for backend in ('decord', 'opencv'):\n"
            "    try:\n"
            f"        open_source({str(bad_videos / name)!r}, backend=backend)\n"
            "    except VideoReadError as exc:\n"
            "        print(exc)\n")
    proc = _python("-c", code)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert len(proc.stdout.splitlines()) == 2 and all(name in line for line in proc.stdout.splitlines())
