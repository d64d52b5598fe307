"""amodal.utils.decord_import: reading a video before building a model must not crash torch."""
import importlib.util
import subprocess
import sys

import numpy as np
import pytest

from amodal.data.synth.writer import write_mp4
from amodal.utils import decord_import

_NVIDIA_LIBS = importlib.util.find_spec("nvidia") is not None  # what decord preloads (torch's CUDA wheels)


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def test_reading_a_video_before_the_model_is_built_runs(tmp_path):
    """The API's natural order: open the video, then load the model (decord first inside amodal)."""
    rng = np.random.default_rng(0)
    write_mp4(rng.integers(0, 255, (4, 48, 64, 3), dtype=np.uint8), tmp_path, 0, 10)
    video = next((tmp_path / "videos").glob("*.mp4"))
    out = _run(
        "from amodal.data.readers import open_source\n"
        f"src = open_source({str(video)!r})\n"
        "from amodal.api import AmodalPredictor\n"
        "p = AmodalPredictor.from_pretrained()\n"
        "n = sum(1 for fr in src if p.step(fr.image) is not None)\n"
        "print('frames', n)\n")
    assert out.returncode == 0, out.stderr[-2000:]  # was a segmentation fault (-11)
    assert "frames 4" in out.stdout


@pytest.mark.skipif(not _NVIDIA_LIBS, reason="decord preloads nothing without the nvidia-* packages")
def test_decord_imported_first_by_the_user_is_a_clear_error():
    out = _run("import decord\n"
               "from amodal.api import AmodalPredictor\n"
               "from amodal.utils.decord_import import LibraryOrderError\n"
               "try:\n"
               "    AmodalPredictor.from_pretrained()\n"
               "except LibraryOrderError as exc:\n"
               "    print('refused:', exc)\n")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "refused: decord was imported before torch" in out.stdout


def test_order_is_read_from_sys_modules(monkeypatch):
    monkeypatch.setattr(decord_import, "_nvblas_loaded", lambda: True)
    modules = {k: v for k, v in sys.modules.items() if k not in ("torch", "decord")}
    monkeypatch.setattr(sys, "modules", dict(modules, torch=object(), decord=object()))
    assert not decord_import.decord_came_first()
    decord_import.check_blas_usable()
    monkeypatch.setattr(sys, "modules", dict(modules, decord=object(), torch=object()))
    assert decord_import.decord_came_first()
    with pytest.raises(decord_import.LibraryOrderError, match="import amodal's model API"):
        decord_import.check_blas_usable()
    monkeypatch.setattr(decord_import, "_nvblas_loaded", lambda: False)
    assert not decord_import.decord_came_first()  # harmless without libnvblas
    monkeypatch.setattr(sys, "modules", modules)
    assert not decord_import.decord_came_first()
