"""tools/collect_photos.py: package sample photos copied into one folder the generator can read."""
import cv2
import numpy as np

from amodal.data.synth.photos import load_photos
from amodal_fixtures import load_tool


def _fake_package(root, monkeypatch, tool):
    """A package folder with one photo and one file that is not listed; SOURCES points at it."""
    data = root / "pkg" / "data"
    data.mkdir(parents=True)
    cv2.imwrite(str(data / "cat.png"), np.full((40, 50, 3), 90, np.uint8))
    (data / "chart.png").write_bytes(b"unlisted")
    monkeypatch.setattr(tool, "SOURCES", (("pkg", "data", ("cat.png", "dog.png")),))
    monkeypatch.syspath_prepend(str(root))
    (root / "pkg" / "__init__.py").write_text("")


def test_listed_photos_are_copied_and_readable(tmp_path, monkeypatch):
    tool = load_tool("collect_photos")
    _fake_package(tmp_path, monkeypatch, tool)
    out = tmp_path / "photos"
    assert tool.main([str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["pkg_cat.png"]  # dog.png absent, chart.png not listed
    assert len(load_photos(str(out))) == 1
    assert tool.main([str(out)]) == 0  # again: the copy is kept


def test_no_photos_is_a_clear_error(tmp_path, monkeypatch, capsys):
    tool = load_tool("collect_photos")
    monkeypatch.setattr(tool, "SOURCES", (("no_such_package_here", "data", ("x.png",)),))
    assert tool.main([str(tmp_path / "photos")]) == 2
    assert "scikit-image" in capsys.readouterr().err
    assert tool.main([]) == 2
