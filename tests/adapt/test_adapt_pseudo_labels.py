"""Pseudo-labels for raw videos: native JSON without amodal fields, exact streaming motions, inputs."""
import json

import cv2
import numpy as np
import pytest
from PIL import Image

from amodal.adapt.pseudo_labels import StreamingMotions, list_videos, motion_cache_path, pseudo_label
from amodal.data.format import load_dataset
from amodal.errors import InputError
from amodal.types import FrameResult
from amodal_fixtures import ellipse_video

T, W, H = 10, 64, 48


def write_video(folder, name="clip", frames=T, seed=1, late=True):
    """A tiny mp4 plus a folder of instance-id PNGs; object 2 enters late and leaves early."""
    fr, vis, _ = ellipse_video(frames, (W, H), 3, np.random.default_rng(seed))
    if late:
        vis[1, :3] = False
        vis[1, 7:] = False
    folder.mkdir(parents=True, exist_ok=True)
    vw = cv2.VideoWriter(str(folder / f"{name}.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10, (W, H))
    for f in fr:
        vw.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    vw.release()
    masks = folder / f"{name}_masks"
    masks.mkdir(exist_ok=True)
    for t in range(frames):
        ids = np.zeros((H, W), np.uint8)
        for k in range(3):
            ids[vis[k, t]] = k + 1
        Image.fromarray(ids).save(masks / f"{t:05d}.png")
    return folder / f"{name}.mp4", masks, vis


def test_given_masks_give_native_json_without_amodal_and_exact_motions(tmp_path, monkeypatch):
    video, masks, vis = write_video(tmp_path / "in")
    s = pseudo_label([video], tmp_path / "pseudo", visible_masks=masks, min_track_frames=1)
    raw = json.loads(s.json_path.read_text())
    assert not any(k.startswith("amodal") for a in raw["annotations"] for k in a)
    ds = load_dataset(s.json_path, read_amodal=True)  # valid native file, frames on disk
    assert not ds.has_amodal
    assert [v.length for v in ds.videos] == [T] and (s.videos, s.frames, s.tracks) == (1, T, 3)
    for k, tr in enumerate(ds.tracks(1)):
        for t in range(T):
            assert np.array_equal(tr.visible_mask(t), vis[k, t])
    assert ds.frame_path(1, 0).is_file()

    import amodal.data.clips as clips

    reference = clips.video_motions(ds)[1]
    with np.load(motion_cache_path(s.json_path)) as z:
        assert np.array_equal(z["v1"], reference)  # streaming == whole-video computation
    monkeypatch.setattr(clips, "video_motions", lambda *a, **k: pytest.fail("motion cache missed"))
    clip_ds = clips.ClipDataset(s.json_path, clip_length=3, augment=False)
    assert clip_ds[0].frames.shape == (3, H, W, 3)


@pytest.mark.parametrize("preset", ["medium", "lk"])
def test_motions_are_cached_with_the_model_flow_settings(tmp_path, monkeypatch, preset):
    video, masks, _ = write_video(tmp_path / "in")
    s = pseudo_label([video], tmp_path / "pseudo", visible_masks=masks, min_track_frames=1, motion_width=48,
                     motion_preset=preset)
    assert motion_cache_path(s.json_path, 48, preset).is_file() and not motion_cache_path(s.json_path).exists()

    import amodal.data.clips as clips

    reference = clips.video_motions(load_dataset(s.json_path, read_amodal=False), max_width=48, preset=preset)[1]
    with np.load(motion_cache_path(s.json_path, 48, preset)) as z:
        assert np.array_equal(z["v1"], reference)
    monkeypatch.setattr(clips, "video_motions", lambda *a, **k: pytest.fail("motion cache missed"))
    clips.ClipDataset(s.json_path, clip_length=3, augment=False, motion_width=48, motion_preset=preset)


def test_short_tracks_dropped_and_frames_downscaled(tmp_path):
    video, masks, _ = write_video(tmp_path / "in")
    s = pseudo_label([video], tmp_path / "pseudo", visible_masks=masks, min_track_frames=5, max_side=32)
    ds = load_dataset(s.json_path, read_amodal=False)
    assert (s.tracks, s.dropped_tracks) == (2, 1)  # object 2 is seen in 4 frames only
    assert (ds.videos[0].width, ds.videos[0].height) == (32, 24)
    assert ds.tracks(1)[0].visible_mask(0).shape == (24, 32)


class FakePredictor:
    """Stands in for AmodalPredictor: object 7 = pixels brighter than the frame's 90th percentile."""

    class _Session:
        detector = object()  # what finds the objects (AmodalSession.detector)

    def __init__(self):
        self.session = self._Session()
        self.resets = 0

    def reset(self):
        self.resets += 1

    def step(self, image):
        g = image.astype(np.int32).sum(-1)
        m = g > np.percentile(g, 90)
        return FrameResult(0, [7], m[None], m[None], np.ones(1), np.zeros(1), [7])


def test_network_path_uses_predictor_ids_per_video(tmp_path):
    write_video(tmp_path / "vids", "a", seed=1)
    write_video(tmp_path / "vids", "b", seed=2)
    videos = list_videos(tmp_path / "vids")
    assert [v.name for v in videos] == ["a.mp4", "b.mp4"]
    p = FakePredictor()
    s = pseudo_label(videos, tmp_path / "pseudo", predictor=p)
    ds = load_dataset(s.json_path, read_amodal=False)
    assert p.resets == 2 and s.names == ["a", "b"]
    assert [len(ds.tracks(v.id)) for v in ds.videos] == [1, 1]
    assert len({a.id for a in ds.annotations}) == 2  # ids unique over the dataset
    assert ds.frame_path(2, 3).parent.name == "b"


def test_list_videos_forms_and_errors(tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    cv2.imwrite(str(frames / "0.png"), np.zeros((H, W, 3), np.uint8))
    assert list_videos(frames) == [frames]
    assert list_videos(tmp_path) == [frames]  # a folder of frame folders
    with pytest.raises(InputError, match="no such file"):
        list_videos(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="empty"):
        list_videos(tmp_path / "empty")


def test_errors_name_the_problem(tmp_path):
    video, masks, _ = write_video(tmp_path / "in")
    with pytest.raises(InputError, match="--visible-masks"):
        pseudo_label([video], tmp_path / "p1")  # no predictor, no masks
    bare = FakePredictor()
    bare.session.detector = None  # a model without a visible-mask network, network detector
    with pytest.raises(InputError, match="no visible-mask network"):
        pseudo_label([video], tmp_path / "p2", predictor=bare)
    (masks / f"{T - 1:05d}.png").unlink()
    with pytest.raises(InputError, match=f"masks for {T - 1} frames"):
        pseudo_label([video], tmp_path / "p3", visible_masks=masks)
    with pytest.raises(InputError, match="live source"):
        pseudo_label(["rtsp://cam/stream"], tmp_path / "p4", predictor=FakePredictor())


def test_streaming_motions_identity_before_a_track_appears():
    sm = StreamingMotions()
    rng = np.random.default_rng(0)
    img = (rng.random((H, W, 3)) * 255).astype(np.uint8)
    m = np.zeros((H, W), bool)
    m[10:30, 10:30] = True
    sm.add(img, {})
    sm.add(np.roll(img, 2, axis=1), {})
    sm.add(np.roll(img, 4, axis=1), {5: m})
    sm.add(np.roll(img, 6, axis=1), {5: np.roll(m, 2, axis=1)})
    arr = sm.array([5], 4)
    assert arr.shape == (1, 3, 2, 3)
    assert np.allclose(arr[0, :2], np.array([[1, 0, 0], [0, 1, 0]]))
    assert 1.0 < arr[0, 2, 0, 2] < 3.0  # moved right by about 2 px
