"""Training killed with SIGKILL mid-run resumes from its last checkpoint and ends where an
uninterrupted run with the same seed ends (bit for bit)."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from amodal.engine.checkpoint import load_checkpoint
from amodal_fixtures import make_dataset

ROOT = Path(__file__).resolve().parents[2]
STEPS = 30


def _train_cmd(data: Path, run: Path, *extra: str):
    sets = [f"data.train={data}", f"data.val={data}", f"train.steps={STEPS}", "train.ckpt_every=1",
            "train.val_every=0", "train.log_every=1"]
    cmd = [sys.executable, "-m", "amodal", "train", "--config", str(ROOT / "configs" / "tiny.yaml"), "--out", str(run),
           "--quiet"]
    for s in sets:
        cmd += ["--set", s]
    return cmd + list(extra)


def _env():
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def _checkpoint_step(path: Path) -> int:
    try:
        return int(load_checkpoint(path)["step"])
    except Exception:  # not written yet
        return -1


def test_sigkill_then_resume_matches_uninterrupted_run(tmp_path):
    data = make_dataset(tmp_path / "d", videos=2, frames=5)
    straight = tmp_path / "straight"
    subprocess.run(_train_cmd(data, straight), env=_env(), check=True, capture_output=True, timeout=300)

    run = tmp_path / "killed"
    proc = subprocess.Popen(_train_cmd(data, run), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while _checkpoint_step(run / "last.pt") < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "training ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    killed_at = _checkpoint_step(run / "last.pt")
    assert 3 <= killed_at < STEPS  # the last good checkpoint survived the kill intact
    assert not (run / "model.pt").exists()

    resumed = subprocess.run(_train_cmd(data, run, "--resume"), env=_env(), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    a = load_checkpoint(straight / "model.pt")["model"]
    b = load_checkpoint(run / "model.pt")["model"]
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def _children(pid: int):
    kids = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids += [int(x) for x in (task / "children").read_text().split()]
        except OSError:
            pass
    return kids


def test_dead_data_worker_is_reported_not_hung_on(tmp_path):
    data = make_dataset(tmp_path / "d", videos=2, frames=5)
    cmd = _train_cmd(data, tmp_path / "run", "--set", "data.num_workers=1", "--set", "train.steps=100000")
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while _checkpoint_step(tmp_path / "run" / "last.pt") < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = [k for k in _children(proc.pid) if "spawn_main" in Path(f"/proc/{k}/cmdline").read_text(errors="ignore")]
    assert workers, "no data-loader worker found"
    for k in workers:
        os.kill(k, signal.SIGKILL)
    try:
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "data-loader worker died" in lines[0], err
