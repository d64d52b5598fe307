"""`amodal eval --model pcnet|savos`: registration, lazy import, FrameResults at input size."""
import subprocess
import sys

import numpy as np
import pytest
import torch
from amodal_fixtures import ellipse_video

from amodal.baselines.checkpoint import save_baseline_checkpoint
from amodal.baselines.config import CONFIG_DIR, config_dict, load_baseline_config
from amodal.baselines.pcnet import PCNetM
from amodal.baselines.savos_model import SaVosNet
from amodal.errors import AmodalError
from amodal.eval.baselines import MODELS, ModelOptions, build_runner


def _checkpoint(tmp_path, name):
    torch.manual_seed(0)
    cfg = load_baseline_config(name, CONFIG_DIR / f"tiny_{name}.yaml").model
    net = PCNetM(cfg) if name == "pcnet" else SaVosNet(cfg)
    return str(save_baseline_checkpoint(tmp_path / f"{name}.pt", name, net, config_dict(cfg), 0))


def _video(frames=6, size=(64, 48)):
    fr, vis, _ = ellipse_video(frames, size, 3, np.random.default_rng(3))
    prompts = [{10 * (k + 1): vis[k, t] for k in range(3) if vis[k, t].any()} for t in range(frames)]
    return fr, prompts, (size[1], size[0])


def test_models_are_registered_and_import_lazily():
    assert {"pcnet", "savos"} <= set(MODELS)
    code = ("import sys, amodal.eval, amodal.eval.baselines; "
            "print(any(m.startswith('amodal.baselines.') for m in sys.modules), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "False"


@pytest.mark.parametrize("name", ["pcnet", "savos"])
def test_runner_yields_amodal_containing_visible(tmp_path, monkeypatch, name):
    monkeypatch.delenv(f"AMODAL_{name.upper()}_CHECKPOINT", raising=False)
    runner = build_runner(name, ModelOptions(checkpoint=_checkpoint(tmp_path, name)))
    frames, prompts, size = _video()
    assert runner.needs_frames(True) == (name == "savos")
    results = list(runner.predict_video(iter(frames) if name == "savos" else None, size, len(frames), prompts))
    assert [r.frame_index for r in results] == list(range(len(frames)))
    for r, p in zip(results, prompts):
        assert sorted(r.object_ids) == sorted(p)
        assert r.visible.shape == r.amodal.shape == (len(p), *size)
        assert r.amodal.dtype == bool
        assert np.all(r.amodal >= r.visible)
        for n, k in enumerate(r.object_ids):
            assert np.array_equal(r.visible[n], p[k])
            others = np.any([p[j] for j in p if j != k], axis=0) if len(p) > 1 else np.zeros(size, bool)
            assert not (r.amodal[n] & ~r.visible[n] & ~others).any()  # additions only under other objects
        assert np.all((r.occlusion >= 0) & (r.occlusion <= 1))


@pytest.mark.parametrize("name", ["pcnet", "savos"])
def test_missing_checkpoint_is_a_clear_error(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(f"AMODAL_{name.upper()}_CHECKPOINT", raising=False)
    with pytest.raises(AmodalError, match=f"{name} checkpoint not found"):
        build_runner(name, ModelOptions())


def test_savos_runner_refuses_a_pcnet_checkpoint(tmp_path, monkeypatch):
    monkeypatch.delenv("AMODAL_SAVOS_CHECKPOINT", raising=False)
    with pytest.raises(AmodalError, match="expected 'savos'"):
        build_runner("savos", ModelOptions(checkpoint=_checkpoint(tmp_path, "pcnet")))


def test_savos_single_frame_runs_keep_the_visible_mask(tmp_path, monkeypatch):
    monkeypatch.delenv("AMODAL_SAVOS_CHECKPOINT", raising=False)
    runner = build_runner("savos", ModelOptions(checkpoint=_checkpoint(tmp_path, "savos")))
    frames, prompts, size = _video(frames=3)
    prompts = [prompts[0], {}, prompts[2]]  # every object present in isolated frames only
    results = list(runner.predict_video(frames, size, 3, prompts))
    assert results[1].object_ids == []
    for r in (results[0], results[2]):
        assert np.array_equal(r.amodal, r.visible)
