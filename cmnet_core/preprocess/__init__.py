"""Preprocessing: face crop and alignment, temporal normalisation to N frames, apex, on-disk cache.

Main entry points: `preprocess_clip`, `preprocess_database`, `PreprocessCache`, `PreprocessSettings`.
"""
from .cache import PreprocessCache, default_cache_dir
from .errors import ModelFilesMissingError, NoFaceError, PreprocessError
from .pipeline import ClipOutcome, preprocess_clip, preprocess_database
from .types import PreprocessedClip, PreprocessSettings

__all__ = ["ClipOutcome", "ModelFilesMissingError", "NoFaceError", "PreprocessCache", "PreprocessError",
           "PreprocessSettings", "PreprocessedClip", "default_cache_dir", "preprocess_clip", "preprocess_database"]
