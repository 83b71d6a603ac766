"""Decide what a path is — a video file, a frame folder or a database root — and open it (Qt-free).

Opening may take seconds (a long video's frame index, a database sheet): the window runs these functions in a
worker thread (`MainWindow.run_blocking`), never on the GUI thread.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

from cmnet_core.data.clip import Clip, ClipError
from cmnet_core.data.database import Database, DatabaseError, SheetNotFoundError, open_database


class OpenError(Exception):
    """The path cannot be opened; the message says why and what to do."""


class SheetMissing(OpenError):
    """A recognised database root without its annotation sheet in or beside it: ``root`` and ``kind`` (adapter
    name) let the GUI offer a file chooser for the sheet."""

    def __init__(self, message: str, root: Path, kind: str) -> None:
        super().__init__(message)
        self.root, self.kind = Path(root), kind


def needs_index(clip: Clip | None) -> bool:
    """True when ``clip``'s frames cannot be numbered yet: a video whose frame index is not built."""
    return clip is not None and hasattr(clip.source, "build_index") and not getattr(clip.source, "is_indexed", True)


def prepare_clip(clip: Clip | None, cancelled: Callable[[], bool] | None = None) -> None:
    """Build ``clip``'s frame index when it is a video without one (seconds for a long file: call it in a worker).

    Raises `IndexCancelled` when ``cancelled()`` turns True and `ClipError` when no frame decodes."""
    if needs_index(clip):
        clip.source.build_index(cancelled)


def open_media_folder(folder: Path) -> tuple[list[Clip], list[str]]:
    """Each video file of ``folder`` as a clip, still images as one-frame clips, named by file name (sorted);
    other files are ignored. Returns ``(clips, skipped)`` with one "name: reason" per media file that could not
    be opened. Returns ``([], [])`` when the folder holds no video file (then it is a frame folder). Builds every
    video's frame index (to count its frames): run it in a worker.
    """
    from cmnet_core.data.readers import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, open_clip

    files = sorted(f for f in folder.iterdir() if f.is_file() and not f.name.startswith("."))
    if not any(f.suffix.lower() in VIDEO_EXTENSIONS for f in files):
        return [], []
    clips, skipped = [], []
    for f in files:
        if f.suffix.lower() not in VIDEO_EXTENSIONS + IMAGE_EXTENSIONS:
            continue
        try:
            clip = open_clip(f)
            frames = len(clip)           # a video's frame index is built here: call this in a worker
        except (ClipError, OSError, ValueError) as exc:
            skipped.append(f"{f.name}: {exc}")
            continue
        if frames:
            clips.append(dataclasses.replace(clip, name=f.name))  # a still and a video may share a stem
        else:
            skipped.append(f"{f.name}: no readable frames")
    return clips, skipped


def open_path(path: str | Path, fps: float | None = None, cancelled: Callable[[], bool] | None = None,
              sheet: str | Path | None = None,
              sheet_for_root: Callable[[Path], str | None] | None = None
              ) -> tuple[list[Clip], Database | None, list[str]]:
    """Open ``path`` as a database root (recognised from its layout and sheet), a folder of video files
    (`open_media_folder`), else as one clip (video file, still image or frame folder), and build the frame index
    of the first clip (`prepare_clip`; every video of a media folder is indexed by `open_media_folder`).

    A frame folder inside a recognised database tree (`find_enclosing_database`: CASME II's ``sub01/EP19_06f``
    opened alone) opens as that database's clip(s): the database's fps (CASME II 200) and the sheet's
    onset/apex/offset/emotion; ``database`` is then that database (its root is not ``path``).
    ``fps`` is the frame rate of a bare frame folder (frames/s; None: unknown, 30 fps assumed and marked so); a
    given ``fps`` opens the folder by itself with that rate.
    Returns ``(clips, database, skipped)``; ``database`` is None unless a database was recognised; ``skipped``
    names the media files of a folder that could not be opened.
    ``sheet`` is the database's annotation sheet when it is not in or beside the root (None: the usual one; for
    a clip folder, the sheet of its database); ``sheet_for_root(root)`` gives a sheet remembered for a database
    root (used when ``sheet`` is None).
    Raises `OpenError` naming the path and what to do (`SheetMissing` for a recognised database root without
    its sheet, and for a given ``sheet`` that cannot be used), and `IndexCancelled` when ``cancelled()`` turns
    True.
    """
    path = Path(path)
    if not path.exists():
        raise OpenError(f"{path} does not exist. Check the path, or pick the file again with File ▸ Open.")
    if path.is_dir():
        sheet_missing = None
        try:
            db = open_database(path, sheet=sheet)
        except SheetNotFoundError as exc:
            db_error, sheet_missing = str(exc), exc
        except DatabaseError as exc:
            db_error = str(exc)
        else:
            if not db.clips and not db.unlabelled:
                raise OpenError(f"{path} was recognised as a {db.name} database but no clip could be used:\n"
                                + db.summary_text())
            clips = list(db.clips) + list(db.unlabelled)
            _prepare_first(clips, path, cancelled)
            return clips, db, []
        clips, skipped = open_media_folder(path)
        if clips:
            _prepare_first(clips, path, cancelled)
            return clips, None, skipped
        if skipped:
            raise OpenError(f"{path}: none of its videos or images could be opened:\n" + "\n".join(skipped))
        if sheet_missing is not None:
            raise SheetMissing(f"{path} looks like a {sheet_missing.kind} database, but its annotation sheet "
                               f"({', '.join(sheet_missing.patterns)}) is neither in nor beside it. Choose the "
                               "sheet file (File ▸ Open database with sheet…, or cmnet-studio ROOT --sheet FILE).",
                               path, sheet_missing.kind)
        place = _place_in_database(path, sheet if sheet is not None else sheet_for_root, skip=bool(fps))
        if place.enclosing is not None:   # a clip folder of a database: its fps and the sheet's onset/apex/offset
            _prepare_first(place.enclosing.clips, path, cancelled)
            return list(place.enclosing.clips), place.enclosing.database, []
        if sheet is not None:
            raise SheetMissing(f"{path} cannot be opened with the sheet {sheet}: {db_error}", path, "")
        left_out, missing = place.left_out, place.sheet_missing
        if left_out is not None:    # a clip folder whose sheet row was left out: the database's fps, and why
            fps = left_out.fps
        if missing is not None:     # a clip folder of a database whose sheet is elsewhere: ask for it
            raise SheetMissing(f"{path} is a clip folder of a {missing.kind} database at {missing.root}, but its "
                               f"annotation sheet ({', '.join(missing.patterns)}) is neither in nor beside that root. "
                               "Choose the sheet file (File ▸ Open database with sheet…, or cmnet-studio PATH "
                               "--sheet FILE), or give the folder a frame rate (--fps) to open it on its own.",
                               missing.root, missing.kind)
    else:
        db_error, left_out = "", None
    from cmnet_core.data.readers import open_clip

    try:
        clip = open_clip(path, fps=fps)
        if path.is_dir() and left_out is not None:
            clip.source.rate_note = left_out.note()
    except (ClipError, OSError, ValueError) as exc:
        hint = ("Open a video file (mp4, avi, mov, wmv), a folder of frames, or a database root "
                "(CASME II, SAMM, SMIC-HS, CAS(ME)^3) holding its annotation sheet.")
        extra = f"\nAs a database: {db_error}" if db_error else ""
        raise OpenError(f"{path} cannot be opened: {exc}{extra}\n\n{hint}") from exc
    _prepare_first([clip], path, cancelled)
    if len(clip) == 0:
        raise OpenError(f"{path} holds no readable frames. Check that the file plays in a video player, or "
                        "convert it (e.g. to mp4) and open it again.")
    return [clip], None, []


def _place_in_database(folder: Path, sheet, skip: bool = False):
    """`locate_clip_folder` of a frame folder (``sheet``: a path or a per-root lookup); an empty place when
    ``skip`` (a frame rate was given: the folder opens on its own) or an adapter fails."""
    from cmnet_core.data.database import ClipFolderPlace, locate_clip_folder

    if skip:
        return ClipFolderPlace()
    try:
        return locate_clip_folder(folder, sheet=sheet)
    except Exception:  # noqa: BLE001 - an adapter bug must not stop the folder from opening by itself
        return ClipFolderPlace()


def _prepare_first(clips: list[Clip], path: Path, cancelled) -> None:
    """`prepare_clip` on the first clip (the one shown first); a video that fails there is an `OpenError`."""
    from cmnet_core.data.readers import IndexCancelled

    try:
        prepare_clip(clips[0] if clips else None, cancelled)
    except IndexCancelled:
        raise
    except (ClipError, OSError) as exc:
        raise OpenError(f"{path} cannot be opened: {exc}") from exc
