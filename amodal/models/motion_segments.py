"""Independently moving regions of a frame: optical flow minus the camera's motion.

Dense DIS optical flow from the current frame to the previous one (OpenCV, `medium` preset) on
frames reduced to at most `max_width` pixels wide; a homography fitted to it with RANSAC is the
camera's motion (pan, zoom, a rotating or translating camera over a far or flat scene); what the
homography does not explain (the residual flow) is the objects' own motion. The residual's
magnitude, snapped to the image's edges by a guided filter, is thresholded, cleaned by opening and
closing, and split into connected regions.

Nothing is learnt: it works on any footage where the objects move against their background, and
finds nothing that stands still (or moves with the camera). `amodal.models.detector` combines it
with the visible-mask network.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import cv2
import numpy as np

from amodal.errors import InputError
from amodal.models.alignment import reduced_size, to_gray_small
from amodal.models.guided_filter import refine_probability
from amodal.utils.images import check_rgb

OPEN_KERNEL = 5  # working pixels: removes flow speckle
CLOSE_KERNEL = 9  # working pixels: joins a region cut by a thin band of weak motion
REFINE_RADIUS_320 = 4  # guided-filter radius at 320 working pixels wide (scaled with the width)
REFINE_EPS = 1e-3
GRID_CELLS = 80  # flow samples per row for the homography fit
MIN_FLOW_SIDE = 32  # DIS refuses some images with a side under this: smaller ones are padded for it


def dense_flow(dis, image: np.ndarray, other: np.ndarray) -> np.ndarray:
    """DIS flow (h, w, 2) float32 from grey uint8 `image` (h, w) to `other`, at `image`'s pixels.

    Frames with a side under MIN_FLOW_SIDE (a thin strip, a tiny frame) are padded by reflection
    for DIS and the flow cropped back.
    """
    h, w = image.shape
    pad_y, pad_x = max(0, MIN_FLOW_SIDE - h), max(0, MIN_FLOW_SIDE - w)
    if pad_y or pad_x:
        image = cv2.copyMakeBorder(image, 0, pad_y, 0, pad_x, cv2.BORDER_REFLECT)
        other = cv2.copyMakeBorder(other, 0, pad_y, 0, pad_x, cv2.BORDER_REFLECT)
    return dis.calc(image, other, None)[:h, :w]


def camera_homography(flow: np.ndarray, cells: int = GRID_CELLS) -> Optional[np.ndarray]:
    """Homography (3, 3) that best explains a flow field (h, w, 2) (RANSAC), or None if none fits.

    The flow is sampled on a grid of about `cells` points per row. The inlier tolerance is half a
    pixel at 160 pixels wide, scaled with the width.
    """
    h, w = flow.shape[:2]
    step = max(1, w // cells)
    ys, xs = np.mgrid[0:h:step, 0:w:step]
    src = np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float32)
    dst = src + flow[ys.ravel(), xs.ravel()]
    if len(src) < 4:
        return None
    hom, _ = cv2.findHomography(src, dst, cv2.RANSAC, 0.5 * w / 160.0)
    return hom


def camera_residual(flow: np.ndarray, cells: int = GRID_CELLS) -> np.ndarray:
    """The flow (h, w, 2) float32 that the camera homography (fitted on about `cells` samples per
    row) leaves unexplained, (h, w, 2) float32 (the flow minus its median where no homography fits)."""
    h, w = flow.shape[:2]
    hom = camera_homography(flow, cells)
    if hom is None:
        return (flow - np.median(flow.reshape(-1, 2), axis=0)).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    grid = np.stack([xx, yy], -1)
    moved = cv2.perspectiveTransform(grid.reshape(-1, 1, 2), hom).reshape(h, w, 2)
    return (grid + flow - moved).astype(np.float32)


def residual_motion(flow: np.ndarray) -> np.ndarray:
    """Magnitude (h, w) float32 of `camera_residual(flow)`."""
    return np.linalg.norm(camera_residual(flow), axis=-1)


class MotionSegmenter:
    """Regions of a frame that move on their own (see the module docstring).

    Args:
        threshold: residual motion, in working pixels per frame, above which a pixel moves.
        max_width: frames wider than this are reduced to it for the flow (the working resolution).
        min_area: smallest region kept, as a fraction of the frame.
    """

    def __init__(self, threshold: float = 1.0, max_width: int = 640, min_area: float = 0.002) -> None:
        self.threshold = float(threshold)
        self.max_width = int(max_width)
        self.min_area = float(min_area)
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)

    def working_size(self, height: int, width: int) -> Tuple[int, int]:
        """(w, h) the flow is computed at (`amodal.models.alignment.reduced_size`)."""
        h, w = reduced_size(height, width, self.max_width)
        return w, h

    def moving(self, image: np.ndarray, previous: np.ndarray) -> np.ndarray:
        """bool (h, w) moving pixels at the working resolution.

        Args:
            image, previous: RGB uint8 (H, W, 3) frames of one size, `previous` the one before.
        """
        check_rgb(image, "frame")
        check_rgb(previous, "previous frame")
        if image.shape != previous.shape:
            raise InputError(f"previous frame {previous.shape} and frame {image.shape} differ in size")
        grey = to_gray_small(image, self.max_width)
        size = grey.shape[::-1]
        flow = dense_flow(self._dis, grey, to_gray_small(previous, self.max_width))  # at the current frame's pixels
        prob = np.clip(residual_motion(flow) / (2.0 * self.threshold), 0.0, 1.0)
        small = image if image.shape[1::-1] == size else cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        radius = max(1, int(round(REFINE_RADIUS_320 * size[0] / 320.0)))
        mask = (refine_probability(prob, small, radius, REFINE_EPS) > 0.5).astype(np.uint8)
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((OPEN_KERNEL, OPEN_KERNEL), np.uint8))
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((CLOSE_KERNEL, CLOSE_KERNEL), np.uint8))
        return mask > 0

    def segments(self, image: np.ndarray, previous: np.ndarray) -> List[np.ndarray]:
        """Moving regions, bool (H, W) each at the frame's resolution, largest first."""
        H, W = image.shape[:2]
        mask = self.moving(image, previous).astype(np.uint8)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        keep = [k for k in range(1, count) if stats[k, cv2.CC_STAT_AREA] >= self.min_area * mask.size]
        keep.sort(key=lambda k: -stats[k, cv2.CC_STAT_AREA])
        lut = np.zeros(count, np.uint16)  # kept regions -> 1..K (K <= 1 / min_area), the rest -> 0
        lut[keep] = np.arange(1, len(keep) + 1)
        regions = lut[labels]
        if regions.shape != (H, W):
            regions = cv2.resize(regions, (W, H), interpolation=cv2.INTER_NEAREST)
        return [regions == k for k in range(1, len(keep) + 1)]
