"""SaVos: network shapes, the amodal-flow warp, fusion, the loss's don't-care pixels, causality."""
import numpy as np
import pytest
import torch

from amodal.baselines.config import CONFIG_DIR, load_baseline_config
from amodal.baselines.geometry import crop
from amodal.baselines.savos_core import predict_track, predict_window
from amodal.baselines.savos_data import SaVosSample, make_sample, stack_samples
from amodal.baselines.savos_model import SaVosNet
from amodal.baselines.savos_train import savos_loss
from amodal.baselines.savos_warp import amodal_flow, fuse, warp_patch
from amodal.errors import ConfigError


def _cfg():
    return load_baseline_config("savos", CONFIG_DIR / "tiny_savos.yaml")


def _square(h, w, r0, c0, side):
    m = np.zeros((h, w), np.float32)
    m[r0:r0 + side, c0:c0 + side] = 1
    return m


def _sample(cfg, length=5, hw=(24, 32), seed=0):
    rng = np.random.default_rng(seed)
    h, w = hw
    images = rng.integers(0, 255, (length, h, w, 3), dtype=np.uint8)
    vis = np.stack([_square(h, w, 6, 4 + 2 * t, 8) for t in range(length)])
    others = np.stack([_square(h, w, 6, 14, 4) * (1 - vis[t]) for t in range(length)])
    ff = np.zeros((length, 2, h, w), np.float32)
    ff[:-1, 0] = 2.0
    fb = np.zeros((length, 2, h, w), np.float32)
    fb[1:, 0] = -2.0
    return make_sample(images, vis, others, ff, fb, cfg.model)


def test_model_shapes_and_gradients():
    cfg = _cfg().model
    net = SaVosNet(cfg)
    x = torch.randn(2, 3, 6, cfg.patch_height, cfg.patch_width)
    out = net(x)
    for key, c in (("mask", 1), ("fusion", 1), ("residual", 2)):
        assert out[key].shape == (2, 3, c, cfg.patch_height, cfg.patch_width)
    sum(v.sum() for v in out.values()).backward()
    assert net.encoder[0][0].weight.grad is not None and net.vis_encoder[0][0].weight.grad is not None


def test_mask_decoder_reads_the_visible_mask_channel():
    torch.manual_seed(0)
    cfg = _cfg().model
    net = SaVosNet(cfg).eval()
    x = torch.randn(1, 2, 6, cfg.patch_height, cfg.patch_width)
    hidden, _ = net.temporal(net.encode(x))
    a = net.decode(hidden, x[:, :, 3:4])["mask"]
    x2 = x.clone()
    x2[:, :, 4:6] += 3.0  # flow channels do not reach the decoder's embedding directly
    b = net.decode(hidden, x2[:, :, 3:4])["mask"]
    c = net.decode(hidden, x[:, :, 3:4] + 1.0)["mask"]
    assert torch.equal(a, b) and not torch.allclose(a, c)


def test_bad_patch_size_is_a_config_error():
    cfg = _cfg().model
    cfg.patch_height = 10
    with pytest.raises(ConfigError, match="divisible"):
        SaVosNet(cfg)


def test_warp_moves_a_square_by_a_known_flow():
    h, w = 40, 48
    vis = torch.from_numpy(_square(h, w, 10, 8, 10))[None, None]
    flow = torch.zeros(1, 2, h, w)
    flow[:, 0], flow[:, 1] = 5.0, 3.0
    box = torch.tensor([[4.0, 6.0, 18.0, 18.0]])
    patch = crop(vis, box, (18, 18))
    field = amodal_flow(vis, flow, torch.zeros(1, 2, 18, 18), box)
    moved = warp_patch(patch, box, field)[0, 0].numpy() > 0.5
    expected = _square(h, w, 13, 13, 10) > 0.5
    assert np.array_equal(moved, expected)


def test_amodal_flow_uses_the_mean_visible_flow_outside_the_mask():
    h, w = 8, 8
    vis = torch.from_numpy(_square(h, w, 2, 2, 2))[None, None]
    flow = torch.full((1, 2, h, w), -7.0)
    flow[:, :, 2:4, 2:4] = torch.tensor([1.0, 2.0]).view(1, 2, 1, 1)
    flow[0, 0, 2, 2] = 3.0  # mean x inside = (3 + 1 + 1 + 1) / 4 = 1.5
    field = amodal_flow(vis, flow, torch.zeros(1, 2, 4, 4), torch.tensor([[0.0, 0.0, 8.0, 8.0]]))
    assert field[0, :, 0, 0].tolist() == pytest.approx([1.5, 2.0])
    assert field[0, :, 2, 2].tolist() == pytest.approx([3.0, 2.0])


def test_fusion_is_a_softmax_over_valid_predictions():
    probs = torch.tensor([0.2, 0.8]).view(2, 1, 1, 1, 1)
    logits = torch.tensor([0.0, float(np.log(3.0))]).view(2, 1, 1, 1, 1)
    both = fuse(probs, logits, torch.tensor([[True], [True]]))
    assert float(both) == pytest.approx(0.25 * 0.2 + 0.75 * 0.8)
    one = fuse(probs, logits, torch.tensor([[True], [False]]))
    assert float(one) == pytest.approx(0.2)


def test_loss_ignores_other_objects_pixels():
    cfg = _cfg()
    batch = stack_samples([_sample(cfg)])
    torch.manual_seed(0)
    pred = predict_window(SaVosNet(cfg.model), batch)
    fused = pred["fused"].detach().clone().requires_grad_(True)
    pred["fused"] = fused
    savos_loss(pred, batch, 0.0)["total"].backward()
    others = batch.others > 0.5
    assert others.any()
    assert torch.all(fused.grad[others] == 0)
    assert torch.any(fused.grad[~others] != 0)


def test_frame_s_is_never_seen_by_its_own_prediction():
    cfg = _cfg()
    torch.manual_seed(0)
    net = SaVosNet(cfg.model).eval()
    s = _sample(cfg)
    base = predict_window(net, stack_samples([s]))["fused"][0]
    k = 2
    changed = SaVosSample(*(getattr(s, f).clone() for f in SaVosSample.__dataclass_fields__))
    changed.images[k] = -changed.images[k]
    changed.vis[k] = 0.0
    changed.vis[k, :, 0:5, 0:5] = 1.0
    changed.boxes[k] = torch.tensor([0.0, 0.0, 9.0, 9.0])
    changed.flow_f[k] += 4.0
    changed.flow_b[k] -= 4.0
    after = predict_window(net, stack_samples([changed]))["fused"][0]
    assert torch.allclose(after[k], base[k], atol=1e-6)
    assert not torch.allclose(after[k - 1], base[k - 1])  # the neighbours do depend on frame k


def test_predict_track_matches_the_batched_path():
    cfg = _cfg()
    torch.manual_seed(1)
    net = SaVosNet(cfg.model).eval()
    s = _sample(cfg, length=7)
    with torch.no_grad():
        a = predict_window(net, stack_samples([s]))["fused"][0]
        b = predict_track(net, s, chunk=3)
    assert torch.allclose(a, b, atol=1e-5)


def test_postprocess_adds_pixels_only_inside_other_objects():
    from amodal.baselines.savos_runner import postprocess

    vis = np.zeros((8, 8), bool)
    vis[2:5, 2:5] = True
    others = np.zeros((8, 8), bool)
    others[2:5, 5:8] = True
    out = postprocess(np.ones((4, 4), np.float16), vis, others, 0.5)
    assert np.array_equal(out, vis | others)
    assert np.array_equal(postprocess(np.zeros((4, 4), np.float16), vis, others, 0.5), vis)
