"""Atomic writes keep ordinary permissions and never leave temporary files."""
import os
import stat

import pytest

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


def test_run_json_tool_prints_the_result_or_one_error_line(tmp_path, capsys):
    import json

    from amodal.errors import FormatError
    from amodal.utils.files import run_json_tool

    assert run_json_tool("t", lambda: {"a": 1}, tmp_path / "r.json") == 0
    assert json.loads(capsys.readouterr().out) == {"a": 1} == json.loads((tmp_path / "r.json").read_text())

    def bad():
        raise FormatError("broken input")

    assert run_json_tool("t", bad) == 2
    assert capsys.readouterr().err == "t: broken input\n"
    with pytest.raises(KeyError):  # a bug is not bad input: it is not swallowed
        run_json_tool("t", lambda: {}["x"])
