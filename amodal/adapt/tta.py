"""Test-time adaptation of an `AmodalPredictor` to one video (`AmodalPredictor.adapt`, `amodal adapt`).

Pseudo-labels go to a temporary folder (frames on disk, read back one clip at a time) that is
removed afterwards; the adaptation runs on a deep copy of the predictor's current model, which the
predictor then uses. The model the predictor was created with is kept aside for `reset_weights()`;
no checkpoint file is ever written unless `save_to` is given (and never over the loaded one).
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Optional, Sequence, Union

from amodal.errors import InputError, OutputWriteError
from amodal.utils.checks import check_int

PathLike = Union[str, Path]


def _model_config(predictor: Any) -> Any:
    cfg = getattr(predictor, "config", None)
    if cfg is None:
        cfg = getattr(predictor.model, "cfg", None)
    if cfg is None:
        raise InputError("this predictor's model carries no config; build it with AmodalPredictor.from_checkpoint")
    return cfg


def check_save_target(save_to: Optional[PathLike], loaded: Optional[PathLike], name: str = "save_to",
                      inputs: Sequence[Any] = ()) -> None:
    """Refuse writing adapted weights over the checkpoint they were loaded from, over one of the
    run's `inputs` (the video, its masks, the config: paths, other values are skipped), onto a
    folder, or under a file; `name` is how the error names the target (argument or option)."""
    if save_to is None:
        return
    target = Path(save_to)
    if target.is_dir():
        raise InputError(f"{name} {target} is a folder; give a checkpoint file name (e.g. adapted.pt)")
    parent = next((p for p in target.absolute().parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise InputError(f"{name} {target}: {parent} is a file, not a folder")
    if loaded is not None and target.resolve() == Path(loaded).resolve():
        raise InputError(f"{name} {target} is the checkpoint the predictor was loaded from; it is never overwritten, "
                         "choose another file")
    for path in inputs:
        if isinstance(path, (str, Path)) and Path(path).exists() and target.resolve() == Path(path).resolve():
            raise InputError(f"{name} {target} is one of the inputs ({path}); it is never overwritten, choose another file")


def _working_folder(work_dir: Optional[PathLike]) -> "tempfile.TemporaryDirectory":
    """A temporary folder for the pseudo-labels in `work_dir` (made if missing; default: the system's).

    Raises:
        OutputWriteError: naming `work_dir` when no folder can be made there (read-only, under a file, ...).
    """
    try:
        if work_dir is not None:
            Path(work_dir).mkdir(parents=True, exist_ok=True)
        return tempfile.TemporaryDirectory(prefix="amodal-adapt-", dir=work_dir)
    except OSError as exc:
        where = tempfile.gettempdir() if work_dir is None else work_dir
        raise OutputWriteError(f"cannot make a working folder for the pseudo-labels in {where}: "
                               f"{exc.strerror or exc}") from None


def adapt_predictor(predictor: Any, source: Any, steps: Optional[int] = None, visible_masks: Any = None,
                    save_to: Optional[PathLike] = None, config: Optional[PathLike] = None, overrides: Sequence[str] = (),
                    work_dir: Optional[PathLike] = None, show_progress: bool = False) -> Any:
    """Adapt `predictor` to the video `source` (see `AmodalPredictor.adapt`); returns an `AdaptReport`.

    Args:
        work_dir: parent folder of the temporary pseudo-label folder (default: the system's).
    """
    from amodal.adapt.adapter import adapt_model, clip_span, copy_model
    from amodal.adapt.pseudo_labels import pseudo_label
    from amodal.adapt.settings import finetune_config
    from amodal.engine.checkpoint import save_checkpoint

    if steps is not None:
        check_int(steps, "steps")
    check_save_target(save_to, getattr(predictor, "checkpoint_path", None), inputs=(source, visible_masks, config))
    extra = [f"train.steps={steps}"] if steps is not None else []
    cfg = finetune_config(_model_config(predictor), config, list(overrides) + extra)
    if isinstance(source, (list, tuple)) and source and isinstance(source[0], (str, Path)):
        raise InputError("adapt takes one video: a path, a frame array (T, H, W, 3) or a list of frames")
    with _working_folder(work_dir) as tmp:
        summary = pseudo_label([source], Path(tmp), predictor if visible_masks is None else None, visible_masks,
                               max_side=cfg.adapt.max_side, min_track_frames=cfg.adapt.min_track_frames,
                               show_progress=show_progress,
                               motion_width=cfg.model.completion.motion_width,
                               motion_preset=cfg.model.completion.motion_preset)
        predictor.reset()
        span = clip_span(cfg)
        if summary.frames < 2 * span:
            name = source if isinstance(source, (str, Path)) else "the video"
            raise InputError(f"{name} has {summary.frames} frames; adaptation needs at least {2 * span} (a training "
                             f"part and a held-back part of one {span}-frame clip each, data.clip_length="
                             f"{cfg.data.clip_length})")
        cfg.data.train, cfg.data.val = str(summary.json_path), ""
        work = copy_model(predictor.model)
        report = adapt_model(work, cfg, summary.json_path, device=predictor.device, show_progress=show_progress)
    report.pseudo_label_seconds = summary.seconds
    cfg.data.train = str(source) if isinstance(source, (str, Path)) else ""  # the temporary JSON is gone
    if getattr(predictor, "_original_model", None) is None:
        predictor._original_model = predictor.model
    predictor._install_model(work)
    if save_to is not None:
        save_checkpoint(save_to, work, cfg, report.best_step,
                        extra={"adapted_from": str(getattr(predictor, "checkpoint_path", None)),
                               "adapt": {k: v for k, v in report.to_dict().items() if k != "history"}})
    return report


__all__ = ["adapt_predictor", "check_save_target"]
