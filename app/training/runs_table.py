"""The runs table: every run folder under the runs root (`cmnet_core.train.run_index`) with its scores, date
and settings; sortable by any column; a finished model goes to the prediction panel in one click; a cancelled or
killed run started from the app is resumed in one click (`app.training.resume`)."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton, QSplitter,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from cmnet_core.train.config_fields import Field, registry
from cmnet_core.train.run_index import RunRecord, confusion_results, list_runs

from .. import dialogs
from .resume import launch_alive, read_launch, resume_offer
from .results_figure import ResultsFigure


def _pct(v) -> str:
    return "" if v is None else f"{100 * v:.2f}"


def _fmt(v) -> str:
    if isinstance(v, (list, tuple)):
        return "/".join(f"{x:g}" for x in v)
    return f"{v:g}" if isinstance(v, float) else ("" if v is None else str(v))


def _kind(r: RunRecord) -> str:
    """``"loso"``, ``"5-fold"`` (a k-fold evaluation), ``"final"``, ``"finetune"``."""
    return f"{len(r.folds)}-fold" if r.kind == "loso" and r.split == "k-fold" else r.kind


def _baseline_uf1(r: RunRecord) -> str:
    """The baseline's UF1 beside CMNet's; marked with its folds when they are not CMNet's (``"27.27 (1/2
    folds)"``, or ``"… ; CMNet 1/2"`` when CMNet is the one missing folds)."""
    text = _pct(r.baseline_scores.get("uf1"))
    if text and r.baseline_mismatch:
        text += f" ({r.baseline_folds_done}/{r.folds_total} folds"
        text += ")" if r.folds_done == r.folds_total else f"; CMNet {r.folds_done}/{r.folds_total})"
    return text


#: Tooltips of some cells: header -> record -> text ("" for none).
TOOLTIPS = {
    "baseline UF1 %": lambda r: (f"Not comparable with CMNet's UF1: {r.baseline_mismatch}." if r.baseline_mismatch
                                 else ""),
    "kind": lambda r: r.split_label(),
    "px": lambda r: (f"preprocessing crop size; the baseline reads a {r.baseline_features}×{r.baseline_features} "
                     "apex − onset difference of it" if r.baseline_features else ""),
}

def _setting_column(f: Field) -> tuple:
    """``(header, sort key, text)`` of a setting registered for the runs table (`cmnet_core.train.config_fields`,
    surface ``"runs"``): its value in `RunRecord.settings`, absent values sorting first."""
    def key(r: RunRecord):
        value = r.settings.get(f.name)
        if isinstance(f.default, tuple):
            return str(value if value is not None else "")
        if value is None:
            return "" if isinstance(f.default, str) else 0
        return value

    return f.column, key, lambda r: _fmt(r.settings.get(f.name))


def columns() -> tuple:
    """The table's columns: ``(header, value of a record used for sorting, text shown)``; the settings' columns
    come from the registry (`cmnet_core.train.config_fields`, surface ``"runs"``), read when called."""
    return _FIXED + tuple(_setting_column(f) for f in registry("runs"))


#: The columns that are not settings: what the run is, its status and scores, its preset.
_FIXED = (
    ("date", lambda r: r.created or r.name, lambda r: (r.created or r.name)[:19].replace("T", " ")),
    ("run", lambda r: r.name, lambda r: r.name),
    ("kind", _kind, _kind),
    ("model", lambda r: r.model_kind, lambda r: r.model_kind),
    ("status", lambda r: r.status, lambda r: r.status),
    ("database", lambda r: r.database, lambda r: r.database),
    ("protocol", lambda r: r.protocol, lambda r: r.protocol),
    ("folds", lambda r: r.folds_done, lambda r: f"{r.folds_done}/{r.folds_total}" if r.kind == "loso" else ""),
    ("accuracy %", lambda r: r.scores.get("accuracy", -1.0), lambda r: _pct(r.scores.get("accuracy"))),
    ("UF1 %", lambda r: r.scores.get("uf1", -1.0), lambda r: _pct(r.scores.get("uf1"))),
    ("baseline UF1 %", lambda r: r.baseline_scores.get("uf1", -1.0), _baseline_uf1),
    ("UAR %", lambda r: r.scores.get("uar", -1.0), lambda r: _pct(r.scores.get("uar"))),
    ("scored on", lambda r: r.scope, lambda r: r.scope),
    ("preset", lambda r: r.settings.get("preset", ""), lambda r: _fmt(r.settings.get("preset"))),
)
#: The columns and their headers when the app started (`columns`; each `RunsTable` reads them again).
COLUMNS = columns()
HEADERS = [c[0] for c in COLUMNS]


class _Item(QTableWidgetItem):
    """A cell that sorts by its value (numbers as numbers), not by its text."""

    def __init__(self, text: str, key) -> None:
        super().__init__(text)
        self.key = key
        self.setFlags(self.flags() & ~Qt.ItemFlag.ItemIsEditable)

    def __lt__(self, other) -> bool:
        a, b = self.key, getattr(other, "key", None)
        try:
            return a < b
        except TypeError:
            return str(a) < str(b)


class RunsTable(QWidget):
    """Table of the runs under a runs root.

    ``checkpointChosen(str)``: the user asked to use the selected run's final model for prediction.
    ``resumeRequested(str)``: the user asked to resume the selected run (its folder); offered for a cancelled run
    and for an incomplete one whose process is gone (`resume_offer`; the button's tooltip says why not otherwise).
    `active` : run folders currently followed by a monitor (shown as "running"; an incomplete run whose launch
    process still lives, e.g. one left to continue when the app closed, is shown as "running" too).
    """

    checkpointChosen = Signal(str)
    resumeRequested = Signal(str)

    def __init__(self, runs_root: str | Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.records: list[RunRecord] = []
        self.active: set[Path] = set()
        self.root_edit = QLineEdit(str(runs_root))
        self.root_edit.editingFinished.connect(self.refresh)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        self.columns = columns()
        self.headers = [c[0] for c in self.columns]
        self.table = QTableWidget(0, len(self.columns))
        self.table.setHorizontalHeaderLabels(self.headers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().hide()
        self.table.setSortingEnabled(True)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.doubleClicked.connect(lambda _i: self.use_selected())
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.detail.setStyleSheet("color:#444")
        self.open_button = QPushButton("Open run folder")
        self.open_button.clicked.connect(self._open_folder)
        self.use_button = QPushButton("Use for prediction")
        self.use_button.setToolTip("Load this run's final model in the prediction panel")
        self.use_button.clicked.connect(self.use_selected)
        self.resume_button = QPushButton("Resume")
        self.resume_button.clicked.connect(self.resume_selected)
        top = QHBoxLayout()
        top.addWidget(QLabel("Runs folder"))
        top.addWidget(self.root_edit, 1)
        top.addWidget(browse)
        top.addWidget(refresh)
        bottom = QHBoxLayout()
        bottom.addWidget(self.detail, 1)
        bottom.addWidget(self.open_button)
        bottom.addWidget(self.resume_button)
        bottom.addWidget(self.use_button)
        self.figure = ResultsFigure()
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.figure)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        lay.addLayout(bottom)
        self.refresh()

    def root(self) -> Path:
        return Path(self.root_edit.text().strip()).expanduser()

    def set_root(self, root: str | Path) -> None:
        self.root_edit.setText(str(root))
        self.refresh()

    def refresh(self) -> None:
        """Read the runs folder again (selection kept by run folder)."""
        selected = self.selected()
        self.records = list_runs(self.root())
        for rec in self.records:
            if rec.status == "incomplete" and (rec.path in self.active or self._launch_alive(rec.path)):
                rec.status = "running"
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(self.records))
        for row, rec in enumerate(self.records):
            for col, (_, key, text) in enumerate(self.columns):
                item = _Item(text(rec), key(rec))
                item.setData(Qt.ItemDataRole.UserRole, str(rec.path))
                tip = TOOLTIPS.get(self.headers[col])
                if tip is not None and tip(rec):
                    item.setToolTip(tip(rec))
                self.table.setItem(row, col, item)
        self.table.setSortingEnabled(True)
        if selected is not None:
            self.select(selected.path)
        self._selection_changed()

    @staticmethod
    def _launch_alive(path: Path) -> bool:
        launch = read_launch(path)
        return launch is not None and launch_alive(launch, path)

    def row_of(self, path: str | Path) -> int:
        """Table row of run folder ``path`` (-1 when absent)."""
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).data(Qt.ItemDataRole.UserRole) == str(path):
                return row
        return -1

    def select(self, path: str | Path) -> None:
        row = self.row_of(path)
        if row >= 0:
            self.table.selectRow(row)

    def record(self, path: str | Path) -> RunRecord | None:
        return next((r for r in self.records if r.path == Path(path)), None)

    def selected(self) -> RunRecord | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.record(self.table.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole))

    def cell(self, path: str | Path, header: str) -> str:
        """The text shown for run ``path`` in column ``header`` ("" when absent)."""
        row = self.row_of(path)
        return "" if row < 0 else self.table.item(row, self.headers.index(header)).text()

    def _selection_changed(self) -> None:
        rec = self.selected()
        self.open_button.setEnabled(rec is not None)
        self.use_button.setEnabled(rec is not None and rec.checkpoint is not None)
        offer = resume_offer(rec, followed=rec.path in self.active) if rec is not None else None
        self.resume_button.setEnabled(offer is not None and offer.allowed)
        self.resume_button.setToolTip(offer.reason if offer is not None else "Select a cancelled or stopped run "
                                                                             "to resume it")
        self.figure.show_results(confusion_results(rec.path) if rec is not None else None)
        if rec is None:
            self.detail.setText(f"{len(self.records)} run(s) in {self.root()}")
        elif rec.checkpoint is not None:
            self.detail.setText(f"model: {rec.checkpoint}")
        elif rec.kind == "loso":
            self.detail.setText(self.describe(rec))
        else:
            self.detail.setText(f"{rec.status}: no final model in {rec.path}")

    @staticmethod
    def describe(rec: RunRecord) -> str:
        """The detail line of a LOSO / k-fold run: its split, what each fold's model misses, the baseline."""
        if rec.model_kind == "baseline":
            n = rec.baseline_features
            what = (f"the difference baseline (logistic regression on the {n}×{n} apex − onset difference"
                    + (f" of {rec.settings['image_size']} px crops)" if rec.settings.get("image_size") else ")"))
        else:
            what = "the method"
        if rec.split == "k-fold" and rec.folds:
            sizes = sorted({len(v) for v in rec.folds.values()})
            misses = (f"{sizes[0]} of {len(set().union(*rec.folds.values()))} subjects" if len(sizes) == 1 else
                      f"{sizes[0]}–{sizes[-1]} of {len(set().union(*rec.folds.values()))} subjects")
            folds = "; ".join(f"{k}: {', '.join(v)}" for k, v in rec.folds.items())
            text = (f"A {rec.split_label()} run evaluates {what}: each fold's model misses its fold's test "
                    f"subjects ({misses}; {folds})")
        elif rec.split == "k-fold":
            text = f"A k-fold run evaluates {what}: each fold's model misses its fold's test subjects"
        else:
            text = f"A LOSO run evaluates {what}: each fold's model misses its one test subject"
        text += "; to predict, train a final model on all data."
        if rec.baseline_scores:
            text += (f" Beside it, the difference baseline (logistic regression on apex − onset): UF1 "
                     f"{_pct(rec.baseline_scores['uf1'])} %")
            text += (f", NOT comparable: {rec.baseline_mismatch}." if rec.baseline_mismatch
                     else ", on the same folds; see comparison.json.")
        return text

    def use_selected(self) -> None:
        """Emit ``checkpointChosen`` with the selected run's final model (when it has one)."""
        rec = self.selected()
        if rec is not None and rec.checkpoint is not None:
            self.checkpointChosen.emit(str(rec.checkpoint))

    def resume_selected(self) -> None:
        """Emit ``resumeRequested`` with the selected run's folder when `resume_offer` allows it (checked again
        now: the run may have been started elsewhere since the selection)."""
        rec = self.selected()
        if rec is not None and resume_offer(rec, followed=rec.path in self.active).allowed:
            self.resumeRequested.emit(str(rec.path))

    def _browse(self) -> None:
        path = dialogs.open_folder(self, "Runs folder", str(self.root()))
        if path:
            self.set_root(path)

    def _open_folder(self) -> None:
        rec = self.selected()
        if rec is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(rec.path)))
