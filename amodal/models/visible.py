"""VisibleNet: real-time class-agnostic instance segmentation of the visible parts of objects.

Design (chosen for 30 frames/s of the whole pipeline on a 2-core CPU):

* Input RGB in [0, 1] is resized inside to `cfg.input_height x cfg.input_width` (320x240 by
  default); with `cfg.keep_aspect`, frames of another aspect ratio keep theirs at about the same
  pixel count (`input_size`: 16:9 -> 368x208) instead of being squashed. A stride-2 stem brings
  it to the internal resolution (160x120), where all heads are predicted; logits are upsampled
  to the image size only when final masks are made.
* Encoder: depthwise-separable residual blocks with BatchNorm down to 1/16 (plus dilated blocks
  for context: offsets to far centers need a large receptive field). Decoder: FPN-style
  top-down path with additive lateral connections back to 1/2. Width `cfg.width` (16 by default, 48 in the shipped checkpoint);
  `cfg.extra_blocks` more residual blocks at 1/8 and at 1/16 (dilated) add capacity and context
  where the maps are small, at little cost per frame.
  Depthwise-separable convs keep the cost at a few tens of MFLOPs; everything is
  channels_last friendly.
* Instance cue: our objects overlap heavily and may share colours, so foreground + connected
  components would merge an occluder with what it occludes. The network predicts, per pixel,
  foreground, instance boundaries (pixels next to another object) and a Panoptic-DeepLab style
  center heatmap with (dy, dx) offsets to the instance center. Centers + offsets separate
  touching objects without clustering (decoding is one nearest-center assignment) and do not
  need boundaries to be closed; boundaries clean up votes near edges (see `instances.py`).
  The "center" is the mask pixel nearest the visible mask's centroid, so it always lies on
  the object even for non-convex or split visible masks.
* Motion input (`cfg.motion`): the stem also sees the previous frame (6 input channels). Seen
  alone, a frame's background clutter can look exactly like an object; what moves differently
  from its surroundings is the cue (and transfers to real video better than texture). At a
  stream's first frame the previous frame is the frame itself: no motion known. Trained on
  frames 1 or 2 apart (`amodal.losses.visible_picks`).
* Flow input (`cfg.flow`, with `cfg.motion`): two more channels, the DIS optical flow between
  the two frames relative to the frame's median motion (`amodal.models.motion_flow`): the
  correspondences the small stem could not find itself, computed the same way on any video.
* Flow alone (`cfg.rgb` false, with `cfg.flow`): the stem sees only the two flow channels, no
  colours: objects are what moves on its own, whatever its texture (a still object is not seen).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from amodal.config import VisibleConfig
from amodal.errors import ConfigError, InputError
from amodal.models.instances import DecodeParams, Instance, decode_instances
from amodal.models.motion_flow import check_flow_settings, relative_flow, relative_flow_u8
from amodal.utils.images import check_rgb

__all__ = ["VisibleNet", "VisibleOutput", "Instance", "visible_targets"]

_MEAN = 0.45  # one scalar for all channels: normalisation is two cheap scalar ops
_STD = 0.25
LOSS_TERMS = ("vis_fg", "vis_boundary", "vis_center", "vis_offset")  # the names `VisibleNet.loss` returns
_EXTRA_DILATIONS = (8, 2, 4)  # the 1/16 stage's extra blocks (`cfg.extra_blocks`) cycle through these


@dataclass
class VisibleOutput:
    """Network outputs at output resolution (h, w) = half the network input size.

    Attributes:
        fg: (B, 1, h, w) foreground logits.
        boundary: (B, 1, h, w) instance-boundary logits.
        center: (B, 1, h, w) center-heatmap logits.
        offset: (B, 2, h, w) (dy, dx) from each pixel to its instance center, in output pixels.
    """

    fg: Tensor
    boundary: Tensor
    center: Tensor
    offset: Tensor


class ConvBN(nn.Module):
    """Conv2d (no bias) + BatchNorm2d; in eval mode runs one conv with the BN folded in.

    The folded weights are cached and recomputed only when a parameter or BN statistic changed
    (tracked through tensor version counters), so training and inference share one module.
    Shapes: (B, cin, H, W) -> (B, cout, H / stride, W / stride).
    """

    def __init__(self, cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1, dilation: int = 1) -> None:
        super().__init__()
        pad = dilation * (k // 2)
        self.conv = nn.Conv2d(cin, cout, k, stride, pad, dilation=dilation, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self._fused: Optional[Tuple[Tuple[int, ...], Tensor, Tensor]] = None

    def _versions(self) -> Tuple[int, ...]:
        t = (self.conv.weight, self.bn.weight, self.bn.bias, self.bn.running_mean, self.bn.running_var)
        return tuple(x._version for x in t) + tuple(x.data_ptr() for x in t)

    def forward(self, x: Tensor) -> Tensor:
        if self.training:
            return self.bn(self.conv(x))
        key = self._versions()
        if self._fused is None or self._fused[0] != key:
            with torch.no_grad(), torch.inference_mode(False):
                scale = self.bn.weight / torch.sqrt(self.bn.running_var + self.bn.eps)
                weight = (self.conv.weight * scale.view(-1, 1, 1, 1)).contiguous(memory_format=torch.channels_last)
                bias = self.bn.bias - self.bn.running_mean * scale
            self._fused = (key, weight, bias)
        c = self.conv
        return F.conv2d(x, self._fused[1], self._fused[2], c.stride, c.padding, c.dilation, c.groups)


class SepBlock(nn.Module):
    """Depthwise 3x3 (stride, dilation) -> BN -> ReLU -> pointwise 1x1 -> BN (+ residual) -> ReLU.

    Shapes: (B, cin, H, W) -> (B, cout, H / stride, W / stride).
    """

    def __init__(self, cin: int, cout: int, stride: int = 1, dilation: int = 1) -> None:
        super().__init__()
        self.dw = ConvBN(cin, cin, 3, stride, groups=cin, dilation=dilation)
        self.pw = ConvBN(cin, cout, 1)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: Tensor) -> Tensor:
        y = self.pw(F.relu(self.dw(x), inplace=True))
        if self.residual:
            y = y + x if torch.is_grad_enabled() else y.add_(x)  # inference: no new tensor for the sum
        return F.relu(y, inplace=True)


class VisibleNet(nn.Module):
    """Small encoder-decoder predicting foreground, boundaries, centers and offsets.

    Args:
        cfg: `VisibleConfig` (input size, width, decoding thresholds).
    """

    def __init__(self, cfg: VisibleConfig) -> None:
        super().__init__()
        if cfg.input_height < 16 or cfg.input_width < 16:
            raise InputError(f"model.visible.input_height/input_width must be >= 16, got {cfg.input_height}x{cfg.input_width}")
        if cfg.width < 4:
            raise InputError(f"model.visible.width must be >= 4, got {cfg.width}")
        if cfg.extra_blocks < 0:
            raise ConfigError(f"model.visible.extra_blocks must be >= 0, got {cfg.extra_blocks}")
        if cfg.refine_radius < 0 or cfg.refine_eps <= 0:
            raise ConfigError(f"model.visible.refine_radius must be >= 0 and refine_eps > 0, "
                              f"got {cfg.refine_radius} and {cfg.refine_eps}")
        if not 0.0 < cfg.boundary_threshold < 1.0:
            raise ConfigError(f"model.visible.boundary_threshold must be in (0, 1), got {cfg.boundary_threshold}")
        self.cfg = cfg
        w = cfg.width
        if cfg.flow and not cfg.motion:
            raise ConfigError("model.visible.flow is computed from the previous frame: it needs model.visible.motion: true")
        check_flow_settings(cfg.flow_preset, cfg.flow_camera)
        if not cfg.rgb and not cfg.flow:
            raise ConfigError("model.visible.rgb: false leaves the network the flow alone: it needs model.visible.flow: true")
        self.motion = bool(cfg.motion)  # also sees the previous frame
        self.flow = bool(cfg.flow)  # ... and the optical flow between the two
        self.rgb = bool(cfg.rgb)  # ... or only that flow (no colours: what transfers from a synthetic world)
        # RGB of this frame, of the previous one (motion), flow (dx, dy) between them
        self.in_channels = (3 + 3 * self.motion) * self.rgb + 2 * self.flow
        self.stem = nn.Sequential(ConvBN(self.in_channels, w, 3, 2), nn.ReLU(inplace=True), SepBlock(w, w))  # 1/2
        self.enc1 = nn.Sequential(SepBlock(w, 2 * w, 2), SepBlock(2 * w, 2 * w))  # 1/4
        extra = cfg.extra_blocks  # more depth where the maps are small: cheap capacity and context
        self.enc2 = nn.Sequential(SepBlock(2 * w, 3 * w, 2), SepBlock(3 * w, 3 * w),  # 1/8
                                  *[SepBlock(3 * w, 3 * w) for _ in range(extra)])
        self.enc3 = nn.Sequential(  # 1/16 with context
            SepBlock(3 * w, 4 * w, 2), SepBlock(4 * w, 4 * w, dilation=2), SepBlock(4 * w, 4 * w, dilation=4),
            *[SepBlock(4 * w, 4 * w, dilation=_EXTRA_DILATIONS[i % len(_EXTRA_DILATIONS)]) for i in range(extra)],
        )
        d = 2 * w
        self.top = ConvBN(4 * w, d, 1)
        self.lat2 = ConvBN(3 * w, d, 1)
        self.lat1 = ConvBN(2 * w, d, 1)
        self.dec2 = SepBlock(d, d)
        self.dec1 = SepBlock(d, w)  # narrow before the costly 1/2-resolution stage
        self.dec0 = SepBlock(w, w)
        self.head = nn.Sequential(SepBlock(w, w), nn.Conv2d(w, 5, 1))  # fg, boundary, center, dy, dx
        with torch.no_grad():  # start rare classes at a low prior (stable focal/BCE at init)
            self.head[-1].bias.copy_(torch.tensor([0.0, -2.0, -2.2, 0.0, 0.0]))

    def input_size(self, height: int, width: int) -> Tuple[int, int]:
        """(h, w) the network sees a (height, width) frame at: `cfg.input_height x cfg.input_width`,
        or with `cfg.keep_aspect` the frame's own aspect at about as many pixels (sides multiples
        of 16, the encoder's stride), so that objects are not squashed."""
        h0, w0 = self.cfg.input_height, self.cfg.input_width
        if not self.cfg.keep_aspect or height * w0 == width * h0:
            return h0, w0
        s = math.sqrt(h0 * w0 / float(height * width))
        return max(16, int(round(height * s / 16.0)) * 16), max(16, int(round(width * s / 16.0)) * 16)

    @property
    def output_stride(self) -> int:
        """Network input pixels per output pixel."""
        return 2

    def forward(self, images: Tensor, previous: Optional[Tensor] = None, sized: bool = False,
                flow: Optional[Tensor] = None) -> VisibleOutput:
        """Predict per-pixel cues.

        Args:
            images: float32 (B, 3, H, W) RGB in [0, 1], any H, W.
            previous: float32 (B, 3, H, W) the frames before `images` (motion networks,
                `cfg.motion`, which also compute the flow from them with `cfg.flow`; None: no
                motion known, as at a stream's first frame). Ignored by networks without
                motion input.
            sized: the images were already resized to `input_size` of their frames (as `infer`
                does), so they are used as they are.
            flow: float32 (B, 2, h, w) flow channels already computed for these frames at the
                network's input size (`relative_flow_u8`, as `infer` does); None: computed here.

        Returns:
            `VisibleOutput` at half of `input_size(H, W)` (of H, W themselves when `sized`).
        """
        if images.dim() != 4 or images.shape[1] != 3:
            raise InputError(f"VisibleNet expects images (B, 3, H, W), got shape {tuple(images.shape)}")
        size = tuple(images.shape[-2:]) if sized else self.input_size(images.shape[-2], images.shape[-1])
        x = images.float()
        if self.motion:
            if previous is not None and previous.shape != images.shape:
                raise InputError(f"previous frames {tuple(previous.shape)} differ in shape from "
                                 f"images {tuple(images.shape)}")
            x = torch.cat([x, x if previous is None else previous.float()], 1)
        if tuple(x.shape[-2:]) != size:
            down = x.shape[-2] > size[0] or x.shape[-1] > size[1]
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=down)
        if not self.flow:
            flow = None
        elif flow is None:
            flow = relative_flow(x[:, :3], None if previous is None else x[:, 3:], self.cfg.flow_preset,
                                 self.cfg.flow_camera)
        if not self.rgb:
            x = flow
        else:
            x = (x * (1.0 / _STD)).sub_(_MEAN / _STD)
            if flow is not None:
                x = torch.cat([x, flow], 1)
        x = x.contiguous(memory_format=torch.channels_last)  # ~1.8x faster training than NCHW on CPU
        e0 = self.stem(x)
        e1 = self.enc1(e0)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        y = self.top(e3)
        y = self.dec2(self._up_add(y, self.lat2(e2)))
        y = self.dec1(self._up_add(y, self.lat1(e1)))
        y = self.dec0(self._up_add(y, e0))
        o = self.head(y)
        return VisibleOutput(fg=o[:, 0:1], boundary=o[:, 1:2], center=o[:, 2:3], offset=o[:, 3:5] * self.cfg.offset_scale)

    @staticmethod
    def _up_add(x: Tensor, skip: Tensor) -> Tensor:
        """Nearest 2x upsampling of `x` (B, C, h, w) added to `skip` (B, C, H, W); without autograd, and
        when H, W are exactly 2h, 2w, added into `skip` in place (the same sums, no upsampled copy)."""
        b, c, h, w = x.shape
        if not torch.is_grad_enabled() and tuple(skip.shape[-2:]) == (2 * h, 2 * w):
            skip.view(b, c, h, 2, w, 2).add_(x.view(b, c, h, 1, w, 1))
            return skip
        return F.interpolate(x, size=skip.shape[-2:], mode="nearest") + skip

    def loss(self, out: VisibleOutput, visible_ids: Tensor, balanced_offsets: bool = False) -> Dict[str, Tensor]:
        """Unweighted loss terms.

        Args:
            out: outputs of `forward` for B images.
            visible_ids: int64 (B, H, W) instance ids at the input resolution (0 = background).
            balanced_offsets: average the offset error per instance, then over instances (every
                object counts alike, `train.offset_balance`), instead of over foreground pixels
                (large objects dominate).

        Returns:
            {"vis_fg": BCE, "vis_boundary": class-balanced BCE, "vis_center": CenterNet focal loss,
            "vis_offset": L1 in units of `offset_scale` over foreground pixels}. Finite for frames
            without objects.
        """
        if visible_ids.dim() != 3 or visible_ids.shape[0] != out.fg.shape[0]:
            raise InputError(
                f"visible_ids must be (B, H, W) with B={out.fg.shape[0]}, got shape {tuple(visible_ids.shape)}"
            )
        tg = visible_targets(visible_ids.to(out.fg.device), tuple(out.fg.shape[-2:]))
        fg_l = F.binary_cross_entropy_with_logits(out.fg[:, 0].float(), tg["fg_soft"])
        bnd = tg["boundary"]
        n_pos = bnd.sum()
        pos_w = torch.clamp((bnd.numel() - n_pos) / n_pos.clamp(min=1.0), 1.0, 10.0)
        bnd_l = F.binary_cross_entropy_with_logits(out.boundary[:, 0].float(), bnd, pos_weight=pos_w)
        ctr_l = _center_focal(out.center[:, 0].float(), tg["heat"])
        m = tg["fg"]
        if m.any():
            diff = (out.offset.float() - tg["offset"]).abs().sum(1) / self.cfg.offset_scale
            share = tg["share"]  # weights summing to 1 over each instance
            off_l = (diff * share).sum() / share.sum() if balanced_offsets else diff[m].mean()
        else:
            off_l = out.offset.sum() * 0.0
        return dict(zip(LOSS_TERMS, (fg_l, bnd_l, ctr_l, off_l)))

    @torch.inference_mode()
    def predict_instances(self, image: np.ndarray, max_objects: int = 16,
                          previous: Optional[np.ndarray] = None) -> List[Instance]:
        """Visible instances of one image.

        Args:
            image: RGB uint8 (H, W, 3).
            max_objects: maximum number of instances returned.
            previous: RGB uint8 (H, W, 3) the frame before `image` (used by motion networks;
                None: no motion known).

        Returns:
            Instances (bool (H, W) masks, scores in [0, 1]) sorted by decreasing score, disjoint.
        """
        return self.predict_instances_batch([image], max_objects, None if previous is None else [previous])[0]

    @torch.inference_mode()
    def predict_instances_batch(self, images: Sequence[np.ndarray], max_objects: int = 16,
                                previous: Optional[Sequence[np.ndarray]] = None) -> List[List[Instance]]:
        """`predict_instances` for several RGB uint8 (H, W, 3) images of the same size (and their
        previous frames, one per image, or None)."""
        if len(images) == 0:
            return []
        _check_images(images, "image")
        if previous is not None:
            if len(previous) != len(images):
                raise InputError(f"{len(previous)} previous frames given for {len(images)} images")
            _check_images(previous, "previous frame")
            if previous[0].shape != images[0].shape:
                raise InputError(f"previous frame size {previous[0].shape} differs from image size {images[0].shape}")
        H, W = images[0].shape[:2]
        out = self.infer(images, previous)
        params = self.decode_params(max_objects)
        res = []
        for b in range(len(images)):
            res.append(
                decode_instances(
                    out.fg[b, 0].cpu(), out.boundary[b, 0].cpu(), out.center[b, 0].cpu(), out.offset[b].cpu(), (H, W), params,
                    image=images[b],
                )
            )
        return res

    @torch.inference_mode()
    def infer(self, images: Sequence[np.ndarray], previous: Optional[Sequence[np.ndarray]] = None) -> VisibleOutput:
        """Raw outputs (inference statistics) for RGB uint8 (H, W, 3) images of one size (and their
        previous frames, or None), checked by the caller; the caller's train/eval mode is restored."""
        images = self._sized(images)
        previous = self._sized(previous) if previous is not None and self.motion else None
        flow = None
        if self.flow:  # first, before any tensor work of this frame (relative_flow_u8)
            flow = relative_flow_u8(images, previous, self.cfg.flow_preset, self.cfg.flow_camera)
            flow = flow.to(self.head[-1].weight.device)
        x = self._to_input(images)
        prev = self._to_input(previous) if previous is not None else None
        if not self.training:
            return self(x, prev, sized=True, flow=flow)
        self.eval()
        try:
            return self(x, prev, sized=True, flow=flow)
        finally:
            self.train()

    def _sized(self, images: Sequence[np.ndarray]) -> Sequence[np.ndarray]:
        """RGB uint8 (H, W, 3) images at the network input size. Resizing uses OpenCV (area when
        shrinking) on uint8, which is much cheaper than on tensors."""
        H, W = images[0].shape[:2]
        size = self.input_size(H, W)[::-1]
        if (W, H) != size:
            interp = cv2.INTER_AREA if W > size[0] or H > size[1] else cv2.INTER_LINEAR
            images = [cv2.resize(im, size, interpolation=interp) for im in images]
        return images

    def _to_input(self, images: Sequence[np.ndarray]) -> Tensor:
        """RGB uint8 (H, W, 3) images at the network input size (`_sized`) -> float (B, 3, h, w)
        channels_last."""
        arr = np.stack(images).astype(np.float32) * np.float32(1.0 / 255.0)
        # (B, h, w, 3) memory viewed as (B, 3, h, w) is exactly the channels_last layout
        return torch.from_numpy(arr).permute(0, 3, 1, 2).to(self.head[-1].weight.device)

    def decode_params(self, max_objects: int = 16) -> DecodeParams:
        """Decoding thresholds from the config."""
        c = self.cfg
        return DecodeParams(
            fg_threshold=c.fg_threshold,
            center_threshold=c.center_threshold,
            nms_kernel=c.nms_kernel,
            vote_radius=c.vote_radius,
            vote_radius_rel=c.vote_radius_rel,
            score_threshold=c.score_threshold,
            min_area=c.min_area,
            hole_area=c.hole_area,
            max_objects=max_objects,
            refine_radius=c.refine_radius,
            refine_eps=c.refine_eps,
            boundary_threshold=c.boundary_threshold,
        )


def _check_images(images: Sequence[np.ndarray], what: str) -> None:
    """Raise `InputError` unless every item is an RGB uint8 (H, W, 3) array of the first one's size."""
    for i, im in enumerate(images):
        check_rgb(im, f"{what} {i}")
        if im.shape != images[0].shape:
            raise InputError(f"{what} {i}: size {im.shape} differs from {what} 0 {images[0].shape}")


def visible_targets(ids: Tensor, size: Sequence[int]) -> Dict[str, Tensor]:
    """Training targets at output resolution from an instance-id map (vectorised over instances).

    Args:
        ids: int64 (B, H, W) instance ids at input resolution (0 = background).
        size: output (h, w).

    Returns:
        fg_soft: (B, h, w) fraction of foreground (area resampling); fg: bool (B, h, w);
        boundary: (B, h, w) 1 on object pixels with a different object in their 3x3 neighbourhood;
        heat: (B, h, w) Gaussian center heatmap, exactly 1 at centers; offset: (B, 2, h, w)
        (dy, dx) to the instance center (0 on background); share: (B, h, w) 1 / the pixel count
        of the pixel's instance (0 on background), so each instance's pixels sum to 1 and the
        whole map to the number of instances.
    """
    B = ids.shape[0]
    h, w = int(size[0]), int(size[1])
    idf = ids.float()[:, None]
    fg_soft = F.interpolate((idf > 0).float(), size=(h, w), mode="area")[:, 0]
    lab = F.interpolate(idf, size=(h, w), mode="nearest-exact")[:, 0].long()
    fg = lab > 0
    labf = lab.float()[:, None]
    big = torch.where(labf > 0, labf, torch.full_like(labf, 1e9))
    mx = F.max_pool2d(labf, 3, 1, 1)[:, 0]
    mn = -F.max_pool2d(-big, 3, 1, 1)[:, 0]
    boundary = (fg & ((mx > lab) | (mn < lab))).float()
    heat = torch.zeros(B, h * w, device=ids.device)
    offset = torch.zeros(B, 2, h, w, device=ids.device)
    share = torch.zeros(B, h, w, device=ids.device)
    if fg.any():
        bi, yi, xi = torch.nonzero(fg, as_tuple=True)
        key = bi * (int(lab.max()) + 1) + lab[bi, yi, xi]
        uniq, inv = torch.unique(key, return_inverse=True)
        n = uniq.numel()
        yf, xf = yi.float(), xi.float()
        cnt = torch.bincount(inv, minlength=n).float()
        share[bi, yi, xi] = 1.0 / cnt[inv]
        cy = torch.zeros(n, device=ids.device).index_add_(0, inv, yf) / cnt
        cx = torch.zeros(n, device=ids.device).index_add_(0, inv, xf) / cnt
        d = (yf - cy[inv]) ** 2 + (xf - cx[inv]) ** 2
        dmin = torch.full((n,), float("inf"), device=ids.device).scatter_reduce(0, inv, d, "amin")
        pos = torch.arange(d.numel(), device=ids.device)
        cand = torch.where(d <= dmin[inv], pos, torch.full_like(pos, d.numel()))
        first = torch.full((n,), d.numel(), device=ids.device, dtype=torch.long).scatter_reduce(0, inv, cand, "amin")
        py, px = yf[first], xf[first]
        offset[bi, 0, yi, xi] = py[inv] - yf
        offset[bi, 1, yi, xi] = px[inv] - xf
        sigma = torch.clamp(0.15 * cnt.sqrt(), 1.0, 4.0)
        gy = torch.arange(h, device=ids.device).float()
        gx = torch.arange(w, device=ids.device).float()
        g = torch.exp(
            -((gy[None, :, None] - py[:, None, None]) ** 2 + (gx[None, None, :] - px[:, None, None]) ** 2)
            / (2 * sigma[:, None, None] ** 2)
        )
        flat_idx = bi[first][:, None] * (h * w) + torch.arange(h * w, device=ids.device)[None]
        heat.view(-1).scatter_reduce_(0, flat_idx.view(-1), g.view(-1), "amax")
    return {"fg_soft": fg_soft, "fg": fg, "boundary": boundary, "heat": heat.view(B, h, w), "offset": offset,
            "share": share}


def _center_focal(logits: Tensor, heat: Tensor, alpha: float = 2.0, beta: float = 4.0) -> Tensor:
    """CenterNet penalty-reduced focal loss, normalised by the number of centers (>= 1).

    Args:
        logits: (B, h, w) center logits; heat: (B, h, w) target heatmap (1 at centers).
    """
    pos = heat >= 1.0 - 1e-6
    p = torch.sigmoid(logits)
    log_p = F.logsigmoid(logits)
    log_1p = F.logsigmoid(-logits)
    pos_l = -((1 - p) ** alpha) * log_p * pos
    neg_l = -((1 - heat) ** beta) * (p**alpha) * log_1p * (~pos)
    return (pos_l.sum() + neg_l.sum()) / pos.sum().clamp(min=1).float()
