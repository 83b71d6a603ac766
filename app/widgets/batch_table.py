"""The batch results: a sortable, filterable table (one row per clip of a batch prediction) with the run's
progress, Cancel and Export CSV."""
from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QProgressBar,
                               QPushButton, QTableView, QVBoxLayout, QWidget)

from ..workspace.batch import BatchResults, cell_text, table_columns

#: Row colours by status (failed rows stand out; queued and cancelled ones are greyed).
STATUS_COLOURS = {"failed": "#c62828", "queued": "#9e9e9e", "cancelled": "#9e9e9e"}
#: The proxy's role for the row of `BatchResults` a view row shows.
ROW_ROLE = Qt.ItemDataRole.UserRole + 1


class BatchTableModel(QAbstractTableModel):
    """A `BatchResults` as a table: `table_columns` (DisplayRole the text, UserRole the value sorted on: numbers
    sort as numbers, empty cells last in ascending order)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.results: BatchResults | None = None
        self.columns: list = []

    def set_results(self, results: BatchResults | None) -> None:
        """Show ``results`` (None: nothing)."""
        self.beginResetModel()
        self.results = results
        self.columns = table_columns(results.labels) if results is not None else []
        self.endResetModel()

    def row_changed(self, row: int) -> None:
        """Row ``row`` of the results changed: redraw it."""
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.columns) - 1))

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt's name
        return 0 if parent.isValid() or self.results is None else len(self.results)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt's name
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802 - Qt's name
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.columns[section][0]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or self.results is None:
            return None
        row = self.results.rows[index.row()]
        value = self.columns[index.column()][1](row)
        if role == Qt.ItemDataRole.DisplayRole:
            return cell_text(value)
        if role == Qt.ItemDataRole.ToolTipRole:
            return cell_text(value) if index.column() == len(self.columns) - 1 else None
        if role == Qt.ItemDataRole.UserRole:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return (0, float(value), "")
            return (1, 0.0, "") if value in ("", None) else (0, 0.0, str(value).lower())
        if role == ROW_ROLE:
            return index.row()
        if role == Qt.ItemDataRole.ForegroundRole and row["status"] in STATUS_COLOURS:
            return QBrush(QColor(STATUS_COLOURS[row["status"]]))
        return None


class _SortProxy(QSortFilterProxyModel):
    """Sorts on the model's UserRole tuples (Qt cannot compare Python tuples itself); empty cells go last in
    either order."""

    def lessThan(self, left, right) -> bool:  # noqa: N802 - Qt's name
        a, b = left.data(Qt.ItemDataRole.UserRole), right.data(Qt.ItemDataRole.UserRole)
        if a[0] != b[0] and self.sortOrder() == Qt.SortOrder.DescendingOrder:
            return a[0] > b[0]
        return a < b


class BatchPanel(QWidget):
    """Progress, Cancel and Export above the results table with its filter box.

    Signals: ``rowSelected(row)`` a row of the `BatchResults` was selected (clicked or reached with the keys);
    ``cancelRequested()``; ``exportRequested()``.
    """

    rowSelected = Signal(int)
    cancelRequested = Signal()
    exportRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = BatchTableModel(self)
        self.proxy = _SortProxy(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterKeyColumn(-1)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter: clip, subject, label, status…")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.progress.setFormat("no batch run yet")
        self.cancel = QPushButton("Cancel")
        self.cancel.setEnabled(False)
        self.cancel.clicked.connect(self.cancelRequested)
        self.export = QPushButton("Export CSV…")
        self.export.setEnabled(False)
        self.export.clicked.connect(self.exportRequested)
        self.summary = QLabel()
        self.summary.setStyleSheet("color:#555")
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # the run's order first
        self.table.setWordWrap(False)  # one line per clip; the notes' full text is the cell's tooltip
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        top = QHBoxLayout()
        top.addWidget(self.progress, 1)
        top.addWidget(self.cancel)
        top.addWidget(self.export)
        bottom = QHBoxLayout()
        bottom.addWidget(self.filter, 1)
        bottom.addWidget(self.summary)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.table, 1)
        lay.addLayout(bottom)

    def set_results(self, results: BatchResults) -> None:
        """Show the rows of a new run (all queued) and size the columns to their headers."""
        self.model.set_results(results)
        self.table.resizeColumnsToContents()
        self.export.setEnabled(True)

    def row_changed(self, row: int) -> None:
        """Row ``row`` got its result."""
        self.model.row_changed(row)

    def set_busy(self, busy: bool) -> None:
        """Running: Cancel enabled."""
        self.cancel.setEnabled(busy)

    def show_progress(self, fraction: float, message: str) -> None:
        """The run's progress bar: ``fraction`` of the whole run and the stage of the clip being predicted."""
        self.progress.setValue(int(round(max(0.0, min(1.0, fraction)) * 1000)))
        self.progress.setFormat(message.replace("%", "%%") if message else "%p %")

    def select_row(self, row: int) -> None:
        """Select the view row that shows results row ``row`` (emits ``rowSelected``)."""
        view = self.proxy.mapFromSource(self.model.index(row, 0))
        if view.isValid():
            self.table.selectRow(view.row())

    def _current_changed(self, current, _previous) -> None:
        row = current.data(ROW_ROLE)
        if row is not None:
            self.rowSelected.emit(int(row))
