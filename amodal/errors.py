"""Exception types of `amodal`.

Every error a user can cause (bad file, bad argument, bad checkpoint) is an `AmodalError`
subclass with a message that names the problem; the CLI prints it as one line and exits
non-zero. Anything else is a bug.
"""
from __future__ import annotations


class AmodalError(Exception):
    """Base class of all user-facing errors."""


class VideoReadError(AmodalError):
    """A video, frame folder, image or live source cannot be read (names the file)."""


class FormatError(AmodalError):
    """An annotation or prediction file is malformed (names the file and the key)."""


class CheckpointError(AmodalError):
    """A checkpoint is unsafe, of another format version, or has missing/unexpected keys."""


class ConfigError(AmodalError):
    """A config file or `--set key=value` override is invalid."""


class InputError(AmodalError):
    """Bad input to the Python API (wrong dtype, channels, size changing mid-stream, ...)."""


class OutputExistsError(AmodalError):
    """An output folder exists and `--overwrite` was not given."""


class TrainingError(AmodalError):
    """Training cannot go on (loss became NaN/inf, a data worker died, ...)."""


class OutputWriteError(AmodalError):
    """A result file cannot be written (disk full, permission denied, ...); names the file."""


class LibraryOrderError(AmodalError):
    """decord was imported before torch where that breaks torch (see `amodal.utils.decord_import`)."""
