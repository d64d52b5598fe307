"""Checkpoints: identical outputs after save/load; refusal of pickled code, foreign keys, other versions."""
import io
import pickle

import pytest
import torch

from amodal.config import Config
from amodal.engine.checkpoint import (FORMAT_VERSION, load_checkpoint, load_model, load_state_strict,
                                      save_checkpoint)
from amodal.errors import CheckpointError
from amodal.models.build import build_model


def _cfg():
    cfg = Config()
    cfg.model.visible.enabled = False
    cfg.model.completion.crop_size = 32
    cfg.model.completion.width = 8
    return cfg


class Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_round_trip_identical_outputs(tmp_path):
    cfg = _cfg()
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    opt = torch.optim.AdamW(model.parameters())
    path = save_checkpoint(tmp_path / "a.pt", model, cfg, step=7, optimizer=opt, extra={"note": "x"})
    loaded, cfg2 = load_model(path)
    assert cfg2 == cfg
    x = torch.rand(2, 7, 32, 32)
    with torch.no_grad():
        assert torch.equal(model.completion(x), loaded.completion(x))
    ckpt = load_checkpoint(path)
    assert ckpt["step"] == 7 and ckpt["format_version"] == FORMAT_VERSION and ckpt["optimizer"] is not None
    assert path.stat().st_size < 5_000_000


def test_half_export_loads_as_float32(tmp_path):
    cfg = _cfg()
    model = build_model(cfg)
    path = save_checkpoint(tmp_path / "h.pt", model, cfg, 0, half=True)
    loaded, _ = load_model(path)
    assert next(loaded.parameters()).dtype == torch.float32


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_refuses_pickled_code(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format_version": FORMAT_VERSION, "config": {}, "model": {}, "step": 0, "x": Evil()}, path)
    with pytest.raises(CheckpointError, match="pickled"):
        load_checkpoint(path)
    raw = tmp_path / "raw.pt"
    raw.write_bytes(pickle.dumps(Evil()))
    with pytest.raises(CheckpointError):
        load_checkpoint(raw)


def test_refuses_other_version_and_missing_file(tmp_path):
    buf = io.BytesIO()
    torch.save({"format_version": 99, "config": {}, "model": {}, "step": 0}, buf)
    (tmp_path / "v.pt").write_bytes(buf.getvalue())
    with pytest.raises(CheckpointError, match="version 99"):
        load_checkpoint(tmp_path / "v.pt")
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "none.pt")


def test_missing_and_unexpected_keys_are_listed():
    model = build_model(_cfg())
    state = dict(model.state_dict())
    state.pop("completion.head.weight")
    state["completion.extra"] = torch.zeros(1)
    with pytest.raises(CheckpointError, match=r"missing keys: completion.head.weight.*unexpected keys: completion.extra"):
        load_state_strict(model, state)


def test_a_file_that_is_no_torch_file_is_named_so(tmp_path):
    """A config, a video or an empty file given as checkpoint: 'not a checkpoint', not 'pickled code'."""
    config = tmp_path / "default.yaml"
    config.write_text("model:\n  completion:\n    width: 16\n")
    with pytest.raises(CheckpointError, match=r"default\.yaml: not a checkpoint \(not a PyTorch weights file: it starts"):
        load_checkpoint(config)
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"empty\.pt: not a checkpoint \(not a PyTorch weights file: empty\)"):
        load_checkpoint(empty)
    cut = tmp_path / "cut.pt"
    buf = io.BytesIO()
    torch.save({"format_version": FORMAT_VERSION, "config": {}, "model": {}, "step": 0}, buf)
    cut.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(CheckpointError, match=r"cut\.pt: not a readable checkpoint"):
        load_checkpoint(cut)
