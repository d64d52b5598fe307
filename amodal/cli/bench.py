"""`amodal bench`: measure speed, latency, memory, training and generator throughput on this machine.

Writes the markdown report (default docs/BENCHMARKS.md in the current folder), the raw numbers beside it
(benchmarks.json) and plots in images/bench_*.png next to it, and prints a summary table.
"""
from __future__ import annotations

import argparse
import shlex
import sys

HELP = ("benchmark speed, latency, memory and throughput; writes a report (default: docs/BENCHMARKS.md in the "
        "current folder)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from amodal.bench.settings import STAGES

    parser.add_argument("--out", default="docs/BENCHMARKS.md",
                        help="markdown report file (default: docs/BENCHMARKS.md in the current folder); "
                        "benchmarks.json and images/ go beside it")
    parser.add_argument("--checkpoint", default=None,
                        help="checkpoint to measure (default: the shipped amodal/weights/default.pt, else a randomly "
                        "initialised model of --config)")
    parser.add_argument("--config", default=None,
                        help="config of the random model used without a checkpoint (default configs/default.yaml)")
    parser.add_argument("--quick", action="store_true", help="fast smoke run with tiny sizes (not representative)")
    parser.add_argument("--repeats", type=int, default=None, help="runs per figure, the median is reported (default 3)")
    parser.add_argument("--stream-frames", type=int, default=None, help="frames of each streaming test video (default 300)")
    parser.add_argument("--offline-frames", type=int, default=None, help="frames of the offline runs (default 100)")
    parser.add_argument("--memory-frames", type=int, default=None, help="length of the memory test stream (default 10000)")
    parser.add_argument("--train-steps", type=int, default=None, help="steps per training-throughput run (default 12)")
    parser.add_argument("--train-log", default=None,
                        help="finished training run folders (or log.jsonl files) of the recipe's stages, "
                             "comma-separated in order: time for the recipe to reach its quality")
    parser.add_argument("--stages", default=None,
                        help=f"comma-separated subset of: {','.join(STAGES)} (default all)")
    parser.add_argument("--threads", type=int, default=None, help="torch/OpenCV threads (default 2)")
    parser.add_argument("--work-dir", default=None,
                        help="keep the generated test data in a new sub-folder of this folder (default: a temporary "
                        "folder, removed after)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def settings_from_args(args: argparse.Namespace):
    """BenchSettings from the command line (ConfigError on bad values)."""
    from pathlib import Path

    from amodal.bench.settings import BenchSettings

    values = {
        "out": Path(args.out),
        "checkpoint": Path(args.checkpoint) if args.checkpoint else None,
        "config": Path(args.config) if args.config else None,
        "repeats": args.repeats,
        "stream_frames": args.stream_frames,
        "offline_frames": args.offline_frames,
        "memory_frames": args.memory_frames,
        "train_steps": args.train_steps,
        "train_log": tuple(Path(p.strip()) for p in args.train_log.split(",") if p.strip()) if args.train_log else (),
        "stages": tuple(s.strip() for s in args.stages.split(",") if s.strip()) if args.stages is not None else None,
        "threads": args.threads,
        "work_dir": Path(args.work_dir) if args.work_dir else None,
        "progress": not args.quiet,
    }
    if args.quick:
        return BenchSettings.quick_defaults(**values)
    return BenchSettings(**{k: v for k, v in values.items() if v is not None}).validated()


def run(args: argparse.Namespace) -> int:
    from amodal.bench.report import stage_error
    from amodal.bench.runner import run_benchmark

    settings = settings_from_args(args)
    command = "amodal " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == ["bench"] else None
    results = run_benchmark(settings, command=command)
    failed = stage_error(results)
    if failed:
        print(f"amodal bench: stages failed: {failed} (see {settings.out})", file=sys.stderr)
        return 1
    return 0
