"""tools/real_clip_occluders.py: a bar sweeps across a clip's object; the truth is the object's mask."""
import numpy as np
from PIL import Image

from amodal.data.format import load_dataset
from amodal_fixtures import load_tool

H, W, T = 40, 60, 9


def _object(t: int) -> np.ndarray:
    m = np.zeros((H, W), bool)
    m[10:30, 15 + t:35 + t] = True
    return m


def _clip(root, name="walker", masks=True):
    """A clip folder: noisy frames and mask PNGs (255 = the object, moving right)."""
    rng = np.random.default_rng(0)
    (root / name / "frames").mkdir(parents=True)
    if masks:
        (root / name / "masks").mkdir()
    for t in range(T):
        Image.fromarray(rng.integers(0, 255, (H, W, 3), dtype=np.uint8)).save(root / name / "frames" / f"{t:05d}.jpg")
        if masks:
            Image.fromarray(_object(t).astype(np.uint8) * 255).save(root / name / "masks" / f"{t:05d}.png")
    return root / name


def test_bar_sweeps_across_the_object_and_the_truth_is_its_mask(tmp_path):
    tool = load_tool("real_clip_occluders")
    clip = _clip(tmp_path / "clips")
    assert tool.main([str(clip), str(tmp_path / "out")]) == 0
    ds = load_dataset(tmp_path / "out" / "annotations.json")  # native format, frame files checked
    assert len(ds.videos) == 2  # a vertical and a horizontal sweep
    frames0 = np.stack([np.asarray(Image.open(p)) for p in sorted((clip / "frames").iterdir())])
    for video in ds.videos:
        target, bar = sorted(ds.tracks(video.id), key=lambda tr: tr.category_id)
        hidden = []
        for t in range(T):
            obj, b = _object(t), bar.amodal_mask(t)
            assert np.array_equal(target.amodal_mask(t), obj)  # the truth is the annotated mask
            assert np.array_equal(target.visible_mask(t), obj & ~b)
            assert np.array_equal(bar.visible_mask(t), b)
            hidden.append((obj & b).sum() / obj.sum())
            frame = np.asarray(Image.open(ds.image_root / video.file_names[t]))
            changed = np.abs(frame.astype(int) - frames0[t].astype(int)).max(-1) > 40
            assert not (changed & ~b).any()  # pixels change under the bar only (jpeg noise aside)
        assert hidden[0] == 0 and hidden[-1] == 0  # starts and ends beside the object
        assert 0.15 < max(hidden) < 0.5  # hides a slice of it on the way across


def test_bad_input_is_a_message_and_exit_code_2(tmp_path, capsys):
    tool = load_tool("real_clip_occluders")
    assert tool.main([str(tmp_path / "missing"), str(tmp_path / "o1")]) == 2
    assert "no such folder" in capsys.readouterr().err
    _clip(tmp_path / "bad", masks=False)
    assert tool.main([str(tmp_path / "bad"), str(tmp_path / "o2")]) == 2  # no masks/ folder
    assert "one mask per frame" in capsys.readouterr().err
    (tmp_path / "bad" / "walker" / "masks").mkdir()
    assert tool.main([str(tmp_path / "bad"), str(tmp_path / "o2")]) == 2  # no mask in it
    assert "one mask per frame" in capsys.readouterr().err
    assert not (tmp_path / "o2").exists()  # nothing written for a bad clip
    clip = _clip(tmp_path / "good")
    (tmp_path / "o3").mkdir()
    assert tool.main([str(clip), str(tmp_path / "o3")]) == 2
    assert "exists" in capsys.readouterr().err


def test_object_occluders_are_another_clips_object_walking_across(tmp_path):
    tool = load_tool("real_clip_occluders")
    root = tmp_path / "clips"
    _clip(root, "a")
    _clip(root, "b")
    assert tool.main([str(root), str(tmp_path / "out"), "--occluders", "all"]) == 0
    ds = load_dataset(tmp_path / "out" / "annotations.json")
    assert len(ds.videos) == 6  # two bars and one object per clip
    video = ds.videos[2]  # clip a, occluded by clip b's object
    target, occ = sorted(ds.tracks(video.id), key=lambda tr: tr.category_id)
    hidden, lefts = [], []
    for t in range(T):
        o = occ.visible_mask(t)
        assert np.array_equal(target.visible_mask(t), _object(t) & ~o)
        if o.any():
            lefts.append(np.nonzero(o)[1].min())
            assert np.nonzero(o)[0].max() == 29  # stands on the bottom of the target's box
        hidden.append((o & _object(t)).sum() / _object(t).sum())
    assert lefts == sorted(lefts) and lefts[-1] > lefts[0]  # walks left to right
    assert max(hidden) > 0.3 and hidden[0] < max(hidden)
    assert tool.main([str(root / "a"), str(tmp_path / "o2"), "--occluders", "objects"]) == 2  # needs another clip
    assert not (tmp_path / "o2").exists()  # refused before anything is written
    assert tool.main([str(root), str(tmp_path / "o3"), "--occluders", "cats"]) == 2
    assert not (tmp_path / "o3").exists()
