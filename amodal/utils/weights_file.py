"""Read a PyTorch weights file safely: plain tensors and containers only, never pickled code."""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, Union

from amodal.errors import CheckpointError

PathLike = Union[str, Path]
# torch.save writes a zip archive; files of torch < 1.6 begin with a pickle protocol-2+ opcode.
TORCH_FILE_STARTS = (b"PK\x03\x04", b"\x80")


def read_weights_file(path: PathLike) -> Any:
    """`torch.load(path, weights_only=True)` on the CPU, with one-line errors that say what the file is.

    Raises:
        CheckpointError: the file is missing, is not a PyTorch file at all (a config, a video, ...),
            holds pickled code or objects besides tensors, or is truncated / unreadable.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read checkpoint ({exc.strerror or exc})") from None
    if not head.startswith(TORCH_FILE_STARTS):
        raise CheckpointError(f"{path}: not a checkpoint (not a PyTorch weights file: "
                              f"{'empty' if not head else 'it starts with ' + repr(head)})")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CheckpointError(f"{path}: refused, the file holds pickled code or objects, not only weights "
                              f"({first})") from None
    except Exception as exc:  # truncated zip, corrupt archive, ...
        first = (str(exc).strip().splitlines() or [""])[0]
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(exc).__name__}: {first})") from None
