"""Edge-aware refinement of upsampled foreground probabilities (He et al.'s guided filter).

The visible-mask network predicts at half its input resolution; bilinear upsampling leaves
outlines a pixel or two off the object's true edge. The guided filter fits, in every
(2r+1)^2 window, the probability as a linear function of the image's grey level, so the
probability's edges snap to the image's edges where the two agree and stay smooth elsewhere.
Box filters only (OpenCV): about a millisecond for a 320x240 frame.
"""
from __future__ import annotations

import cv2
import numpy as np


def _box(x: np.ndarray, radius: int) -> np.ndarray:
    return cv2.boxFilter(x, -1, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REFLECT)


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Guided filter of `src` by `guide`.

    Args:
        guide: float32 (H, W) grey image in [0, 1].
        src: float32 (H, W) the map to filter (a probability).
        radius: window radius in pixels (>= 1).
        eps: regularisation: edges of `guide` weaker than about sqrt(eps) are smoothed over.

    Returns:
        float32 (H, W).
    """
    mean_i, mean_p = _box(guide, radius), _box(src, radius)
    var_i = _box(guide * guide, radius) - mean_i * mean_i
    a = (_box(guide * src, radius) - mean_i * mean_p) / (var_i + np.float32(eps))
    b = mean_p - a * mean_i
    return _box(a, radius) * guide + _box(b, radius)


def refine_probability(prob: np.ndarray, image: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """`guided_filter` of a probability map (H, W) by an RGB uint8 image (H, W, 3) of the same size."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32) * np.float32(1.0 / 255.0)
    return guided_filter(grey, prob.astype(np.float32, copy=False), radius, eps)
