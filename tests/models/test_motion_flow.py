"""Flow input channels: relative motion of an object, zero for a still scene or a camera pan."""
import cv2
import numpy as np
import pytest
import torch

from amodal.config import Config
from amodal.errors import ConfigError
from amodal.models.build import build_model
from amodal.models.motion_flow import FLOW_CLAMP, FLOW_UNIT, relative_flow, relative_flow_u8

H, W = 96, 128


def _texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Smooth random texture, float (h, w, 3) in [0, 1] (DIS needs gradients to track)."""
    noise = rng.random((h // 4, w // 4, 3)).astype(np.float32)
    return cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 1)


def _to_tensor(*imgs: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).float()


def _square_scene(rng, shift: int):
    """A textured square at x = 40 + shift on a still textured background, and the square's mask."""
    bg, sq = _texture(rng, H, W), _texture(rng, 32, 32)
    img = bg.copy()
    img[32:64, 40 + shift:72 + shift] = sq
    mask = np.zeros((H, W), bool)
    mask[36:60, 44 + shift:68 + shift] = True  # interior, off the boundary
    return img, mask


def test_no_previous_frame_or_the_same_frame_twice_gives_zero_flow():
    x = _to_tensor(_texture(np.random.default_rng(0), H, W))
    for out in (relative_flow(x, None), relative_flow(x, x.clone())):
        assert out.shape == (1, 2, H, W) and out.dtype == torch.float32
        assert torch.count_nonzero(out) == 0


def _moving_square():
    """(previous frame, current frame, the square's interior mask now): the square moved 4 px right."""
    prev, _ = _square_scene(np.random.default_rng(1), 0)
    cur = prev.copy()
    cur[32:64, 44:76] = prev[32:64, 40:72]  # the background stayed
    _, mask = _square_scene(np.random.default_rng(1), 4)
    return prev, cur, mask


def test_a_moving_object_stands_out_against_a_still_background():
    prev, cur, mask = _moving_square()
    flow = relative_flow(_to_tensor(cur), _to_tensor(prev))[0].numpy()
    dx, dy = np.median(flow[0][mask]), np.median(flow[1][mask])
    # current -> previous: 4 px left (the ultrafast preset underestimates a small smooth patch's motion)
    assert -4 / FLOW_UNIT - 0.5 < dx < -1.5 / FLOW_UNIT and abs(dy) < 0.5
    far = np.zeros((H, W), bool)
    far[:20], far[-20:] = True, True
    assert np.abs(flow[:, far]).mean() < 0.2


def test_a_camera_pan_is_subtracted():
    rng = np.random.default_rng(2)
    wide = _texture(rng, H, W + 8)
    prev, cur = wide[:, :W], wide[:, 6:W + 6]  # everything moved 6 px left
    flow = relative_flow(_to_tensor(cur), _to_tensor(prev))[0].numpy()
    assert np.abs(flow[:, 16:-16, 16:-16]).mean() < 0.3


def test_values_are_clamped_and_the_batch_is_per_pair():
    rng = np.random.default_rng(3)
    a, b = _texture(rng, H, W), _texture(rng, H, W)
    out = relative_flow(_to_tensor(a, a), _to_tensor(b, a))
    assert out.abs().max() <= FLOW_CLAMP
    assert torch.count_nonzero(out[1]) == 0 and torch.count_nonzero(out[0]) > 0


@pytest.mark.parametrize("preset", ["medium", "medium_fast"])
def test_a_camera_zoom_is_subtracted_by_the_homography_not_by_the_median(preset):
    rng = np.random.default_rng(4)
    big = _texture(rng, H, W)
    zoom = cv2.getRotationMatrix2D((W / 2, H / 2), 0.0, 1.06)  # the camera zooms in 6 %
    prev, cur = big, cv2.warpAffine(big, zoom, (W, H), borderMode=cv2.BORDER_REFLECT)
    inner = (slice(None), slice(16, -16), slice(16, -16))
    median = relative_flow(_to_tensor(cur), _to_tensor(prev), preset, "median")[0].numpy()
    homography = relative_flow(_to_tensor(cur), _to_tensor(prev), preset, "homography")[0].numpy()
    assert np.abs(homography[inner]).mean() < 0.1 < 0.5 < np.abs(median[inner]).mean()


def test_medium_fast_flow_follows_a_moving_object_like_medium():
    prev, cur, mask = _moving_square()
    flows = {p: relative_flow(_to_tensor(cur), _to_tensor(prev), p, "homography")[0].numpy()
             for p in ("medium", "medium_fast")}
    for flow in flows.values():
        assert abs(np.median(flow[0][mask]) + 4 / FLOW_UNIT) < 0.5 and abs(np.median(flow[1][mask])) < 0.5
    assert np.abs(flows["medium"] - flows["medium_fast"])[:, mask].mean() < 0.1  # ultrafast: 0.4


def test_flow_settings_are_checked():
    x = _to_tensor(_texture(np.random.default_rng(0), H, W))
    with pytest.raises(ValueError, match="flow_preset"):
        relative_flow(x, x, "fast")
    cfg = Config()
    cfg.model.visible.enabled = cfg.model.visible.motion = cfg.model.visible.flow = True
    cfg.model.visible.flow_camera = "affine"
    with pytest.raises(ConfigError, match="flow_camera must be one of median, homography"):
        build_model(cfg)


@pytest.mark.parametrize("camera", ["median", "homography"])
def test_flow_of_uint8_frames_equals_the_flow_of_their_tensors(camera):
    prev, cur, _ = _moving_square()
    cur8, prev8 = (np.round(cur * 255).astype(np.uint8), np.round(prev * 255).astype(np.uint8))
    as_tensor = lambda *ims: _to_tensor(*ims) * np.float32(1.0 / 255.0)  # as the network's input
    for pair_now, pair_before in (([cur8], [prev8]), ([cur8, cur8], [prev8, cur8])):  # the second: no motion
        u8 = relative_flow_u8(pair_now, pair_before, "medium_fast", camera)
        tensors = relative_flow(as_tensor(*pair_now), as_tensor(*pair_before), "medium_fast", camera)
        assert torch.equal(u8, tensors) and torch.count_nonzero(u8[0]) > 0
    assert torch.count_nonzero(u8[1]) == 0
    assert torch.equal(relative_flow_u8([cur8], None), torch.zeros(1, 2, H, W))


def test_a_flow_net_infers_from_uint8_frames_as_from_their_tensors():
    cfg = Config()
    vcfg = cfg.model.visible
    vcfg.width, vcfg.motion, vcfg.flow, vcfg.input_height, vcfg.input_width = 8, True, True, H, W
    torch.manual_seed(0)
    net = build_model(cfg).visible.eval()
    prev, cur, _ = _moving_square()
    cur8, prev8 = (np.round(cur * 255).astype(np.uint8), np.round(prev * 255).astype(np.uint8))
    with torch.inference_mode():
        a = net.infer([cur8], [prev8])
        scale = np.float32(1.0 / 255.0)  # as VisibleNet._to_input scales
        b = net(_to_tensor(cur8) * scale, _to_tensor(prev8) * scale, sized=True)
    assert all(torch.equal(getattr(a, k), getattr(b, k)) for k in ("fg", "boundary", "center", "offset"))
