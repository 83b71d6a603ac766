"""The one table of the window's actions: menu entries, their keys, what they run, and the keys help.

`ACTIONS` builds the menus (`app.menus.build_menus`), the F1 help (`help_text`) and the README's keys table
(`readme_rows`; tests/app/test_actions_table.py fails when the README differs). To add a shortcut, add or edit a
row here and copy the README rows the test prints. Plain data: no Qt here.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ActionSpec:
    """One action of the window.

    Attributes
    ----------
    name : unique id; the window's QAction is ``window.actions_by_name[name]``.
    text : menu text (``&`` marks the mnemonic).
    menu : title of the menu it is in.
    command : name of an `app.commands` class run through `CommandContext.execute` with ``params``; or
    handler : dotted attribute path of a method of the window run with ``args`` (``"playback.toggle"``); or
        neither, for actions the window makes itself (``undo``, ``redo`` from the undo stack, ``clips`` and
        ``batch_results`` the docks' toggles, ``recent`` the Open recent submenu).
    keys : the shortcuts, portable `QKeySequence` strings (the first is the main one).
    standard : a `QKeySequence.StandardKey` name used for the binding instead of ``keys`` (the platform's own key;
        ``keys`` then documents it as on Linux and Windows).
    help : the keys-table row (README, F1) this action's keys are listed in; required when there are keys.
    tip : status-bar tip.
    checkable : a toggle (its handler receives the new state).
    separator_before : a separator above it in its menu.
    """

    name: str
    text: str
    menu: str
    command: str = ""
    params: dict = field(default_factory=dict)
    handler: str = ""
    args: tuple = ()
    keys: tuple[str, ...] = ()
    standard: str = ""
    help: str = ""
    tip: str = ""
    checkable: bool = False
    separator_before: bool = False


MENUS = ("&File", "&Edit", "&View", "&Navigate", "&Annotate", "&Prediction", "&Training", "&Help")

_A = ActionSpec
ACTIONS: tuple[ActionSpec, ...] = (
    # File
    _A("open_video", "&Open video…", "&File", command="OpenPath", keys=("Ctrl+O",), standard="Open",
       help="open a video / a frame folder or database / a database with its annotation sheet"),
    _A("open_folder", "Open frame &folder or database…", "&File", command="OpenPath", params={"folder": True},
       keys=("Ctrl+Shift+O",), help="open a video / a frame folder or database / a database with its annotation sheet"),
    _A("open_with_sheet", "Open database with s&heet…", "&File", command="OpenPath", params={"choose_sheet": True},
       keys=("Ctrl+Alt+O",), help="open a video / a frame folder or database / a database with its annotation sheet",
       tip="choose a database root, then its annotation sheet (when it is not in or beside the root)"),
    _A("recent", "Open &recent", "&File"),
    _A("save", "&Save annotations", "&File", command="SaveAnnotations", keys=("Ctrl+S",), standard="Save",
       help="save annotations / save them as…", separator_before=True),
    _A("save_as", "Save annotations &as…", "&File", command="SaveAnnotations", params={"save_as": True},
       keys=("Ctrl+Shift+S",), help="save annotations / save them as…"),
    _A("export_csv", "&Export annotations as CSV…", "&File", command="ExportCSV", keys=("Ctrl+E",),
       help="export / import annotations as CSV (CASME II coding-sheet columns)"),
    _A("import_csv", "&Import annotations from CSV…", "&File", command="ImportCSV", keys=("Ctrl+I",),
       help="export / import annotations as CSV (CASME II coding-sheet columns)"),
    _A("export_elan", "Export annotation for E&LAN…", "&File", command="ExportELAN",
       tip="an ELAN .eaf (tiers ME, apex, AU, notes; times from the video's timestamps) or tab-delimited text"),
    _A("import_elan", "Import annotation from ELA&N…", "&File", command="ImportELAN",
       tip="the first micro-expression of an ELAN .eaf's ME tier, with its apex, AUs and notes"),
    _A("export_plot", "Export intensity &plot / table…", "&File", command="ExportPlot", keys=("Ctrl+Shift+E",),
       help="export the intensity plot (PNG, SVG) and its per-frame table (CSV)"),
    _A("quit", "&Quit", "&File", handler="close", standard="Quit", separator_before=True),
    # Edit
    _A("undo", "&Undo", "&Edit", keys=("Ctrl+Z",), standard="Undo", help="undo / redo"),
    _A("redo", "&Redo", "&Edit", keys=("Ctrl+Shift+Z", "Ctrl+Y"), help="undo / redo"),
    # View
    _A("zoom_in", "Zoom &in", "&View", handler="frame_view.zoom", args=(0.8,), keys=("Ctrl++",), standard="ZoomIn",
       help="zoom in / out (also Ctrl+wheel), fit the frame"),
    _A("zoom_out", "Zoom &out", "&View", handler="frame_view.zoom", args=(1.25,), keys=("Ctrl+-",),
       standard="ZoomOut", help="zoom in / out (also Ctrl+wheel), fit the frame"),
    _A("fit", "&Fit frame", "&View", handler="frame_view.fit", keys=("Ctrl+0",),
       help="zoom in / out (also Ctrl+wheel), fit the frame"),
    _A("overlay", "Face &landmark overlay", "&View", handler="viewer.set_overlay", checkable=True, keys=("L",),
       help="face-crop and landmark overlay"),
    _A("clips", "Clips", "&View"),
    _A("magnified", "&Magnified view", "&View", handler="toggle_magnified", keys=("M",),
       help="magnified view on / off (Eulerian magnification; α and the band in the Motion panel)",
       tip="the clip's small motions amplified α times (Wu et al. 2012), alone or beside the original"),
    _A("motion_map", "Motion ma&p", "&View", handler="toggle_motion_map", keys=("N",),
       help="motion map on / off (optical flow from the onset or the previous frame, head motion removed)",
       tip="where and how far the face moved since the onset, drawn over the frame"),
    _A("magnify_panel", "Motion panel", "&View"),
    _A("candidates", "Candidates (spotting)", "&View"),
    _A("batch_results", "Batch results", "&View"),
    # Navigate
    _A("play", "&Play / pause", "&Navigate", handler="playback.toggle", keys=("Space",),
       help="play / pause (speed 0.1×–1× of real time, frames shown at their pts)"),
    _A("previous", "Previous frame", "&Navigate", command="GoToFrame", params={"delta": -1}, keys=("Left",),
       help="one frame back / forward"),
    _A("next", "Next frame", "&Navigate", command="GoToFrame", params={"delta": 1}, keys=("Right",),
       help="one frame back / forward"),
    _A("back10", "Back 10 frames", "&Navigate", command="GoToFrame", params={"delta": -10}, keys=("Ctrl+Left",),
       help="10 frames back / forward"),
    _A("forward10", "Forward 10 frames", "&Navigate", command="GoToFrame", params={"delta": 10},
       keys=("Ctrl+Right",), help="10 frames back / forward"),
    _A("first", "First frame", "&Navigate", command="GoToFrame", params={"end": "first"}, keys=("Home",),
       help="first / last frame"),
    _A("last", "Last frame", "&Navigate", command="GoToFrame", params={"end": "last"}, keys=("End",),
       help="first / last frame"),
    _A("go_to", "&Go to frame…", "&Navigate", command="GoToFrame", keys=("Ctrl+G",), help="go to frame"),
    # Annotate
    *(_A(f"set_{kind}", f"Set {kind} to current frame", "&Annotate", command="SetMark", params={"kind": kind},
         keys=(key,), help="set onset / apex / offset to the current frame")
      for kind, key in (("onset", "O"), ("apex", "A"), ("offset", "F"))),
    _A("accept_candidate", "Accept spotted &candidate as annotation", "&Annotate", handler="spotting.accept",
       keys=("K",), help="accept the selected spotted candidate as the clip's annotation",
       tip="onset, apex and offset of the candidate selected in the Candidates panel (undoable)"),
    # Prediction
    _A("choose_checkpoint", "&Choose checkpoint…", "&Prediction", command="LoadCheckpoint", keys=("Ctrl+K",),
       help="choose checkpoint, run prediction, cancel"),
    _A("predict", "&Run on current clip", "&Prediction", command="RunPrediction", keys=("Ctrl+R",),
       help="choose checkpoint, run prediction, cancel"),
    _A("cancel", "Ca&ncel", "&Prediction", handler="prediction.cancel", keys=("Esc",),
       help="choose checkpoint, run prediction, cancel"),
    _A("predict_selected", "Run on &selected clips", "&Prediction", command="RunBatch", separator_before=True,
       tip="predict the clips selected in the Clips list (Ctrl/Shift+click) in one background run; results table"),
    _A("predict_all", "Run on &all clips", "&Prediction", command="RunBatch", params={"all": True},
       tip="predict every clip of the open database or folder in one background run; results table"),
    _A("cancel_batch", "Cancel &batch", "&Prediction", handler="batch.cancel"),
    _A("export_batch", "&Export batch results as CSV…", "&Prediction", command="ExportBatchCSV",
       tip="the batch results table as CSV (UTF-8 with BOM; the columns of cmnet predict's predictions.csv)"),
    # Training
    _A("new_run", "&New training run…", "&Training", handler="training.new_run",
       tip="Train or evaluate CMNet (LOSO, fine-tune, final model) in a separate process"),
    _A("runs", "&Runs…", "&Training", handler="training.show_runs",
       tip="Compare training runs; use a model for prediction"),
    # Help
    _A("shortcuts", "&Keyboard shortcuts", "&Help", handler="show_shortcuts", keys=("F1",),
       help="this list of keyboard shortcuts"),
)

#: How keys are written in the help: arrows as arrows.
_KEY_WORDS = {"Left": "←", "Right": "→", "Up": "↑", "Down": "↓"}


def spec(name: str) -> ActionSpec:
    """The entry called ``name`` (KeyError when there is none)."""
    for a in ACTIONS:
        if a.name == name:
            return a
    raise KeyError(name)


def key_text(key: str) -> str:
    """``"Ctrl+Left"`` → ``"Ctrl+←"``: a portable key string as the help writes it."""
    return "+".join(_KEY_WORDS.get(part, part) for part in key.split("+"))


def keys_text(a: ActionSpec) -> str:
    """An action's keys as the help writes them (``"Ctrl+Shift+Z or Ctrl+Y"``)."""
    return " or ".join(key_text(k) for k in a.keys)


def tooltip(name: str) -> str:
    """A button's tooltip for action ``name``: its text and main key (``"Previous frame (←)"``)."""
    a = spec(name)
    return f"{a.text.replace('&', '')} ({key_text(a.keys[0])})" if a.keys else a.text.replace("&", "")


def help_rows(actions=ACTIONS) -> list[tuple[str, str]]:
    """The keys table: (what, keys) per help row, in the order rows first appear in ``actions``; the keys of the
    row's actions are joined with `` / ``."""
    rows: dict[str, list[str]] = {}
    for a in actions:
        if a.keys:
            rows.setdefault(a.help, []).append(keys_text(a))
    return [(what, " / ".join(keys)) for what, keys in rows.items()]


def readme_rows(actions=ACTIONS) -> list[str]:
    """The README's keys table as Markdown lines (header included)."""
    return ["| action | keys |", "| --- | --- |"] + [f"| {what} | {keys} |" for what, keys in help_rows(actions)]


def help_text(actions=ACTIONS) -> str:
    """The F1 help: one line per row, keys first."""
    return "\n".join(f"{keys}   {what}" for what, keys in help_rows(actions))
