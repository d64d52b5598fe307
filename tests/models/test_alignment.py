"""Alignment: optical flow (dense DIS or sparse Lucas-Kanade) + robust similarity fit recovers a known object motion."""
import cv2
import numpy as np
import pytest

from amodal.errors import ConfigError
from amodal.models.alignment import (IDENTITY, MOTION_PRESETS, FlowEstimator, SparseFlow, compute_flow, dis_flow,
                                    object_motion, object_motions, track_motions)


def _textured_blob(rng, size=(240, 320)):
    h, w = size
    tex = cv2.GaussianBlur((rng.random((h, w)) * 255).astype(np.uint8), (0, 0), 2)
    img = np.full((h, w, 3), 30, np.uint8)
    mask = np.zeros((h, w), np.uint8)
    cv2.ellipse(mask, (150, 120), (60, 40), 20, 0, 360, 1, -1)
    img[mask > 0] = np.dstack([tex, 255 - tex, tex // 2])[mask > 0]
    return img, mask.astype(bool)


def test_recovers_translation_and_rotation():
    rng = np.random.default_rng(0)
    img, mask = _textured_blob(rng)
    true = cv2.getRotationMatrix2D((150, 120), 4.0, 1.0)
    true[:, 2] += (5.0, -3.0)
    img2 = cv2.warpAffine(img, true, (320, 240), flags=cv2.INTER_LINEAR, borderValue=(30, 30, 30))
    m = object_motion(compute_flow(img, img2), mask)
    pts = np.argwhere(mask)[::50][:, ::-1].astype(np.float64)
    est = pts @ m[:, :2].T + m[:, 2]
    ref = pts @ true[:, :2].T + true[:, 2]
    assert np.abs(est - ref).mean() < 1.5


def test_fallbacks():
    rng = np.random.default_rng(1)
    img, _ = _textured_blob(rng)
    flow = compute_flow(img, img)
    empty = np.zeros(img.shape[:2], bool)
    np.testing.assert_allclose(object_motion(flow, empty), IDENTITY)
    prev = np.array([[1, 0, 3], [0, 1, -2]], np.float32)
    np.testing.assert_allclose(object_motion(flow, empty, prev), prev)


def test_track_motions_shape():
    rng = np.random.default_rng(2)
    img, mask = _textured_blob(rng, (48, 64))
    frames = [img, np.roll(img, 2, axis=1), np.roll(img, 4, axis=1)]
    masks = np.stack([np.stack([mask, np.roll(mask, 2, 1), np.roll(mask, 4, 1)])])
    out = track_motions(frames, masks)
    assert out.shape == (1, 2, 2, 3) and out.dtype == np.float32


def _object_behind_bar(t: int, seed: int = 0):
    """A textured ellipse moving right 3 px per frame, partly behind a textured bar moving left 5."""
    rng = np.random.default_rng(seed)
    h, w = 240, 320
    bg = cv2.GaussianBlur((rng.random((h, w)) * 255).astype(np.uint8), (0, 0), 3) // 3
    img = np.dstack([bg, bg, bg])
    layers = []
    for dx, shape in ((3, "ellipse"), (-5, "bar")):
        tex = cv2.GaussianBlur((rng.random((h, w)) * 255).astype(np.uint8), (0, 0), 2)
        tex = cv2.warpAffine(tex, np.float32([[1, 0, dx * t], [0, 1, 0]]), (w, h))
        m = np.zeros((h, w), np.uint8)
        if shape == "ellipse":
            cv2.ellipse(m, (140 + dx * t, 120), (50, 30), 0, 0, 360, 1, -1)
        else:
            m[60:180, 170 + dx * t: 210 + dx * t] = 1
        img[m > 0] = np.dstack([tex, 255 - tex, tex // 2])[m > 0]
        layers.append(m > 0)
    return img, layers[0] & ~layers[1]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("fine", ["medium", "ultrafast_fine", "lk"])
def test_finer_flow_follows_a_partly_hidden_object_not_its_occluder(seed, fine):
    (a, visible), (b, _) = _object_behind_bar(0, seed), _object_behind_bar(1, seed)
    pts = np.argwhere(visible)[::40][:, ::-1].astype(np.float64)
    errors = {}
    for width, preset in ((160, "ultrafast"), (320, fine)):
        m = object_motion(FlowEstimator(width, preset)(a, b), visible)
        errors[preset] = np.abs(pts @ m[:, :2].T + m[:, 2] - (pts + (3.0, 0.0))).mean()
    assert errors[fine] < 1.0  # pixels
    assert errors["ultrafast"] > 2 * errors[fine]  # the coarse flow borrows the bar's motion


def test_presets_are_opencv_presets_down_to_their_finest_scale():
    assert [dis_flow(p).getFinestScale() for p in ("ultrafast", "ultrafast_fine", "fast", "medium")] == [2, 1, 2, 1]
    assert dis_flow("ultrafast_fine").getPatchStride() == dis_flow("ultrafast").getPatchStride()


def test_medium_fast_is_medium_with_fewer_iterations():
    fast, medium = dis_flow("medium_fast"), dis_flow("medium")
    same = ("FinestScale", "PatchSize", "PatchStride", "UseMeanNormalization", "UseSpatialPropagation")
    assert [getattr(fast, "get" + k)() for k in same] == [getattr(medium, "get" + k)() for k in same]
    assert (fast.getGradientDescentIterations(), fast.getVariationalRefinementIterations()) == (12, 2)
    assert (medium.getGradientDescentIterations(), medium.getVariationalRefinementIterations()) == (25, 5)


@pytest.mark.parametrize("width, preset, match", [(16, "medium", "motion_width"), (160.0, "medium", "motion_width"),
                                                  (True, "medium", "motion_width"), (160, "slow", "motion_preset")])
def test_bad_flow_settings_are_config_errors(width, preset, match):
    with pytest.raises(ConfigError, match=match):
        FlowEstimator(width, preset)


@pytest.mark.parametrize("preset", MOTION_PRESETS)
def test_every_method_recovers_translation_and_rotation(preset):
    rng = np.random.default_rng(3)
    img, mask = _textured_blob(rng)
    true = cv2.getRotationMatrix2D((150, 120), -3.0, 1.02)
    true[:, 2] += (-4.0, 2.0)
    img2 = cv2.warpAffine(img, true, (320, 240), flags=cv2.INTER_LINEAR, borderValue=(30, 30, 30))
    m = object_motion(FlowEstimator(320, preset)(img, img2), mask)
    pts = np.argwhere(mask)[::50][:, ::-1].astype(np.float64)
    assert np.abs(pts @ m[:, :2].T + m[:, 2] - (pts @ true[:, :2].T + true[:, 2])).mean() < 1.0


def test_lk_follows_a_large_motion_on_a_reduced_frame():
    """A 640-pixel frame moved 40 pixels: 20 working pixels at width 320, within the pyramid's reach."""
    rng = np.random.default_rng(4)
    img, mask = _textured_blob(rng, (240, 320))
    img, mask = cv2.resize(img, (640, 480)), cv2.resize(mask.view(np.uint8), (640, 480)) > 0
    img2 = np.full_like(img, 30)
    img2[:, 40:] = img[:, :-40]
    m = object_motion(FlowEstimator(320, "lk")(img, img2), mask)
    np.testing.assert_allclose(m, [[1, 0, 40], [0, 1, 0]], atol=0.6)


def test_lk_flow_follows_points_only_on_demand():
    rng = np.random.default_rng(5)
    img, _ = _textured_blob(rng)
    flow = FlowEstimator(320, "lk")(img, np.roll(img, 2, axis=0))
    assert isinstance(flow, SparseFlow) and flow.shape == (240, 320) and flow.scale == (1.0, 1.0)
    moved, ok = flow.track(np.zeros((0, 2), np.float32))
    assert moved.shape == (0, 2) and ok.shape == (0,)
    moved, ok = flow.track(np.array([[150.0, 120.0], [160.0, 110.0]], np.float32))
    assert ok.all()
    np.testing.assert_allclose(moved, [[150.0, 122.0], [160.0, 112.0]], atol=0.3)


@pytest.mark.parametrize("preset", ["ultrafast", "lk"])
def test_motions_of_several_objects_at_once_equal_one_at_a_time(preset):
    rng = np.random.default_rng(6)
    img, mask = _textured_blob(rng)
    img2 = np.roll(img, (3, -2), axis=(0, 1))
    other = np.zeros_like(mask)
    other[10:60, 10:80] = True
    tiny = np.zeros_like(mask)
    tiny[200, 300] = True
    prev = np.array([[1, 0, 5], [0, 1, 5]], np.float32)
    flow = FlowEstimator(320, preset)(img, img2)
    masks, prevs = [mask, None, other, tiny], [None, prev, None, prev]
    together = object_motions(flow, masks, prevs)
    alone = [object_motion(flow, m, p) for m, p in zip(masks, prevs)]
    for a, b in zip(together, alone):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(together[1], prev)  # not seen: its previous motion
    np.testing.assert_array_equal(together[3], prev)  # too small to fit: its previous motion
    assert object_motions(flow, [], []) == []


@pytest.mark.parametrize("preset", ["ultrafast_fine", "lk"])
def test_a_fit_that_zooms_by_more_than_the_scale_step_is_rejected(preset):
    rng = np.random.default_rng(7)
    img, mask = _textured_blob(rng)
    prev = np.array([[1, 0, 2], [0, 1, -1]], np.float32)
    fits = {}
    for zoom in (1.05, 1.3):
        img2 = cv2.warpAffine(img, cv2.getRotationMatrix2D((150, 120), 0.0, zoom), (320, 240),
                              flags=cv2.INTER_LINEAR, borderValue=(30, 30, 30))
        fits[zoom] = object_motion(FlowEstimator(320, preset)(img, img2), mask, prev)
    assert abs(np.sqrt(np.linalg.det(fits[1.05][:, :2].astype(np.float64))) - 1.05) < 0.01  # a plausible zoom is kept
    np.testing.assert_array_equal(fits[1.3], prev)  # 30 % in one frame: a bad fit, the previous motion stays
