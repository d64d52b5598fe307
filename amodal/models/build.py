"""AmodalModel (visible-mask network + completion head) and `build_model(cfg)`."""
from __future__ import annotations

from typing import Optional

import torch.nn as nn

from amodal.config import Config
from amodal.errors import ConfigError, InputError
from amodal.models.completion import CompletionNet
from amodal.models.detector import check_detector
from amodal.utils.decord_import import check_blas_usable


class AmodalModel(nn.Module):
    """Container of the two networks; drivers (trainer, session) call their stage methods.

    Attributes:
        visible: VisibleNet, or None when cfg.model.visible.enabled is False (visible masks are
            then always given by the caller).
        completion: CompletionNet.
        cfg: the resolved Config it was built from.
    """

    def __init__(self, cfg: Config, visible: Optional[nn.Module], completion: CompletionNet) -> None:
        super().__init__()
        self.cfg = cfg
        self.visible = visible
        self.completion = completion

    def forward(self, *args, **kwargs):  # pragma: no cover - drivers call the parts
        raise RuntimeError("AmodalModel has no forward; use amodal.losses.compute_losses or AmodalSession")


def build_model(cfg: Config) -> AmodalModel:
    """Build an untrained AmodalModel from a config (ConfigError on values the networks refuse;
    `LibraryOrderError` where decord imported before torch would crash its matrix products)."""
    check_blas_usable()
    vcfg = cfg.model.visible
    check_detector(vcfg.detector, vcfg.motion_threshold, vcfg.motion_confident)
    visible = None
    try:
        if cfg.model.visible.enabled:
            from amodal.models.visible import VisibleNet

            visible = VisibleNet(cfg.model.visible)
        completion = CompletionNet(cfg.model.completion)
    except (ValueError, InputError) as exc:
        raise ConfigError(str(exc)) from None
    return AmodalModel(cfg, visible, completion)
