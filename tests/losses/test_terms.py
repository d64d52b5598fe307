"""Loss terms by hand on tiny tensors; don't-care pixels get exactly zero gradient."""
import math

import numpy as np
import pytest
import torch

from amodal.config import Config
from amodal.errors import ConfigError
from amodal.losses import DEFAULT_LOSS_WEIGHTS, resolve_weights
from amodal.losses.occluders import sample_erasers
from amodal.losses.terms import masked_bce, soft_iou_loss


def test_masked_bce_by_hand_and_dont_care_gradient():
    logits = torch.tensor([0.0, 2.0, -1.0, 5.0], requires_grad=True)
    target = torch.tensor([1.0, 0.0, 0.0, 1.0])
    weight = torch.tensor([1.0, 2.0, 0.0, 1.0])
    loss = masked_bce(logits, target, weight)
    manual = (math.log(2) + 2 * (2 + math.log1p(math.exp(-2))) + math.log1p(math.exp(-5))) / 4
    assert abs(loss.item() - manual) < 1e-5
    loss.backward()
    assert logits.grad[2].item() == 0.0 and logits.grad[1].item() != 0.0


def test_masked_bce_all_dont_care_is_zero():
    logits = torch.randn(3, requires_grad=True)
    loss = masked_bce(logits, torch.ones(3), torch.zeros(3))
    assert loss.item() == 0.0
    loss.backward()
    assert torch.all(logits.grad == 0)


def test_soft_iou():
    p = torch.tensor([[1.0, 1.0, 0.0, 0.0]])
    q = torch.tensor([[1.0, 0.0, 0.0, 0.0]])
    w = torch.ones(1, 4)
    assert abs(soft_iou_loss(p, q, w, eps=0.0).item() - 0.5) < 1e-6
    assert soft_iou_loss(p, p, w, eps=0.0).item() == 0.0
    w2 = torch.tensor([[1.0, 0.0, 1.0, 1.0]])
    assert soft_iou_loss(p, q, w2, eps=0.0).item() == 0.0


def test_weights_resolution():
    cfg = Config()
    w = resolve_weights(cfg)
    assert w["amodal_supervised"] == 0.0 and w["visible_fit"] == DEFAULT_LOSS_WEIGHTS["visible_fit"]
    cfg.train.loss_weights = {"next_visible": 2, "vis_fg": 0.5}
    w = resolve_weights(cfg)
    assert w["next_visible"] == 2.0 and w["vis_fg"] == 0.5
    for typo in ("nope", "vis_typo"):  # the visible net's names are checked too
        cfg.train.loss_weights = {typo: 1.0}
        with pytest.raises(ConfigError, match=f"unknown term '{typo}'"):
            resolve_weights(cfg)


def test_erasers_overlap_and_keep_part_visible():
    vis = np.zeros((2, 3, 40, 40), bool)
    vis[0, :, 5:20, 5:20] = True
    vis[1, :, 22:35, 22:35] = True
    er = sample_erasers(vis, np.array([0, 0]), np.random.default_rng(0), p_apply=1.0, p_front=1.0)
    assert er.applied.any()
    for m, t in zip(*np.nonzero(er.applied)):
        kept = (vis[m, t] & ~er.mask[m, t]).sum() / vis[m, t].sum()
        assert 0.05 <= kept < 1.0
        assert er.front[m, t]


def test_persistent_erasers_hold_one_occluder_over_a_run_of_frames():
    t_count = 8
    vis = np.zeros((2, t_count, 112, 144), bool)
    for t in range(t_count):
        vis[0, t, 40:60, 50 + t:70 + t] = True  # the target moves right by 1 px a frame
        vis[1, t, 60:74, 80:92] = True
    rng = np.random.default_rng(3)
    runs = 0
    for _ in range(20):
        er = sample_erasers(vis, np.array([0, 0]), rng, p_apply=0.5, p_front=1.0, persistent=True)
        assert er.persistent
        for m in range(2):
            frames = np.flatnonzero(er.applied[m])
            if not len(frames):
                continue
            runs += 1
            assert np.array_equal(frames, np.arange(frames[0], frames[-1] + 1))  # consecutive frames
            sizes = {int(er.mask[m, t].sum()) for t in frames}
            assert len(sizes) == 1  # the same occluder shape (it stays inside the frame here)
            for t in frames:
                kept = (vis[m, t] & ~er.mask[m, t]).sum() / vis[m, t].sum()
                assert 0.05 <= kept <= 0.98 and er.front[m, t]
    assert runs >= 20
    frac = np.mean([sample_erasers(vis, np.array([0, 0]), np.random.default_rng(s), p_apply=0.5,
                                   persistent=True).applied.mean() for s in range(40)])
    assert 0.3 < frac < 0.6  # about p_apply of the object-frames (minus rejected placements)


def test_independent_erasers_are_not_persistent():
    vis = np.zeros((2, 4, 40, 40), bool)
    vis[0, :, 5:20, 5:20] = True
    vis[1, :, 22:35, 22:35] = True
    assert not sample_erasers(vis, np.array([0, 0]), np.random.default_rng(0)).persistent
