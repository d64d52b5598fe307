"""SaVos network ("Self-supervised Amodal Video Object Segmentation", NeurIPS 2022), as the paper describes.

Per object track and frame, a patch (h x w) cut around the visible-mask box with 6 channels:
RGB (3), visible mask (1), optical flow (2, in patch pixels). Stage methods:
- `encode`: Conv-GroupNorm-LeakyReLU blocks (stride 2) -> vector -> FC;
- `temporal`: one LSTM over time, the only memory;
- `decode`: the mask decoder embeds the CURRENT patch's VISIBLE MASK (the released code feeds it a
  flow channel instead) and concatenates the LSTM state; it outputs an amodal-mask logit and a
  fusion logit per patch pixel; the flow decoder (same input) outputs a residual amodal flow
  in working-resolution pixels.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import torch
from torch import nn

from amodal.baselines.config import SaVosModelConfig
from amodal.errors import ConfigError


def _gn(c: int) -> nn.GroupNorm:
    return nn.GroupNorm(4 if c % 4 == 0 else 1, c)


def _down(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=2, padding=1), _gn(cout), nn.LeakyReLU(0.2, inplace=True))


def _up(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1), _gn(cout),
                         nn.LeakyReLU(0.2, inplace=True))


class _Decoder(nn.Module):
    """FC to a (c0, h0, w0) map, transposed-conv blocks back to (h, w), 3x3 conv to `out` channels."""

    def __init__(self, cin: int, channels: List[int], start_hw: Tuple[int, int], out: int) -> None:
        super().__init__()
        self.c0, (self.h0, self.w0) = channels[-1], start_hw
        self.fc = nn.Sequential(nn.Linear(cin, self.c0 * self.h0 * self.w0), nn.LeakyReLU(0.2, inplace=True))
        rev = list(reversed(channels))
        self.ups = nn.Sequential(*[_up(a, b) for a, b in zip(rev, rev[1:] + [rev[-1]])])
        self.head = nn.Conv2d(rev[-1], out, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.fc(z).view(-1, self.c0, self.h0, self.w0)
        return self.head(self.ups(x))


class SaVosNet(nn.Module):
    """Encoder -> LSTM -> (mask decoder, flow decoder) over patch sequences (B, L, C, h, w)."""

    def __init__(self, cfg: SaVosModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        chans = [int(c) for c in cfg.enc_channels]
        k = len(chans)
        h, w = cfg.patch_height, cfg.patch_width
        if k == 0 or h % 2 ** k or w % 2 ** k:
            raise ConfigError(f"savos: patch {h}x{w} must be divisible by 2**{k} (len(enc_channels))")
        self.start_hw = (h // 2 ** k, w // 2 ** k)
        n0 = chans[-1] * self.start_hw[0] * self.start_hw[1]
        self.encoder = nn.Sequential(*[_down(a, b) for a, b in zip([6] + chans[:-1], chans)])
        self.enc_fc = nn.Sequential(nn.Linear(n0, cfg.hidden), nn.LeakyReLU(0.2, inplace=True))
        self.lstm = nn.LSTM(cfg.hidden, cfg.hidden, batch_first=True)
        vis_chans = [max(4, c // 2) for c in chans]
        self.vis_encoder = nn.Sequential(*[_down(a, b) for a, b in zip([1] + vis_chans[:-1], vis_chans)])
        self.vis_fc = nn.Sequential(nn.Linear(vis_chans[-1] * self.start_hw[0] * self.start_hw[1], cfg.vis_embed),
                                    nn.LeakyReLU(0.2, inplace=True))
        self.mask_decoder = _Decoder(cfg.hidden + cfg.vis_embed, chans, self.start_hw, 2)
        self.flow_decoder = _Decoder(cfg.hidden + cfg.vis_embed, chans, self.start_hw, 2)
        nn.init.zeros_(self.flow_decoder.head.weight)
        nn.init.zeros_(self.flow_decoder.head.bias)

    def encode(self, patches: torch.Tensor) -> torch.Tensor:
        """(B, L, 6, h, w) -> (B, L, hidden) per-frame features."""
        b, l = patches.shape[:2]
        x = self.encoder(patches.flatten(0, 1))
        return self.enc_fc(x.flatten(1)).view(b, l, -1)

    def temporal(self, feats: torch.Tensor, state: Optional[Tuple[torch.Tensor, torch.Tensor]] = None
                 ) -> Tuple[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]:
        """LSTM over time: (B, L, hidden) -> (B, L, hidden), final (h, c)."""
        return self.lstm(feats, state)

    def decode(self, hidden: torch.Tensor, vis: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Decoders from the LSTM state and the current visible-mask patch.

        Args:
            hidden: (B, L, hidden).
            vis: (B, L, 1, h, w) the visible mask of the same frame.

        Returns:
            mask (B, L, 1, h, w) amodal logits, fusion (B, L, 1, h, w) logits,
            residual (B, L, 2, h, w) amodal-flow residual (working-resolution pixels).
        """
        b, l = hidden.shape[:2]
        v = self.vis_fc(self.vis_encoder(vis.flatten(0, 1)).flatten(1))
        z = torch.cat([hidden.flatten(0, 1), v], dim=1)
        out = self.mask_decoder(z).view(b, l, 2, *vis.shape[-2:])
        res = self.flow_decoder(z).view(b, l, 2, *vis.shape[-2:])
        return {"mask": out[:, :, :1], "fusion": out[:, :, 1:], "residual": res}

    def forward(self, patches: torch.Tensor) -> Dict[str, torch.Tensor]:
        """One pass in the sequence's own time order: (B, L, 6, h, w) -> `decode` outputs.

        Channel 3 of `patches` is the visible mask (what the mask decoder embeds).
        """
        hidden, _ = self.temporal(self.encode(patches))
        return self.decode(hidden, patches[:, :, 3:4])
