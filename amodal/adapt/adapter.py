"""The bounded self-supervised adaptation loop with guard rails: `adapt_model`.

Data: a native dataset with visible masks only (made by `amodal.adapt.pseudo_labels`), loaded
with `read_amodal=False`. The end of every video (`adapt.holdout` of its frames, at least one
clip) is held back; up to `adapt.max_val_clips` clips from it, evenly spaced, form the validation
set. The validation loss is the SAME self-supervised objective (`amodal.losses.compute_losses`,
total), without augmentation and with a fixed synthetic-occluder draw per clip, so its values are
comparable from one evaluation to the next.

Loop: at most `train.steps` steps of `train.batch_size` clips (1 by default: memory is inference
plus one clip; clips are read from disk when used), AdamW, the trainer's warm-up + cosine
learning rate, gradient clipping. The held-back loss is evaluated before the first step and every
`train.val_every` steps; after `adapt.patience` evaluations without an improvement larger than
`adapt.min_delta` (or a non-finite loss, or the time budget) the loop stops. The best weights seen
(the starting ones included) are put back, so the held-back loss never ends higher than it began.

By default the visible-mask network is frozen (it made the pseudo-labels; training it on them
would only confirm its own mistakes) and BatchNorm layers keep their stored statistics (one clip
gives noisy batch statistics, and this trains exactly the function used at inference).

With a non-zero `anchor` loss weight, a frozen copy of the starting completion net runs beside
the trained one on the same inputs, and the `anchor` term keeps the predictions on other objects'
visible pixels close to it: the self-supervised terms say little there (it is "don't care" for
them), so without it a few steps on one video can drift into spreading objects over their
neighbours. With a non-zero `future_teacher` weight the same frozen copy is that term's teacher
(`amodal.losses.future_teacher`). The held-back loss never includes either (it is the plain
self-supervised objective).
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn

from amodal.config import Config
from amodal.errors import InputError

VAL_SEED_OFFSET = 1_000_003  # keeps the validation occluder draws apart from the training ones


@dataclass
class AdaptReport:
    """What an adaptation run did.

    Attributes:
        loss_before: held-back self-supervised loss of the starting weights.
        loss_after: held-back loss of the weights kept (the best evaluated; <= loss_before).
        loss_final: held-back loss at the last evaluation (before the best weights were restored).
        steps_run: optimizer steps taken.
        best_step: step whose weights were kept (0: the starting weights).
        stopped_early: the loop ended before `train.steps` (patience, non-finite loss or time).
        stop_reason: "steps", "patience", "non-finite loss" or "time budget".
        seconds: wall time of the adaptation loop (pseudo-labelling excluded).
        pseudo_label_seconds: wall time of pseudo-labelling, when the caller did it.
        train_clips, val_clips: clips available for training / used for the held-back loss.
        history: one record per evaluation: {"step", "val_loss", per-term means}.
    """

    loss_before: float
    loss_after: float
    loss_final: float
    steps_run: int
    best_step: int
    stopped_early: bool
    stop_reason: str
    seconds: float
    train_clips: int
    val_clips: int
    pseudo_label_seconds: float = 0.0
    history: List[Dict[str, float]] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


def clip_span(cfg: Config) -> int:
    """Frames one clip covers."""
    return (cfg.data.clip_length - 1) * cfg.data.clip_stride + 1


def split_clips(items: Sequence[Tuple[int, int]], lengths: Dict[int, int], span: int,
                holdout: float) -> Tuple[List[int], List[int]]:
    """Indices of training and held-back clips.

    Args:
        items: (video id, start frame) per clip, as `ClipDataset.items`.
        lengths: frames per video id.
        span: frames a clip covers.
        holdout: fraction of each video's frames, at its end, held back.

    A video shorter than 2 x span is used for training only. Clips never straddle the split.
    """
    split: Dict[int, int] = {}
    for vid, n in lengths.items():
        if n >= 2 * span:
            n_val = min(max(span, int(math.ceil(holdout * n))), n - span)
            split[vid] = n - n_val
        else:
            split[vid] = n
    train = [i for i, (vid, s) in enumerate(items) if s + span <= split[vid]]
    val = [i for i, (vid, s) in enumerate(items) if s >= split[vid]]
    return train, val


def pick_evenly(indices: Sequence[int], count: int) -> List[int]:
    """At most `count` entries of `indices`, evenly spaced, first and last included."""
    if len(indices) <= count:
        return list(indices)
    pos = np.unique(np.round(np.linspace(0, len(indices) - 1, count)).astype(int))
    return [indices[p] for p in pos]


class _Batches:
    """Training batches of clip indices: seeded epoch permutations (a pure function of seed and step)."""

    def __init__(self, indices: Sequence[int], batch_size: int, seed: int) -> None:
        self.indices, self.bs, self.seed = list(indices), batch_size, seed

    def __call__(self, step: int) -> List[Tuple[int, int]]:
        out = []
        n = len(self.indices)
        for j in range(step * self.bs, (step + 1) * self.bs):
            epoch, off = divmod(j, n)
            perm = np.random.default_rng([self.seed, epoch]).permutation(n)
            idx = self.indices[int(perm[off])]
            out.append((idx, j))  # (clip, augmentation draw)
        return out


def _freeze_batchnorm(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.eval()


def _trainable_view(model: nn.Module, cfg: Config) -> nn.Module:
    """The module the loss sees: the whole model, or the completion net alone when the visible net is frozen."""
    if cfg.adapt.freeze_visible and getattr(model, "visible", None) is not None:
        from amodal.models.build import AmodalModel

        return AmodalModel(model.cfg if hasattr(model, "cfg") else cfg, None, model.completion)
    return model


def _frozen_start(view: nn.Module, cfg: Config) -> Optional[nn.Module]:
    """A frozen eval-mode copy of the starting completion net, when the `anchor` or the `future_teacher`
    term is weighted (the one serves as both the anchor's reference and the teacher)."""
    from amodal.losses import resolve_weights

    weights = resolve_weights(cfg)
    if not (weights.get("anchor", 0.0) or weights.get("future_teacher", 0.0)):
        return None
    return view.completion.frozen()  # eval mode, BatchNorm folded: same function, cheaper


def _state(module: nn.Module) -> Dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def adapt_model(model: nn.Module, cfg: Config, dataset_json: Union[str, Path], device: Union[str, torch.device] = "cpu",
                logger: Any = None, show_progress: bool = False, max_seconds: Optional[float] = None) -> AdaptReport:
    """Adapt `model` IN PLACE to the videos of `dataset_json` (see module docstring); callers copy first.

    Args:
        model: an AmodalModel (its completion net is trained; its visible net too when
            `cfg.adapt.freeze_visible` is false).
        cfg: resolved fine-tuning config (`amodal.adapt.settings.finetune_config`).
        dataset_json: native dataset with visible masks (its amodal fields, if any, are never read).
        device: torch device.
        logger: an `amodal.engine.logging.RunLogger` (train and val records), or None.
        show_progress: tqdm bar.
        max_seconds: stop (keeping the best weights) once the loop has run this long.

    Returns:
        AdaptReport. The model ends in eval mode holding the best weights.

    Raises:
        InputError: the videos are too short for a training part and a held-back part, or hold no object.
    """
    from amodal.data.clips import ClipDataset, collate_clips
    from amodal.engine.trainer import GRAD_CLIP, learning_rate
    from amodal.losses import compute_losses

    start = time.perf_counter()
    dev = torch.device(device)
    model.to(dev)
    d, t, a = cfg.data, cfg.train, cfg.adapt
    c = cfg.model.completion
    kw = dict(clip_length=d.clip_length, stride=d.clip_stride, max_objects=d.max_objects, with_amodal=False,
              motion_width=c.motion_width, motion_preset=c.motion_preset)
    train_ds = ClipDataset(dataset_json, augment=d.augment, seed=t.seed, scale_range=d.scale_range,
                           translate=d.translate, **kw)
    val_ds = ClipDataset(dataset_json, augment=False, seed=t.seed, size=train_ds.size, **kw)
    span = clip_span(cfg)
    lengths = {v.id: v.length for v in train_ds.ds.videos}
    train_idx, val_idx = split_clips(train_ds.items, lengths, span, a.holdout)
    if not train_idx or not val_idx:
        longest = max(lengths.values()) if lengths else 0
        raise InputError(f"{dataset_json}: adaptation needs a video of at least {2 * span} frames (a training part and "
                         f"a held-back part of {span} frames each, data.clip_length={d.clip_length}); the longest "
                         f"has {longest}")
    if not any(train_ds.ds.tracks(v.id) for v in train_ds.ds.videos):
        raise InputError(f"{dataset_json}: no object in the visible masks of any frame: nothing to adapt to (give "
                         "visible masks with objects, or another detector: moving objects with --detector motion)")
    val_sel = pick_evenly(val_idx, a.max_val_clips)
    view = _trainable_view(model, cfg)
    frozen_start = _frozen_start(view, cfg)
    params = [p for p in view.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=t.lr, weight_decay=t.weight_decay)
    batches = _Batches(train_idx, t.batch_size, t.seed)

    def evaluate(step: int) -> Dict[str, float]:
        view.eval()
        sums: Dict[str, float] = {}
        with torch.no_grad():
            for j, idx in enumerate(val_sel):
                batch = collate_clips([val_ds[(idx, 0)]]).to(dev)
                rng = np.random.default_rng([t.seed, VAL_SEED_OFFSET, j])
                for name, value in compute_losses(view, batch, cfg, rng).items():
                    sums[name] = sums.get(name, 0.0) + float(value)
        rec = {name: value / len(val_sel) for name, value in sums.items()}
        rec = {"step": step, "val_loss": rec.pop("total", float("nan")), **rec}
        if logger is not None:
            logger.log(step, rec, kind="val")
        return rec

    first = evaluate(0)
    history = [first]
    best, best_step, best_state = first["val_loss"], 0, _state(view)
    bad, step, reason = 0, 0, "steps"
    bar = None
    if show_progress:
        from tqdm import tqdm

        bar = tqdm(total=t.steps, desc="adapt", unit="step", dynamic_ncols=True)
    try:
        while step < t.steps:
            view.train()
            if a.freeze_batchnorm:
                _freeze_batchnorm(view)
            lr = learning_rate(cfg, step)
            for group in optimizer.param_groups:
                group["lr"] = lr
            batch = collate_clips([train_ds[item] for item in batches(step)]).to(dev)
            losses = compute_losses(view, batch, cfg, np.random.default_rng([t.seed, step]), reference=frozen_start,
                                    teacher=frozen_start)
            if not bool(torch.isfinite(losses["total"]).item()):
                reason = "non-finite loss"
                break
            optimizer.zero_grad(set_to_none=True)
            losses["total"].backward()
            gnorm = torch.nn.utils.clip_grad_norm_(params, GRAD_CLIP)
            optimizer.step()
            step += 1
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{losses['total'].item():.4f}", val=f"{best:.4f}")
            if logger is not None and (step % t.log_every == 0 or step == t.steps):
                logger.log(step, {**{k: v.item() for k, v in losses.items()}, "lr": lr, "grad_norm": float(gnorm)})
            if step % t.val_every == 0 or step == t.steps:
                rec = evaluate(step)
                history.append(rec)
                if math.isfinite(rec["val_loss"]) and rec["val_loss"] < best - a.min_delta:
                    best, best_step, best_state, bad = rec["val_loss"], step, _state(view), 0
                else:
                    bad += 1
                    if bad >= a.patience:
                        reason = "patience"
                        break
            if max_seconds is not None and time.perf_counter() - start > max_seconds and step < t.steps:
                reason = "time budget"
                break
    finally:
        if bar is not None:
            bar.close()
    view.load_state_dict(best_state)
    model.eval()
    return AdaptReport(loss_before=first["val_loss"], loss_after=best, loss_final=history[-1]["val_loss"],
                       steps_run=step, best_step=best_step, stopped_early=reason != "steps", stop_reason=reason,
                       seconds=time.perf_counter() - start, train_clips=len(train_idx), val_clips=len(val_sel),
                       history=history)


def copy_model(model: nn.Module) -> nn.Module:
    """An independent copy of an AmodalModel (same config, weights and buffers; eval mode).

    Built fresh from the config and loaded from the state dict: `copy.deepcopy` cannot copy the
    inference caches (folded BatchNorm weights) a model holds once it has run.
    """
    cfg = getattr(model, "cfg", None)
    if cfg is None:
        return copy.deepcopy(model)
    from amodal.engine.checkpoint import load_state_strict
    from amodal.models.build import build_model

    device = next(model.parameters()).device
    fresh = build_model(cfg).to(device)
    load_state_strict(fresh, {k: v.detach().clone() for k, v in model.state_dict().items()}, "model copy")
    return fresh.eval()


__all__ = ["AdaptReport", "adapt_model", "split_clips", "pick_evenly", "clip_span", "copy_model"]
