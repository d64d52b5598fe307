"""The fine-tuning recipe and how its config is put together.

The model section always comes from the checkpoint being adapted (the architecture cannot change
while fine-tuning); the `data`, `train` and `adapt` sections come from `FINETUNE_DEFAULTS`
(identical to `configs/finetune.yaml`), a YAML file and `--set key=value` overrides.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Dict, Iterable, Optional, Union

import yaml

from amodal.config import Config, ModelConfig, apply_overrides, config_from_dict, config_to_dict
from amodal.errors import ConfigError

# Same values as configs/finetune.yaml (a test keeps them equal). Why these values: docs/ADAPTATION.md.
FINETUNE_DEFAULTS: Dict[str, Any] = {
    "data": {"clip_length": 6, "clip_stride": 1, "max_objects": 6, "num_workers": 0, "augment": True},
    "train": {"seed": 0, "steps": 300, "batch_size": 1, "lr": 0.0003, "weight_decay": 0.0001, "log_every": 10,
              "val_every": 25, "occluder_runs": True,
              "loss_weights": {"visible_fit": 1.0, "occluder_synthesis": 1.0, "next_visible": 1.0,
                               "temporal_consistency": 0.1, "anchor": 1.0}},
    "adapt": {"holdout": 0.2, "max_val_clips": 8, "patience": 3, "min_delta": 0.0, "freeze_visible": True,
              "freeze_batchnorm": True, "max_side": 640, "min_track_frames": 3},
}


def _merge(base: Dict[str, Any], extra: Dict[str, Any]) -> Dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict) and key != "loss_weights":
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def finetune_config(model_cfg: Union[Config, ModelConfig], path: Optional[Union[str, Path]] = None,
                    overrides: Iterable[str] = ()) -> Config:
    """The resolved fine-tuning config.

    Args:
        model_cfg: the checkpoint's Config (or its ModelConfig); its model section is used as is.
        path: a YAML file with `data` / `train` / `adapt` sections (None: `FINETUNE_DEFAULTS` only).
        overrides: `key=value` strings (YAML values), e.g. `train.steps=50`.

    Raises:
        ConfigError: unreadable YAML, unknown keys, a `model` section or override, amodal
            supervision requested, or out-of-range values.
    """
    values = copy.deepcopy(FINETUNE_DEFAULTS)
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file not found: {p}")
        try:
            loaded = yaml.safe_load(p.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {p} is not valid YAML: {exc}") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {p} must hold a mapping, got {type(loaded).__name__}")
        if "model" in loaded:
            raise ConfigError(f"config file {p}: remove the 'model' section; fine-tuning takes the model from the "
                              "checkpoint (--init / --checkpoint)")
        _merge(values, loaded)
    overrides = list(overrides)
    bad = [o for o in overrides if o.strip().startswith("model.")]
    if bad:
        raise ConfigError(f"override {bad[0]!r}: the model is taken from the checkpoint and cannot be changed "
                          "while fine-tuning")
    apply_overrides(values, overrides)
    model = model_cfg.model if isinstance(model_cfg, Config) else model_cfg
    values["model"] = config_to_dict(model)
    cfg = config_from_dict(values)
    check_finetune_config(cfg)
    return cfg


def check_finetune_config(cfg: Config) -> None:
    """Range checks of the keys the adaptation loop reads (raises ConfigError naming the key)."""
    from amodal.losses import resolve_weights

    t, a, d = cfg.train, cfg.adapt, cfg.data
    if cfg.train.amodal_supervision:
        raise ConfigError("train.amodal_supervision cannot be set when fine-tuning on your videos: they have no "
                          "amodal masks (the objective is self-supervised)")
    checks = [("train.steps", t.steps, 0), ("train.batch_size", t.batch_size, 1), ("train.log_every", t.log_every, 1),
              ("train.val_every", t.val_every, 1), ("adapt.max_val_clips", a.max_val_clips, 1),
              ("adapt.patience", a.patience, 1), ("adapt.max_side", a.max_side, 16),
              ("adapt.min_track_frames", a.min_track_frames, 1), ("data.clip_length", d.clip_length, 2),
              ("data.clip_stride", d.clip_stride, 1), ("data.max_objects", d.max_objects, 1)]
    for key, value, low in checks:
        if value < low:
            raise ConfigError(f"{key} must be >= {low}, got {value}")
    if not 0.0 < a.holdout < 1.0:
        raise ConfigError(f"adapt.holdout must be in (0, 1), got {a.holdout}")
    if a.min_delta < 0:
        raise ConfigError(f"adapt.min_delta must be >= 0, got {a.min_delta}")
    if not t.lr > 0:
        raise ConfigError(f"train.lr must be > 0, got {t.lr}")
    resolve_weights(cfg)


__all__ = ["FINETUNE_DEFAULTS", "finetune_config", "check_finetune_config"]
