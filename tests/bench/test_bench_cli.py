"""`amodal bench` end to end on tiny settings (machinery only: no timing assertions)."""
import json
from pathlib import Path

import pytest

from amodal.cli.main import main

TINY = str(Path(__file__).resolve().parents[2] / "configs" / "tiny.yaml")


def _run(tmp_path, stages, *extra):
    out = tmp_path / "docs" / "BENCHMARKS.md"
    code = main(["bench", "--quick", "--quiet", "--threads", "1", "--config", TINY, "--out", str(out),
                 "--stages", stages, *extra])
    return code, out


def test_quick_run_writes_report(tmp_path, capsys):
    code, out = _run(tmp_path, "decode,stream,memory", "--memory-frames", "30", "--stream-frames", "5")
    assert code == 0
    data = json.loads((out.parent / "benchmarks.json").read_text())
    rows = data["stream"]["rows"]
    assert {(r["mode"], r["objects"]) for r in rows} == {(m, n) for m in ("own", "motion", "given") for n in (2, 4)}
    assert all(r["fps"] > 0 and r["latency_p95_ms"] >= r["latency_p50_ms"] for r in rows)
    assert data["decode"]["decord"]["frames"] == data["decode"]["opencv"]["frames"] == 5
    assert data["memory"]["frames"] == 30 and data["memory"]["samples"][-1]["frame"] == 30
    assert data["machine"]["cores"] >= 1 and data["settings"]["quick"] is True
    text = out.read_text()
    assert "## Streaming, end to end" in text and "bench_streaming.png" in text
    assert "| 2 | objects from motion (frames only) |" in text
    assert (out.parent / "images" / "bench_memory.png").is_file()
    assert "frames/s" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["--repeats", "0"], "--repeats must be >= 1"),
    (["--stages", "decode,warp"], "unknown benchmark stage(s) warp"),
    (["--checkpoint", "/nonexistent/x.pt"], "--checkpoint /nonexistent/x.pt: no such file"),
    (["--threads", "0"], "--threads must be >= 1"),
    (["--config", "/nonexistent/c.yaml"], "--config /nonexistent/c.yaml: no such file"),
    (["--stages", ""], "--stages: no stage given"),
    (["--stages", " , "], "--stages: no stage given"),
])
def test_bad_arguments_exit_2(tmp_path, capsys, args, message):
    assert main(["bench", "--quick", "--out", str(tmp_path / "B.md"), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())  # refused before any stage wrote anything


@pytest.mark.slow
def test_every_stage(tmp_path):
    code, out = _run(tmp_path, "decode,stream,offline,threads,profile,memory,training,generator")
    assert code == 0
    data = json.loads((out.parent / "benchmarks.json").read_text())
    for stage in ("offline", "threads", "profile", "training", "generator"):
        assert "error" not in data[stage], data[stage]
    assert data["training"]["clips_per_s"] > 0
    labels = {p["mode"]: {c["component"] for c in p["components"]} for p in data["profile"]["components"]}
    assert {"decode", "visible net"} <= labels["own"]  # the shipped net may find nothing in the tiny world
    assert {"decode", "completion net", "shape memory"} <= labels["given"]
