"""The training loop (explicit, torchvision-references style): `train(cfg, out_dir, ...)`.

Run folder: config.yaml (resolved), log.jsonl (+ tb/ TensorBoard events), last.pt (resumable
checkpoint: weights, optimizer, step, RNG, config), model.pt (final weights only) and
val.json (last validation). Randomness is a pure function of (seed, step, rank): the batch
sampler, the augmentation draws and the synthetic occluders, so `--resume` from a checkpoint
reproduces the uninterrupted run exactly.
"""
from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
import yaml

from amodal.config import Config, config_to_dict
from amodal.engine.checkpoint import load_checkpoint, load_state_strict, save_checkpoint, set_rng_state
from amodal.engine.distributed import DistInfo, any_flag, barrier, cleanup, init_distributed, sync_buffers
from amodal.engine.logging import RunLogger
from amodal.errors import CheckpointError, ConfigError, TrainingError
from amodal.utils.allocator import reuse_freed_memory
from amodal.utils.files import atomic_write_json, atomic_write_text, prepare_output_dir

WARMUP_STEPS = 50
GRAD_CLIP = 5.0


class TrainStep(nn.Module):
    """Wraps the model so DistributedDataParallel sees one forward per step (returns the loss dict)."""

    def __init__(self, model: nn.Module, cfg: Config, teacher: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.model = model
        self.cfg = cfg
        self._teacher = (teacher,)  # frozen: kept out of the submodules (state dict, DDP's parameters)

    def forward(self, batch, rng: np.random.Generator) -> Dict[str, torch.Tensor]:
        from amodal.losses import compute_losses

        return compute_losses(self.model, batch, self.cfg, rng, visible_frames=self.cfg.train.visible_frames,
                              teacher=self._teacher[0])


INIT_PARTS = ("visible", "completion")


def learning_rate(cfg: Config, step: int) -> float:
    """Linear warm-up then cosine decay to 5% of cfg.train.lr (a pure function of the step)."""
    base, total = cfg.train.lr, max(cfg.train.steps, 1)
    warm = min(WARMUP_STEPS, max(total // 10, 1))
    if step < warm:
        return base * (step + 1) / warm
    frac = (step - warm) / max(total - warm, 1)
    return base * (0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * min(frac, 1.0))))


def _check_config(cfg: Config) -> None:
    t = cfg.train
    for key in ("steps", "batch_size", "log_every", "val_every", "ckpt_every"):
        if getattr(t, key) < (0 if key == "val_every" else 1):
            raise ConfigError(f"train.{key} must be >= 1, got {getattr(t, key)}")
    if not 0.0 <= t.occluder_front <= 1.0:
        raise ConfigError(f"train.occluder_front must be a probability in [0, 1], got {t.occluder_front}")
    if not cfg.data.train:
        raise ConfigError("data.train is empty: give the training annotations JSON")
    for key in ("train", "val"):
        path = getattr(cfg.data, key)
        if path and not Path(path).is_file():
            raise ConfigError(f"data.{key}: annotation file {path} not found")
    from amodal.losses import completion_trained, resolve_weights, visible_trained

    weights = resolve_weights(cfg)
    if weights.get("anchor", 0.0):
        raise ConfigError("train.loss_weights.anchor keeps a network near the weights it started from: it is for "
                          "fine-tuning a checkpoint on your videos (amodal train --data VIDEOS, e.g. with "
                          "configs/finetune.yaml) and amodal adapt; set it to 0 to train from a config")
    if not completion_trained(weights) and not (cfg.model.visible.enabled and visible_trained(weights)):
        raise ConfigError("train.loss_weights: every term of the model's networks has weight 0, nothing to train")
    parts = cfg.train.init_parts
    bad = [p for p in parts if p not in INIT_PARTS]
    if bad or not parts or len(set(parts)) != len(parts):
        raise ConfigError(f"train.init_parts must list distinct networks among {', '.join(INIT_PARTS)}, got {parts}")
    if cfg.model.visible.enabled and cfg.model.visible.motion and cfg.data.clip_length < 2:
        raise ConfigError("model.visible.motion trains on pairs of frames: data.clip_length must be >= 2, "
                          f"got {cfg.data.clip_length}")
    if cfg.train.init and "visible" in parts and not cfg.model.visible.enabled:
        raise ConfigError("train.init_parts includes 'visible' but model.visible.enabled is false "
                          "(set train.init_parts=[completion])")


def changed_settings(before: Dict[str, Any], now: Dict[str, Any], prefix: str = "") -> List[str]:
    """`key: old -> new` for every config key whose value differs between two nested config dicts."""
    out: List[str] = []
    for key in sorted(set(before) | set(now)):
        a, b = before.get(key), now.get(key)
        if isinstance(a, dict) and isinstance(b, dict) and key != "loss_weights":
            out += changed_settings(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key} {a!r} -> {b!r}")
    return out


def freeze_untrained(model: nn.Module, cfg: Config) -> Sequence[str]:
    """Stop gradients into the networks no weighted loss term trains; returns their names.

    A stage that trains one network carries the other unchanged (the recipe's visible-net stages
    carry the completion net). Without gradients, DistributedDataParallel does not wait for theirs
    (it fails on parameters a step never used), and the optimizer leaves them as they are, as it
    does in one process.
    """
    from amodal.losses import completion_trained, resolve_weights, visible_trained

    weights = resolve_weights(cfg)
    trained = {"completion": completion_trained(weights), "visible": visible_trained(weights)}
    nets = {name: getattr(model, name, None) for name in INIT_PARTS}
    frozen = [name for name, net in nets.items() if net is not None and not trained[name]]
    for name in frozen:
        nets[name].requires_grad_(False)
    return frozen


def load_init(model: nn.Module, cfg: Config, parts: Optional[Sequence[str]] = None) -> None:
    """Start `model` from `cfg.train.init`: the networks named in `parts` (default `train.init_parts`)
    are loaded strictly from it; the others keep their random initialisation (e.g. a visible-mask
    network of a new width trained from scratch beside a completion network from an earlier stage)."""
    init = load_checkpoint(cfg.train.init)
    for part in cfg.train.init_parts if parts is None else parts:
        prefix = part + "."
        state = {k[len(prefix):]: v for k, v in init["model"].items() if k.startswith(prefix)}
        if not state:
            raise CheckpointError(f"{cfg.train.init}: has no '{part}' network to start from (train.init_parts)")
        load_state_strict(getattr(model, part), state, f"{cfg.train.init} ({part})")


def future_teacher(cfg: Config, device: torch.device) -> Optional[nn.Module]:
    """The frozen teacher of the `future_teacher` term: `train.init`'s completion network (also when
    resuming: the weights training started from), or None when the term has no weight."""
    from amodal.losses import resolve_weights
    from amodal.models.build import build_model

    if not resolve_weights(cfg).get("future_teacher", 0.0):
        return None
    if not cfg.train.init:
        raise ConfigError("train.loss_weights.future_teacher needs train.init: the teacher is the completion "
                          "network training starts from")
    start = build_model(cfg)
    load_init(start, cfg, ["completion"])
    return start.completion.frozen().to(device)


def _loader(cfg: Config, info: DistInfo, start: int, seed: int, show_progress: bool):
    from amodal.data.clips import ClipBatchSampler, ClipDataset, collate_clips

    ds = ClipDataset(cfg.data.train, clip_length=cfg.data.clip_length, stride=cfg.data.clip_stride,
                     max_objects=cfg.data.max_objects, augment=cfg.data.augment, seed=seed,
                     scale_range=cfg.data.scale_range, translate=cfg.data.translate,
                     with_amodal=bool(cfg.train.amodal_supervision), show_progress=show_progress and info.is_main,
                     motion_width=cfg.model.completion.motion_width, motion_preset=cfg.model.completion.motion_preset)
    sampler = ClipBatchSampler(len(ds), cfg.train.batch_size, seed, info.rank, info.world, start, cfg.train.steps)
    return torch.utils.data.DataLoader(ds, batch_sampler=sampler, collate_fn=collate_clips,
                                       num_workers=cfg.data.num_workers, worker_init_fn=_worker_init,
                                       persistent_workers=False,
                                       # fork after OpenCV/OpenMP threads ran in this process can deadlock
                                       # the child (seen in cv2.setNumThreads); spawn starts clean.
                                       multiprocessing_context="spawn" if cfg.data.num_workers > 0 else None)


def _close_loader(batches) -> None:
    """Stop the loader's workers now, not in the iterator's `__del__`, where a dead worker's error
    would be printed as an ignored-exception traceback after the one-line error."""
    shutdown = getattr(batches, "_shutdown_workers", None)  # multi-process iterators only
    if shutdown is not None:
        try:
            shutdown()
        except (RuntimeError, OSError):  # the dead worker's SIGCHLD error: already being reported
            pass


def _worker_init(_: int) -> None:
    import cv2

    cv2.setNumThreads(1)
    torch.set_num_threads(1)


def train(cfg: Config, out_dir: Optional[str] = None, resume: bool = False, overwrite: bool = False,
          stop_after: Optional[int] = None, device: Optional[str] = None, show_progress: bool = True) -> Dict[str, Any]:
    """Train the model described by `cfg`.

    Args:
        cfg: resolved config (cfg.train.out_dir is the run folder unless `out_dir` is given).
        out_dir: run folder.
        resume: continue from `<out_dir>/last.pt`.
        overwrite: empty an existing run folder first (ignored with `resume`).
        stop_after: stop (with a checkpoint) once this step is reached, as if interrupted.
        device: "cpu", "cuda" or None (automatic).
        show_progress: tqdm progress bar on rank 0.

    Returns:
        {"step": last step, "val": last validation metrics or {}, "run_dir": str, "model": the trained
        AmodalModel of this process, "main": whether this process is rank 0 (or the only one)}.

    Raises:
        TrainingError: the loss became NaN/inf (the last good checkpoint is kept).
    """
    from amodal.models.build import build_model

    _check_config(cfg)
    reuse_freed_memory()  # each step's multi-MB tensors: no page faults every step (amodal.utils.allocator)
    info = init_distributed(device)
    run = Path(out_dir or cfg.train.out_dir)
    try:
        return _train(cfg, run, resume, overwrite, stop_after, info, show_progress, build_model)
    except (RuntimeError, ConnectionError, EOFError) as exc:
        # PyTorch reports a dead worker from its SIGCHLD handler, anywhere in the loop; a worker killed
        # while sending a batch can also surface as a broken connection.
        if isinstance(exc, RuntimeError) and "DataLoader worker" not in str(exc):
            raise
        last = run / "last.pt"
        why = (str(exc).strip().splitlines() or [type(exc).__name__])[0]  # a broken pipe's EOFError has no message
        raise TrainingError(f"a data-loader worker died ({why}); the last good "
                            f"checkpoint is {last if last.exists() else 'none'}") from None
    finally:
        cleanup(info)


def _train(cfg, run, resume, overwrite, stop_after, info, show_progress, build_model) -> Dict[str, Any]:
    ckpt_path = run / "last.pt"
    if info.is_main:
        if resume:
            if not ckpt_path.is_file():
                raise CheckpointError(f"--resume: no checkpoint {ckpt_path}")
            run.mkdir(parents=True, exist_ok=True)
        else:
            prepare_output_dir(run, overwrite)
        atomic_write_text(run / "config.yaml", yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
    barrier(info)
    torch.manual_seed(cfg.train.seed)
    model = build_model(cfg).to(info.device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
    start = 0
    if cfg.train.init and not resume:
        load_init(model, cfg)
    if resume:
        ckpt = load_checkpoint(ckpt_path)
        load_state_strict(model, ckpt["model"], str(ckpt_path))
        if ckpt.get("optimizer") is None:
            raise CheckpointError(f"{ckpt_path}: has no optimizer state, cannot resume")
        optimizer.load_state_dict(ckpt["optimizer"])
        set_rng_state(ckpt.get("rng", {}))
        start = int(ckpt["step"])
        changed = changed_settings(ckpt.get("config") or {}, config_to_dict(cfg))
        if changed and info.is_main:  # e.g. more steps on purpose; or a --set forgotten from the first command
            print(f"amodal train: resuming {ckpt_path} at step {start} with changed settings: {', '.join(changed)}",
                  file=sys.stderr)
    freeze_untrained(model, cfg)
    step_module: nn.Module = TrainStep(model, cfg, future_teacher(cfg, info.device))
    if info.enabled:
        step_module = nn.parallel.DistributedDataParallel(
            step_module, device_ids=[info.device.index] if info.device.type == "cuda" else None)
    loader = _loader(cfg, info, start, cfg.train.seed, show_progress)
    total = cfg.train.steps if stop_after is None else min(cfg.train.steps, stop_after)
    logger = RunLogger(run, enabled=info.is_main)
    bar = None
    if show_progress and info.is_main:
        from tqdm import tqdm

        bar = tqdm(total=total, initial=start, desc="train", unit="step", dynamic_ncols=True)
    val: Dict[str, Any] = {}
    step = start
    t_last = time.perf_counter()
    batches = iter(loader)
    try:
        for batch in batches:
            if step >= total:
                break
            model.train()
            lr = learning_rate(cfg, step)
            for group in optimizer.param_groups:
                group["lr"] = lr
            rng = np.random.default_rng([cfg.train.seed, step, info.rank])
            losses = step_module(batch.to(info.device), rng)
            bad = not bool(torch.isfinite(losses["total"]).item())
            if any_flag(info, bad):
                names = [k for k, v in losses.items() if not torch.isfinite(v).all()]
                raise TrainingError(f"loss became NaN/inf at step {step} (terms: {', '.join(names) or 'another rank'}); "
                                    f"the last good checkpoint is {ckpt_path if ckpt_path.exists() else 'none'}")
            optimizer.zero_grad(set_to_none=True)
            losses["total"].backward()
            gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
            optimizer.step()
            step += 1
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{losses['total'].item():.4f}")
            if step % cfg.train.log_every == 0 or step == total:
                now = time.perf_counter()
                rec = {k: v.item() for k, v in losses.items()}
                rec.update(lr=lr, grad_norm=float(gnorm), sec_per_step=(now - t_last) / cfg.train.log_every)
                t_last = now
                logger.log(step, rec)
            if info.is_main and (step % cfg.train.ckpt_every == 0 or step == total):
                save_checkpoint(ckpt_path, model, cfg, step, optimizer)
            if cfg.train.val_every and (step % cfg.train.val_every == 0 or step == cfg.train.steps):
                if info.is_main and cfg.data.val:
                    val = validate(model, cfg, info.device)
                    logger.log(step, val, kind="val")
                    atomic_write_json(run / "val.json", {"step": step, **val}, indent=2)
                barrier(info)
    finally:
        _close_loader(batches)
        if bar is not None:
            bar.close()
        logger.close()
    sync_buffers(info, model)
    if info.is_main and step >= cfg.train.steps:
        save_checkpoint(run / "model.pt", model, cfg, step, extra={"val": val})
    barrier(info)
    return {"step": step, "val": val, "run_dir": str(run), "model": model, "main": info.is_main}


def validate(model: nn.Module, cfg: Config, device: torch.device, max_videos: Optional[int] = None) -> Dict[str, Any]:
    """Amodal metrics on the held-out split with ground-truth visible masks given (evaluation only).

    Runs the streaming session over each of the first `cfg.train.val_videos` videos. Per object-frame
    (objects with a visible mask): full IoU of the amodal mask, strict occluded IoU ((P minus V) vs
    (G minus V), only where G minus V is non-empty), and the same for the copy-visible baseline.
    """
    from amodal.data.clips import read_video_frames
    from amodal.data.format import load_dataset
    from amodal.inference.session import AmodalSession
    from amodal.utils.masks import mask_iou

    ds = load_dataset(cfg.data.val, read_amodal=True)
    if not ds.has_amodal:
        raise ConfigError(f"data.val {cfg.data.val}: validation needs amodal_segmentations on every track")
    was_training = model.training
    model.eval()
    full, strict, base_full, n_frames, t_total = [], [], [], 0, 0.0
    try:
        for video in ds.videos[: max_videos or cfg.train.val_videos]:
            tracks = ds.tracks(video.id)
            session = AmodalSession(model, device=str(device), max_objects=max(len(tracks), 1))
            frames = read_video_frames(ds, video.id, range(video.length))
            for t, image in enumerate(frames):
                vis = {tr.id: tr.visible_mask(t) for tr in tracks}
                vis = {k: v for k, v in vis.items() if v.any()}
                t0 = time.perf_counter()
                res = session.step(image, vis)
                t_total += time.perf_counter() - t0
                n_frames += 1
                for i, tid in enumerate(res.object_ids):
                    tr = next(x for x in tracks if x.id == tid)
                    g, v, p = tr.amodal_mask(t), res.visible[i], res.amodal[i]
                    if not g.any():
                        continue
                    full.append(mask_iou(p, g))
                    base_full.append(mask_iou(v, g))
                    hidden = g & ~v
                    if hidden.any():
                        strict.append(mask_iou(p & ~v, hidden))
    finally:
        model.train(was_training)
    mean = lambda xs: float(np.mean(xs)) if xs else float("nan")  # noqa: E731
    return {"full_miou": mean(full), "occluded_miou": mean(strict), "baseline_full_miou": mean(base_full),
            "baseline_occluded_miou": 0.0 if strict else float("nan"), "object_frames": len(full),
            "occluded_object_frames": len(strict), "fps": n_frames / t_total if t_total else float("nan")}
