"""Matching imported sheet rows (`AnnotationRecord`) to the clips of an opened source (Qt-free).

A coding sheet names a clip by Subject + Filename, spelled as the sheet's authors did: CASME II writes
subject ``01`` or ``1`` for the folder ``sub01``, SAMM ``6`` or ``006`` for ``006``, SMIC ``s01`` for ``s1``.
The adapters turn these into the database's spelling with `cmnet_core.data.sheets.subject_id`; here the
same equivalence is applied without knowing the database: two subjects match when they are spelled alike,
or when both end in the same number and the sheet's subject has no other prefix than the clip's (``01`` ~
``sub01`` ~ ``sub1``; ``006`` ~ ``6``; ``s01`` ~ ``s1``; but ``s1`` is not ``sub1``).

Clip names are shared between subjects (CASME II has 53 names, e.g. ``EP02_01f``, used by several
subjects), so a row is never moved to a clip of another subject: a row whose subject matches none of the
clips carrying its name is unmatched, and a row that cannot tell such clips apart is ambiguous. Both are
listed with the row number and the reason (`MatchResult`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from .annotation_io import AnnotationRecord

_SUBJECT = re.compile(r"^(.*?)(\d+)$")


def _subject_parts(subject: str) -> tuple[str, int | None]:
    """``'sub01'`` → ``('sub', 1)``, ``'006'`` → ``('', 6)``, ``'spNO.1'`` → ``('spno', 1)``, ``'anna'`` →
    ``('anna', None)``; separators (space ``_ . - /``) are dropped from the prefix and case is ignored."""
    text = subject.strip().lower()
    m = _SUBJECT.match(text)
    if m is None:
        return re.sub(r"[\s_.\-/]+", "", text), None
    return re.sub(r"[\s_.\-/]+", "", m.group(1)), int(m.group(2))


def subjects_match(sheet_subject: str, clip_subject: str) -> bool:
    """True when a sheet's subject cell names the clip's subject (see the module notes).

    ``subjects_match('01', 'sub01')``, ``subjects_match('1', 'sub01')``, ``subjects_match('6', '006')`` and
    ``subjects_match('s01', 's1')`` are True; ``subjects_match('02', 'sub01')`` and ``subjects_match('s1',
    'sub1')`` are False. An empty sheet subject matches nothing (the caller decides by name alone).
    """
    a, b = sheet_subject.strip(), clip_subject.strip()
    if not a:
        return False
    if a == b:
        return True
    (pa, na), (pb, nb) = _subject_parts(a), _subject_parts(b)
    if na is None or nb is None:
        return na is None and nb is None and pa == pb
    return na == nb and (pa == pb or pa == "")


@dataclass
class RowProblem:
    """A sheet row that was not imported: its 1-based ``row`` (None when unknown), ``subject`` and ``name`` as
    written in the sheet, and ``reason`` in words."""

    row: int | None
    subject: str
    name: str
    reason: str

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row is not None else "row ?"
        who = f"{self.subject}/{self.name}" if self.subject else self.name
        return f"{where} ({who}): {self.reason}"


@dataclass
class MatchResult:
    """What `match_records` found.

    matched : ``(record, clip key)`` pairs, in sheet order; each key at most once.
    unmatched : rows that name no opened clip (or whose subject matches none of the clips of that name, or
        that repeat a clip already matched), with the reason.
    ambiguous : rows that fit several opened clips and cannot be told apart, with the candidates.
    """

    matched: list[tuple[AnnotationRecord, tuple[str, str]]] = field(default_factory=list)
    unmatched: list[RowProblem] = field(default_factory=list)
    ambiguous: list[RowProblem] = field(default_factory=list)

    @property
    def clips_annotated(self) -> int:
        """Number of distinct clips that receive a row."""
        return len({key for _, key in self.matched})

    def summary(self, sheet_name: str = "the sheet", limit: int = 20) -> str:
        """The honest summary: rows read, rows imported, clips annotated, rows unmatched and ambiguous, then
        each row left out with its reason (the first ``limit``, then a count of the rest)."""
        total = len(self.matched) + len(self.unmatched) + len(self.ambiguous)
        lines = [f"Imported {len(self.matched)} of {total} rows from {sheet_name} onto "
                 f"{self.clips_annotated} clip(s); {len(self.unmatched)} row(s) unmatched, "
                 f"{len(self.ambiguous)} ambiguous (not imported)."]
        problems = [("unmatched", p) for p in self.unmatched] + [("ambiguous", p) for p in self.ambiguous]
        problems.sort(key=lambda kp: (kp[1].row is None, kp[1].row or 0))
        lines += [f"  {kind}: {p}" for kind, p in problems[:limit]]
        if len(problems) > limit:
            lines.append(f"  … and {len(problems) - limit} more")
        return "\n".join(lines)


def match_records(records: Iterable[AnnotationRecord], keys: Sequence[tuple[str, str]],
                  single_clip_fallback: bool = True) -> MatchResult:
    """Match sheet rows to the opened clips, identified by their store keys ``(subject, clip name)``.

    Per row: the clips whose name equals the row's Filename are the candidates (none → unmatched). With a
    Subject, the candidates whose subject `subjects_match` it (or that have no subject: a loose video or
    frame folder) are kept: one → matched, none → unmatched
    (the row is never moved to another subject's clip of the same name), several → ambiguous. Without a
    Subject, one candidate → matched, several → ambiguous. A row naming a clip already matched by an
    earlier row is unmatched ("duplicate of row N"); the earlier row wins.

    ``single_clip_fallback``: when exactly one clip is open (a video or frame folder) and the sheet has
    exactly one row, that row goes to the clip whatever its clip name (a clip's exported sheet re-imported after
    renaming the file) — but never across subjects: when both name a subject they must match. Never raises; an
    empty ``keys`` leaves every row unmatched.
    """
    records = list(records)
    by_name: dict[str, list[tuple[str, str]]] = {}
    for key in keys:
        by_name.setdefault(key[1], []).append(key)
    result = MatchResult()
    if (single_clip_fallback and len(keys) == 1 and len(records) == 1 and records[0].name not in by_name
            and (not records[0].subject or not keys[0][0] or subjects_match(records[0].subject, keys[0][0]))):
        result.matched.append((records[0], tuple(keys[0])))
        return result
    taken: dict[tuple[str, str], int | None] = {}
    for rec in records:
        problem = _match_one(rec, by_name)
        if isinstance(problem, tuple) and problem[0] == "ambiguous":
            result.ambiguous.append(RowProblem(rec.row, rec.subject, rec.name, problem[1]))
            continue
        if isinstance(problem, str):
            result.unmatched.append(RowProblem(rec.row, rec.subject, rec.name, problem))
            continue
        key = problem[1]
        if key in taken:
            first = taken[key]
            result.unmatched.append(RowProblem(
                rec.row, rec.subject, rec.name,
                f"duplicate of row {first if first is not None else '?'} (both name {key[0]}/{key[1]}); "
                "only the first is imported"))
            continue
        taken[key] = rec.row
        result.matched.append((rec, key))
    return result


def _match_one(rec: AnnotationRecord, by_name: dict[str, list[tuple[str, str]]]):
    """``("ok", key)``, ``("ambiguous", reason)`` or an unmatched reason (str)."""
    candidates = by_name.get(rec.name, [])
    if not candidates:
        return f"no opened clip is named {rec.name!r}"
    subjects = ", ".join(sorted(k[0] or "(none)" for k in candidates))
    if not rec.subject.strip():
        if len(candidates) == 1:
            return ("ok", candidates[0])
        return ("ambiguous", f"clip name {rec.name!r} is used by subjects {subjects}; the row has no Subject "
                             "to tell them apart")
    fits = [k for k in candidates if not k[0] or subjects_match(rec.subject, k[0])]
    if len(fits) == 1:
        return ("ok", fits[0])
    if not fits:
        return (f"subject {rec.subject!r} matches none of the opened clips named {rec.name!r} "
                f"(their subjects: {subjects}); not moved to another subject's clip")
    return ("ambiguous", f"subject {rec.subject!r} fits several clips named {rec.name!r} "
                         f"(subjects {', '.join(sorted(k[0] for k in fits))})")
