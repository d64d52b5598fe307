"""`--visible-masks` / `visible_masks=` that do not fit the video: one line naming both, or `InputError`.

Wrong frame count, wrong size, a folder without PNGs (other files are ignored), colour or broken
PNGs, masks of mixed sizes, a native JSON without the video, and the same checks in the API.
"""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from amodal.cli.main import main
from amodal.errors import FormatError, InputError

H, W, T = 48, 64, 5




def _frames(n: int = T, h: int = H, w: int = W) -> list:
    out = []
    for t in range(n):
        im = np.zeros((h, w, 3), np.uint8)
        im[10:30, 5 + 3 * t:25 + 3 * t] = (230, 30, 30)
        out.append(im)
    return out


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("in") / "clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (W, H))
    for im in _frames():
        writer.write(cv2.cvtColor(im, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def _id_pngs(folder: Path, n: int = T, h: int = H, w: int = W, mode: str = "L") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for t, im in enumerate(_frames(n, h, w)):
        ids = np.where(im[..., 0] > 0, 4, 0).astype(np.uint8)
        if mode == "RGB":
            Image.fromarray(np.dstack([ids * 60] * 3)).save(folder / f"{t:05d}.png")
        else:
            Image.fromarray(ids).save(folder / f"{t:05d}.png")
    return folder


def _infer(capsys, video, masks, out, checkpoint) -> tuple:
    code = main(["infer", str(video), "--out", str(out), "--checkpoint", str(checkpoint), "--no-video",
                 "--visible-masks", str(masks)])
    captured = capsys.readouterr()
    return code, [line for line in captured.err.splitlines() if line.strip()]


def _bad_masks(kind: str, root: Path) -> Path:
    if kind == "too_few_frames":
        return _id_pngs(root / "short", n=T - 1)
    if kind == "too_many_frames":
        return _id_pngs(root / "long", n=T + 2)
    if kind == "wrong_size":
        return _id_pngs(root / "small", h=H // 2, w=W // 2)
    if kind == "transposed":
        return _id_pngs(root / "transposed", h=W, w=H)
    if kind == "no_pngs":
        folder = root / "jpgs"
        folder.mkdir(parents=True)
        for t, im in enumerate(_frames()):
            cv2.imwrite(str(folder / f"{t:05d}.jpg"), im)
        (folder / "README.txt").write_text("masks")
        return folder
    if kind == "colour_png":
        return _id_pngs(root / "colour", mode="RGB")
    if kind == "broken_png":
        folder = _id_pngs(root / "broken")
        (folder / "00002.png").write_bytes(b"\x89PNG\r\n\x1a\n cut short")
        return folder
    if kind == "mixed_sizes":
        folder = _id_pngs(root / "mixed")
        Image.fromarray(np.zeros((H, W + 4), np.uint8)).save(folder / "00003.png")
        return folder
    if kind == "missing":
        return root / "nowhere"
    if kind == "text_file":
        (root / "masks.txt").parent.mkdir(parents=True, exist_ok=True)
        (root / "masks.txt").write_text("1 2 3")
        return root / "masks.txt"
    if kind == "json_other_video":
        from amodal.utils.masks import encode_rle

        root.mkdir(parents=True, exist_ok=True)
        rle = encode_rle(np.ones((H, W), bool))
        videos = [{"id": i, "width": W, "height": H, "length": T, "file_names": [f"v{i}/{t}.png" for t in range(T)]}
                  for i in (1, 2)]
        anns = [{"id": i, "video_id": i, "category_id": 1, "segmentations": [rle] * T} for i in (1, 2)]
        path = root / "other.json"
        path.write_text(json.dumps({"videos": videos, "categories": [{"id": 1, "name": "o"}], "annotations": anns}))
        return path
    if kind == "json_wrong_length":
        from amodal.utils.masks import encode_rle

        root.mkdir(parents=True, exist_ok=True)
        rle = encode_rle(np.ones((H, W), bool))
        video = {"id": 1, "width": W, "height": H, "length": T + 1, "file_names": [f"v/{t}.png" for t in range(T + 1)]}
        ann = {"id": 1, "video_id": 1, "category_id": 1, "segmentations": [rle] * (T + 1)}
        path = root / "one.json"
        path.write_text(json.dumps({"videos": [video], "categories": [{"id": 1, "name": "o"}], "annotations": [ann]}))
        return path
    raise AssertionError(kind)


CASES = {  # kind -> phrases the one error line must hold
    "too_few_frames": ["short has masks for 4 frames", "clip.mp4 has 5 frames"],
    "too_many_frames": ["long has masks for 7 frames", "clip.mp4 has 5 frames"],
    "wrong_size": ["small masks are 32x24", "clip.mp4 are 64x48"],
    "transposed": ["transposed masks are 48x64", "clip.mp4 are 64x48"],
    "no_pngs": ["no PNG mask files in", "jpgs"],
    "colour_png": ["colour/00000.png", "RGB colour image"],
    "broken_png": ["cannot read mask PNG", "00002.png"],
    "mixed_sizes": ["00003.png is 68x48"],
    "missing": ["visible masks not found", "nowhere"],
    "text_file": ["masks.txt", "expected a folder of PNGs or a native .json"],
    "json_other_video": ["other.json holds 2 videos", "'clip'"],
    "json_wrong_length": ["one.json (video 1) has masks for 6 frames", "clip.mp4 has 5 frames"],
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_cli_mismatched_visible_masks(kind, tmp_path, video, checkpoint, capsys):
    masks = _bad_masks(kind, tmp_path / "masks")
    out = tmp_path / "out"
    code, err = _infer(capsys, video, masks, out, checkpoint)
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith("amodal infer: error:")
    for phrase in CASES[kind]:
        assert phrase in err[0], err[0]
    assert not out.exists()  # nothing half-written to clear with --overwrite before the next try


def test_cli_extra_non_png_files_are_ignored(tmp_path, video, checkpoint, capsys):
    folder = _id_pngs(tmp_path / "masks")
    (folder / "notes.txt").write_text("made by SAM2")
    (folder / "preview.jpg").write_bytes(b"not even a jpeg")
    out = tmp_path / "out"
    code, err = _infer(capsys, video, folder, out, checkpoint)
    assert code == 0 and err == []
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames"] == T and summary["track_ids"] == [4]


def test_api_mismatched_visible_masks(tmp_path, checkpoint, video):
    from amodal.api import AmodalPredictor

    p = AmodalPredictor.from_checkpoint(checkpoint)
    frames = _frames()
    good = [{2: f[..., 0] > 0} for f in frames]
    with pytest.raises(InputError, match="has masks for 4 frames, but the given frames has 5 frames"):
        list(p.predict_video(frames, visible_masks=good[:-1]))
    with pytest.raises(InputError, match="visible masks end after 4 frames"):
        list(p.predict_video(iter(frames), visible_masks=good[:-1]))  # length unknown up front
    with pytest.raises(InputError, match=r"visible mask of object 2 has shape \(24, 32\), expected \(48, 64\)"):
        list(p.predict_video(frames, visible_masks=[{2: m[2][::2, ::2]} for m in good]))
    with pytest.raises(InputError, match="must be bool"):
        list(p.predict_video(frames, visible_masks=[{2: m[2].astype(np.float32)} for m in good]))
    with pytest.raises(InputError, match="positive int object ids"):
        list(p.predict_video(frames, visible_masks=[{0: m[2]} for m in good]))
    with pytest.raises(InputError, match="one {id: mask} dict per frame"):
        list(p.predict_video(frames, visible_masks=good[0]))
    with pytest.raises(InputError, match="has masks for 4 frames, but .*clip.mp4 has 5 frames"):
        list(p.predict_video(video, visible_masks=_bad_masks("too_few_frames", tmp_path)))
    with pytest.raises(FormatError, match="RGB colour image"):
        list(p.predict_video(video, visible_masks=_bad_masks("colour_png", tmp_path)))
    assert len(list(p.predict_video(frames, visible_masks=good))) == T  # still usable afterwards
