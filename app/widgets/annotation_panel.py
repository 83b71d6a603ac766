"""Annotation panel: onset/apex/offset from the current frame (keys O, A, F), emotion, AUs, notes."""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit,
                               QPushButton, QToolButton, QVBoxLayout, QWidget)

from cmnet_core.data.clip import Annotation

from .timeline import MARK_COLOURS, MARK_LETTERS


class AnnotationPanel(QGroupBox):
    """Shows one clip's annotation and reports edits as signals (the window turns them into undoable commands).

    markRequested(kind)      set ``kind`` (``"onset"``, ``"apex"``, ``"offset"``) to the current frame
    clearRequested(kind)     unset it
    jumpRequested(number)    go to a marked frame
    fieldEdited(name, text)  ``"emotion"``, ``"aus"`` or ``"notes"`` changed
    """

    markRequested = Signal(str)
    clearRequested = Signal(str)
    jumpRequested = Signal(int)
    fieldEdited = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Annotation", parent)
        self._loading = False
        self._marks: dict[str, int | None] = {}
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.mark_values: dict[str, QPushButton] = {}
        for kind in ("onset", "apex", "offset"):
            row = QHBoxLayout()
            value = QPushButton("—")
            value.setFlat(True)
            value.setToolTip(f"Go to the {kind} frame")
            value.setMinimumWidth(56)
            value.clicked.connect(lambda _=False, k=kind: self._jump(k))
            setb = QPushButton(f"Set ({MARK_LETTERS[kind]})")
            setb.setToolTip(f"Set the {kind} to the current frame (key {MARK_LETTERS[kind]})")
            setb.clicked.connect(lambda _=False, k=kind: self.markRequested.emit(k))
            clr = QToolButton()
            clr.setText("✕")
            clr.setToolTip(f"Clear the {kind}")
            clr.clicked.connect(lambda _=False, k=kind: self.clearRequested.emit(k))
            row.addWidget(value, 1)
            row.addWidget(setb)
            row.addWidget(clr)
            name = QLabel(f"<b style='color:{MARK_COLOURS[kind]}'>■</b> {kind.capitalize()}")
            form.addRow(name, row)
            self.mark_values[kind] = value
        self.emotion = QComboBox()
        self.emotion.setEditable(True)
        self.emotion.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.emotion.lineEdit().setPlaceholderText("not coded")
        self.emotion.activated.connect(lambda _i: self._commit("emotion", self.emotion.currentText()))
        self.emotion.lineEdit().editingFinished.connect(lambda: self._commit("emotion", self.emotion.currentText()))
        form.addRow("Emotion", self.emotion)
        self.aus = QLineEdit()
        self.aus.setPlaceholderText("e.g. 4+L10")
        self.aus.setToolTip("Action units as coded in FACS, joined by '+' (CASME II style)")
        self.aus.editingFinished.connect(lambda: self._commit("aus", self.aus.text()))
        form.addRow("Action units", self.aus)
        self.notes = QPlainTextEdit()
        self.notes.setPlaceholderText("Notes")
        self.notes.setMaximumHeight(64)
        self._notes_timer = QTimer(self, singleShot=True, interval=700)
        self._notes_timer.timeout.connect(self.commit_notes)
        self.notes.textChanged.connect(lambda: None if self._loading else self._notes_timer.start())
        form.addRow("Notes", self.notes)
        self.problems = QLabel()
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet("color:#b71c1c")
        self.status = QLabel()
        self.status.setStyleSheet("color:#555")
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.problems)
        lay.addWidget(self.status)
        self.setEnabled(False)

    def set_labels(self, labels: list[str]) -> None:
        """The protocol's emotion labels offered in the combobox (free text is still accepted)."""
        text = self.emotion.currentText()
        self._loading = True
        self.emotion.clear()
        self.emotion.addItems(labels)
        self.emotion.setCurrentText(text)
        self._loading = False

    def show_annotation(self, ann: Annotation, problems: list[str], status: str) -> None:
        """Display ``ann`` (source frame numbers), its consistency problems and a status line."""
        self._loading = True
        self._marks = {"onset": ann.onset, "apex": ann.apex, "offset": ann.offset}
        for kind, button in self.mark_values.items():
            v = self._marks[kind]
            button.setText("—" if v is None else str(v))
        self.emotion.setCurrentText(ann.emotion or "")
        if self.aus.text() != ann.aus:
            self.aus.setText(ann.aus)
        if self.notes.toPlainText() != ann.notes and not self._notes_timer.isActive():
            self.notes.setPlainText(ann.notes)
        self.problems.setText("; ".join(problems))
        self.problems.setVisible(bool(problems))
        self.status.setText(status)
        self._loading = False

    def commit_notes(self) -> None:
        """Report pending note edits now (called before saving)."""
        self._notes_timer.stop()
        self._commit("notes", self.notes.toPlainText())

    def _commit(self, name: str, text: str) -> None:
        if not self._loading:
            self.fieldEdited.emit(name, text.strip() if name != "notes" else text)

    def _jump(self, kind: str) -> None:
        v = self._marks.get(kind)
        if v is not None:
            self.jumpRequested.emit(int(v))

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.window().setFocus()
        super().keyPressEvent(event)
