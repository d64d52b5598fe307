"""`amodal bench` input checks and safety: what the user gave is refused up front, a failing stage
is recorded while the others run, files the benchmark did not make are never touched."""
import json
import os
from pathlib import Path

import pytest

import amodal.bench.decode
import amodal.bench.generator
from amodal.bench.report import _training_section, loops_text
from amodal.bench.runner import written_line
from amodal.bench.settings import BenchSettings
from amodal.cli.main import main
from amodal.errors import CheckpointError

ROOT = Path(__file__).resolve().parents[2]
TINY = str(ROOT / "configs" / "tiny.yaml")


def _read_only_dir(tmp_path):
    """A folder that cannot be written (root ignores permissions: /sys then)."""
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        return ro
    if Path("/sys").is_dir():
        return Path("/sys")
    pytest.skip("no read-only folder for root")


def test_out_folder_refused_before_any_stage(tmp_path, capsys):
    folder = tmp_path / "existing"
    folder.mkdir()
    assert main(["bench", "--quick", "--out", str(folder), "--stages", "decode"]) == 2
    err = capsys.readouterr().err
    assert f"--out {folder}: is a folder" in err and "[decode]" not in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == [folder] and not any(folder.iterdir())


def test_unwritable_out_refused_before_any_stage(tmp_path, capsys):
    out = _read_only_dir(tmp_path) / "sub" / "B.md"
    assert main(["bench", "--quick", "--out", str(out), "--stages", "decode"]) == 2
    err = capsys.readouterr().err
    assert f"--out {out}: cannot write in" in err and "[decode]" not in err and ".tmp" not in err


def test_bad_train_log_refused_before_any_stage(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "log.jsonl").write_text("not json\n")
    out = tmp_path / "r" / "B.md"
    assert main(["bench", "--quick", "--out", str(out), "--stages", "decode", "--train-log", str(run)]) == 2
    err = capsys.readouterr().err
    assert "line 1 is not JSON" in err and "[decode]" not in err and not out.parent.exists()


def _fast_stages(monkeypatch):
    """decode raises a user-facing error, generator returns at once (no real measuring)."""
    def broken(*a, **k):
        raise CheckpointError("checkpoint not found: amodal/weights/default.pt")

    monkeypatch.setattr(amodal.bench.decode, "bench_decode", broken)
    monkeypatch.setattr(amodal.bench.generator, "bench_generator",
                        lambda *a, **k: {"videos": 1, "frames": 1, "size": [96, 72], "rows": []})


def test_failing_stage_is_recorded_and_the_others_run(tmp_path, monkeypatch, capsys):
    _fast_stages(monkeypatch)
    out = tmp_path / "r" / "B.md"
    code = main(["bench", "--quick", "--threads", "1", "--config", TINY, "--out", str(out),
                 "--stages", "decode,generator", "--stream-frames", "3"])
    assert code == 1
    data = json.loads((out.parent / "benchmarks.json").read_text())
    assert data["decode"]["error"].startswith("CheckpointError: checkpoint not found")
    assert data["generator"]["videos"] == 1
    assert "## Stages that failed" in out.read_text()
    err = capsys.readouterr().err
    assert "stages failed: decode" in err and "(no plots)" in err and "plots in" not in err


def test_work_dir_files_are_never_touched(tmp_path, monkeypatch):
    _fast_stages(monkeypatch)
    work = tmp_path / "work"
    for name in ("world_2", "world_4", "gen_w1", "train_data", "train_run0"):
        (work / name).mkdir(parents=True)
        (work / name / "notes.txt").write_text("mine")
    main(["bench", "--quick", "--quiet", "--threads", "1", "--config", TINY, "--out", str(tmp_path / "B.md"),
          "--stages", "generator", "--stream-frames", "3", "--work-dir", str(work)])
    for name in ("world_2", "world_4", "gen_w1", "train_data", "train_run0"):
        assert [p.name for p in (work / name).iterdir()] == ["notes.txt"]
    new = [p for p in work.iterdir() if not (p / "notes.txt").exists()]
    assert len(new) == 1 and (new[0] / "world_2" / "annotations.json").is_file()


@pytest.mark.parametrize("teacher", [0.0, 1.0])
def test_training_throughput_from_any_folder(tmp_path, monkeypatch, teacher):
    """The recipe's train.init is relative to where it ran (e.g. amodal/weights/default.pt)."""
    from amodal.bench.training import bench_training
    from amodal.config import load_config

    cfg = load_config(TINY, ["train.init=amodal/weights/default.pt", "train.init_parts=[completion]",
                             f"train.loss_weights.future_teacher={teacher}"])
    monkeypatch.chdir(tmp_path)
    res = bench_training(cfg, tmp_path / "work", steps=2, videos=1, frames=3, size=(48, 48), repeats=1, seed=0,
                         log=lambda m: None)
    assert res["clips_per_s"] > 0


def test_memory_text_states_what_was_streamed():
    assert loops_text(60, 8) == "7 loops and 4 frames of the 8-frame"
    assert loops_text(64, 8) == "8 loops of the 8-frame"
    assert loops_text(5, 8) == "5 frames of the 8-frame"


def test_plots_named_only_when_written(tmp_path):
    settings = BenchSettings(out=tmp_path / "B.md")
    assert "plots in" in written_line(settings.out, settings, {"memory": "x.png"})
    assert "plots in" not in written_line(settings.out, settings, {})


def test_suggested_train_log_lists_the_recipe_runs():
    text = "\n".join(_training_section({}))
    runs = ("runs/default,runs/default_more,runs/default_more2,runs/default_more3,runs/default_more4,"
            "runs/default_more5,runs/default_visible,runs/default_hqflow")
    assert f"--train-log {runs}`" in text


def test_help_says_out_is_relative_to_the_current_folder(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    assert "docs/BENCHMARKS.md in the current folder" in " ".join(capsys.readouterr().out.split())
