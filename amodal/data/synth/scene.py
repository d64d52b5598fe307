"""Typed records of one drawn synthetic video: the scene to render and the rendered result."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np

from amodal.data.synth.motion import Track
from amodal.data.synth.shapes import Shape

# Canonical half-extent covered by an object's texture (shapes have radius 1; swing/deform go beyond).
TEXTURE_EXTENT = 1.6


@dataclass
class SceneObject:
    """One layer of the scene.

    Attributes:
        shape: silhouette (canonical units).
        track: per-frame pose in the world.
        texture: (S, S, 3) float32 RGB covering canonical [-TEXTURE_EXTENT, TEXTURE_EXTENT]^2.
        category_id: annotation category.
        annotated: False for scenery occluders (composited, not annotated).
        shadow: drop-shadow strength in [0, 1].
    """

    shape: Shape
    track: Track
    texture: np.ndarray
    category_id: int
    annotated: bool = True
    shadow: float = 0.0


@dataclass
class Photometric:
    """Per-video image formation parameters (drawn once, applied per frame).

    Attributes:
        gain: (T, 3) per-frame, per-channel light gain (global brightness and colour cast).
        gradient: (T, 3) per-frame light gradient (amplitude, cos, sin of its direction).
        shadow_offset: (2,) shadow displacement in pixels; shadow_blur: Gaussian sigma (pixels).
        exposure: motion-blur length per pixel of motion (0 = no motion blur).
        defocus: Gaussian blur sigma of the whole frame (pixels).
        noise: sensor noise sigma (grey levels).
        noise_bank: (K, H + 16, W + 16, 3) float32 noise, already multiplied by `noise`.
        jpeg_quality: 0 for none, else the JPEG quality each frame goes through.
        antialias: anti-aliased (soft) silhouette edges in the image.
        noise_offsets: (T, 3) bank index, dy, dx of each frame's noise crop.
    """

    gain: np.ndarray
    gradient: np.ndarray
    shadow_offset: np.ndarray
    shadow_blur: float
    exposure: float
    defocus: float
    noise: float
    noise_bank: Optional[np.ndarray]
    noise_offsets: np.ndarray
    jpeg_quality: int = 0
    antialias: bool = True


@dataclass
class Scene:
    """Everything needed to render a video deterministically.

    Attributes:
        background: (Hb, Wb, 3) float32 RGB; its pixel (0, 0) is at world point `bg_origin`.
        cameras: (T, 3, 3) world -> image transforms.
        objects: layers; `depth` lists their indices back to front at frame 0.
        swap_prob / swap_seed: depth swaps of adjacent, non-touching objects.
    """

    width: int
    height: int
    frames: int
    background: np.ndarray
    bg_origin: np.ndarray
    cameras: np.ndarray
    objects: List[SceneObject]
    depth: List[int]
    photometric: Photometric
    swap_prob: float = 0.0
    swap_seed: int = 0


@dataclass
class SynthVideo:
    """A rendered video with exact ground truth for its N annotated objects.

    Attributes:
        frames: (T, H, W, 3) uint8 RGB.
        visible: (N, T, H, W) bool visible masks (disjoint across objects).
        amodal: (N, T, H, W) bool full silhouettes clipped to the frame (visible ⊆ amodal).
        category_ids: (N,) category of each object.
        depth_rank: (T, N) depth rank among all layers (0 = farthest).
        extents: (N, T, 4) unclipped image-space box [x0, y0, x1, y1] of each silhouette polygon.
    """

    frames: np.ndarray
    visible: np.ndarray
    amodal: np.ndarray
    category_ids: List[int]
    depth_rank: np.ndarray
    extents: np.ndarray
    meta: dict = field(default_factory=dict)
