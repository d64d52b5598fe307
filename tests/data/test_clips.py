"""ClipDataset: typed samples, never reads amodal masks, deterministic resumable sampling."""
import numpy as np
import torch

from amodal.data.clips import ClipBatchSampler, ClipDataset, collate_clips, motion_cache_path, read_video_frames
from amodal.data.format import load_dataset
from amodal.models.alignment import track_motions
from amodal_fixtures import make_dataset, strip_amodal


def _equal(a, b):
    for name in ("frames", "visible_ids", "object_valid", "motions"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name


def test_sample_and_batch(tmp_path):
    path = make_dataset(tmp_path / "d", videos=2, frames=5)
    ds = ClipDataset(path, clip_length=3, stride=2, max_objects=4, augment=False, cache_dir=tmp_path / "c")
    assert len(ds) == 2  # one start per video: span 5
    s = ds[0]
    assert s.frames.shape == (3, 48, 64, 3) and s.frames.dtype == np.uint8
    assert s.visible_ids.dtype == np.int64 and s.visible_ids.max() <= 3
    assert s.object_valid.tolist() == [True, True, True, False]
    assert s.motions.shape == (4, 2, 2, 3) and s.amodal is None
    b = collate_clips([ds[0], ds[1]])
    assert b.frames.shape == (2, 3, 3, 48, 64) and b.amodal is None
    assert b.frames_float().max() <= 1.0
    assert not any(t.has_amodal for t in ds.ds.annotations)  # structurally absent


def test_training_data_never_reads_amodal(tmp_path):
    path = make_dataset(tmp_path / "d", videos=2, frames=4)
    stripped = strip_amodal(path, tmp_path / "d" / "no_amodal.json")
    a = ClipDataset(path, clip_length=3, max_objects=3, augment=True, seed=5, cache_dir=tmp_path / "c")
    b = ClipDataset(stripped, clip_length=3, max_objects=3, augment=True, seed=5, cache_dir=tmp_path / "c")
    items = [(0, 11), (1, 3), (3, 7)]
    _equal(collate_clips([a[i] for i in items]), collate_clips([b[i] for i in items]))


def test_with_amodal_keeps_visible_inside(tmp_path):
    path = make_dataset(tmp_path / "d", videos=1, frames=4, seed=3)
    ds = ClipDataset(path, clip_length=4, max_objects=3, augment=True, with_amodal=True, cache_dir=tmp_path / "c")
    for draw in range(6):
        s = ds[(0, draw)]
        assert s.amodal is not None and s.amodal.shape == (3, 4, 48, 64)
        for k in range(3):
            vis = s.visible_ids == k + 1
            assert not (vis & ~s.amodal[k]).any()


def test_motion_cache_is_reused(tmp_path):
    path = make_dataset(tmp_path / "d", videos=1, frames=4)
    ClipDataset(path, clip_length=2, augment=False, cache_dir=tmp_path / "c")
    files = list((tmp_path / "c").glob("*.npz"))
    assert len(files) == 1
    mtime = files[0].stat().st_mtime_ns
    ClipDataset(path, clip_length=2, augment=False, cache_dir=tmp_path / "c")
    assert files[0].stat().st_mtime_ns == mtime


def test_batch_sampler_is_step_indexed_and_sharded():
    full = ClipBatchSampler(10, 3, seed=1, total_steps=6)
    resumed = ClipBatchSampler(10, 3, seed=1, start_step=3, total_steps=6)
    assert list(full)[3:] == list(resumed)
    r0 = ClipBatchSampler(10, 5, seed=1, rank=0, world=2, total_steps=1)
    r1 = ClipBatchSampler(10, 5, seed=1, rank=1, world=2, total_steps=1)
    i0 = {i for i, _ in r0.batch(0)}
    i1 = {i for i, _ in r1.batch(0)}
    assert not i0 & i1 and len(i0 | i1) == 10


def test_motions_follow_the_flow_settings_each_with_its_own_cache(tmp_path):
    path = make_dataset(tmp_path / "d", videos=1, frames=5, size=(96, 72))
    cache = tmp_path / "c"
    fast = ClipDataset(path, clip_length=3, augment=False, cache_dir=cache)
    sharp = ClipDataset(path, clip_length=3, augment=False, cache_dir=cache, motion_width=96, motion_preset="medium")
    assert motion_cache_path(path, cache).is_file() and motion_cache_path(path, cache, 96, "medium").is_file()
    assert motion_cache_path(path, cache) != motion_cache_path(path, cache, 96, "medium")
    ds = load_dataset(path, read_amodal=False)
    frames = read_video_frames(ds, 1, range(5))
    masks = np.stack([np.stack([tr.visible_mask(t) for t in range(5)]) for tr in ds.tracks(1)])
    assert np.array_equal(sharp.motions[1], track_motions(frames, masks, 96, "medium"))
    assert np.array_equal(fast.motions[1], track_motions(frames, masks))
    assert not np.array_equal(sharp.motions[1], fast.motions[1])
