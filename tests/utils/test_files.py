"""Atomic writes keep ordinary permissions and never leave temporary files."""
import os
import stat

from amodal.utils.files import atomic_write_text


def test_atomic_write_uses_umask_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        target = tmp_path / "out.json"
        atomic_write_text(target, "{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert target.read_text() == "{}"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
