"""The `future_teacher` term: the streaming network learns what a bidirectional pass would say.

A frozen copy of the completion network training started from (the teacher, `train.init`) runs
over the clip twice, without gradient and without synthetic occluders: forwards, as the session
does, and backwards (frames reversed, motions inverted), as the offline mode's second pass does. The
two passes' probabilities are averaged, as the offline mode fuses them, in each frame's crop of the
trained network (the student), and the student's causal prediction is fitted to that average (BCE
against the soft target) on the other objects' visible pixels, where an object's hidden part lies
and where the backward pass has seen, in the frames after, what the forward pass could not yet.
Object-frames with a synthetic occluder are left to `occluder_synthesis`. Only RGB and visible masks
are used: the target is the model's own, never an amodal label.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch

from amodal.losses.occluders import Erasers
from amodal.losses.selfsup import ClipObjects, ClipPrediction, eraser_applied, run_clip
from amodal.losses.terms import masked_bce
from amodal.models.completion import CompletionNet
from amodal.models.crops import homogeneous, warp_with_coverage


def reversed_objects(objs: ClipObjects) -> ClipObjects:
    """The clip with time reversed: frames flipped, each motion t -> t+1 inverted (amodal masks dropped)."""
    inv = torch.linalg.inv(homogeneous(objs.motions.to(torch.float64)))[..., :2, :].to(objs.motions.dtype)
    rgb = None if objs.rgb is None else objs.rgb.flip(1)
    return ClipObjects(objs.ids.flip(1), objs.obj_clip, objs.obj_id, inv.flip(1), rgb, None)


def move_between_crops(maps: torch.Tensor, from_crops: torch.Tensor, to_crops: torch.Tensor
                       ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Resample crop maps (M, T, S, S) from crops `from_crops` into crops `to_crops` (each (M, T, 2, 3),
    frame -> crop) of the same frames.

    Returns:
        the moved maps (M, T, S, S) and where they are valid (M, T, S, S), 1 where the source crop covers.
    """
    s = maps.shape[-1]
    mats = homogeneous(to_crops.reshape(-1, 2, 3)) @ torch.linalg.inv(homogeneous(from_crops.reshape(-1, 2, 3)))
    moved, covered = warp_with_coverage(maps.reshape(-1, 1, s, s), mats, (s, s))
    return moved.view(maps.shape), covered.view(maps.shape)


@torch.no_grad()
def two_pass_target(teacher: CompletionNet, objs: ClipObjects, crops: torch.Tensor
                    ) -> Tuple[torch.Tensor, torch.Tensor]:
    """The teacher's forward and backward probabilities (run with its own `cfg`), averaged, in the crops
    `crops` (M, T, 2, 3).

    Returns:
        target probability (M, T, S, S) and weight (M, T, S, S): 1 where both passes had the object
        and cover the pixel, else 0.
    """
    fwd = run_clip(teacher, teacher.cfg, objs)
    bwd = run_clip(teacher, teacher.cfg, reversed_objects(objs))
    f_logits, f_ok = move_between_crops(fwd.logits[:, :, 0], fwd.crops, crops)
    b_logits, b_ok = move_between_crops(bwd.logits[:, :, 0].flip(1), bwd.crops.flip(1), crops)
    alive = (fwd.alive & bwd.alive.flip(1)).to(f_ok.dtype)[:, :, None, None]
    return 0.5 * (torch.sigmoid(f_logits) + torch.sigmoid(b_logits)), f_ok * b_ok * alive


def future_teacher_loss(teacher: CompletionNet, pred: ClipPrediction, objs: ClipObjects,
                        erasers: Optional[Erasers]) -> torch.Tensor:
    """BCE of the student's logits `pred.logits` against the teacher's two-pass probability, on the other
    objects' visible pixels inside the frame, object-frames without a synthetic occluder."""
    target, ok = two_pass_target(teacher, objs, pred.crops)
    logits = pred.logits[:, :, 0]
    others, inframe = pred.targets[:, :, 1], pred.targets[:, :, 4]
    care = others * inframe * pred.alive.to(logits.dtype)[:, :, None, None] * ok
    return masked_bce(logits, target, care * (1 - eraser_applied(erasers, logits)))
