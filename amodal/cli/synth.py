"""`amodal synth`: generate synthetic amodal videos with exact visible and amodal masks.

Writes DIR/annotations.json (native format), DIR/frames/<i:05d>/<t:05d>.png,
DIR/videos/<i:05d>.mp4 and DIR/synth_config.yaml, where i = video id - 1.
"""
from __future__ import annotations

import argparse
import re
import sys
from typing import Tuple

HELP = "generate synthetic amodal videos (frames, mp4, exact visible + amodal masks)"
DEFAULT_VIDEOS = 10


def parse_size(text: str) -> Tuple[int, int]:
    """'320x240' -> (320, 240); raises ConfigError otherwise."""
    from amodal.data.synth.config import MAX_SIDE, MIN_SIDE
    from amodal.errors import ConfigError

    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not m:
        raise ConfigError(f"--size must be WIDTHxHEIGHT (e.g. 320x240), got {text!r}")
    width, height = int(m.group(1)), int(m.group(2))
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise ConfigError(f"--size sides must be {MIN_SIDE}..{MAX_SIDE} pixels, got {text!r}")
    return width, height


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="output folder (refused if it exists and is not empty)")
    parser.add_argument("--videos", type=int, default=None, help=f"number of videos (default {DEFAULT_VIDEOS}; "
                        "with --split: the first N videos of the split)")
    parser.add_argument("--frames", type=int, default=None, help="frames per video (default: config, 32)")
    parser.add_argument("--size", default=None, help="frame size WIDTHxHEIGHT, 16..4096 pixels, even sides unless "
                        "--no-mp4 (default: config, 320x240)")
    parser.add_argument("--seed", type=int, default=None,
                        help="run seed >= 0; video i depends only on (seed, i) (default 0)")
    parser.add_argument("--workers", type=int, default=1, help="parallel processes (default 1)")
    parser.add_argument("--config", default=None, help="YAML file overriding the generator defaults "
                        "(e.g. configs/synth/shifted.yaml; configs/synth/photo.yaml adds photo "
                        "textures from the folder tools/collect_photos.py makes)")
    parser.add_argument("--split", choices=["train", "val", "test"], default=None,
                        help="fixed split: train 1000 videos seed 1000, val 50 seed 2000, test 100 seed 3000; "
                        "32 frames, 320x240")
    parser.add_argument("--no-mp4", action="store_true", help="write PNG frames only (no videos/*.mp4)")
    parser.add_argument("--overwrite", action="store_true", help="replace the contents of an existing --out folder")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def resolve(args: argparse.Namespace) -> Tuple[object, int, int]:
    """(SynthConfig, videos, seed) from the command line; raises ConfigError on bad combinations."""
    from amodal.data.synth.config import SPLIT_FRAMES, SPLIT_SIZE, SPLITS, load_synth_config, replace_size
    from amodal.errors import ConfigError

    cfg = load_synth_config(args.config)
    if args.split is not None:
        fixed = [f"--{name}" for name in ("seed", "frames", "size") if getattr(args, name) is not None]
        if fixed:
            raise ConfigError(f"--split {args.split} fixes the seed, frames and size; do not combine it with "
                              f"{', '.join(fixed)}")
        count, seed = SPLITS[args.split]
        if args.videos is not None:
            if not 1 <= args.videos <= count:
                raise ConfigError(f"--videos must be in 1..{count} with --split {args.split}, got {args.videos}")
            count = args.videos
        cfg = replace_size(cfg, SPLIT_SIZE[0], SPLIT_SIZE[1], SPLIT_FRAMES)
        return cfg, count, seed
    width = height = None
    if args.size is not None:
        width, height = parse_size(args.size)
    if args.frames is not None and args.frames < 1:
        raise ConfigError(f"--frames must be >= 1, got {args.frames}")
    cfg = replace_size(cfg, width, height, args.frames)
    videos = DEFAULT_VIDEOS if args.videos is None else args.videos
    if videos < 1:
        raise ConfigError(f"--videos must be >= 1, got {videos}")
    if args.seed is not None and args.seed < 0:
        raise ConfigError(f"--seed must be >= 0, got {args.seed}")
    return cfg, videos, 0 if args.seed is None else args.seed


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from amodal.data.synth.dataset import generate_dataset
    from amodal.errors import ConfigError

    if args.workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {args.workers}")
    cfg, videos, seed = resolve(args)
    if not args.no_mp4 and (cfg.width % 2 or cfg.height % 2):
        raise ConfigError(f"the mp4 encoder needs even frame sides, got {cfg.width}x{cfg.height}: choose even "
                          "ones, or --no-mp4 (PNG frames only)")
    from amodal.utils.files import refuse_inputs_inside

    # --overwrite clears --out: it must not hold the config or the photographs the config reads
    refuse_inputs_inside(args.out, [args.config, cfg.photos or None], "--out")
    data, seconds = generate_dataset(cfg, Path(args.out), videos, seed, workers=args.workers,
                                     with_mp4=not args.no_mp4, overwrite=args.overwrite, progress=not args.quiet)
    frames = sum(v["length"] for v in data["videos"])
    rate = frames / seconds if seconds else float("nan")
    print(f"wrote {videos} videos ({frames} frames, {len(data['annotations'])} object tracks) to {args.out} "
          f"in {seconds:.1f} s ({rate:.0f} frames/s, {args.workers} worker(s))", file=sys.stdout)
    return 0

