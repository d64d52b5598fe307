"""Configs as nested dataclasses, loaded from YAML with `--set key=value` overrides.

`load_config(path, overrides)` returns a `Config`; unknown keys are refused with a message
naming them. `config_to_dict` gives the resolved config written into every checkpoint and
run folder.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple, Type, TypeVar, Union, get_type_hints

import yaml

from amodal.errors import ConfigError

T = TypeVar("T")


DETECTORS: Tuple[str, ...] = ("network", "motion", "network+motion")  # VisibleConfig.detector (amodal.models.detector)


@dataclass
class VisibleConfig:
    """Visible-mask network (class-agnostic instance segmentation + tracking)."""

    enabled: bool = True
    width: int = 16
    extra_blocks: int = 0  # more residual blocks at 1/8 and 1/16 resolution each (capacity, context)
    input_height: int = 240
    input_width: int = 320
    keep_aspect: bool = True  # other aspects: about input_height x input_width pixels, not squashed
    embed_dim: int = 8  # unused: VisibleNet separates instances with centers + offsets, not embeddings
    min_area: int = 20
    offset_scale: float = 10.0  # center offsets are predicted in units of this many output pixels
    fg_threshold: float = 0.5  # foreground probability threshold when decoding
    center_threshold: float = 0.2  # minimum center-heatmap peak of an instance
    nms_kernel: int = 5  # center peak suppression window (output pixels, odd)
    vote_radius: float = 6.0  # output pixels: votes farther from every center form new instances
    vote_radius_rel: float = 0.5  # ... or farther than this x sqrt(instance area in output pixels)
    score_threshold: float = 0.0  # instances scoring lower are dropped
    hole_area: int = 64  # holes up to this many input pixels inside an instance are filled
    motion: bool = False  # the network also sees the previous frame (motion separates objects from clutter)
    flow: bool = False  # ... and the optical flow between the two frames (needs motion)
    rgb: bool = True  # the network sees the frames' colours; false: the flow alone (needs flow; still objects are not seen)
    flow_preset: str = "ultrafast"  # DIS preset of that flow: "ultrafast", "medium" or "medium_fast" (amodal.models.motion_flow)
    flow_camera: str = "median"  # camera motion taken out of it: "median" shift or "homography"
    refine_radius: int = 0  # decoding: guided-filter radius (input pixels) snapping outlines to image edges; 0: off
    refine_eps: float = 1e-4  # decoding: the guided filter's regularisation (image edges weaker than ~sqrt of it are ignored)
    boundary_threshold: float = 0.5  # decoding: boundary probability that cuts foreground into fragments voted on whole
    detector: str = "network"  # decoding: instances from the "network", from "motion" or "network+motion" (amodal.models.detector)
    motion_threshold: float = 1.0  # decoding: residual motion (pixels per frame at <= 640 wide) that counts as moving
    motion_confident: float = 0.6  # decoding: network+motion: network score from which motion leaves an instance alone


@dataclass
class CompletionConfig:
    """Temporal shape memory + amodal head."""

    crop_size: int = 64
    width: int = 16
    memory_permanent: int = 2
    memory_recent: int = 6
    use_rgb: bool = False
    threshold: float = 0.5  # amodal probability above which a pixel under another object joins the object
    hidden_frames: int = 10  # frames an object no longer seen is still predicted from its memory (0: never)
    hidden_keep: float = 0.5  # ... while that prediction behind other objects keeps this share of its last seen area
    motion_width: int = 160  # objects' motions (memory alignment): flow on frames reduced to at most this wide
    motion_preset: str = "ultrafast"  # ... by this method: DIS ultrafast, ultrafast_fine, fast, medium, medium_fast or sparse lk (alignment.MOTION_PRESETS)
    order_ratio: float = 3.0  # an object is not extended behind one it hides, once the pair's votes say so by this ratio (0: never; >= 1)
    order_decay: float = 0.9  # ... a pair's vote (pixels one hides of the other) keeps this share per frame before the frame's is added


# Model config keys that only change how outputs are decoded at inference (or, keep_aspect, how a
# frame that is not 4:3 is sized for the network; motion_width / motion_preset, how the memory is
# aligned; flow_preset, how finely the flow input is computed; order_*, how the depth order settles
# contradictory extensions), not the weights or their shapes:
# they may be chosen after training (tools/set_decoding.py) and may differ between checkpoints of
# one architecture (tools/take_network.py). Training reads the motion keys and flow_preset too (its
# memory is aligned and its flow input computed the same way); measure before changing them after.
DECODING_KEYS: Dict[str, Tuple[str, ...]] = {
    "visible": ("fg_threshold", "center_threshold", "nms_kernel", "vote_radius", "vote_radius_rel",
                "score_threshold", "min_area", "hole_area", "refine_radius", "refine_eps", "keep_aspect",
                "boundary_threshold", "detector", "motion_threshold", "motion_confident", "flow_preset"),
    "completion": ("threshold", "hidden_frames", "hidden_keep", "motion_width", "motion_preset", "order_ratio",
                   "order_decay"),
}


@dataclass
class ModelConfig:
    visible: VisibleConfig = field(default_factory=VisibleConfig)
    completion: CompletionConfig = field(default_factory=CompletionConfig)


AUGMENT_SCALE: Tuple[float, float] = (0.9, 1.15)  # default zoom range of the clip augmentation
AUGMENT_TRANSLATE = 0.05  # default largest shift of the clip augmentation (fraction of the frame)


@dataclass
class DataConfig:
    train: str = "work_data/synth/train/annotations.json"
    val: str = "work_data/synth/val/annotations.json"
    clip_length: int = 8
    clip_stride: int = 1
    max_objects: int = 8
    num_workers: int = 0
    augment: bool = True
    scale_range: List[float] = field(default_factory=lambda: list(AUGMENT_SCALE))  # augmentation zoom (> 1: larger)
    translate: float = AUGMENT_TRANSLATE  # augmentation shift, a fraction of the frame size either way


@dataclass
class TrainConfig:
    out_dir: str = "runs/default"
    seed: int = 0
    steps: int = 2000
    batch_size: int = 4
    lr: float = 1e-3
    weight_decay: float = 1e-4
    log_every: int = 20
    val_every: int = 500
    ckpt_every: int = 250
    val_videos: int = 16
    loss_weights: Dict[str, float] = field(default_factory=dict)
    amodal_supervision: bool = False
    init: str = ""  # checkpoint whose weights start the run (a recipe's earlier stage); "" = random init
    init_parts: List[str] = field(default_factory=lambda: ["visible", "completion"])  # networks taken from `init`
    visible_frames: int = 2  # frames per clip the visible-net terms are computed on
    occluder_runs: bool = False  # synthetic occluders held over runs of frames (else per frame; losses.occluders)
    occluder_front: float = 0.8  # probability that a synthetic occluder is in front (else behind: teaches not to over-extend)
    offset_balance: bool = False  # visible net: center-offset error averaged per object, not per pixel


@dataclass
class AdaptConfig:
    """Self-supervised fine-tuning on the user's videos / test-time adaptation (`amodal.adapt`)."""

    holdout: float = 0.2  # fraction of each video's frames (its end) held back for the validation loss
    max_val_clips: int = 8  # held-back clips the validation loss is averaged over
    patience: int = 3  # stop after this many validations without improvement
    min_delta: float = 0.0  # an improvement must lower the validation loss by more than this
    freeze_visible: bool = True  # keep the visible-mask network fixed (it made the pseudo-labels)
    freeze_batchnorm: bool = True  # BatchNorm uses its stored statistics while adapting
    max_side: int = 640  # pseudo-label frames are stored with their long side at most this
    min_track_frames: int = 3  # pseudo-label tracks seen in fewer frames are dropped


@dataclass
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    adapt: AdaptConfig = field(default_factory=AdaptConfig)


def _build(cls: Type[T], values: Dict[str, Any], where: str) -> T:
    if not isinstance(values, dict):
        raise ConfigError(f"config section '{where or 'root'}' must be a mapping, got {type(values).__name__}")
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigError(f"unknown config key(s) {', '.join((where + '.' if where else '') + u for u in unknown)}")
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in values:
            continue
        v = values[f.name]
        key = f"{where}.{f.name}" if where else f.name
        typ = hints[f.name]
        if dataclasses.is_dataclass(typ):
            kwargs[f.name] = _build(typ, v, key)
        else:
            kwargs[f.name] = _coerce(v, typ, key)
    return cls(**kwargs)


def _coerce(value: Any, typ: Any, key: str) -> Any:
    origin = getattr(typ, "__origin__", None)
    if typ is float:
        return _as_float(value, key)
    if typ in (int, str, bool):
        if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
            raise ConfigError(f"config key '{key}' must be {typ.__name__}, got {value!r}")
        return value
    if origin in (dict, Dict) and not isinstance(value, dict):
        raise ConfigError(f"config key '{key}' must be a mapping, got {value!r}")
    if origin in (dict, Dict) and getattr(typ, "__args__", (None, None))[1] is float:
        return {k: _as_float(v, f"{key}.{k}") for k, v in value.items()}
    if origin in (list, List) and not isinstance(value, list):
        raise ConfigError(f"config key '{key}' must be a list, got {value!r}")
    return value


def _as_float(value: Any, key: str) -> float:
    """A float key's value: a number, or a string YAML left unparsed ("3e-4", which YAML 1.1 reads as text)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
        if number is not None and math.isfinite(number):
            return number
    raise ConfigError(f"config key '{key}' must be a number, got {value!r}")


def config_to_dict(cfg: Any) -> Dict[str, Any]:
    """Plain nested dict of a config dataclass (JSON/YAML-ready)."""
    return dataclasses.asdict(cfg)


def config_from_dict(values: Dict[str, Any], cls: Type[T] = Config) -> T:  # type: ignore[assignment]
    """Build a config dataclass from a nested dict; unknown keys raise `ConfigError`."""
    return _build(cls, values, "")


def apply_overrides(values: Dict[str, Any], overrides: Iterable[str]) -> Dict[str, Any]:
    """Apply `key.sub=value` strings (values parsed as YAML) to a nested dict, in place."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not of the form key=value")
        key, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise ConfigError(f"override {item!r}: value is not valid YAML ({exc})") from None
        node = values
        parts = key.strip().split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {item!r}: '{p}' is not a section")
        node[parts[-1]] = value
    return values


def load_config(path: Optional[Union[str, Path]] = None, overrides: Iterable[str] = ()) -> Config:
    """Load a YAML config (or the defaults when `path` is None) and apply overrides."""
    values: Dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file not found: {p}")
        try:
            values = yaml.safe_load(p.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {p} is not valid YAML: {exc}") from None
    apply_overrides(values, overrides)
    return config_from_dict(values)
