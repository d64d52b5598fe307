"""Optical-flow input channels of the visible-mask network (`model.visible.flow`).

What moves differently from its surroundings is an object; that cue is the same on real video as
in the synthetic world, where texture is not. A small network given two frames has to find
correspondences itself; OpenCV's DIS flow gives them to it explicitly, for about half a
millisecond per 320x240 pair (ultrafast preset, one core).

The flow is computed on the network's input frames, backwards (from the current frame to the
previous one) so that it lies on the current frame's pixel grid, where the masks are predicted.
The camera's motion is taken out (`model.visible.flow_camera`): "median" subtracts the flow's
median over the frame (with a moving camera the background's flow is mostly one shift);
"homography" subtracts the flow of a homography fitted to it with RANSAC (pan, zoom and rotation,
as the motion detector does: `amodal.models.motion_segments`). What is left is motion relative to
the scene. `model.visible.flow_preset` is DIS's preset: "ultrafast" (about 0.5 ms per 320x240
pair), "medium" (about 5 ms, much less smeared across object edges) or "medium_fast" (medium
with fewer iterations: about half its cost, and a network trained on medium's flow scores the same
with it). The homography is fitted on FLOW_GRID_CELLS flow samples per row (half as dense as the
motion detector's: a quarter of the fitting time, the same network scores). Values are in units of
`FLOW_UNIT` input pixels, clamped to +-`FLOW_CLAMP`. Without a previous frame (a stream's first
frame) the channels are zero: no motion known. At inference (`VisibleNet.infer`) the channels are
computed from the uint8 frames (`relative_flow_u8`) before any tensor work of the frame: exactly
the same channels, and DIS runs faster when torch's idle threads are not spinning beside it.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
from torch import Tensor

from amodal.models.alignment import dis_flow
from amodal.models.motion_segments import camera_residual

FLOW_UNIT = 2.0  # input pixels per unit of the flow channels
FLOW_CLAMP = 10.0  # units: relative motions beyond 20 input pixels per frame are cut
FLOW_PRESETS = ("ultrafast", "medium", "medium_fast")  # names of amodal.models.alignment.DIS_PRESETS
FLOW_GRID_CELLS = 40  # flow samples per row for the camera homography (docs/RESULTS.md "Cheaper flow input")
FLOW_CAMERAS = ("median", "homography")


def check_flow_settings(preset: str, camera: str) -> None:
    """ValueError unless `preset` is one of FLOW_PRESETS and `camera` one of FLOW_CAMERAS."""
    if preset not in FLOW_PRESETS:
        raise ValueError(f"model.visible.flow_preset must be one of {', '.join(FLOW_PRESETS)}, got {preset!r}")
    if camera not in FLOW_CAMERAS:
        raise ValueError(f"model.visible.flow_camera must be one of {', '.join(FLOW_CAMERAS)}, got {camera!r}")


def _gray_u8(image: Tensor) -> np.ndarray:
    """float (3, H, W) RGB in [0, 1] -> uint8 (H, W) grayscale (values outside [0, 1] clipped)."""
    scaled = image.detach().float().cpu().permute(1, 2, 0).mul(255.0).clamp_(0.0, 255.0).round_()
    rgb = torch.empty(scaled.shape, dtype=torch.uint8)
    rgb.copy_(scaled)  # converted and made contiguous (H, W, 3) in one pass
    return cv2.cvtColor(rgb.numpy(), cv2.COLOR_RGB2GRAY)


def relative_flow(images: Tensor, previous: Optional[Tensor], preset: str = "ultrafast",
                  camera: str = "median") -> Tensor:
    """Flow channels for a batch of frame pairs.

    Args:
        images: float (B, 3, H, W) RGB in [0, 1], the current frames.
        previous: float (B, 3, H, W) the frames before them, or None (no motion known).
        preset: DIS preset, one of FLOW_PRESETS.
        camera: the camera motion taken out, one of FLOW_CAMERAS.

    Returns:
        float32 (B, 2, H, W) on `images`' device: (dx, dy) from each current pixel to where it was
        in the previous frame, minus the camera's motion, / FLOW_UNIT, clamped to +-FLOW_CLAMP.
    """
    check_flow_settings(preset, camera)
    b, _, h, w = images.shape
    if previous is None:
        return torch.zeros((b, 2, h, w), dtype=torch.float32, device=images.device)
    pairs = [None if torch.equal(images[i], previous[i]) else (_gray_u8(images[i]), _gray_u8(previous[i]))
             for i in range(b)]
    return gray_pair_flow(pairs, (h, w), preset, camera).to(images.device)


def relative_flow_u8(images: Sequence[np.ndarray], previous: Optional[Sequence[np.ndarray]],
                     preset: str = "ultrafast", camera: str = "median") -> Tensor:
    """`relative_flow` of RGB uint8 (H, W, 3) frames: the same channels as for the frames / 255 as
    floats, computed before any tensor exists (DIS runs about 25 % slower right after a
    multi-threaded torch operation, while torch's idle threads still spin on the cores).

    Returns:
        float32 (B, 2, H, W) on the CPU.
    """
    check_flow_settings(preset, camera)
    h, w = images[0].shape[:2]
    if previous is None:
        return torch.zeros((len(images), 2, h, w), dtype=torch.float32)
    pairs = [None if np.array_equal(a, p) else (cv2.cvtColor(a, cv2.COLOR_RGB2GRAY), cv2.cvtColor(p, cv2.COLOR_RGB2GRAY))
             for a, p in zip(images, previous)]
    return gray_pair_flow(pairs, (h, w), preset, camera)


def gray_pair_flow(pairs: Sequence[Optional[Tuple[np.ndarray, np.ndarray]]], size: Tuple[int, int], preset: str,
                   camera: str) -> Tensor:
    """Flow channels float32 (B, 2, H, W) of (current, previous) uint8 grey (H, W) pairs; None: the
    same frame twice, no motion (exactly zero)."""
    out = torch.zeros((len(pairs), 2) + tuple(size), dtype=torch.float32)
    dis = dis_flow(preset)
    for i, pair in enumerate(pairs):
        if pair is None:
            continue
        uv = dis.calc(pair[0], pair[1], None)  # (H, W, 2), current -> previous
        if camera == "homography":
            uv = camera_residual(uv, FLOW_GRID_CELLS)
        else:
            uv -= np.median(uv.reshape(-1, 2), axis=0)
        np.clip(uv * (1.0 / FLOW_UNIT), -FLOW_CLAMP, FLOW_CLAMP, out=uv)
        out[i] = torch.from_numpy(uv).permute(2, 0, 1)
    return out
