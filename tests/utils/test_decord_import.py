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


@pytest.mark.skipif(not (_NVIDIA_LIBS and decord_import._cpu_build()), reason="needs decord's CPU build beside nvidia-*")
def test_a_cpu_build_is_imported_without_the_cuda_libraries(tmp_path):
    """decord's CPU build preloaded every nvidia-* library (~430 MB resident here); through amodal it loads none of
    them and still decodes."""
    rng = np.random.default_rng(0)
    write_mp4(rng.integers(0, 255, (3, 48, 64, 3), dtype=np.uint8), tmp_path, 0, 10)
    video = next((tmp_path / "videos").glob("*.mp4"))
    out = _run(
        "import importlib.util, torch\n"
        "def nvidia(): return sorted({l.split()[-1] for l in open('/proc/self/maps') if '/nvidia/' in l})\n"
        "with_torch = nvidia()\n"
        "from amodal.utils.decord_import import import_decord\n"
        "decord = import_decord()\n"
        "print('nvblas', any('libnvblas' in f for f in nvidia()), 'more', nvidia() != with_torch)\n"
        "print('restored', importlib.util.find_spec('nvidia') is not None)\n"
        f"print('frames', len(decord.VideoReader({str(video)!r})))\n")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "nvblas False more False" in out.stdout and "restored True" in out.stdout and "frames 3" in out.stdout


@pytest.mark.parametrize("content, cpu", [(b"\x7fELF avformat swscale", True), (b"\x7fELF libnvcuvid.so.1", False),
                                          (b"\x7fELF libcudart.so.13", False), (None, False)])
def test_only_a_library_naming_no_cuda_library_is_a_cpu_build(tmp_path, monkeypatch, content, cpu):
    if content is not None:
        (tmp_path / "libdecord.so").write_bytes(content)
    spec = importlib.util.spec_from_loader("decord", loader=None, is_package=True)
    spec.submodule_search_locations = [str(tmp_path)]
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, package=None: spec if name == "decord" else
                        real(name, package))
    assert decord_import._cpu_build() is cpu


def test_a_cuda_build_on_the_library_path_is_not_taken_for_a_cpu_build(tmp_path, monkeypatch):
    """decord loads a libdecord found through DECORD_LIBRARY_PATH / LD_LIBRARY_PATH before its own."""
    (tmp_path / "libdecord.so").write_bytes(b"\x7fELF libnvcuvid.so.1")
    monkeypatch.setenv("DECORD_LIBRARY_PATH", str(tmp_path))
    assert not decord_import._cpu_build()
    monkeypatch.delenv("DECORD_LIBRARY_PATH")
    monkeypatch.setenv("LD_LIBRARY_PATH", f"/nowhere:{tmp_path}")
    assert not decord_import._cpu_build()


def test_the_nvidia_packages_are_hidden_only_inside_the_import():
    real = importlib.util.find_spec
    with pytest.raises(RuntimeError):
        with decord_import._nvidia_packages_hidden():
            assert importlib.util.find_spec("nvidia") is None
            assert importlib.util.find_spec("numpy") is not None
            raise RuntimeError("an import failed")
    assert importlib.util.find_spec is real
