"""SaVos training task: the self-supervised objective of the paper.

- `bce`: binary cross-entropy between the fused prediction of frame s (made without frame s) and
  the visible mask of s, ignoring pixels covered by OTHER objects' visible masks at s (the object
  may be hidden there); summed per frame and divided by the patch-box area.
- `consistency`: 1 - soft IoU between each pass's step-t prediction warped to its next frame and
  the same pass's prediction at that frame (forward and backward chains averaged).
The photometric term of the paper (optional there) is not used.
"""
from __future__ import annotations

from typing import Dict, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from amodal.baselines.config import SaVosModelConfig, TrainSettings
from amodal.baselines.savos_core import predict_window
from amodal.baselines.savos_data import SaVosSample, SaVosSampler
from amodal.baselines.savos_model import SaVosNet
from amodal.baselines.savos_warp import soft_iou


def savos_loss(pred: Dict[str, torch.Tensor], batch: SaVosSample, consistency_weight: float) -> Dict[str, torch.Tensor]:
    """Loss terms (scalars) from `predict_window` outputs and the batch (B, L, ...)."""
    valid = (batch.others < 0.5).float()
    p = pred["fused"].clamp(1e-6, 1 - 1e-6)
    bce = F.binary_cross_entropy(p, batch.vis, reduction="none") * valid
    area = (batch.boxes[..., 2] * batch.boxes[..., 3]).clamp_min(16.0)
    bce_term = (bce.sum(dim=(2, 3, 4)) / area).mean()
    cons_f = 1 - soft_iou(pred["fwd_warp"][:, :-1].flatten(0, 1), pred["fwd_own"][:, 1:].flatten(0, 1)).mean()
    cons_b = 1 - soft_iou(pred["bwd_warp"][:, 1:].flatten(0, 1), pred["bwd_own"][:, :-1].flatten(0, 1)).mean()
    consistency = 0.5 * (cons_f + cons_b)
    with torch.no_grad():  # monitoring: IoU with the next visible mask outside other objects
        hard = (pred["fused"] > 0.5).float() * valid
        tgt = (batch.vis > 0.5).float() * valid
        inter = (hard * tgt).sum()
        iou = inter / (hard.sum() + tgt.sum() - inter).clamp_min(1.0)
    return {"bce": bce_term, "consistency": consistency, "vis_iou": iou,
            "total": bce_term + consistency_weight * consistency}


class SaVosTask:
    """What the generic loop (`train_loop.train_baseline`) needs: model, batches, loss."""

    name = "savos"

    def __init__(self, dataset, train_ids: Sequence[int], val_ids: Sequence[int], model_cfg: SaVosModelConfig,
                 train_cfg: TrainSettings) -> None:
        self.model_cfg = model_cfg
        self.train_cfg = train_cfg
        self.train = SaVosSampler(dataset, train_ids, model_cfg, train_cfg)
        self.val = SaVosSampler(dataset, val_ids, model_cfg, train_cfg) if val_ids else None

    def build_model(self) -> SaVosNet:
        return SaVosNet(self.model_cfg)

    def train_batch(self, rng: np.random.Generator) -> SaVosSample:
        return self.train.batch(rng, self.train_cfg.batch_size)

    def val_batch(self, rng: np.random.Generator) -> SaVosSample:
        return self.val.batch(rng, self.train_cfg.batch_size)

    def loss(self, model: SaVosNet, batch: SaVosSample) -> Dict[str, torch.Tensor]:
        return savos_loss(predict_window(model, batch), batch, self.train_cfg.consistency_weight)
