"""`amodal train --data`: fine-tuning on a folder of videos / a native JSON, never reading amodal masks."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from amodal.adapt.settings import FINETUNE_DEFAULTS, finetune_config
from amodal.cli.main import main
from amodal.config import Config, load_config
from amodal.engine.checkpoint import load_checkpoint, save_checkpoint
from amodal.errors import ConfigError
from amodal.models.build import build_model
from amodal_fixtures import ellipse_video, make_dataset, strip_amodal

REPO = Path(__file__).resolve().parents[2]
FAST = ["--set", "train.steps=3", "--set", "data.clip_length=3", "--set", "train.val_every=3",
        "--set", "adapt.max_val_clips=1", "--quiet"]


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory):
    cfg = load_config(REPO / "configs" / "tiny.yaml")
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    save_checkpoint(path, build_model(cfg), cfg, 0)
    return path


def _videos(root: Path, n: int = 2, frames: int = 10):
    """n tiny mp4 files in root/videos and their instance-id PNGs in root/masks/<stem>/."""
    for i in range(n):
        fr, vis, _ = ellipse_video(frames, (64, 48), 3, np.random.default_rng(i))
        (root / "videos").mkdir(parents=True, exist_ok=True)
        vw = cv2.VideoWriter(str(root / "videos" / f"v{i}.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48))
        for f in fr:
            vw.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
        vw.release()
        (root / "masks" / f"v{i}").mkdir(parents=True, exist_ok=True)
        for t in range(frames):
            ids = np.zeros((48, 64), np.uint8)
            for k in range(3):
                ids[vis[k, t]] = k + 1
            Image.fromarray(ids).save(root / "masks" / f"v{i}" / f"{t:05d}.png")
    return root / "videos", root / "masks"


def _weights(path):
    return load_checkpoint(path)["model"]


def test_finetune_on_video_folder_writes_checkpoint_and_never_reads_amodal(tmp_path, tiny_ckpt, monkeypatch, capsys):
    import amodal.data.format as fmt

    calls = []
    real = fmt.load_dataset

    def spy(path, *args, **kwargs):
        calls.append(kwargs.get("read_amodal", args[1] if len(args) > 1 else True))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(fmt, "load_dataset", spy)
    videos, masks = _videos(tmp_path)
    run = tmp_path / "run"
    rc = main(["train", "--data", str(videos), "--visible-masks", str(masks), "--init", str(tiny_ckpt),
               "--config", str(REPO / "configs" / "finetune.yaml"), "--out", str(run)] + FAST)
    assert rc == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["report"]["steps_run"] == 3 and out["pseudo_labels"]["videos"] == 2
    for name in ("model.pt", "config.yaml", "log.jsonl", "report.json", "pseudo/annotations.json"):
        assert (run / name).is_file(), name
    assert calls and not any(calls)  # every dataset load skipped amodal fields
    ckpt = load_checkpoint(run / "model.pt")
    assert ckpt["config"]["model"] == load_checkpoint(tiny_ckpt)["config"]["model"]
    assert ckpt["config"]["train"]["lr"] == FINETUNE_DEFAULTS["train"]["lr"]
    kinds = [json.loads(line)["kind"] for line in (run / "log.jsonl").read_text().splitlines()]
    assert "train" in kinds and "val" in kinds


def test_native_json_with_or_without_amodal_fields_trains_identically(tmp_path, tiny_ckpt):
    full = make_dataset(tmp_path / "d", videos=1, frames=10, size=(64, 48))
    stripped = strip_amodal(full, tmp_path / "d" / "stripped.json")
    for name, data in (("a", full), ("b", stripped)):
        rc = main(["train", "--data", str(data), "--init", str(tiny_ckpt), "--out", str(tmp_path / name)] + FAST)
        assert rc == 0
    wa, wb = _weights(tmp_path / "a" / "model.pt"), _weights(tmp_path / "b" / "model.pt")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert not (tmp_path / "d" / ".amodal_cache").exists()  # nothing written beside the user's data
    copied = json.loads((tmp_path / "a" / "cache" / "annotations.json").read_text())
    assert not any(k.startswith("amodal") for a in copied["annotations"] for k in a)


def test_finetune_yaml_equals_builtin_recipe_and_model_comes_from_checkpoint():
    assert yaml.safe_load((REPO / "configs" / "finetune.yaml").read_text()) == FINETUNE_DEFAULTS
    ckpt_cfg = load_config(REPO / "configs" / "tiny.yaml")
    cfg = finetune_config(ckpt_cfg, REPO / "configs" / "finetune.yaml", ["train.steps=7"])
    assert cfg.model == ckpt_cfg.model and cfg.train.steps == 7 and cfg.train.batch_size == 1
    with pytest.raises(ConfigError, match="taken from the checkpoint"):
        finetune_config(Config(), None, ["model.completion.width=4"])
    with pytest.raises(ConfigError, match="amodal_supervision"):
        finetune_config(Config(), None, ["train.amodal_supervision=true"])
    with pytest.raises(ConfigError, match="adapt.holdout"):
        finetune_config(Config(), None, ["adapt.holdout=1.5"])


def test_finetune_takes_the_objects_from_motion_for_a_checkpoint_without_a_visible_net(tmp_path, tiny_ckpt, capsys):
    videos, masks = _videos(tmp_path)
    argv = ["train", "--data", str(videos), "--init", str(tiny_ckpt)] + FAST
    assert main(argv + ["--out", str(tmp_path / "a")]) == 2  # the checkpoint cannot make visible masks
    assert "--detector motion" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()  # the failed run left no folder to --overwrite
    assert main(argv + ["--out", str(tmp_path / "b"), "--detector", "motion"]) == 0, capsys.readouterr().err
    pseudo = json.loads((tmp_path / "b" / "pseudo" / "annotations.json").read_text())
    assert pseudo["annotations"]  # tracks of the moving ellipses
    assert (tmp_path / "b" / "model.pt").is_file()
    assert main(argv + ["--out", str(tmp_path / "c"), "--detector", "motion", "--visible-masks", str(masks)]) == 2
    assert "not both" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--data", "missing_dir"], "no such file"),
    (["--init", "x.pt", "--config", "configs/tiny.yaml"], "used with --data"),
    (["--detector", "motion", "--config", "configs/tiny.yaml"], "used with --data"),
    (["--data", ".", "--resume"], "--resume"),
])
def test_cli_errors_exit_2_with_one_line(argv, message, capsys, tmp_path):
    rc = main(["train", "--out", str(tmp_path / "r")] + argv)
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and message in err
