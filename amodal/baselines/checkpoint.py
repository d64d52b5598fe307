"""Baseline checkpoints: `{"format_version", "model", "config", "state_dict", "step"}`, atomic, safe.

Written atomically by `amodal.engine.checkpoint.write_checkpoint`; loaded with
`torch.load(weights_only=True)` (no pickled code), refused when the `model` key names another
baseline or the state dict does not match the network exactly.

Where a runner looks for its checkpoint (first hit wins):
1. the environment variable `AMODAL_<NAME>_CHECKPOINT` (e.g. `AMODAL_SAVOS_CHECKPOINT`), so that
   `amodal eval --compare ours,pcnet,savos --checkpoint OURS.pt` can give each model its own;
2. `ModelOptions.checkpoint` (`amodal eval --model savos --checkpoint PATH`);
3. `runs/baselines/<name>/checkpoint.pt` under the current folder (where
   `tools/train_baseline.py <name> --out runs/baselines/<name>` writes it).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, Optional, Union

from amodal.errors import CheckpointError

FORMAT_VERSION = 1
PathLike = Union[str, Path]


def default_checkpoint(name: str) -> Path:
    """`runs/baselines/<name>/checkpoint.pt` (relative to the current folder)."""
    return Path("runs") / "baselines" / name / "checkpoint.pt"


def resolve_checkpoint(name: str, given: Optional[PathLike]) -> Path:
    """Checkpoint path of baseline `name` (see the module docstring for the search order).

    Raises:
        CheckpointError: the chosen file does not exist (the message says how to train one).
    """
    env_key = f"AMODAL_{name.upper()}_CHECKPOINT"
    if os.environ.get(env_key):
        path, origin = Path(os.environ[env_key]), f"${env_key}"
    elif given:
        path, origin = Path(given), "--checkpoint"
    else:
        path, origin = default_checkpoint(name), "the default location"
    if path.is_dir():
        path = path / "checkpoint.pt"
    if not path.is_file():
        raise CheckpointError(
            f"{name} checkpoint not found: {path} (from {origin}); train one with "
            f"`python tools/train_baseline.py {name} --data TRAIN.json --out runs/baselines/{name}` "
            f"or set {env_key}")
    return path


def save_baseline_checkpoint(path: PathLike, name: str, model: Any, config: Dict[str, Any], step: int) -> Path:
    """Write `{"format_version", "model": name, "config", "state_dict", "step"}` atomically.

    Args:
        path: destination file.
        name: "pcnet" or "savos".
        model: the torch module.
        config: plain dict of the model config (rebuilds the network on load).
        step: training step reached.
    """
    from amodal.engine.checkpoint import write_checkpoint

    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    ckpt = {"format_version": FORMAT_VERSION, "model": name, "config": dict(config), "state_dict": state,
            "step": int(step)}
    return write_checkpoint(path, ckpt)


def load_baseline_checkpoint(path: PathLike, name: str) -> Dict[str, Any]:
    """Read and check a baseline checkpoint of model `name` (never executes pickled code).

    Raises:
        CheckpointError: missing or unreadable file, pickled objects, other format version,
            missing keys, or a checkpoint of another model.
    """
    from amodal.utils.weights_file import read_weights_file

    path = Path(path)
    ckpt = read_weights_file(path)
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"{path}: not a baseline checkpoint (a {type(ckpt).__name__}, expected a dict)")
    missing = [k for k in ("format_version", "model", "config", "state_dict", "step") if k not in ckpt]
    if missing:
        raise CheckpointError(f"{path}: not a baseline checkpoint (missing key(s) {', '.join(missing)})")
    if ckpt["format_version"] != FORMAT_VERSION:
        raise CheckpointError(f"{path}: format_version {ckpt['format_version']!r}, expected {FORMAT_VERSION}")
    if ckpt["model"] != name:
        raise CheckpointError(f"{path}: is a {ckpt['model']!r} checkpoint, expected {name!r}")
    return ckpt


def load_state_strict(module: Any, state: Dict[str, Any], path: PathLike) -> None:
    """`module.load_state_dict(state)` that names missing/unexpected/mis-shaped keys."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = sorted(k for k in set(own) & set(state) if tuple(own[k].shape) != tuple(state[k].shape))
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing[:5])}")
        if unexpected:
            parts.append(f"unexpected {', '.join(unexpected[:5])}")
        if shapes:
            parts.append(f"shape mismatch {', '.join(shapes[:5])}")
        raise CheckpointError(f"{path}: state_dict does not match the network ({'; '.join(parts)})")
    module.load_state_dict(state)
