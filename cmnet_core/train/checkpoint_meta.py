"""`CheckpointMeta`: the typed, validated metadata of a CMNet checkpoint (no torch import).

A checkpoint (`cmnet_core.train.checkpoint`) stores its metadata as JSON text. Every checkpoint the project writes
passes through `CheckpointMeta.from_dict` (so an inconsistent one is never written) and every checkpoint read does
too (so an inconsistent one is refused with a `CheckpointError` naming the file, the field and what to do).

Keys this class does not name (older or newer checkpoints, the demo's ``demo_recipe`` …) are kept in ``extra`` and
written back unchanged. ``to_dict`` leaves out empty and default values (``synthetic: False``, empty ``metrics``),
so a round trip keeps every value that says something, not necessarily every key.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

#: metadata keys every CMNet checkpoint carries.
REQUIRED_KEYS = ("labels", "image_size", "num_frames", "preprocess", "model_config")
#: Allowed values of the preprocessing settings checked on load (`cmnet_core.preprocess.types.BACKENDS`,
#: `cmnet_core.preprocess.apex.APEX_MODES`; repeated so this module imports neither numpy nor OpenCV).
PREPROCESS_CHOICES = {"landmarks": ("auto", "fan", "mtcnn", "hint", "none"), "interpolation": ("tim", "linear"),
                      "apex_mode": ("annotated", "spotting", "midpoint")}


class CheckpointError(Exception):
    """A checkpoint cannot be used: unreadable, unsafe, not a CMNet checkpoint, or not fitting the data/model."""


@dataclass
class CheckpointMeta:
    """What a CMNet checkpoint says about itself.

    labels : class names, index = class id.
    image_size : side S of the square face crops the model reads, pixels.
    num_frames : N, frames per clip after temporal normalisation.
    preprocess : `PreprocessSettings` as a dict (``image_size``, ``num_frames``, ``margin``, ``landmarks``,
        ``interpolation``, ``apex_mode``); `settings` builds the object.
    model_config : `CMNetConfig` as a dict (`model` builds it).
    train_config : `TrainConfig` as a dict, or None (not recorded).
    database, protocol : the training database's name and label protocol (None when unknown).
    metrics : scores recorded with the model, by scope: ``{"held_out": {...}}`` (subjects/clips never trained on),
        ``{"validation": {...}}`` (the validation subjects of ``--selection val``, which chose the epoch), or the
        demo's flat ``{"held-out accuracy": 1.0, ...}``; empty when nothing unseen was scored.
    code_version, date : ``git describe`` / package version and ISO time of writing (filled in by
        `cmnet_core.train.checkpoint.save_checkpoint`).
    synthetic : trained on a synthetic database (the app warns that it is not for real data).
    seed, epoch, selection, history : the training seed, the epoch of these weights, ``"fixed"``/``"val"`` and the
        per-epoch losses/scores (None / [] when not recorded).
    run, fold : the run folder and LOSO fold it was written by (None outside runs / folds).
    fine_tuned_from, new_head : the checkpoint fine-tuned from (None for a fresh model) and whether the classifier
        head was re-initialised.
    train_subjects : subjects trained on (None when not recorded).
    apex_sources : how many training clips took their apex from each source.
    extra : every other key, kept as read (e.g. the demo's ``demo_recipe``, ``metrics_note``).
    """

    labels: list[str]
    image_size: int
    num_frames: int
    preprocess: dict
    model_config: dict
    train_config: dict | None = None
    database: str | None = None
    protocol: str | None = None
    metrics: dict = field(default_factory=dict)
    code_version: str | None = None
    date: str | None = None
    synthetic: bool = False
    seed: int | None = None
    epoch: int | None = None
    selection: str | None = None
    history: list = field(default_factory=list)
    run: str | None = None
    fold: str | None = None
    fine_tuned_from: str | None = None
    new_head: bool | None = None
    train_subjects: list | None = None
    apex_sources: dict | None = None
    extra: dict = field(default_factory=dict)

    # ---- conversion ---------------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict, source: str | None = None) -> "CheckpointMeta":
        """The metadata of a checkpoint from its JSON dict, validated (`validate`).

        source : the file it came from, named in every message (default "checkpoint").
        Raises `CheckpointError` for missing `REQUIRED_KEYS` or settings that do not fit together.
        """
        where = str(source) if source else "checkpoint"
        if not isinstance(data, dict):
            raise CheckpointError(f"{where}: the checkpoint metadata is not a JSON object; re-save it with cmnet")
        missing = [k for k in REQUIRED_KEYS if k not in data]
        if missing:
            raise CheckpointError(f"{where}: checkpoint metadata lacks {', '.join(missing)}; it was not written by "
                                  "cmnet train / cmnet loso (re-train or re-save it with cmnet)")
        names = {f.name for f in fields(cls)} - {"extra"}
        known = {k: v for k, v in data.items() if k in names}
        extra = {k: v for k, v in data.items() if k not in names}
        if known.get("metrics") is None:
            known.pop("metrics", None)
        if known.get("history") is None:
            known.pop("history", None)
        meta = cls(**known, extra=extra)
        meta.labels = list(meta.labels)
        meta.validate(where)
        return meta

    def to_dict(self) -> dict:
        """JSON-safe dict as stored in the checkpoint: every named field that is set (None, ``False`` for
        ``synthetic``, empty ``metrics``/``history`` left out), then ``extra``."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if f.name in REQUIRED_KEYS or not (value is None or (f.name == "synthetic" and value is False)
                                               or (f.name in ("metrics", "history") and not value)):
                out[f.name] = value
        return {**out, **self.extra}

    # ---- validation -----------------------------------------------------------------------------------------
    def validate(self, where: str = "checkpoint") -> None:
        """Refuse metadata whose parts disagree: input size and N of ``preprocess`` / ``model_config`` against
        ``image_size`` / ``num_frames``, unknown landmark / interpolation / apex settings, no labels.

        Raises `CheckpointError` naming ``where`` (the file), the field, and what to do.
        """
        fix = ("the file is inconsistent (edited by hand, or written by another tool): retrain it with cmnet "
               "train, or re-save it with cmnet so that its settings agree")
        if not self.labels or not all(isinstance(x, str) for x in self.labels):
            raise CheckpointError(f"{where}: metadata field labels is {self.labels!r}; it must list the class "
                                  f"names; {fix}")
        for name, low in (("image_size", 16), ("num_frames", 2)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise CheckpointError(f"{where}: metadata field {name} is {value!r}; it must be a whole number "
                                      f">= {low}; {fix}")
        if not isinstance(self.preprocess, dict) or not isinstance(self.model_config, dict):
            raise CheckpointError(f"{where}: metadata fields preprocess and model_config must be JSON objects; {fix}")
        unit = {"image_size": " px", "num_frames": " frames"}
        for section in ("preprocess", "model_config"):
            values = getattr(self, section)
            for name in ("image_size", "num_frames"):
                if name in values and values[name] != getattr(self, name):
                    raise CheckpointError(
                        f"{where}: {section}.{name} is {values[name]}{unit[name]} but the model reads "
                        f"{getattr(self, name)}{unit[name]} ({name}); preprocessing must produce what the model "
                        f"was trained on, so the checkpoint cannot be used: {fix}")
        for name, choices in PREPROCESS_CHOICES.items():
            if name in self.preprocess and self.preprocess[name] not in choices:
                raise CheckpointError(f"{where}: preprocess.{name} is {self.preprocess[name]!r}, not one of "
                                      f"{', '.join(choices)}; {fix}")

    # ---- typed views ----------------------------------------------------------------------------------------
    def model(self):
        """The `CMNetConfig` (raises `CheckpointError` when the dict is not understood)."""
        from cmnet_core.model.config import CMNetConfig

        try:
            return CMNetConfig.from_dict(self.model_config)
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"the checkpoint's model_config is not understood: {exc}") from exc

    def settings(self):
        """The `PreprocessSettings` (raises `CheckpointError` for unknown keys)."""
        from cmnet_core.preprocess.types import PreprocessSettings

        try:
            return PreprocessSettings(**self.preprocess)
        except TypeError as exc:
            raise CheckpointError(f"the checkpoint's preprocess settings are not understood: {exc}") from exc

    @property
    def is_demo(self) -> bool:
        """The app's built-in synthetic demo model (`cmnet_core.demo`; it records ``demo_recipe``/``demo_seed``)."""
        return bool(self.extra.get("demo_recipe")) or self.extra.get("demo_seed") is not None

    def scored_metrics(self) -> list[tuple[str, dict]]:
        """``(scope, scores)`` pairs of ``metrics`` in display order: ``held_out``, ``validation``, then any other
        nested scope; a flat dict (the demo's) is one pair with scope ``""``."""
        m = self.metrics if isinstance(self.metrics, dict) else {}
        nested = [(k, v) for k, v in m.items() if isinstance(v, dict)]
        flat = {k: v for k, v in m.items() if not isinstance(v, dict)}
        order = {"held_out": 0, "validation": 1}
        nested.sort(key=lambda kv: order.get(kv[0], 2))
        return nested + ([("", flat)] if flat else [])


__all__ = ["CheckpointMeta", "CheckpointError", "REQUIRED_KEYS"]
