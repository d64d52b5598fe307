"""`amodal train`: self-supervised training (or the amodal-supervised upper bound).

    amodal train --config configs/default.yaml [--set key=value ...] [--out DIR] [--resume]

Under `torchrun --nproc_per_node=N amodal train ...` (or `python -m torch.distributed.run`) it
trains with DistributedDataParallel (gloo on CPU, nccl on GPU).
"""
from __future__ import annotations

import argparse

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
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    import json

    from amodal.config import load_config
    from amodal.engine.trainer import train

    cfg = load_config(args.config, args.overrides)
    result = train(cfg, args.out, resume=args.resume, overwrite=args.overwrite, stop_after=args.stop_after,
                   device=args.device, show_progress=not args.quiet)
    result.pop("model", None)
    print(json.dumps(result, default=str))
    return 0
