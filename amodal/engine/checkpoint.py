"""Checkpoints: atomic, versioned, safe to load (`weights_only=True`), carrying the resolved config.

A checkpoint is a dict {format_version, amodal_version, config, step, model, optimizer, rng,
extra}. Loading refuses files holding pickled code or objects (CheckpointError), other format
versions, and state dicts whose keys do not match the model exactly (the message lists the
missing and unexpected keys).
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

import torch

from amodal.config import Config, config_from_dict, config_to_dict
from amodal.errors import AmodalError, CheckpointError, LibraryOrderError
from amodal.utils.files import atomic_write_bytes
from amodal.utils.weights_file import read_weights_file

FORMAT_VERSION = 1
DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[1] / "weights" / "default.pt"
PathLike = Union[str, Path]


def rng_state() -> Dict[str, torch.Tensor]:
    """Torch RNG states (CPU, and CUDA when present) as tensors."""
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state: Dict[str, torch.Tensor]) -> None:
    if "torch" in state:
        torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def save_checkpoint(path: PathLike, model: torch.nn.Module, cfg: Config, step: int,
                    optimizer: Optional[torch.optim.Optimizer] = None, extra: Optional[Dict[str, Any]] = None,
                    half: bool = False) -> Path:
    """Write a checkpoint atomically (torch.save to memory, then `atomic_write_bytes`).

    Args:
        path: destination file.
        model: the AmodalModel (or any module; unwrap DDP first).
        cfg: the resolved config the model was built from.
        step: training step reached.
        optimizer: saved for resuming when given.
        extra: small JSON-like metadata (metrics, ...).
        half: store floating-point weights as float16 (export; loading casts back to float32).
    """
    from amodal import __version__

    state = {k: (v.half() if half and v.is_floating_point() else v).detach().cpu().clone()
             for k, v in model.state_dict().items()}
    ckpt = {"format_version": FORMAT_VERSION, "amodal_version": __version__, "config": config_to_dict(cfg),
            "step": int(step), "model": state, "optimizer": optimizer.state_dict() if optimizer is not None else None,
            "rng": rng_state(), "extra": dict(extra or {})}
    return write_checkpoint(path, ckpt)


def write_checkpoint(path: PathLike, ckpt: Dict[str, Any]) -> Path:
    """Write a checkpoint dict atomically: torch.save to memory, then `atomic_write_bytes`, so a
    crash never leaves a truncated file at `path`."""
    buf = io.BytesIO()
    torch.save(ckpt, buf)
    atomic_write_bytes(path, buf.getvalue())
    return Path(path)


def load_checkpoint(path: PathLike) -> Dict[str, Any]:
    """Read and check a checkpoint (never executes pickled code).

    Raises:
        CheckpointError: missing/unreadable file, pickled objects, wrong format version, missing keys.
    """
    path = Path(path)
    ckpt = read_weights_file(path)
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"{path}: expected a checkpoint dict, got {type(ckpt).__name__}")
    version = ckpt.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {version!r}, this amodal reads version {FORMAT_VERSION}")
    for key in ("config", "model", "step"):
        if key not in ckpt:
            raise CheckpointError(f"{path}: checkpoint has no '{key}' entry")
    return ckpt


def load_state_strict(model: torch.nn.Module, state: Dict[str, torch.Tensor], source: str = "checkpoint") -> None:
    """Load a state dict whose keys must match the model's exactly (casting dtypes to the model's)."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        def show(keys):
            return ", ".join(keys[:8]) + (f" (+{len(keys) - 8} more)" if len(keys) > 8 else "") if keys else "none"
        raise CheckpointError(f"{source}: weights do not match the model: missing keys: {show(missing)}; "
                              f"unexpected keys: {show(unexpected)}")
    for k, v in state.items():
        if tuple(v.shape) != tuple(expected[k].shape):
            raise CheckpointError(f"{source}: weight '{k}' has shape {tuple(v.shape)}, the model expects {tuple(expected[k].shape)}")
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()}, strict=True)


def load_model(path: Optional[PathLike] = None, device: Union[str, torch.device] = "cpu") -> Tuple[Any, Config]:
    """Build the AmodalModel described by a checkpoint, load its weights strictly, eval mode.

    Args:
        path: checkpoint file (default: `DEFAULT_CHECKPOINT`).
        device: where to put the model.

    Returns:
        (AmodalModel, Config).
    """
    from amodal.models.build import build_model

    path = Path(path) if path is not None else DEFAULT_CHECKPOINT
    ckpt = load_checkpoint(path)
    try:
        cfg = config_from_dict(ckpt["config"])
        model = build_model(cfg)
    except LibraryOrderError:  # not the checkpoint's fault: raised as it is
        raise
    except AmodalError as exc:
        raise CheckpointError(f"{path}: its config is not valid for this amodal: {exc}") from None
    load_state_strict(model, ckpt["model"], str(path))
    return model.to(device).eval(), cfg
