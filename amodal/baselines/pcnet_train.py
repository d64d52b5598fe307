"""PCNet-M training task: weighted cross-entropy on synthetic-eraser samples (see `pcnet_data.py`)."""
from __future__ import annotations

from typing import Dict, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from amodal.baselines.config import PCNetModelConfig, TrainSettings
from amodal.baselines.pcnet import PCNetM
from amodal.baselines.pcnet_data import PCNetBatch, PCNetSampler


def pcnet_loss(logits: torch.Tensor, batch: PCNetBatch) -> Dict[str, torch.Tensor]:
    """Binary cross-entropy weighted per pixel (5x in the eraser, 0 on real other objects).

    Args:
        logits: (B, 1, S, S).

    Returns:
        {"bce": weighted mean, "total": same}.
    """
    bce = F.binary_cross_entropy_with_logits(logits, batch.target, reduction="none")
    loss = (bce * batch.weight).sum() / batch.weight.sum().clamp_min(1.0)
    return {"bce": loss, "total": loss}


class PCNetTask:
    """What the generic loop (`train_loop.train_baseline`) needs: model, batches, loss."""

    name = "pcnet"

    def __init__(self, dataset, train_ids: Sequence[int], val_ids: Sequence[int], model_cfg: PCNetModelConfig,
                 train_cfg: TrainSettings) -> None:
        self.model_cfg = model_cfg
        self.train_cfg = train_cfg
        self.train = PCNetSampler(dataset, train_ids, model_cfg, train_cfg)
        self.val = PCNetSampler(dataset, val_ids, model_cfg, train_cfg) if val_ids else None

    def build_model(self) -> PCNetM:
        return PCNetM(self.model_cfg)

    def train_batch(self, rng: np.random.Generator) -> PCNetBatch:
        return self.train.batch(rng, self.train_cfg.batch_size)

    def val_batch(self, rng: np.random.Generator) -> PCNetBatch:
        return self.val.batch(rng, self.train_cfg.batch_size)

    def loss(self, model: PCNetM, batch: PCNetBatch) -> Dict[str, torch.Tensor]:
        return pcnet_loss(model(batch.inputs), batch)
