"""PCNet-M: eraser synthesis, loss weights, network shapes, completion of a frame."""
import numpy as np
import pytest
import torch

from amodal.baselines.config import CONFIG_DIR, load_baseline_config
from amodal.baselines.pcnet import PCNetM
from amodal.baselines.pcnet_data import PCNetBatch, crop_sample, loss_weights, place_eraser, synthesize
from amodal.baselines.pcnet_runner import complete_frame
from amodal.baselines.pcnet_train import pcnet_loss


def _cfg():
    return load_baseline_config("pcnet", CONFIG_DIR / "tiny_pcnet.yaml")


def _rect(shape, r0, r1, c0, c1):
    m = np.zeros(shape, bool)
    m[r0:r1, c0:c1] = True
    return m


def test_eraser_in_front_erases_target_pixels_under_it():
    target = _rect((6, 6), 1, 5, 1, 5)
    eraser = _rect((6, 6), 0, 3, 3, 6)
    observed, eraser_in = synthesize(target, eraser, front=True)
    expected = target.copy()
    expected[1:3, 3:5] = False
    assert np.array_equal(observed, expected)
    assert np.array_equal(eraser_in, eraser)


def test_eraser_behind_leaves_target_and_is_cut_by_it():
    target = _rect((6, 6), 1, 5, 1, 5)
    eraser = _rect((6, 6), 0, 3, 3, 6)
    observed, eraser_in = synthesize(target, eraser, front=False)
    assert np.array_equal(observed, target)
    expected = eraser.copy()
    expected[1:3, 3:5] = False
    assert np.array_equal(eraser_in, expected)
    assert not (observed & eraser_in).any()


def test_loss_weights_by_hand():
    eraser = _rect((3, 3), 0, 1, 0, 3)
    others = _rect((3, 3), 2, 3, 2, 3)
    w = loss_weights(eraser, others, 5.0)
    assert w.tolist() == [[5, 5, 5], [1, 1, 1], [1, 1, 0]]


def test_place_eraser_respects_overlap():
    rng = np.random.default_rng(0)
    target = _rect((60, 60), 20, 40, 20, 40)
    tight = np.ones((10, 14), bool)
    for _ in range(20):
        e = place_eraser(target, tight, rng, (0.4, 1.0))
        assert e is not None
        ratio = (e & target).sum() / e.sum()
        assert 0.4 <= ratio <= 1.0
        assert (target & ~e).any()


def test_crop_is_centred_on_the_observed_mask_not_the_target():
    target = _rect((64, 64), 10, 30, 10, 50)
    eraser = _rect((64, 64), 0, 64, 30, 64)
    observed, eraser_in = synthesize(target, eraser, True)
    w = loss_weights(eraser_in, np.zeros_like(target), 5.0)
    inputs, tgt, weight = crop_sample(observed, eraser_in, target, w, 16, 2.0)
    assert inputs.shape == (2, 16, 16) and tgt.shape == (1, 16, 16) and weight.shape == (1, 16, 16)
    # observed box: rows 10-30, cols 10-30 (20x20) -> crop 40x40 at (0, 0): target cols 30-50 are
    # partly outside; the visible part stays centred.
    assert inputs[0].sum() > 0
    assert tgt.sum() > inputs[0].round().sum()  # the target extends beyond the observed mask


def test_network_shapes_and_gradients():
    cfg = _cfg()
    net = PCNetM(cfg.model)
    x = torch.rand(3, 2, cfg.model.crop_size, cfg.model.crop_size)
    out = net(x)
    assert out.shape == (3, 1, cfg.model.crop_size, cfg.model.crop_size)
    out.mean().backward()
    assert all(p.grad is not None for p in net.parameters())


def test_no_gradient_on_real_other_objects():
    s = 8
    others = _rect((s, s), 0, 4, 0, 4)
    eraser = _rect((s, s), 4, 8, 4, 8)
    w = torch.from_numpy(loss_weights(eraser, others, 5.0))[None, None]
    logits = torch.randn(1, 1, s, s, requires_grad=True)
    batch = PCNetBatch(inputs=torch.zeros(1, 2, s, s), target=torch.ones(1, 1, s, s), weight=w)
    pcnet_loss(logits, batch)["total"].backward()
    g = logits.grad[0, 0].numpy()
    assert np.all(g[others] == 0)
    assert np.all(g[~others] != 0)
    # pixels in the eraser get 5x the gradient of equal pixels elsewhere
    logits2 = torch.zeros(1, 1, s, s, requires_grad=True)
    pcnet_loss(logits2, batch)["total"].backward()
    g2 = logits2.grad[0, 0].numpy()
    assert g2[5, 5] == pytest.approx(5 * g2[0, 6])


def test_complete_frame_only_adds_inside_occluders():
    torch.manual_seed(0)
    cfg = _cfg()
    net = PCNetM(cfg.model).eval()
    with torch.no_grad():
        net.head.bias.fill_(5.0)  # predicts "object" everywhere in the crop
    a = _rect((40, 40), 10, 30, 5, 20)
    b = _rect((40, 40), 10, 30, 20, 30)
    far = _rect((40, 40), 0, 3, 36, 40)
    vis = np.stack([a, b, far])
    amodal = complete_frame(net, vis)
    assert amodal.shape == vis.shape and amodal.dtype == bool
    assert np.all(amodal >= vis)
    added = amodal & ~vis
    others = [vis[[1, 2]].any(0), vis[[0, 2]].any(0), vis[[0, 1]].any(0)]
    for k in range(3):
        assert not (added[k] & ~others[k]).any()
    assert not added[2].any()  # touches nobody: unchanged
