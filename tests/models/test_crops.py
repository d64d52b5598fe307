"""Crops: boxes, matrices, OpenCV and torch extraction agree, paste-back round trip."""
import numpy as np
import torch

from amodal.models.crops import (crop_matrix, crop_tensor, extract_crops, extract_plane_crops, mask_box, paste_crops,
                                 paste_tensor, square_from_box, union_box, warp_box)


def _mask():
    m = np.zeros((48, 64), bool)
    m[10:30, 20:44] = True
    return m


def test_box_and_square():
    box = mask_box(_mask())
    assert box == (20.0, 10.0, 43.0, 29.0)
    cx, cy, side = square_from_box(box, 1.5, 8)
    assert (cx, cy) == (31.5, 19.5) and side == 36.0
    assert mask_box(np.zeros((4, 4), bool)) is None
    assert union_box([None, (0, 0, 1, 1), (2, 3, 4, 5)]) == (0, 0, 4, 5)
    shift = np.array([[1, 0, 5], [0, 1, -2]], np.float64)
    assert warp_box((0, 0, 1, 1), shift) == (5, -2, 6, -1)


def test_paste_round_trip():
    m = _mask()
    mat = crop_matrix(square_from_box(mask_box(m), 1.5, 8), 32)[None]
    crop = extract_crops([m.astype(np.float32)], mat, 32)[:, 0]
    back = paste_crops(crop * 2 - 1, mat, 48, 64, fill=-1.0)[0] > 0
    iou = (back & m).sum() / (back | m).sum()
    assert iou > 0.9


def test_cv2_and_torch_agree():
    m = _mask().astype(np.float32)
    mat = crop_matrix((30.2, 21.7, 40.0), 32)[None]
    a = extract_crops([m], mat, 32)[0, 0]
    b = crop_tensor(torch.from_numpy(m)[None, None], torch.from_numpy(mat), 32)[0, 0].numpy()
    assert np.abs(a - b).max() < 1e-3
    back = paste_tensor(torch.from_numpy(b)[None, None], torch.from_numpy(mat), 48, 64)[0, 0].numpy()
    inside = np.abs(back - m)[14:26, 24:40]
    assert inside.max() < 0.3


def test_uint8_crops_are_rescaled():
    img = np.full((20, 20, 3), 255, np.uint8)
    out = extract_crops([img], crop_matrix((10, 10, 10), 8)[None], 8)
    assert out.shape == (1, 3, 8, 8) and abs(out.max() - 1.0) < 1e-6


def test_paste_into_matches_full_paste_inside_the_crop():
    from amodal.models.crops import paste_crops_into

    rng = np.random.default_rng(0)
    crops = rng.normal(size=(2, 16, 16)).astype(np.float32)
    mats = np.stack([crop_matrix((20.3, 15.2, 24.0), 16), crop_matrix((60.0, 40.0, 30.0), 16)])
    full = paste_crops(crops, mats, 48, 64, fill=-30.0)
    out = np.full((3, 48, 64), -30.0, np.float32)
    paste_crops_into(out, crops, mats, [0, 2])
    for i, r in enumerate([0, 2]):
        inside = full[i] > -29
        np.testing.assert_allclose(out[r][inside], full[i][inside], atol=1e-4)
    assert (out[1] == -30).all()


def test_plane_crops_equal_crops_of_the_stacked_image():
    rng = np.random.default_rng(3)
    vis = rng.random((3, 48, 64)) > 0.6
    free = (~vis.any(0)).astype(np.uint8) * 255
    mats = np.stack([crop_matrix((rng.uniform(-10, 74), rng.uniform(-10, 58), rng.uniform(8, 90)), 16)
                     for _ in range(3)])
    planes = [(vis[i].astype(np.uint8) * 255, vis[(i + 1) % 3].astype(np.uint8) * 255, free) for i in range(3)]
    got = extract_plane_crops(planes, mats, 16)
    want = extract_crops([np.dstack(p) for p in planes], mats, 16)
    assert got.shape == (3, 3, 16, 16) and got.dtype == np.float32
    assert np.array_equal(got, want)
    assert extract_plane_crops([], mats[:0], 16).shape == (0, 1, 16, 16)


def test_mask_box_random_masks():
    rng = np.random.default_rng(4)
    for _ in range(50):
        m = rng.random((20, 30)) > rng.uniform(0.9, 1.0)
        ys, xs = np.nonzero(m)
        want = None if ys.size == 0 else (float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()))
        assert mask_box(m) == want
