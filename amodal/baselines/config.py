"""Configs of the learned baselines (`pcnet`, `savos`): dataclasses loaded from YAML.

A baseline YAML has two sections, `model` (network and crop geometry, stored in the checkpoint)
and `train` (optimisation and data sampling). Unknown keys raise `ConfigError` naming them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, Optional, Type, Union

import yaml

from amodal.config import apply_overrides, config_from_dict, config_to_dict
from amodal.errors import ConfigError

BASELINES = ("pcnet", "savos")
CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs" / "baselines"


@dataclass
class PCNetModelConfig:
    """PCNet-M: square object crops of `crop_size`², `crop_scale` x the observed mask's box."""

    crop_size: int = 64
    crop_scale: float = 2.0
    width: int = 16  # channels of the first UNet level (x2 per level)
    depth: int = 3  # number of down-sampling levels
    threshold: float = 0.5


@dataclass
class SaVosModelConfig:
    """SaVos: patches of `patch_height` x `patch_width` cut from the image at `image_scale`."""

    patch_height: int = 32
    patch_width: int = 64
    crop_scale: float = 1.5
    image_scale: float = 0.5  # working resolution (flow, warps, loss) relative to the input
    enc_channels: tuple = (16, 32, 64, 64, 128)
    hidden: int = 128  # FC and LSTM width
    vis_embed: int = 64  # width of the visible-mask embedding of the mask decoder
    min_box: float = 6.0  # minimum box side at the working resolution (pixels)
    threshold: float = 0.5


@dataclass
class TrainSettings:
    """Optimisation and sampling (shared by both baselines; unused keys are ignored by one)."""

    seed: int = 0
    steps: int = 2000
    minutes: float = 0.0  # > 0: stop after this wall time (whichever of steps/minutes comes first)
    batch_size: int = 8
    lr: float = 1e-3
    lr_halve_every: int = 1000  # steps; 0 keeps the rate constant
    log_every: int = 20
    ckpt_every: int = 200
    val_every: int = 200
    val_fraction: float = 0.1  # of the videos, held out for the self-supervised validation loss
    val_batches: int = 4
    threads: int = 1
    # PCNet-M
    eraser_front_p: float = 0.8
    overlap_min: float = 0.4
    overlap_max: float = 1.0
    eraser_weight: float = 5.0
    min_area: int = 30  # visible pixels of a training target (input resolution)
    # SaVos
    window: int = 8
    consistency_weight: float = 0.1


@dataclass
class BaselineConfig:
    model: Any = None
    train: TrainSettings = field(default_factory=TrainSettings)


MODEL_CONFIGS: Dict[str, Type[Any]] = {"pcnet": PCNetModelConfig, "savos": SaVosModelConfig}


def model_config_from_dict(name: str, values: Dict[str, Any]) -> Any:
    """Model section of `name` from a dict (e.g. the one stored in a checkpoint)."""
    cfg = config_from_dict(dict(values), MODEL_CONFIGS[name])
    if isinstance(cfg, SaVosModelConfig):
        cfg.enc_channels = tuple(int(c) for c in cfg.enc_channels)
    return cfg


def load_baseline_config(name: str, path: Optional[Union[str, Path]] = None,
                         overrides: Iterable[str] = ()) -> BaselineConfig:
    """Load `configs/baselines/<name>.yaml` (or `path`) with `key=value` overrides."""
    if name not in BASELINES:
        raise ConfigError(f"unknown baseline {name!r}; expected one of {', '.join(BASELINES)}")
    p = Path(path) if path is not None else CONFIG_DIR / f"{name}.yaml"
    values: Dict[str, Any] = {}
    if path is not None or p.is_file():
        if not p.is_file():
            raise ConfigError(f"config file not found: {p}")
        try:
            values = yaml.safe_load(p.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {p} is not valid YAML: {exc}") from None
        if not isinstance(values, dict):
            raise ConfigError(f"config file {p} must hold a mapping with 'model' and 'train'")
    apply_overrides(values, overrides)
    unknown = sorted(set(values) - {"model", "train"})
    if unknown:
        raise ConfigError(f"{p}: unknown config section(s) {', '.join(unknown)} (expected model, train)")
    model_values = values.get("model") or {}
    if not isinstance(model_values, dict):
        raise ConfigError(f"{p}: section 'model' must be a mapping")
    try:
        model = model_config_from_dict(name, model_values)
    except ConfigError as exc:
        raise ConfigError(f"{p}: model: {exc}") from None
    train = config_from_dict(values.get("train") or {}, TrainSettings)
    return BaselineConfig(model=model, train=train)


def config_dict(cfg: Any) -> Dict[str, Any]:
    """JSON/YAML-ready dict of a config dataclass (tuples become lists)."""
    def plain(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        return v
    return plain(config_to_dict(cfg))
