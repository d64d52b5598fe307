"""The clip driver and the objective on a tiny batch: finite terms, gradients, amodal only when supervised."""
import numpy as np
import pytest
import torch

from amodal.errors import ConfigError
from amodal.losses import compute_losses
from amodal.losses.selfsup import clip_losses, mask_boxes, run_clip, square_matrices
from amodal.models.build import build_model
from amodal_fixtures import tiny_completion_config, two_object_clip


_cfg = tiny_completion_config
_objects = two_object_clip


def test_taps_match_grid_sample():
    from amodal.losses.selfsup import BilinearTaps
    from amodal.models.crops import crop_tensor

    ids = _objects().ids[0, :1]
    mats = square_matrices(torch.tensor([[5.0, 7.0, 30.0, 29.0], [-3.0, 20.0, 12.0, 45.0]]), 16)
    taps = BilinearTaps(mats, 16, 40, 48)
    got = taps.sample(taps.gather(ids, torch.tensor([0, 0])) == 1)
    ref = crop_tensor((ids == 1).float()[None].expand(2, 1, 40, 48), mats, 16)[:, 0]
    assert torch.allclose(got, ref, atol=1e-4)
    ones = crop_tensor(torch.ones(2, 1, 40, 48), mats, 16)[:, 0]
    assert torch.allclose(taps.inframe(), ones, atol=1e-4)


def test_mask_boxes():
    m = torch.zeros(2, 10, 12)
    m[0, 2:5, 3:7] = 1
    boxes, has = mask_boxes(m)
    assert has.tolist() == [True, False]
    assert boxes[0].tolist() == [3, 2, 6, 4]


def test_run_clip_and_terms():
    cfg = _cfg()
    torch.manual_seed(0)
    model = build_model(cfg)
    objs = _objects()
    pred = run_clip(model.completion, cfg.model.completion, objs)
    assert pred.logits.shape == (2, 4, 1, 32, 32) and pred.alive.all()
    weights = {"visible_fit": 1, "next_visible": 1, "temporal_consistency": 1, "occluder_synthesis": 0}
    terms = clip_losses(pred, objs, None, weights)
    assert set(terms) == {"visible_fit", "next_visible", "temporal_consistency"}
    total = sum(terms.values())
    assert torch.isfinite(total)
    total.backward()
    assert all(p.grad is not None for p in model.completion.parameters())


def test_hidden_pixels_are_dont_care():
    """Logits on the other objects' visible pixels get no gradient from visible_fit."""
    cfg = _cfg()
    model = build_model(cfg)
    objs = _objects(t=1)
    pred = run_clip(model.completion, cfg.model.completion, objs)
    logits = pred.logits.detach().requires_grad_(True)
    pred.logits = logits
    clip_losses(pred, objs, None, {"visible_fit": 1.0})["visible_fit"].backward()
    occ = pred.targets[:, :, 1]
    grad = logits.grad[:, :, 0]
    assert grad[occ > 0.999].abs().max() == 0
    assert grad[occ < 0.001].abs().max() > 0


def test_supervised_flag_requires_amodal(tmp_path):
    from amodal.data.clips import ClipBatch

    cfg = _cfg()
    cfg.train.amodal_supervision = True
    batch = ClipBatch(torch.zeros(1, 2, 3, 16, 16, dtype=torch.uint8), torch.zeros(1, 2, 16, 16, dtype=torch.long),
                      torch.zeros(1, 2, dtype=torch.bool), torch.zeros(1, 2, 1, 2, 3))
    with pytest.raises(ConfigError, match="amodal"):
        compute_losses(build_model(cfg), batch, cfg, np.random.default_rng(0))


def test_anchor_term_pulls_towards_reference_on_other_objects_only():
    """The adaptation anchor: zero gradient outside others' visible pixels; none without a reference."""
    cfg = _cfg()
    torch.manual_seed(0)
    model = build_model(cfg)
    reference = build_model(cfg).completion.eval()
    objs = _objects(t=2)
    plain = run_clip(model.completion, cfg.model.completion, objs)
    assert plain.reference is None
    assert "anchor" not in clip_losses(plain, objs, None, {"anchor": 1.0})
    pred = run_clip(model.completion, cfg.model.completion, objs, reference=reference)
    assert pred.reference.shape == pred.logits.shape and not pred.reference.requires_grad
    logits = pred.logits.detach().requires_grad_(True)
    pred.logits = logits
    clip_losses(pred, objs, None, {"anchor": 1.0})["anchor"].backward()
    occ = pred.targets[:, :, 1]
    grad = logits.grad[:, :, 0]
    assert grad[occ < 0.001].abs().max() == 0
    assert grad[occ > 0.999].abs().max() > 0
    # a prediction equal to the reference is a stationary point of the anchor
    pred.logits = pred.reference.clone().requires_grad_(True)
    clip_losses(pred, objs, None, {"anchor": 1.0})["anchor"].backward()
    assert pred.logits.grad.abs().max() < 1e-6


@pytest.mark.parametrize("persistent", [False, True])
def test_memory_stores_erased_visible_only_under_persistent_occluders(monkeypatch, persistent):
    from amodal.losses.occluders import Erasers
    from amodal.models.memory import ClipMemory

    cfg = _cfg()
    torch.manual_seed(0)
    model = build_model(cfg)
    objs = _objects()
    t_count, h, w = objs.ids.shape[1:]
    mask = np.zeros((2, t_count, h, w), bool)
    mask[0, :, 8:24, 10:16] = True  # hides a band of object 1 in every frame
    er = Erasers(mask, np.ones((2, t_count), bool), np.array([[True] * t_count, [False] * t_count]), persistent)
    written = []
    real_write = ClipMemory.write

    def spy(self, visible, amodal, crop_matrices, quality):
        written.append(visible.clone())
        real_write(self, visible, amodal, crop_matrices, quality)

    monkeypatch.setattr(ClipMemory, "write", spy)
    pred = run_clip(model.completion, cfg.model.completion, objs, er)
    true_vis = pred.targets[:, :, 0]
    for t, vis_written in enumerate(written):
        if persistent:  # what the model was shown: the erased band is missing
            assert vis_written[0].sum() < true_vis[0, t].sum() - 1
        else:  # the real visible mask
            assert torch.equal(vis_written[0], true_vis[0, t])
        assert torch.equal(vis_written[1], true_vis[1, t])  # object 2 has no eraser


@pytest.mark.parametrize("front", [0.0, 1.0])
def test_occluder_front_sets_how_often_synthetic_occluders_are_in_front(monkeypatch, front):
    """train.occluder_front reaches the eraser draw: 0 puts every occluder behind, 1 every one in front."""
    from amodal.data.clips import ClipBatch
    from amodal.losses import selfsup

    drawn = []
    real = selfsup.erasers_for
    monkeypatch.setattr(selfsup, "erasers_for", lambda *a, **k: drawn.append(real(*a, **k)) or drawn[-1])
    cfg = _cfg()
    cfg.train.occluder_front = front
    objs = _objects()
    batch = ClipBatch(torch.zeros(1, 4, 3, 40, 48, dtype=torch.uint8), objs.ids, torch.ones(1, 2, dtype=torch.bool),
                      torch.eye(2, 3).expand(1, 2, 3, 2, 3).clone())
    for seed in range(4):
        compute_losses(build_model(cfg), batch, cfg, np.random.default_rng(seed))
    applied = np.concatenate([e.applied.ravel() for e in drawn])
    in_front = np.concatenate([e.front.ravel() for e in drawn])
    assert applied.sum() > 0
    assert in_front[applied].all() if front == 1.0 else not in_front.any()


@pytest.mark.parametrize("rgb", [True, False])
def test_a_flow_alone_visible_net_is_trained_on_moving_pairs_only(monkeypatch, rgb):
    """With model.visible.rgb false the visible net never gets a frame as its own previous frame
    (it would see no flow and nothing else); with colours it does, as at a stream's first frame."""
    from amodal.data.clips import ClipBatch
    from amodal.models.visible import VisibleNet

    cfg = _cfg()
    cfg.model.visible.enabled = True
    cfg.model.visible.width = 8
    cfg.model.visible.input_height, cfg.model.visible.input_width = 32, 48
    cfg.model.visible.motion = cfg.model.visible.flow = True
    cfg.model.visible.rgb = rgb
    cfg.train.loss_weights = {"visible_fit": 0.0, "occluder_synthesis": 0.0, "next_visible": 0.0,
                              "temporal_consistency": 0.0}
    pairs = []
    real = VisibleNet.forward
    monkeypatch.setattr(VisibleNet, "forward", lambda self, images, previous=None, **k:
                        pairs.extend(torch.equal(a, b) for a, b in zip(images, previous)) or real(self, images, previous, **k))
    frames = torch.from_numpy(np.random.default_rng(0).integers(0, 255, (8, 3, 3, 32, 48), dtype=np.uint8))
    ids = torch.zeros(8, 3, 32, 48, dtype=torch.long)
    ids[:, :, 8:20, 10:30] = 1
    batch = ClipBatch(frames, ids, torch.ones(8, 1, dtype=torch.bool), torch.eye(2, 3).expand(8, 2, 1, 2, 3).clone())
    model = build_model(cfg)
    for seed in range(6):
        terms = compute_losses(model, batch, cfg, np.random.default_rng(seed), visible_frames=2)
        assert torch.isfinite(terms["total"])
    assert len(pairs) == 6 * 8 * 2  # per picked frame: was it its own previous frame?
    assert any(pairs) == rgb
