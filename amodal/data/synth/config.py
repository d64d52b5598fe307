"""Configuration of the synthetic amodal video generator (`amodal synth`).

`SynthConfig` is a nested dataclass; `load_synth_config(path)` reads a YAML file whose keys
override the defaults (unknown keys, wrong types and bad ranges raise `ConfigError` naming the
file and the key). Ranges are `[low, high]` lists sampled uniformly per video or per object;
weight tables (`{kind: weight}`) choose among shape / texture / occluder kinds.

Lengths are relative to the frame so a config works at any resolution: object sizes are
radii as a fraction of the frame height, speeds are fractions of the frame width per frame.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import yaml

from amodal.config import config_from_dict, config_to_dict
from amodal.errors import ConfigError

MIN_SIDE, MAX_SIDE = 16, 4096  # frame side bounds, pixels (a larger frame would not fit in memory while drawn)
MAX_VIDEO_BYTES = 2 * 2 ** 30  # one video's RGB frames are held in memory while it is drawn

SHAPE_KINDS = ("ellipse", "polygon", "star", "crescent", "lshape", "ushape", "blob", "animal", "fish", "worm")
OCCLUDER_KINDS = ("bar", "rock")
# "photo": a crop of a photograph from the folder `photos` (amodal.data.synth.photos); the others are procedural.
TEXTURE_KINDS = ("noise", "stripes", "spots", "gradient", "marble", "cells", "flat", "photo")
BACKGROUND_KINDS = ("terrain", "horizon", "noise", "stripes", "marble", "cells", "flat", "photo")

# Fixed splits: name -> (videos, seed). Frames and size are fixed too (SPLIT_FRAMES, SPLIT_SIZE).
SPLITS: Dict[str, tuple] = {"train": (1000, 1000), "val": (50, 2000), "test": (100, 3000)}
SPLIT_FRAMES = 32
SPLIT_SIZE = (320, 240)


def _w(**kw: float) -> Dict[str, float]:
    return dict(kw)


@dataclass
class ObjectsConfig:
    """How many objects, which silhouettes, how big, how textured."""

    count: List[int] = field(default_factory=lambda: [3, 7])
    shapes: Dict[str, float] = field(default_factory=lambda: _w(
        ellipse=1.0, polygon=1.0, star=1.0, crescent=0.8, lshape=0.7, ushape=0.7, blob=1.5,
        animal=1.5, fish=1.5, worm=0.8))
    size: List[float] = field(default_factory=lambda: [0.1, 0.27])
    textures: Dict[str, float] = field(default_factory=lambda: _w(
        noise=2.0, stripes=1.0, spots=1.0, gradient=1.0, marble=1.0, cells=1.0, flat=0.2))
    shading: List[float] = field(default_factory=lambda: [0.15, 0.45])
    shadow: List[float] = field(default_factory=lambda: [0.0, 0.45])
    # Fraction of objects that start outside the frame and enter it.
    enter_prob: float = 0.25


@dataclass
class OccludersConfig:
    """Static foreground occluders (posts, rails, rocks), fixed in the world."""

    count: List[int] = field(default_factory=lambda: [0, 2])
    kinds: Dict[str, float] = field(default_factory=lambda: _w(bar=1.0, rock=1.0))
    # Bar width and rock radius as fractions of the frame height.
    bar_width: List[float] = field(default_factory=lambda: [0.06, 0.16])
    rock_size: List[float] = field(default_factory=lambda: [0.18, 0.35])
    # Probability an occluder is in front of every object (else at a random depth).
    front_prob: float = 0.75
    # Annotated occluders are objects with tracks (category "occluder"); otherwise they are
    # scenery: composited in front but without annotation.
    annotated: bool = True


@dataclass
class MotionConfig:
    """Object motion: translation, rotation, scale, non-rigid deformation, depth swaps."""

    speed: List[float] = field(default_factory=lambda: [0.004, 0.03])
    turn_prob: float = 0.06
    smoothness: float = 0.25
    # Objects may roam this far outside the frame (fraction of width) before turning back.
    margin: float = 0.25
    rotation: List[float] = field(default_factory=lambda: [0.0, 0.06])
    scale_var: List[float] = field(default_factory=lambda: [0.0, 0.25])
    deform: List[float] = field(default_factory=lambda: [0.0, 0.08])
    swing: List[float] = field(default_factory=lambda: [0.15, 0.5])
    # Meeting points: each non-entering object passes through one of `meetings` random points
    # in the middle of the frame (at a random time) with probability `meet_prob` -> crossings.
    meetings: List[int] = field(default_factory=lambda: [1, 2])
    meet_prob: float = 0.6
    # Per frame probability of swapping two depth-adjacent objects whose masks do not touch.
    depth_swap_prob: float = 0.0


@dataclass
class CameraConfig:
    """Global camera motion (pan, zoom, roll, hand-held shake)."""

    prob: float = 0.5
    pan: List[float] = field(default_factory=lambda: [0.0, 0.012])
    zoom: List[float] = field(default_factory=lambda: [0.0, 0.008])
    roll: List[float] = field(default_factory=lambda: [0.0, 0.004])
    shake: List[float] = field(default_factory=lambda: [0.0, 1.0])


@dataclass
class BackgroundConfig:
    textures: Dict[str, float] = field(default_factory=lambda: _w(
        terrain=2.0, horizon=1.5, noise=1.0, stripes=0.4, marble=0.7, cells=0.7, flat=0.1))
    clutter: List[int] = field(default_factory=lambda: [0, 10])
    clutter_contrast: List[float] = field(default_factory=lambda: [0.08, 0.3])


@dataclass
class PhotometricConfig:
    """Image formation: lighting over time, blur, sensor noise, compression."""

    antialias: bool = True
    brightness: List[float] = field(default_factory=lambda: [0.8, 1.1])
    light_change: List[float] = field(default_factory=lambda: [0.0, 0.25])
    light_gradient: List[float] = field(default_factory=lambda: [0.0, 0.35])
    color_cast: List[float] = field(default_factory=lambda: [0.0, 0.08])
    motion_blur: float = 1.0
    defocus: List[float] = field(default_factory=lambda: [0.0, 0.8])
    noise: List[float] = field(default_factory=lambda: [0.0, 4.0])
    jpeg_prob: float = 0.3
    jpeg_quality: List[int] = field(default_factory=lambda: [40, 90])


@dataclass
class SynthConfig:
    """Everything `amodal synth` draws a video from."""

    width: int = 320
    height: int = 240
    frames: int = 32
    fps: int = 10
    objects: ObjectsConfig = field(default_factory=ObjectsConfig)
    occluders: OccludersConfig = field(default_factory=OccludersConfig)
    motion: MotionConfig = field(default_factory=MotionConfig)
    camera: CameraConfig = field(default_factory=CameraConfig)
    background: BackgroundConfig = field(default_factory=BackgroundConfig)
    photometric: PhotometricConfig = field(default_factory=PhotometricConfig)
    # Folder of photographs for the "photo" texture kind (objects.textures / background.textures);
    # relative paths are relative to the working directory. Empty: no photo textures.
    photos: str = ""


def synth_config_to_dict(cfg: SynthConfig) -> Dict[str, Any]:
    """Plain nested dict (YAML/JSON ready, picklable)."""
    return config_to_dict(cfg)


def synth_config_from_dict(values: Dict[str, Any], where: str = "synth config") -> SynthConfig:
    """Build and validate a `SynthConfig`; errors name `where` and the key."""
    try:
        cfg = config_from_dict(values or {}, SynthConfig)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    validate_synth_config(cfg, where)
    return cfg


def load_synth_config(path: Optional[Union[str, Path]] = None) -> SynthConfig:
    """Defaults, overridden by the YAML file at `path` (if given)."""
    if path is None:
        return synth_config_from_dict({})
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"synth config file not found: {p}")
    try:
        values = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"synth config file {p} is not valid YAML: {exc}") from None
    return synth_config_from_dict(values, str(p))


def _check_range(value: Any, key: str, where: str, lo: float, hi: float, integer: bool = False) -> None:
    kind = int if integer else (int, float)
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, kind) and not isinstance(v, bool) for v in value)):
        raise ConfigError(f"{where}: key '{key}' must be a [low, high] list of {'integers' if integer else 'numbers'}, "
                          f"got {value!r}")
    if not (lo <= value[0] <= value[1] <= hi):
        raise ConfigError(f"{where}: key '{key}' = {value!r} must satisfy {lo} <= low <= high <= {hi}")


def _check_weights(value: Any, key: str, where: str, allowed: tuple) -> None:
    if not isinstance(value, dict) or not value:
        raise ConfigError(f"{where}: key '{key}' must be a non-empty mapping kind -> weight")
    for name, wt in value.items():
        if name not in allowed:
            raise ConfigError(f"{where}: key '{key}.{name}' is not a known kind (choose from {', '.join(allowed)})")
        if not isinstance(wt, (int, float)) or isinstance(wt, bool) or wt < 0:
            raise ConfigError(f"{where}: key '{key}.{name}' must be a weight >= 0, got {wt!r}")
    if sum(value.values()) <= 0:
        raise ConfigError(f"{where}: key '{key}' needs at least one positive weight")


def _check_prob(value: float, key: str, where: str) -> None:
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{where}: key '{key}' must be in [0, 1], got {value!r}")


def validate_synth_config(cfg: SynthConfig, where: str = "synth config") -> None:
    """Check sizes, ranges, probabilities and weight tables; raise `ConfigError` on the first problem."""
    for key, lo in (("width", MIN_SIDE), ("height", MIN_SIDE), ("frames", 1), ("fps", 1)):
        if getattr(cfg, key) < lo:
            raise ConfigError(f"{where}: key '{key}' must be >= {lo}, got {getattr(cfg, key)}")
    for key in ("width", "height"):
        if getattr(cfg, key) > MAX_SIDE:
            raise ConfigError(f"{where}: key '{key}' must be <= {MAX_SIDE} pixels, got {getattr(cfg, key)}")
    video_bytes = cfg.width * cfg.height * 3 * cfg.frames
    if video_bytes > MAX_VIDEO_BYTES:
        raise ConfigError(f"{where}: a video of {cfg.frames} frames of {cfg.width}x{cfg.height} is "
                          f"{video_bytes / 2 ** 30:.1f} GiB, held in memory while it is drawn (at most "
                          f"{MAX_VIDEO_BYTES / 2 ** 30:.0f} GiB): fewer frames or smaller ones")
    o, oc, m, c, b, p = cfg.objects, cfg.occluders, cfg.motion, cfg.camera, cfg.background, cfg.photometric
    _check_range(o.count, "objects.count", where, 0, 64, integer=True)
    _check_weights(o.shapes, "objects.shapes", where, SHAPE_KINDS)
    _check_range(o.size, "objects.size", where, 0.01, 2.0)
    _check_weights(o.textures, "objects.textures", where, TEXTURE_KINDS)
    _check_range(o.shading, "objects.shading", where, 0.0, 1.0)
    _check_range(o.shadow, "objects.shadow", where, 0.0, 1.0)
    _check_prob(o.enter_prob, "objects.enter_prob", where)
    _check_range(oc.count, "occluders.count", where, 0, 16, integer=True)
    _check_weights(oc.kinds, "occluders.kinds", where, OCCLUDER_KINDS)
    _check_range(oc.bar_width, "occluders.bar_width", where, 0.005, 2.0)
    _check_range(oc.rock_size, "occluders.rock_size", where, 0.01, 2.0)
    _check_prob(oc.front_prob, "occluders.front_prob", where)
    _check_range(m.speed, "motion.speed", where, 0.0, 1.0)
    _check_prob(m.turn_prob, "motion.turn_prob", where)
    if not 0.0 < m.smoothness <= 1.0:
        raise ConfigError(f"{where}: key 'motion.smoothness' must be in (0, 1], got {m.smoothness!r}")
    if not 0.0 <= m.margin <= 2.0:
        raise ConfigError(f"{where}: key 'motion.margin' must be in [0, 2], got {m.margin!r}")
    _check_range(m.rotation, "motion.rotation", where, 0.0, 3.2)
    _check_range(m.scale_var, "motion.scale_var", where, 0.0, 1.0)
    _check_range(m.deform, "motion.deform", where, 0.0, 0.5)
    _check_range(m.swing, "motion.swing", where, 0.0, 1.5)
    _check_range(m.meetings, "motion.meetings", where, 1, 16, integer=True)
    _check_prob(m.meet_prob, "motion.meet_prob", where)
    _check_prob(m.depth_swap_prob, "motion.depth_swap_prob", where)
    _check_prob(c.prob, "camera.prob", where)
    for key in ("pan", "zoom", "roll", "shake"):
        _check_range(getattr(c, key), f"camera.{key}", where, 0.0, 10.0)
    _check_weights(b.textures, "background.textures", where, BACKGROUND_KINDS)
    _check_range(b.clutter, "background.clutter", where, 0, 200, integer=True)
    _check_range(b.clutter_contrast, "background.clutter_contrast", where, 0.0, 1.0)
    _check_range(p.brightness, "photometric.brightness", where, 0.05, 4.0)
    for key in ("light_change", "light_gradient", "color_cast"):
        _check_range(getattr(p, key), f"photometric.{key}", where, 0.0, 1.0)
    if p.motion_blur < 0:
        raise ConfigError(f"{where}: key 'photometric.motion_blur' must be >= 0, got {p.motion_blur!r}")
    _check_range(p.defocus, "photometric.defocus", where, 0.0, 10.0)
    _check_range(p.noise, "photometric.noise", where, 0.0, 100.0)
    _check_prob(p.jpeg_prob, "photometric.jpeg_prob", where)
    _check_range(p.jpeg_quality, "photometric.jpeg_quality", where, 1, 100, integer=True)
    if o.textures.get("photo", 0) > 0 or b.textures.get("photo", 0) > 0:
        if not cfg.photos:
            raise ConfigError(f"{where}: the 'photo' texture kind needs key 'photos': a folder of photographs "
                              "(tools/collect_photos.py makes one)")
        from amodal.data.synth.photos import load_photos

        try:
            load_photos(cfg.photos)  # every photo read once here: a bad file fails before any output is written
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None


def replace_size(cfg: SynthConfig, width: Optional[int] = None, height: Optional[int] = None,
                 frames: Optional[int] = None) -> SynthConfig:
    """Copy of `cfg` with a new frame size and/or length (validated)."""
    out = dataclasses.replace(
        cfg,
        width=cfg.width if width is None else width,
        height=cfg.height if height is None else height,
        frames=cfg.frames if frames is None else frames,
    )
    validate_synth_config(out, "command line")
    return out
