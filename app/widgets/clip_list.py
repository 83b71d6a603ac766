"""The clip list of an opened database: subject, clip, label, frames, annotated-or-not; filter and sort."""
from __future__ import annotations

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (QAbstractItemView, QApplication, QHeaderView, QLabel, QLineEdit, QTableView,
                               QVBoxLayout, QWidget)

COLUMNS = ("Subject", "Clip", "Label", "Frames", "Annotated")
INDEX_ROLE = Qt.ItemDataRole.UserRole + 1


class ClipList(QWidget):
    """``clipActivated(index)`` carries the index into the clip list given to `set_clips`: a plain click, Enter
    or a double click opens a clip; Ctrl+click and Shift+click select several (for batch prediction,
    `selected_indices`) without opening them."""

    clipActivated = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = QStandardItemModel(0, len(COLUMNS), self)
        self.model.setHorizontalHeaderLabels(list(COLUMNS))
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setSortRole(Qt.ItemDataRole.UserRole)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter: subject, clip, label…")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setAlternatingRowColors(True)
        self.table.clicked.connect(self._clicked)
        self.table.activated.connect(self._activated)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet("color:#555")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.filter)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.summary)

    def set_clips(self, clips, annotated: list[bool], summary: str = "") -> None:
        """Fill the table; ``annotated[i]`` tells whether clip ``i`` has an annotation made in the app. A video whose
        frame index is not built yet shows no frame count (counting is never done here, on the GUI thread)."""
        from ..workspace.opening import needs_index

        self.model.removeRows(0, self.model.rowCount())
        for i, clip in enumerate(clips):
            frames = "" if needs_index(clip) else len(clip)
            values = (clip.subject, clip.name, clip.label or "", frames, "yes" if annotated[i] else "")
            row = []
            for v in values:
                item = QStandardItem(str(v))
                item.setData(v, Qt.ItemDataRole.UserRole)
                item.setData(i, INDEX_ROLE)
                row.append(item)
            self.model.appendRow(row)
        self.summary.setText(summary)

    def set_annotated(self, index: int, annotated: bool) -> None:
        item = self.model.item(index, COLUMNS.index("Annotated"))
        if item is not None:
            item.setText("yes" if annotated else "")
            item.setData("yes" if annotated else "", Qt.ItemDataRole.UserRole)

    def select(self, index: int) -> None:
        """Highlight clip ``index`` without emitting."""
        src = self.model.index(index, 0)
        view = self.proxy.mapFromSource(src)
        if view.isValid():
            self.table.selectRow(view.row())

    def visible_rows(self) -> list[int]:
        """Clip indices in the order shown (after filter and sort)."""
        return [self.proxy.index(r, 0).data(INDEX_ROLE) for r in range(self.proxy.rowCount())]

    def selected_indices(self) -> list[int]:
        """Indices (into the clip list of `set_clips`) of the selected clips, in the order shown."""
        rows = sorted(i.row() for i in self.table.selectionModel().selectedRows())
        return [int(self.proxy.index(r, 0).data(INDEX_ROLE)) for r in rows]

    def _clicked(self, proxy_index) -> None:
        mods = QApplication.keyboardModifiers()
        if not mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier):
            self._activated(proxy_index)

    def _activated(self, proxy_index) -> None:
        i = proxy_index.data(INDEX_ROLE)
        if i is not None:
            self.clipActivated.emit(int(i))
