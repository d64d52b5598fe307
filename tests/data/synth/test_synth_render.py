"""Exactness, determinism and event coverage of the synthetic renderer."""
from __future__ import annotations

import numpy as np

from amodal.data.synth.generator import draw_scene, generate_video, video_rng
from amodal.data.synth.render import coverage_mask, image_polygons, rasterise, render_scene


def test_same_seed_same_video_other_index_differs(tiny_cfg):
    a = generate_video(tiny_cfg, 5, 2)
    b = generate_video(tiny_cfg, 5, 2)
    assert np.array_equal(a.frames, b.frames)
    assert np.array_equal(a.visible, b.visible) and np.array_equal(a.amodal, b.amodal)
    c = generate_video(tiny_cfg, 5, 3)
    d = generate_video(tiny_cfg, 6, 2)
    assert not np.array_equal(a.frames, c.frames)
    assert not np.array_equal(a.frames, d.frames)


def test_masks_are_exact_layers(tiny_cfg):
    for index in range(4):
        v = generate_video(tiny_cfg, 11, index)
        n, t, h, w = v.visible.shape
        assert v.frames.shape == (t, h, w, 3) and v.frames.dtype == np.uint8
        assert t == 6 and (h, w) == (48, 64)
        # Visible masks never overlap, and each lies inside its amodal mask.
        assert (v.visible.sum(0) <= 1).all()
        assert not (v.visible & ~v.amodal).any()
        # What an object hides of another is covered by the front object's amodal mask.
        for k in range(n):
            hidden = v.amodal[k] & ~v.visible[k]
            for tt in range(t):
                front = [j for j in range(n) if v.depth_rank[tt, j] > v.depth_rank[tt, k]]
                cover = v.amodal[front, tt].any(0) if front else np.zeros((h, w), bool)
                # Unannotated scenery could also hide; the default config annotates occluders.
                assert not (hidden[tt] & ~cover).any()


def test_flat_colours_match_owner_texture(flat_cfg):
    for index in range(3):
        scene = draw_scene(flat_cfg, video_rng(3, index))
        video = render_scene(scene)
        annotated = [o for o in scene.objects if o.annotated]
        bg = scene.background[0, 0]
        assert np.allclose(scene.background, bg)
        frames = video.frames.astype(int)
        for t in range(flat_cfg.frames):
            covered = np.zeros(frames.shape[1:3], bool)
            for k, obj in enumerate(annotated):
                m = video.visible[k, t]
                covered |= m
                if m.any():
                    colour = np.floor(obj.texture[0, 0] + 0.5).astype(int)
                    assert np.abs(frames[t][m] - colour).max() <= 1, (index, t, k)
            # Pixels owned by no object show the background colour (so masks are complete).
            assert np.abs(frames[t][~covered] - np.floor(bg + 0.5)).max() <= 1


def test_depth_swaps_only_between_separated_objects(make_config):
    cfg = make_config("tiny", frames=12, motion={"depth_swap_prob": 1.0}, occluders={"count": [0, 0]},
                      objects={"count": [4, 5]})
    swaps = 0
    for index in range(3):
        v = generate_video(cfg, 2, index)
        assert (v.visible.sum(0) <= 1).all() and not (v.visible & ~v.amodal).any()
        for t in range(1, cfg.frames):
            changed = np.flatnonzero(v.depth_rank[t] != v.depth_rank[t - 1])
            if changed.size:
                swaps += 1
                a, b = changed
                assert not (v.amodal[a, t] & v.amodal[b, t]).any()
    assert swaps > 0


def test_fully_hidden_object_exists(make_config):
    # A wide post in front of the middle of the frame; small, slow objects walk behind it.
    cfg = make_config("tiny", frames=10, objects={"count": [3, 3], "size": [0.07, 0.1], "enter_prob": 0.0},
                      occluders={"count": [1, 1], "kinds": {"bar": 1.0}, "bar_width": [0.8, 0.9],
                                 "front_prob": 1.0},
                      motion={"speed": [0.01, 0.03]}, camera={"prob": 0.0})
    found = 0
    for index in range(4):
        v = generate_video(cfg, 1, index)
        for k in range(len(v.category_ids)):
            hidden = ~v.visible[k].any((1, 2)) & v.amodal[k].any((1, 2))
            found += int(hidden.sum())
    assert found > 0


def test_amodal_is_full_silhouette_clipped_and_empty_only_outside(make_config):
    cfg = make_config("tiny", frames=24, objects={"count": [3, 3], "size": [0.1, 0.15], "enter_prob": 0.0},
                      occluders={"count": [0, 0]},
                      motion={"speed": [0.08, 0.1], "margin": 0.4, "turn_prob": 0.0})
    pad = 200
    reentries = outside = 0
    for index in range(3):
        scene = draw_scene(cfg, video_rng(4, index))
        v = render_scene(scene)
        h, w = v.frames.shape[1:3]
        for k, obj in enumerate(scene.objects):
            present = v.amodal[k].any((1, 2))
            for t in range(cfg.frames):
                _, polys = image_polygons(obj, scene.cameras[t], t)
                # The silhouette rasterised on a much larger canvas, then cropped to the frame.
                full = coverage_mask(rasterise(polys, (-pad, -pad), (h + 2 * pad, w + 2 * pad), True))
                assert np.array_equal(full[pad:pad + h, pad:pad + w], v.amodal[k, t]), (index, k, t)
                if not present[t]:
                    outside += 1
                    assert full.any()  # the object still exists, just outside the frame
                    assert not v.visible[k, t].any()
            idx = np.flatnonzero(present)
            if idx.size and (np.diff(idx) > 1).any():
                reentries += 1
    assert outside > 0 and reentries > 0


def test_unannotated_occluders_are_scenery(make_config):
    cfg = make_config("tiny", occluders={"count": [2, 2], "annotated": False, "front_prob": 1.0})
    v = generate_video(cfg, 8, 0)
    assert 11 not in v.category_ids and len(v.category_ids) >= 3
    assert (v.visible.sum(0) <= 1).all() and not (v.visible & ~v.amodal).any()
    with_occ = generate_video(make_config("tiny", occluders={"count": [2, 2], "front_prob": 1.0}), 8, 0)
    assert with_occ.category_ids.count(11) == 2


def test_shifted_world_renders(make_config):
    from pathlib import Path

    from amodal.data.synth.config import load_synth_config, replace_size

    root = Path(__file__).resolve().parents[3]
    cfg = replace_size(load_synth_config(root / "configs/synth/shifted.yaml"), 64, 48, 4)
    v = generate_video(cfg, 0, 0)
    assert v.frames.shape == (4, 48, 64, 3) and len(v.category_ids) >= 3
    assert (v.visible.sum(0) <= 1).all() and not (v.visible & ~v.amodal).any()
