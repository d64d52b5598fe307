"""`amodal infer` end to end on a tiny generated mp4 (with a fake session), errors and outputs."""
import json
import sys
import types

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from amodal.cli.main import main
from amodal.types import FrameResult
from amodal_fixtures import panning_scene, save_tiny_checkpoint

H, W, T = 48, 64, 6


class FakeSession:
    """Object 1 = red pixels; amodal = its bounding box widened by 4 px. Given masks used as is."""

    def __init__(self, model, device="cpu", max_objects=16, min_hits=2, threshold=None, detector=None,
                 hidden_frames=None, order_ratio=None):
        self.calls = 0
        self.interrupt_at = None

    def reset(self):
        pass

    def step(self, image, visible_masks=None):
        self.calls += 1
        if self.interrupt_at is not None and self.calls > self.interrupt_at:
            raise KeyboardInterrupt
        if visible_masks:
            ids = sorted(visible_masks)
            vis = np.stack([visible_masks[i] for i in ids])
        else:
            ids, vis = [1], (image[..., 0] > 128)[None]
        amo = vis.copy()
        for k, m in enumerate(vis):
            ys, xs = np.nonzero(m)
            if ys.size:
                amo[k, ys.min():ys.max() + 1, max(0, xs.min() - 4):xs.max() + 5] = True
        occ = np.array([1 - v.sum() / max(a.sum(), 1) for v, a in zip(vis, amo)])
        return FrameResult(0, ids, vis, amo, np.full(len(ids), 0.9), occ, list(ids))


@pytest.fixture
def fake_model(monkeypatch):
    session_mod = types.ModuleType("amodal.inference.session")
    session_mod.AmodalSession = FakeSession
    monkeypatch.setitem(sys.modules, "amodal.inference.session", session_mod)
    from amodal.api import AmodalPredictor

    made = []

    def from_checkpoint(cls, path, device="cpu", **kwargs):
        p = cls(torch.nn.Linear(1, 1), device=device, **kwargs)
        made.append(p)
        return p

    monkeypatch.setattr(AmodalPredictor, "from_checkpoint", classmethod(from_checkpoint))
    return made


def _frames():
    out = []
    for t in range(T):
        im = np.zeros((H, W, 3), np.uint8)
        im[10:30, 5 + 3 * t:25 + 3 * t, 0] = 255
        out.append(im)
    return out


@pytest.fixture
def video(tmp_path):
    path = tmp_path / "in" / "clip.mp4"
    path.parent.mkdir()
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (W, H))
    for im in _frames():
        writer.write(cv2.cvtColor(im, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def _infer(*args):
    return main(["infer", *map(str, args), "--checkpoint", "fake.pt"])


def test_infer_writes_all_outputs(fake_model, video, tmp_path, capsys):
    out = tmp_path / "out"
    assert _infer(video, "--out", out, "--save-png") == 0
    printed = capsys.readouterr().out
    assert f"{out / 'overlay.mp4'}" in printed and f"{out / 'predictions.json'}" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames"] == T and summary["objects"] == 1 and summary["interrupted"] is False
    preds = json.loads((out / "predictions.json").read_text())
    assert len(preds) == 1 and preds[0]["category_id"] == 1 and len(preds[0]["segmentations"]) == T
    assert preds[0]["depth_ranks"] == [0] * T and all(0 < o < 1 for o in preds[0]["occlusion"])
    assert (out / "overlay.mp4").stat().st_size > 0
    assert len(list((out / "masks" / "visible").glob("*.png"))) == T
    assert (out / "masks" / "amodal" / "00005" / "1.png").is_file()


def test_existing_output_refused(fake_model, video, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert _infer(video, "--out", out) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "already exists" in err[0] and "--overwrite" in err[0]
    assert (out / "keep.txt").read_text() == "mine"
    assert not fake_model  # refused before loading the model
    assert _infer(video, "--out", out, "--overwrite", "--no-video") == 0
    assert not (out / "keep.txt").exists() and not (out / "overlay.mp4").exists()


def test_bad_file_exits_2_with_one_line(fake_model, tmp_path, capsys):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"this is not a video" * 10)
    assert _infer(bad, "--out", tmp_path / "out") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("amodal infer: error:") and "broken.mp4" in err[0]
    assert _infer(tmp_path / "missing.mp4", "--out", tmp_path / "out") == 2
    assert "not found" in capsys.readouterr().err


def test_threads_option(fake_model, video, tmp_path, capsys, keep_threads):
    assert _infer(video, "--out", tmp_path / "a", "--threads", "0") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("amodal infer: error: --threads must be an integer >= 1"), err
    assert not fake_model  # refused before loading the model
    with pytest.raises(SystemExit) as exc:
        _infer(video, "--out", tmp_path / "a", "--threads", "two")
    assert exc.value.code == 2 and "Traceback" not in capsys.readouterr().err
    target = 2 if keep_threads[0] == 1 else 1
    assert _infer(video, "--out", tmp_path / "b", "--threads", target, "--no-video") == 0
    assert fake_model[0].threads == target and torch.get_num_threads() == target


@pytest.mark.parametrize("option, bad, message, good, attr, value", [
    ("--min-hits", "0", "--min-hits must be a positive int", "3", "min_hits", 3),
    ("--threshold", "1", "--threshold must be a probability", "0.3", "threshold", 0.3),
    ("--hidden-frames", "-2", "--hidden-frames must be an int >= 0", "0", "hidden_frames", 0),
    ("--order-ratio", "0.5", "--order-ratio must be 0 (off) or a ratio >= 1", "0", "order_ratio", 0.0),
    ("--max-side", "0", "--max-side must be an integer >= 16", "640", "max_side", 640),
])
def test_predictor_options_checked_before_loading_and_passed_on(fake_model, video, tmp_path, capsys, option, bad,
                                                                 message, good, attr, value):
    assert _infer(video, "--out", tmp_path / "a", option, bad) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"amodal infer: error: {message}"), err
    assert not fake_model  # refused before loading the model
    assert _infer(video, "--out", tmp_path / "b", option, good, "--no-video") == 0
    assert getattr(fake_model[0], attr) == value


def test_detector_choice_checked_and_passed_on(fake_model, video, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        _infer(video, "--out", tmp_path / "a", "--detector", "optical")
    assert exc.value.code == 2 and "invalid choice: 'optical'" in capsys.readouterr().err
    assert not fake_model
    assert _infer(video, "--out", tmp_path / "b", "--detector", "network+motion", "--no-video") == 0
    assert fake_model[0].detector == "network+motion"


def test_output_containing_input_refused(fake_model, video, capsys):
    assert _infer(video, "--out", video.parent, "--overwrite") == 2
    assert "contains the input" in capsys.readouterr().err
    assert video.is_file()


def test_visible_masks_png_folder(fake_model, video, tmp_path, capsys):
    masks = tmp_path / "sam2"
    masks.mkdir()
    for t, im in enumerate(_frames()):
        ids = np.zeros((H, W), np.uint8)
        ids[im[..., 0] > 0] = 7
        Image.fromarray(ids).save(masks / f"{t:05d}.png")
    out = tmp_path / "out"
    assert _infer(video, "--out", out, "--visible-masks", masks, "--no-video") == 0
    assert json.loads((out / "summary.json").read_text())["track_ids"] == [7]

    (masks / "00005.png").unlink()
    assert _infer(video, "--out", tmp_path / "out2", "--visible-masks", masks) == 2
    err = capsys.readouterr().err
    assert "5 frames" in err and "6 frames" in err


def test_several_sources_and_sharding(fake_model, video, tmp_path, monkeypatch, capsys):
    folder = tmp_path / "in" / "frames"
    folder.mkdir()
    for t, im in enumerate(_frames()[:3]):
        cv2.imwrite(str(folder / f"{t}.png"), cv2.cvtColor(im, cv2.COLOR_RGB2BGR))
    out = tmp_path / "out"
    assert _infer(video, folder, "--out", out, "--no-video") == 0
    assert json.loads((out / "clip" / "summary.json").read_text())["frames"] == T
    assert json.loads((out / "frames" / "summary.json").read_text())["frames"] == 3

    bad = tmp_path / "in" / "bad.mp4"
    bad.write_bytes(b"garbage" * 20)
    out3 = tmp_path / "out3"
    capsys.readouterr()
    assert _infer(bad, video, "--out", out3, "--no-video") == 2  # the good source still runs
    assert (out3 / "clip" / "predictions.json").is_file() and not (out3 / "bad").exists()
    err = capsys.readouterr().err
    assert f"error: {bad}: cannot open video" in err and err.count(str(bad)) == 2  # its error, then the list

    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    out2 = tmp_path / "out2"
    assert _infer(video, folder, "--out", out2, "--no-video") == 0
    assert sorted(p.name for p in out2.iterdir()) == ["frames"]


def test_ctrl_c_finalises_outputs(fake_model, video, tmp_path, monkeypatch, capsys):
    from amodal.api import AmodalPredictor

    original = AmodalPredictor.__init__

    def init(self, *a, **k):
        original(self, *a, **k)
        self.session.interrupt_at = 3

    monkeypatch.setattr(AmodalPredictor, "__init__", init)
    out = tmp_path / "out"
    assert _infer(video, "--out", out) == 130
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames"] == 3 and summary["interrupted"] is True
    assert (out / "overlay.mp4").is_file() and not list(out.glob(".*"))
    assert "stopped by Ctrl-C" in capsys.readouterr().out


def test_live_source_runs_to_end_and_ctrl_c_is_normal_stop(fake_model, video, tmp_path, monkeypatch, capsys):
    url = video.resolve().as_uri()  # file:// URL: read like a stream, through OpenCV
    out = tmp_path / "live"
    assert _infer(url, "--out", out, "--no-video") == 0
    assert json.loads((out / "summary.json").read_text())["frames"] == T

    from amodal.api import AmodalPredictor

    original = AmodalPredictor.__init__

    def init(self, *a, **k):
        original(self, *a, **k)
        self.session.interrupt_at = 2

    monkeypatch.setattr(AmodalPredictor, "__init__", init)
    assert _infer(url, "--out", out, "--overwrite") == 0  # Ctrl-C ends a live run normally
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames"] == 2 and summary["interrupted"] is False
    assert (out / "overlay.mp4").is_file()


def test_offline_refused_on_live_source(fake_model, tmp_path, capsys):
    assert _infer("0", "--out", tmp_path / "o", "--mode", "offline") == 2
    assert "live source" in capsys.readouterr().err


def test_overlay_frame_tool(fake_model, video, tmp_path):
    from amodal_fixtures import load_tool

    out = tmp_path / "out"
    assert _infer(video, "--out", out, "--no-video") == 0
    tool = load_tool("overlay_frame")
    png = tmp_path / "frame.png"
    assert tool.main([str(video), str(out / "predictions.json"), "--out", str(png), "--frame", "2", "--scale", "2"]) == 0
    image = np.array(Image.open(png))
    assert image.shape == (2 * H, 2 * W, 3)
    assert tool.main([str(video), str(out / "predictions.json"), "--out", str(png), "--frame", "99"]) == 2


# -- with the real session and a randomly initialised tiny checkpoint -------------------------------


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    return save_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.pt")


@pytest.mark.parametrize("mode", ["stream", "offline"])
def test_real_end_to_end(tiny_checkpoint, video, tmp_path, mode, capsys):
    out = tmp_path / "out"
    rc = main(["infer", str(video), "--out", str(out), "--checkpoint", str(tiny_checkpoint), "--mode", mode,
               "--save-png"])
    assert rc == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith(f"amodal infer: {video}: {T} frames") and "predictions.json" in lines[-1]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames"] == T and summary["mode"] == mode
    cap = cv2.VideoCapture(str(out / "overlay.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == T and int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)) == W
    cap.release()
    from amodal.data.format import load_predictions

    for track in load_predictions(out / "predictions.json"):
        assert len(track.segmentations) == T
    assert len(list((out / "masks" / "visible").glob("*.png"))) == T


def test_motion_detector_end_to_end(tiny_checkpoint, tmp_path, capsys):
    frames, squares = zip(*(panning_scene(t) for t in range(T)))
    folder = tmp_path / "frames"
    folder.mkdir()
    for t, f in enumerate(frames):
        cv2.imwrite(str(folder / f"{t:05d}.png"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    out = tmp_path / "out"
    assert main(["infer", str(folder), "--out", str(out), "--checkpoint", str(tiny_checkpoint), "--detector", "motion",
                 "--no-video", "--min-hits", "1"]) == 0
    from amodal.data.format import load_predictions
    from amodal.utils.masks import decode_rle

    best = np.zeros(T)
    for track in load_predictions(out / "predictions.json"):
        for t, rle in enumerate(track.segmentations):
            if rle is not None:
                m = decode_rle(rle)
                best[t] = max(best[t], (m & squares[t]).sum() / (m | squares[t]).sum())
    assert best[0] == 0 and (best[1:] > 0.6).all()  # nothing moves before the second frame


def test_bad_checkpoint_exits_2(video, tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    assert main(["infer", str(video), "--out", str(tmp_path / "o"), "--checkpoint", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.pt" in err[0]
    assert not (tmp_path / "o").exists()
