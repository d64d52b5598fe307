"""RunLogger: JSON lines, and TensorBoard scalars a reader gets back; the trainer's progress bar."""
import json
import warnings
from pathlib import Path

import pytest

from amodal.engine.logging import RunLogger


def test_records_go_to_json_lines_and_tensorboard(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    with RunLogger(tmp_path) as log:
        log.log(1, {"total": 2.5, "next_visible": 0.5})
        log.log(2, {"total": float("nan"), "lr": 0.001})
        log.log(2, {"full_miou": 0.9}, kind="val")
    records = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [(r["kind"], r["step"]) for r in records] == [("train", 1), ("train", 2), ("val", 2)]
    assert records[1]["total"] == "nan"  # JSON has no NaN: kept as text, never a broken line
    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    assert {"train/total", "train/next_visible", "train/lr", "val/full_miou"} <= set(events.Tags()["scalars"])
    assert [(e.step, e.value) for e in events.Scalars("train/total")] == [(1, 2.5)]  # the NaN is left out
    assert events.Scalars("val/full_miou")[0].value == pytest.approx(0.9)


def test_a_tensorboard_that_cannot_write_is_one_warning_and_the_json_lines_go_on(tmp_path):
    pytest.importorskip("tensorboard")
    (tmp_path / "tb").write_text("a file where the event folder should be")
    with pytest.warns(UserWarning, match="TensorBoard logging is off"):
        log = RunLogger(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        log.log(1, {"total": 1.0})
    log.close()
    assert json.loads((tmp_path / "log.jsonl").read_text())["total"] == 1.0


def test_training_shows_a_progress_bar_on_request(tmp_path, capsys):
    from amodal.config import load_config
    from amodal.engine.trainer import train
    from amodal_fixtures import make_dataset

    data = make_dataset(tmp_path / "d", videos=1, frames=4)
    tiny = Path(__file__).resolve().parents[2] / "configs" / "tiny.yaml"
    sets = [f"data.train={data}", "data.val=\"\"", "train.steps=2"]
    train(load_config(str(tiny), sets), str(tmp_path / "a"), show_progress=True)
    err = capsys.readouterr().err
    assert "train" in err and "2/2" in err  # tqdm: description and the steps done
    train(load_config(str(tiny), sets), str(tmp_path / "b"), show_progress=False)
    assert "2/2" not in capsys.readouterr().err
