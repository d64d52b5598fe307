"""tools/memory_alignment.py: true amodal masks carried forward by the measured motions."""
import json

from amodal.data.format import load_dataset
from amodal_fixtures import load_tool, make_dataset


def test_motions_carry_moving_objects_better_than_leaving_them(tmp_path):
    tool = load_tool("memory_alignment")
    path = make_dataset(tmp_path / "d", videos=2, frames=8, size=(160, 120), objects=3, seed=3)
    ds = load_dataset(path, read_amodal=True)
    out = tool.alignment_scores(ds, width=160, preset="medium", lags=(1, 4))
    assert set(out) == {"lag 1", "lag 4"}
    lag4 = out["lag 4"]
    assert lag4["pairs"] > 0
    assert lag4["motion"] > lag4["none"] + 0.05  # the ellipses move ~3-5 px a frame
    assert lag4["centroid"] > lag4["none"]
    assert all(0.0 <= v <= 1.0 for r in out.values() for k, v in r.items() if k != "pairs")
    assert out["lag 1"]["pairs"] >= lag4["pairs"]  # fewer frames have a frame 4 before them


def test_cli_writes_json_and_refuses_bad_input(tmp_path, capsys):
    tool = load_tool("memory_alignment")
    path = make_dataset(tmp_path / "d", videos=1, frames=5, size=(96, 72))
    assert tool.main([str(path), "--lags", "1,2", "--json", str(tmp_path / "r.json")]) == 0
    assert set(json.loads((tmp_path / "r.json").read_text())) == {"lag 1", "lag 2"}
    for bad, message in ((["--preset", "slow"], "--preset"), (["--width", "8"], "--width"), (["--lags", "0"], "--lags")):
        assert tool.main([str(path)] + bad) == 2
        assert message in capsys.readouterr().err
    assert tool.main([str(tmp_path / "missing.json")]) == 2
