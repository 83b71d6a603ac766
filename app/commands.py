"""Every user action is a command object (SLEAP style): ``ask()`` gathers what is missing (file dialogs,
confirmations), ``do_action()`` does the work. Menus, keys and buttons all go through
`CommandContext.execute`, and tests call it with the parameters instead of clicking.

Annotation edits are pushed on a `QUndoStack` as `AnnotationEdit` so that Ctrl+Z / Ctrl+Shift+Z work.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QUndoCommand, QUndoStack

from cmnet_core.data.annotation_io import AnnotationFileError, export_csv, merge_imported, read_csv_annotations
from cmnet_core.data.annotation_match import match_records
from cmnet_core.data.clip import Annotation

from . import dialogs
from .annotations import clip_key, open_store
from .opening import OpenError, SheetMissing, open_path

if TYPE_CHECKING:
    from .main_window import MainWindow


class AnnotationEdit(QUndoCommand):
    """Replace the annotation stored under ``key`` (subject, clip) — undoable."""

    def __init__(self, ctx: "CommandContext", key: tuple[str, str], old: Annotation | None, new: Annotation | None,
                 text: str) -> None:
        super().__init__(text)
        self.ctx, self.key, self.old, self.new = ctx, key, old, new

    def _apply(self, ann: Annotation | None) -> None:
        store = self.ctx.state.store
        if ann is None:
            store.remove(self.key)
        else:
            store.set_by_key(self.key, ann)
        self.ctx.state.annotationChanged.emit()

    def redo(self) -> None:
        self._apply(self.new)

    def undo(self) -> None:
        self._apply(self.old)


class CommandContext:
    """What commands act on: the window (parent of dialogs), its `AppState` and the undo stack."""

    def __init__(self, window: "MainWindow") -> None:
        self.window = window
        self.state = window.state
        self.undo_stack = QUndoStack(window)
        self.undo_stack.cleanChanged.connect(self._clean_changed)
        self.notices_shown: set[str] = set()  # "annotations found from an earlier location" told already

    def execute(self, command: type["AppCommand"], **params) -> bool:
        """Run ``command``: returns False when ``ask`` declined (cancelled dialog, nothing to do)."""
        cmd = command()
        if not cmd.ask(self, params):
            return False
        cmd.do_action(self, params)
        return True

    def edit_annotation(self, text: str, **changes) -> None:
        """Push an undoable change of the current clip's annotation fields."""
        clip, store = self.state.clip, self.state.store
        if clip is None or store is None:
            return
        key = clip_key(clip)
        old = store.get(key)
        current = self.state.annotation()
        new = replace(current, **changes)
        if new == current and old is not None:
            return
        self.undo_stack.push(AnnotationEdit(self, key, old, new, text))

    def mark_saved(self) -> None:
        self.undo_stack.setClean()

    def _clean_changed(self, clean: bool) -> None:
        if clean and self.state.store is not None:
            self.state.store.dirty = False
            self.state.annotationChanged.emit()

    def confirm_discard(self) -> bool:
        """Before the document goes away: ask to save unsaved annotations. False = the user cancelled."""
        store = self.state.store
        if store is None or not store.dirty:
            return True
        self.window.annotation_panel.commit_notes()
        choice = dialogs.ask_save_discard_cancel(
            self.window, "Unsaved annotations",
            f"The annotations of {self.state.source_path.name if self.state.source_path else 'this clip'} "
            "have unsaved changes. Save them?")
        if choice == "cancel":
            return False
        if choice == "save":
            return self.execute(SaveAnnotations) and not store.dirty
        store.discard_autosave()
        return True


class AppCommand:
    """Base class: override ``ask`` (optional) and ``do_action``."""

    def ask(self, ctx: CommandContext, params: dict) -> bool:
        """Fill ``params`` interactively; return False to cancel."""
        return True

    def do_action(self, ctx: CommandContext, params: dict) -> None:
        raise NotImplementedError


# ---- opening -----------------------------------------------------------------------------------
class OpenPath(AppCommand):
    """Open a video, frame folder or database root in a worker (`MainWindow.run_blocking`: the GUI never waits on
    a probe or a frame index). params: ``path`` (asked when missing), ``folder`` (bool), ``fps`` (frame rate of a
    bare frame folder, remembered for it; default: the rate remembered for the folder, else unknown), ``sheet``
    (the database's annotation sheet; default: the sheet remembered for the root, else the usual one in or beside
    it), ``choose_sheet`` (bool: ask for the root, then for its sheet: File ▸ Open database with sheet…).

    A database root whose sheet is not found (`SheetMissing`) gets a question offering to choose the sheet; a
    sheet that opens the database is remembered for its root."""

    def ask(self, ctx, params):
        if not params.get("path"):
            if params.get("folder") or params.get("choose_sheet"):
                params["path"] = dialogs.open_folder(ctx.window, "Open a frame folder or database root")
            else:
                params["path"] = dialogs.open_file(ctx.window, "Open a video")
        if params.get("path") and params.get("choose_sheet") and not params.get("sheet"):
            params["sheet"] = dialogs.open_file(ctx.window, f"Annotation sheet of {Path(params['path']).name}",
                                                dialogs.SHEET_FILTER, str(Path(params["path"]).parent))
            if not params["sheet"]:
                return False
        return bool(params["path"]) and ctx.confirm_discard()

    def do_action(self, ctx, params):
        from cmnet_core.data.readers import IndexCancelled

        path = Path(params["path"])
        given = params.get("fps")
        fps = given or (ctx.window.remembered_fps(path) if path.is_dir() else None)
        sheet = params.get("sheet") or (ctx.window.remembered_sheet(path) if path.is_dir() else None)
        data_dir, sheet_for_root = ctx.window.data_dir(), ctx.window.sheet_lookup()

        def work(progress, cancelled):
            """Open the path and choose its annotation store (identity hashing, database lookups) off the GUI
            thread."""
            found = open_path(path, fps=fps, cancelled=cancelled, sheet=sheet, sheet_for_root=sheet_for_root)
            return (*found, open_store(path, found[0], found[1], data_dir))

        try:
            clips, database, skipped, opened = ctx.window.run_blocking(work, f"Opening {path.name}…")
        except IndexCancelled:
            ctx.window.statusBar().showMessage(f"Opening {path} cancelled.", 5000)
            return
        except SheetMissing as exc:
            if params.get("sheet") or not exc.kind:   # the chosen sheet does not fit: say so
                dialogs.error(ctx.window, "Cannot open", str(exc))
                return
            if sheet:                                  # a remembered sheet that no longer works: forget it
                ctx.window.remember_sheet(exc.root, None)
            if dialogs.ask_yes_no(ctx.window, "Annotation sheet not found", f"{exc}\n\nChoose the sheet file now?",
                                  default=False):
                chosen = dialogs.open_file(ctx.window, f"Annotation sheet of {exc.root.name}", dialogs.SHEET_FILTER,
                                           str(exc.root.parent))
                if chosen:
                    self.do_action(ctx, {**params, "sheet": chosen})
                    return
            dialogs.error(ctx.window, "Cannot open", str(exc))
            return
        except OpenError as exc:
            dialogs.error(ctx.window, "Cannot open", str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - a reader bug must not take the window down
            dialogs.error(ctx.window, "Cannot open", f"{path}: unexpected error while opening ({exc}).")
            return
        if given and database is None and len(clips) == 1 and ctx.window.is_bare_folder(clips[0]):
            ctx.window.remember_fps(path, given)
        if params.get("sheet") and database is not None:
            ctx.window.remember_sheet(database.root, params["sheet"])   # also when a clip folder of it was opened
        ctx.window.show_document(path, opened.clips, database, opened.store)
        if opened.status:
            ctx.window.statusBar().showMessage(opened.status, 10000)
        if opened.notice and opened.notice not in ctx.notices_shown:
            ctx.notices_shown.add(opened.notice)  # once per session; the next save records the new location
            dialogs.info(ctx.window, "Annotations found", opened.notice)
        if skipped:
            dialogs.error(ctx.window, "Some files not opened", f"{len(skipped)} file(s) of {path} could not be "
                          "opened and are not in the clip list:\n" + "\n".join(skipped))


class SetMark(AppCommand):
    """Set ``kind`` (onset/apex/offset) to the current frame, or clear it with ``clear=True``."""

    def do_action(self, ctx, params):
        kind = params["kind"]
        value = None if params.get("clear") else int(params.get("frame", ctx.state.frame))
        changes = {kind: value}
        if kind == "apex":
            changes["apex_source"] = "annotated" if value is not None else ""
        verb = "Clear" if value is None else f"Set {kind} = {value}:"
        ctx.edit_annotation(f"{verb} {kind}" if value is None else verb[:-1], **changes)


class SetField(AppCommand):
    """Set ``name`` (``emotion``, ``aus``, ``notes``) to ``value`` on the current clip."""

    def do_action(self, ctx, params):
        name, value = params["name"], params["value"]
        if name == "emotion":
            value = value or None
        if getattr(ctx.state.annotation(), name) == value:
            return  # focus left a field, or the autosave timer committed unchanged notes: no edit, nothing dirty
        ctx.edit_annotation(f"Set {name}", **{name: value})


class GoToFrame(AppCommand):
    """Go to ``frame`` (asked when missing); ``delta`` steps instead; ``end`` = "first"/"last"."""

    def ask(self, ctx, params):
        nums = ctx.state.frame_numbers()
        if not nums:
            return False
        if "frame" not in params and "delta" not in params and "end" not in params:
            v = dialogs.ask_frame(ctx.window, ctx.state.frame, nums[0], nums[-1])
            if v is None:
                return False
            params["frame"] = v
        return True

    def do_action(self, ctx, params):
        if "delta" in params:
            ctx.state.step(int(params["delta"]))
        elif "end" in params:
            nums = ctx.state.frame_numbers()
            ctx.state.set_frame(nums[0] if params["end"] == "first" else nums[-1])
        else:
            ctx.state.set_frame(params["frame"])


# ---- saving and CSV --------------------------------------------------------------------------
class SaveAnnotations(AppCommand):
    """Save the annotation store atomically (``path`` = save as)."""

    def ask(self, ctx, params):
        if ctx.state.store is None:
            return False
        if params.get("save_as") and not params.get("path"):
            params["path"] = dialogs.save_file(ctx.window, "Save annotations as", str(ctx.state.store.path),
                                               "Annotations (*.json)")
            return bool(params["path"])
        return True

    def do_action(self, ctx, params):
        ctx.window.annotation_panel.commit_notes()
        store = ctx.state.store
        try:
            store.save(params.get("path"))
        except OSError as exc:
            dialogs.error(ctx.window, "Annotations not saved",
                          f"Could not write {store.path} ({exc}). The previous file is unchanged. Choose "
                          "File ▸ Save annotations as… to save elsewhere.")
            params["failed"] = True
            return
        ctx.mark_saved()
        ctx.state.annotationChanged.emit()
        ctx.window.statusBar().showMessage(f"Annotations saved to {store.path}", 5000)


class ExportCSV(AppCommand):
    """Export all annotations (the store over the database's own) as a CASME II-style CSV to ``path``."""

    def ask(self, ctx, params):
        if ctx.state.store is None:
            return False
        if not params.get("path"):
            params["path"] = dialogs.save_file(ctx.window, "Export annotations as CSV",
                                               str(Path(ctx.state.store.path).with_suffix(".csv")), "CSV (*.csv)")
        return bool(params["path"])

    def do_action(self, ctx, params):
        ctx.window.annotation_panel.commit_notes()
        try:
            export_csv(params["path"], ctx.window.all_records())
        except OSError as exc:
            dialogs.error(ctx.window, "Export failed", f"Could not write {params['path']} ({exc}).")
            return
        ctx.window.statusBar().showMessage(f"Exported {params['path']}", 5000)


class ImportCSV(AppCommand):
    """Import a CASME II-style CSV into the store, undoable.

    Rows are matched to the opened clips by Subject + Filename (`match_records`: CASME II's ``01`` finds
    ``sub01``; a row is never moved to another subject's clip of the same name); only the columns the sheet
    has are imported (`merge_imported`). The status bar gives the counts; rows left out are listed with
    their row number and reason in a message.
    """

    def ask(self, ctx, params):
        if ctx.state.store is None:
            return False
        if not params.get("path"):
            params["path"] = dialogs.open_file(ctx.window, "Import annotations (CSV)", "CSV (*.csv);;All files (*)")
        return bool(params["path"])

    def do_action(self, ctx, params):
        try:
            sheet = read_csv_annotations(params["path"])
        except AnnotationFileError as exc:
            dialogs.error(ctx.window, "Cannot import", f"{exc}\n\nNothing was changed.")
            return
        store = ctx.state.store
        clips = {clip_key(c): c for c in ctx.state.clips}
        result = match_records(sheet.records, list(clips))
        name = Path(params["path"]).name
        left_out = list(sheet.problems)
        ctx.undo_stack.beginMacro(f"Import {name}")
        imported = 0
        for rec, key in result.matched:
            new = merge_imported(store.annotation_for(clips[key]), rec.annotation, sheet.fields)
            misfit = new.validate(clips[key].frame_numbers)   # marks outside this clip's frames
            if misfit:
                left_out.append(f"row {rec.row} ({rec.subject}/{rec.name}): {'; '.join(misfit)}")
                continue
            ctx.undo_stack.push(AnnotationEdit(ctx, key, store.get(key), new, f"Import {rec.name}"))
            imported += 1
        ctx.undo_stack.endMacro()
        ctx.window.refresh_clip_list()
        summary = result.summary(name)
        if left_out:
            summary = (f"Imported {imported} row(s) from {name}; {len(left_out)} row(s) that do not fit were "
                       "left out:\n" + "\n".join(f"  {p}" for p in left_out[:20])
                       + (f"\n  … and {len(left_out) - 20} more" if len(left_out) > 20 else "") + "\n" + summary)
        ctx.window.statusBar().showMessage(summary.splitlines()[0], 8000)
        if result.unmatched or result.ambiguous or left_out:
            dialogs.info(ctx.window, "Some rows not imported", summary)


# ---- prediction -------------------------------------------------------------------------------
class LoadCheckpoint(AppCommand):
    """Load a checkpoint (``path`` asked when missing) in a worker; the panel shows its metadata."""

    def ask(self, ctx, params):
        if not params.get("path"):
            params["path"] = dialogs.open_file(ctx.window, "Choose a CMNet checkpoint",
                                               "Checkpoints (*.pt *.pth *.ckpt *.safetensors);;All files (*)")
        return bool(params["path"])

    def do_action(self, ctx, params):
        ctx.window.load_checkpoint(params["path"], params.get("device"))


class RunPrediction(AppCommand):
    """Predict the current clip in a worker thread (progress, cancel)."""

    def ask(self, ctx, params):
        if ctx.state.clip is None:
            return False
        if ctx.state.predictor is None:
            dialogs.error(ctx.window, "No checkpoint", "Choose a checkpoint first (Prediction ▸ Choose checkpoint…).")
            return False
        return True

    def do_action(self, ctx, params):
        ctx.window.start_prediction()


class ExportPlot(AppCommand):
    """Export the intensity plot as PNG/SVG, or the per-frame table as CSV, by ``path``'s suffix."""

    def ask(self, ctx, params):
        if not params.get("path"):
            stem = (ctx.state.clip.name if ctx.state.clip is not None else "intensity") + "_intensity"
            params["path"] = dialogs.save_file(ctx.window, "Export intensity plot", stem + ".png",
                                               "PNG image (*.png);;SVG drawing (*.svg);;Per-frame table (*.csv)")
        return bool(params["path"])

    def do_action(self, ctx, params):
        path = Path(params["path"])
        try:
            if path.suffix.lower() == ".csv":
                if ctx.state.prediction is None:
                    dialogs.error(ctx.window, "Nothing to export", "Run a prediction first; the CSV is its "
                                  "per-frame table (frame, time, k_n, prototype mean, σ).")
                    return
                ctx.state.prediction.write_csv(path)
            else:
                ctx.window.intensity_plot.export_image(path)
        except (OSError, ValueError) as exc:
            dialogs.error(ctx.window, "Export failed", f"Nothing was exported to {path}:\n{exc}.")
            return
        ctx.window.statusBar().showMessage(f"Exported {path}", 5000)
