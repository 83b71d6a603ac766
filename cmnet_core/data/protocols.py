"""Label protocols: which classes a study uses and how each database's emotion names map to them.

A protocol maps an emotion as coded in a database sheet (compared lower-case, trimmed) to one
class, or to None when the protocol leaves that emotion out (e.g. CASME II 5-class drops fear and
sadness). An emotion the table does not know is an error of the row (the adapter lists it as a
skip with the reason "unknown emotion").

Protocols (class order = class id):

- ``casme2-5``: disgust, happiness, repression, surprise, others (fear, sadness dropped) —
  the CMNet paper's CASME II protocol (246 clips in the 2014 sheet).
- ``samm-5``: anger, contempt, happiness, surprise, others (disgust, fear, sadness dropped) — the
  paper's SAMM protocol (136 rows in the v2 sheet).
- ``smic-3``: negative, positive, surprise (SMIC-HS, 164 clips).
- ``megc2019-3``: negative, positive, surprise over CASME II + SAMM + SMIC (MEGC 2019 composite):
  CASME II negative = disgust + repression, SAMM negative = anger + contempt + disgust + fear +
  sadness; happiness → positive; "others" dropped. The official composite ground truth
  (``megc2019_composite_3class_gt.csv``, see `cmnet_core.data.composite`) also leaves out two
  CASME II disgust clips (sub04/EP12_01f, sub05/EP09_05f): 88 negative, not 90.
- ``casme3-7``: anger, disgust, fear, happy, sad, surprise, others; ``casme3-4``: negative (anger,
  disgust, fear, sad), positive, surprise, others; ``casme3-3``: the same without others
  (CAS(ME)^3, Li et al. TPAMI 2022).
- ``as-is``: the generic adapter's default — every emotion found is its own class.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .database_types import DatabaseError


@dataclass(frozen=True)
class LabelProtocol:
    """A named set of classes and, per database, the emotion → class table.

    name : protocol name (``"casme2-5"``).
    labels : class names, index = class id.
    tables : database name → {emotion (lower-case) → class name or None (left out)}.
    default_for : databases whose adapter uses this protocol when none is asked for.
    """

    name: str
    labels: tuple[str, ...]
    tables: dict[str, dict[str, str | None]] = field(default_factory=dict)
    default_for: tuple[str, ...] = ()

    def applies_to(self, database: str) -> bool:
        """True when this protocol has a table for ``database``."""
        return database in self.tables

    def classify(self, database: str, emotion: str) -> tuple[str | None, str]:
        """Map ``emotion`` (as coded in ``database``'s sheet) to a class.

        Returns ``(class, "")`` when mapped, ``(None, reason)`` when left out by the protocol or
        unknown (the reason is ready for a `Skip`). Raises `DatabaseError` when the protocol has
        no table for ``database``.
        """
        if database not in self.tables:
            raise DatabaseError(f"protocol {self.name} does not apply to database {database!r} "
                                f"(it covers: {', '.join(self.tables)})")
        key = str(emotion or "").strip().lower()
        if not key:
            return None, "no emotion label"
        table = self.tables[database]
        if key not in table:
            return None, (f"unknown emotion {emotion!r} (protocol {self.name} knows: "
                          f"{', '.join(sorted(table))})")
        mapped = table[key]
        if mapped is None:
            return None, f"emotion {emotion!r} is not a class of protocol {self.name}"
        return mapped, ""


def _identity(*names: str) -> dict[str, str | None]:
    return {n: n for n in names}


_CASME2_5 = {**_identity("disgust", "happiness", "repression", "surprise", "others"),
             "other": "others", "fear": None, "sadness": None}
_SAMM_5 = {**_identity("anger", "contempt", "happiness", "surprise"),
           "other": "others", "others": "others", "disgust": None, "fear": None, "sadness": None}
_SMIC_3 = {**_identity("negative", "positive", "surprise"),
           "ne": "negative", "po": "positive", "sur": "surprise", "0": "negative", "1": "positive",
           "2": "surprise"}
_MEGC_CASME2 = {"disgust": "negative", "repression": "negative", "happiness": "positive",
                "surprise": "surprise", "others": None, "other": None, "fear": None, "sadness": None}
_MEGC_SAMM = {"anger": "negative", "contempt": "negative", "disgust": "negative", "fear": "negative",
              "sadness": "negative", "happiness": "positive", "surprise": "surprise",
              "other": None, "others": None}
_CASME3_7 = {**_identity("anger", "disgust", "fear", "happy", "sad", "surprise", "others"),
             "other": "others", "happiness": "happy", "sadness": "sad"}
_CASME3_NEG = {"anger": "negative", "disgust": "negative", "fear": "negative", "sad": "negative",
               "sadness": "negative", "happy": "positive", "happiness": "positive", "surprise": "surprise"}

PROTOCOLS: dict[str, LabelProtocol] = {p.name: p for p in (
    LabelProtocol("casme2-5", ("disgust", "happiness", "repression", "surprise", "others"),
                  {"casme2": _CASME2_5}, default_for=("casme2",)),
    LabelProtocol("samm-5", ("anger", "contempt", "happiness", "surprise", "others"),
                  {"samm": _SAMM_5}, default_for=("samm",)),
    LabelProtocol("smic-3", ("negative", "positive", "surprise"), {"smic": _SMIC_3}, default_for=("smic",)),
    LabelProtocol("megc2019-3", ("negative", "positive", "surprise"),
                  {"casme2": _MEGC_CASME2, "samm": _MEGC_SAMM, "smic": _SMIC_3}),
    LabelProtocol("casme3-7", ("anger", "disgust", "fear", "happy", "sad", "surprise", "others"),
                  {"casme3": _CASME3_7}, default_for=("casme3",)),
    LabelProtocol("casme3-4", ("negative", "positive", "surprise", "others"),
                  {"casme3": {**_CASME3_NEG, "others": "others", "other": "others"}}),
    LabelProtocol("casme3-3", ("negative", "positive", "surprise"),
                  {"casme3": {**_CASME3_NEG, "others": None, "other": None}}),
)}


def get_protocol(name: str | None, database: str) -> LabelProtocol:
    """The protocol ``name`` (or ``database``'s default when None), checked to apply to ``database``.

    Raises `DatabaseError` for an unknown name or a protocol without a table for ``database``.
    """
    if name is None:
        for p in PROTOCOLS.values():
            if database in p.default_for:
                return p
        raise DatabaseError(f"no default label protocol for database {database!r}; pass one of "
                            f"{', '.join(protocols_for(database)) or '(none)'}")
    if name not in PROTOCOLS:
        raise DatabaseError(f"unknown label protocol {name!r}; known: {', '.join(PROTOCOLS)}")
    p = PROTOCOLS[name]
    if not p.applies_to(database):
        raise DatabaseError(f"protocol {name} does not apply to database {database!r}; "
                            f"use one of {', '.join(protocols_for(database))}")
    return p


def protocols_for(database: str) -> tuple[str, ...]:
    """Names of the protocols that have a table for ``database`` (its default first)."""
    names = [p.name for p in PROTOCOLS.values() if p.applies_to(database)]
    return tuple(sorted(names, key=lambda n: database not in PROTOCOLS[n].default_for))


def as_is_protocol(emotions: list[str]) -> LabelProtocol:
    """The generic adapter's protocol: each distinct emotion (first-seen order, compared
    lower-case) is its own class, named as first written."""
    table: dict[str, str | None] = {}
    for e in emotions:
        key = str(e or "").strip().lower()
        if key and key not in table:
            table[key] = str(e).strip()
    return LabelProtocol("as-is", tuple(v for v in table.values() if v), {"generic": table})
