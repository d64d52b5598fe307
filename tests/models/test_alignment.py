"""Alignment: DIS flow + robust similarity fit recovers a known object motion."""
import cv2
import numpy as np
import pytest

from amodal.errors import ConfigError
from amodal.models.alignment import IDENTITY, FlowEstimator, compute_flow, dis_flow, object_motion, track_motions


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
@pytest.mark.parametrize("fine", ["medium", "ultrafast_fine"])
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


@pytest.mark.parametrize("width, preset, match", [(16, "medium", "motion_width"), (160.0, "medium", "motion_width"),
                                                  (True, "medium", "motion_width"), (160, "slow", "motion_preset")])
def test_bad_flow_settings_are_config_errors(width, preset, match):
    with pytest.raises(ConfigError, match=match):
        FlowEstimator(width, preset)
