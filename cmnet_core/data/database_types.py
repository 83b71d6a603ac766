"""The database types every adapter builds: `Database` (clips with their label protocol, what was skipped and why),
`Skip`, the errors, and the adapter registry (`Adapter`, `register_adapter`, `ADAPTERS`).

Adapters (the ``adapters`` package: CASME II, SAMM, SMIC-HS, CAS(ME)^3, generic CSV, synthetic) import this
module to build a `Database` and register themselves; `cmnet_core.data.database` (``open_database``, the search
for an enclosing database) imports the adapters. Nothing here imports an adapter, so the imports run one way.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .clip import Clip


class DatabaseError(Exception):
    """A database root or annotation sheet cannot be used; the message names the file/row and the fix."""


class SheetNotFoundError(DatabaseError):
    """A recognised database root whose usual annotation sheet is neither in nor beside it.

    ``root`` (Path) and ``kind`` (adapter name) let a caller ask the user for the sheet (the GUI offers a file
    chooser); ``patterns`` are the file-name patterns that were searched."""

    def __init__(self, message: str, root: Path, kind: str, patterns: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.root, self.kind, self.patterns = Path(root), kind, tuple(patterns)


@dataclass
class Skip:
    """A sheet row or clip left out, and why (e.g. ``"row 17 (sub05/EP03_02): apex '/'"``).

    ``subject`` is the row's subject (when known); ``absent`` is True for a row whose subject has no folder on disk
    at all (a partial copy of the database): such rows are summarised per run of subjects rather than listed one
    by one (`skip_lines`); a subject on disk breaks a run.
    """

    item: str
    reason: str
    subject: str = ""
    absent: bool = False


@dataclass
class Database:
    """Clips of one database under one label protocol.

    name : adapter name (``"casme2"``, ``"samm"``, ``"smic"``, ``"casme3"``, ``"generic"``, ``"synthetic"``).
    protocol : protocol name (e.g. ``"casme2-5"``, ``"megc2019-3"``).
    labels : the protocol's class names in a fixed order (index = class id).
    clips : the usable clips; every clip.label is in ``labels``.
    skips : rows/clips that were left out, with reasons (training lists them too).
    unlabelled : readable clips whose row has no emotion yet: open for annotation, left out of training
        (each also has a `Skip` saying so). Only the generic adapter fills it.
    """

    name: str
    root: Path
    protocol: str
    labels: list[str]
    clips: list[Clip] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)
    sheet: Path | None = None
    unlabelled: list[Clip] = field(default_factory=list)

    def subjects(self) -> list[str]:
        """Subjects in first-seen order (one LOSO fold each)."""
        return list(dict.fromkeys(c.subject for c in self.clips))

    def label_index(self, label: str) -> int:
        """Class id of ``label``; raises `DatabaseError` for a label outside the protocol."""
        try:
            return self.labels.index(label)
        except ValueError as exc:
            raise DatabaseError(f"label {label!r} is not in protocol {self.protocol} {self.labels}") from exc

    def summary(self) -> dict:
        """Counts for display: clips per class and per subject, the clips found (subject, clip, onset, apex,
        offset, emotion, notes; frame numbers), the skips with reasons, subjects of the sheet with no folder on
        disk, and stray files in the root that are not read (e.g. an archive beside the clip folders)."""
        return {
            "database": self.name,
            "root": str(self.root),
            "sheet": str(self.sheet) if self.sheet else None,
            "protocol": self.protocol,
            "labels": list(self.labels),
            "clips": len(self.clips),
            "per_class": {lab: sum(1 for c in self.clips if c.label == lab) for lab in self.labels},
            "per_subject": dict(Counter(c.subject for c in self.clips)),
            "clips_found": [{"subject": c.subject, "clip": c.name, "onset": c.annotation.onset,
                             "apex": c.annotation.apex, "offset": c.annotation.offset, "emotion": c.label,
                             "notes": c.annotation.notes} for c in self.clips],
            "skipped": [{"item": s.item, "reason": s.reason, **({"absent_subject": s.subject} if s.absent else {})}
                        for s in self.skips],
            "absent_subjects": {subj: n for subj, n in Counter(s.subject for s in self.skips if s.absent).items()},
            "stray_files": self.stray_files(),
            "unlabelled": [c.name for c in self.unlabelled],
        }

    def stray_files(self) -> list[str]:
        """Names of files directly in the root that are neither the sheet nor read by the adapter (archives,
        notes, a second sheet): a hint that the database was not fully unpacked. Sorted; ``[]`` when none."""
        try:
            files = [p for p in Path(self.root).iterdir() if p.is_file() and not p.name.startswith(".")]
        except OSError:
            return []
        known = {Path(self.sheet).name} if self.sheet else set()
        known |= {"clips.csv", "truth.json", "synthetic.json", "cmnet-annotations.json"}
        return sorted(p.name for p in files if p.name not in known and not p.name.startswith("cmnet-annotations"))

    def skip_lines(self, verbose: bool = False, limit: int = 20) -> list[str]:
        """The skips as readable lines: rows of subjects with no folder on disk summarised per run of subjects
        (``"sub02–sub26: no folder, 237 rows"``), the other skips (real exclusions: an emotion outside the
        protocol, missing frames …) one line per row; more than ``limit`` of those are grouped by reason with
        examples. ``verbose`` lists every skip row by row."""
        if not self.skips:
            return []
        if verbose:
            return [f"skipped {len(self.skips)}:"] + [f"  {s.item}: {s.reason}" for s in self.skips]
        lines: list[str] = []
        absent = [s for s in self.skips if s.absent]
        real = [s for s in self.skips if not s.absent]
        if absent:
            rows = Counter(s.subject for s in absent)
            lines.append(f"not on disk ({len(absent)} sheet rows of {len(rows)} subjects without a folder under "
                         f"{self.root}):")
            lines += [f"  {run}: no folder, {n} rows" for run, n in _subject_runs(rows, self._sheet_subjects())]
        if real:
            lines.append(f"left out ({len(real)}):")
            if len(real) <= limit:
                lines += [f"  {s.item}: {s.reason}" for s in real]
            else:
                groups: dict[str, list[Skip]] = {}
                for s in real:
                    groups.setdefault(_reason_kind(s.reason), []).append(s)
                for kind, items in sorted(groups.items(), key=lambda kv: -len(kv[1])):
                    eg = ", ".join(_row_ref(s.item) for s in items[:3]) + (" …" if len(items) > 3 else "")
                    lines.append(f"  {len(items)} × {kind} (e.g. {eg})")
        lines.append(f"('cmnet info --verbose {self.root}' lists every skipped row)")
        return lines

    def _sheet_subjects(self) -> list[str]:
        """Every subject the clips and skips name, in natural order (for subject ranges)."""
        import re

        names = {c.subject for c in self.clips} | {s.subject for s in self.skips if s.subject}
        return sorted(names, key=lambda n: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", n)])

    def skip_summary(self, limit: int = 6) -> str:
        """The skip reasons grouped and counted, most frequent first: ``'76 × missing clip folder …; 57 × unknown
        emotion '…''`` (quoted values, paths and numbers folded so that alike reasons count together)."""
        counts = Counter(_reason_kind(s.reason) for s in self.skips)
        parts = [f"{n} × {kind}" for kind, n in counts.most_common(limit)]
        rest = sum(counts.values()) - sum(n for _, n in counts.most_common(limit))
        return "; ".join(parts) + (f"; {rest} other" if rest else "")

    def sheet_hint(self) -> str:
        """A "wrong sheet?" hint when no clip came out of the sheet: the sheet's name is another database's
        (e.g. a SAMM sheet given to the CASME II adapter), or no sheet row matched a clip folder on disk.
        ``""`` when clips were found or nothing points to the sheet."""
        if self.clips or self.unlabelled or self.sheet is None:
            return ""
        other = _sheet_kind(Path(self.sheet).name, self.name)
        rows = [s for s in self.skips if s.item.startswith(Path(self.sheet).name)]
        unlisted = [s for s in self.skips if s.reason == "clip folder has no row in the annotation sheet"]
        if not other and not (rows and unlisted):
            return ""
        looks = f"{Path(self.sheet).name} looks like a {other} sheet, not a {self.name} one; " if other else ""
        return (f"wrong sheet? {looks}none of its {len(rows)} rows matched a usable clip under {self.root}"
                f"{f' while {len(unlisted)} clip folder(s) there have no row' if unlisted else ''}. Pass the "
                f"{self.name} sheet with --sheet, or the right --kind for this sheet")

    def no_clips_message(self) -> str:
        """What to say when a run finds 0 usable clips: the count, the skip reasons summarised, the wrong-sheet
        hint where it applies, and what to do."""
        where = f" with {Path(self.sheet).name}" if self.sheet else ""
        lines = [f"{self.root}: 0 usable clips to train on in this {self.name} database{where} "
                 f"({len(self.skips)} row(s)/folder(s) skipped" + (f": {self.skip_summary()})" if self.skips else ")")]
        if self.unlabelled:
            lines.append(f"{len(self.unlabelled)} clip(s) have no emotion yet: annotate them (CMNet Studio, or an "
                         f"'emotion' column in {Path(self.sheet).name if self.sheet else 'the sheet'}), then train")
        hint = self.sheet_hint()
        if hint:
            lines.append(hint)
        lines.append(f"'cmnet info --verbose {self.root}' lists every skipped row with its reason")
        return "\n".join(lines)

    def summary_text(self, verbose: bool = False, clip_limit: int = 30) -> str:
        """`summary` as readable lines: counts, the clips found (up to ``clip_limit`` unless ``verbose``), the
        skips (`skip_lines`) and stray files in the root."""
        s = self.summary()
        lines = [
            f"{s['database']} database at {s['root']}" + (f" (sheet {s['sheet']})" if s["sheet"] else ""),
            f"protocol {s['protocol']}: {s['clips']} clips, {len(s['per_subject'])} subjects",
            "per class: " + ", ".join(f"{k} {v}" for k, v in s["per_class"].items()),
            "per subject: " + ", ".join(f"{k} {v}" for k, v in s["per_subject"].items()),
        ]
        found = s["clips_found"]
        if found:
            shown = found if verbose else found[:clip_limit]
            lines.append(f"clips found ({len(found)}; subject clip onset apex offset emotion):")
            lines += ["  " + " ".join(str(c[k]) if c[k] is not None else "–" for k in
                                      ("subject", "clip", "onset", "apex", "offset", "emotion"))
                      + (f"  [{c['notes']}]" if c["notes"] else "") for c in shown]
            if len(shown) < len(found):
                lines.append(f"  … {len(found) - len(shown)} more ('cmnet info --verbose' or --json lists all)")
        if s["unlabelled"]:
            lines.append(f"{len(s['unlabelled'])} unlabelled clip(s) open for annotation, left out of training "
                         "until they have an emotion: " + ", ".join(s["unlabelled"][:10])
                         + (" …" if len(s["unlabelled"]) > 10 else ""))
        hint = self.sheet_hint()
        if hint:
            lines.append(hint)
        lines += self.skip_lines(verbose)
        if s["stray_files"]:
            lines.append("other files in the root, not read: " + ", ".join(s["stray_files"][:5])
                         + (" …" if len(s["stray_files"]) > 5 else "")
                         + (" (an archive: unpack it here if it holds clips)" if any(
                             f.lower().endswith((".rar", ".zip", ".7z", ".tar", ".gz")) for f in s["stray_files"])
                            else ""))
        return "\n".join(lines)


def _row_ref(item: str) -> str:
    """``"sheet.xlsx[Sheet1] row 82 (sub09/EP13_02)"`` → ``"row 82 (sub09/EP13_02)"`` (for examples)."""
    i = item.find("row ")
    return item[i:] if i >= 0 else item


def _subject_runs(rows: Counter, order: list[str]) -> list[tuple[str, int]]:
    """Runs of consecutive subjects (in ``order``) present in ``rows`` as ``("sub02–sub26", rows)`` pairs."""
    runs: list[tuple[list[str], int]] = []
    prev = None
    for subj in order:
        if subj in rows:
            if prev is not None and runs and runs[-1][0][-1] == prev:
                runs[-1] = (runs[-1][0] + [subj], runs[-1][1] + rows[subj])
            else:
                runs.append(([subj], rows[subj]))
        prev = subj
    return [(names[0] if len(names) == 1 else f"{names[0]}–{names[-1]}", n) for names, n in runs]


@dataclass
class Adapter:
    """A registered database adapter.

    detect(root) -> bool : True when ``root`` looks like this database's layout.
    load(root, sheet, protocol) -> Database : read the sheet and the tree; ``sheet``/``protocol`` may be None (defaults).
    title : the database's name for people (``"CASME II"``); sheet_patterns : its usual annotation sheet names
    (glob patterns), used to tell a user who gave another database's sheet.
    """

    name: str
    detect: Callable[[Path], bool]
    load: Callable[[Path, Path | None, str | None], Database]
    protocols: tuple[str, ...] = ()
    title: str = ""
    sheet_patterns: tuple[str, ...] = ()


ADAPTERS: dict[str, Adapter] = {}


def register_adapter(adapter: Adapter) -> Adapter:
    """Add ``adapter`` to the registry (later registrations with the same name replace earlier ones)."""
    ADAPTERS[adapter.name] = adapter
    return adapter


def _reason_kind(reason: str) -> str:
    """A skip reason with its particulars folded: quoted values → ``'…'``, paths → ``…``, numbers → ``N``,
    anything after `` (`` or a ``:`` dropped (``"missing clip folder /a/b"`` → ``"missing clip folder …"``)."""
    import re

    kind = re.split(r" \(|: ", reason, maxsplit=1)[0]
    kind = re.sub(r"'[^']*'", "'…'", kind)
    kind = re.sub(r"(?:[A-Za-z]:)?[\\/]\S*", "…", kind)
    kind = re.sub(r"(?<![\w-])\d+(?![\w-])", "N", kind)
    return kind.strip()


def _sheet_kind(sheet_name: str, kind: str) -> str:
    """The database whose usual sheet name ``sheet_name`` matches (an adapter's ``sheet_patterns``, in
    registration order), when it is not ``kind``; else ``""``."""
    import fnmatch

    for adapter in ADAPTERS.values():
        if adapter.name == kind or not adapter.sheet_patterns:
            continue
        if any(fnmatch.fnmatch(sheet_name.lower(), pat.lower()) for pat in adapter.sheet_patterns):
            return adapter.title or adapter.name
    return ""

__all__ = ["ADAPTERS", "Adapter", "Database", "DatabaseError", "SheetNotFoundError", "Skip", "register_adapter"]
