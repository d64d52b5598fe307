"""Learned baselines for `amodal eval`: PCNet-M (`pcnet`) and SaVos (`savos`). See docs/BASELINES.md.

Both are trained self-supervised (RGB + visible masks only) by `tools/train_baseline.py` and run
by `amodal eval --model pcnet|savos` (registered in `amodal.eval.baselines.MODELS`). Importing
this package imports no torch model; `build_baseline_runner` imports the runner it builds.

Modules:
    config        PCNetModelConfig, SaVosModelConfig, TrainSettings, load_baseline_config
    checkpoint    save/load {"format_version", "model", "config", "state_dict", "step"}; resolve_checkpoint
    geometry      boxes, crops, paste-back (one convention for crop and output scale)
    pcnet         PCNetM UNet;  pcnet_data: eraser synthesis;  pcnet_train: loss/task;  pcnet_runner
    savos_model   SaVosNet;  savos_data: track windows, DIS flow;  savos_warp: amodal flow and warps;
    savos_core    bidirectional prediction;  savos_train: loss/task;  savos_runner
    train_loop    train_baseline(name, data, out_dir, cfg): the shared, seeded, budgeted loop
"""
from __future__ import annotations

from typing import Any

BASELINE_NAMES = ("pcnet", "savos")


def build_baseline_runner(name: str, options: Any) -> Any:
    """The runner of baseline `name` ("pcnet" or "savos") for `amodal.eval.baselines.ModelOptions`."""
    if name == "pcnet":
        from amodal.baselines.pcnet_runner import PCNetRunner

        return PCNetRunner(options)
    if name == "savos":
        from amodal.baselines.savos_runner import SaVosRunner

        return SaVosRunner(options)
    from amodal.errors import AmodalError

    raise AmodalError(f"unknown baseline {name!r}; expected one of {', '.join(BASELINE_NAMES)}")
