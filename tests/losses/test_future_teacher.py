"""The future_teacher term: time reversal, crop-to-crop moves, the two-pass target and where it pulls."""
import numpy as np
import torch

from amodal.config import Config
from amodal.losses import compute_losses
from amodal.losses.future_teacher import (future_teacher_loss, move_between_crops, reversed_objects,
                                          two_pass_target)
from amodal.losses.occluders import Erasers
from amodal.losses.selfsup import run_clip, square_matrices
from amodal.models.build import build_model
from amodal.models.crops import homogeneous
from amodal_fixtures import tiny_completion_config, two_object_clip


_cfg = tiny_completion_config
_objects = two_object_clip


def _teacher(cfg: Config, seed: int = 0):
    torch.manual_seed(seed)
    return build_model(cfg).completion.frozen()


def _forward_and_target(t: int, step: float):
    """The teacher's own forward run on `two_object_clip(t, step)` and its two-pass target in those crops."""
    cfg = _cfg()
    teacher = _teacher(cfg)
    objs = _objects(t=t, step=step)
    fwd = run_clip(teacher, cfg.model.completion, objs)
    target, ok = two_pass_target(teacher, objs, fwd.crops)
    return fwd, target, ok


def test_reversed_clip_flips_frames_and_inverts_motions():
    objs = _objects(t=5, step=2.0)
    rev = reversed_objects(objs)
    assert torch.equal(rev.ids[0, 0], objs.ids[0, -1]) and torch.equal(rev.ids[0, -1], objs.ids[0, 0])
    # reversed motion k moves frame T-1-k back to T-2-k: composed with the forward motion it is the identity
    back = homogeneous(rev.motions[:, 0]) @ homogeneous(objs.motions[:, -1])
    assert torch.allclose(back, torch.eye(3).expand_as(back), atol=1e-6)
    assert rev.motions[0, 0, 0, 2].item() == -2.0
    twice = reversed_objects(rev)
    assert torch.equal(twice.ids, objs.ids) and torch.allclose(twice.motions, objs.motions, atol=1e-6)


def test_moving_maps_into_the_same_crops_keeps_them():
    maps = torch.randn(2, 3, 16, 16)
    crops = square_matrices(torch.tensor([[4.0, 5.0, 20.0, 25.0], [10.0, 0.0, 30.0, 12.0]]), 16)
    crops = crops[:, None].expand(2, 3, 2, 3).contiguous()
    moved, ok = move_between_crops(maps, crops, crops)
    assert torch.allclose(moved, maps, atol=1e-4) and bool((ok == 1).all())
    # into a crop twice as large around the same centre: the source covers only the middle
    wide = crops.clone()
    wide[..., :2, :2] /= 2
    wide[..., :, 2] = (crops[..., :, 2] - 7.5) / 2 + 7.5
    _, ok_wide = move_between_crops(maps, crops, wide)
    assert ok_wide[..., 8, 8].all() and not ok_wide[..., 0, 0].any()


class _SeesTheVisibleMask(torch.nn.Module):
    """A stand-in teacher whose probability is the crop's visible-mask channel (memory ignored)."""

    def __init__(self, cfg) -> None:
        super().__init__()
        self.cfg = cfg

    def forward(self, x: torch.Tensor, groups=None) -> torch.Tensor:
        return 20.0 * x[:, :1] - 10.0


def test_both_passes_land_on_each_frame_in_the_students_crops():
    """With a teacher that outputs the visible mask it is given, the two-pass target at frame t is frame t's
    visible mask in the student's crop t: the backward pass is flipped back in time and moved between crops."""
    cfg = _cfg()
    objs = _objects(t=4, step=3.0)
    student = run_clip(_teacher(cfg), cfg.model.completion, objs)
    target, ok = two_pass_target(_SeesTheVisibleMask(cfg.model.completion), objs, student.crops)
    vis = student.targets[:, :, 0]
    inside = (ok > 0) & ((vis < 0.01) | (vis > 0.99))  # away from the crops' interpolated edges
    assert inside.float().mean() > 0.5
    assert (target - vis)[inside].abs().max() < 0.05


def test_on_a_still_clip_the_middle_frame_gets_the_forward_probability():
    """Nothing moves: at the middle frame of three each pass remembers one identical earlier step."""
    fwd, target, ok = _forward_and_target(t=3, step=0.0)
    assert bool((ok == 1).all())
    assert torch.allclose(target[:, 1], torch.sigmoid(fwd.logits[:, 1, 0]), atol=1e-5)


def test_the_backward_pass_changes_the_target_when_the_object_moves():
    fwd, target, ok = _forward_and_target(t=4, step=2.0)
    forward_only = torch.sigmoid(fwd.logits[:, :, 0])
    assert ok.sum() > 0 and (target - forward_only)[ok > 0].abs().max() > 1e-3


def test_the_term_pulls_on_other_objects_pixels_only_and_not_under_synthetic_occluders():
    cfg = _cfg()
    torch.manual_seed(1)
    student = build_model(cfg).completion
    teacher = _teacher(cfg)
    objs = _objects(t=3, step=1.0)
    pred = run_clip(student, cfg.model.completion, objs)
    logits = pred.logits.detach().requires_grad_(True)
    pred.logits = logits
    future_teacher_loss(teacher, pred, objs, None).backward()
    others, grad = pred.targets[:, :, 1], logits.grad[:, :, 0]
    assert grad[others < 0.001].abs().max() == 0 and grad[others > 0.999].abs().max() > 0
    m, t = logits.shape[:2]
    covered = Erasers(np.zeros((m, t, 40, 48), bool), np.zeros((m, t), bool), np.ones((m, t), bool))
    logits.grad = None
    future_teacher_loss(teacher, pred, objs, covered).backward()
    assert logits.grad.abs().max() == 0


def test_compute_losses_adds_the_term_only_with_a_teacher_and_a_weight():
    from amodal.data.clips import ClipBatch

    cfg = _cfg()
    objs = _objects(t=3, step=1.0)
    batch = ClipBatch(torch.zeros(1, 3, 3, 40, 48, dtype=torch.uint8), objs.ids, torch.tensor([[True, True]]),
                      objs.motions[None])
    model = build_model(cfg)
    teacher = _teacher(cfg)
    cfg.train.loss_weights = {"future_teacher": 1.0, "occluder_synthesis": 0.0}
    with_term = compute_losses(model, batch, cfg, np.random.default_rng(0), teacher=teacher)
    assert "future_teacher" in with_term and torch.isfinite(with_term["future_teacher"])
    assert "future_teacher" not in compute_losses(model, batch, cfg, np.random.default_rng(0))
    cfg.train.loss_weights = {"occluder_synthesis": 0.0}
    assert "future_teacher" not in compute_losses(model, batch, cfg, np.random.default_rng(0), teacher=teacher)
