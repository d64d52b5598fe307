"""Clip-consistent augmentation: one draw for every frame and mask; visible stays inside amodal."""
import numpy as np

from amodal.data.transforms import ClipAugment, resize_clip, transform_motions
from amodal_fixtures import ellipse_video


def test_same_draw_hits_every_frame():
    rng = np.random.default_rng(0)
    frames, vis, _ = ellipse_video(1, (64, 48), 2, rng)
    clip = [frames[0]] * 4
    masks = [[vis[0, 0].astype(np.uint8)]] * 4
    aug = ClipAugment()
    for seed in range(5):
        out_f, out_m, g = aug(clip, masks, seed)
        for t in range(1, 4):
            assert np.array_equal(out_f[t], out_f[0])
            assert np.array_equal(out_m[t][0], out_m[0][0])
    a = aug(clip, masks, 123)
    b = aug(clip, masks, 123)
    assert np.array_equal(a[0][0], b[0][0]) and np.allclose(a[2], b[2])


def test_visible_inside_amodal_after_augmentation():
    rng = np.random.default_rng(1)
    frames, vis, amo = ellipse_video(3, (64, 48), 3, rng)
    masks = [[v.astype(np.uint8) for v in vis[:, t]] + [a.astype(np.uint8) for a in amo[:, t]] for t in range(3)]
    aug = ClipAugment()
    for seed in range(10):
        _, out_m, _ = aug(frames, masks, seed)
        for t in range(3):
            for k in range(3):
                assert not ((out_m[t][k] > 0) & ~(out_m[t][3 + k] > 0)).any()


def test_matrix_matches_the_geometric_transform():
    img = np.zeros((48, 64, 3), np.uint8)
    img[20, 30] = 255
    aug = ClipAugment(photometric=False)
    for seed in range(8):
        out, _, g = aug([img], [[]], seed)
        y, x = np.unravel_index(out[0][..., 0].argmax(), out[0].shape[:2])
        px = g @ np.array([30.0, 20.0, 1.0])
        if out[0].max() > 0:
            assert abs(px[0] - x) <= 1.5 and abs(px[1] - y) <= 1.5


def test_transform_motions_and_resize():
    a = np.array([[[1.0, 0.0, 2.0], [0.0, 1.0, 0.0]]], np.float32)
    flip = np.array([[-1.0, 0, 63], [0, 1, 0], [0, 0, 1]])
    moved = transform_motions(a, flip)
    np.testing.assert_allclose(moved[0], [[1, 0, -2], [0, 1, 0]], atol=1e-6)
    f, m, g = resize_clip([np.zeros((48, 64, 3), np.uint8)], [[np.zeros((48, 64), np.uint8)]], 32, 24)
    assert f[0].shape == (24, 32, 3) and m[0][0].shape == (24, 32) and g[0, 0] == 0.5


def test_zoom_range_scales_objects_and_is_checked():
    """`scale` sets the affine zoom: at 2x an object covers about 4x the pixels (when the affine is
    drawn, p=0.7); bad ranges are a ConfigError."""
    import pytest

    from amodal.errors import ConfigError

    mask = np.zeros((48, 64), np.uint8)
    mask[20:28, 28:36] = 1  # 64 px in the middle (stays inside the frame at 2x)
    frame = np.zeros((48, 64, 3), np.uint8)
    aug = ClipAugment(photometric=False, scale=(2.0, 2.0), translate=0.0)
    areas = {int(np.count_nonzero(aug([frame], [[mask]], seed)[1][0][0])) for seed in range(12)}
    assert 64 in areas  # affine not drawn
    assert all(a == 64 or 200 <= a <= 320 for a in areas) and max(areas) >= 200, areas
    for scale in [(0.0, 1.0), (2.0, 1.0), (1.0,)]:
        with pytest.raises(ConfigError):
            ClipAugment(scale=scale)
    with pytest.raises(ConfigError):
        ClipAugment(translate=1.5)
