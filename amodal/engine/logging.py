"""Run logs: JSON lines (`log.jsonl`, one record per logged step) and TensorBoard when available."""
from __future__ import annotations

import json
import math
import time
import warnings
from pathlib import Path
from typing import Any, Dict, Optional

from amodal.errors import OutputWriteError


def _tensorboard_writer(folder: Path) -> Any:
    """A TensorBoard SummaryWriter into `folder`, or None: silently when tensorboard is not installed,
    with one warning when it is but cannot start (the JSON lines are kept either way)."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    except Exception as exc:  # installed but broken (e.g. a protobuf it does not support)
        warnings.warn(f"TensorBoard logging is off: tensorboard cannot be imported ({exc})", stacklevel=3)
        return None
    try:
        return SummaryWriter(str(folder))
    except Exception as exc:
        warnings.warn(f"TensorBoard logging is off: cannot write {folder} ({exc})", stacklevel=3)
        return None


class RunLogger:
    """Append step records to `<run>/log.jsonl` (and TensorBoard events under `<run>/tb`)."""

    def __init__(self, run_dir: Path, enabled: bool = True, tensorboard: bool = True) -> None:
        self.enabled = enabled
        self.path = Path(run_dir) / "log.jsonl"
        self._fh = open(self.path, "a", encoding="utf-8") if enabled else None
        self._tb = None
        if enabled and tensorboard:
            self._tb = _tensorboard_writer(Path(run_dir) / "tb")

    def log(self, step: int, values: Dict[str, Any], kind: str = "train") -> None:
        if not self.enabled:
            return
        rec: Dict[str, Any] = {"kind": kind, "step": int(step), "time": round(time.time(), 3)}
        for k, v in values.items():
            v = float(v) if hasattr(v, "__float__") and not isinstance(v, (str, bool)) else v
            rec[k] = v if not isinstance(v, float) or math.isfinite(v) else str(v)
            if self._tb is not None and isinstance(v, float) and math.isfinite(v):
                self._tb.add_scalar(f"{kind}/{k}", v, step)
        try:
            self._fh.write(json.dumps(rec) + "\n")
            self._fh.flush()
        except OSError as exc:  # disk full: name the file (the bare error names none)
            raise OutputWriteError(f"cannot write {self.path}: {exc.strerror or exc}") from None

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if self._tb is not None:
            self._tb.close()
            self._tb = None

    def __enter__(self) -> "RunLogger":
        return self

    def __exit__(self, *exc: Optional[BaseException]) -> None:
        self.close()
