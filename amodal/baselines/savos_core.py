"""SaVos's bidirectional prediction of a track window (shared by training and inference).

Frame s is predicted by the forward pass's step s-1 (frames 0..s-1 seen) warped along the forward
amodal flow, and by the backward pass's step s+1 (frames L-1..s+1 seen) warped along the backward
amodal flow; the two are fused per pixel by a softmax over their warped fusion logits. The visible
mask and patch of frame s are never an input of its own prediction.
"""
from __future__ import annotations

from typing import Dict

import torch

from amodal.baselines.geometry import crop
from amodal.baselines.savos_data import SaVosSample
from amodal.baselines.savos_model import SaVosNet
from amodal.baselines.savos_warp import amodal_flow, fuse, patch_to_image, warp_patch


def build_patches(s: SaVosSample, flow: torch.Tensor, hw: tuple) -> torch.Tensor:
    """Patches (N, 6, h, w) [RGB, visible, flow in patch pixels] of flat frames (N = B*L).

    Args:
        s: a batch with flat fields (N, ...) (see `flat`).
        flow: (N, 2, Hs, Ws) the pass's flow.
    """
    img = crop(s.images, s.boxes, hw)
    vis = crop(s.vis, s.boxes, hw)
    fl = crop(flow, s.boxes, hw)
    scale = torch.stack([hw[1] / s.boxes[:, 2], hw[0] / s.boxes[:, 3]], dim=1)[:, :, None, None]
    return torch.cat([img, vis, fl * scale], dim=1)


def flat(s: SaVosSample) -> SaVosSample:
    """(B, L, ...) fields -> (B*L, ...)."""
    return SaVosSample(*(getattr(s, f).flatten(0, 1) for f in SaVosSample.__dataclass_fields__))


def warp_outputs(out: Dict[str, torch.Tensor], s: SaVosSample, flow: torch.Tensor) -> torch.Tensor:
    """Warp one pass's flat outputs to the neighbouring frames: (N, 2, Hs, Ws) [prob, fusion logit]."""
    field = amodal_flow(s.vis, flow, out["residual"], s.boxes)
    values = torch.cat([torch.sigmoid(out["mask"]), out["fusion"]], dim=1)
    return warp_patch(values, s.boxes, field)


def predict_window(model: SaVosNet, batch: SaVosSample) -> Dict[str, torch.Tensor]:
    """Bidirectional prediction of every frame of a batch of windows (B, L, ...).

    Returns:
        fused: (B, L, 1, Hs, Ws) probability of frame s from its neighbours;
        fwd_warp / bwd_warp: (B, L, 1, Hs, Ws) forward step t warped to t+1 / backward step t to t-1;
        fwd_own / bwd_own: (B, L, 1, Hs, Ws) each pass's step-t prediction mapped into frame t.
    """
    b, l = batch.vis.shape[:2]
    hs, ws = batch.vis.shape[-2:]
    hw = (model.cfg.patch_height, model.cfg.patch_width)
    fs = flat(batch)
    x_f = build_patches(fs, fs.flow_f, hw).view(b, l, 6, *hw)
    x_b = build_patches(fs, fs.flow_b, hw).view(b, l, 6, *hw)
    out_f = {k: v.flatten(0, 1) for k, v in model(x_f).items()}
    out_b = {k: v.flip(1).flatten(0, 1) for k, v in model(x_b.flip(1)).items()}
    wf = warp_outputs(out_f, fs, fs.flow_f).view(b, l, 2, hs, ws)
    wb = warp_outputs(out_b, fs, fs.flow_b).view(b, l, 2, hs, ws)
    zeros = torch.zeros_like(wf[:, :1])
    cand_f = torch.cat([zeros, wf[:, :-1]], dim=1)  # prediction of frame s from step s-1
    cand_b = torch.cat([wb[:, 1:], zeros], dim=1)   # prediction of frame s from step s+1
    idx = torch.arange(l, device=wf.device)
    valid = torch.stack([(idx >= 1).expand(b, l).reshape(-1), (idx <= l - 2).expand(b, l).reshape(-1)])
    probs = torch.stack([cand_f[:, :, :1], cand_b[:, :, :1]]).flatten(1, 2)
    logits = torch.stack([cand_f[:, :, 1:], cand_b[:, :, 1:]]).flatten(1, 2)
    fused = fuse(probs, logits, valid).view(b, l, 1, hs, ws)
    own_f = patch_to_image(torch.sigmoid(out_f["mask"]), fs.boxes, (hs, ws)).view(b, l, 1, hs, ws)
    own_b = patch_to_image(torch.sigmoid(out_b["mask"]), fs.boxes, (hs, ws)).view(b, l, 1, hs, ws)
    return {"fused": fused, "fwd_warp": wf[:, :, :1], "bwd_warp": wb[:, :, :1], "fwd_own": own_f, "bwd_own": own_b}


def _slice(s: SaVosSample, a: int, b: int) -> SaVosSample:
    return SaVosSample(*(getattr(s, f)[a:b] for f in SaVosSample.__dataclass_fields__))


def predict_track(model: SaVosNet, s: SaVosSample, chunk: int = 32) -> torch.Tensor:
    """`predict_window`'s fused output for ONE track (fields (L, ...)), in chunks of frames.

    Patches are cut and warped `chunk` frames at a time; the LSTM runs over the whole sequence.
    Equals `predict_window(model, stack_samples([s]))["fused"][0]` (up to float rounding).

    Returns:
        (L, 1, Hs, Ws) fused probabilities.
    """
    l = s.vis.shape[0]
    hs, ws = s.vis.shape[-2:]
    hw = (model.cfg.patch_height, model.cfg.patch_width)
    x_f = torch.cat([build_patches(_slice(s, a, a + chunk), _slice(s, a, a + chunk).flow_f, hw)
                     for a in range(0, l, chunk)])
    x_b = torch.cat([build_patches(_slice(s, a, a + chunk), _slice(s, a, a + chunk).flow_b, hw)
                     for a in range(0, l, chunk)])
    out_f = {k: v[0] for k, v in model(x_f[None]).items()}
    out_b = {k: v.flip(1)[0] for k, v in model(x_b.flip(0)[None]).items()}
    fused = torch.zeros(l, 1, hs, ws, device=s.vis.device)
    for a in range(0, l, chunk):
        lo, hi = max(0, a - 1), min(l, a + chunk + 1)  # neighbours of the chunk's frames
        part = _slice(s, lo, hi)
        wf = warp_outputs({k: v[lo:hi] for k, v in out_f.items()}, part, part.flow_f)
        wb = warp_outputs({k: v[lo:hi] for k, v in out_b.items()}, part, part.flow_b)
        for t in range(a, min(l, a + chunk)):
            cands, logits = [], []
            if t >= 1:
                cands.append(wf[t - 1 - lo, :1])
                logits.append(wf[t - 1 - lo, 1:])
            if t <= l - 2:
                cands.append(wb[t + 1 - lo, :1])
                logits.append(wb[t + 1 - lo, 1:])
            if cands:
                valid = torch.ones(len(cands), 1, dtype=torch.bool, device=s.vis.device)
                fused[t] = fuse(torch.stack(cands)[:, None], torch.stack(logits)[:, None], valid)[0]
    return fused
