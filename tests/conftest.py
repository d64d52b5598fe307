"""Shared pytest fixtures: tiny shapes, CPU only, deterministic."""
import os

os.environ.setdefault("OMP_NUM_THREADS", "2")
