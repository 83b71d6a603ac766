"""Decide what a path is — a video file, a frame folder or a database root — and open it (Qt-free)."""
from __future__ import annotations

from pathlib import Path

from cmnet_core.data.clip import Clip, ClipError
from cmnet_core.data.database import Database, DatabaseError, open_database


class OpenError(Exception):
    """The path cannot be opened; the message says why and what to do."""


def open_path(path: str | Path) -> tuple[list[Clip], Database | None]:
    """Open ``path`` as a database root (recognised from its layout and sheet), else as one clip.

    Returns ``(clips, database)``; ``database`` is None for a loose video file or frame folder.
    Raises `OpenError` naming the path and what to do.
    """
    path = Path(path)
    if not path.exists():
        raise OpenError(f"{path} does not exist. Check the path, or pick the file again with File ▸ Open.")
    if path.is_dir():
        try:
            db = open_database(path)
        except DatabaseError as exc:
            db_error = str(exc)
        else:
            if not db.clips:
                raise OpenError(f"{path} was recognised as a {db.name} database but no clip could be used:\n"
                                + db.summary_text())
            return list(db.clips), db
    else:
        db_error = ""
    from cmnet_core.data.readers import open_clip

    try:
        clip = open_clip(path)
    except (ClipError, OSError, ValueError) as exc:
        hint = ("Open a video file (mp4, avi, mov, wmv), a folder of frames, or a database root "
                "(CASME II, SAMM, SMIC-HS, CAS(ME)^3) holding its annotation sheet.")
        extra = f"\nAs a database: {db_error}" if db_error else ""
        raise OpenError(f"{path} cannot be opened: {exc}{extra}\n\n{hint}") from exc
    if len(clip) == 0:
        raise OpenError(f"{path} holds no readable frames. Check that the file plays in a video player, or "
                        "convert it (e.g. to mp4) and open it again.")
    return [clip], None
