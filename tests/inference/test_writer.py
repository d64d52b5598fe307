"""Background result writer: all files written, errors surface in the caller's thread."""
import json

import cv2
import numpy as np
import pytest
from PIL import Image

from amodal.data.format import load_predictions
from amodal.errors import InputError, OutputWriteError
from amodal.inference.writer import ResultWriter, instance_id_image
from amodal.types import FrameResult

H, W = 48, 64


def _result(t: int) -> FrameResult:
    """Object 1 in every frame (hidden behind object 300 from frame 1 on); object 300 from frame 1."""
    a1 = np.zeros((H, W), bool)
    a1[10:30, 10:40] = True
    if t == 0:
        return FrameResult(t, [1], a1[None], a1[None], np.array([0.9]), np.array([0.0]), [1])
    v300 = np.zeros((H, W), bool)
    v300[5:45, 30:50] = True
    v1 = a1 & ~v300
    occ = 1 - v1.sum() / a1.sum()
    return FrameResult(t, [1, 300], np.stack([v1, v300]), np.stack([a1, v300]), np.array([0.7, 0.8]),
                       np.array([occ, 0.0]), [300, 1])


def _image(t: int) -> np.ndarray:
    return np.full((H, W, 3), 40 + 20 * t, np.uint8)


def test_writes_all_files(tmp_path):
    writer = ResultWriter(tmp_path, fps=10, write_video=True, save_png=True, video_id=5, queue_size=2)
    for t in range(4):
        writer.put(_image(t), _result(t))
    summary = writer.close({"source": "x.mp4"})

    assert summary["frames"] == 4 and summary["objects"] == 2 and summary["source"] == "x.mp4"
    assert json.loads((tmp_path / "summary.json").read_text())["track_ids"] == [1, 300]
    preds = {p.track_id: p for p in load_predictions(tmp_path / "predictions.json")}
    assert set(preds) == {1, 300} and preds[1].video_id == 5
    assert preds[300].segmentations[0] is None and preds[300].depth_ranks == [None, 0, 0, 0]
    assert preds[1].depth_ranks == [0, 1, 1, 1]
    assert preds[1].occlusion[0] == 0.0 and preds[1].occlusion[2] > 0.2
    np.testing.assert_array_equal(preds[1].amodal_mask(3), _result(3).amodal[0])
    assert preds[1].score == pytest.approx((0.9 + 3 * 0.7) / 4)

    cap = cv2.VideoCapture(str(tmp_path / "overlay.mp4"))
    count = 0
    while cap.read()[0]:
        count += 1
    cap.release()
    assert count == 4
    assert not list(tmp_path.glob(".*"))  # no temporary files left

    ids = np.array(Image.open(tmp_path / "masks" / "visible" / "00002.png"))
    assert ids.dtype == np.uint16  # id 300 needs 16 bits
    np.testing.assert_array_equal(ids == 300, _result(2).visible[1])
    amodal = np.array(Image.open(tmp_path / "masks" / "amodal" / "00002" / "1.png"))
    np.testing.assert_array_equal(amodal > 0, _result(2).amodal[0])


def test_instance_id_image_front_object_wins():
    r = _result(1)
    r.visible[0] |= r.visible[1]  # overlapping visible masks; 300 is in front
    ids = instance_id_image(r)
    assert ids.dtype == np.uint16 and (ids[r.visible[1]] == 300).all()


def test_no_video_and_empty_stream(tmp_path):
    writer = ResultWriter(tmp_path, write_video=False)
    summary = writer.close()
    assert summary["frames"] == 0 and "overlay" not in summary["files"]
    assert json.loads((tmp_path / "predictions.json").read_text()) == []


def test_io_error_surfaces_in_caller(tmp_path):
    (tmp_path / "masks").write_text("a file where a folder must go")
    writer = ResultWriter(tmp_path, write_video=False, save_png=True, queue_size=1)
    with pytest.raises(OutputWriteError, match="cannot write"):
        for t in range(50):
            writer.put(_image(t % 3), _result(t % 3))
        writer.close()
    with pytest.raises(OutputWriteError):
        writer.close()
    assert not (tmp_path / "predictions.json").exists()


def test_bug_error_surfaces_and_partial_video_removed(tmp_path):
    bad = _result(1)
    bad.visible = bad.visible[:, :10]  # wrong mask size: drawing fails on the writer thread
    writer = ResultWriter(tmp_path, write_video=True)
    writer.put(_image(0), _result(0))
    writer.put(_image(1), bad)
    with pytest.raises(InputError):
        writer.close()
    assert not list(tmp_path.glob("*.mp4")) and not list(tmp_path.glob(".*.mp4"))


def test_context_manager_aborts_on_exception(tmp_path):
    with pytest.raises(RuntimeError):
        with ResultWriter(tmp_path) as writer:
            writer.put(_image(0), _result(0))
            raise RuntimeError("decoder failed")
    assert not (tmp_path / "predictions.json").exists()
    assert not list(tmp_path.glob(".*"))
