"""MotionSegmenter: finds what moves against a panning camera, nothing in a still or merely panning scene."""
import numpy as np
import pytest

from amodal.errors import InputError
from amodal.models.motion_segments import MotionSegmenter, camera_residual, residual_motion
from amodal_fixtures import panning_scene


def test_the_moving_object_is_found_against_a_panning_camera():
    seg = MotionSegmenter()
    (prev, _), (cur, mask) = panning_scene(3), panning_scene(4)
    regions = seg.segments(cur, prev)
    assert len(regions) == 1
    assert regions[0].shape == mask.shape and regions[0].dtype == bool
    iou = (regions[0] & mask).sum() / (regions[0] | mask).sum()
    assert iou > 0.6


def test_nothing_moves_in_a_still_or_merely_panningpanning_scene():
    seg = MotionSegmenter()
    still, _ = panning_scene(3)
    assert seg.segments(still, still) == []
    (prev, _), (cur, _) = panning_scene(3, with_object=False), panning_scene(4, with_object=False)
    assert seg.segments(cur, prev) == []


def test_residual_of_a_pure_homography_flow_is_zero():
    h, w = 40, 60
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    flow = np.stack([0.02 * xx + 1.5, -0.01 * yy + 0.5], -1).astype(np.float32)  # zoom + shift
    assert residual_motion(flow).max() < 0.05
    flow[10:20, 10:20] += 3.0
    res = residual_motion(flow)
    assert res[12:18, 12:18].min() > 2.5 and np.median(res) < 0.05


@pytest.mark.parametrize("cells", [80, 40])
def test_a_sparser_grid_fits_the_same_camera_homography(cells):
    h, w = 240, 320
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    flow = np.stack([0.03 * xx - 0.01 * yy + 2.0, 0.01 * xx + 0.03 * yy - 1.0], -1).astype(np.float32)
    flow[60:140, 100:200] += (6.0, -4.0)  # an object moving on its own: 10 % of the frame, outliers
    res = np.linalg.norm(camera_residual(flow, cells), axis=-1)
    inside = np.zeros((h, w), bool)
    inside[60:140, 100:200] = True
    assert res[~inside].max() < 0.05 and np.abs(res[inside] - np.hypot(6.0, 4.0)).max() < 0.05


def test_wide_frames_are_reduced_and_regions_come_back_at_full_size():
    seg = MotionSegmenter(max_width=80)
    (prev, _), (cur, mask) = panning_scene(3), panning_scene(4)
    assert seg.working_size(120, 160) == (80, 60)
    regions = seg.segments(cur, prev)
    assert regions and regions[0].shape == (120, 160)
    assert (regions[0] & mask).sum() > 0.5 * mask.sum()


@pytest.mark.parametrize("height, width", [(16, 16), (16, 1280), (16, 2000), (1280, 16), (12, 700)])
def test_tiny_and_thin_frames_work(height, width):
    rng = np.random.default_rng(0)
    prev = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    regions = MotionSegmenter().segments(np.roll(prev, 1, axis=1), prev)
    assert all(r.shape == (height, width) for r in regions)


def test_bad_frames_are_refused():
    seg = MotionSegmenter()
    frame, _ = panning_scene(0)
    with pytest.raises(InputError, match="differ in size"):
        seg.segments(frame, frame[:60])
    with pytest.raises(InputError, match="previous frame"):
        seg.segments(frame, frame.astype(np.float32))
