"""Annotation edits as plain data: what a mark or field change, or a CSV import, replaces in the store.

The Qt layer (`app.commands`) pushes the results on its undo stack; nothing here touches the store.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from cmnet_core.data.annotation_io import AnnotationRecord, CsvAnnotations, merge_imported
from cmnet_core.data.annotation_match import MatchResult, match_records
from cmnet_core.data.clip import Annotation

from .annotations import AnnotationStore, clip_key
from .document import Document


@dataclass(frozen=True)
class Edit:
    """Replace the annotation stored under ``key`` (subject, clip) by ``new`` (``old``: what undo restores;
    None = no entry in the store); ``text`` names the edit in the Edit menu."""

    key: tuple[str, str]
    old: Annotation | None
    new: Annotation | None
    text: str


def annotation_edit(doc: Document, text: str, **changes) -> Edit | None:
    """The edit that sets ``changes`` (Annotation fields) on the current clip, or None when there is nothing to
    change (no clip or store, or the fields already hold those values and the store has an entry)."""
    if doc.clip is None or doc.store is None:
        return None
    key = clip_key(doc.clip)
    old = doc.store.get(key)
    current = doc.annotation()
    new = replace(current, **changes)
    if new == current and old is not None:
        return None
    return Edit(key, old, new, text)


def mark_change(kind: str, value: int | None) -> tuple[str, dict]:
    """(undo text, Annotation field changes) that set mark ``kind`` (onset/apex/offset) to frame ``value``, or
    clear it for None. An apex set by hand is recorded as ``apex_source="annotated"``."""
    changes: dict = {kind: value}
    if kind == "apex":
        changes["apex_source"] = "annotated" if value is not None else ""
    return (f"Clear {kind}" if value is None else f"Set {kind} = {value}"), changes


def field_value(name: str, value):
    """The stored value of annotation field ``name`` typed as ``value`` (an empty emotion is None)."""
    return (value or None) if name == "emotion" else value


def apply_edit(store: AnnotationStore, key: tuple[str, str], ann: Annotation | None) -> None:
    """Put ``ann`` under ``key`` in ``store`` (None removes the entry)."""
    if ann is None:
        store.remove(key)
    else:
        store.set_by_key(key, ann)


@dataclass
class ImportPlan:
    """What importing a CSV sheet does: ``edits`` to push, ``left_out`` row messages (sheet problems and rows
    whose marks fall outside their clip), and the row ``match`` result (unmatched / ambiguous rows)."""

    edits: list[Edit] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    match: MatchResult | None = None

    def summary(self, name: str) -> str:
        """The message for the user: counts first (one line for the status bar), then up to 20 left-out rows,
        then the match summary of ``name``."""
        text = self.match.summary(name)
        if self.left_out:
            more = len(self.left_out) - 20
            text = (f"Imported {len(self.edits)} row(s) from {name}; {len(self.left_out)} row(s) that do not fit "
                    "were left out:\n" + "\n".join(f"  {p}" for p in self.left_out[:20])
                    + (f"\n  … and {more} more" if more > 0 else "") + "\n" + text)
        return text

    def needs_message(self) -> bool:
        """True when some rows were not imported (the user gets a message box, not just the status bar)."""
        return bool(self.match.unmatched or self.match.ambiguous or self.left_out)


def import_plan(doc: Document, sheet: CsvAnnotations, name: str) -> ImportPlan:
    """Match ``sheet``'s rows to the document's clips by Subject + Filename (`match_records`: CASME II's ``01``
    finds ``sub01``; a row never lands on another subject's clip of the same name) and merge only the columns
    the sheet has (`merge_imported`); rows whose marks fall outside their clip's frames are left out."""
    store = doc.store
    clips = {clip_key(c): c for c in doc.clips}
    result = match_records(sheet.records, list(clips))
    plan = ImportPlan(left_out=list(sheet.problems), match=result)
    for rec, key in result.matched:
        new = merge_imported(store.annotation_for(clips[key]), rec.annotation, sheet.fields)
        misfit = new.validate(clips[key].frame_numbers)
        if misfit:
            plan.left_out.append(f"row {rec.row} ({rec.subject}/{rec.name}): {'; '.join(misfit)}")
            continue
        plan.edits.append(Edit(key, store.get(key), new, f"Import {rec.name}"))
    return plan


def all_records(doc: Document) -> list[AnnotationRecord]:
    """Every clip's annotation (the app's edits over the sheet's), for CSV export."""
    return [AnnotationRecord(*clip_key(c), doc.store.annotation_for(c) if doc.store else c.annotation)
            for c in doc.clips]

