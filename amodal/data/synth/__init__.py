"""Synthetic amodal video generator (`amodal synth`).

Modules: config (SynthConfig, YAML loading), shapes (silhouettes), textures (procedural
textures), motion (trajectories, camera), scene (typed records), render (compositing and exact
masks), generator (draws a scene per (seed, index)), writer (PNG/mp4 + native records),
dataset (parallel generation of a folder).

Public names are imported lazily (no OpenCV import until used).
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "SynthConfig": "config",
    "load_synth_config": "config",
    "synth_config_from_dict": "config",
    "SPLITS": "config",
    "SynthVideo": "scene",
    "generate_video": "generator",
    "draw_scene": "generator",
    "video_rng": "generator",
    "render_scene": "render",
    "generate_dataset": "dataset",
    "categories": "shapes",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f"amodal.data.synth.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'amodal.data.synth' has no attribute {name!r}")
