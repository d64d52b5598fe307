"""CompletionNet: the amodal head over object-centric crops, with joint reasoning over objects.

Input per object: (C, S, S) crop channels, `input_channels(cfg)` in this order:
vis, occ, free, mem_vis_mean, mem_vis_max, mem_amodal_mean, mem_valid[, r, g, b].
Output: amodal logits (1, S, S). The batch holds all objects of all frames; `groups` (N,) says
which objects share a frame, and a DeepSets context (mean and max of the *other* objects'
bottleneck embeddings in the same frame) is fed back into each object's bottleneck, so an object
knows what the objects around it look like (who can hide it, how large they are).

Stateless; stage methods `encode`, `context`, `decode` are composed by `forward` (training driver
and streaming session both call `forward`). The encoder works at S/2 from its first layer and the
decoder predicts at S/2 then refines at S with a light residual head, to stay a few ms on a CPU.
"""
from __future__ import annotations

import copy
import math
from typing import Any, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from amodal.config import CompletionConfig
from amodal.models.alignment import check_motion_flow
from amodal.models.memory import MEMORY_CHANNELS
from amodal.utils.checks import check_int

BASE_CHANNELS = ("vis", "occ", "free")


def input_channels(cfg: CompletionConfig) -> Tuple[str, ...]:
    """Names of the input channels, in order."""
    names = BASE_CHANNELS + MEMORY_CHANNELS
    return names + (("r", "g", "b") if cfg.use_rgb else ())


def threshold_logit(cfg: CompletionConfig, threshold: Optional[float] = None) -> float:
    """The logit of `threshold` (default `cfg.threshold`): amodal = visible ∪ (logit > this ∩ others' visible)."""
    p = cfg.threshold if threshold is None else threshold
    return math.log(p / (1.0 - p))


def check_threshold(value: Optional[float], name: str = "threshold") -> Optional[float]:
    """`value` as a float if it is a probability in (0, 1) (None passes); InputError otherwise."""
    if value is None:
        return None
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0.0 < float(value) < 1.0
    if not ok:
        from amodal.errors import InputError

        raise InputError(f"{name} must be a probability in (0, 1), got {value!r}")
    return float(value)


def check_hidden_keep(value: Any, name: str = "model.completion.hidden_keep") -> float:
    """`value` as a float in (0, 1] (share of its last seen area a hidden object keeps); InputError otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < float(value) <= 1.0:
        from amodal.errors import InputError

        raise InputError(f"{name} must be in (0, 1], got {value!r}")
    return float(value)


def check_order_ratio(value: Any, name: str = "model.completion.order_ratio") -> float:
    """`value` as a float, 0 (depth order never settles extensions) or >= 1; InputError otherwise."""
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and (float(value) == 0.0 or float(value) >= 1.0)
    if not ok or not math.isfinite(float(value)):
        from amodal.errors import InputError

        raise InputError(f"{name} must be 0 (off) or a ratio >= 1, got {value!r}")
    return float(value)


def check_order_decay(value: Any, name: str = "model.completion.order_decay") -> float:
    """`value` as a float in [0, 1] (what a pair's occlusion vote keeps per frame); InputError otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
        from amodal.errors import InputError

        raise InputError(f"{name} must be in [0, 1], got {value!r}")
    return float(value)


def _block(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class CompletionNet(nn.Module):
    """Small UNet (a few hundred K parameters at width 32) with a cross-object context."""

    def __init__(self, cfg: CompletionConfig) -> None:
        super().__init__()
        if cfg.crop_size % 8 != 0 or cfg.crop_size < 16:
            raise ValueError(f"model.completion.crop_size must be a multiple of 8 and >= 16, got {cfg.crop_size}")
        check_threshold(cfg.threshold, "model.completion.threshold")
        check_int(cfg.hidden_frames, "model.completion.hidden_frames")
        check_hidden_keep(cfg.hidden_keep)
        check_order_ratio(cfg.order_ratio)
        check_order_decay(cfg.order_decay)
        check_motion_flow(cfg.motion_width, cfg.motion_preset)
        self.cfg = cfg
        w = cfg.width
        cin = len(input_channels(cfg))
        self.in_channels = cin
        self.stem = _block(cin, w // 2, stride=2)  # S/2
        self.enc1 = _block(w // 2, w)  # S/2
        self.enc2 = nn.Sequential(_block(w, 2 * w, stride=2), _block(2 * w, 2 * w))  # S/4
        self.enc3 = nn.Sequential(_block(2 * w, 4 * w, stride=2), _block(4 * w, 4 * w))  # S/8
        d = 4 * w
        self.ctx_in = nn.Sequential(nn.Linear(d, d), nn.ReLU(inplace=True))
        self.ctx_out = nn.Linear(3 * d, d)
        nn.init.zeros_(self.ctx_out.weight)
        nn.init.zeros_(self.ctx_out.bias)
        self.mid = _block(d, d)
        self.lat2 = nn.Conv2d(d, 2 * w, 1)
        self.dec2 = _block(2 * w, 2 * w)  # S/4
        self.lat1 = nn.Conv2d(2 * w, w, 1)
        self.dec1 = _block(w, w)  # S/2
        self.head = nn.Conv2d(w, 1, 1)
        self.refine = nn.Sequential(nn.Conv2d(cin + 1, 8, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(8, 1, 3, padding=1))
        nn.init.zeros_(self.refine[-1].weight)
        nn.init.zeros_(self.refine[-1].bias)

    def encode(self, inputs: torch.Tensor) -> List[torch.Tensor]:
        """inputs (N, C, S, S) -> [f1 (N, w, S/2), f2 (N, 2w, S/4), f3 (N, 4w, S/8)]."""
        f1 = self.enc1(self.stem(inputs))
        f2 = self.enc2(f1)
        f3 = self.enc3(f2)
        return [f1, f2, f3]

    def context(self, bottleneck: torch.Tensor, groups: Optional[torch.Tensor]) -> torch.Tensor:
        """Add each object's view of the other objects of its frame to its bottleneck (N, D, h, w).

        groups: (N,) int64 frame index of every object (None: all objects in one frame).
        """
        n = bottleneck.shape[0]
        emb = self.ctx_in(bottleneck.mean(dim=(2, 3)))  # (N, D)
        if groups is None:
            groups = torch.zeros(n, dtype=torch.long, device=bottleneck.device)
        same = groups[:, None] == groups[None, :]
        others = same & ~torch.eye(n, dtype=torch.bool, device=bottleneck.device)
        k = others.sum(1, keepdim=True).to(emb.dtype)
        mean_o = (others.to(emb.dtype) @ emb) / k.clamp(min=1.0)
        masked = emb[None].expand(n, n, -1).masked_fill(~others[:, :, None], float("-inf"))
        max_o = masked.max(dim=1).values
        max_o = torch.where(k > 0, max_o, torch.zeros_like(max_o))
        film = self.ctx_out(torch.cat([emb, mean_o, max_o], dim=1))
        return bottleneck + film[:, :, None, None]

    def decode(self, feats: List[torch.Tensor], inputs: torch.Tensor) -> torch.Tensor:
        """Features (after `context`) and inputs (N, C, S, S) -> amodal logits (N, 1, S, S)."""
        f1, f2, f3 = feats
        x = self.mid(f3)
        x = F.interpolate(self.lat2(x), size=f2.shape[-2:], mode="bilinear", align_corners=False)
        x = self.dec2(x + f2)
        x = F.interpolate(self.lat1(x), size=f1.shape[-2:], mode="bilinear", align_corners=False)
        x = self.dec1(x + f1)
        coarse = F.interpolate(self.head(x), size=inputs.shape[-2:], mode="bilinear", align_corners=False)
        return coarse + self.refine(torch.cat([inputs, coarse], dim=1))

    def fused_for_inference(self) -> "CompletionNet":
        """An eval-mode copy with every BatchNorm folded into its convolution (same outputs, faster)."""
        from torch.nn.utils.fusion import fuse_conv_bn_eval

        net = copy.deepcopy(self).eval()
        for mod in net.modules():
            if isinstance(mod, nn.Sequential) and len(mod) == 3 and isinstance(mod[0], nn.Conv2d) \
                    and isinstance(mod[1], nn.BatchNorm2d):
                mod[0] = fuse_conv_bn_eval(mod[0], mod[1])
                mod[1] = nn.Identity()
        return net

    def frozen(self) -> "CompletionNet":
        """`fused_for_inference` without gradients: a fixed reference or teacher beside training."""
        net = self.fused_for_inference()
        for p in net.parameters():
            p.requires_grad_(False)
        return net

    def forward(self, inputs: torch.Tensor, groups: Optional[torch.Tensor] = None) -> torch.Tensor:
        """inputs (N, C, S, S), groups (N,) -> logits (N, 1, S, S)."""
        if inputs.ndim != 4 or inputs.shape[1] != self.in_channels:
            raise ValueError(f"CompletionNet expects (N, {self.in_channels}, S, S) inputs, got {tuple(inputs.shape)}")
        if inputs.shape[0] == 0:
            return inputs.new_zeros((0, 1) + tuple(inputs.shape[-2:]))
        feats = self.encode(inputs)
        feats[-1] = self.context(feats[-1], groups)
        return self.decode(feats, inputs)
