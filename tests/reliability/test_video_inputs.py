"""Whatever is on disk given as a video: one clear error line (CLI) or `VideoReadError` (API).

Bad inputs: missing file, a folder where a file is expected, a text file or a PNG named .mp4,
truncated mp4s, a zero-frame mp4, empty/unreadable/mixed-size frame folders. Odd but valid inputs
are processed: gaps in frame numbering (natural order), grey and RGBA frames, very large frames
(downscaled for the network with one warning line; masks back at input size).
"""
import json
import struct
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from amodal.cli.main import main
from amodal.errors import InputError, VideoReadError

H, W, T = 48, 64, 6


# ----------------------------------------------------------------------------- fixtures




@pytest.fixture(scope="module")
def predictor(checkpoint):
    from amodal.api import AmodalPredictor

    return AmodalPredictor.from_checkpoint(checkpoint)


def _frame(t: int, h: int = H, w: int = W, channels: int = 3) -> np.ndarray:
    im = np.zeros((h, w, 3), np.uint8)
    im[h // 5:h // 5 * 3, w // 10 + 3 * t:w // 10 * 4 + 3 * t] = (230, 40, 40)
    if channels == 1:
        return cv2.cvtColor(im, cv2.COLOR_RGB2GRAY)
    if channels == 4:
        return np.dstack([im, np.full((h, w), 128, np.uint8)])
    return im


def write_mp4(path: Path, n: int = T, noise: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (W, H))
    rng = np.random.default_rng(0)
    for t in range(n):
        im = rng.integers(0, 255, (H, W, 3), dtype=np.uint8) if noise else _frame(t)
        writer.write(cv2.cvtColor(im, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def write_folder(folder: Path, names, channels: int = 3, sizes=None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for k, name in enumerate(names):
        h, w = sizes[k] if sizes else (H, W)
        im = _frame(k, h, w, channels)
        if channels == 3:
            im = cv2.cvtColor(im, cv2.COLOR_RGB2BGR)
        elif channels == 4:
            im = cv2.cvtColor(im, cv2.COLOR_RGBA2BGRA)
        assert cv2.imwrite(str(folder / name), im)
    return folder


def _faststart(data: bytes) -> tuple:
    """The mp4 with its `moov` index moved before `mdat` (chunk offsets fixed); (bytes, mdat offset)."""
    def atoms(buf, start, end):
        i = start
        while i + 8 <= end:
            size, kind = struct.unpack(">I4s", buf[i:i + 8])
            yield kind, i, size
            i += size

    def shift(buf, start, end, delta):
        for kind, i, size in atoms(buf, start, end):
            if kind in (b"moov", b"trak", b"mdia", b"minf", b"stbl"):
                shift(buf, i + 8, i + size, delta)
            elif kind == b"stco":
                count = struct.unpack(">I", buf[i + 12:i + 16])[0]
                for p in range(i + 16, i + 16 + 4 * count, 4):
                    buf[p:p + 4] = struct.pack(">I", struct.unpack(">I", buf[p:p + 4])[0] + delta)

    top = list(atoms(data, 0, len(data)))
    _, i, size = next(a for a in top if a[0] == b"moov")
    moov = bytearray(data[i:i + size])
    shift(moov, 0, len(moov), len(moov))
    out, mdat_at = bytearray(), 0
    for kind, i, size in top:
        if kind == b"mdat":
            out += moov
            mdat_at = len(out)
        if kind != b"moov":
            out += data[i:i + size]
    return bytes(out), mdat_at


def _make_bad(kind: str, root: Path) -> Path:
    """A bad source of the given kind under `root`."""
    root.mkdir(parents=True, exist_ok=True)
    if kind == "missing":
        return root / "missing.mp4"
    if kind == "folder_named_mp4":
        (root / "folder.mp4").mkdir()
        return root / "folder.mp4"
    if kind == "text_as_mp4":
        (root / "notes.mp4").write_text("this is a text file, not a video\n" * 20)
        return root / "notes.mp4"
    if kind == "png_as_mp4":
        ok, buf = cv2.imencode(".png", _frame(0))
        (root / "picture.mp4").write_bytes(buf.tobytes())
        return root / "picture.mp4"
    if kind == "empty_file":
        (root / "empty.mp4").write_bytes(b"")
        return root / "empty.mp4"
    if kind == "cut_in_middle":  # moov (the index) is written last by OpenCV: nothing is left to read
        data = write_mp4(root / "full.mp4", n=20, noise=True).read_bytes()
        (root / "cut.mp4").write_bytes(data[:len(data) // 2])
        return root / "cut.mp4"
    if kind == "zero_frames":
        writer = cv2.VideoWriter(str(root / "zero.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10, (W, H))
        writer.release()
        assert (root / "zero.mp4").is_file()
        return root / "zero.mp4"
    if kind == "empty_folder":
        (root / "frames").mkdir()
        return root / "frames"
    if kind == "folder_of_text":
        (root / "frames").mkdir()
        (root / "frames" / "readme.txt").write_text("no images here")
        return root / "frames"
    if kind == "unreadable_image":
        folder = write_folder(root / "frames", ["00000.png", "00001.png", "00002.png"])
        (folder / "00001.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
        return folder
    if kind == "mixed_sizes":
        return write_folder(root / "frames", ["0.png", "1.png", "2.png"], sizes=[(H, W), (H, W), (H + 8, W)])
    raise AssertionError(kind)


BAD_SOURCES = {  # kind -> (the file named in the message, a phrase of the reason)
    "missing": ("missing.mp4", "not found"),
    "folder_named_mp4": ("folder.mp4", "no image files"),
    "text_as_mp4": ("notes.mp4", "cannot open video"),
    "png_as_mp4": ("picture.mp4", "cannot open video"),
    "empty_file": ("empty.mp4", "empty file"),
    "cut_in_middle": ("cut.mp4", "cannot open video"),
    "zero_frames": ("zero.mp4", "cannot open video"),
    "empty_folder": ("frames", "no image files"),
    "folder_of_text": ("frames", "no image files"),
    "unreadable_image": ("00001.png", "not a readable image"),
    "mixed_sizes": ("2.png", "the sequence started at 64x48"),
}


def run_cli(capsys, *args) -> tuple:
    """(exit code, stdout, stderr lines) of `amodal ARGS`."""
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, [line for line in captured.err.splitlines() if line.strip()]


# ----------------------------------------------------------------------------- bad sources


@pytest.mark.parametrize("kind", sorted(BAD_SOURCES))
def test_cli_bad_source_one_line_exit_2(kind, tmp_path, checkpoint, capsys):
    source = _make_bad(kind, tmp_path / "in")
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "infer", source, "--out", out, "--checkpoint", checkpoint)
    name, reason = BAD_SOURCES[kind]
    assert code == 2
    assert len(err) == 1, err
    assert err[0].startswith("amodal infer: error:") and name in err[0] and reason in err[0], err[0]
    assert not (out / "predictions.json").exists() and not (out / "summary.json").exists()
    assert not out.exists() or not any(out.iterdir())  # nothing half-written is left


@pytest.mark.parametrize("kind", sorted(BAD_SOURCES))
def test_api_bad_source_raises_video_read_error(kind, tmp_path, predictor):
    source = _make_bad(kind, tmp_path / "in")
    name, _ = BAD_SOURCES[kind]
    with pytest.raises(VideoReadError, match=name.replace(".", r"\.")) as info:
        list(predictor.predict_video(str(source)))
    assert "\n" not in str(info.value)


def test_truncated_faststart_mp4_keeps_the_readable_frames(tmp_path, checkpoint, capsys):
    data, mdat_at = _faststart(write_mp4(tmp_path / "full.mp4", n=30, noise=True).read_bytes())
    cut = tmp_path / "in" / "stream.mp4"
    cut.parent.mkdir()
    cut.write_bytes(data[:mdat_at + (len(data) - mdat_at) // 2])
    out = tmp_path / "out"
    code, stdout, err = run_cli(capsys, "infer", cut, "--out", out, "--checkpoint", checkpoint, "--no-video")
    assert code == 0, err
    frames = json.loads((out / "summary.json").read_text())["frames"]
    assert 3 <= frames < 30 and f"{frames} frames" in stdout
    assert all(line.startswith("amodal infer: warning:") for line in err), err  # no decoder noise
    for track in json.loads((out / "predictions.json").read_text()):
        assert len(track["segmentations"]) == frames


def test_api_other_bad_sources_raise_documented_types(predictor, tmp_path):
    with pytest.raises(InputError, match="cannot read frames from float"):
        list(predictor.predict_video(3.5))
    with pytest.raises(InputError, match=r"shape \(48, 64, 3\)"):
        list(predictor.predict_video(_frame(0)))  # one frame, not a video
    with pytest.raises(VideoReadError, match="unsupported file type '.txt'"):
        (tmp_path / "a.txt").write_text("x")
        list(predictor.predict_video(tmp_path / "a.txt"))
    with pytest.raises(InputError, match="frame size changed"):
        list(predictor.predict_video([_frame(0), _frame(1, H + 2, W)]))
    with pytest.raises(InputError, match="must be uint8"):
        list(predictor.predict_video([_frame(0).astype(np.float32)]))
    with pytest.raises(InputError, match="must be a numpy array"):
        list(predictor.predict_video([_frame(0), None]))


# ----------------------------------------------------------------------------- odd but valid sources


def test_folder_with_gaps_in_numbering_uses_natural_order(tmp_path, checkpoint, capsys):
    from amodal.data.readers import open_source

    names = ["frame_10.png", "frame_2.png", "frame_0.png", "frame_7.png"]  # gaps; 10 sorts last
    folder = write_folder(tmp_path / "in" / "gappy", names)
    with open_source(folder) as src:
        assert [Path(p).name for p in src.paths] == ["frame_0.png", "frame_2.png", "frame_7.png", "frame_10.png"]
        assert len(src) == 4 and src[3].timestamp == pytest.approx(3 / 30)  # renumbered 0..3
        # write_folder drew frame k of `names` at offset 3k: natural order reads k = 2, 1, 3, 0
        first_cols = [int(np.flatnonzero(f.image[H // 2, :, 0] > 128)[0]) for f in src]
        assert first_cols == [W // 10 + 3 * k for k in (2, 1, 3, 0)]
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "infer", folder, "--out", out, "--checkpoint", checkpoint, "--no-video")
    assert code == 0 and err == []
    assert json.loads((out / "summary.json").read_text())["frames"] == 4


@pytest.mark.parametrize("channels", [1, 4])
def test_grey_and_rgba_frame_folders(channels, tmp_path, checkpoint, capsys):
    folder = write_folder(tmp_path / "in" / f"c{channels}", [f"{t:03d}.png" for t in range(3)], channels=channels)
    from amodal.data.readers import open_source

    with open_source(folder) as src:
        image = src[0].image
        assert image.shape == (H, W, 3) and image.dtype == np.uint8
        if channels == 1:
            assert (image[..., 0] == image[..., 1]).all() and (image[..., 1] == image[..., 2]).all()
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "infer", folder, "--out", out, "--checkpoint", checkpoint, "--save-png")
    assert code == 0 and err == []
    assert json.loads((out / "summary.json").read_text())["frames"] == 3
    assert cv2.imread(str(out / "masks" / "visible" / "00002.png"), cv2.IMREAD_UNCHANGED).shape == (H, W)


@pytest.mark.parametrize("shape", [(H, W), (H, W, 1), (H, W, 4)])
def test_api_grey_and_rgba_frames(shape, predictor):
    frames = [np.broadcast_to(_frame(t)[..., :1], shape[:2] + (shape[2] if len(shape) == 3 else 1,))
              .reshape(shape).copy() for t in range(2)]
    masks = [{5: f.reshape(H, W, -1)[..., 0] > 100} for f in frames]
    results = list(predictor.predict_video(frames, visible_masks=masks))
    assert len(results) == 2
    for r, m in zip(results, masks):
        assert r.object_ids == [5] and r.visible.shape == r.amodal.shape == (1, H, W)
        np.testing.assert_array_equal(r.visible[0], m[5])
    with pytest.raises(InputError, match=r"got shape \(48, 64, 2\)"):
        predictor.reset()
        predictor.step(np.zeros((H, W, 2), np.uint8))


def _big_frames(n: int = 2, h: int = 3000, w: int = 4000) -> list:
    out = []
    for t in range(n):
        im = np.zeros((h, w, 3), np.uint8)
        im[500:1500, 800 + 60 * t:2000 + 60 * t] = (220, 30, 30)
        out.append(im)
    return out


def test_api_very_large_frames_are_downscaled_not_out_of_memory(checkpoint):
    from amodal.api import AmodalPredictor

    p = AmodalPredictor.from_checkpoint(checkpoint)  # default max_side=1280
    frames = _big_frames()
    masks = [{3: f[..., 0] > 0} for f in frames]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = list(p.predict_video(frames, visible_masks=masks))
    notes = [str(w.message) for w in caught]
    assert len(notes) == 1 and "4000x3000 are processed at 1280x960" in notes[0]  # once per predictor
    for r, m in zip(results, masks):
        assert r.visible.shape == r.amodal.shape == (1, 3000, 4000)
        np.testing.assert_array_equal(r.visible[0], m[3])  # given masks come back exactly
        assert (r.amodal >= r.visible).all()
    p.reset()
    detected = list(p.predict_video(frames))  # built-in segmentation on the downscaled frames
    assert all(r.visible.shape[1:] == (3000, 4000) for r in detected)


def test_cli_very_large_frame_folder_one_warning_line(tmp_path, checkpoint, capsys):
    folder = tmp_path / "in" / "big"
    folder.mkdir(parents=True)
    for t, im in enumerate(_big_frames()):
        cv2.imwrite(str(folder / f"{t}.jpg"), im)
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "infer", folder, "--out", out, "--checkpoint", checkpoint, "--no-video",
                           "--save-png")
    assert code == 0
    assert len(err) == 1 and err[0].startswith("amodal infer: warning: frames of 4000x3000 are processed at"), err
    ids = cv2.imread(str(out / "masks" / "visible" / "00001.png"), cv2.IMREAD_UNCHANGED)
    assert ids.shape == (3000, 4000)
    for track in json.loads((out / "predictions.json").read_text()):
        assert all(s is None or s["size"] == [3000, 4000] for s in track["segmentations"])


@pytest.mark.parametrize("shape", [(8, 8, 3), (2, 64, 3), (64, 4), (12, 5000, 3)])
def test_api_too_small_frames_raise_input_error(shape, predictor):
    predictor.reset()
    with pytest.raises(InputError, match=r"too small: .* \(at least 16 pixels a side\)"):
        predictor.step(np.full(shape, 100, np.uint8))


@pytest.mark.parametrize("shape", [(3000, 16), (16, 3000), (6000, 32)])
def test_api_thin_frames_keep_16_pixels_when_downscaled(shape, predictor):
    """Downscaling a very thin frame to max_side used to leave a side of 1-7 px (a cv2.error in the flow)."""
    frames = [np.full(shape + (3,), 90, np.uint8) for _ in range(2)]
    masks = [{1: np.ones(shape, bool)} for _ in frames]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = list(predictor.predict_video(frames, visible_masks=masks))
    assert all(r.visible.shape == r.amodal.shape == (1,) + shape for r in results)


def test_session_on_tiny_frames_raises_a_documented_error(checkpoint):
    """The session used without AmodalPredictor refuses frames under 16 pixels a side, as the predictor
    does (DIS optical flow raised cv2.error on frames under 12 pixels)."""
    from amodal.engine.checkpoint import load_model
    from amodal.inference.session import AmodalSession

    model, _ = load_model(checkpoint, device="cpu")
    session = AmodalSession(model.eval(), device="cpu")
    with torch.inference_mode():
        for shape in ((8, 8, 3), (40, 15, 3)):
            with pytest.raises(InputError, match="too small.*at least 16 pixels a side"):
                session.step(np.full(shape, 100, np.uint8), {1: np.ones(shape[:2], bool)})
        session.step(np.full((16, 16, 3), 100, np.uint8), {1: np.ones((16, 16), bool)})


@pytest.mark.parametrize("fps", ["-5", "0", "nan", "inf"])
def test_cli_bad_fps(fps, tmp_path, checkpoint, capsys):
    source = write_mp4(tmp_path / "in" / "clip.mp4")
    code, _, err = run_cli(capsys, "infer", source, "--out", tmp_path / "out", "--checkpoint", checkpoint,
                           f"--fps={fps}")
    assert code == 2 and len(err) == 1 and "--fps must be a positive number" in err[0], err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("fps", [-1, 0, float("nan"), "30", True])
def test_api_bad_fps(fps, tmp_path):
    from amodal.data.readers import open_source

    source = write_mp4(tmp_path / "clip.mp4")
    with pytest.raises(InputError, match="fps must be a positive number"):
        open_source(source, fps=fps)
    with open_source(source, fps=np.float32(12.5)) as src:  # numpy numbers are fine
        assert src.fps == 12.5
