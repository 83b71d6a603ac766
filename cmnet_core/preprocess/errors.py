"""Errors raised by preprocessing; every message names the file (and frame) and what to do."""
from __future__ import annotations


class PreprocessError(Exception):
    """A clip cannot be preprocessed (bad settings, bad span, unusable frames)."""


class NoFaceError(PreprocessError):
    """No face was found where one is needed (the reference frame and every frame searched after it)."""


class ModelFilesMissingError(PreprocessError):
    """A landmark model's weight files are not on disk (nothing is ever downloaded at run time)."""
