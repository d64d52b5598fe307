"""AmodalSession: output invariants, bounded memory over long streams, input errors, offline pass."""
import numpy as np
import pytest
import torch

from amodal.config import Config
from amodal.errors import ConfigError, InputError
from amodal.inference.offline import run_offline
from amodal.inference.session import AmodalSession
from amodal.models.alignment import IDENTITY
from amodal.models.build import build_model
from amodal_fixtures import ellipse_video, panning_scene


def _model(visible=False, motion=False, flow=False):
    cfg = Config()
    cfg.model.visible.enabled = visible
    cfg.model.visible.motion = motion
    cfg.model.visible.flow = flow
    cfg.model.completion.crop_size = 32
    cfg.model.completion.width = 8
    torch.manual_seed(0)
    model = build_model(cfg)
    # make the untrained head predict "object" everywhere it may: exercises post-processing
    torch.nn.init.constant_(model.completion.refine[-1].bias, 3.0)
    return model


@pytest.fixture(scope="module")
def clip():
    return ellipse_video(12, (64, 48), 3, np.random.default_rng(0))


def test_amodal_contains_visible_and_stays_in_occluders(clip):
    frames, vis, _ = clip
    session = AmodalSession(_model())
    for t in range(len(frames)):
        res = session.step(frames[t], {k + 1: vis[k, t] for k in range(3)})
        assert res.object_ids == [1, 2, 3]
        assert res.amodal.shape == res.visible.shape == (3, 48, 64)
        assert not (res.visible & ~res.amodal).any()
        others = np.stack([vis[[j for j in range(3) if j != k], t].any(0) for k in range(3)])
        assert not (res.amodal & ~res.visible & ~others).any()
        assert sorted(res.depth_order) == [1, 2, 3]
        assert ((res.occlusion >= 0) & (res.occlusion <= 1)).all()
        assert res.latency_ms > 0 and res.scores.shape == (3,)
    assert res.amodal.sum() > res.visible.sum()  # the biased head fills occluded pixels


def test_memory_is_flat_over_200_frames(clip):
    frames, vis, _ = clip
    model = _model()
    cap = model.completion.cfg.memory_permanent + model.completion.cfg.memory_recent
    session = AmodalSession(model)
    sizes = []
    for t in range(200):
        i = t % len(frames)
        session.step(frames[i], {k + 1: vis[k, i] for k in range(3)})
        sizes.append(session.memory_entries)
    assert max(sizes) <= 3 * cap and sizes[-1] == sizes[50]
    assert len(session.votes) == 6  # one running vote per ordered pair of the 3 objects
    session.reset()
    assert session.memory_entries == 0 and session.num_memories == 0 and len(session.votes) == 0


def test_lost_objects_are_forgotten(clip):
    frames, vis, _ = clip
    session = AmodalSession(_model(), max_lost=2)
    session.step(frames[0], {1: vis[0, 0], 2: vis[1, 0]})
    for t in range(1, 5):
        session.step(frames[t], {1: vis[0, t]})
    assert session.num_memories == 1 and len(session.votes) == 0  # the pair's votes went with object 2


def test_input_errors(clip):
    frames, vis, _ = clip
    session = AmodalSession(_model(), max_objects=2)
    with pytest.raises(InputError):
        session.step(frames[0].astype(np.float32), {})
    with pytest.raises(InputError, match="at most 2"):
        session.step(frames[0], {k + 1: vis[k, 0] for k in range(3)})
    with pytest.raises(InputError, match="shape"):
        session.step(frames[0], {1: vis[0, 0][:10]})
    session.step(frames[0][:40], {})  # the rejected frames fixed nothing: the first accepted one sets the size
    with pytest.raises(InputError, match="size changed"):
        session.step(frames[0], {})
    with pytest.raises(InputError, match="visible_masks"):
        AmodalSession(_model()).step(frames[0])


def _run(session, images, masks, rejected_at=None, bad=None):
    """Amodal masks of a stream with given masks; at `rejected_at`, a call that is refused comes first."""
    out = []
    for t, (image, given) in enumerate(zip(images, masks)):
        if t == rejected_at:
            with pytest.raises(InputError):
                bad(session)
        out.append(session.step(image, given).amodal)
    return out


@pytest.mark.parametrize("bad", [
    lambda s: s.step(np.zeros((7, 7, 3), np.uint8), {}),  # another size
    lambda s: s.step(np.zeros((48, 64, 3), np.uint8), {1: np.ones((5, 5), bool)}),  # a mask of the wrong shape
    lambda s: s.step(np.zeros((48, 64, 3), np.uint8), {k: np.ones((48, 64), bool) for k in range(1, 4)}),  # > 2
    lambda s: s.step(np.zeros((48, 64, 3), np.uint8)),  # no masks: this model has no visible net
])
def test_a_refused_frame_leaves_the_stream_as_it_was(bad):
    images, masks = _hiding_scene()  # object 1 goes behind object 2: its prediction is its memory, moved
    model = _memory_echo_model()  # what it outputs depends on the memory, the motions, the frame count
    clean = _run(AmodalSession(model, max_objects=2), images, masks)
    refused = _run(AmodalSession(model, max_objects=2), images, masks, rejected_at=3, bad=bad)
    for t, (a, b) in enumerate(zip(clean, refused)):
        assert np.array_equal(a, b), t


@pytest.mark.parametrize("visible_net", [False, True])
def test_what_the_caller_does_to_a_result_does_not_reach_the_stream(visible_net):
    """A robot that crops the masks it got in place (`res.visible &= roi`) must not change what comes next."""
    images, masks = _hiding_scene()
    model = _memory_echo_model()
    if visible_net:  # the detector sees the scene's objects (the net is untrained): masks as given
        model = _model(visible=True)
        model.completion = _memory_echo_model().completion
        index = {im.tobytes(): t for t, im in enumerate(images)}
        from amodal.models.instances import Instance

        model.visible.predict_instances = lambda image, max_objects=16, previous=None: [
            Instance(m, 0.9) for k, m in sorted(masks[index[image.tobytes()]].items())]
    outputs = []
    for scribble in (False, True):
        session = AmodalSession(model, min_hits=1)
        amodal = []
        for image, given in zip(images, masks):
            res = session.step(image, None if visible_net else given)
            amodal.append(res.amodal.copy())
            if scribble:
                res.visible[:] = False
                res.amodal[:] = False
        outputs.append(amodal)
    for t, (a, b) in enumerate(zip(*outputs)):
        assert np.array_equal(a, b), t


def test_one_stream_takes_its_objects_from_one_place(clip):
    frames, vis, _ = clip
    session = AmodalSession(_model(visible=True))
    session.step(frames[0], {1: vis[0, 0]})
    with pytest.raises(InputError, match="call reset"):
        session.step(frames[1])  # the tracker's ids would take over given object 1's memory
    session.step(frames[1], {1: vis[0, 1]})  # still usable
    session.reset()
    session.step(frames[2])
    with pytest.raises(InputError, match="call reset"):
        session.step(frames[3], {1: vis[0, 3]})


def test_detect_and_track_without_masks(clip):
    frames, _, _ = clip
    session = AmodalSession(_model(visible=True))
    for t in range(3):
        res = session.step(frames[t])
        assert not (res.visible & ~res.amodal).any()


def test_offline_bidirectional(clip):
    frames, vis, _ = clip
    masks = [{k + 1: vis[k, t] for k in range(3)} for t in range(6)]
    results = run_offline(_model(), frames[:6], masks)
    assert len(results) == 6
    for t, res in enumerate(results):
        assert res.frame_index == t and res.object_ids == [1, 2, 3]
        assert not (res.visible & ~res.amodal).any()


def _scripted_detections(model, clip, flicker_frame=3, missed=()):
    """Make the visible net 'detect' objects 1 and 2 of the clip every frame (object 2 not in the
    frames `missed`), plus a one-frame flicker."""
    from amodal.models.instances import Instance

    frames, vis, _ = clip
    index = {frames[t].tobytes(): t for t in range(len(frames))}

    def fake(image, max_objects=16, previous=None):
        t = index[image.tobytes()]
        found = [Instance(vis[0, t], 0.9)] + ([] if t in missed else [Instance(vis[1, t], 0.8)])
        if t == flicker_frame:
            blob = np.zeros_like(vis[0, t])
            blob[:6, :6] = True
            found.append(Instance(blob & ~vis[:2, t].any(0), 0.5))
        return found

    model.visible.predict_instances = fake
    return frames


def test_new_objects_reported_once_confirmed_and_flickers_never_after_the_first_frame(clip):
    model = _model(visible=True)
    frames = _scripted_detections(model, clip)
    session = AmodalSession(model, min_hits=2)
    counts = [len(session.step(f).object_ids) for f in frames]
    # the first frame has nothing earlier to confirm against: reported (as SORT does); the flicker at frame 3 never
    assert all(c == 2 for c in counts)
    session = AmodalSession(model, min_hits=1)
    counts = [len(session.step(f).object_ids) for f in frames]
    assert counts[0] == 2 and counts[3] == 3
    frames = _scripted_detections(model, clip, flicker_frame=0)
    session = AmodalSession(model, min_hits=2)
    ids = [session.step(f).object_ids for f in frames]
    assert len(ids[0]) == 3 and all(len(i) == 2 for i in ids[1:])  # a first-frame flicker: that frame only
    assert set(ids[1]) < set(ids[0])


def test_offline_reports_confirmed_objects_from_their_first_frame(clip):
    model = _model(visible=True)
    frames = _scripted_detections(model, clip)
    results = run_offline(model, frames, min_hits=2)
    assert [len(r.object_ids) for r in results] == [2] * len(frames)
    assert results[0].object_ids == results[-1].object_ids
    frames = _scripted_detections(model, clip, flicker_frame=0)  # offline never reports a first-frame flicker
    assert [len(r.object_ids) for r in run_offline(model, frames, min_hits=2)] == [2] * len(frames)


def test_offline_fills_the_frames_a_detector_missed_between_two_sightings(clip):
    model = _model(visible=True)
    frames = _scripted_detections(model, clip, missed=(5, 6))
    results = run_offline(model, frames, min_hits=2)
    assert [len(r.object_ids) for r in results] == [2] * len(frames)
    tracked = results[0].object_ids
    for t in (5, 6):
        assert results[t].object_ids == tracked
        k = tracked.index(results[4].object_ids[1])
        # predicted from its memory; seen where no other object is seen
        assert results[t].amodal[k].any() and results[t].visible[k].any()
        assert not (results[t].visible[k] & results[t].visible[1 - k]).any()
        assert not (results[t].visible[k] & ~results[t].amodal[k]).any()
    gaps = [len(r.object_ids) for r in run_offline(model, frames, min_hits=2, hidden_frames=1)]
    assert gaps[5] == gaps[6] == 1  # a gap longer than hidden_frames stays a gap


def test_track_gaps_are_unseen_runs_between_two_sightings():
    from amodal.inference.offline import fill_gaps, track_gaps
    from amodal.inference.session import RawFrame

    def frame(seen):  # ids 1 and 2; a row per id, an empty visible mask where not seen
        vis = np.zeros((2, 4, 4), bool)
        for i, k in enumerate((1, 2)):
            vis[i, :2, :2] = k in seen
        z = np.zeros(2, np.float32)
        return RawFrame(0, [1, 2], vis, np.zeros((2, 4, 4), np.float32), z, z)

    frames = [frame({1, 2}), frame({1}), frame({1}), frame({1, 2}), frame(set()), frame({2})]
    assert track_gaps(frames, 2) == {(1, 2), (2, 2), (4, 1), (4, 2)} - {(4, 1)}  # id 1 never comes back
    assert track_gaps(frames, 1) == {(4, 2)}
    vis = np.zeros((2, 3, 3), bool)
    vis[0, 0] = True
    logits = np.full((2, 3, 3), 5.0, np.float32)
    out = fill_gaps(vis, logits, np.array([False, True]), 0.0)
    assert out[0].tolist() == vis[0].tolist() and out[1].sum() == 6 and not (out[1] & vis[0]).any()
    assert fill_gaps(vis, logits, np.array([False, False]), 0.0) is vis


def test_completion_threshold_sets_the_amodal_decision(clip):

    frames, vis, _ = clip
    areas = {}
    for th in (0.2, 0.5, 0.97):
        model = _model()
        model.completion.cfg.threshold = th
        session = AmodalSession(model)
        total = 0
        for t in range(len(frames)):
            total += int(session.step(frames[t], {k + 1: vis[k, t] for k in range(3)}).amodal.sum())
        areas[th] = total
    assert areas[0.2] >= areas[0.5] > areas[0.97]  # the biased head's logit is ~3 (p ~0.95)
    model = _model()  # the same through the session's own argument, in both modes
    given = [{k + 1: vis[k, t] for k in range(3)} for t in range(len(frames))]
    for th in (0.5, 0.97):
        session = AmodalSession(model, threshold=th)
        assert sum(int(session.step(f, g).amodal.sum()) for f, g in zip(frames, given)) == areas[th]
    off = {th: sum(int(r.amodal.sum()) for r in run_offline(model, frames, given, threshold=th)) for th in (0.2, 0.97)}
    assert off[0.2] > off[0.97]
    with pytest.raises(InputError, match="threshold"):
        AmodalSession(model, threshold=1.5)
    cfg = Config()
    cfg.model.completion.threshold = 1.0
    with pytest.raises(ConfigError, match="threshold"):
        build_model(cfg)


def test_a_motion_visible_net_is_given_the_previous_frame(clip):
    frames = [f.copy() for f in clip[0][:4]]
    seen = []
    for motion in (True, False):
        model = _model(visible=True, motion=motion)
        real = model.visible.predict_instances

        def spy(image, max_objects=16, previous=None, real=real):
            seen.append(previous)
            return real(image, max_objects, previous=previous)

        model.visible.predict_instances = spy
        session = AmodalSession(model)
        buffer = frames[0].copy()
        for f in frames[:3]:
            buffer[...] = f  # a caller reusing one buffer for every frame
            session.step(buffer)
        session.reset()
        session.step(frames[3])
    motion_seen, plain_seen = seen[:4], seen[4:]
    assert motion_seen[0] is None and motion_seen[3] is None  # first frame of a stream, and after reset
    assert np.array_equal(motion_seen[1], frames[0]) and np.array_equal(motion_seen[2], frames[1])
    assert all(p is None for p in plain_seen)  # nets without motion input never hold a frame


def test_a_flow_visible_net_streams_with_refined_outlines(clip):
    model = _model(visible=True, motion=True, flow=True)
    model.visible.cfg.refine_radius = 4
    session = AmodalSession(model, min_hits=1)
    for f in clip[0][:4]:
        r = session.step(f)
        assert r.visible.shape[1:] == f.shape[:2] and (r.amodal | ~r.visible).all()


def test_motion_detector_tracks_without_a_visible_net():
    frames, squares = zip(*(panning_scene(t) for t in range(5)))
    model = _model()  # completion only
    with pytest.raises(InputError, match="detector 'motion'"):
        AmodalSession(model).step(frames[0])
    session = AmodalSession(model, detector="motion", min_hits=1)
    ids = []
    for t, f in enumerate(frames):
        res = session.step(f)
        ids.append(res.object_ids)
        if t:
            assert len(res.object_ids) == 1
            assert (res.visible[0] & squares[t]).sum() > 0.6 * (res.visible[0] | squares[t]).sum()
    assert ids[0] == [] and len({tuple(i) for i in ids[1:]}) == 1  # one track from the second frame on
    results = run_offline(model, list(frames), detector="motion")
    assert [len(r.object_ids) for r in results] == [1] * 5  # offline: the first frame's motion against the second
    assert (results[0].visible[0] & squares[0]).sum() > 0.6 * (results[0].visible[0] | squares[0]).sum()


def test_offline_gives_a_motion_visible_net_the_second_frame_at_the_first(clip):
    frames = [f.copy() for f in clip[0][:3]]
    model = _model(visible=True, motion=True)
    seen = []
    real = model.visible.predict_instances

    def spy(image, max_objects=16, previous=None):
        seen.append(previous)
        return real(image, max_objects, previous=previous)

    model.visible.predict_instances = spy
    run_offline(model, frames)
    assert np.array_equal(seen[0], frames[1]) and np.array_equal(seen[1], frames[0])
    assert np.array_equal(seen[2], frames[1])


def _hiding_scene(frames=8, covered=True):
    """A small square (object 1) moving right, 6 pixels a frame, behind a large one (object 2) that
    hides it wholly from frame 4 on; without `covered` the large one stands in a corner and the small
    one is simply missing from the masks from frame 4 on. RGB frames and the per-frame mask dicts."""
    h, w = 48, 64
    rng = np.random.default_rng(1)
    images, masks = [], []
    for t in range(frames):
        img = (rng.random((h, w, 3)) * 40 + 60).astype(np.uint8)
        small = np.zeros((h, w), bool)
        small[18:30, 6 * t:6 * t + 10] = True
        big = np.zeros((h, w), bool)
        if covered:
            big[6:42, 24:62] = True
        else:
            big[0:8, 0:8] = True
        img[small] = (200, 60, 60)
        img[big] = (60, 60, 200)
        frame = {2: big}
        if (small & ~big).any() and (covered or t < 4):
            frame[1] = small & ~big
        images.append(img)
        masks.append(frame)
    assert all((1 in m) == (t < 4) for t, m in enumerate(masks))
    return images, masks


def test_an_object_hidden_behind_another_is_still_predicted_from_its_memory():
    images, masks = _hiding_scene()
    session = AmodalSession(_model(), hidden_frames=4)
    for t, (img, m) in enumerate(zip(images, masks)):
        res = session.step(img, m)
        if t >= 4:
            assert res.object_ids == [2, 1]
            assert not res.visible[1].any() and res.amodal[1].any()
            assert not (res.amodal[1] & ~m[2]).any()  # only behind the occluder
            assert res.occlusion[1] == 1.0 and res.depth_order == [2, 1]
        else:
            assert sorted(res.object_ids) == [1, 2]


def test_a_hidden_object_is_dropped_after_hidden_frames_or_when_nothing_covers_it():
    images, masks = _hiding_scene()
    session = AmodalSession(_model(), hidden_frames=2)
    reported = [1 in session.step(img, m).object_ids for img, m in zip(images, masks)]
    assert reported == [True] * 6 + [False] * 2  # seen 0-3, predicted 4-5, then no longer
    session = AmodalSession(_model(), hidden_frames=0)
    reported = [1 in session.step(img, m).object_ids for img, m in zip(images, masks)]
    assert reported == [True] * 4 + [False] * 4
    images, masks = _hiding_scene(covered=False)
    session = AmodalSession(_model(), hidden_frames=4)
    reported = [1 in session.step(img, m).object_ids for img, m in zip(images, masks)]
    assert reported == [True] * 4 + [False] * 4  # nothing to be hidden behind: gone


def test_an_empty_given_mask_is_reported_and_not_written_into_memory():
    images, masks = _hiding_scene()
    session = AmodalSession(_model())
    for img, m in zip(images[:4], masks[:4]):
        session.step(img, m)
    entries = session.memory_entries
    res = session.step(images[4], {1: np.zeros_like(masks[4][2]), 2: masks[4][2]})
    assert res.object_ids == [1, 2] and not res.visible[0].any() and res.amodal[0].any()
    assert session.memory_entries == entries + 1  # only object 2 wrote this frame


def test_given_masks_keep_a_memory_across_a_gap_with_a_visible_net_too():
    images, masks = _hiding_scene()
    for model in (_model(), _model(visible=True)):
        session = AmodalSession(model, max_lost=5, hidden_frames=0)
        for img, m in zip(images[:6], masks[:6]):
            session.step(img, m)
        assert session.num_memories == 2  # object 1 absent for 2 frames, remembered (was dropped with a visible net)


def test_hidden_frames_must_be_a_non_negative_int():
    for bad in (-1, 1.5, True, "3"):
        with pytest.raises(InputError, match="hidden_frames"):
            AmodalSession(_model(), hidden_frames=bad)
    with pytest.raises(InputError, match="order_ratio must be 0"):
        AmodalSession(_model(), order_ratio=0.9)
    for key, bad in (("hidden_keep", 0.0), ("order_ratio", 0.5), ("order_ratio", float("inf")), ("order_decay", 1.5),
                     ("order_ratio", True)):
        model = _model()
        setattr(model.completion.cfg, key, bad)
        with pytest.raises(InputError, match=f"model.completion.{key}"):
            AmodalSession(model)


def test_offline_predicts_a_hidden_object_from_both_sides():
    images, masks = _hiding_scene()
    results = run_offline(_model(), images, masks)
    for t in range(4, 8):
        assert results[t].object_ids == [2, 1] and results[t].amodal[1].any() and not results[t].visible[1].any()


def _memory_echo_model():
    """A model whose completion says "object" exactly where the object's memory saw it (logit 10 where
    the aligned past visible masks' maximum is over 0.5, -2 elsewhere): what it adds comes from the
    frames its memory has seen, so a forward pass and a backward pass differ where only one saw."""
    from amodal.models.completion import CompletionNet, input_channels

    model = _model()
    channel = input_channels(model.completion.cfg).index("mem_vis_max")

    class MemoryEcho(CompletionNet):
        def fused_for_inference(self):
            return self

        def forward(self, inputs, groups=None):
            return torch.where(inputs[:, channel:channel + 1] > 0.5, 10.0, -2.0)

    model.completion = MemoryEcho(model.completion.cfg).eval()
    return model


def test_offline_fuses_the_backward_pass_what_only_later_frames_showed():
    """A still square (object 1) with its right third behind object 2 in frames 0-3, wholly seen from
    frame 4 on (object 2 gone to a corner): only the backward pass has seen the hidden third at frames 1-3."""
    h, w = 48, 64
    rng = np.random.default_rng(2)
    square = np.zeros((h, w), bool)
    square[18:30, 10:22] = True
    hidden = np.zeros((h, w), bool)
    hidden[19:29, 19:21] = True  # inside the covered third (x 18-21), a pixel from its edges
    images, masks = [], []
    for t in range(8):
        cover = np.zeros((h, w), bool)
        if t < 4:
            cover[10:38, 18:40] = True
        else:
            cover[0:8, 50:64] = True
        img = (rng.random((h, w, 3)) * 40 + 60).astype(np.uint8)
        img[square], img[cover] = (200, 60, 60), (60, 60, 200)
        images.append(img)
        masks.append({1: square & ~cover, 2: cover})
    model = _memory_echo_model()
    session = AmodalSession(model)
    stream = [session.step(images[t], masks[t]) for t in range(8)]
    offline = run_offline(model, images, masks)
    for t in (1, 2, 3):
        k = stream[t].object_ids.index(1)
        assert not (stream[t].amodal[k] & hidden).any()  # the stream has not seen the third yet
        k = offline[t].object_ids.index(1)
        assert offline[t].amodal[k][hidden].all(), t  # the backward pass has
        assert not (offline[t].amodal[k] & ~(square | masks[t][2])).any()


def test_an_unseen_object_moves_at_its_amodal_centre_velocity():
    from amodal.inference.session import center_velocity

    m = center_velocity([(3, 10.0, 10.0), (4, 11.0, 9.5), (6, 16.0, 7.0)])
    assert np.allclose(m, [[1, 0, 2.0], [0, 1, -1.0]])


def test_memory_alignment_follows_the_model_flow_settings(clip):
    model = _model()
    assert (AmodalSession(model).flow.max_width, AmodalSession(model).flow.preset) == (160, "ultrafast")
    assert AmodalSession(model, flow_width=96).flow.max_width == 96
    frames, vis, _ = clip
    for preset in ("medium", "lk"):
        model.completion.cfg.motion_width, model.completion.cfg.motion_preset = 320, preset
        session = AmodalSession(model)
        assert (session.flow.max_width, session.flow.preset) == (320, preset)
        for t in range(4):
            res = session.step(frames[t], {k + 1: vis[k, t] for k in range(3)})
            assert not (res.visible & ~res.amodal).any()
        assert any((st.motion != IDENTITY).any() for st in session._objects.values())  # the objects moved
    cfg = Config()
    cfg.model.completion.motion_preset = "slow"
    with pytest.raises(ConfigError, match="motion_preset"):
        build_model(cfg)


def test_an_object_centre_is_the_centroid_of_its_amodal_mask(clip):
    model = _model()
    model.completion.cfg.order_ratio = 0.0  # the centre is the network's amodal mask's (the output settles the order after)
    session = AmodalSession(model)
    frames, vis, _ = clip
    res = session.step(frames[0], {k + 1: vis[k, 0] for k in range(3)})
    for k, oid in enumerate(res.object_ids):
        ys, xs = np.nonzero(res.amodal[k])
        frame, x, y = session._objects[int(oid)].centers[-1]
        assert frame == 0 and np.isclose(x, xs.mean()) and np.isclose(y, ys.mean())


@pytest.mark.parametrize("offline", [False, True])
def test_the_object_in_front_is_not_extended_behind_the_one_it_hides(offline):
    images, masks = _hiding_scene(frames=4)
    images, masks = images[3:] * 2, masks[3:] * 2  # the large object 2 hides the small one's right end
    for ratio in (2.0, 0.0):  # votes 216 (the large one over the small) against 72 here
        model = _model()  # its head extends every object behind every other
        model.completion.cfg.order_ratio = ratio  # the checkpoint's setting ...
        if offline:
            res = run_offline(model, images, masks)[1]
            assert run_offline(_model(), images, masks, order_ratio=ratio)[1].amodal.tobytes() == res.amodal.tobytes()
        else:
            session = AmodalSession(model)
            res = [session.step(img, m) for img, m in zip(images, masks)][1]
            session = AmodalSession(_model(), order_ratio=ratio)  # ... or the caller's
            assert [session.step(img, m) for img, m in zip(images, masks)][1].amodal.tobytes() == res.amodal.tobytes()
        big, small = res.object_ids.index(2), res.object_ids.index(1)
        assert (res.amodal[small] & res.visible[big]).any()  # hidden behind the large one: kept
        assert (res.amodal[big] & res.visible[small]).any() == (ratio == 0.0)
        assert res.depth_order == [2, 1]


def test_the_depth_order_follows_the_running_votes_when_a_pair_stops_touching():
    from amodal.inference.session import finalize
    from amodal.models.ordering import OrderVotes

    a = np.zeros((2, 20, 30), bool)
    a[0, 5:15, 2:12] = True  # object 7 in front ...
    a[1, 5:15, 12:25] = True  # ... of object 8, whose predicted amodal mask runs under it
    logits = np.where(a, 5.0, -5.0).astype(np.float32)
    logits[1, 5:15, 8:12] = 5.0
    apart = a.copy()
    apart[1] = np.roll(a[1], 5, axis=1)  # the next frame: apart, object 8 scores higher
    votes = OrderVotes(0.9)
    for _ in range(3):
        assert finalize(0, [7, 8], a, logits, np.ones(2), votes=votes, order_ratio=3.0).depth_order == [7, 8]
    lone = np.where(apart, 5.0, -5.0).astype(np.float32)
    scores = np.array([0.5, 0.9])
    assert finalize(1, [7, 8], apart, lone, scores).depth_order == [8, 7]  # this frame alone: the score decides
    assert finalize(1, [7, 8], apart, lone, scores, votes=votes, order_ratio=3.0).depth_order == [7, 8]
