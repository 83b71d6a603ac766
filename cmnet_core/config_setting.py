"""How a config field is shown: the `Setting` each `CMNetConfig` / `TrainConfig` field carries, declared with
`setting` (``dataclasses.field(metadata=...)``). The registry that reads them — CLI flags, dialog widgets,
runs-table columns — is `cmnet_core.train.config_fields`; this module is what the config dataclasses import (no torch,
nothing of the project), so the registry can import the configs without a circle.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

#: The surfaces a setting can appear on.
SURFACES = ("cli", "dialog", "runs")
#: Groups: ``"model"`` (the network's shape: sizes, backbone; fixed by a checkpoint when fine-tuning), ``"method"``
#: (loss and input settings; a flag replaces a checkpoint's value with ``--from``), ``"training"`` (`TrainConfig`).
GROUPS = ("model", "method", "training")
_KEY = "cmnet_setting"


@dataclass(frozen=True)
class Setting:
    """How one config field is shown. Only ``help`` is required.

    help : one sentence for ``--help`` and the dialog's tooltip (the default is appended by `default_text`
        unless ``default_in_help`` is False).
    label : the dialog's row label / the runs table's column header (default: the field name).
    column : the runs table's header when it differs from ``label`` (e.g. ``"px"``).
    flag : the CLI flag (default ``--`` + the name with dashes); ``negate``: a store-true flag that sets the
        field to False (``--no-amp``).
    choices : allowed values (a combo box in the dialog, ``choices=`` on the CLI); ``choice_text``: how the dialog
        names each one.
    range : ``(low, high)`` of the dialog's spin box; ``decimals``, ``step``: its precision and step.
    unit : shown after values (``"px"``, ``"frames"``, ``"epochs"``); ``parts``: names of a tuple's items in the
        dialog (``("λ1", "λ2", "λ3")``), ``metavar``: on the CLI.
    group : one of `GROUPS`. surfaces : a subset of `SURFACES`.
    cli_default : the argparse default (None: "not given", the preset's or the checkpoint's value is used);
        ``cli_uses_default``: the field's own default instead.
    only : ``"loso"`` for a flag only ``cmnet loso`` has (``--oracle``).
    """

    help: str
    label: str = ""
    column: str = ""
    flag: str = ""
    negate: bool = False
    choices: tuple | None = None
    choice_text: dict | None = None
    range: tuple[float, float] | None = None
    decimals: int = 3
    step: float = 0.01
    unit: str = ""
    parts: tuple[str, ...] = ()
    metavar: tuple[str, ...] | str | None = None
    group: str = "method"
    surfaces: tuple[str, ...] = ()
    cli_default: Any = None
    cli_uses_default: bool = False
    only: str = ""
    default_in_help: bool = True

    def __post_init__(self) -> None:
        if self.group not in GROUPS:
            raise ValueError(f"Setting.group {self.group!r}: choose one of {GROUPS}")
        unknown = set(self.surfaces) - set(SURFACES)
        if unknown:
            raise ValueError(f"Setting.surfaces {sorted(unknown)}: choose from {SURFACES}")


def setting(default: Any = dataclasses.MISSING, *, default_factory: Any = dataclasses.MISSING, **how: Any):
    """A dataclass field with its `Setting`: ``x: float = setting(0.5, help="...", surfaces=("cli",))``.

    ``how`` are `Setting`'s fields. Raises ``ValueError`` for an unknown group or surface.
    """
    meta = {_KEY: Setting(**how)}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


__all__ = ["GROUPS", "SURFACES", "Setting", "setting"]
