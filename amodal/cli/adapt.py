"""`amodal adapt`: test-time adaptation on one video, then inference with the adapted weights.

    amodal adapt VIDEO --out DIR [--steps N] [--checkpoint CKPT] [--visible-masks PATH]
                 [--save-checkpoint PATH] [--config YAML] [--set key=value] [--overwrite] ...

Writes the same files as `amodal infer` (predictions.json, overlay.mp4, summary.json, masks/ with
--save-png) plus `adaptation.json` (the AdaptReport). See docs/ADAPTATION.md.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from amodal.config import DETECTORS

HELP = "adapt the model to one video without labels (self-supervised), then segment it"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", metavar="VIDEO", help="video file or frame folder")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--steps", type=int, default=None, metavar="N",
                        help="most adaptation steps (default: train.steps of the recipe, 300)")
    parser.add_argument("--checkpoint", metavar="CKPT", default=None,
                        help="checkpoint to adapt (default: the shipped amodal/weights/default.pt); never modified")
    parser.add_argument("--visible-masks", metavar="PATH", default=None,
                        help="visible masks of the video (folder of instance-id PNGs or native JSON) instead of "
                             "the built-in segmentation; used for adaptation and inference")
    parser.add_argument("--save-checkpoint", metavar="PATH", default=None, help="also save the adapted weights here")
    parser.add_argument("--config", default=None,
                        help="YAML with data/train/adapt sections (default: the configs/finetune.yaml recipe)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a recipe key, e.g. --set adapt.patience=5 (repeatable)")
    parser.add_argument("--mode", choices=("stream", "offline"), default="stream", help="inference mode (stream)")
    parser.add_argument("--detector", choices=DETECTORS, default=None,
                        help="without --visible-masks, where the objects (and so the pseudo-labels) come from: the "
                             "visible-mask 'network' (the checkpoint's default), 'motion' or 'network+motion' "
                             "(as in amodal infer)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument("--max-objects", type=int, default=16, metavar="N", help="most objects tracked at once (16)")
    parser.add_argument("--max-side", type=int, default=1280, metavar="PX",
                        help="frames with a longer side are processed downscaled at inference (1280)")
    parser.add_argument("--fps", type=float, default=None, help="frame rate of a frame folder (default 30)")
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="torch/OpenCV intra-op threads for adaptation and inference (default: torch's own "
                             "choice); on a shared CPU 1 is often faster")
    parser.add_argument("--save-png", action="store_true", help="also write per-frame PNG masks under masks/")
    parser.add_argument("--no-video", action="store_true", help="do not write overlay.mp4")
    parser.add_argument("--overwrite", action="store_true", help="replace the contents of an existing output folder")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def _check(args: argparse.Namespace) -> Path:
    """Validate the arguments before any model is loaded; returns the checkpoint path."""
    from amodal.adapt.tta import check_save_target
    from amodal.cli.infer import _refuse_existing, is_live
    from amodal.engine.checkpoint import DEFAULT_CHECKPOINT
    from amodal.errors import CheckpointError, InputError
    from amodal.utils.files import refuse_inputs_inside
    from amodal.utils.checks import check_max_side
    from amodal.utils.threads import check_threads

    if is_live(args.video):
        raise InputError(f"{args.video} is a live source; adaptation needs a finite video (a file or frame folder)")
    if not Path(args.video).exists():
        raise InputError(f"source not found: {args.video}")
    if args.steps is not None and args.steps < 0:
        raise InputError(f"--steps must be >= 0, got {args.steps}")
    if args.max_objects < 1:
        raise InputError(f"--max-objects must be >= 1, got {args.max_objects}")
    check_threads(args.threads, "--threads")
    check_max_side(args.max_side, "--max-side")
    if args.visible_masks is not None and not Path(args.visible_masks).exists():
        raise InputError(f"--visible-masks {args.visible_masks}: no such file or folder")
    checkpoint = Path(args.checkpoint) if args.checkpoint else Path(DEFAULT_CHECKPOINT)
    if not checkpoint.is_file():
        raise CheckpointError(f"checkpoint not found: {checkpoint}" + ("" if args.checkpoint else " (pass --checkpoint CKPT)"))
    check_save_target(args.save_checkpoint, checkpoint, "--save-checkpoint",
                      inputs=(args.video, args.visible_masks, args.config))
    if args.detector is not None and args.visible_masks is not None:
        raise InputError("--detector makes the visible masks: give it or --visible-masks, not both")
    out = Path(args.out)
    refuse_inputs_inside(out, [args.video, args.visible_masks, str(checkpoint), args.config], "--out")
    if args.save_checkpoint and out.resolve() in Path(args.save_checkpoint).resolve().parents:
        raise InputError(f"--save-checkpoint {args.save_checkpoint} is inside --out, which is cleared before the "
                         "results are written; save it elsewhere")
    if not args.overwrite:
        _refuse_existing(out)
    return checkpoint


def run(args: argparse.Namespace) -> int:
    from amodal.adapt.settings import finetune_config
    from amodal.adapt.tta import adapt_predictor
    from amodal.api import AmodalPredictor
    from amodal.cli.infer import _run_one
    from amodal.utils.files import atomic_write_json

    checkpoint = _check(args)
    predictor = AmodalPredictor.from_checkpoint(checkpoint, device=args.device, max_objects=args.max_objects,
                                                max_side=args.max_side, threads=args.threads, detector=args.detector)
    finetune_config(predictor.config, args.config, args.overrides)  # config errors before the slow part
    out = Path(args.out)
    report = adapt_predictor(predictor, args.video, steps=args.steps, visible_masks=args.visible_masks,
                             save_to=args.save_checkpoint, config=args.config, overrides=args.overrides,
                             work_dir=out.resolve().parent, show_progress=not args.quiet)
    label = f"{checkpoint} (adapted: {report.steps_run} steps, best step {report.best_step})"
    status = _run_one(predictor, args.video, out, args, label)
    atomic_write_json(out / "adaptation.json", {"checkpoint": str(checkpoint), "saved_checkpoint": args.save_checkpoint,
                                                **report.to_dict()}, indent=2)
    print(f"amodal adapt: {report.steps_run} steps in {report.seconds:.1f} s (+{report.pseudo_label_seconds:.1f} s "
          f"pseudo-labels); held-back loss {report.loss_before:.4f} -> {report.loss_after:.4f} (best step "
          f"{report.best_step}{', stopped early: ' + report.stop_reason if report.stopped_early else ''})")
    print(f"  adaptation:    {out / 'adaptation.json'}")
    if args.save_checkpoint:
        print(f"  checkpoint:    {args.save_checkpoint}")
    return status
