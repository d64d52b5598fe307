"""Overlay pictures of amodal predictions.

Each track gets one colour from a fixed palette indexed by its id, so the colour stays the same
over the whole video. The visible part of an object is filled semi-transparently; the hidden part
(amodal minus visible) is drawn as diagonal hatching in the track colour with a light tint, and the
amodal contour of occluded objects is outlined with a dashed line. A small label shows the id
(and the occlusion rate when the object is partly hidden).
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

import cv2
import numpy as np

from amodal.errors import InputError
from amodal.types import FrameResult
from amodal.utils.images import check_rgb

Color = Tuple[int, int, int]

# 20 distinct, saturated RGB colours, ordered so that neighbouring ids differ strongly.
PALETTE: np.ndarray = np.array(
    [
        (230, 25, 75), (60, 180, 75), (0, 130, 200), (255, 190, 0), (145, 30, 180),
        (0, 200, 200), (240, 50, 230), (160, 210, 40), (250, 120, 30), (0, 110, 110),
        (200, 120, 255), (170, 110, 40), (255, 110, 150), (100, 100, 255), (128, 0, 0),
        (90, 220, 160), (128, 128, 0), (255, 160, 120), (0, 0, 128), (220, 220, 60),
    ],
    dtype=np.uint8,
)


def track_color(track_id: int) -> Color:
    """RGB colour of a track: `PALETTE[track_id % len(PALETTE)]`."""
    r, g, b = PALETTE[int(track_id) % len(PALETTE)]
    return int(r), int(g), int(b)


def hidden_masks(result: FrameResult) -> np.ndarray:
    """Hidden parts of the objects: amodal and not visible, bool (N, H, W)."""
    return np.logical_and(result.amodal, np.logical_not(result.visible))


def hatch_pattern(height: int, width: int, spacing: int, thickness: int, direction: int = 1) -> np.ndarray:
    """Diagonal stripes, bool (H, W): pixels with `(x + direction * y) mod spacing < thickness`."""
    ys, xs = np.mgrid[0:height, 0:width]
    return ((xs + direction * ys) % spacing) < thickness


def _scale(image: np.ndarray) -> float:
    """Drawing scale: 1.0 for a 480-pixel short side."""
    return max(0.5, min(image.shape[:2]) / 480.0)


def _blend(out: np.ndarray, mask: np.ndarray, color: Color, alpha: float) -> None:
    """Blend `color` into `out` (float32 (H, W, 3)) where `mask` is True, in place."""
    if alpha <= 0 or not mask.any():
        return
    out[mask] = (1.0 - alpha) * out[mask] + alpha * np.asarray(color, dtype=np.float32)


def _dashed_contours(
    image: np.ndarray, mask: np.ndarray, where: np.ndarray, color: Color, thickness: int, dash: int
) -> None:
    """Draw the outer contours of `mask` as dashes of `dash` pixels, only where `where` is True.

    Args:
        image: uint8 (H, W, 3), drawn on in place.
        mask: bool (H, W) whose contour is drawn.
        where: bool (H, W) selecting the contour points to draw (e.g. the hidden part).
    """
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    halo = tuple(int(0.35 * c) for c in color)  # dark rim keeps the dashes visible on any background
    for contour in contours:
        pts = contour[:, 0, :]
        if len(pts) < 2:
            continue
        pts = np.concatenate([pts, pts[:1]], axis=0)  # close the loop
        keep = where[pts[:, 1], pts[:, 0]] & ((np.arange(len(pts)) // dash) % 2 == 0)
        dashes = [run.reshape(-1, 1, 2) for run in _runs(pts, keep) if len(run) > 1]
        if dashes:
            cv2.polylines(image, dashes, False, halo, thickness + 1, cv2.LINE_AA)
            cv2.polylines(image, dashes, False, color, thickness, cv2.LINE_AA)


def _runs(points: np.ndarray, keep: np.ndarray) -> List[np.ndarray]:
    """Consecutive runs of `points` (K, 2) where `keep` (K,) is True."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], keep.astype(np.int8), [0]])))
    return [points[a:b] for a, b in zip(edges[::2], edges[1::2])]


def _label(image: np.ndarray, text: str, anchor: Tuple[int, int], color: Color, scale: float) -> None:
    """Draw a small filled label box with `text` whose top-left corner is near `anchor` (x, y)."""
    font = cv2.FONT_HERSHEY_SIMPLEX
    scale = max(scale, 0.8)  # stay legible on small frames
    font_scale = 0.45 * scale
    thick = max(1, int(round(scale)))
    (tw, th), base = cv2.getTextSize(text, font, font_scale, thick)
    pad = max(2, int(round(2 * scale)))
    h, w = image.shape[:2]
    x = int(np.clip(anchor[0], 0, max(0, w - tw - 2 * pad)))
    y = int(np.clip(anchor[1] - th - base - 2 * pad, 0, max(0, h - th - base - 2 * pad)))
    cv2.rectangle(image, (x, y), (x + tw + 2 * pad, y + th + base + 2 * pad), color, -1)
    luminance = 0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2]
    text_color = (0, 0, 0) if luminance > 140 else (255, 255, 255)
    cv2.putText(image, text, (x + pad, y + pad + th), font, font_scale, text_color, thick, cv2.LINE_AA)


def _check(image: np.ndarray, result: FrameResult) -> None:
    check_rgb(image, "draw_overlay: image")
    n = len(result.object_ids)
    for name in ("visible", "amodal"):
        masks = np.asarray(getattr(result, name))
        if n and masks.shape != (n,) + image.shape[:2]:
            raise InputError(
                f"draw_overlay: result.{name} has shape {masks.shape}, expected {(n,) + image.shape[:2]} "
                "(one mask per object at the image size)"
            )


def draw_overlay(
    image: np.ndarray,
    result: FrameResult,
    alpha: float = 0.45,
    hidden_alpha: float = 0.15,
    labels: bool = True,
) -> np.ndarray:
    """Draw a frame's amodal prediction over its image.

    Args:
        image: RGB uint8 (H, W, 3); not modified.
        result: the frame's prediction; masks bool (N, H, W) at the image size.
        alpha: opacity of the visible fill.
        hidden_alpha: opacity of the light tint under the hatching of hidden parts.
        labels: draw a small id label per object.

    Returns:
        RGB uint8 (H, W, 3): a new image.
    """
    _check(image, result)
    n = len(result.object_ids)
    if n == 0:
        return image.copy()
    h, w = image.shape[:2]
    scale = _scale(image)
    visible = np.asarray(result.visible, dtype=bool)
    amodal = np.asarray(result.amodal, dtype=bool)
    hidden = hidden_masks(result)
    ids = [int(i) for i in result.object_ids]
    colors = [track_color(i) for i in ids]

    # Back to front, so hatching of front objects' hidden parts stays on top.
    order = _back_to_front(ids, result.depth_order)
    spacing = max(6, int(round(9 * scale)))
    stripe = max(1, int(round(2 * scale)))
    hatch = (hatch_pattern(h, w, spacing, stripe, 1), hatch_pattern(h, w, spacing, stripe, -1))

    out = image.astype(np.float32)
    for k in order:
        _blend(out, visible[k], colors[k], alpha)
    for k in order:
        _blend(out, hidden[k], colors[k], hidden_alpha)
    for rank, k in enumerate(order):
        # Alternate stripe directions so overlapping hidden parts stay distinguishable.
        lines = np.logical_and(hidden[k], hatch[rank % 2])
        out[lines] = np.asarray(colors[k], dtype=np.float32)
    canvas = np.clip(out + 0.5, 0, 255).astype(np.uint8)

    thickness = max(2, int(round(2 * scale)))
    dash = max(4, int(round(6 * scale)))
    for k in order:
        if hidden[k].any():
            _dashed_contours(canvas, amodal[k], hidden[k], colors[k], thickness, dash)
    if labels:
        for k in order:
            _draw_label(canvas, visible[k], amodal[k], ids[k], float(result.occlusion[k]), colors[k], scale)
    return canvas


def _back_to_front(ids: Sequence[int], depth_order: Sequence[int]) -> List[int]:
    """Indices into `ids`, back-most first; objects missing from `depth_order` go to the back."""
    rank = {int(oid): r for r, oid in enumerate(depth_order)}
    return sorted(range(len(ids)), key=lambda k: -rank.get(ids[k], len(ids) + k))


def _draw_label(
    canvas: np.ndarray, visible: np.ndarray, amodal: np.ndarray, oid: int, occlusion: float, color: Color, scale: float
) -> None:
    """Label an object at the top-left of its visible part (its amodal mask when fully hidden)."""
    where = visible if visible.any() else amodal
    ys, xs = np.nonzero(where)
    if ys.size == 0:
        return
    top = int(ys.min())
    x = int(xs[ys == top].min())
    text = f"#{oid}" if occlusion < 0.005 else f"#{oid} {int(round(100 * occlusion))}%"
    _label(canvas, text, (x, top), color, scale)
