"""The words the window shows about the document, computed without Qt: the title, the status of the
annotation file, the clip list's database summary, the source label, the demo banner and where earlier
versions of an annotation file are kept."""
from __future__ import annotations

from pathlib import Path

from cmnet_core.data.database import Database

from .annotations import AnnotationStore
from .document import Document

APP_NAME = "CMNet Studio"


def window_title(doc: Document) -> str:
    """``CMNet Studio — [synthetic demo —] subject/clip`` with ``*`` when annotations are unsaved."""
    parts = [APP_NAME]
    if doc.is_demo:
        parts.append("synthetic demo")
    if doc.clip is not None:
        parts.append(f"{doc.clip.subject + '/' if doc.clip.subject else ''}{doc.clip.name}")
    dirty = "*" if doc.store is not None and doc.store.dirty else ""
    return " — ".join(parts) + dirty


def store_status(store: AnnotationStore | None) -> str:
    """The annotation panel's file status: unsaved changes, saved in <file>, or not saved yet."""
    if store and store.dirty:
        return "unsaved changes"
    return f"saved in {store.path.name}" if store and store.path.exists() else "not saved yet"


def database_summary(db: Database | None) -> str:
    """``name · protocol: N clips, S subjects[, K rows skipped]`` ("" without a database)."""
    if db is None:
        return ""
    return (f"{db.name} · {db.protocol}: {len(db.clips)} clips, {len(db.subjects())} subjects"
            + (f", {len(db.skips)} rows skipped" if db.skips else ""))


def source_label(path: Path, db: Database | None) -> str:
    """The status bar's permanent label: the opened path and, for a database, its name and protocol."""
    return f"{path}" + (f"  ·  {db.name} · {db.protocol}" if db else "")


def demo_banner() -> str:
    """The banner over the synthetic demo: what it is and how to open one's own video."""
    from cmnet_core.demo import DEMO_RECIPE

    return ("SYNTHETIC DEMO — a generated face and a small CMNet trained on synthetic clips "
            f"({DEMO_RECIPE.summary()}). Not real data. Open your own video with File ▸ Open "
            "(Ctrl+O) or drop it here.")


def earlier_versions_hint(path: Path) -> str:
    """Where an earlier version of the annotation file ``path`` is, saying only what is on disk."""
    from cmnet_core.data.annotation_io import backup_path

    backups = [backup_path(path, i) for i in (1, 2, 3) if backup_path(path, i).exists()]
    if not backups:
        return " No earlier version of it is kept (no backup exists yet)."
    names = ", ".join(b.name for b in backups)
    return f" Earlier versions are kept as {names}: to go back, copy {backups[0].name} over {path.name}."
