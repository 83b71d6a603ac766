"""The candidates panel: micro- and macro-expression intervals spotted in a long video, one row each; a click jumps
to one, **Accept** makes it the clip's annotation, the list exports as CSV or an ELAN tier."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QProgressBar, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

#: Columns: header and how a candidate shows in it.
COLUMNS = (("onset", lambda c: str(c.onset)), ("apex", lambda c: str(c.apex)), ("offset", lambda c: str(c.offset)),
           ("s", lambda c: f"{c.duration_s:.2f}"), ("kind", lambda c: c.kind),
           ("score", lambda c: f"{c.score:.2f}"), ("region", lambda c: c.peak_region.replace("_", " ")))
#: Header tooltips (the headers are short so that the score shows at the dock's default width).
HEADER_TIPS = {"s": "duration, seconds (onset's start to offset's end)", "score": "how far the peak rose above the "
               "minute's mean, relative to its maximum (0-1)", "region": "the face region that moved most at the apex "
               "(left / right as seen in the image)"}


class CandidatesPanel(QWidget):
    """``spotRequested()``, ``cancelRequested()``, ``jumpRequested(row)``, ``acceptRequested(row)``,
    ``exportRequested(kind)`` with kind ``"csv"`` or ``"eaf"``."""

    spotRequested = Signal()
    cancelRequested = Signal()
    jumpRequested = Signal(int)
    acceptRequested = Signal(int)
    exportRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spot_button = QPushButton("Spot in this video")
        self.spot_button.setToolTip("List candidate micro- and macro-expression intervals from the motion signal "
                                    "(optical flow, head motion and blinks removed) in the background")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.progress.setFormat("")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels([h for h, _ in COLUMNS])
        for col, (header, _) in enumerate(COLUMNS):
            if header in HEADER_TIPS:
                self.table.horizontalHeaderItem(col).setToolTip(HEADER_TIPS[header])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.accept_button = QPushButton("Accept as annotation")
        self.accept_button.setToolTip("Make the selected candidate the clip's onset / apex / offset (undoable)")
        self.csv_button = QPushButton("CSV…")
        self.eaf_button = QPushButton("ELAN…")
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.spot_button)
        top.addWidget(self.cancel_button)
        bottom = QHBoxLayout()
        bottom.addWidget(self.accept_button)
        bottom.addStretch(1)
        bottom.addWidget(self.csv_button)
        bottom.addWidget(self.eaf_button)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.progress)
        lay.addWidget(self.summary)
        lay.addWidget(self.table, 1)
        lay.addLayout(bottom)
        self.spot_button.clicked.connect(self.spotRequested.emit)
        self.cancel_button.clicked.connect(self.cancelRequested.emit)
        self.table.cellClicked.connect(lambda row, _col: self.jumpRequested.emit(row))
        self.accept_button.clicked.connect(lambda: self.acceptRequested.emit(self.selected_row()))
        self.csv_button.clicked.connect(lambda: self.exportRequested.emit("csv"))
        self.eaf_button.clicked.connect(lambda: self.exportRequested.emit("eaf"))
        self.set_candidates([])

    def set_candidates(self, candidates: list) -> None:
        """Show ``candidates`` (`cmnet_core.spotting.Candidate`), in time order."""
        self.table.setRowCount(len(candidates))
        for row, cand in enumerate(candidates):
            for col, (_, text) in enumerate(COLUMNS):
                item = QTableWidgetItem(text(cand))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, item)
        for button in (self.accept_button, self.csv_button, self.eaf_button):
            button.setEnabled(bool(candidates))

    def selected_row(self) -> int:
        """The selected row, or -1."""
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else -1

    def set_running(self, running: bool) -> None:
        """Buttons while a spotting run goes on."""
        self.spot_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)


__all__ = ["COLUMNS", "CandidatesPanel"]
