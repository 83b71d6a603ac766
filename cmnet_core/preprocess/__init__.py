"""Preprocessing: face crop and alignment, temporal normalisation to N frames, apex, on-disk cache.

Main entry points: `preprocess_clip`, `preprocess_database`, `PreprocessCache`, `PreprocessSettings`.
They are imported on first use (PEP 562), so light submodules (`apex`, `temporal`, `types`, `errors`)
load without the face detectors and torch.
"""
from importlib import import_module

_EXPORTS = {"PreprocessCache": "cache", "default_cache_dir": "cache", "ModelFilesMissingError": "errors",
            "NoFaceError": "errors", "PreprocessError": "errors", "ClipOutcome": "pipeline",
            "preprocess_clip": "pipeline", "preprocess_database": "pipeline", "PreprocessedClip": "types",
            "PreprocessSettings": "types"}

__all__ = ["ClipOutcome", "ModelFilesMissingError", "NoFaceError", "PreprocessCache", "PreprocessError",
           "PreprocessSettings", "PreprocessedClip", "default_cache_dir", "preprocess_clip", "preprocess_database"]


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
