"""tools/take_network.py: one network's tensors from the donor, everything else from the base; mismatches refused."""
import pytest
import torch

from amodal.config import load_config
from amodal.engine.checkpoint import load_checkpoint, load_model, save_checkpoint, write_checkpoint
from amodal.errors import ConfigError
from amodal.models.build import build_model
from amodal_fixtures import load_tool, save_tiny_checkpoint


def _tool():
    return load_tool("take_network")


def _donor(tmp_path, shift=1.0, threshold=0.3):
    """The tiny checkpoint with every weight shifted and other decoding thresholds."""
    ckpt = load_checkpoint(save_tiny_checkpoint(tmp_path / "donor_src.pt"))
    ckpt["model"] = {k: v + shift if v.dtype.is_floating_point else v for k, v in ckpt["model"].items()}
    ckpt["config"]["model"]["completion"]["threshold"] = threshold
    ckpt["config"]["model"]["visible"]["score_threshold"] = 0.9
    return write_checkpoint(tmp_path / "donor.pt", ckpt)


def test_takes_one_network_and_keeps_the_rest(tmp_path, capsys):
    base, donor, out = save_tiny_checkpoint(tmp_path / "base.pt"), _donor(tmp_path), tmp_path / "out.pt"
    assert _tool().main([str(base), str(donor), str(out), "--part", "completion"]) == 0
    assert "'completion' tensors" in capsys.readouterr().out
    a, d, o = (load_checkpoint(p) for p in (base, donor, out))
    for k, v in o["model"].items():
        assert torch.equal(v, (d if k.startswith("completion.") else a)["model"][k]), k
    assert o["config"]["model"] == load_checkpoint(base)["config"]["model"]  # base's thresholds kept
    model, cfg = load_model(out)
    assert cfg.model.visible.score_threshold == a["config"]["model"]["visible"]["score_threshold"]


def test_refuses_other_architectures_bad_parts_and_overwriting(tmp_path, capsys):
    tool = _tool()
    base = save_tiny_checkpoint(tmp_path / "base.pt")
    cfg = load_config(None, ["model.visible.width=4", "model.visible.input_height=48", "model.visible.input_width=64",
                             "model.completion.crop_size=32", "model.completion.width=16"])
    wide = save_checkpoint(tmp_path / "wide.pt", build_model(cfg), cfg, step=0)
    with pytest.raises(ConfigError, match="model.completion differs.*width"):
        tool.take_network(base, wide, tmp_path / "o.pt", "completion")
    with pytest.raises(ConfigError, match="another file"):
        tool.take_network(base, _donor(tmp_path), base, "completion")
    with pytest.raises(ConfigError, match="--part"):
        tool.take_network(base, _donor(tmp_path), tmp_path / "o.pt", "head")
    assert tool.main([str(base), str(tmp_path / "missing.pt"), str(tmp_path / "o.pt"), "--part", "visible"]) == 2
    assert "take_network:" in capsys.readouterr().err
    assert not (tmp_path / "o.pt").exists()
