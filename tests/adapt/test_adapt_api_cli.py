"""`AmodalPredictor.adapt` / `reset_weights` and `amodal adapt`: originals untouched, infer outputs, errors."""
import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from amodal.api import AmodalPredictor
from amodal.cli.main import main
from amodal.config import load_config
from amodal.engine.checkpoint import load_checkpoint, save_checkpoint
from amodal.errors import InputError
from amodal.models.build import build_model
from amodal_fixtures import ellipse_video

REPO = Path(__file__).resolve().parents[2]
T = 12
FAST = ["data.clip_length=3", "train.val_every=2", "adapt.max_val_clips=1"]


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """(checkpoint, mp4, PNG mask folder, frames (T, H, W, 3), per-frame mask dicts)."""
    root = tmp_path_factory.mktemp("adapt_api")
    cfg = load_config(REPO / "configs" / "tiny.yaml")
    torch.manual_seed(0)
    ckpt = save_checkpoint(root / "tiny.pt", build_model(cfg), cfg, 0)
    fr, vis, _ = ellipse_video(T, (64, 48), 3, np.random.default_rng(3))
    vw = cv2.VideoWriter(str(root / "clip.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48))
    for f in fr:
        vw.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    vw.release()
    (root / "masks").mkdir()
    dicts = []
    for t in range(T):
        ids = np.zeros((48, 64), np.uint8)
        for k in range(3):
            ids[vis[k, t]] = k + 1
        Image.fromarray(ids).save(root / "masks" / f"{t:05d}.png")
        dicts.append({k + 1: vis[k, t] for k in range(3) if vis[k, t].any()})
    return ckpt, root / "clip.mp4", root / "masks", np.stack(fr), dicts


def _digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _amodal(predictor, frames, masks):
    return [r.amodal.copy() for r in predictor.predict_video(frames, visible_masks=masks)]


def test_adapt_uses_a_copy_and_reset_weights_restores_outputs(clip, tmp_path):
    ckpt, _, _, frames, masks = clip
    digest = _digest(ckpt)
    p = AmodalPredictor.from_checkpoint(ckpt)
    original_model = p.model
    original_state = {k: v.clone() for k, v in p.model.state_dict().items()}
    before = _amodal(p, frames, masks)
    rep = p.adapt(frames, steps=4, visible_masks=masks, save_to=tmp_path / "adapted.pt",
                  overrides=FAST + ["train.lr=0.01"])
    assert rep.steps_run == 4 and rep.loss_after <= rep.loss_before and rep.best_step > 0
    assert p.model is not original_model
    assert all(torch.equal(original_model.state_dict()[k], v) for k, v in original_state.items())
    saved = load_checkpoint(tmp_path / "adapted.pt")
    assert any(not torch.equal(saved["model"][k], v) for k, v in original_state.items())
    assert saved["config"]["model"] == load_checkpoint(ckpt)["config"]["model"]
    p.reset_weights()
    after = _amodal(p, frames, masks)
    assert all(np.array_equal(a, b) for a, b in zip(before, after))
    assert _digest(ckpt) == digest  # the loaded checkpoint file is never modified


def test_adapt_refuses_bad_arguments(clip):
    ckpt, _, _, frames, masks = clip
    p = AmodalPredictor.from_checkpoint(ckpt)
    with pytest.raises(InputError, match="never overwritten"):
        p.adapt(frames, steps=1, visible_masks=masks, save_to=ckpt)
    with pytest.raises(InputError, match="steps"):
        p.adapt(frames, steps=-1, visible_masks=masks)
    with pytest.raises(InputError, match="no visible-mask network"):
        p.adapt(frames, steps=1)  # the tiny model cannot make its own visible masks


def test_cli_adapt_writes_infer_outputs_and_report(clip, tmp_path, capsys):
    ckpt, video, masks, _, _ = clip
    digest = _digest(ckpt)
    out = tmp_path / "out"
    sets = [x for s in FAST for x in ("--set", s)]
    rc = main(["adapt", str(video), "--out", str(out), "--checkpoint", str(ckpt), "--visible-masks", str(masks),
               "--steps", "2", "--save-checkpoint", str(tmp_path / "a.pt"), "--quiet", "--save-png"] + sets)
    assert rc == 0, capsys.readouterr().err
    for name in ("predictions.json", "overlay.mp4", "summary.json", "adaptation.json", "masks/visible/00000.png"):
        assert (out / name).exists(), name
    report = json.loads((out / "adaptation.json").read_text())
    assert report["steps_run"] == 2 and report["history"][0]["step"] == 0
    assert json.loads((out / "summary.json").read_text())["frames"] == T
    assert (tmp_path / "a.pt").is_file() and _digest(ckpt) == digest
    assert not list(tmp_path.glob("amodal-adapt-*"))  # temporary pseudo-labels removed


def test_cli_adapt_on_objects_from_motion(clip, tmp_path, capsys):
    ckpt, video, _, _, _ = clip
    out = tmp_path / "out"
    sets = [x for s in FAST for x in ("--set", s)]
    rc = main(["adapt", str(video), "--out", str(out), "--checkpoint", str(ckpt), "--detector", "motion",
               "--steps", "2", "--quiet", "--no-video"] + sets)
    assert rc == 0, capsys.readouterr().err
    report = json.loads((out / "adaptation.json").read_text())
    assert report["steps_run"] == 2 and report["train_clips"] > 0  # pseudo-labels from the moving ellipses
    assert json.loads((out / "predictions.json").read_text())  # tracks found without a visible-mask network


@pytest.mark.parametrize("extra, message", [
    (["--steps", "-1"], "--steps"),
    (["--save-checkpoint", "{ckpt}"], "--save-checkpoint {ckpt} is the checkpoint the predictor was loaded from"),
    (["--set", "model.completion.width=4"], "taken from the checkpoint"),
    (["--max-side", "8"], "--max-side must be an integer >= 16"),
    (["--save-checkpoint", "{video}"], "--save-checkpoint {video} is one of the inputs"),
    (["--save-checkpoint", "{ckpt}/x.pt"], "is a file, not a folder"),
    (["--detector", "motion"], "give it or --visible-masks, not both"),
    (["--checkpoint", "missing.pt"], "checkpoint not found"),
    (["--threads", "0"], "--threads must be an integer >= 1"),
])
def test_cli_adapt_errors_exit_2_with_one_line(clip, tmp_path, capsys, extra, message):
    ckpt, video, masks, _, _ = clip
    fill = {"{ckpt}": str(ckpt), "{video}": str(video), "{masks}": str(masks)}
    for key, value in fill.items():
        extra = [e.replace(key, value) for e in extra]
        message = message.replace(key, value)
    digests = {p: _digest(p) for p in (ckpt, video) if p.is_file()}
    argv = ["adapt", str(video), "--out", str(tmp_path / "o"), "--visible-masks", str(masks)]
    if "--checkpoint" not in extra:
        argv += ["--checkpoint", str(ckpt)]
    rc = main(argv + extra)
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and message in err, err
    assert all(_digest(p) == d for p, d in digests.items())  # the inputs are untouched


def test_cli_adapt_refuses_live_missing_and_existing(clip, tmp_path, capsys):
    ckpt, video, _, _, _ = clip
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    for argv, message in ((["0"], "live source"), ([str(tmp_path / "nope.mp4")], "source not found"),
                          ([str(video), "--out", str(tmp_path / "full")], "--overwrite")):
        if "--out" not in argv:
            argv = argv + ["--out", str(tmp_path / "o")]
        rc = main(["adapt"] + argv + ["--checkpoint", str(ckpt)])
        err = capsys.readouterr().err.strip()
        assert rc == 2 and len(err.splitlines()) == 1 and message in err, err


def test_adapt_end_to_end_with_own_visible_net_after_inference(clip):
    """A model whose visible net has already run (it keeps inference caches) can be adapted and reset."""
    from amodal.models.instances import Instance

    _, _, _, frames, masks = clip
    cfg = load_config(REPO / "configs" / "tiny.yaml", ["model.visible.enabled=true", "model.visible.width=4",
                                                       "model.visible.input_height=48", "model.visible.input_width=64",
                                                       "model.visible.center_threshold=0.0"])
    torch.manual_seed(0)
    model = build_model(cfg)
    real = model.visible.predict_instances
    index = {f.tobytes(): t for t, f in enumerate(frames)}

    def found(image, max_objects=16, previous=None):  # the net runs (filling its caches); its finds are the truth's
        real(image, max_objects, previous)
        return [Instance(m, 0.9) for _, m in sorted(masks[index[image.tobytes()]].items())]

    model.visible.predict_instances = found
    p = AmodalPredictor(model, config=cfg)
    before = [r.object_ids for r in p.predict_video(frames)]
    rep = p.adapt(frames, steps=2, overrides=FAST)
    assert rep.train_clips > 0
    assert rep.steps_run == 2
    p.reset_weights()
    assert [r.object_ids for r in p.predict_video(frames)] == before


def test_adapt_refuses_a_video_too_short_to_hold_part_back(clip):
    ckpt, _, _, frames, masks = clip
    p = AmodalPredictor.from_checkpoint(ckpt)
    with pytest.raises(InputError, match="has 5 frames; adaptation needs at least 6"):
        p.adapt(frames[:5], steps=1, visible_masks=masks[:5], overrides=FAST)


def test_cli_adapt_names_the_folder_it_cannot_work_in(clip, tmp_path, capsys, monkeypatch):
    """No temporary folder can be made beside --out (a read-only disk): one line naming that folder, not a
    traceback or the temporary name it tried."""
    import amodal.adapt.tta as tta

    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / "amodal-adapt-x1y2"))

    monkeypatch.setattr(tta.tempfile, "TemporaryDirectory", refused)
    ckpt, video, masks, _, _ = clip
    rc = main(["adapt", str(video), "--out", str(tmp_path / "o"), "--visible-masks", str(masks), "--checkpoint",
               str(ckpt)])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1, err
    assert f"working folder for the pseudo-labels in {tmp_path}: Permission denied" in err and "x1y2" not in err


def test_adapt_refuses_a_video_without_any_object(clip):
    """Empty masks everywhere (or a detector that finds nothing) once ran a silent 0.0 -> 0.0 'adaptation'."""
    ckpt, _, _, frames, _ = clip
    p = AmodalPredictor.from_checkpoint(ckpt)
    with pytest.raises(InputError, match="no object in the visible masks of any frame"):
        p.adapt(frames, steps=2, visible_masks=[{} for _ in frames], overrides=FAST)
