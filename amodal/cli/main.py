"""`amodal` entry point: dispatches to subcommand modules in `amodal.cli`.

Each subcommand module defines `HELP: str`, `add_arguments(parser)` and `run(args) -> int`,
and imports heavy libraries (torch, cv2, ...) inside `run` so that `amodal --help` is fast.
User errors (`AmodalError`) and operating-system errors (`OSError`: a folder that cannot be made, a
file that cannot be read or written) print one line `amodal <cmd>: error: ...` and exit 2.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import sys
import warnings
from typing import Any, Callable, Iterator, List, Optional

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


def _one_line_warning(command: str) -> Callable[..., None]:
    """A `warnings.showwarning` that prints `amodal <cmd>: warning: <message>` on one line."""

    def show(message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
        text = " ".join(str(message).split())
        print(f"amodal {command}: warning: {text}", file=sys.stderr if file is None else file)

    return show


@contextlib.contextmanager
def _one_line_log_warnings(command: str) -> Iterator[None]:
    """While a command runs, `amodal.*` log warnings print as `amodal <cmd>: warning: ...` (unless the
    caller configured logging)."""
    import logging

    logger = logging.getLogger("amodal")
    if logger.handlers or logging.getLogger().handlers:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter(f"amodal {command}: warning: %(message)s"))
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def main(argv: Optional[List[str]] = None) -> int:
    from amodal.errors import AmodalError

    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_module", None) is None:
        parser.print_help()
        return 2
    try:
        with warnings.catch_warnings(), _one_line_log_warnings(args.command):
            warnings.showwarning = _one_line_warning(args.command)  # not "file:line: UserWarning" + code
            return int(args._module.run(args) or 0)
    except AmodalError as exc:
        message = " ".join(part.strip() for part in str(exc).splitlines() if part.strip())  # always one line
        print(f"amodal {args.command}: error: {message}", file=sys.stderr)
        return 2
    except OSError as exc:  # a folder that cannot be made, a file that cannot be read or written
        print(f"amodal {args.command}: error: {_os_error_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"amodal {args.command}: interrupted", file=sys.stderr)
        return 130


def _os_error_line(exc: OSError) -> str:
    """One line for an operating-system error: 'PATH: reason' (e.g. '/data/out: Not a directory')."""
    reason = exc.strerror or str(exc)
    paths = [str(p) for p in (exc.filename, exc.filename2) if p is not None]
    return f"{' -> '.join(paths)}: {reason}" if paths else reason


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
