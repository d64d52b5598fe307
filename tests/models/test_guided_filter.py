"""Guided-filter outline refinement: outlines snap to the image's edges; flat regions unchanged."""
import numpy as np
import torch

from amodal.models.guided_filter import guided_filter, refine_probability
from amodal.models.instances import DecodeParams, decode_instances


def test_a_constant_map_stays_constant():
    rng = np.random.default_rng(0)
    guide = rng.random((30, 40)).astype(np.float32)
    out = guided_filter(guide, np.full((30, 40), 0.7, np.float32), 3, 1e-4)
    np.testing.assert_allclose(out, 0.7, atol=1e-4)


def test_a_blurred_outline_snaps_to_the_image_edge():
    image = np.zeros((40, 60, 3), np.uint8)
    image[:, 30:] = 200  # the object's true edge: x = 30
    x = np.arange(60, dtype=np.float32)
    prob = np.tile(1.0 / (1.0 + np.exp(-(x - 31.5) / 1.5)), (40, 1)).astype(np.float32)  # 2 px off, soft
    before = (prob > 0.5)[20]
    after = (refine_probability(prob, image, 4, 1e-4) > 0.5)[20]
    assert np.flatnonzero(before)[0] == 32
    assert np.flatnonzero(after)[0] == 30


def _square_outputs(shift: int):
    """Network-like outputs at half resolution (20, 30) of a square whose edge is `shift` output
    pixels off the image's square (rows/cols 10..29 of the 40x60 image)."""
    fg = torch.full((20, 30), -6.0)
    fg[5 + shift:15 + shift, 5 + shift:15 + shift] = 6.0
    fg = torch.nn.functional.avg_pool2d(fg[None, None], 3, 1, 1, count_include_pad=False)[0, 0]  # soft edges
    heat = torch.full((20, 30), -6.0)
    heat[10, 10] = 6.0
    yy, xx = torch.meshgrid(torch.arange(20.0), torch.arange(30.0), indexing="ij")
    off = torch.stack([10 - yy, 10 - xx])
    return fg, torch.full((20, 30), -6.0), heat, off


def test_decoding_with_the_image_follows_its_edges():
    image = np.zeros((40, 60, 3), np.uint8)
    image[10:30, 10:30] = 220
    truth = image[..., 0] > 0
    fg, bnd, heat, off = _square_outputs(1)

    def iou(params, img):
        inst = decode_instances(fg, bnd, heat, off, (40, 60), params, img)
        assert len(inst) == 1
        return (inst[0].mask & truth).sum() / (inst[0].mask | truth).sum()

    plain = iou(DecodeParams(min_area=4), image)
    no_image = iou(DecodeParams(min_area=4, refine_radius=4), None)
    refined = iou(DecodeParams(min_area=4, refine_radius=4), image)
    assert no_image == plain  # nothing to refine against
    assert refined > plain + 0.1 and refined > 0.85, (plain, refined)  # 0.69 -> 0.87 when written
