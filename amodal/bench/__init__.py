"""`amodal bench`: the performance benchmark (speed, latency, memory, training and generator throughput).

Modules: settings (BenchSettings: sizes of a full or `--quick` run), machine (CPU/torch info,
resident memory), stats (medians, percentiles), worlds (generated test videos with exactly N
objects), models (the model measured), decode, stream (streaming + offline), profiling (where the
time goes), memory (RSS over a long stream), training, generator, report (markdown, plots,
JSON), runner (`run_benchmark`, the stages in order).

Speed targets are checked here and written to docs/BENCHMARKS.md, never asserted in tests.
"""
from __future__ import annotations

from typing import Any

__all__ = ["BenchSettings", "run_benchmark"]


def __getattr__(name: str) -> Any:
    if name == "BenchSettings":
        from amodal.bench.settings import BenchSettings

        return BenchSettings
    if name == "run_benchmark":
        from amodal.bench.runner import run_benchmark

        return run_benchmark
    raise AttributeError(f"module 'amodal.bench' has no attribute {name!r}")
