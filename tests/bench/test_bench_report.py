"""The report writer: targets, markdown sections, plots and JSON from a hand-made results dict."""
import json
import math

import pytest

from amodal.bench.report import render_markdown, stage_error, terminal_table, write_report
from amodal.bench.settings import BenchSettings
from amodal.bench.targets import check_targets
from amodal.bench.training import recipe_time
from amodal.errors import FormatError


def _results(own_fps=35.0, given_fps=90.0, growth=12.0):
    stream_rows = []
    for n in (2, 4, 8):
        for mode, fps in (("own", own_fps), ("given", given_fps)):
            stream_rows.append({"objects": n, "mode": mode, "fps": fps - n, "latency_p50_ms": 1000 / fps,
                                "latency_p95_ms": 1500 / fps, "step_p50_ms": 900 / fps, "objects_per_frame": float(n),
                                "ratio_to_decode": fps / 900, "frames": 10, "fps_runs": [fps]})
    samples = [{"frame": f, "rss_mb": 400.0 + growth * f / 1000, "objects_in_memory": 4, "memory_entries": 32,
                "ms_per_frame": 9.0} for f in [1] + list(range(250, 1001, 250))]
    comps = [{"component": c, "ms_per_frame": 2.0, "share": 0.25, "calls_per_frame": 1.0}
             for c in ("decode", "visible net", "completion net", "other (API, loop)")]
    return {
        "date": "today", "command": "amodal bench", "duration_s": 60.0,
        "machine": {"cpu": "Test CPU", "cores": 2, "os": "Linux", "python": "3", "torch": "2", "torch_threads": 2,
                    "opencv": "5", "decord": "3", "amodal": "0.1.0"},
        "load_before": [3.0, 2.0, 1.0], "load_after": [3.5, 2.0, 1.0],
        "model": {"description": "random model", "weights": "random", "visible_weights": "random"},
        "decode": {"decord": {"fps": 900.0, "runs": [900.0], "frames": 10}, "opencv": {"fps": 800.0, "runs": [800.0], "frames": 10}},
        "stream": {"driver": "AmodalPredictor", "rows": stream_rows},
        "offline": {"rows": [{"objects": 4, "mode": "given", "frames": 10, "fps": 40.0, "fps_runs": [40.0]}]},
        "profile": {"components": [{"mode": "own", "objects": 4, "frames": 10, "ms_per_frame": 8.0, "fps": 125.0,
                                    "components": comps}], "cprofile": []},
        "memory": {"frames": 1000, "every": 250, "loops": 10, "driver": "AmodalPredictor", "process": "fresh process",
                   "samples": samples, "start_mb": 400.0, "end_mb": samples[-1]["rss_mb"], "max_mb": samples[-1]["rss_mb"],
                   "growth_mb": growth, "max_growth_mb": growth, "warm_start_frame": 250,
                   "warm_growth_mb": growth * 0.75, "warm_max_growth_mb": growth * 0.75,
                   "max_objects_in_memory": 4, "max_memory_entries": 32},
        "training": {"error": "RuntimeError: boom"},
        "generator": {"videos": 1, "frames": 2, "size": [64, 48],
                      "rows": [{"workers": 1, "fps": 50.0, "fps_runs": [50.0], "frames_per_run": 2}]},
    }


def test_targets_follow_the_numbers():
    statuses = [r["status"] for r in check_targets(_results(own_fps=35.0, given_fps=90.0))]
    assert statuses[0] == "met"  # slowest own <= 4 objects: 35 - 4 = 31 >= 30
    assert statuses[1] == "NOT met"  # 90 - 2 < 100
    assert statuses[2].startswith("met") and "too short" in statuses[2]  # 1000 frames only
    assert statuses[3] == "not measured"
    assert check_targets(_results(own_fps=33.0))[0]["status"] == "NOT met"  # 33 - 4 < 30
    assert len(statuses) == 4


def test_report_files(tmp_path):
    settings = BenchSettings(out=tmp_path / "docs" / "BENCH.md", repeats=1)
    results = _results()
    path = write_report(results, settings)
    text = path.read_text()
    for heading in ("## Summary against the targets", "## Machine", "## Decoding only", "## Streaming, end to end",
                    "## Offline", "## Where the time goes", "## Memory over a long stream",
                    "## Synthetic generator throughput", "## Stages that failed"):
        assert heading in text
    assert "RuntimeError: boom" in text and "Not measured" in text
    for name in ("bench_streaming.png", "bench_memory.png", "bench_profile.png"):
        png = tmp_path / "docs" / "images" / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"images/{name}" in text
    data = json.loads((tmp_path / "docs" / "benchmarks.json").read_text())
    assert data["stream"]["rows"][0]["mode"] == "own"
    assert stage_error(results) == "training"
    assert "frames/s" in terminal_table(results)


def test_nan_becomes_null_and_busy_machine_is_flagged(tmp_path):
    settings = BenchSettings(out=tmp_path / "B.md")
    results = _results()
    results["stream"]["rows"][0]["ratio_to_decode"] = float("nan")
    results["load_before"] = [5.0, 4.0, 3.0]
    write_report(results, settings)
    data = json.loads((tmp_path / "benchmarks.json").read_text())
    assert data["stream"]["rows"][0]["ratio_to_decode"] is None
    assert "busy" in (tmp_path / "B.md").read_text()
    assert "busy" not in render_markdown({**results, "load_before": [0.1, 0.1, 0.1], "load_after": [0.2, 0, 0]}, settings)


def test_recipe_time_from_log(tmp_path):
    log = tmp_path / "run" / "log.jsonl"
    log.parent.mkdir()
    recs = [{"kind": "train", "step": 20, "time": 1000.0 + 60, "sec_per_step": 3.0},
            {"kind": "val", "step": 500, "time": 1000.0 + 600, "occluded_miou": 0.495},
            {"kind": "train", "step": 1000, "time": 1000.0 + 1200, "sec_per_step": 1.0},
            {"kind": "val", "step": 1500, "time": 1000.0 + 1800, "occluded_miou": 0.5}]
    log.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    out = recipe_time(log.parent)
    assert out["metric"] == "occluded_miou" and out["final"] == 0.5
    assert out["reached_step"] == 500 and math.isclose(out["reached_minutes"], 10.0)
    assert math.isclose(out["total_minutes"], 30.0)
    log.write_text("not json\n")
    with pytest.raises(FormatError, match="line 1"):
        recipe_time(log)
    with pytest.raises(FormatError, match="no log.jsonl"):
        recipe_time(tmp_path / "nowhere")


def test_recipe_of_several_stages_adds_wall_times(tmp_path):
    from amodal.bench.training import recipe_stages_time

    def run(name, recs):
        d = tmp_path / name
        d.mkdir()
        (d / "log.jsonl").write_text("\n".join(json.dumps(r) for r in recs) + "\n")
        return d

    one = run("one", [{"kind": "train", "step": 10, "time": 100.0, "sec_per_step": 0.0},
                      {"kind": "val", "step": 10, "time": 100.0 + 300, "occluded_miou": 0.4},
                      {"kind": "train", "step": 20, "time": 100.0 + 600, "sec_per_step": 1.0}])
    two = run("two", [{"kind": "train", "step": 5, "time": 5000.0, "sec_per_step": 0.0},
                      {"kind": "train", "step": 50, "time": 5000.0 + 1200, "sec_per_step": 1.0}])
    out = recipe_stages_time([one, two])
    assert [s["steps"] for s in out["stages"]] == [20, 50]
    assert math.isclose(out["total_minutes"], 30.0) and math.isclose(out["reached_minutes"], 30.0)
    assert out["metric"] == "occluded_miou" and out["final"] == 0.4
    assert math.isclose(recipe_stages_time([one])["reached_minutes"], 5.0)  # one stage: as recipe_time
    with pytest.raises(FormatError, match="no training run"):
        recipe_stages_time([])
