"""Fixtures for the synthetic generator tests: tiny configs (64x48, 6 frames)."""
from __future__ import annotations

import copy
from typing import Any, Dict

import pytest

from amodal.data.synth.config import SynthConfig, synth_config_from_dict

TINY: Dict[str, Any] = {"width": 64, "height": 48, "frames": 6}

# Every photometric effect off, flat single-colour textures: pixel colours are exact.
FLAT: Dict[str, Any] = {
    **TINY,
    "objects": {"count": [3, 4], "textures": {"flat": 1.0}, "shadow": [0.0, 0.0], "size": [0.2, 0.35]},
    "occluders": {"count": [1, 1]},
    "background": {"textures": {"flat": 1.0}, "clutter": [0, 0]},
    "camera": {"prob": 0.0},
    "photometric": {"antialias": False, "brightness": [1.0, 1.0], "light_change": [0.0, 0.0],
                    "light_gradient": [0.0, 0.0], "color_cast": [0.0, 0.0], "motion_blur": 0.0,
                    "defocus": [0.0, 0.0], "noise": [0.0, 0.0], "jpeg_prob": 0.0},
}


def make_cfg(base: Dict[str, Any], **sections: Dict[str, Any]) -> SynthConfig:
    """Config from `base` with per-section overrides merged in."""
    values = copy.deepcopy(base)
    for key, val in sections.items():
        if isinstance(val, dict):
            values.setdefault(key, {}).update(val)
        else:
            values[key] = val
    return synth_config_from_dict(values, "test config")


@pytest.fixture
def tiny_cfg() -> SynthConfig:
    return make_cfg(TINY)


@pytest.fixture
def flat_cfg() -> SynthConfig:
    return make_cfg(FLAT)


@pytest.fixture
def make_config():
    """`make_config("tiny" | "flat", section={...}, ...)` -> SynthConfig."""

    def _make(base: str = "tiny", **sections: Dict[str, Any]) -> SynthConfig:
        return make_cfg({"tiny": TINY, "flat": FLAT}[base], **sections)

    return _make
