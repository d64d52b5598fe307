"""The training driver of the completion model over a clip, and the self-supervised objective.

`run_clip` runs the shape memory causally over a clip of T frames for M objects, exactly like the
streaming session: at each frame it moves the memory with the object motions, picks each object's
crop (its visible box united with its previous amodal box moved by its motion, 1.5x, square),
reads the memory, predicts, and writes the frame (real visible mask + the model's own detached,
post-processed prediction) into the memory.

`clip_losses` turns the predictions into the named terms of docs/OBJECTIVE.md. Only RGB and
visible masks are used, except `amodal_supervised`, which needs `ClipBatch.amodal` and exists
only for the supervised upper bound (cfg.train.amodal_supervision).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional

import numpy as np
import torch

from amodal.config import CompletionConfig
from amodal.losses.occluders import Erasers
from amodal.losses.terms import masked_bce, soft_iou_loss
from amodal.models.completion import CompletionNet
from amodal.models.crops import crop_tensor, homogeneous, warp_with_coverage
from amodal.models.memory import ClipMemory

CROP_SCALE = 1.5
MIN_CROP_SIDE = 24.0
ERASER_WEIGHT = 5.0


@dataclass
class ClipObjects:
    """The objects of a batch of clips (B clips, M objects, T frames, H x W).

    Attributes:
        ids: (B, T, H, W) int64 visible-id maps (0 background, k object slot k-1, > K other objects).
        obj_clip: (M,) clip of each object (objects of one clip share frames: the `groups`).
        obj_id: (M,) the object's id in `ids`.
        motions: (M, T-1, 2, 3) frame t -> t+1.
        rgb: (B, T, 3, H, W) in [0, 1] or None (only when the model uses RGB).
        amodal: (M, T, H, W) bool ground-truth amodal masks, supervised runs only.
    """

    ids: torch.Tensor
    obj_clip: torch.Tensor
    obj_id: torch.Tensor
    motions: torch.Tensor
    rgb: Optional[torch.Tensor] = None
    amodal: Optional[torch.Tensor] = None

    @property
    def groups(self) -> torch.Tensor:
        return self.obj_clip

    @property
    def num_objects(self) -> int:
        return int(self.obj_clip.shape[0])

    def visible(self, t: int) -> torch.Tensor:
        """(M, H, W) bool true visible masks at frame t."""
        return self.ids[:, t][self.obj_clip] == self.obj_id[:, None, None]

    def visible_all(self) -> torch.Tensor:
        """(M, T, H, W) bool."""
        return self.ids[self.obj_clip] == self.obj_id[:, None, None, None]


class BilinearTaps:
    """Bilinear sampling of full-frame maps into crops without building float frame tensors.

    Samples exactly like `grid_sample(align_corners=False, padding_mode="zeros")` through
    `amodal.models.crops.warp_tensor`: crop pixel (u, v) reads frame point inv(C) (u, v, 1).
    Indicator maps (e.g. `ids == k`) are evaluated at the 4 taps only, so a crop costs
    O(M S^2) whatever the frame size.
    """

    def __init__(self, mats: torch.Tensor, size: int, height: int, width: int) -> None:
        dev = mats.device
        inv = torch.linalg.inv(homogeneous(mats.double()))[:, :2]  # (M, 2, 3) crop -> frame
        r = torch.arange(size, device=dev, dtype=torch.float64)
        v, u = torch.meshgrid(r, r, indexing="ij")
        pts = torch.stack([u, v, torch.ones_like(u)], -1).reshape(-1, 3)  # (S*S, 3)
        xy = pts @ inv.transpose(1, 2)  # (M, S*S, 2)
        x, y = xy[..., 0], xy[..., 1]
        x0, y0 = torch.floor(x), torch.floor(y)
        fx, fy = (x - x0).float(), (y - y0).float()
        x0, y0 = x0.long(), y0.long()
        taps, weights, valid = [], [], []
        for dy, dx, w in ((0, 0, (1 - fx) * (1 - fy)), (0, 1, fx * (1 - fy)), (1, 0, (1 - fx) * fy), (1, 1, fx * fy)):
            xx, yy = x0 + dx, y0 + dy
            ok = (xx >= 0) & (xx < width) & (yy >= 0) & (yy < height)
            taps.append(yy.clamp(0, height - 1) * width + xx.clamp(0, width - 1))
            weights.append(w * ok)
            valid.append(ok)
        self.flat = torch.stack(taps, 1)  # (M, 4, S*S)
        self.weight = torch.stack(weights, 1)  # (M, 4, S*S), zero outside the frame
        self.m, self.size, self.hw = mats.shape[0], size, height * width

    def gather(self, maps: torch.Tensor, index: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Values (M, 4, S*S) of maps (N, H, W) at the taps; object i reads map index[i] (default i)."""
        rows = torch.arange(self.m, device=maps.device) if index is None else index
        flat = maps.reshape(-1)[(rows * self.hw)[:, None, None] + self.flat]
        return flat

    def sample(self, values: torch.Tensor) -> torch.Tensor:
        """Tap values (M, 4, S*S) -> bilinear crop (M, S, S) (rounding noise snapped to exact 0 / 1)."""
        out = (values.to(self.weight.dtype) * self.weight).sum(1).view(self.m, self.size, self.size)
        return _snap(out)

    def inframe(self) -> torch.Tensor:
        return _snap(self.weight.sum(1).view(self.m, self.size, self.size))


def _snap(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    return torch.where(x > 1 - eps, torch.ones_like(x), torch.where(x < eps, torch.zeros_like(x), x))


@dataclass
class ClipPrediction:
    """Outputs of `run_clip`.

    Attributes:
        logits: (M, T, 1, S, S) amodal logits in each frame's crop.
        crops: (M, T, 2, 3) frame -> crop matrices.
        alive: (M, T) bool, the object had a crop (visible now or earlier).
        targets: (M, T, 5, S, S) crops of the true visible, others, free, eraser, in-frame.
        reference: (M, T, 1, S, S) logits of a frozen reference net on the same inputs, or None.
    """

    logits: torch.Tensor
    crops: torch.Tensor
    alive: torch.Tensor
    targets: torch.Tensor
    reference: Optional[torch.Tensor] = None


def mask_boxes(masks: torch.Tensor, threshold: float = 0.5) -> tuple:
    """Boxes of (N, H, W) maps > threshold: (x0, y0, x1, y1) float (N, 4) and has (N,) bool."""
    on = masks > threshold
    rows, cols = on.any(-1), on.any(-2)
    has = rows.any(-1)
    h, w = masks.shape[-2:]
    y0 = rows.float().argmax(-1)
    y1 = h - 1 - rows.flip(-1).float().argmax(-1)
    x0 = cols.float().argmax(-1)
    x1 = w - 1 - cols.flip(-1).float().argmax(-1)
    return torch.stack([x0, y0, x1, y1], -1).float(), has


def transform_boxes(boxes: torch.Tensor, mats: torch.Tensor) -> torch.Tensor:
    """Bounding boxes (N, 4) of box corners moved by affines (N, 2, 3) or (N, 3, 3)."""
    x0, y0, x1, y1 = boxes.unbind(-1)
    pts = torch.stack([torch.stack([x0, y0], -1), torch.stack([x1, y0], -1),
                       torch.stack([x0, y1], -1), torch.stack([x1, y1], -1)], 1)  # (N, 4, 2)
    moved = pts @ mats[:, :2, :2].transpose(1, 2) + mats[:, None, :2, 2]
    return torch.cat([moved.min(1).values, moved.max(1).values], -1)


def square_matrices(boxes: torch.Tensor, size: int) -> torch.Tensor:
    """Frame -> crop matrices (N, 2, 3) of squares 1.5x around boxes (N, 4)."""
    x0, y0, x1, y1 = boxes.unbind(-1)
    side = (torch.maximum(x1 - x0 + 1, y1 - y0 + 1) * CROP_SCALE).clamp(min=MIN_CROP_SIDE)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    a = size / side
    c = (size - 1) / 2.0
    zero = torch.zeros_like(a)
    return torch.stack([torch.stack([a, zero, c - a * cx], -1), torch.stack([zero, a, c - a * cy], -1)], 1)


def run_clip(net: CompletionNet, cfg: CompletionConfig, objs: ClipObjects, erasers: Optional[Erasers] = None,
             reference: Optional[CompletionNet] = None) -> ClipPrediction:
    """Run the completion model with its memory causally over a clip (see module docstring).

    `reference`: a frozen completion net also run (without gradient) on exactly the inputs `net`
    sees, for the `anchor` term of adaptation; its logits go to `ClipPrediction.reference`.
    """
    m = objs.num_objects
    t_count, h, w = objs.ids.shape[1:]
    s = cfg.crop_size
    dev = objs.ids.device
    memory = ClipMemory(m, cfg.memory_permanent, cfg.memory_recent, s, dev)
    use_erasers = erasers is not None and bool(erasers.applied.any())
    if use_erasers:
        e_all = torch.as_tensor(erasers.mask, device=dev)
        front_all = torch.as_tensor(erasers.front, device=dev)
    full_box = torch.tensor([0.0, 0.0, w - 1.0, h - 1.0], device=dev).expand(m, 4)
    prev_box: Optional[torch.Tensor] = None
    prev_has = torch.zeros(m, dtype=torch.bool, device=dev)
    logits_all, crops_all, alive_all, targets_all, ref_all = [], [], [], [], []
    # persistent occluders hide parts over several frames: the memory then stores what the model saw
    # (as the streaming memory does under a real occlusion), else the real visible masks
    erased_memory = use_erasers and erasers.persistent
    for t in range(t_count):
        ids_t = objs.ids[:, t]
        vis_full = ids_t[objs.obj_clip] == objs.obj_id[:, None, None]
        if use_erasers:
            e_t = e_all[:, t]
            vis_in_full = vis_full & ~(e_t & front_all[:, t, None, None])
        else:
            vis_in_full = vis_full
        quality = (vis_in_full if erased_memory else vis_full).sum((-1, -2)).float()
        box, has = mask_boxes(vis_in_full)
        if t > 0:
            memory.advance(objs.motions[:, t - 1])
            moved = transform_boxes(prev_box, objs.motions[:, t - 1])
            both = has & prev_has
            box = torch.where(both[:, None], torch.cat([torch.minimum(box[:, :2], moved[:, :2]),
                                                        torch.maximum(box[:, 2:], moved[:, 2:])], -1),
                              torch.where(has[:, None], box, moved))
            has = has | prev_has
        alive = has.clone()
        box = torch.where(has[:, None], box, full_box)
        mats = square_matrices(box, s)
        taps = BilinearTaps(mats, s, h, w)
        tap_ids = taps.gather(ids_t, objs.obj_clip)
        vis = taps.sample(tap_ids == objs.obj_id[:, None, None])
        anyobj = taps.sample(tap_ids > 0)
        inframe = taps.inframe()
        others = (anyobj - vis).clamp(min=0.0)
        free = (inframe - anyobj).clamp(min=0.0)
        if use_erasers:
            er = taps.sample(taps.gather(e_t))
            front = front_all[:, t].to(er.dtype)[:, None, None]
            vis_in = vis * (1 - er * front)
            occ_in = (others + er).clamp(max=1.0) * (1 - vis_in)
            free_in = free * (1 - er)
        else:
            er = torch.zeros_like(vis)
            vis_in, occ_in, free_in = vis, others, free
        channels = [torch.stack([vis_in, occ_in, free_in], 1), memory.read(mats)]
        if cfg.use_rgb:
            channels.append(crop_tensor(objs.rgb[objs.obj_clip, t], mats, s))
        x = torch.cat(channels, 1)
        logits = net(x, objs.groups)
        if reference is not None:
            with torch.no_grad():
                ref_all.append(reference(x, objs.groups))
        prob = torch.sigmoid(logits.detach())[:, 0]
        shown = torch.maximum(vis_in, prob * occ_in)  # the session's output at this frame
        if erased_memory:
            memory.write(vis_in, shown, mats, quality)
        else:
            memory.write(vis, torch.maximum(vis, prob * others), mats, quality)
        cbox, chas = mask_boxes(shown)
        inv = torch.linalg.inv(homogeneous(mats))
        prev_box = torch.where(chas[:, None], transform_boxes(cbox, inv), box)
        prev_has = chas | has
        target = [vis, others, free, er, inframe]
        if objs.amodal is not None:
            target.append(taps.sample(taps.gather(objs.amodal[:, t])))
        logits_all.append(logits)
        crops_all.append(mats)
        alive_all.append(alive)
        targets_all.append(torch.stack(target, 1))
    return ClipPrediction(torch.stack(logits_all, 1), torch.stack(crops_all, 1), torch.stack(alive_all, 1),
                          torch.stack(targets_all, 1), torch.stack(ref_all, 1) if ref_all else None)


def eraser_applied(erasers: Optional[Erasers], like: torch.Tensor) -> torch.Tensor:
    """(M, T, 1, 1) in `like`'s dtype and device (`like` (M, T, ...)): 1 for the object-frames given a synthetic
    occluder, 0 elsewhere (all 0 without erasers)."""
    if erasers is None:
        return like.new_zeros(like.shape[:2] + (1, 1))
    return torch.as_tensor(erasers.applied, device=like.device, dtype=like.dtype)[:, :, None, None]


def clip_losses(pred: ClipPrediction, objs: ClipObjects, erasers: Optional[Erasers],
                weights: Dict[str, float], supervised: bool = False) -> Dict[str, torch.Tensor]:
    """Named, unweighted loss terms (only those with a non-zero weight are computed).

    Targets per crop: 1 on the true visible mask, 0 on visible background, don't care on the
    other objects' visible masks and outside the frame. See docs/OBJECTIVE.md.
    """
    logits = pred.logits[:, :, 0]  # (M, T, S, S)
    tg = pred.targets
    vis, occ, free, eraser, inframe = tg[:, :, 0], tg[:, :, 1], tg[:, :, 2], tg[:, :, 3], tg[:, :, 4]
    alive = pred.alive.to(logits.dtype)[:, :, None, None]
    care = (1 - occ) * inframe * alive
    m, t_count = logits.shape[:2]
    applied = eraser_applied(erasers, logits)
    out: Dict[str, torch.Tensor] = {}
    if weights.get("visible_fit", 0.0):
        out["visible_fit"] = masked_bce(logits, vis, care * (1 - applied))
    if weights.get("occluder_synthesis", 0.0):
        out["occluder_synthesis"] = masked_bce(logits, vis, care * applied * (1 + (ERASER_WEIGHT - 1) * eraser))
    if t_count > 1 and (weights.get("next_visible", 0.0) or weights.get("temporal_consistency", 0.0)):
        src = pred.logits[:, :-1].reshape(-1, 1, *logits.shape[-2:])
        c_now = homogeneous(pred.crops[:, :-1].reshape(-1, 2, 3))
        c_next = homogeneous(pred.crops[:, 1:].reshape(-1, 2, 3))
        motion = homogeneous(objs.motions.reshape(-1, 2, 3).to(c_now.dtype))
        to_next = c_next @ motion @ torch.linalg.inv(c_now)
        moved_logits, valid = (x.view(m, t_count - 1, *logits.shape[-2:])
                               for x in warp_with_coverage(src, to_next, logits.shape[-2:]))
        both = alive[:, :-1] * alive[:, 1:] * valid * inframe[:, 1:]
        if weights.get("next_visible", 0.0):
            out["next_visible"] = masked_bce(moved_logits, vis[:, 1:], both * (1 - occ[:, 1:]))
        if weights.get("temporal_consistency", 0.0):
            p = torch.sigmoid(moved_logits).flatten(0, 1)
            q = torch.sigmoid(logits[:, 1:]).flatten(0, 1)
            out["temporal_consistency"] = soft_iou_loss(p, q, both.flatten(0, 1))
    if weights.get("anchor", 0.0) and pred.reference is not None:
        # on other objects' visible pixels (where the other terms are mostly silent), stay near the reference
        out["anchor"] = masked_bce(logits, torch.sigmoid(pred.reference[:, :, 0]), occ * inframe * alive)
    if supervised:
        if tg.shape[2] < 6:
            raise ValueError("amodal_supervised needs ground-truth amodal masks in the batch")
        out["amodal_supervised"] = masked_bce(logits, tg[:, :, 5], inframe * alive)
    return out


def objects_from_batch(frames: Optional[torch.Tensor], visible_ids: torch.Tensor, object_valid: torch.Tensor,
                       motions: torch.Tensor, amodal: Optional[torch.Tensor] = None) -> ClipObjects:
    """Gather the valid object slots of a batch into `ClipObjects`.

    Args:
        frames: (B, T, 3, H, W) float in [0, 1], or None when the model does not read RGB.
        visible_ids: (B, T, H, W) int64, 0 = background, k = slot k-1.
        object_valid: (B, K) bool.
        motions: (B, K, T-1, 2, 3).
        amodal: (B, K, T, H, W) bool or None.
    """
    b_idx, k_idx = torch.nonzero(object_valid, as_tuple=True)
    am = amodal[b_idx, k_idx] if amodal is not None else None
    return ClipObjects(visible_ids, b_idx, k_idx + 1, motions[b_idx, k_idx].float(), frames, am)


def erasers_for(objs: ClipObjects, rng: np.random.Generator, p_apply: float = 0.5, persistent: bool = False,
                p_front: float = 0.8) -> Erasers:
    """Draw synthetic occluders for the objects of a batch (see `amodal.losses.occluders`)."""
    from amodal.losses.occluders import sample_erasers

    return sample_erasers(objs.visible_all().cpu().numpy(), objs.groups.cpu().numpy(), rng, p_apply=p_apply,
                          persistent=persistent, p_front=p_front)


__all__ = ["ClipObjects", "ClipPrediction", "run_clip", "clip_losses", "objects_from_batch", "erasers_for"]
