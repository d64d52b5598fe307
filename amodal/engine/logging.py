"""Run logs: JSON lines (`log.jsonl`, one record per logged step) and TensorBoard when available."""
from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any, Dict, Optional


class RunLogger:
    """Append step records to `<run>/log.jsonl` (and TensorBoard events under `<run>/tb`)."""

    def __init__(self, run_dir: Path, enabled: bool = True, tensorboard: bool = True) -> None:
        self.enabled = enabled
        self.path = Path(run_dir) / "log.jsonl"
        self._fh = open(self.path, "a", encoding="utf-8") if enabled else None
        self._tb = None
        if enabled and tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(str(Path(run_dir) / "tb"))
            except Exception:  # tensorboard missing or broken: JSON lines are enough
                self._tb = None

    def log(self, step: int, values: Dict[str, Any], kind: str = "train") -> None:
        if not self.enabled:
            return
        rec: Dict[str, Any] = {"kind": kind, "step": int(step), "time": round(time.time(), 3)}
        for k, v in values.items():
            v = float(v) if hasattr(v, "__float__") and not isinstance(v, (str, bool)) else v
            rec[k] = v if not isinstance(v, float) or math.isfinite(v) else str(v)
            if self._tb is not None and isinstance(v, float) and math.isfinite(v):
                self._tb.add_scalar(f"{kind}/{k}", v, step)
        self._fh.write(json.dumps(rec) + "\n")
        self._fh.flush()

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
