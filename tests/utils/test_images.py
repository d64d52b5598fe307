"""check_rgb: what every entry point accepts as an image, and the message it gives otherwise."""
import numpy as np
import pytest

from amodal.errors import InputError
from amodal.utils.images import check_rgb


def test_an_rgb_uint8_image_passes():
    check_rgb(np.zeros((4, 5, 3), np.uint8))


@pytest.mark.parametrize("bad, desc", [
    (np.zeros((4, 5, 3), np.float32), "float32 (4, 5, 3)"),
    (np.zeros((4, 5), np.uint8), "uint8 (4, 5)"),
    (np.zeros((4, 5, 4), np.uint8), "uint8 (4, 5, 4)"),
    ([[0, 1]], "list"),
])
def test_anything_else_is_named_in_the_error(bad, desc):
    with pytest.raises(InputError, match=r"frame 2: expected an RGB uint8 image \(H, W, 3\), got " + desc.replace("(", r"\(").replace(")", r"\)")):
        check_rgb(bad, "frame 2")
