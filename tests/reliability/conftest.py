"""Fixtures shared by the reliability tests."""
from pathlib import Path

import pytest
import torch


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """A randomly initialised tiny model saved as a checkpoint (the real session runs with it)."""
    from amodal.config import load_config
    from amodal.engine.checkpoint import save_checkpoint
    from amodal.models.build import build_model

    cfg = load_config(None, [
        "model.visible.width=4", "model.visible.input_height=48", "model.visible.input_width=64",
        "model.completion.crop_size=32", "model.completion.width=8",
        "model.completion.memory_permanent=1", "model.completion.memory_recent=2",
    ])
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    save_checkpoint(path, build_model(cfg), cfg, step=0)
    return path
