"""Alignment: DIS flow + robust similarity fit recovers a known object motion."""
import cv2
import numpy as np

from amodal.models.alignment import IDENTITY, compute_flow, object_motion, track_motions


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
