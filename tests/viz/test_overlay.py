"""Overlay drawing: colours per track, hatching only in hidden pixels, input checks."""
import numpy as np
import pytest

from amodal.errors import InputError
from amodal.types import FrameResult
from amodal.viz.overlay import PALETTE, draw_overlay, hatch_pattern, track_color


def _scene(h=120, w=160):
    """Object 7 (back, a wide box) partly hidden by object 3 (front, a tall box)."""
    a7 = np.zeros((h, w), bool)
    a7[40:80, 20:120] = True
    v3 = np.zeros((h, w), bool)
    v3[20:100, 70:100] = True
    v7 = a7 & ~v3
    image = np.full((h, w, 3), 90, np.uint8)
    result = FrameResult(
        frame_index=0, object_ids=[7, 3], visible=np.stack([v7, v3]), amodal=np.stack([a7, v3]),
        scores=np.ones(2), occlusion=np.array([1 - v7.sum() / a7.sum(), 0.0]), depth_order=[3, 7],
    )
    return image, result


def test_track_color_is_stable_and_palette_indexed():
    assert track_color(3) == tuple(int(c) for c in PALETTE[3])
    assert track_color(3 + len(PALETTE)) == track_color(3)
    assert track_color(1) != track_color(2)


def test_visible_fill_uses_track_colour():
    image, result = _scene()
    out = draw_overlay(image, result, labels=False)
    for oid, (y, x) in ((7, (60, 30)), (3, (25, 85))):  # pixels well inside each visible part
        pixel = out[y, x].astype(float)
        expected = 0.55 * image[y, x] + 0.45 * np.asarray(track_color(oid), float)
        assert np.abs(pixel - expected).max() <= 1.0


def test_hatching_only_in_hidden_pixels():
    image, result = _scene()
    out = draw_overlay(image, result, labels=False)
    color7 = np.asarray(track_color(7))
    hidden7 = result.amodal[0] & ~result.visible[0]
    exact = np.all(out == color7, axis=-1)
    # Hatch lines (exact track colour) exist in the hidden part ...
    assert exact[hidden7].sum() > 0.1 * hidden7.sum()
    # ... and nowhere away from it (the dashed contour may touch the hidden part's border).
    from scipy.ndimage import binary_dilation

    near_hidden = binary_dilation(hidden7, iterations=4)
    assert not exact[~near_hidden].any()
    # Background away from all objects is unchanged.
    anywhere = binary_dilation(result.amodal.any(0), iterations=4)
    assert np.array_equal(out[~anywhere], image[~anywhere])


def test_no_objects_returns_copy_and_input_unchanged():
    image, result = _scene()
    before = image.copy()
    draw_overlay(image, result)
    assert np.array_equal(image, before)
    empty = FrameResult(0, [], np.zeros((0, 120, 160), bool), np.zeros((0, 120, 160), bool), np.zeros(0), np.zeros(0))
    out = draw_overlay(image, empty)
    assert np.array_equal(out, image) and out is not image


def test_labels_drawn_near_objects():
    image, result = _scene()
    with_labels = draw_overlay(image, result, labels=True)
    without = draw_overlay(image, result, labels=False)
    assert not np.array_equal(with_labels, without)


def test_bad_inputs_raise():
    image, result = _scene()
    with pytest.raises(InputError, match="RGB uint8"):
        draw_overlay(image.astype(np.float32), result)
    with pytest.raises(InputError, match="result.visible"):
        draw_overlay(image[:60], result)


def test_hatch_pattern_directions_differ():
    a, b = hatch_pattern(20, 20, 6, 2, 1), hatch_pattern(20, 20, 6, 2, -1)
    assert a.any() and b.any() and not np.array_equal(a, b)
