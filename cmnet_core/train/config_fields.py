"""One registry of the method and training settings: every `CMNetConfig` / `TrainConfig` field carries a `Setting`
(``dataclasses.field(metadata=...)``, written with `setting`) that says how it is shown — its help text, choices or
range, unit, CLI flag, group, and on which surfaces it appears:

``"cli"``     a flag of ``cmnet train`` / ``cmnet loso`` (`cmnet_core.train.options` builds them and turns the parsed
              values into config overrides with `cli_values`);
``"dialog"``  a widget in the training dialog (`app.training.dialog`): a model setting in its method box, a training
              setting in its Training box (both built from `registry`);
``"runs"``    a column of the runs table (`cmnet_core.train.run_index` reads it from config.json, `app.training.
              runs_table` shows it).

Adding a setting is one edit: the field with its `setting(...)` on the config dataclass. The presets stay where they
are (`cmnet_core.model.config.PRESET_FIELDS`, `cmnet_core.train.config.PRESET_TRAINING`); help texts name a field's
per-preset default from them (`default_text`).

No torch, so the ``cmnet`` argument parser stays fast. The config dataclasses declare their fields with
`cmnet_core.config_setting.setting` (re-exported here); this module reads them.
"""
from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from typing import Any

from ..config_setting import _KEY, GROUPS, SURFACES, Setting, setting
from ..model.config import PRESET_FIELDS
from .config import PRESET_TRAINING

#: config.json section of each registered dataclass.
SECTIONS = {"train_config": ("cmnet_core.train.config", "TrainConfig"),
            "model_config": ("cmnet_core.model.config", "CMNetConfig")}


@dataclass(frozen=True)
class Field:
    """One registered field: its config.json ``section``, ``name``, ``default`` and `Setting` (``how``)."""

    section: str
    name: str
    default: Any
    how: Setting

    @property
    def flag(self) -> str:
        """The CLI flag (``--image-size``)."""
        return self.how.flag or "--" + self.name.replace("_", "-")

    @property
    def dest(self) -> str:
        """The argparse destination of `flag` (``image_size``, ``frames`` for ``--frames``)."""
        return self.flag.lstrip("-").replace("-", "_")

    @property
    def label(self) -> str:
        """The dialog's row label."""
        return self.how.label or self.name

    @property
    def column(self) -> str:
        """The runs table's header."""
        return self.how.column or self.how.label or self.name

    def on(self, surface: str) -> bool:
        """Whether the field appears on ``surface``."""
        return surface in self.how.surfaces


def config_class(section: str):
    """The dataclass behind a config.json ``section`` (`SECTIONS`)."""
    from importlib import import_module

    module, name = SECTIONS[section]
    return getattr(import_module(module), name)


def fields_of(section: str) -> list[Field]:
    """Every field of the section's dataclass, in declaration order. Raises ``TypeError`` naming a field without
    a `Setting` (each field must say where it is shown, even when nowhere)."""
    cls = config_class(section)
    out = []
    for f in dataclasses.fields(cls):
        how = f.metadata.get(_KEY)
        if how is None:
            raise TypeError(f"{cls.__name__}.{f.name} has no Setting: declare it with "
                            "cmnet_core.config_setting.setting(default, help=..., surfaces=...)")
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        out.append(Field(section, f.name, default, how))
    return out


def registry(surface: str | None = None, group: str | None = None, section: str | None = None) -> list[Field]:
    """The registered fields (train_config's, then model_config's, each in declaration order), filtered by
    ``surface``, ``group`` and ``section``."""
    sections = [section] if section else list(SECTIONS)
    return [f for s in sections for f in fields_of(s)
            if (surface is None or f.on(surface)) and (group is None or f.how.group == group)]


def field(section: str, name: str) -> Field:
    """One registered field. Raises ``KeyError`` for an unknown one."""
    for f in fields_of(section):
        if f.name == name:
            return f
    raise KeyError(f"{section}.{name} is not a registered setting")


# ---- presets ------------------------------------------------------------------------------------------------
def preset_values(section: str, name: str) -> dict[str, Any]:
    """The value of field ``name`` in each named preset (`PRESET_FIELDS` / `PRESET_TRAINING`), by preset name."""
    presets = PRESET_FIELDS if section == "model_config" else PRESET_TRAINING
    default = field(section, name).default
    return {p: values.get(name, default) for p, values in presets.items()}


def _shown(value: Any) -> str:
    return " ".join(map(str, value)) if isinstance(value, (tuple, list)) else str(value)


def default_text(f: Field) -> str:
    """``"default 0.2"``, or when presets differ ``"default: the preset's, wrst for paper/fast, both for cpu"``."""
    values = preset_values(f.section, f.name)
    if len({repr(v) for v in values.values()}) == 1:
        return f"default {_shown(f.default if f.how.cli_default is None else f.how.cli_default)}"
    by_value: dict[str, list[str]] = {}
    for preset, v in values.items():
        by_value.setdefault(_shown(v), []).append(preset)
    return "default: the preset's, " + ", ".join(f"{v} for {'/'.join(p)}" for v, p in by_value.items())


def help_text(f: Field) -> str:
    """The ``--help`` text: the `Setting`'s help and, unless ``default_in_help`` is False, `default_text`."""
    return f"{f.how.help} ({default_text(f)})" if f.how.default_in_help else f.how.help


# ---- the command line ---------------------------------------------------------------------------------------
def add_arguments(group, fields: list[Field]) -> None:
    """Add one argparse option per field to ``group`` (an argparse parser or argument group): the type from the
    default's type, ``choices``, ``nargs`` for tuples, store-true for booleans, `help_text`."""
    for f in fields:
        kw: dict[str, Any] = {"help": help_text(f)}
        if isinstance(f.default, bool):
            # absent = None: the preset's / checkpoint's value stays. A switch that is on by default gets both
            # --x and --no-x (unless it declares its own negating flag), so it can be turned either way.
            both = f.default and not f.how.negate
            kw.update(action=argparse.BooleanOptionalAction if both else "store_true", default=None)
        else:
            if isinstance(f.default, tuple):
                kw.update(type=type(f.default[0]), nargs=len(f.default))
            elif f.default is not None and not isinstance(f.default, str):
                kw["type"] = type(f.default)
            if f.how.choices:
                kw["choices"] = f.how.choices
            if f.how.metavar:
                kw["metavar"] = f.how.metavar
            kw["default"] = f.default if f.how.cli_uses_default else f.how.cli_default
        group.add_argument(f.flag, **kw)


def cli_values(args, fields: list[Field]) -> dict[str, Any]:
    """``{field name: value}`` of the given fields' options in ``args`` that were set (None = not given; a
    store-true flag gives its boolean, negated for ``negate``; tuples as tuples)."""
    out = {}
    for f in fields:
        value = getattr(args, f.dest, None)
        if value is None:
            continue
        if f.how.negate:
            value = not value
        out[f.name] = tuple(value) if isinstance(value, list) else value
    return out


def cli_flags(values: dict[str, Any], fields: list[Field]) -> list[str]:
    """The command-line flags that set ``values`` (the inverse of `cli_values`; fields missing from ``values``
    are left out): floats as ``repr(float)``, tuples as one word per item, booleans as the bare flag when set."""
    out: list[str] = []
    for f in fields:
        if f.name not in values:
            continue
        value = values[f.name]
        if isinstance(f.default, bool):
            if f.default and not f.how.negate:                      # --x / --no-x
                out += [f.flag if value else "--no-" + f.flag[2:]]
            else:
                out += [f.flag] if bool(value) != f.how.negate else []
            continue
        items = value if isinstance(value, (tuple, list)) else [value]
        out += [f.flag, *(repr(float(v)) if isinstance(f.default if not isinstance(f.default, tuple) else
                                                      f.default[0], float) else str(v) for v in items)]
    return out


def config_options() -> dict[str, str]:
    """``{"section.field": flag}`` of every CLI setting, for messages naming what differs between two runs."""
    return {f"{f.section}.{f.name}": f.flag for f in registry("cli")}


__all__ = ["Setting", "Field", "setting", "registry", "field", "fields_of", "config_class", "add_arguments",
           "cli_values", "cli_flags", "config_options", "default_text", "help_text", "preset_values", "SURFACES",
           "GROUPS", "SECTIONS"]
