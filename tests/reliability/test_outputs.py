"""Outputs never destroy data: inputs are never overwritten, existing results are kept without
--overwrite, and result files are written atomically (a failed or interrupted run leaves either
the previous file or nothing, never half a JSON)."""
import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from amodal.cli.main import main
from amodal.errors import OutputWriteError
from amodal.types import FrameResult

H, W, T = 48, 64, 6




def _frames(n: int = T) -> list:
    out = []
    for t in range(n):
        im = np.zeros((H, W, 3), np.uint8)
        im[10:30, 5 + 3 * t:25 + 3 * t] = (230, 30, 30)
        out.append(im)
    return out


@pytest.fixture
def video(tmp_path) -> Path:
    path = tmp_path / "in" / "clip.mp4"
    path.parent.mkdir()
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (W, H))
    for im in _frames():
        writer.write(cv2.cvtColor(im, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def _snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _infer(capsys, *args) -> tuple:
    code = main(["infer", *map(str, args)])
    captured = capsys.readouterr()
    return code, [line for line in captured.err.splitlines() if line.strip()]


def _refused(code: int, err: list, *phrases: str) -> None:
    assert code == 2 and len(err) == 1 and err[0].startswith("amodal infer: error:"), err
    for phrase in phrases:
        assert phrase in err[0], err[0]


# ----------------------------------------------------------------------------- inputs are never overwritten


@pytest.mark.parametrize("target", ["input_folder", "input_file", "parent_of_input"])
def test_out_at_the_input_is_refused_even_with_overwrite(target, video, checkpoint, capsys):
    out = {"input_folder": video.parent, "input_file": video, "parent_of_input": video.parent.parent}[target]
    before = _snapshot(video.parent)
    code, err = _infer(capsys, video, "--out", out, "--checkpoint", checkpoint, "--overwrite")
    _refused(code, err, "contains the input", "clip.mp4")
    assert _snapshot(video.parent) == before


def test_out_holding_the_frame_folder_or_masks_or_checkpoint_is_refused(tmp_path, video, checkpoint, capsys):
    frames = tmp_path / "data" / "frames"
    frames.mkdir(parents=True)
    for t, im in enumerate(_frames(3)):
        cv2.imwrite(str(frames / f"{t}.png"), im)
    code, err = _infer(capsys, frames, "--out", tmp_path / "data", "--checkpoint", checkpoint, "--overwrite")
    _refused(code, err, "contains the input")
    assert len(list(frames.iterdir())) == 3

    masks = tmp_path / "work" / "masks"
    masks.mkdir(parents=True)
    code, err = _infer(capsys, video, "--out", tmp_path / "work", "--checkpoint", checkpoint, "--visible-masks",
                       masks, "--overwrite")
    _refused(code, err, "contains the input", "masks")

    own = tmp_path / "run"
    own.mkdir()
    ckpt = own / "model.pt"
    ckpt.write_bytes(checkpoint.read_bytes())
    code, err = _infer(capsys, video, "--out", own, "--checkpoint", ckpt, "--overwrite")  # used to delete it
    _refused(code, err, "contains the input", "model.pt")
    assert ckpt.read_bytes() == checkpoint.read_bytes()


def test_existing_output_refused_unless_overwrite(tmp_path, video, checkpoint, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "predictions.json").write_text('{"mine": true}')
    code, err = _infer(capsys, video, "--out", out, "--checkpoint", checkpoint)
    _refused(code, err, "already exists", "--overwrite")
    assert (out / "predictions.json").read_text() == '{"mine": true}'

    file_out = tmp_path / "result.json"
    file_out.write_text("keep")
    code, err = _infer(capsys, video, "--out", file_out, "--checkpoint", checkpoint, "--overwrite")
    _refused(code, err, "is not a folder")
    assert file_out.read_text() == "keep"

    code, err = _infer(capsys, video, "--out", out, "--checkpoint", checkpoint, "--overwrite", "--no-video")
    assert code == 0 and err == []
    assert isinstance(json.loads((out / "predictions.json").read_text()), list)


# ----------------------------------------------------------------------------- atomic writes


def _result(n_objects: int = 1) -> FrameResult:
    vis = np.zeros((n_objects, H, W), bool)
    vis[:, 5:10, 5:10] = True
    amo = vis.copy()
    amo[:, 5:12, 5:12] = True
    ids = list(range(1, n_objects + 1))
    return FrameResult(0, ids, vis, amo, np.full(n_objects, 0.9), np.full(n_objects, 0.5), ids)


def _no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if p.name.startswith(".") or p.name.endswith(".tmp")]


def test_failed_predictions_write_keeps_the_previous_file(tmp_path, monkeypatch):
    from amodal.inference.writer import ResultWriter

    out = tmp_path / "out"
    out.mkdir()
    with ResultWriter(out, write_video=False) as writer:  # a first, complete run
        for _ in range(3):
            writer.put(np.zeros((H, W, 3), np.uint8), _result())
    previous = (out / "predictions.json").read_bytes()
    assert len(json.loads(previous)) == 1

    calls = []

    def fsync_fails(fd):  # the disk fills up after part of the JSON was written
        calls.append(fd)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", fsync_fails)
    writer = ResultWriter(out, write_video=False)
    writer.put(np.zeros((H, W, 3), np.uint8), _result(2))
    with pytest.raises(OutputWriteError, match=r"cannot write .*out.*No space left"):
        writer.close()
    assert calls  # the failure really happened while writing
    assert (out / "predictions.json").read_bytes() == previous  # intact, not half-written
    assert _no_temp_files(out)


def test_writer_thread_failure_stops_the_run_without_partial_files(tmp_path, monkeypatch):
    import amodal.inference.writer as writer_mod

    real = writer_mod.write_png
    count = {"n": 0}

    def flaky(path, image):
        count["n"] += 1
        if count["n"] == 4:  # the disk fills up at the second frame
            raise OSError(28, "No space left on device")
        real(path, image)

    monkeypatch.setattr(writer_mod, "write_png", flaky)
    out = tmp_path / "out"
    out.mkdir()
    writer = writer_mod.ResultWriter(out, write_video=True, save_png=True)
    with pytest.raises(OutputWriteError, match="No space left"):
        for _ in range(20):
            writer.put(np.zeros((H, W, 3), np.uint8), _result())
        writer.close()
    writer.abort()
    assert not (out / "predictions.json").exists() and not (out / "overlay.mp4").exists()
    assert not (out / ".overlay.mp4.partial.mp4").exists() and _no_temp_files(out)


def test_png_write_failure_leaves_no_temp_file(tmp_path, monkeypatch):
    import amodal.utils.files as files
    from amodal.inference.writer import write_png

    real = os.fdopen

    class HalfWrite:  # the disk fills up halfway through the PNG
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, data):
            self.fh.write(data[: len(data) // 2])
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "fdopen", lambda fd, mode: HalfWrite(real(fd, mode)))
    with pytest.raises(OutputWriteError, match=r"cannot write .*00000.png: No space left"):
        write_png(tmp_path / "m" / "00000.png", np.zeros((H, W), np.uint8))
    monkeypatch.undo()
    assert list((tmp_path / "m").iterdir()) == []


def test_cli_error_mid_run_leaves_no_results(tmp_path, video, checkpoint, capsys, monkeypatch):
    """A source that breaks at frame 3 (unreadable image): exit 2, one line, no predictions.json."""
    frames = tmp_path / "in" / "frames"
    frames.mkdir()
    for t, im in enumerate(_frames()):
        cv2.imwrite(str(frames / f"{t:02d}.png"), im)
    (frames / "03.png").write_bytes(b"\x89PNG\r\n\x1a\n cut")
    out = tmp_path / "out"
    code, err = _infer(capsys, frames, "--out", out, "--checkpoint", checkpoint, "--save-png")
    _refused(code, err, "03.png", "not a readable image")
    assert not (out / "predictions.json").exists() and not (out / "summary.json").exists()
    assert not (out / "overlay.mp4").exists() and _no_temp_files(out)


def test_cli_disk_full_is_one_line(tmp_path, video, checkpoint, capsys, monkeypatch):
    import amodal.inference.writer as writer_mod

    def full(path, image):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(writer_mod, "write_png", full)
    out = tmp_path / "out"
    code, err = _infer(capsys, video, "--out", out, "--checkpoint", checkpoint, "--save-png")
    _refused(code, err, "No space left on device", str(out))
    assert not (out / "predictions.json").exists() and _no_temp_files(out)


def test_cli_ctrl_c_writes_complete_files(tmp_path, video, checkpoint, capsys, monkeypatch):
    from amodal.api import AmodalPredictor

    real_step = AmodalPredictor.step
    calls = {"n": 0}

    def step(self, image, visible_masks=None):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real_step(self, image, visible_masks)

    monkeypatch.setattr(AmodalPredictor, "step", step)
    out = tmp_path / "out"
    code = main(["infer", str(video), "--out", str(out), "--checkpoint", str(checkpoint)])
    assert code == 130
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames"] == 3 and summary["interrupted"] is True
    preds = json.loads((out / "predictions.json").read_text())
    assert all(len(t["segmentations"]) == 3 for t in preds)
    assert (out / "overlay.mp4").stat().st_size > 0 and _no_temp_files(out)


@pytest.mark.parametrize("out", [".", ".."])
def test_overwrite_never_clears_the_current_folder_or_its_parents(out, tmp_path, video, checkpoint, capsys,
                                                                  monkeypatch):
    work = tmp_path / "project" / "work"
    work.mkdir(parents=True)
    (work / "notes.txt").write_text("precious")
    monkeypatch.chdir(work)
    before = _snapshot(tmp_path / "project")
    code, err = _infer(capsys, video, "--out", out, "--checkpoint", checkpoint, "--overwrite")
    _refused(code, err, "refusing to clear", "current folder")
    assert _snapshot(tmp_path / "project") == before


def test_overwrite_refuses_the_home_folder(tmp_path, monkeypatch):
    from amodal.errors import OutputExistsError
    from amodal.utils.files import prepare_output_dir

    home = tmp_path / "home"
    home.mkdir()
    (home / ".bashrc").write_text("keep")
    monkeypatch.setenv("HOME", str(home))
    with pytest.raises(OutputExistsError, match="home folder"):
        prepare_output_dir(home, overwrite=True)
    assert (home / ".bashrc").read_text() == "keep"
    (home / "out").mkdir()
    (home / "out" / "old.json").write_text("{}")
    assert prepare_output_dir(home / "out", overwrite=True) == home / "out"  # a sub-folder is fine
    assert list((home / "out").iterdir()) == []


def test_cli_out_that_cannot_be_made_is_one_line(tmp_path, video, checkpoint, capsys):
    blocker = tmp_path / "a_file.txt"
    blocker.write_text("not a folder")
    code, err = _infer(capsys, video, "--out", blocker / "out", "--checkpoint", checkpoint)
    _refused(code, err, str(blocker), "Not a directory")
    assert blocker.read_text() == "not a folder"
