"""Shared converter pieces: RLE reading (`to_rle`, `FrameSize`) and typed look-ups."""
from __future__ import annotations

import numpy as np
import pytest

from amodal.data.converters.common import DatasetBuilder, FrameSize, index_by_id, require_int, to_rle
from amodal.errors import FormatError


def test_to_rle_non_ascii_bytes_counts():
    with pytest.raises(FormatError, match=r"^src: key 'a' 'VM': RLE 'counts' bytes are not ASCII$"):
        to_rle({"size": [2, 3], "counts": b"\xff\xfe"}, "src: key 'a' 'VM'")


@pytest.mark.parametrize("counts", ["0", b"1", ""])
def test_to_rle_counts_must_add_up_to_size(counts):
    with pytest.raises(FormatError, match=r"^src frame 0: RLE counts add up to \d+ pixels, size 6x8 has 48$"):
        to_rle({"size": [6, 8], "counts": counts}, "src frame 0")


def test_to_rle_accepts_every_spelling_of_a_valid_rle(coco):
    mask = np.zeros((4, 6), bool)
    mask[1:3, 2:5] = True
    enc = coco(mask)
    want = {"size": [4, 6], "counts": enc["counts"].decode()}
    runs = [9, 2, 2, 2, 2, 2, 5]  # column-major runs of `mask`
    for obj in (enc, [enc], {"size": "[4, 6]", "counts": want["counts"]},
                {"size": np.array([4, 6]), "counts": np.array(runs)}):
        assert to_rle(obj, "src", size=(4, 6)) == want


def test_frame_size_refuses_other_size_even_when_empty(coco):
    frame = FrameSize()
    frame.rle(coco(np.ones((4, 6), bool)), "src: first")
    empty = coco(np.zeros((5, 6), bool))  # empty: would vanish as null if not checked here
    with pytest.raises(FormatError, match=r"^src: second: RLE size is \[5, 6\], the video is 4x6"):
        frame.rle(empty, "src: second")
    with pytest.raises(FormatError, match=r"^src: given: RLE size is \[4, 6\], the video is 5x6"):
        FrameSize((5, 6)).rle(coco(np.zeros((4, 6), bool)), "src: given")


def test_typed_lookups_name_source_and_key():
    with pytest.raises(FormatError, match=r"^f\.json: images\[0\]: 'frame_index' must be an integer, got null$"):
        require_int({"frame_index": None}, "frame_index", "f.json: images[0]")
    with pytest.raises(FormatError, match=r"^f\.json: videos\[1\]: 'id' must be an integer, got a string$"):
        index_by_id([{"id": 1}, {"id": "s"}], "videos", "f.json")
    with pytest.raises(FormatError, match=r"^f\.json: videos\[1\]\.id 1 is a duplicate of videos\[0\]\.id$"):
        index_by_id([{"id": 1}, {"id": 1}], "videos", "f.json")


def test_builder_without_videos_is_nothing_to_convert():
    with pytest.raises(FormatError, match=r"^src\.pkl: nothing to convert"):
        DatasetBuilder("x").to_dict("src.pkl")
