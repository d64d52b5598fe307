"""Safe file output: atomic writes and output folders that are never silently overwritten."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Union

from amodal.errors import AmodalError, OutputExistsError, OutputWriteError

PathLike = Union[str, Path]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: PathLike, data: bytes, fsync: bool = True) -> None:
    """Write `data` to a temporary file beside `path`, flush, fsync (unless `fsync` is False), then
    rename over `path`.

    Raises:
        OutputWriteError: naming `path` when it cannot be written (disk full, read-only, ...);
            the previous file, if any, is intact and no temporary file is left.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise OutputWriteError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise


def write_png(path: PathLike, image: Any) -> None:
    """Write a PNG (image as OpenCV takes it: grey, or BGR channels) with `atomic_write_bytes`: under
    a temporary name renamed into place; an OutputWriteError naming `path` when it cannot be written.

    Not fsynced (unlike `atomic_write_bytes`): a run writes many small files per frame, and a
    crash still never leaves a half-written PNG under its final name. Encoded in memory first,
    so a full disk is one Python error, not a libpng message on the terminal.
    """
    import cv2

    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise OutputWriteError(f"cannot encode PNG {path}")
    atomic_write_bytes(path, buf.tobytes(), fsync=False)


def write_figure(fig: Any, path: PathLike, **savefig: Any) -> Path:
    """Save a matplotlib figure as a PNG with `atomic_write_bytes` (an OutputWriteError naming `path`
    when it cannot be written), and close it. `savefig`: options of `Figure.savefig` (dpi, ...)."""
    import io

    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", **savefig)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return Path(path)


def atomic_write_text(path: PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: PathLike, obj: Any, indent: Union[int, None] = None) -> None:
    atomic_write_text(path, json.dumps(obj, indent=indent))


def print_json(obj: Any, path: Optional[PathLike] = None) -> None:
    """Print `obj` as one JSON line (a tool's result) and, with `path`, also write that line there atomically."""
    text = json.dumps(obj)
    print(text)
    if path:
        atomic_write_text(path, text + "\n")


def run_json_tool(name: str, compute: Callable[[], Any], path: Optional[PathLike] = None,
                  render: Optional[Callable[[Any], str]] = None) -> int:
    """A tool's ending: `print_json(compute(), path)` and 0, or one line `name: error` on stderr and 2
    when `compute` raises an AmodalError, ValueError or OSError (bad input, never a traceback).
    With `render`, the result is printed as `render(result)` (a table) and `path` gets it as JSON."""
    try:
        result = compute()
    except (AmodalError, ValueError, OSError) as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 2
    if render is None:
        print_json(result, path)
        return 0
    print(render(result))
    if path:
        atomic_write_text(path, json.dumps(result, indent=1) + "\n")
    return 0


def _refuse_precious(path: Path) -> None:
    """Refuse to clear the current folder, one of its parents, or the home folder."""
    resolved = path.resolve()
    cwd = Path.cwd().resolve()
    try:
        home: Optional[Path] = Path.home().resolve()
    except (RuntimeError, KeyError):  # no home folder known
        home = None
    if resolved == cwd or resolved in cwd.parents or resolved == home:
        raise OutputExistsError(f"refusing to clear {path} with --overwrite: it is the current folder, one of its "
                                "parents or the home folder; choose a dedicated output folder")


def prepare_output_dir(path: PathLike, overwrite: bool = False) -> Path:
    """Create an output folder; an existing non-empty one is refused unless `overwrite`.

    With `overwrite`, the folder's contents are removed first (never the folder's parent; the
    current folder, its parents and the home folder are refused).
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputExistsError(f"output path {path} exists and is not a folder")
    if path.is_dir() and any(path.iterdir()):
        if not overwrite:
            raise OutputExistsError(f"output folder {path} already exists and is not empty (use --overwrite)")
        _refuse_precious(path)
        _remove_contents(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _remove_contents(path: Path) -> None:
    for child in path.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


class OutputFolder:
    """The folder `output_dir_undone_on_error` prepared; `keep()` once it holds output worth keeping."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.kept = False

    def keep(self) -> None:
        """From now on an error leaves the folder's contents (e.g. the frames a stream wrote before it broke)."""
        self.kept = True


@contextlib.contextmanager
def output_dir_undone_on_error(path: PathLike, overwrite: bool = False) -> Iterator[OutputFolder]:
    """`prepare_output_dir`, undone when the body raises an error before `keep()`.

    What the body wrote is removed, and the folder too when this call made it, so the same command
    can simply run again after the error is mended (a folder `overwrite` emptied stays, empty).
    An interruption (Ctrl-C) leaves the partial output where it is.
    """
    path = Path(path)
    made = not path.exists()
    prepare_output_dir(path, overwrite)
    folder = OutputFolder(path)
    try:
        yield folder
    except Exception:
        if not folder.kept and path.is_dir():
            _remove_contents(path)
            if made:
                path.rmdir()
        raise


def refuse_inputs_inside(out: PathLike, inputs: Iterable[Optional[PathLike]], what: str = "output folder") -> None:
    """Refuse an output folder that is, or contains, one of the inputs (clearing it would delete them).

    Args:
        out: the output folder (it need not exist yet).
        inputs: input files/folders; None entries and URLs ("scheme://...") are skipped.
        what: how `out` is named in the message (e.g. "--frames-out").

    Raises:
        OutputExistsError: naming `out` and the input.
    """
    out_r = Path(out).resolve()
    for p in inputs:
        if p is None or "://" in str(p):
            continue
        pr = Path(p).resolve()
        if pr == out_r or out_r in pr.parents:
            raise OutputExistsError(f"{what} {out} contains the input {p}; inputs are never overwritten, "
                                    "choose another output")
