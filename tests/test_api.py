"""AmodalPredictor with a fake session: input checks, resolution handling, reset, predict_video."""
import sys
import types
import warnings

import numpy as np
import pytest
import torch

from amodal.errors import InputError
from amodal.types import FrameResult
from amodal_fixtures import save_tiny_checkpoint


class FakeSession:
    """Object 1 = bright pixels (red > 128); amodal = its bounding box. Given masks are used as is."""

    def __init__(self, model, device="cpu", max_objects=16, min_hits=2, threshold=None, detector=None,
                 hidden_frames=None, order_ratio=None):
        self.min_hits = min_hits
        self.threshold = threshold
        self.detector = detector
        self.hidden_frames = hidden_frames
        self.order_ratio = order_ratio
        self.seen = []
        self.resets = 0

    def reset(self):
        self.resets += 1

    def step(self, image, visible_masks=None):
        assert torch.is_inference_mode_enabled()
        self.seen.append((image.shape, image.dtype, visible_masks))
        return _fake_result(image, visible_masks)


def _fake_result(image, visible_masks):
    if visible_masks:
        ids = sorted(visible_masks)
        vis = np.stack([visible_masks[i] for i in ids])
    else:
        ids, vis = [1], (image[..., 0] > 128)[None]
    amo = np.zeros_like(vis)
    for k, m in enumerate(vis):
        ys, xs = np.nonzero(m)
        if ys.size:
            amo[k, ys.min():ys.max() + 1, xs.min():xs.max() + 1] = True
    occ = np.array([1 - v.sum() / max(a.sum(), 1) for v, a in zip(vis, amo)])
    return FrameResult(0, ids, vis, amo, np.ones(len(ids)), occ, list(ids))


def _fake_offline(model, frames, visible_masks, device, max_objects=16, min_hits=2, threshold=None, detector=None,
                  hidden_frames=None, order_ratio=None):
    return [_fake_result(f, None if visible_masks is None else visible_masks[i]) for i, f in enumerate(frames)]


@pytest.fixture
def predictor(monkeypatch):
    session_mod = types.ModuleType("amodal.inference.session")
    session_mod.AmodalSession = FakeSession
    offline_mod = types.ModuleType("amodal.inference.offline")
    offline_mod.run_offline = _fake_offline
    monkeypatch.setitem(sys.modules, "amodal.inference.session", session_mod)
    monkeypatch.setitem(sys.modules, "amodal.inference.offline", offline_mod)
    from amodal.api import AmodalPredictor

    return AmodalPredictor(torch.nn.Linear(1, 1), max_side=64)


def _frame(h=40, w=60, x0=10):
    img = np.zeros((h, w, 3), np.uint8)
    img[10:30, x0:x0 + 20, 0] = 255
    img[15:20, x0 + 5:x0 + 10, 0] = 0  # a hole: amodal (box) > visible
    return img


def test_bad_images_raise(predictor):
    with pytest.raises(InputError, match="uint8"):
        predictor.step(_frame().astype(np.float32))
    with pytest.raises(InputError, match="shape"):
        predictor.step(np.zeros((40, 60, 2), np.uint8))
    with pytest.raises(InputError, match="numpy array"):
        predictor.step(_frame().tolist())


def test_size_change_mid_stream_and_reset(predictor):
    predictor.step(_frame())
    with pytest.raises(InputError, match="frame size changed from 60x40 to 50x40"):
        predictor.step(_frame(w=50))
    predictor.reset()
    r = predictor.step(_frame(w=50))
    assert r.frame_index == 0 and r.visible.shape == (1, 40, 50)
    assert predictor.session.resets == 1


def test_a_refused_first_frame_does_not_fix_the_stream_size(predictor):
    with pytest.raises(InputError, match="shape"):
        predictor.step(_frame(), {1: np.zeros((5, 5), bool)})
    r = predictor.step(_frame(w=50), timestamp=12.5)  # the first accepted frame sets the size
    assert r.frame_index == 0 and r.timestamp == 12.5 and r.visible.shape[1:] == (40, 50)
    assert predictor.step(_frame(w=50)).timestamp is None


def test_grey_and_rgba_converted(predictor):
    grey = _frame()[..., 0]
    r = predictor.step(grey)
    shape, dtype, _ = predictor.session.seen[-1]
    assert shape == (40, 60, 3) and dtype == np.uint8 and r.visible.shape == (1, 40, 60)
    rgba = np.concatenate([_frame(), np.zeros((40, 60, 1), np.uint8)], axis=2)
    r2 = predictor.step(rgba)
    np.testing.assert_array_equal(r.visible, r2.visible)  # alpha is dropped, not composited


def test_bad_visible_masks_raise(predictor):
    ok = np.zeros((40, 60), bool)
    with pytest.raises(InputError, match="shape"):
        predictor.step(_frame(), {1: np.zeros((40, 61), bool)})
    with pytest.raises(InputError, match="float"):
        predictor.step(_frame(), {1: ok.astype(np.float32)})
    with pytest.raises(InputError, match="int object ids"):
        predictor.step(_frame(), {"a": ok})
    with pytest.raises(InputError, match="int object ids"):
        predictor.step(_frame(), {True: ok})
    with pytest.raises(InputError, match="0 means background"):
        predictor.step(_frame(), {0: ok})
    with pytest.raises(InputError, match="dict"):
        predictor.step(_frame(), [ok])
    r = predictor.step(_frame(), {np.int64(5): ok.astype(np.uint8)})  # numpy ints and 0/1 ints are fine
    assert r.object_ids == [5]


def test_large_frames_downscaled_masks_at_input_resolution(predictor):
    big = _frame(h=80, w=120, x0=20)
    given = {3: big[..., 0] > 0}
    with pytest.warns(UserWarning, match="max_side=64"):
        r = predictor.step(big, given)
    shape, _, small_masks = predictor.session.seen[-1]
    assert shape == (43, 64, 3) and small_masks[3].shape == (43, 64)
    assert r.visible.shape == (1, 80, 120) and r.amodal.shape == (1, 80, 120)
    np.testing.assert_array_equal(r.visible[0], given[3])  # given masks come back exactly
    assert (r.amodal >= r.visible).all()
    assert 0 < r.occlusion[0] < 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        predictor.step(big)  # warned once only
    assert r.latency_ms > 0


def test_cuda_refused_without_cuda():
    from amodal.api import resolve_device

    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    with pytest.raises(InputError, match="CUDA is not available"):
        resolve_device("cuda")
    with pytest.raises(InputError, match="unknown device"):
        resolve_device("gpu0")


def test_predict_video_stream_lazy_and_resets(predictor):
    frames = [_frame(x0=5 + 3 * t) for t in range(4)]
    predictor.step(_frame(w=50))  # leftover state from another stream
    it = predictor.predict_video(frames, mode="stream")
    assert len(predictor.session.seen) == 1  # lazy: nothing run yet
    results = list(it)
    assert [r.frame_index for r in results] == [0, 1, 2, 3]
    assert all(r.visible.shape == (1, 40, 60) for r in results)
    assert results[0].timestamp is None


def test_predict_video_with_masks_and_mismatch(predictor):
    frames = [_frame() for _ in range(3)]
    masks = [{2: f[..., 0] > 0} for f in frames]
    results = list(predictor.predict_video(frames, visible_masks=masks))
    assert [r.object_ids for r in results] == [[2]] * 3
    with pytest.raises(InputError, match="2 frames"):
        list(predictor.predict_video(np.stack(frames), visible_masks=masks[:2]))
    with pytest.raises(InputError, match="one .* dict per frame"):
        list(predictor.predict_video(frames, visible_masks=masks[0]))
    with pytest.raises(InputError, match="mode"):
        predictor.predict_video(frames, mode="fast")  # refused at the call, before iterating


def test_predict_video_offline(predictor):
    frames = [_frame(h=80, w=120, x0=20 + t) for t in range(3)]
    with pytest.warns(UserWarning):
        results = list(predictor.predict_video(frames, mode="offline"))
    assert len(results) == 3 and all(r.amodal.shape == (1, 80, 120) for r in results)
    with pytest.raises(InputError, match="unlike the first frame"):
        list(predictor.predict_video([_frame(), _frame(w=50)], mode="offline"))


# -- with the real session and a randomly initialised tiny checkpoint -------------------------------


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    return save_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.pt")


def _clip(n=5, h=40, w=60):
    return [_frame(h, w, x0=5 + 4 * t) for t in range(n)]


def test_real_stream_masks_at_input_resolution(tiny_checkpoint):
    from amodal.api import AmodalPredictor

    p = AmodalPredictor.from_checkpoint(tiny_checkpoint, max_side=48)
    masks = [{4: f[..., 0] > 0} for f in _clip()]
    with pytest.warns(UserWarning, match="max_side=48"):
        results = list(p.predict_video(_clip(), visible_masks=masks, mode="stream"))
    assert len(results) == 5
    for r, m in zip(results, masks):
        assert r.object_ids == [4]
        assert r.visible.shape == r.amodal.shape == (1, 40, 60) and r.visible.dtype == bool
        np.testing.assert_array_equal(r.visible[0], m[4])
        assert (r.amodal >= r.visible).all() and 0.0 <= r.occlusion[0] <= 1.0
    p.reset()
    r = p.step(_frame(h=30, w=30, x0=2))  # a new stream may have another size; detection mode
    assert r.visible.shape[1:] == (30, 30) and r.frame_index == 0


def test_real_offline_matches_stream_shapes(tiny_checkpoint, tmp_path):
    import cv2

    from amodal.api import AmodalPredictor

    path = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (60, 40))
    for f in _clip():
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()
    p = AmodalPredictor.from_checkpoint(tiny_checkpoint)
    masks = [{2: f[..., 0] > 0} for f in _clip()]
    results = list(p.predict_video(path, visible_masks=masks, mode="offline"))
    assert [r.frame_index for r in results] == list(range(5))
    assert all(r.object_ids == [2] and r.amodal.shape == (1, 40, 60) for r in results)
    assert results[3].timestamp == pytest.approx(0.3, abs=0.02)
    with pytest.raises(InputError, match="5 frames"):
        list(p.predict_video(path, visible_masks=masks[:4], mode="offline"))


def test_from_pretrained_without_shipped_weights(monkeypatch, tmp_path):
    import amodal.engine.checkpoint as ckpt
    from amodal.api import AmodalPredictor
    from amodal.errors import CheckpointError

    monkeypatch.setattr(ckpt, "DEFAULT_CHECKPOINT", tmp_path / "missing.pt")
    with pytest.raises(CheckpointError, match="missing"):
        AmodalPredictor.from_pretrained()


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_threads_validated(predictor, bad):
    from amodal.api import AmodalPredictor

    with pytest.raises(InputError, match="threads must be an integer >= 1"):
        AmodalPredictor(torch.nn.Linear(1, 1), threads=bad)
    with pytest.raises(InputError, match="threads must be an integer >= 1"):  # before the checkpoint is read
        AmodalPredictor.from_checkpoint("/nonexistent/x.pt", threads=bad)


def test_threads_reach_torch_and_opencv(predictor, keep_threads):
    import cv2

    from amodal.api import AmodalPredictor

    target = 2 if keep_threads[0] == 1 else 1
    AmodalPredictor(torch.nn.Linear(1, 1), threads=None)
    assert torch.get_num_threads() == keep_threads[0]  # None leaves the setting alone
    p = AmodalPredictor(torch.nn.Linear(1, 1), threads=np.int64(target))
    assert p.threads == target and torch.get_num_threads() == target and cv2.getNumThreads() == target


def test_min_hits_reaches_the_session_and_is_validated(predictor):
    from amodal.api import AmodalPredictor

    assert predictor.session.min_hits == 2
    assert AmodalPredictor(torch.nn.Linear(1, 1), min_hits=1).session.min_hits == 1
    for bad in (0, 1.5, True, "2"):
        with pytest.raises(InputError, match="min_hits"):
            AmodalPredictor(torch.nn.Linear(1, 1), min_hits=bad)


def test_threshold_reaches_the_session_and_is_validated(predictor):
    from amodal.api import AmodalPredictor

    assert predictor.session.threshold is None  # the checkpoint's own
    assert AmodalPredictor(torch.nn.Linear(1, 1), threshold=0.3).session.threshold == 0.3
    for bad in (0, 1.0, -0.2, True, "0.5"):
        with pytest.raises(InputError, match="threshold"):
            AmodalPredictor(torch.nn.Linear(1, 1), threshold=bad)


def test_hidden_frames_reach_the_session_and_are_validated(predictor):
    from amodal.api import AmodalPredictor

    assert predictor.session.hidden_frames is None  # the checkpoint's own
    assert AmodalPredictor(torch.nn.Linear(1, 1), hidden_frames=0).session.hidden_frames == 0
    for bad in (-1, 2.5, True, "3"):
        with pytest.raises(InputError, match="hidden_frames must be an int >= 0"):
            AmodalPredictor(torch.nn.Linear(1, 1), hidden_frames=bad)


def test_order_ratio_reaches_the_session_and_is_validated(predictor):
    from amodal.api import AmodalPredictor

    assert predictor.session.order_ratio is None  # the checkpoint's own
    assert AmodalPredictor(torch.nn.Linear(1, 1), order_ratio=0).session.order_ratio == 0.0
    for bad in (0.5, -1, float("nan"), True, "3"):
        with pytest.raises(InputError, match="order_ratio must be 0"):
            AmodalPredictor(torch.nn.Linear(1, 1), order_ratio=bad)


def test_detector_reaches_the_session_and_is_validated(predictor):
    from amodal.api import AmodalPredictor

    assert predictor.session.detector is None  # the checkpoint's own
    assert AmodalPredictor(torch.nn.Linear(1, 1), detector="motion").session.detector == "motion"
    with pytest.raises(InputError, match="detector must be one of network, motion, network\\+motion"):
        AmodalPredictor(torch.nn.Linear(1, 1), detector="flow")


def test_sizes_and_counts_accept_numpy_integers_and_refuse_the_rest(predictor):
    from amodal.api import AmodalPredictor

    p = AmodalPredictor(torch.nn.Linear(1, 1), max_objects=np.int64(4), max_side=np.int32(320))
    assert p.max_side == 320 and type(p.max_side) is int
    for bad in (0, 2.0, True, "4", np.float32(4)):
        with pytest.raises(InputError, match="max_objects"):
            AmodalPredictor(torch.nn.Linear(1, 1), max_objects=bad)
    for bad in (8, 320.0, np.bool_(True)):
        with pytest.raises(InputError, match="max_side must be an integer >= 16"):
            AmodalPredictor(torch.nn.Linear(1, 1), max_side=bad)
