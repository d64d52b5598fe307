"""Baseline checkpoints: round trip, refusal of other models / pickles, where runners look."""
import argparse

import pytest
import torch

from amodal.baselines.checkpoint import (
    load_baseline_checkpoint,
    load_state_strict,
    resolve_checkpoint,
    save_baseline_checkpoint,
)
from amodal.baselines.config import CONFIG_DIR, config_dict, load_baseline_config, model_config_from_dict
from amodal.baselines.pcnet import PCNetM
from amodal.baselines.savos_model import SaVosNet
from amodal.errors import CheckpointError, ConfigError


@pytest.mark.parametrize("name,cls", [("pcnet", PCNetM), ("savos", SaVosNet)])
def test_round_trip_gives_identical_outputs(tmp_path, name, cls):
    torch.manual_seed(0)
    cfg = load_baseline_config(name, CONFIG_DIR / f"tiny_{name}.yaml").model
    net = cls(cfg).eval()
    path = save_baseline_checkpoint(tmp_path / "c.pt", name, net, config_dict(cfg), step=7)
    ckpt = load_baseline_checkpoint(path, name)
    assert ckpt["step"] == 7 and ckpt["model"] == name
    net2 = cls(model_config_from_dict(name, ckpt["config"])).eval()
    load_state_strict(net2, ckpt["state_dict"], path)
    x = torch.rand(1, 2, cfg.crop_size, cfg.crop_size) if name == "pcnet" else \
        torch.rand(1, 3, 6, cfg.patch_height, cfg.patch_width)
    with torch.no_grad():
        a, b = net(x), net2(x)
    if name == "savos":
        a, b = a["mask"], b["mask"]
    assert torch.equal(a, b)
    assert not list(tmp_path.glob(".*.tmp"))  # atomic write left no temporary file


def test_refuses_a_checkpoint_of_the_other_model(tmp_path):
    cfg = load_baseline_config("pcnet", CONFIG_DIR / "tiny_pcnet.yaml").model
    path = save_baseline_checkpoint(tmp_path / "c.pt", "pcnet", PCNetM(cfg), config_dict(cfg), 0)
    with pytest.raises(CheckpointError, match="'pcnet' checkpoint, expected 'savos'"):
        load_baseline_checkpoint(path, "savos")


def test_refuses_pickled_objects_and_garbage(tmp_path):
    bad = tmp_path / "evil.pt"
    torch.save({"format_version": 1, "model": "pcnet", "obj": argparse.Namespace(a=1)}, bad)
    with pytest.raises(CheckpointError, match="refused"):
        load_baseline_checkpoint(bad, "pcnet")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.pt"):
        load_baseline_checkpoint(junk, "pcnet")
    partial = tmp_path / "partial.pt"
    torch.save({"model": "pcnet"}, partial)
    with pytest.raises(CheckpointError, match="missing key"):
        load_baseline_checkpoint(partial, "pcnet")


def test_strict_state_dict_names_the_mismatch(tmp_path):
    cfg = load_baseline_config("pcnet", CONFIG_DIR / "tiny_pcnet.yaml").model
    state = PCNetM(cfg).state_dict()
    state.pop("head.bias")
    with pytest.raises(CheckpointError, match="head.bias"):
        load_state_strict(PCNetM(cfg), state, "x.pt")


def test_resolve_checkpoint_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AMODAL_SAVOS_CHECKPOINT", raising=False)
    with pytest.raises(CheckpointError, match=r"runs/baselines/savos/checkpoint.pt.*train_baseline.py savos"):
        resolve_checkpoint("savos", None)
    default = tmp_path / "runs" / "baselines" / "savos" / "checkpoint.pt"
    default.parent.mkdir(parents=True)
    default.write_bytes(b"x")
    assert resolve_checkpoint("savos", None).resolve() == default
    given = tmp_path / "given.pt"
    given.write_bytes(b"x")
    assert resolve_checkpoint("savos", str(given)) == given
    assert resolve_checkpoint("savos", str(default.parent)).resolve() == default  # a run folder
    env = tmp_path / "env.pt"
    env.write_bytes(b"x")
    monkeypatch.setenv("AMODAL_SAVOS_CHECKPOINT", str(env))
    assert resolve_checkpoint("savos", str(given)) == env


def test_config_refuses_unknown_keys(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("model:\n  crop_sise: 3\n")
    with pytest.raises(ConfigError, match="crop_sise"):
        load_baseline_config("pcnet", p)
    with pytest.raises(ConfigError, match="not found"):
        load_baseline_config("pcnet", tmp_path / "missing.yaml")
