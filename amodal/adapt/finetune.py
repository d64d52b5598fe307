"""`amodal train --data MY_VIDEOS`: self-supervised fine-tuning of a checkpoint on the user's videos.

Run folder:

| file | content |
|---|---|
| `pseudo/annotations.json`, `pseudo/frames/` | pseudo-labels: visible masks + tracks, no amodal fields |
| `config.yaml` | the resolved config (model section from the `--init` checkpoint) |
| `log.jsonl` | training records and held-back validation records (`"kind": "val"`) |
| `model.pt` | the best weights (by held-back self-supervised loss), loadable by `amodal infer` |
| `report.json` | the `AdaptReport` (loss before/after, steps, early stop, seconds) |

With `MY_VIDEOS` a native JSON (visible masks given, amodal fields ignored and never parsed),
there is no pseudo-labelling; the motion cache then lives in `RUN/cache/`.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Iterable, Optional, Union

import yaml

from amodal.errors import InputError

PathLike = Union[str, Path]
AMODAL_KEYS = ("amodal_segmentations", "amodal_bboxes", "amodal_areas")


def finetune(data: PathLike, out_dir: PathLike, init: Optional[PathLike] = None, visible_masks: Optional[PathLike] = None,
             config: Optional[PathLike] = None, overrides: Iterable[str] = (), overwrite: bool = False,
             device: Optional[str] = None, show_progress: bool = True, detector: Optional[str] = None) -> Dict[str, Any]:
    """Fine-tune `init` on `data` (a folder of videos, one video, or a native JSON) into `out_dir`.

    Args:
        data: video file, folder of video files / frames / frame folders, or a native JSON.
        out_dir: run folder (refused when not empty unless `overwrite`).
        init: checkpoint to start from (default: the shipped `amodal/weights/default.pt`).
        visible_masks: visible masks for the videos (PNG folder, folder of per-video PNG folders,
            or a native JSON); default: the checkpoint's visible net + tracker.
        config: YAML with data / train / adapt sections (default: `configs/finetune.yaml` values).
        overrides: `key=value` overrides.
        overwrite: empty an existing run folder first.
        device: "cpu" / "cuda" (default: cpu).
        show_progress: progress bars.
        detector: without `visible_masks`, where the objects come from ("network", "motion",
            "network+motion"; None: the checkpoint's `model.visible.detector`).

    Returns:
        {"run_dir", "model", "report": AdaptReport as a dict, "pseudo_labels": summary or None}.
    """
    from amodal.adapt.adapter import adapt_model
    from amodal.adapt.pseudo_labels import list_videos, pseudo_label
    from amodal.adapt.settings import finetune_config
    from amodal.api import AmodalPredictor, resolve_device
    from amodal.config import config_to_dict
    from amodal.engine.checkpoint import DEFAULT_CHECKPOINT, load_model, save_checkpoint
    from amodal.engine.logging import RunLogger
    from amodal.errors import CheckpointError
    from amodal.utils.files import atomic_write_json, atomic_write_text, output_dir_undone_on_error, refuse_inputs_inside

    data_p, run = Path(data), Path(out_dir)
    init_p = Path(init) if init is not None else Path(DEFAULT_CHECKPOINT)
    if not data_p.exists():
        raise InputError(f"--data {data_p}: no such file or folder")
    if not init_p.is_file():
        raise CheckpointError(f"checkpoint not found: {init_p}" + (" (the shipped weights are missing; pass --init CKPT)"
                                                                   if init is None else ""))
    if visible_masks is not None and not Path(visible_masks).exists():
        raise InputError(f"--visible-masks {visible_masks}: no such file or folder")
    refuse_inputs_inside(run, [data_p, init_p, visible_masks, config], "run folder")
    is_json = data_p.is_file() and data_p.suffix.lower() == ".json"
    if is_json and visible_masks is not None:
        raise InputError("--visible-masks is for videos; a native JSON (--data) already holds the visible masks")
    videos = None if is_json else list_videos(data_p)
    dev = resolve_device(device or "cpu")
    model, ckpt_cfg = load_model(init_p, device=str(dev))
    cfg = finetune_config(ckpt_cfg, config, overrides)
    with output_dir_undone_on_error(run, overwrite):  # a failed run leaves nothing to --overwrite
        summary = None
        if is_json:
            from amodal.data.format import load_dataset

            load_dataset(data_p, read_amodal=False, check_files=True)  # fail early, naming the file
            json_path = _with_private_cache(data_p, run)
        else:
            predictor = None
            if visible_masks is None:
                predictor = AmodalPredictor(model, config=ckpt_cfg, device=str(dev), max_side=None, detector=detector)
            summary = pseudo_label(videos, run / "pseudo", predictor, visible_masks, max_side=cfg.adapt.max_side,
                                   min_track_frames=cfg.adapt.min_track_frames, show_progress=show_progress,
                                   motion_width=cfg.model.completion.motion_width,
                                   motion_preset=cfg.model.completion.motion_preset)
            json_path = summary.json_path
        cfg.data.train, cfg.data.val = str(json_path), ""
        cfg.train.out_dir = str(run)
        atomic_write_text(run / "config.yaml", yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
        with RunLogger(run) as logger:
            report = adapt_model(model, cfg, json_path, device=dev, logger=logger, show_progress=show_progress)
        if summary is not None:
            report.pseudo_label_seconds = summary.seconds
        save_checkpoint(run / "model.pt", model, cfg, report.best_step,
                        extra={"init": str(init_p), "adapt": _small(report.to_dict())})
        atomic_write_json(run / "report.json", report.to_dict(), indent=2)
    return {"run_dir": str(run), "model": str(run / "model.pt"), "report": report.to_dict(),
            "pseudo_labels": None if summary is None else {"videos": summary.videos, "frames": summary.frames,
                                                           "tracks": summary.tracks, "seconds": round(summary.seconds, 2)}}


def _with_private_cache(json_path: Path, run: Path) -> Path:
    """A copy of the user's JSON in `RUN/cache/` without amodal fields (dropped unread), whose frames
    still resolve to the user's files, so the motion cache is written there, never beside the data."""
    from amodal.data.format import default_image_root
    from amodal.utils.files import atomic_write_json

    d = json.loads(json_path.read_text(encoding="utf-8-sig"))
    root = default_image_root(json_path).resolve()
    for v in d.get("videos", []):
        if isinstance(v, dict):
            if isinstance(v.get("video_file"), str) and not Path(v["video_file"]).is_absolute():
                v["video_file"] = str((json_path.parent / v["video_file"]).resolve())
            if isinstance(v.get("file_names"), list):
                v["file_names"] = [str(root / f) if isinstance(f, str) and not Path(f).is_absolute() else f
                                   for f in v["file_names"]]
    for a in d.get("annotations", []):
        if isinstance(a, dict):
            for key in AMODAL_KEYS:
                a.pop(key, None)
    out = run / "cache" / "annotations.json"
    atomic_write_json(out, d)
    return out


def _small(report: Dict[str, Any]) -> Dict[str, Any]:
    """The report without its history (checkpoint metadata stays small)."""
    return {k: v for k, v in report.items() if k != "history"}


__all__ = ["finetune"]
