"""VisibleNet: shapes, targets, loss, overfitting a tiny batch, decoding of hand-made outputs."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from amodal.config import VisibleConfig
from amodal.errors import ConfigError, InputError
from amodal.models.instances import DecodeParams, Instance, decode_instances
from amodal.models.visible import ConvBN, VisibleNet, VisibleOutput, visible_targets

H, W = 48, 64


def tiny_cfg(**kw) -> VisibleConfig:
    return VisibleConfig(width=8, input_height=H, input_width=W, min_area=6, hole_area=8, **kw)


def synth_frame(rng: np.random.Generator, same_colour: bool = False):
    """A 48x64 noisy frame with 3 overlapping objects (back to front) and its id map."""
    img = np.clip(rng.normal(0.5, 0.08, (H, W, 3)), 0, 1).astype(np.float32)
    ids = np.zeros((H, W), np.int64)
    yy, xx = np.mgrid[:H, :W]
    cy, cx = rng.integers(14, 34), rng.integers(16, 48)
    shapes = [
        (yy >= cy - 12) & (yy < cy + 6) & (xx >= cx - 14) & (xx < cx + 4),
        ((yy - cy - 4) / 9.0) ** 2 + ((xx - cx - 6) / 12.0) ** 2 <= 1,
        (yy >= cy - 4) & (yy < cy + 10) & (xx >= cx - 4) & (xx < cx + 14),
    ]
    colours = [(0.9, 0.2, 0.2), (0.2, 0.8, 0.3), (0.9, 0.2, 0.2) if same_colour else (0.2, 0.3, 0.9)]
    for k, (s, c) in enumerate(zip(shapes, colours), start=1):
        ids[s] = k
        img[s] = np.asarray(c, np.float32) + rng.normal(0, 0.03, (int(s.sum()), 3)).astype(np.float32)
    return np.clip(img, 0, 1), ids


def batch(n: int = 2, seed: int = 0):
    rng = np.random.default_rng(seed)
    frames = [synth_frame(rng, same_colour=(i % 2 == 1)) for i in range(n)]
    imgs = torch.from_numpy(np.stack([f[0] for f in frames])).permute(0, 3, 1, 2).contiguous()
    ids = torch.from_numpy(np.stack([f[1] for f in frames]))
    return imgs, ids


def test_forward_shapes_any_input_size():
    torch.manual_seed(0)
    net = VisibleNet(tiny_cfg(keep_aspect=False))
    for size in [(H, W), (37, 91)]:
        out = net(torch.rand(2, 3, *size))
        assert isinstance(out, VisibleOutput)
        for t, c in [(out.fg, 1), (out.boundary, 1), (out.center, 1), (out.offset, 2)]:
            assert t.shape == (2, c, H // 2, W // 2)
    with pytest.raises(InputError):
        net(torch.rand(2, 1, H, W))


def test_extra_blocks_add_depth_at_low_resolution_only():
    torch.manual_seed(0)
    base, deep = VisibleNet(tiny_cfg()), VisibleNet(tiny_cfg(extra_blocks=2))
    count = lambda net: sum(p.numel() for p in net.parameters())
    assert count(deep) > count(base)
    assert len(deep.enc2) == len(base.enc2) + 2 and len(deep.enc3) == len(base.enc3) + 2
    out = deep(torch.rand(2, 3, H, W))
    assert out.fg.shape == (2, 1, H // 2, W // 2) and out.offset.shape == (2, 2, H // 2, W // 2)
    # every weight of the plain network is a weight of the deeper one under the same name: the
    # extra blocks only add keys (a checkpoint without them still loads into extra_blocks=0)
    missing, unexpected = deep.load_state_dict(base.state_dict(), strict=False)
    assert not unexpected and missing and all(k.startswith(("enc2.2.", "enc2.3.", "enc3.3.", "enc3.4.")) for k in missing)
    with pytest.raises(ConfigError, match="extra_blocks"):
        VisibleNet(tiny_cfg(extra_blocks=-1))


def test_convbn_folded_eval_matches_conv_then_bn_and_follows_updates():
    torch.manual_seed(0)
    m = ConvBN(4, 6, 3, stride=2)
    with torch.no_grad():
        m.bn.running_mean.uniform_(-1, 1)
        m.bn.running_var.uniform_(0.5, 2)
        m.bn.weight.uniform_(0.5, 1.5)
    m.eval()
    x = torch.randn(2, 4, 9, 11)
    with torch.inference_mode():
        assert torch.allclose(m(x), m.bn(m.conv(x)), atol=1e-5)
    with torch.no_grad():  # an optimizer step / load_state_dict changes parameters in place
        m.conv.weight.mul_(2.0)
        m.bn.running_mean.add_(0.5)
    with torch.inference_mode():
        assert torch.allclose(m(x), m.bn(m.conv(x)), atol=1e-5)
    m2 = ConvBN(4, 6, 3, stride=2).eval()
    m2.load_state_dict(m.state_dict())
    assert torch.allclose(m2(x), m(x), atol=1e-6)


def test_targets_centers_inside_masks_and_boundaries_between_objects():
    _, ids = batch(1)
    tg = visible_targets(ids, (H // 2, W // 2))
    lab = torch.nn.functional.interpolate(ids.float()[:, None], size=(H // 2, W // 2), mode="nearest-exact")[0, 0]
    peaks = torch.nonzero(tg["heat"][0] >= 1 - 1e-6)
    assert len(peaks) == len(torch.unique(lab[lab > 0]))
    assert set(lab[peaks[:, 0], peaks[:, 1]].long().tolist()) == set(torch.unique(lab[lab > 0]).long().tolist())
    # following the offset from any object pixel lands on that object's center
    ys, xs = torch.nonzero(lab > 0, as_tuple=True)
    ty = (ys + tg["offset"][0, 0, ys, xs]).long()
    tx = (xs + tg["offset"][0, 1, ys, xs]).long()
    assert torch.equal(lab[ty, tx], lab[ys, xs])
    assert torch.all(tg["heat"][0, ty, tx] >= 1 - 1e-6)
    b = tg["boundary"][0] > 0
    assert b.any() and not b[lab == 0].any()


def test_loss_finite_with_and_without_objects():
    torch.manual_seed(0)
    net = VisibleNet(tiny_cfg())
    imgs, ids = batch(2)
    ids[1] = 0
    losses = net.loss(net(imgs), ids)
    assert set(losses) == {"vis_fg", "vis_boundary", "vis_center", "vis_offset"}
    total = sum(losses.values())
    assert torch.isfinite(total)
    total.backward()
    empty = net.loss(net(imgs), torch.zeros_like(ids))
    assert all(torch.isfinite(v) for v in empty.values())
    with pytest.raises(InputError):
        net.loss(net(imgs), ids[0])


def test_balanced_offsets_count_every_object_alike():
    ids = torch.zeros(1, H, W, dtype=torch.long)
    ids[0, 2:H - 2, 2:W // 2] = 1  # a large object
    ids[0, 4:10, W - 10:W - 4] = 2  # a small one
    size = (H // 2, W // 2)
    tg = visible_targets(ids, size)
    assert torch.allclose(tg["share"].sum(), torch.tensor(2.0))  # each object's pixels sum to 1: 2 objects
    net = VisibleNet(tiny_cfg())
    zeros = torch.zeros(1, 1, *size)
    offset = tg["offset"].clone()
    small = tg["share"][0] > tg["share"][0][tg["share"][0] > 0].min()  # the small object's pixels
    offset[0][:, small] += net.cfg.offset_scale  # only the small object's offsets are wrong (by one unit each)
    out = VisibleOutput(fg=zeros, boundary=zeros, center=zeros, offset=offset)
    per_pixel = net.loss(out, ids)["vis_offset"].item()
    per_object = net.loss(out, ids, balanced_offsets=True)["vis_offset"].item()
    assert per_object == pytest.approx(1.0)  # (2 units on the small object + 0 on the large) / 2 objects
    assert per_pixel < 0.2 < per_object  # per pixel the small object hardly counts


def test_overfits_tiny_batch():
    torch.manual_seed(0)
    net = VisibleNet(tiny_cfg())
    imgs, ids = batch(2)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    totals = []
    for _ in range(30):
        losses = net.loss(net(imgs), ids)
        total = sum(losses.values())
        opt.zero_grad()
        total.backward()
        opt.step()
        totals.append(float(total.detach()))
    assert all(np.isfinite(totals))
    assert np.mean(totals[-3:]) < 0.5 * np.mean(totals[:3])


def test_frames_of_another_aspect_keep_it():
    """A 16:9 frame is not squashed into the 4:3 input: it keeps its aspect at about as many pixels."""
    torch.manual_seed(0)
    net = VisibleNet(tiny_cfg()).eval()  # input 48x64 (4:3)
    assert net.input_size(H, W) == (H, W) and net.input_size(480, 640) == (H, W)
    h, w = net.input_size(36, 64)
    assert h % 16 == 0 and w % 16 == 0 and abs(w / h - 16 / 9) < 0.2 and 0.7 < h * w / (H * W) < 1.4
    assert net.input_size(64, 36) == (w, h)  # portrait
    assert net(torch.rand(1, 3, 36, 64)).fg.shape[-2:] == (h // 2, w // 2)
    img = (np.random.default_rng(0).random((36, 64, 3)) * 255).astype(np.uint8)
    assert net.infer([img]).fg.shape[-2:] == (h // 2, w // 2)  # the numpy path sizes alike
    assert all(i.mask.shape == (36, 64) for i in net.predict_instances(img))
    assert VisibleNet(tiny_cfg(keep_aspect=False)).input_size(36, 64) == (H, W)


def test_predict_instances_contract():
    torch.manual_seed(0)
    net = VisibleNet(tiny_cfg(center_threshold=0.0, fg_threshold=0.3))
    net.train()
    img = (np.random.default_rng(1).random((50, 70, 3)) * 255).astype(np.uint8)
    inst = net.predict_instances(img, max_objects=3)
    assert net.training  # mode restored
    assert len(inst) == 3  # an untrained net with zero thresholds finds many blobs: capped
    assert all(isinstance(i, Instance) and i.mask.shape == (50, 70) and i.mask.dtype == bool for i in inst)
    assert all(0.0 <= i.score <= 1.0 for i in inst)
    assert [i.score for i in inst] == sorted((i.score for i in inst), reverse=True)
    many = net.predict_instances(img, max_objects=30)
    assert len(many) > 3
    assert np.stack([i.mask for i in many]).sum(0).max() <= 1  # disjoint
    with pytest.raises(InputError):
        net.predict_instances(img.astype(np.float32))
    assert net.predict_instances_batch([]) == []


def _crafted_outputs(ids: np.ndarray, centers: dict, boundary: bool = True):
    """Ideal network outputs (logits, offsets) for an id map at output resolution."""
    h, w = ids.shape
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    fg = np.where(ids > 0, 6.0, -6.0).astype(np.float32)
    heat = np.full((h, w), -8.0, np.float32)
    off = np.zeros((2, h, w), np.float32)
    for k, (cy, cx) in centers.items():
        heat = np.maximum(heat, 8.0 - ((yy - cy) ** 2 + (xx - cx) ** 2))
        m = ids == k
        off[0][m] = cy - yy[m]
        off[1][m] = cx - xx[m]
    bnd = np.full((h, w), -6.0, np.float32)
    if boundary:
        tg = visible_targets(torch.from_numpy(ids)[None], (h, w))["boundary"][0].numpy()
        bnd[tg > 0] = 6.0
    t = torch.from_numpy
    return t(fg), t(bnd), t(heat), t(off)


def test_decode_two_touching_squares_same_colour():
    ids = np.zeros((20, 30), np.int64)
    ids[4:14, 3:13] = 1
    ids[4:14, 13:23] = 2  # touching along a vertical edge: one connected foreground blob
    fg, bnd, heat, off = _crafted_outputs(ids, {1: (8.5, 7.5), 2: (8.5, 17.5)})
    params = DecodeParams(min_area=10, hole_area=4)
    inst = decode_instances(fg, bnd, heat, off, (40, 60), params)
    assert len(inst) == 2
    big = np.kron(ids, np.ones((2, 2), np.int64))
    got = sorted(inst, key=lambda i: np.nonzero(i.mask)[1].mean())
    for k, i in enumerate(got, start=1):
        iou = (i.mask & (big == k)).sum() / (i.mask | (big == k)).sum()
        assert iou > 0.9
    assert not (got[0].mask & got[1].mask).any()


def test_decode_missed_center_and_noisy_votes():
    ids = np.zeros((20, 30), np.int64)
    ids[2:10, 2:10] = 1
    ids[10:18, 15:27] = 2
    fg, bnd, heat, off = _crafted_outputs(ids, {1: (5.5, 5.5)})  # center of object 2 missing
    inst = decode_instances(fg, bnd, heat, off, (20, 30), DecodeParams(min_area=10))
    assert len(inst) == 2  # unexplained foreground becomes its own instance
    assert inst[0].score > inst[1].score  # the one with a real center first
    # noisy votes next to the boundary are fixed by fragment voting
    ids2 = np.zeros((20, 30), np.int64)
    ids2[4:14, 3:13] = 1
    ids2[4:14, 13:23] = 2
    fg, bnd, heat, off = _crafted_outputs(ids2, {1: (8.5, 7.5), 2: (8.5, 17.5)})
    off[1, 6:12, 10:12] += 8.0  # pixels of object 1 vote for object 2
    inst = decode_instances(fg, bnd, heat, off, (20, 30), DecodeParams(min_area=10))
    masks = {int(np.round(np.nonzero(i.mask)[1].mean() > 13)) + 1: i.mask for i in inst}
    assert masks[1][6:12, 10:12].all()


def test_decode_weak_boundaries_cut_fragments_below_the_boundary_threshold():
    ids = np.zeros((20, 30), np.int64)
    ids[4:14, 3:13] = 1
    ids[4:14, 13:23] = 2
    fg, bnd, heat, off = _crafted_outputs(ids, {1: (8.5, 7.5), 2: (8.5, 17.5)})
    bnd[bnd > 0] = -0.85  # the boundary is there, but weak: probability 0.3
    off[1, 6:12, 10:12] += 8.0  # pixels of object 1 vote for object 2
    wrong = (slice(6, 12), slice(10, 12))

    def left_object(threshold):
        inst = decode_instances(fg, bnd, heat, off, (20, 30), DecodeParams(min_area=10, boundary_threshold=threshold))
        return next(i.mask for i in inst if np.nonzero(i.mask)[1].mean() < 13)

    assert not left_object(0.5)[wrong].any()  # no boundary at 0.5: the bad votes stand
    assert left_object(0.25)[wrong].all()  # at 0.25 the fragment is voted on whole and fixed
    with pytest.raises(ConfigError, match="boundary_threshold"):
        VisibleNet(tiny_cfg(boundary_threshold=1.0))
    assert VisibleNet(tiny_cfg(boundary_threshold=0.25)).decode_params().boundary_threshold == 0.25


def test_decode_fills_small_holes_and_drops_small_objects():
    ids = np.zeros((20, 30), np.int64)
    ids[3:15, 3:15] = 1
    ids[17:19, 25:27] = 2  # tiny object
    fg, bnd, heat, off = _crafted_outputs(ids, {1: (8.5, 8.5), 2: (17.5, 25.5)})
    fg[8:10, 5:7] = -6.0  # a 2x2 hole
    inst = decode_instances(fg, bnd, heat, off, (20, 30), DecodeParams(min_area=10, hole_area=4))
    assert len(inst) == 1
    assert inst[0].mask[3:15, 3:15].all()
    assert decode_instances(torch.full((20, 30), -5.0), bnd, heat, off, (20, 30), DecodeParams()) == []


@pytest.mark.slow
def test_overfit_then_predict_finds_objects():
    torch.manual_seed(0)
    net = VisibleNet(tiny_cfg())
    imgs, ids = batch(2)
    opt = torch.optim.Adam(net.parameters(), lr=5e-3)
    for _ in range(400):
        total = sum(net.loss(net(imgs), ids).values())
        opt.zero_grad()
        total.backward()
        opt.step()
    net.eval()
    img = (imgs[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    inst = net.predict_instances(img)
    gt = ids[0].numpy()
    assert len(inst) == len(np.unique(gt[gt > 0]))
    for k in np.unique(gt[gt > 0]):
        best = max((i.mask & (gt == k)).sum() / (i.mask | (gt == k)).sum() for i in inst)
        assert best > 0.5


def test_motion_net_takes_the_previous_frame():
    torch.manual_seed(0)
    net = VisibleNet(tiny_cfg(motion=True)).eval()
    plain = VisibleNet(tiny_cfg()).eval()
    assert net.in_channels == 6 and plain.in_channels == 3
    x, prev = torch.rand(2, 3, H, W), torch.rand(2, 3, H, W)
    with torch.no_grad():
        still = net(x)
        assert torch.equal(still.fg, net(x, x).fg)  # no previous frame = no motion
        assert not torch.allclose(still.fg, net(x, prev).fg)
        assert torch.equal(plain(x).fg, plain(x, prev).fg)  # networks without motion ignore it
    with pytest.raises(InputError, match="previous"):
        net(x, prev[:1])
    img = (np.random.default_rng(1).random((50, 70, 3)) * 255).astype(np.uint8)
    assert len(net.predict_instances(img, previous=img[::-1].copy())) >= 0
    with pytest.raises(InputError, match="previous frame"):
        net.predict_instances(img, previous=img[:20])
    with pytest.raises(InputError, match="previous frame"):
        net.predict_instances(img, previous=img.astype(np.float32))
    with pytest.raises(InputError, match="2 previous frames"):
        net.predict_instances_batch([img], previous=[img, img])


def test_flow_net_takes_the_flow_between_the_two_frames():
    torch.manual_seed(0)
    net = VisibleNet(tiny_cfg(motion=True, flow=True)).eval()
    assert net.in_channels == 8
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.random((2, 3, H, W), dtype=np.float32))
    with torch.no_grad():
        assert torch.equal(net(x).fg, net(x, x).fg)  # no previous frame = the frame twice = zero flow
        moved = net(x, torch.roll(x, 3, dims=-1)).fg
    # the same previous frame without the flow channels' weights gives another output: flow is read
    with torch.no_grad():
        net.stem[0].conv.weight[:, 6:] = 0
        assert not torch.allclose(moved, net(x, torch.roll(x, 3, dims=-1)).fg)
    with pytest.raises(ConfigError, match="needs model.visible.motion"):
        VisibleNet(tiny_cfg(flow=True))


def test_flow_alone_net_reads_the_flow_and_not_the_colours():
    torch.manual_seed(0)
    net = VisibleNet(tiny_cfg(motion=True, flow=True, rgb=False)).eval()
    assert net.in_channels == 2
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.random((2, 3, H, W), dtype=np.float32))
    flow = torch.from_numpy(rng.normal(0, 1, (2, 2, H, W)).astype(np.float32))
    with torch.no_grad():
        out = net(x, torch.roll(x, 3, dims=-1), sized=True, flow=flow).fg
        recoloured = net(1.0 - x, x, sized=True, flow=flow).fg  # other colours, other frame before, same flow
        assert torch.equal(out, recoloured)
        assert not torch.allclose(out, net(x, x, sized=True, flow=-flow).fg)
        assert torch.equal(net(x).fg, net(1.0 - x).fg)  # no previous frame: no flow, nothing else seen
    with pytest.raises(ConfigError, match="needs model.visible.flow"):
        VisibleNet(tiny_cfg(motion=True, rgb=False))


def _moving_and_still_squares(rng: np.random.Generator):
    """Two frames with two identical squares on noise: one moved between them (the object), one did
    not (background clutter). Returns (previous, current) float (3, H, W), the current id map and
    the still square's mask."""
    bg = np.clip(rng.normal(0.5, 0.1, (H, W, 3)), 0, 1).astype(np.float32)
    frames, ids = [], np.zeros((H, W), np.int64)
    ys = rng.integers(4, H - 16, 2)
    x_still, x_move = int(rng.integers(2, 12)), int(rng.integers(30, 40))
    if rng.random() < 0.5:  # either side: position tells nothing
        x_still, x_move = x_move + 6, x_still
    for step in (0, 1):
        img = bg.copy()
        img[ys[0]:ys[0] + 12, x_still:x_still + 12] = (0.9, 0.2, 0.2)
        xm = x_move + 6 * step
        img[ys[1]:ys[1] + 12, xm:xm + 12] = (0.9, 0.2, 0.2)
        frames.append(torch.from_numpy(img).permute(2, 0, 1))
    ids[ys[1]:ys[1] + 12, x_move + 6:x_move + 18] = 1
    still = np.zeros((H, W), bool)
    still[ys[0]:ys[0] + 12, x_still:x_still + 12] = True
    return frames[0], frames[1], ids, still


def test_motion_input_tells_a_moving_object_from_identical_still_clutter():
    def draw(rng, n):
        data = [_moving_and_still_squares(rng) for _ in range(n)]
        return (torch.stack([d[0] for d in data]), torch.stack([d[1] for d in data]),
                torch.from_numpy(np.stack([d[2] for d in data])), np.stack([d[3] for d in data]))

    held_out = draw(np.random.default_rng(99), 8)
    separation = {}
    for motion, flow in ((False, False), (True, False), (True, True)):
        torch.manual_seed(0)
        rng = np.random.default_rng(0)
        net = VisibleNet(tiny_cfg(motion=motion, flow=flow))
        opt = torch.optim.Adam(net.parameters(), lr=1e-2)
        for _ in range(40):  # new frames every step: positions cannot be memorised
            prev, cur, ids, _ = draw(rng, 4)
            loss = net.loss(net(cur, prev), ids)["vis_fg"]
            opt.zero_grad()
            loss.backward()
            opt.step()
        net.eval()
        prev, cur, ids, still = held_out
        with torch.no_grad():
            fg = torch.sigmoid(F.interpolate(net(cur, prev).fg, size=(H, W), mode="bilinear"))[:, 0].numpy()
        separation[motion, flow] = fg[ids.numpy() > 0].mean() - fg[still].mean()
    # without motion the two squares look the same: the still one cannot be told apart
    assert separation[False, False] < 0.15, separation
    assert separation[True, False] > 0.3 and separation[True, True] > 0.3, separation


def test_refinement_settings_are_checked():
    with pytest.raises(ConfigError, match="refine_radius"):
        VisibleNet(tiny_cfg(refine_radius=-1))
    with pytest.raises(ConfigError, match="refine_eps"):
        VisibleNet(tiny_cfg(refine_eps=0.0))
    net = VisibleNet(tiny_cfg(refine_radius=3)).eval()
    assert net.decode_params().refine_radius == 3
    img = (np.random.default_rng(0).random((H, W, 3)) * 255).astype(np.uint8)
    assert all(i.mask.shape == (H, W) for i in net.predict_instances(img))


def test_inference_sums_in_place_give_the_autograd_paths_outputs():
    """Without autograd, the decoder's skip sums and the residual sums are added in place: same numbers."""
    torch.manual_seed(0)
    net = VisibleNet(tiny_cfg()).eval()
    for shape in ((1, 3, H, W), (2, 3, 80, 112)):
        x = torch.rand(shape)
        with torch.enable_grad():
            ref = net(x)
        with torch.inference_mode():
            out = net(x)
        assert ref.fg.requires_grad and all(torch.equal(getattr(out, k), getattr(ref, k).detach())
                                            for k in ("fg", "boundary", "center", "offset"))
    net.train()
    net(torch.rand(2, 3, H, W)).fg.sum().backward()  # training keeps the out-of-place sums autograd needs
