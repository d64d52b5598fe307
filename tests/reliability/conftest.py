"""Fixtures shared by the reliability tests."""
from pathlib import Path

import pytest
from amodal_fixtures import save_tiny_checkpoint


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """A randomly initialised tiny model saved as a checkpoint (the real session runs with it)."""
    return save_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.pt")
