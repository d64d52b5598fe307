"""tools/set_decoding.py: decoding thresholds rewritten, weights and other config untouched, bad keys refused."""
import pytest
import torch

from amodal.engine.checkpoint import load_checkpoint, load_model
from amodal.errors import ConfigError
from amodal_fixtures import load_tool, save_tiny_checkpoint


def _tool():
    return load_tool("set_decoding")


def test_thresholds_change_and_weights_do_not(tmp_path):
    src = save_tiny_checkpoint(tmp_path / "in.pt")
    dst = tmp_path / "out.pt"
    assert _tool().main([str(src), str(dst), "model.visible.score_threshold=0.3", "model.visible.min_area=40"]) == 0
    a, b = load_checkpoint(src), load_checkpoint(dst)
    assert b["config"]["model"]["visible"]["score_threshold"] == 0.3 and b["config"]["model"]["visible"]["min_area"] == 40
    b["config"]["model"]["visible"].update(score_threshold=a["config"]["model"]["visible"]["score_threshold"],
                                           min_area=a["config"]["model"]["visible"]["min_area"])
    assert a["config"] == b["config"]
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    model, cfg = load_model(dst)
    assert cfg.model.visible.score_threshold == 0.3


def test_amodal_threshold_can_be_set_but_only_to_a_probability(tmp_path):
    tool = _tool()
    src = save_tiny_checkpoint(tmp_path / "in.pt")
    tool.set_decoding(src, tmp_path / "o.pt", ["model.completion.threshold=0.3"])
    _, cfg = load_model(tmp_path / "o.pt")
    assert cfg.model.completion.threshold == 0.3
    with pytest.raises(ConfigError, match="probability"):
        tool.set_decoding(src, tmp_path / "bad.pt", ["model.completion.threshold=1.5"])
    assert not (tmp_path / "bad.pt").exists()


def test_refuses_non_decoding_keys_bad_values_and_overwriting_the_input(tmp_path, capsys):
    tool = _tool()
    src = save_tiny_checkpoint(tmp_path / "in.pt")
    with pytest.raises(ConfigError, match="only decoding keys"):
        tool.set_decoding(src, tmp_path / "o.pt", ["model.visible.width=64"])
    with pytest.raises(ConfigError):
        tool.set_decoding(src, tmp_path / "o.pt", ["model.visible.min_area=[1, 2]"])
    assert tool.main([str(src), str(src), "model.visible.score_threshold=0.3"]) == 2
    assert "another file" in capsys.readouterr().err
    assert not (tmp_path / "o.pt").exists()
