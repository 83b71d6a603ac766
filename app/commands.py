"""Every user action is a command object (SLEAP style): ``ask()`` gathers what is missing (file dialogs,
confirmations), ``do_action()`` does the work. Menus, keys and buttons all go through
`CommandContext.execute`, and tests call it with the parameters instead of clicking.

Commands act on the `Document`, the undo stack, a `Dialogs` seam and the `WindowHooks` (the few things only
the window can do); they never see the window itself. Annotation edits (`app.workspace.editing.Edit`) are pushed
on a `QUndoStack` as `AnnotationEdit` so that Ctrl+Z / Ctrl+Shift+Z work.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PySide6.QtGui import QUndoCommand, QUndoStack

from cmnet_core.data.annotation_io import AnnotationFileError, export_csv, read_csv_annotations
from cmnet_core.data.elan import TIME_UNITS, ElanError, left_out, read_eaf, write_eaf, write_tab_delimited

from .dialogs import SHEET_FILTER, Dialogs
from .settings import AppSettings
from .workspace.annotations import open_store
from .workspace.batch import BATCH_RUNNING
from .workspace.document import Document
from .workspace.editing import Edit, all_records, annotation_edit, apply_edit, field_value, import_plan, mark_change
from .workspace.opening import OpenError, SheetMissing, open_path
from .workspace.timing import is_bare_folder


class AnnotationEdit(QUndoCommand):
    """An `Edit` of the annotation store on the undo stack (``doc.annotation_changed`` after each apply)."""

    def __init__(self, doc: Document, edit: Edit) -> None:
        super().__init__(edit.text)
        self.doc, self.edit = doc, edit

    def redo(self) -> None:
        """Put the new annotation in the store."""
        apply_edit(self.doc.store, self.edit.key, self.edit.new)
        self.doc.annotation_changed.emit()

    def undo(self) -> None:
        """Put the old annotation back."""
        apply_edit(self.doc.store, self.edit.key, self.edit.old)
        self.doc.annotation_changed.emit()


@dataclass
class WindowHooks:
    """What commands ask of the window, as callbacks.

    Attributes: ``status(text, ms)`` a status-bar message; ``commit_notes()`` take the notes field being typed;
    ``run_blocking(fn, label)`` run ``fn(progress, cancelled)`` in a worker, keep the GUI responsive, return its
    result or raise its exception; ``show_document(path, clips, database, store)``; ``refresh_clip_list()``;
    ``load_checkpoint(path, device)``; ``start_prediction()``; ``export_plot(path)`` the intensity plot as an
    image; ``selected_clips()`` the indices of the clips selected in the clip list; ``start_batch(indices)``
    predict those clips in one worker task; ``prediction_running()`` what prediction runs now ("" when none: a
    batch and a single-clip prediction never run together); ``export_batch(path)`` the batch results as CSV
    (raises `OSError`, `ValueError` when there are none).
    """

    status: Callable[[str, int], None]
    commit_notes: Callable[[], None]
    run_blocking: Callable
    show_document: Callable
    refresh_clip_list: Callable[[], None]
    load_checkpoint: Callable
    start_prediction: Callable[[], None]
    export_plot: Callable[[Path], None]
    selected_clips: Callable[[], list[int]] = lambda: []             # noqa: E731 - no clip list: none selected
    start_batch: Callable[[list[int]], None] = lambda indices: None   # noqa: E731 - no window: nothing to run
    prediction_running: Callable[[], str] = lambda: ""                # noqa: E731
    export_batch: Callable[[Path], object] = lambda path: None        # noqa: E731


class CommandContext:
    """What commands act on: the document, the undo stack, the dialogs, the remembered settings and the
    window's hooks."""

    def __init__(self, doc: Document, undo_stack: QUndoStack, dialogs: Dialogs, settings: AppSettings,
                 hooks: WindowHooks) -> None:
        self.state = doc
        self.undo_stack = undo_stack
        self.dialogs = dialogs
        self.settings = settings
        self.hooks = hooks
        self.undo_stack.cleanChanged.connect(self._clean_changed)
        self._following = True
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
        edit = annotation_edit(self.state, text, **changes)
        if edit is not None:
            self.undo_stack.push(AnnotationEdit(self.state, edit))

    def mark_saved(self) -> None:
        """The store is saved: the undo stack's current state is the clean one."""
        self.undo_stack.setClean()

    def close(self) -> None:
        """Stop following the undo stack (before the window goes: clearing the stack on its destruction must
        not update destroyed widgets). Idempotent."""
        if self._following:
            self.undo_stack.cleanChanged.disconnect(self._clean_changed)
            self._following = False

    def _clean_changed(self, clean: bool) -> None:
        if clean and self.state.store is not None:
            self.state.store.dirty = False
            self.state.annotation_changed.emit()

    def confirm_discard(self) -> bool:
        """Before the document goes away: ask to save unsaved annotations. False = the user cancelled."""
        store = self.state.store
        if store is None or not store.dirty:
            return True
        self.hooks.commit_notes()
        choice = self.dialogs.ask_save_discard_cancel(
            "Unsaved annotations",
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
        """Do the work with the complete ``params``."""
        raise NotImplementedError


# ---- opening -----------------------------------------------------------------------------------
class OpenPath(AppCommand):
    """Open a video, frame folder or database root in a worker (`WindowHooks.run_blocking`: the GUI never waits on
    a probe or a frame index). params: ``path`` (asked when missing), ``folder`` (bool), ``fps`` (frame rate of a
    bare frame folder, remembered for it; default: the rate remembered for the folder, else unknown), ``sheet``
    (the database's annotation sheet; default: the sheet remembered for the root, else the usual one in or beside
    it), ``choose_sheet`` (bool: ask for the root, then for its sheet: File ▸ Open database with sheet…).

    A database root whose sheet is not found (`SheetMissing`) gets a question offering to choose the sheet; a
    sheet that opens the database is remembered for its root."""

    def ask(self, ctx, params):
        if not params.get("path"):
            if params.get("folder") or params.get("choose_sheet"):
                params["path"] = ctx.dialogs.open_folder("Open a frame folder or database root")
            else:
                params["path"] = ctx.dialogs.open_file("Open a video")
        if params.get("path") and params.get("choose_sheet") and not params.get("sheet"):
            params["sheet"] = ctx.dialogs.open_file(f"Annotation sheet of {Path(params['path']).name}",
                                                    SHEET_FILTER, str(Path(params["path"]).parent))
            if not params["sheet"]:
                return False
        return bool(params["path"]) and ctx.confirm_discard()

    def do_action(self, ctx, params):
        from cmnet_core.data.readers import IndexCancelled

        path = Path(params["path"])
        given = params.get("fps")
        fps = given or (ctx.settings.remembered_fps(path) if path.is_dir() else None)
        sheet = params.get("sheet") or (ctx.settings.remembered_sheet(path) if path.is_dir() else None)
        data_dir, sheet_for_root = ctx.settings.data_dir(), ctx.settings.sheet_lookup()

        def work(progress, cancelled):
            """Open the path and choose its annotation store (identity hashing, database lookups) off the GUI
            thread."""
            found = open_path(path, fps=fps, cancelled=cancelled, sheet=sheet, sheet_for_root=sheet_for_root)
            return (*found, open_store(path, found[0], found[1], data_dir))

        try:
            clips, database, skipped, opened = ctx.hooks.run_blocking(work, f"Opening {path.name}…")
        except IndexCancelled:
            ctx.hooks.status(f"Opening {path} cancelled.", 5000)
            return
        except SheetMissing as exc:
            if params.get("sheet") or not exc.kind:   # the chosen sheet does not fit: say so
                ctx.dialogs.error("Cannot open", str(exc))
                return
            if sheet:                                  # a remembered sheet that no longer works: forget it
                ctx.settings.remember_sheet(exc.root, None)
            if ctx.dialogs.ask_yes_no("Annotation sheet not found", f"{exc}\n\nChoose the sheet file now?",
                                      default=False):
                chosen = ctx.dialogs.open_file(f"Annotation sheet of {exc.root.name}", SHEET_FILTER,
                                               str(exc.root.parent))
                if chosen:
                    self.do_action(ctx, {**params, "sheet": chosen})
                    return
            ctx.dialogs.error("Cannot open", str(exc))
            return
        except OpenError as exc:
            ctx.dialogs.error("Cannot open", str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - a reader bug must not take the window down
            ctx.dialogs.error("Cannot open", f"{path}: unexpected error while opening ({exc}).")
            return
        if given and database is None and len(clips) == 1 and is_bare_folder(clips[0]):
            ctx.settings.remember_fps(path, given)
        if params.get("sheet") and database is not None:
            ctx.settings.remember_sheet(database.root, params["sheet"])   # also when a clip folder of it was opened
        ctx.hooks.show_document(path, opened.clips, database, opened.store)
        if opened.status:
            ctx.hooks.status(opened.status, 10000)
        if opened.notice and opened.notice not in ctx.notices_shown:
            ctx.notices_shown.add(opened.notice)  # once per session; the next save records the new location
            ctx.dialogs.info("Annotations found", opened.notice)
        if skipped:
            ctx.dialogs.error("Some files not opened", f"{len(skipped)} file(s) of {path} could not be "
                              "opened and are not in the clip list:\n" + "\n".join(skipped))


class SetMark(AppCommand):
    """Set ``kind`` (onset/apex/offset) to the current frame (while playing: the frame on screen,
    `Document.mark_frame`), or clear it with ``clear=True``."""

    def do_action(self, ctx, params):
        value = None if params.get("clear") else int(params.get("frame", ctx.state.mark_frame()))
        text, changes = mark_change(params["kind"], value)
        ctx.edit_annotation(text, **changes)


class SetField(AppCommand):
    """Set ``name`` (``emotion``, ``aus``, ``notes``) to ``value`` on the current clip."""

    def do_action(self, ctx, params):
        name = params["name"]
        value = field_value(name, params["value"])
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
            v = ctx.dialogs.ask_frame(ctx.state.frame, nums[0], nums[-1])
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
            params["path"] = ctx.dialogs.save_file("Save annotations as", str(ctx.state.store.path),
                                                   "Annotations (*.json)")
            return bool(params["path"])
        return True

    def do_action(self, ctx, params):
        ctx.hooks.commit_notes()
        store = ctx.state.store
        try:
            store.save(params.get("path"))
        except OSError as exc:
            ctx.dialogs.error("Annotations not saved",
                              f"Could not write {store.path} ({exc}). The previous file is unchanged. Choose "
                              "File ▸ Save annotations as… to save elsewhere.")
            params["failed"] = True
            return
        ctx.mark_saved()
        ctx.state.annotation_changed.emit()
        ctx.hooks.status(f"Annotations saved to {store.path}", 5000)


class ExportCSV(AppCommand):
    """Export all annotations (the store over the database's own) as a CASME II-style CSV to ``path``."""

    def ask(self, ctx, params):
        if ctx.state.store is None:
            return False
        if not params.get("path"):
            params["path"] = ctx.dialogs.save_file("Export annotations as CSV",
                                                   str(Path(ctx.state.store.path).with_suffix(".csv")), "CSV (*.csv)")
        return bool(params["path"])

    def do_action(self, ctx, params):
        ctx.hooks.commit_notes()
        try:
            export_csv(params["path"], all_records(ctx.state))
        except OSError as exc:
            ctx.dialogs.error("Export failed", f"Could not write {params['path']} ({exc}).")
            return
        ctx.hooks.status(f"Exported {params['path']}", 5000)


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
            params["path"] = ctx.dialogs.open_file("Import annotations (CSV)", "CSV (*.csv);;All files (*)")
        return bool(params["path"])

    def do_action(self, ctx, params):
        try:
            sheet = read_csv_annotations(params["path"])
        except AnnotationFileError as exc:
            ctx.dialogs.error("Cannot import", f"{exc}\n\nNothing was changed.")
            return
        name = Path(params["path"]).name
        plan = import_plan(ctx.state, sheet, name)
        ctx.undo_stack.beginMacro(f"Import {name}")
        for edit in plan.edits:
            ctx.undo_stack.push(AnnotationEdit(ctx.state, edit))
        ctx.undo_stack.endMacro()
        ctx.hooks.refresh_clip_list()
        summary = plan.summary(name)
        ctx.hooks.status(summary.splitlines()[0], 8000)
        if plan.needs_message():
            ctx.dialogs.info("Some rows not imported", summary)


# ---- ELAN exchange ----------------------------------------------------------------------------
#: File filters of the ELAN export: the .eaf itself, or ELAN's tab-delimited text.
ELAN_FILTER = "ELAN annotation file (*.eaf);;Tab-delimited text, as ELAN exports it (*.txt)"


class ExportELAN(AppCommand):
    """Export the current clip's annotation as an ELAN ``.eaf`` (tiers ME, apex, AU, notes; times in ms from the
    decoded timestamps; the video linked) or, for a ``.txt`` path, as ELAN-style tab-delimited text in ``unit``
    (`cmnet_core.data.elan.TIME_UNITS`, asked when missing)."""

    def ask(self, ctx, params):
        if ctx.state.clip is None:
            return False
        if not params.get("path"):
            params["path"] = ctx.dialogs.save_file("Export annotation for ELAN", ctx.state.clip.name + ".eaf",
                                                   ELAN_FILTER)
        if params["path"] and Path(params["path"]).suffix.lower() == ".txt" and not params.get("unit"):
            params["unit"] = ctx.dialogs.choose("Time unit", "Times in the tab-delimited text:", list(TIME_UNITS))
            return bool(params["unit"])
        return bool(params["path"])

    def do_action(self, ctx, params):
        ctx.hooks.commit_notes()
        path, clip = Path(params["path"]), ctx.state.clip
        try:
            if path.suffix.lower() == ".txt":
                write_tab_delimited(path, [ctx.state.annotation()], clip, params["unit"])
            else:
                write_eaf(path, [ctx.state.annotation()], clip)
        except (OSError, ValueError) as exc:
            ctx.dialogs.error("Export failed", f"Nothing was exported to {path}:\n{exc}.")
            return
        ctx.hooks.status(f"Exported {path}", 5000)
        warnings = []
        missing = left_out(ctx.state.annotation())
        if missing:
            warnings.append("Not in the file: " + "; ".join(missing) + " (an ELAN interval needs both onset and "
                            "offset).")
        if clip.time_source == "assumed":
            warnings.append(f"The times assume {clip.fps:g} fps: this frame folder has no frame rate of its own. "
                            "Set it in the frame-rate field under the frame and export again for real times.")
        if warnings:
            ctx.dialogs.info("Exported with gaps", f"{path}\n\n" + "\n\n".join(warnings))


class ImportELAN(AppCommand):
    """Read the current clip's annotation from an ELAN ``.eaf`` (`read_eaf`: the first micro-expression of its
    ME tier with the apex, AUs and notes inside it), undoable. Several micro-expressions in the file: the first is
    taken and the message says how many there were."""

    def ask(self, ctx, params):
        if ctx.state.clip is None or ctx.state.store is None:
            return False
        if not params.get("path"):
            params["path"] = ctx.dialogs.open_file("Import annotation from ELAN",
                                                   "ELAN annotation file (*.eaf);;All files (*)")
        return bool(params["path"])

    def do_action(self, ctx, params):
        path = Path(params["path"])
        try:
            found = read_eaf(path, ctx.state.clip)
        except (ElanError, OSError) as exc:
            ctx.dialogs.error("Cannot import", f"{exc}\n\nNothing was changed.")
            return
        if not found:
            ctx.dialogs.error("Nothing to import", f"{path} holds no annotation on its ME or apex tier.\n\n"
                              "Nothing was changed.")
            return
        first = found[0]
        ctx.edit_annotation(f"Import {path.name}", onset=first.onset, apex=first.apex, offset=first.offset,
                            emotion=first.emotion, aus=first.aus, notes=first.notes, apex_source=first.apex_source)
        ctx.hooks.refresh_clip_list()
        ctx.hooks.status(f"Imported {path.name} into {ctx.state.clip.name}", 8000)
        if len(found) > 1:
            ctx.dialogs.info("Several micro-expressions", f"{path.name} holds {len(found)} micro-expressions; the "
                             "first (in time) was imported, as a clip holds one annotation.")


# ---- prediction -------------------------------------------------------------------------------
class LoadCheckpoint(AppCommand):
    """Load a checkpoint (``path`` asked when missing) in a worker; the panel shows its metadata."""

    def ask(self, ctx, params):
        if not params.get("path"):
            params["path"] = ctx.dialogs.open_file("Choose a CMNet checkpoint",
                                                   "Checkpoints (*.pt *.pth *.ckpt *.safetensors);;All files (*)")
        return bool(params["path"])

    def do_action(self, ctx, params):
        ctx.hooks.load_checkpoint(params["path"], params.get("device"))


class RunPrediction(AppCommand):
    """Predict the current clip in a worker thread (progress, cancel)."""

    def ask(self, ctx, params):
        if ctx.state.clip is None:
            return False
        if ctx.state.predictor is None:
            ctx.dialogs.error("No checkpoint", "Choose a checkpoint first (Prediction ▸ Choose checkpoint…).")
            return False
        if ctx.hooks.prediction_running() == BATCH_RUNNING:
            ctx.dialogs.error("Prediction running", "Wait for the batch prediction to finish, or cancel it "
                              "(Batch results ▸ Cancel); its results include this clip when it was selected.")
            return False
        return True

    def do_action(self, ctx, params):
        ctx.hooks.start_prediction()


class ExportPlot(AppCommand):
    """Export the intensity plot as PNG/SVG, or the per-frame table as CSV, by ``path``'s suffix."""

    def ask(self, ctx, params):
        if not params.get("path"):
            stem = (ctx.state.clip.name if ctx.state.clip is not None else "intensity") + "_intensity"
            params["path"] = ctx.dialogs.save_file("Export intensity plot", stem + ".png",
                                                   "PNG image (*.png);;SVG drawing (*.svg);;Per-frame table (*.csv)")
        return bool(params["path"])

    def do_action(self, ctx, params):
        path = Path(params["path"])
        try:
            if path.suffix.lower() == ".csv":
                if ctx.state.prediction is None:
                    ctx.dialogs.error("Nothing to export", "Run a prediction first; the CSV is its "
                                      "per-frame table (frame, time, k_n, prototype mean, σ).")
                    return
                ctx.state.prediction.write_csv(path)
            else:
                ctx.hooks.export_plot(path)
        except (OSError, ValueError) as exc:
            ctx.dialogs.error("Export failed", f"Nothing was exported to {path}:\n{exc}.")
            return
        ctx.hooks.status(f"Exported {path}", 5000)


# ---- batch prediction ---------------------------------------------------------------------------
class RunBatch(AppCommand):
    """Predict several clips of the document in one worker task (progress, Cancel; a failed clip does not stop
    the others); the results table shows them. ``all`` True: every clip; else the clips selected in the clip list
    (or the only clip); ``indices`` given: those."""

    def ask(self, ctx, params):
        doc = ctx.state
        if not doc.clips:
            return False
        if doc.predictor is None:
            ctx.dialogs.error("No checkpoint", "Choose a checkpoint first (Prediction ▸ Choose checkpoint…).")
            return False
        running = ctx.hooks.prediction_running()
        if running:
            ctx.dialogs.error("Prediction running", f"Wait for {running} to finish, or cancel it.")
            return False
        if params.get("all"):
            params["indices"] = list(range(len(doc.clips)))
        elif params.get("indices") is None:
            params["indices"] = ctx.hooks.selected_clips() or ([0] if len(doc.clips) == 1 else [])
        if not params["indices"]:
            ctx.dialogs.error("No clips selected", "Select clips in the Clips list (Ctrl+click or Shift+click for "
                              "several), or use Prediction ▸ Run on all clips.")
            return False
        return True

    def do_action(self, ctx, params):
        ctx.hooks.start_batch(list(params["indices"]))


class ExportBatchCSV(AppCommand):
    """Export the batch results table as CSV (UTF-8 with BOM, one header row: the columns of cmnet predict's
    predictions.csv)."""

    def ask(self, ctx, params):
        if not params.get("path"):
            stem = ctx.state.source_path.stem if ctx.state.source_path is not None else "batch"
            params["path"] = ctx.dialogs.save_file("Export batch results", f"{stem}_predictions.csv",
                                                   "CSV table (*.csv)")
        return bool(params["path"])

    def do_action(self, ctx, params):
        path = Path(params["path"])
        try:
            ctx.hooks.export_batch(path)
        except (OSError, ValueError) as exc:
            ctx.dialogs.error("Export failed", f"Nothing was exported to {path}:\n{exc}")
            return
        ctx.hooks.status(f"Exported {path}", 5000)
