"""The "photo" texture kind: crops of a folder of photographs as object and background textures."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from amodal.data.synth.generator import generate_video
from amodal.data.synth.photos import load_photos, photo_texture
from amodal.errors import ConfigError


def _photo_folder(root: Path) -> Path:
    """Two small photographs: a red-to-blue ramp and a green checkerboard (BGR files)."""
    folder = root / "photos"
    folder.mkdir()
    ramp = np.zeros((60, 80, 3), np.uint8)
    ramp[..., 2] = np.linspace(0, 255, 80, dtype=np.uint8)[None, :]
    ramp[..., 0] = 255 - ramp[..., 2]
    cv2.imwrite(str(folder / "a_ramp.png"), ramp)
    board = (np.indices((64, 64)).sum(0) // 8 % 2 * 200).astype(np.uint8)
    cv2.imwrite(str(folder / "b_board.jpg"), np.stack([board * 0, board, board * 0], -1))
    (folder / "notes.txt").write_text("not a photo")
    return folder


def test_photo_texture_is_a_deterministic_crop(tmp_path):
    folder = str(_photo_folder(tmp_path))
    assert len(load_photos(folder)) == 2  # the .txt file is not a photo
    a = photo_texture(folder, np.random.default_rng(3), 20, 30, (0.2, 0.8))
    b = photo_texture(folder, np.random.default_rng(3), 20, 30, (0.2, 0.8))
    assert a.shape == (20, 30, 3) and a.dtype == np.float32
    assert np.array_equal(a, b) and 0 <= a.min() and a.max() <= 255
    many = [photo_texture(folder, np.random.default_rng(s), 20, 30, (0.2, 0.8)) for s in range(12)]
    assert len({m.tobytes() for m in many}) == 12
    assert max(float(m.std()) for m in many) > 10  # the photos' structure comes through


def test_photo_needs_a_folder_of_images(tmp_path, make_config):
    textures = {"textures": {"photo": 1.0}}
    with pytest.raises(ConfigError, match="photos"):
        make_config("tiny", objects=textures)
    with pytest.raises(ConfigError, match="not found"):
        make_config("tiny", background=textures, photos=str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no images"):
        make_config("tiny", background=textures, photos=str(tmp_path / "empty"))
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.png").write_bytes(b"not a png")
    with pytest.raises(ConfigError, match="readable"):
        make_config("tiny", objects=textures, photos=str(bad))


def test_photo_world_renders_exact_masks(tmp_path, make_config):
    folder = str(_photo_folder(tmp_path))
    cfg = make_config("flat", photos=folder, objects={"textures": {"photo": 1.0}}, background={"textures": {"photo": 1.0}})
    v = generate_video(cfg, 4, 0)
    assert np.array_equal(v.frames, generate_video(cfg, 4, 0).frames)
    assert (v.visible.sum(0) <= 1).all() and not (v.visible & ~v.amodal).any()
    flat = generate_video(make_config("flat"), 4, 0)
    # Same layout draws up to the textures, but the photo world's pixels are not flat colours.
    background = ~v.visible.any(0)[0]
    assert float(v.frames[0][background].std(0).max()) > float(flat.frames[0][~flat.visible.any(0)[0]].std(0).max())


def test_default_world_has_no_photos(make_config):
    assert make_config("tiny").photos == ""


def test_shipped_synth_configs_load(tmp_path):
    """Every configs/synth/*.yaml is a valid generator config (photo.yaml given a photo folder)."""
    import yaml

    from amodal.data.synth.config import synth_config_from_dict

    root = Path(__file__).resolve().parents[3] / "configs" / "synth"
    folder = str(_photo_folder(tmp_path))
    paths = sorted(root.glob("*.yaml"))
    assert {"default.yaml", "photo.yaml", "shifted.yaml"} <= {p.name for p in paths}
    for path in paths:
        values = yaml.safe_load(path.read_text()) or {}
        if "photos" in values:
            values["photos"] = folder
        cfg = synth_config_from_dict(values, str(path))
        assert (cfg.photos == folder) == (path.name == "photo.yaml")
