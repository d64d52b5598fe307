"""PCNet-M network ("Self-Supervised Scene De-occlusion", CVPR 2020), image-only variant.

A small UNet over a square object crop with 2 input channels, (erased/visible mask, eraser),
that outputs one logit per pixel: the object's mask with the part under the eraser restored.
The training objective lives in `pcnet_train.py`, the eraser synthesis in `pcnet_data.py`,
inference in `pcnet_runner.py`.
"""
from __future__ import annotations

from typing import List

import torch
from torch import nn

from amodal.baselines.config import PCNetModelConfig


def _block(cin: int, cout: int) -> nn.Sequential:
    groups = 4 if cout % 4 == 0 else 1
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1), nn.GroupNorm(groups, cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1), nn.GroupNorm(groups, cout), nn.ReLU(inplace=True),
    )


class PCNetM(nn.Module):
    """UNet: (B, 2, S, S) [erased mask, eraser] -> (B, 1, S, S) mask logits (S divisible by 2**depth)."""

    def __init__(self, cfg: PCNetModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        widths = [cfg.width * 2 ** i for i in range(cfg.depth + 1)]
        self.down = nn.ModuleList()
        cin = 2
        for w in widths[:-1]:
            self.down.append(_block(cin, w))
            cin = w
        self.bottom = _block(widths[-2], widths[-1])
        self.up = nn.ModuleList()
        self.merge = nn.ModuleList()
        for i in range(cfg.depth - 1, -1, -1):
            self.up.append(nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2))
            self.merge.append(_block(2 * widths[i], widths[i]))
        self.head = nn.Conv2d(widths[0], 1, 1)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, 2, S, S) float in [0, 1] -> logits (B, 1, S, S)."""
        skips: List[torch.Tensor] = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottom(x)
        for up, merge, skip in zip(self.up, self.merge, reversed(skips)):
            x = merge(torch.cat([up(x), skip], dim=1))
        return self.head(x)
