"""`amodal train`: self-supervised training (or the amodal-supervised upper bound).

    amodal train --config configs/default.yaml [--set key=value ...] [--out DIR] [--resume]
    amodal train --data MY_VIDEOS [--visible-masks PATH | --detector D] [--init CKPT] --config configs/finetune.yaml --out RUN

With `--data`, the `--init` checkpoint (default: the shipped weights) is fine-tuned, self-supervised,
on your own videos (see docs/ADAPTATION.md and `amodal.adapt.finetune`).

Under `torchrun --nproc_per_node=N amodal train ...` (or `python -m torch.distributed.run`) it
trains with DistributedDataParallel (gloo on CPU, nccl on GPU).
"""
from __future__ import annotations

import argparse

from amodal.config import DETECTORS

HELP = "train the amodal model (self-supervised from RGB + visible masks; see docs/TRAINING.md)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=None, help="YAML config (default: built-in defaults)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key, e.g. --set train.steps=500 (repeatable)")
    parser.add_argument("--out", default=None, help="run folder (default: train.out_dir of the config)")
    parser.add_argument("--resume", action="store_true", help="continue from <run folder>/last.pt")
    parser.add_argument("--overwrite", action="store_true", help="empty an existing run folder first")
    parser.add_argument("--stop-after", type=int, default=None, metavar="STEP",
                        help="stop with a checkpoint at this step (resume later with --resume)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available; with --data: cpu)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--data", default=None, metavar="MY_VIDEOS",
                        help="fine-tune on your own videos: a folder of videos (or frame folders), one video, or a "
                             "native JSON without amodal fields (see docs/ADAPTATION.md)")
    parser.add_argument("--init", default=None, metavar="CKPT",
                        help="with --data: checkpoint to start from (default: the shipped weights)")
    parser.add_argument("--visible-masks", default=None, metavar="PATH",
                        help="with --data: visible masks of the videos (instance-id PNG folders or native JSON) "
                             "instead of the checkpoint's visible-mask network")
    parser.add_argument("--detector", choices=DETECTORS, default=None,
                        help="with --data and without --visible-masks: where the objects (and so the pseudo-labels) "
                             "come from: the visible-mask 'network' (the checkpoint's default), 'motion' or "
                             "'network+motion' (as in amodal infer)")


def run(args: argparse.Namespace) -> int:
    import json

    from amodal.config import load_config
    from amodal.engine.trainer import train

    if args.data is not None:
        return _run_finetune(args)
    from amodal.errors import InputError

    if args.init is not None or args.visible_masks is not None or args.detector is not None:
        raise InputError("--init, --visible-masks and --detector are used with --data (fine-tuning on your own videos)")
    import warnings

    # Under torchrun: the visible net's one-input-channel convolutions get channels_last gradients whose
    # strides differ from DDP's buckets but whose memory is the same; PyTorch warns once per rank.
    warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
    cfg = load_config(args.config, args.overrides)
    result = train(cfg, args.out, resume=args.resume, overwrite=args.overwrite, stop_after=args.stop_after,
                   device=args.device, show_progress=not args.quiet)
    result.pop("model", None)
    if result.pop("main", True):  # under torchrun, one line from rank 0 (the others validate nothing)
        print(json.dumps(result, default=str))
    return 0


def _run_finetune(args: argparse.Namespace) -> int:
    """`--data`: self-supervised fine-tuning of a checkpoint on the user's videos (amodal.adapt.finetune)."""
    import json
    import os

    from amodal.adapt.finetune import finetune
    from amodal.errors import InputError

    if args.resume or args.stop_after is not None:
        raise InputError("--resume and --stop-after are not available with --data (fine-tuning runs are short; "
                         "start again with --overwrite)")
    if os.environ.get("WORLD_SIZE", "1").strip() not in ("", "1"):
        raise InputError("--data runs in one process; start it without torchrun")
    if args.out is None:
        raise InputError("--out RUN is required with --data")
    if args.detector is not None and args.visible_masks is not None:
        raise InputError("--detector makes the visible masks: give it or --visible-masks, not both")
    result = finetune(args.data, args.out, init=args.init, visible_masks=args.visible_masks, config=args.config,
                      overrides=args.overrides, overwrite=args.overwrite, device=args.device,
                      show_progress=not args.quiet, detector=args.detector)
    report = result["report"]
    result["report"] = {k: v for k, v in report.items() if k != "history"}
    print(json.dumps(result, default=str))
    return 0
