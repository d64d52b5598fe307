"""Named loss terms of amodal's training objective (see docs/OBJECTIVE.md).

`compute_losses(model, batch, cfg, rng)` returns a dict of named scalar terms plus "total" =
sum of weight x term, weights from `cfg.train.loss_weights` over `DEFAULT_LOSS_WEIGHTS`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Dict, Optional

import numpy as np

from amodal.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from amodal.config import Config
    from amodal.data.clips import ClipBatch
    from amodal.models.build import AmodalModel

SELF_SUPERVISED_TERMS = ("visible_fit", "occluder_synthesis", "next_visible", "temporal_consistency")
SUPERVISED_TERMS = ("amodal_supervised",)
DEFAULT_LOSS_WEIGHTS: Dict[str, float] = {
    "visible_fit": 1.0,
    "occluder_synthesis": 1.0,
    "next_visible": 1.0,
    "temporal_consistency": 0.1,
    "amodal_supervised": 1.0,
    "anchor": 0.0,
    "future_teacher": 0.0,
}
VISIBLE_PREFIX = "vis_"
OCCLUDER_PROBABILITY = 0.5  # fraction of object-frames that get a synthetic occluder


def resolve_weights(cfg: "Config") -> Dict[str, float]:
    """Default weights updated by cfg.train.loss_weights; unknown names raise ConfigError.

    Visible-net terms are `amodal.models.visible.LOSS_TERMS` (`vis_fg`, ...) and default to 1.0.
    """
    from amodal.models.visible import LOSS_TERMS

    weights = dict(DEFAULT_LOSS_WEIGHTS)
    for name, value in (cfg.train.loss_weights or {}).items():
        if name not in weights and name not in LOSS_TERMS:
            known = ", ".join(sorted(weights) + list(LOSS_TERMS))
            raise ConfigError(f"train.loss_weights: unknown term '{name}' (known: {known})")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise ConfigError(f"train.loss_weights.{name} must be a number >= 0, got {value!r}")
        weights[name] = float(value)
    if not cfg.train.amodal_supervision:
        weights["amodal_supervised"] = 0.0
    return weights


def completion_trained(weights: Dict[str, float]) -> bool:
    """Whether a term that trains the completion net has a non-zero weight (`resolve_weights` output)."""
    return any(weights.get(k, 0.0) for k in weights if not k.startswith(VISIBLE_PREFIX))


def visible_trained(weights: Dict[str, float]) -> bool:
    """Whether one of the visible net's terms (weight 1 unless set) has a non-zero weight."""
    from amodal.models.visible import LOSS_TERMS

    return any(weights.get(name, 1.0) for name in LOSS_TERMS)


def compute_losses(model: "AmodalModel", batch: "ClipBatch", cfg: "Config", rng: np.random.Generator,
                   visible_frames: int = 2, reference: Optional["torch.nn.Module"] = None,
                   teacher: Optional["torch.nn.Module"] = None) -> Dict[str, "torch.Tensor"]:
    """All loss terms of one training batch, plus "total".

    Args:
        model: the AmodalModel (its completion net, and its visible net when enabled).
        batch: a ClipBatch already on the model's device.
        cfg: resolved config.
        rng: draws the synthetic occluders and the frames the visible net is trained on.
        visible_frames: frames per clip used for the visible-net terms.
        reference: a frozen completion net (the weights adaptation started from); with a non-zero
            `anchor` weight, the `anchor` term keeps predictions on other objects' visible pixels
            close to it. None: no `anchor` term.
        teacher: a frozen completion net (the one training started from); with a non-zero
            `future_teacher` weight, the `future_teacher` term fits the causal predictions to its
            forward and backward passes' average (`amodal.losses.future_teacher`). None: no such term.
    """
    import torch

    from amodal.losses.selfsup import clip_losses, erasers_for, objects_from_batch, run_clip

    weights = resolve_weights(cfg)
    supervised = bool(cfg.train.amodal_supervision)
    if supervised and batch.amodal is None:
        raise ConfigError("train.amodal_supervision is set but the training data carries no amodal masks")
    use_rgb = model.completion.cfg.use_rgb
    frames = batch.frames_float() if use_rgb or model.visible is not None else None
    objs = objects_from_batch(frames if use_rgb else None, batch.visible_ids, batch.object_valid, batch.motions,
                              batch.amodal if supervised else None)
    terms: Dict[str, torch.Tensor] = {}
    if objs.num_objects and completion_trained(weights):
        erasers = None
        if weights["occluder_synthesis"]:
            erasers = erasers_for(objs, rng, OCCLUDER_PROBABILITY, cfg.train.occluder_runs, cfg.train.occluder_front)
        ref = reference if weights.get("anchor", 0.0) else None
        pred = run_clip(model.completion, model.completion.cfg, objs, erasers, reference=ref)
        terms.update(clip_losses(pred, objs, erasers, weights, supervised))
        if weights.get("future_teacher", 0.0) and teacher is not None:
            from amodal.losses.future_teacher import future_teacher_loss

            terms["future_teacher"] = future_teacher_loss(teacher, pred, objs, erasers)
    if model.visible is not None:
        from amodal.losses.visible_picks import STATIC_PROBABILITY, pick_visible_frames

        b, t = batch.visible_ids.shape[:2]
        motion = model.visible.motion
        static = STATIC_PROBABILITY if model.visible.rgb else 0.0  # flow alone sees nothing without motion
        bi, ti, pi = (torch.as_tensor(a) for a in pick_visible_frames(b, t, visible_frames, rng, motion, static))
        out = model.visible(frames[bi, ti], frames[bi, pi] if motion else None)
        for name, value in model.visible.loss(out, batch.visible_ids[bi, ti], cfg.train.offset_balance).items():
            terms[name if name.startswith(VISIBLE_PREFIX) else VISIBLE_PREFIX + name] = value
    total = None
    for name, value in terms.items():
        w = weights.get(name, 1.0)
        if w:
            total = value * w if total is None else total + value * w
    if total is None:
        total = sum(p.sum() * 0.0 for p in model.parameters() if p.requires_grad)
    terms["total"] = total
    return terms
