"""Shared pytest fixtures: tiny shapes, CPU only, deterministic."""
import os

os.environ.setdefault("OMP_NUM_THREADS", "2")

import pytest  # noqa: E402


@pytest.fixture
def keep_threads():
    """Restore torch's and OpenCV's thread counts after a test that changes them (process-wide settings)."""
    import cv2
    import torch

    saved = torch.get_num_threads(), cv2.getNumThreads()
    yield saved
    torch.set_num_threads(saved[0])
    cv2.setNumThreads(saved[1])
