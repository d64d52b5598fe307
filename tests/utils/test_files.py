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


def test_an_output_folder_is_undone_when_the_command_fails(tmp_path):
    from amodal.utils.files import output_dir_undone_on_error

    made = tmp_path / "new"
    with pytest.raises(ValueError):
        with output_dir_undone_on_error(made) as folder:
            (folder.path / "part.json").write_text("{")
            (folder.path / "masks").mkdir()
            raise ValueError("bad input")
    assert not made.exists()  # made by the call: gone, so the same command runs again
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError):
        with output_dir_undone_on_error(empty):
            (empty / "part.json").write_text("{")
            raise ValueError
    assert empty.is_dir() and not any(empty.iterdir())  # the user's empty folder stays
    full = tmp_path / "full"
    full.mkdir()
    (full / "old.json").write_text("old")
    with pytest.raises(ValueError):
        with output_dir_undone_on_error(full, overwrite=True):
            (full / "new.json").write_text("{")
            raise ValueError
    assert full.is_dir() and not any(full.iterdir())
    with output_dir_undone_on_error(made) as folder:  # success: everything stays
        (folder.path / "done.json").write_text("{}")
    assert (made / "done.json").is_file()


@pytest.mark.parametrize("how", ["keep", "interrupt"])
def test_kept_or_interrupted_output_stays(tmp_path, how):
    from amodal.utils.files import output_dir_undone_on_error

    error = ValueError if how == "keep" else KeyboardInterrupt
    with pytest.raises(error):
        with output_dir_undone_on_error(tmp_path / "live") as folder:
            (folder.path / "00000.png").write_bytes(b"frame")
            if how == "keep":
                folder.keep()  # e.g. a live stream's first frames: they cannot be made again
            raise error
    assert (tmp_path / "live" / "00000.png").is_file()
