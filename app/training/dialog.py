"""The training dialog: source, mode, the method's settings (one `SettingEditor` per `CMNetConfig` field registered
for the dialog in `cmnet_core.train.config_fields`; defaults: the preset's), device, runs folder, and the pre-launch
checks (`cmnet_core.train.preflight`). It builds a `TrainingRequest`; the training manager launches it.

Opening the database and the checks run in a worker (a large database's sheet and folders take seconds).
"""
from __future__ import annotations

import datetime as _dt
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFrame,
                               QFormLayout, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QPushButton, QRadioButton, QScrollArea, QSpinBox, QVBoxLayout, QWidget)

from cmnet_core.train.config_fields import Field, registry
from cmnet_core.model.config import CMNetConfig

from .. import dialogs
from ..workers import Task
from .annotated import usable, write_generic_csv
from .request import MODES, PRESET_CHOICES, TrainingRequest, method_defaults, resolve_preset, training_defaults

#: The dialog's model choices (``--model``): key → text.
MODEL_TEXT = {"cmnet": "CMNet", "baseline": "baseline: logistic regression (apex − onset difference)"}
#: Modes that are LOSO evaluations (the only ones a baseline runs in).
LOSO_MODES = ("loso", "fold")

PRESETS = PRESET_CHOICES
ERROR_COLOUR, WARNING_COLOUR, OK_COLOUR = QColor("#c62828"), QColor("#e65100"), QColor("#2e7d32")


def available_devices() -> list[tuple[str, str]]:
    """``(value, text)`` of the devices torch can use here: each CUDA device by name, then the CPU."""
    import torch

    out = [(f"cuda:{i}", f"CUDA {i}: {torch.cuda.get_device_name(i)}") for i in range(torch.cuda.device_count())
           if torch.cuda.is_available()]
    return out + [("cpu", "CPU" + ("" if out else " (no CUDA device found)"))]


def _spin(lo: float, hi: float, value: float, decimals: int = 3, step: float = 0.01) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(lo, hi)
    box.setDecimals(decimals)
    box.setSingleStep(step)
    box.setValue(value)
    return box


def _ispin(lo: int, hi: int, value: int) -> QSpinBox:
    box = QSpinBox()
    box.setRange(lo, hi)
    box.setValue(value)
    return box


class SettingEditor:
    """The dialog's editor of one registered setting (`cmnet_core.train.config_fields`, surface ``"dialog"``), built from
    its `Setting`: a combo box for ``choices`` (items named by ``choice_text``, data = the value), a row of spin
    boxes for a tuple (labelled by ``parts``), a check box for a bool, a spin box for a number (``range``,
    ``decimals``, ``step``, ``unit`` as suffix), else a line edit. The help text is the tooltip.

    ``widget`` goes into the form (row label: the setting's ``label``); `value` / `set_value` read and write it
    (floats rounded to 6 decimals, tuples as tuples).
    """

    def __init__(self, field: Field, value) -> None:
        self.field = field
        how = field.how
        self.boxes: list = []
        if how.choices:
            box = QComboBox()
            for key in how.choices:
                box.addItem((how.choice_text or {}).get(key, str(key)), key)
            self.widget = box
        elif isinstance(field.default, tuple):
            self.widget = QWidget()
            row = QHBoxLayout(self.widget)
            row.setContentsMargins(0, 0, 0, 0)
            for i, item in enumerate(field.default):
                if i < len(how.parts):
                    row.addWidget(QLabel(how.parts[i]))
                box = self._number(item)
                self.boxes.append(box)
                row.addWidget(box)
        elif isinstance(field.default, bool):
            self.widget = QCheckBox()
        elif isinstance(field.default, (int, float)):
            self.widget = self._number(field.default)
        else:
            self.widget = QLineEdit()
        self.widget.setToolTip(how.help)
        self.set_value(value)

    def _number(self, like):
        lo, hi = self.field.how.range or (0, 1_000_000)
        if isinstance(like, float):
            box = _spin(lo, hi, like, decimals=self.field.how.decimals, step=self.field.how.step)
        else:
            box = _ispin(int(lo), int(hi), like)
        if self.field.how.unit:
            box.setSuffix(f" {self.field.how.unit}")
        return box

    def value(self):
        """The value shown (the type of the field's default)."""
        w = self.widget
        if self.boxes:
            return tuple(_read(b) for b in self.boxes)
        if isinstance(w, QComboBox):
            return w.currentData()
        if isinstance(w, QCheckBox):
            return w.isChecked()
        if isinstance(w, QLineEdit):
            return w.text()
        return _read(w)

    def set_value(self, value) -> None:
        """Show ``value`` (a choice, a tuple of numbers, a bool, a number or text)."""
        w = self.widget
        if self.boxes:
            for box, v in zip(self.boxes, value):
                box.setValue(v)
        elif isinstance(w, QComboBox):
            w.setCurrentIndex(w.findData(value))
        elif isinstance(w, QCheckBox):
            w.setChecked(bool(value))
        elif isinstance(w, QLineEdit):
            w.setText("" if value is None else str(value))
        else:
            w.setValue(value)


def _read(box):
    return round(box.value(), 6) if isinstance(box, QDoubleSpinBox) else box.value()


class TrainingDialog(QDialog):
    """Choose and check a training run.

    Parameters
    ----------
    runs_root : the runs folder proposed (runs are created in it).
    data_dir : where the app's annotated clips are exported as a generic CSV source.
    annotated : (clip, annotation) pairs of the document open in the app (annotations as the user sees them).
    source : a database root to open at once (e.g. the one open in the app).

    After ``exec()`` returns Accepted, `request()` is the run to launch. `problems` holds the last check's
    `Problem`s; `database` the opened `Database`.
    """

    def __init__(self, runs_root: str | Path, data_dir: str | Path, annotated=(), source: str | Path | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New training run")
        self.data_dir = Path(data_dir)
        self.annotated = usable(annotated)
        self.database = None
        self.problems: list = []
        self.checked_for = None
        self._task: Task | None = None
        self._start_after_check = False
        self._build(Path(runs_root))
        if source:
            self.set_database(str(source))

    # ---- layout -----------------------------------------------------------------------------------
    def _build(self, runs_root: Path) -> None:
        # source
        self.db_radio = QRadioButton("Database folder")
        self.annotated_radio = QRadioButton(f"Clips annotated in the app ({len(self.annotated)} with an emotion)")
        self.annotated_radio.setEnabled(bool(self.annotated))
        self.annotated_radio.setToolTip("Your annotations (emotion, onset/apex/offset) are written as a generic "
                                        "CSV beside the app's data and trained on like a database")
        group = QButtonGroup(self)
        group.addButton(self.db_radio)
        group.addButton(self.annotated_radio)
        self.db_radio.setChecked(True)
        self.annotated_radio.toggled.connect(self._annotated_toggled)
        self.db_path = QLineEdit()
        self.db_path.setPlaceholderText("database root (CASME II, SAMM, SMIC-HS, CAS(ME)³, generic CSV, synthetic)")
        self.db_path.editingFinished.connect(lambda: self.set_database(self.db_path.text()))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_db)
        self.protocol = QComboBox()
        self.protocol.setToolTip("Label protocol (the adapter's default first)")
        self.protocol.activated.connect(lambda _i: self.set_database(self.db_path.text(), self.protocol.currentText()))
        self.db_summary = QLabel("no database opened")
        self.db_summary.setWordWrap(True)
        self.db_summary.setStyleSheet("color:#444")
        src = QGroupBox("Source")
        g = QGridLayout(src)
        g.addWidget(self.db_radio, 0, 0)
        g.addWidget(self.db_path, 0, 1)
        g.addWidget(browse, 0, 2)
        g.addWidget(self.annotated_radio, 1, 0, 1, 3)
        g.addWidget(QLabel("Protocol"), 2, 0)
        g.addWidget(self.protocol, 2, 1, 1, 2)
        g.addWidget(self.db_summary, 3, 0, 1, 3)

        # mode
        self.mode = QComboBox()
        for key, text in MODES.items():
            self.mode.addItem(text, key)
        self.mode.currentIndexChanged.connect(self._mode_changed)
        self.fold = QComboBox()
        self.fold.setToolTip("The test subject of the fold")
        self.holdout = QComboBox()
        self.holdout.setToolTip("A subject kept out of training and scored at the end (an honest figure)")
        self.checkpoint = QLineEdit()
        self.checkpoint.setPlaceholderText("checkpoint to fine-tune (.pt)")
        self.checkpoint_browse = QPushButton("Browse…")
        self.checkpoint_browse.clicked.connect(self._browse_checkpoint)
        self.new_head = QCheckBox("New classifier head (the labels may differ from the checkpoint's)")
        self.model = QComboBox()
        for key, text in MODEL_TEXT.items():
            self.model.addItem(text, key)
        self.model.setToolTip("baseline: scikit-learn's multinomial logistic regression (L2, C = 100) on the grey "
                              "apex − onset difference at 16×16, fitted per fold in seconds (no epochs, no device); "
                              "the field's usual reference figure")
        self.model.currentIndexChanged.connect(self._mode_changed)
        self.with_baseline = QCheckBox("Also run the baseline on the same folds (CMNet beside it in one table)")
        self.with_baseline.setToolTip("Writes <run>/baseline/ and <run>/comparison.json; adds seconds")
        self.k_folds = _ispin(1, 2, 1)  # 1 = LOSO; the maximum follows the opened database's subjects
        self.k_folds.setSpecialValueText("LOSO (one fold per subject)")
        self.k_folds.setSuffix(" folds grouped by subject")
        self.k_folds.setToolTip("k-fold: subjects sorted by name (natural order), fold i tests the subjects whose "
                                "rank mod K = i - 1 (cmnet loso --k-folds K)")
        ck = QHBoxLayout()
        ck.addWidget(self.checkpoint, 1)
        ck.addWidget(self.checkpoint_browse)
        mode_box = QGroupBox("Mode")
        f = QFormLayout(mode_box)
        f.addRow("Run", self.mode)
        f.addRow("Model", self.model)
        f.addRow("", self.with_baseline)
        f.addRow("Folds", self.k_folds)
        f.addRow("Test subject", self.fold)
        f.addRow("Held-out subject", self.holdout)
        f.addRow("Start from", ck)
        f.addRow("", self.new_head)

        # the method (paper defaults): one editor per setting registered for the dialog (cmnet_core.train.config_fields)
        d = method_defaults()
        self.method: dict[str, SettingEditor] = {f.name: SettingEditor(f, d[f.name])
                                                 for f in registry("dialog", section="model_config")}
        method = QGroupBox("Method (defaults: the preset's values)")
        fm = QFormLayout(method)
        fm.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        for editor in self.method.values():
            fm.addRow(editor.field.label, editor.widget)
        reset = QPushButton("Preset defaults")
        reset.clicked.connect(self.reset_method)
        fm.addRow("", reset)
        self.method_box = method

        # training
        t = training_defaults("paper")
        self.epochs = _ispin(1, 10_000, t["epochs"])
        self.lr = _spin(1e-6, 1.0, t["lr"], decimals=6, step=1e-4)
        self.batch = _ispin(1, 512, t["batch_size"])
        self.lr_label = QLabel("Learning rate")
        self.preset = QComboBox()
        for key, text in PRESETS.items():
            self.preset.addItem(text, key)
        self.preset.setToolTip("paper: as published (needs a GPU); cpu: labelled departures (small CNN on "
                               "onset-relative frames, position term, Adam) that learn on a CPU in minutes")
        self.preset_note = QLabel()
        self.preset_note.setWordWrap(True)
        self.preset_note.setStyleSheet("color:#444")
        self.image_size = _ispin(0, 1024, 0)
        self.image_size.setSpecialValueText("preset")
        self.image_size.setSuffix(" px")
        self.frames = _ispin(2, 64, CMNetConfig().num_frames)
        self.device = QComboBox()
        for value, text in available_devices():
            self.device.addItem(text, value)
        self.runs_root = QLineEdit(str(runs_root))
        runs_browse = QPushButton("Browse…")
        runs_browse.clicked.connect(self._browse_runs)
        rr = QHBoxLayout()
        rr.addWidget(self.runs_root, 1)
        rr.addWidget(runs_browse)
        train = QGroupBox("Training")
        ft = QFormLayout(train)
        ft.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)   # long labels above their field when narrow
        ft.addRow("Epochs", self.epochs)
        ft.addRow("Preset", self.preset)
        ft.addRow("", self.preset_note)
        ft.addRow(self.lr_label, self.lr)
        ft.addRow("Batch size (clips)", self.batch)
        ft.addRow("Image size override", self.image_size)
        ft.addRow("Frames per clip N", self.frames)
        ft.addRow("Device", self.device)
        # training settings registered for the dialog (cmnet_core.train.config_fields), after the hand-built ones
        self.training_settings: dict[str, SettingEditor] = {
            f.name: SettingEditor(f, t[f.name]) for f in registry("dialog", section="train_config")}
        for editor in self.training_settings.values():
            ft.addRow(editor.field.label, editor.widget)
        ft.addRow("Runs folder", rr)
        self._applied_preset = None
        self.preset.currentIndexChanged.connect(self._preset_changed)
        self.device.currentIndexChanged.connect(self._preset_changed)
        self._preset_changed()

        # checks and buttons
        self.problem_list = QListWidget()
        self.problem_list.setWordWrap(True)
        self.problem_list.setMinimumHeight(90)
        self.buttons = QDialogButtonBox()
        self.check_button = self.buttons.addButton("Check", QDialogButtonBox.ButtonRole.ActionRole)
        self.start_button = self.buttons.addButton("Start training", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.check_button.clicked.connect(lambda: self.check())
        self.start_button.clicked.connect(self.start)
        self.buttons.rejected.connect(self.reject)

        left = QVBoxLayout()
        left.addWidget(src)
        left.addWidget(mode_box)
        left.addWidget(QLabel("Checks before launch"))
        left.addWidget(self.problem_list, 1)
        settings = QWidget()
        right = QVBoxLayout(settings)
        right.setContentsMargins(0, 0, 0, 0)
        right.addWidget(method)
        right.addWidget(train)
        right.addStretch(1)
        scroll = QScrollArea()   # the settings scroll rather than widen the dialog past a laptop screen
        scroll.setWidget(settings)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        cols = QHBoxLayout()
        cols.addLayout(left, 2)
        cols.addWidget(scroll, 3)
        lay = QVBoxLayout(self)
        lay.addLayout(cols, 1)
        lay.addWidget(self.buttons)
        self._mode_changed()
        for combo in self.findChildren(QComboBox):   # long choice texts elide instead of widening the dialog
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(16)
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        self.resize(min(1400, int(screen.width() * 0.96)) if screen else 1400,
                    min(700, int(screen.height() * 0.92)) if screen else 700)

    # ---- source ---------------------------------------------------------------------------------------
    def _browse_db(self) -> None:
        path = dialogs.open_folder(self, "Database root", self.db_path.text())
        if path:
            self.db_radio.setChecked(True)
            self.set_database(path)

    def _browse_checkpoint(self) -> None:
        path = dialogs.open_file(self, "Checkpoint to fine-tune", "CMNet checkpoints (*.pt);;All files (*)")
        if path:
            self.checkpoint.setText(path)

    def _browse_runs(self) -> None:
        path = dialogs.open_folder(self, "Runs folder", self.runs_root.text())
        if path:
            self.runs_root.setText(path)

    def _annotated_toggled(self, on: bool) -> None:
        if not on:
            return
        folder = self.data_dir / "training-sources" / f"annotated-{_dt.datetime.now():%Y%m%d-%H%M%S}"
        try:
            write_generic_csv(self.annotated, folder)
        except (ValueError, OSError) as exc:
            dialogs.error(self, "Annotations not usable for training", str(exc))
            self.db_radio.setChecked(True)
            return
        self.set_database(str(folder), kind="generic")

    def set_database(self, path: str, protocol: str | None = None, kind: str | None = None) -> None:
        """Open ``path`` (with ``protocol``; None = the adapter's default) in a worker, then run the checks."""
        path = path.strip()
        if not path or (self.database is not None and str(self.database.root) == path and protocol in
                        (None, self.database.protocol)):
            return
        from cmnet_core.data.database import open_database

        self.db_path.setText(path)
        self.database = None
        self.db_summary.setText(f"opening {path} …")
        self._run(lambda p, c: open_database(path, protocol=protocol, kind=kind), self._database_opened,
                  lambda msg: self._open_failed(path, msg))

    def _open_failed(self, path: str, message: str) -> None:
        self.db_summary.setText("no database opened")
        self._show_problems([("error", f"{path}: {message}")])

    def _database_opened(self, db) -> None:
        from cmnet_core.data.database import ADAPTERS

        self.database = db
        self.protocol.clear()
        protocols = list(dict.fromkeys([db.protocol, *getattr(ADAPTERS.get(db.name), "protocols", ())]))
        self.protocol.addItems(protocols)
        self.protocol.setCurrentText(db.protocol)
        per_class = ", ".join(f"{lab} {sum(c.label == lab for c in db.clips)}" for lab in db.labels)
        self.db_summary.setText(f"<b>{db.name}</b> · {db.protocol}: {len(db.clips)} clips, {len(db.subjects())} "
                                f"subjects ({per_class})" + (f"; {len(db.skips)} rows skipped" if db.skips else ""))
        self.k_folds.setMaximum(max(2, len(db.subjects())))
        for box, first in ((self.fold, None), (self.holdout, "none")):
            box.clear()
            if first:
                box.addItem(first, "")
            for s in db.subjects():
                box.addItem(s, s)
        self.check()

    # ---- settings -------------------------------------------------------------------------------------
    def _mode_changed(self) -> None:
        mode = self.mode.currentData()
        self.fold.setEnabled(mode == "fold")
        self.holdout.setEnabled(mode in ("final", "finetune"))
        for w in (self.checkpoint, self.checkpoint_browse, self.new_head):
            w.setEnabled(mode == "finetune")
        tuned = mode == "finetune"
        for w in (self.method_box, self.preset, self.image_size, self.frames):
            w.setEnabled(not tuned)
        self.method_box.setToolTip("Fine-tuning keeps the checkpoint's model settings" if tuned else "")
        loso = mode in LOSO_MODES
        self.model.setEnabled(loso)
        baseline = loso and self.model.currentData() == "baseline"
        self.with_baseline.setEnabled(loso and not baseline)
        self.k_folds.setEnabled(mode == "loso")
        for w in (self.epochs, self.lr, self.batch):
            w.setEnabled(not baseline)
        if baseline:
            self.method_box.setEnabled(False)
            self.method_box.setToolTip("The baseline has no method settings (a logistic regression)")
        self.checked_for = None

    def model_kind(self) -> str:
        """The model the run evaluates: the chosen one in a LOSO mode, else ``"cmnet"``."""
        return self.model.currentData() if self.mode.currentData() in LOSO_MODES else "cmnet"

    def resolved_preset(self) -> str:
        """The preset the run will use: the one chosen, or for auto what it resolves to on the chosen device."""
        return resolve_preset(self.preset.currentData(), self.device.currentData() or "cpu")

    def _preset_changed(self) -> None:
        """Say what auto resolves to; when the resolved preset changes, load its method and training defaults."""
        name = self.resolved_preset()
        cuda = any(str(self.device.itemData(i)).startswith("cuda") for i in range(self.device.count()))
        if self.preset.currentData() == "auto":  # the same on every device (cmnet_core.train.config.auto_preset)
            self.preset_note.setText(f"auto → <b>{name}</b> on any device, CPU or GPU (the paper preset does not "
                                     "learn from small data on either); paper only when chosen")
        else:
            self.preset_note.setText(f"<b>{name}</b>" + ("" if cuda or name == "cpu" else
                                                          " (no CUDA device here: the paper's model is slow on a "
                                                          "CPU and learns little within a CPU budget)"))
        t = training_defaults(name)
        optimizer = ("Adam" if t["optimizer"] == "adam" else "SGD") + f", halved every {t['lr_step']} epochs"
        self.lr_label.setText(f"Learning rate ({optimizer})")
        if name != self._applied_preset:
            self._applied_preset = name
            self.epochs.setValue(t["epochs"])
            self.batch.setValue(t["batch_size"])
            self.lr.setValue(t["lr"])
            for fname, editor in self.training_settings.items():
                editor.set_value(t[fname])
            self.image_size.setSpecialValueText(f"preset ({CMNetConfig.preset(name).image_size})")
            self.reset_method()
        self.checked_for = None

    def reset_method(self) -> None:
        """Put the resolved preset's values back into the method settings."""
        d = method_defaults(self.resolved_preset())
        for name, editor in self.method.items():
            editor.set_value(d[name])

    def request(self) -> TrainingRequest:
        """The run as set in the dialog (raises ``ValueError`` without an opened database)."""
        if self.database is None:
            raise ValueError("open a database (or choose the clips annotated in the app) first")
        mode = self.mode.currentData()
        return TrainingRequest(
            db=str(self.database.root), mode=mode, kind=self.database.name, protocol=self.database.protocol,
            fold=self.fold.currentData() if mode == "fold" else None,
            checkpoint=self.checkpoint.text().strip() or None if mode == "finetune" else None,
            new_head=self.new_head.isChecked(),
            holdout_subjects=[self.holdout.currentData()] if mode in ("final", "finetune") and
            self.holdout.currentData() else [],
            preset=self.preset.currentData(), image_size=self.image_size.value() or None,
            frames=self.frames.value() if self.frames.value() != CMNetConfig().num_frames else None,
            epochs=self.epochs.value(), batch_size=self.batch.value(), lr=self.lr.value(),
            method={name: editor.value() for name, editor in self.method.items()},
            training={name: editor.value() for name, editor in self.training_settings.items()},
            device=self.device.currentData(), model=self.model_kind(),
            with_baseline=(mode in LOSO_MODES and self.model_kind() == "cmnet" and self.with_baseline.isChecked()),
            k_folds=self.k_folds.value() if mode == "loso" and self.k_folds.value() >= 2 else None)

    def runs_folder(self) -> Path:
        return Path(self.runs_root.text().strip() or "runs").expanduser()

    # ---- checks and start -----------------------------------------------------------------------------
    def check(self, start_after: bool = False) -> None:
        """Run the pre-launch checks in a worker and list the result; with ``start_after``, accept the dialog
        when no error was found."""
        from cmnet_core.train.preflight import preflight

        self._start_after_check = start_after
        try:
            req = self.request()
            model_cfg = req.model_config()
        except ValueError as exc:
            self._show_problems([("error", str(exc))])
            return
        if req.mode == "finetune" and not (req.checkpoint and Path(req.checkpoint).is_file()):
            self._show_problems([("error", "choose the checkpoint to fine-tune (a .pt file written by a "
                                           "training run)")])
            return
        db, runs = self.database, self.runs_folder()
        self.problem_list.clear()
        self.problem_list.addItem("checking…")
        self._run(lambda p, c: preflight(db, req.mode, runs, model_cfg, fold=req.fold,
                                         holdout_subjects=req.holdout_subjects, k_folds=req.k_folds,
                                         model=req.model, with_baseline=req.with_baseline, seed=req.seed),
                  lambda problems: self._checked(req, problems),
                  lambda msg: self._show_problems([("error", f"the checks failed: {msg}")]))

    def _checked(self, req: TrainingRequest, problems: list) -> None:
        self.problems = problems
        self.checked_for = req
        self._show_problems([(p.level, p.message) for p in problems])
        if self._start_after_check and not any(p.level == "error" for p in problems):
            self.accept()

    def _show_problems(self, items: list[tuple[str, str]]) -> None:
        self.problem_list.clear()
        if not items:
            item = QListWidgetItem("✓ all checks passed")
            item.setForeground(OK_COLOUR)
            self.problem_list.addItem(item)
        for level, message in items:
            item = QListWidgetItem(f"{'✗' if level == 'error' else '!'} {level}: {message}")
            item.setForeground(ERROR_COLOUR if level == "error" else WARNING_COLOUR)
            self.problem_list.addItem(item)

    def start(self) -> None:
        """Check, then accept the dialog when nothing blocks the run."""
        self.check(start_after=True)

    def _run(self, fn, done, failed) -> None:
        task = Task(fn)
        task.signals.finished.connect(done)
        task.signals.error.connect(failed)
        self._task = task.start()

    def busy(self) -> bool:
        """True while a worker (opening, checking) runs."""
        return self._task is not None and not self._task.is_done()

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            return  # Enter in a field must not launch a run
        super().keyPressEvent(event)
