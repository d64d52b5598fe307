"""The model a benchmark measures: a checkpoint, the shipped default, or a random initialisation.

Speed does not depend on the weights' values, so without a checkpoint (and before the shipped
`amodal/weights/default.pt` exists) a randomly initialised model built from configs/default.yaml
is measured. The default recipe trains the completion model only (`model.visible.enabled: false`);
the "own visible-mask network" mode then gets a randomly initialised VisibleNet of the config's
size. Note that an untrained VisibleNet finds an arbitrary number of objects (usually one), so its
object count per frame is reported next to every own-network figure.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional

import amodal

DEFAULT_CONFIG = Path(amodal.__file__).resolve().parents[1] / "configs" / "default.yaml"


@dataclass
class BenchModels:
    """Two views of one model sharing the completion network.

    Attributes:
        given: AmodalModel without a visible net (visible masks are always given).
        own: AmodalModel with a visible net (frames only: detect + track).
        description: what was loaded, for the report.
        weights: "checkpoint", "shipped default" or "random".
        visible_weights: "checkpoint" or "random" (the visible net's weights).
        config: the resolved Config.
    """

    given: Any
    own: Any
    description: str
    weights: str
    visible_weights: str
    config: Any

    def info(self) -> Dict[str, Any]:
        from amodal.config import config_to_dict

        return {"description": self.description, "weights": self.weights, "visible_weights": self.visible_weights,
                "model_config": config_to_dict(self.config.model)}


def load_bench_models(checkpoint: Optional[Path] = None, config: Optional[Path] = None, seed: int = 0) -> BenchModels:
    """Load `checkpoint`, else the shipped default if present, else a random model of `config`.

    Args:
        checkpoint: a checkpoint written by `amodal train` (CheckpointError if unreadable).
        config: YAML config of the random model (default: configs/default.yaml, else the built-in defaults).
        seed: torch seed of a random initialisation.
    """
    import torch

    from amodal.config import load_config
    from amodal.engine.checkpoint import DEFAULT_CHECKPOINT, load_model
    from amodal.models.build import AmodalModel, build_model

    if checkpoint is not None or Path(DEFAULT_CHECKPOINT).is_file():
        path = Path(checkpoint) if checkpoint is not None else Path(DEFAULT_CHECKPOINT)
        model, cfg = load_model(path, "cpu")
        weights = "checkpoint" if checkpoint is not None else "shipped default"
        description = f"{weights} {path}"
    else:
        cfg_path = Path(config) if config is not None else (DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None)
        cfg = load_config(cfg_path)
        torch.manual_seed(seed)
        model = build_model(cfg)
        weights = "random"
        description = f"randomly initialised model of {cfg_path or 'the built-in default config'} (no checkpoint given, " \
                      f"{DEFAULT_CHECKPOINT.name} not shipped yet)"
    model = model.eval()
    visible_weights = "checkpoint" if model.visible is not None and weights != "random" else "random"
    if model.visible is not None:
        visible = model.visible
        own_cfg = cfg
    else:
        from amodal.models.visible import VisibleNet

        own_cfg = dataclasses.replace(cfg, model=dataclasses.replace(
            cfg.model, visible=dataclasses.replace(cfg.model.visible, enabled=True)))
        torch.manual_seed(seed + 1)
        visible = VisibleNet(own_cfg.model.visible).eval()
        description += "; its config has no visible net, so a randomly initialised VisibleNet " \
                       f"(width {own_cfg.model.visible.width}) serves the own-network mode"
    given = AmodalModel(cfg, None, model.completion).eval()
    own = AmodalModel(own_cfg, visible, model.completion).eval()
    return BenchModels(given, own, description, weights, visible_weights, cfg)
