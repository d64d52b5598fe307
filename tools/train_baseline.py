#!/usr/bin/env python
"""Train a learned baseline (PCNet-M or SaVos) on a native-format dataset, self-supervised.

    python tools/train_baseline.py {pcnet,savos} --data TRAIN.json --out RUN_DIR
        [--steps N] [--minutes M] [--seed S] [--config YAML] [--set key=value ...] [--overwrite]

Only RGB frames and visible masks are read (the dataset is loaded without amodal fields).
Writes RUN_DIR/config.yaml, RUN_DIR/log.jsonl and RUN_DIR/checkpoint.pt. `amodal eval --model
NAME` looks for runs/baselines/NAME/checkpoint.pt by default (see docs/BASELINES.md).
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("baseline", choices=["pcnet", "savos"])
    p.add_argument("--data", required=True, help="training annotations (native JSON); amodal fields are ignored")
    p.add_argument("--out", required=True, help="run folder (refused if not empty, unless --overwrite)")
    p.add_argument("--config", help="YAML config (default: configs/baselines/<baseline>.yaml)")
    p.add_argument("--steps", type=int, help="maximum number of steps")
    p.add_argument("--minutes", type=float, help="wall-time budget in minutes")
    p.add_argument("--seed", type=int, help="random seed")
    p.add_argument("--image-root", help="folder the frame file names are relative to")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="config override, e.g. --set train.batch_size=4 (repeatable)")
    p.add_argument("--overwrite", action="store_true", help="empty an existing --out first")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from amodal.errors import AmodalError

    try:
        from amodal.baselines.config import load_baseline_config
        from amodal.baselines.train_loop import train_baseline

        cfg = load_baseline_config(args.baseline, args.config, args.overrides)
        if args.steps is not None:
            cfg.train.steps = args.steps
            if args.minutes is None:
                cfg.train.minutes = 0.0
        if args.minutes is not None:
            cfg.train.minutes = args.minutes
            if args.steps is None:
                cfg.train.steps = 10**9
        if args.seed is not None:
            cfg.train.seed = args.seed
        result = train_baseline(args.baseline, args.data, args.out, cfg, overwrite=args.overwrite,
                                image_root=args.image_root, quiet=args.quiet)
    except AmodalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"trained {args.baseline} for {result['steps']} steps; checkpoint {result['checkpoint']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
