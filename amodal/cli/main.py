"""`amodal` entry point: dispatches to subcommand modules in `amodal.cli`.

Each subcommand module defines `HELP: str`, `add_arguments(parser)` and `run(args) -> int`,
and imports heavy libraries (torch, cv2, ...) inside `run` so that `amodal --help` is fast.
User errors (`AmodalError`) print one line `amodal <cmd>: error: ...` and exit 2.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from typing import List, Optional

SUBCOMMANDS = ["synth", "train", "infer", "adapt", "eval", "convert", "bench"]


def build_parser() -> argparse.ArgumentParser:
    from amodal import __version__

    parser = argparse.ArgumentParser(prog="amodal", description="Self-supervised amodal video object segmentation.")
    parser.add_argument("--version", action="version", version=f"amodal {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        if importlib.util.find_spec(f"amodal.cli.{name}") is None:
            continue
        module = importlib.import_module(f"amodal.cli.{name}")
        p = sub.add_parser(name, help=getattr(module, "HELP", ""), description=getattr(module, "HELP", ""))
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    from amodal.errors import AmodalError

    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_module", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args._module.run(args) or 0)
    except AmodalError as exc:
        print(f"amodal {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"amodal {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
