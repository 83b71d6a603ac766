"""The main window fits a 1366×768 laptop screen at its default size and remembers its geometry."""
from __future__ import annotations

import pytest

from app.commands import OpenPath
from app.settings import default_window_size
from cmnet_core.data.synthetic_writer import write_synthetic_database

LAPTOP = (1366, 768 - 40)   # the available area of a 1366×768 screen under a 40 px panel


@pytest.fixture(autouse=True)
def first_start(monkeypatch, tmp_path):
    """A settings folder of its own: the window starts as on a first start (no remembered geometry or docks)."""
    monkeypatch.setenv("CMNET_STUDIO_CONFIG_DIR", str(tmp_path / "settings"))


def test_default_size_fits_the_screen():
    assert default_window_size(*LAPTOP) == (1311, 684)
    assert default_window_size(2560, 1400) == (1500, 920)          # large screens keep the preferred size


def test_every_panel_fits_a_laptop_screen(make_window, tiny_checkpoint, tmp_path, qtbot):
    db = tmp_path / "db"
    write_synthetic_database(db, n_subjects=2, clips_per_class=1, image_size=48)
    w = make_window()
    w.resize(*default_window_size(*LAPTOP))   # the size it starts with on that screen
    w.show()
    w.commands.execute(OpenPath, path=str(db))
    qtbot.waitUntil(lambda: w.state.clip is not None and w.clip_dock.isVisible(), timeout=20_000)
    w.prediction.load_checkpoint(str(tiny_checkpoint), predict_after=True)
    qtbot.waitUntil(lambda: w.state.prediction is not None, timeout=60_000)
    qtbot.wait(50)
    need = w.minimumSizeHint()
    assert need.width() <= 1311 and need.height() <= 684, (need.width(), need.height())
    assert w.width() <= 1311 and w.height() <= 684
    # every panel is on screen with room to work in
    for panel, (min_w, min_h) in ((w.frame_view, (320, 200)), (w.intensity_plot, (320, 120)),
                                  (w.clip_dock, (150, 300)), (w.side_dock, (300, 300))):
        assert panel.isVisible() and panel.width() >= min_w and panel.height() >= min_h, \
            (type(panel).__name__, panel.width(), panel.height())
        right = panel.mapTo(w, panel.rect().bottomRight())
        assert right.x() <= w.width() and right.y() <= w.height()
    w.batch_dock.show()                      # the batch results open below: the curve keeps room to be read
    qtbot.wait(50)
    assert w.intensity_plot.height() >= 150 and w.batch_dock.height() >= 100, \
        (w.intensity_plot.height(), w.batch_dock.height())


def test_geometry_is_remembered(make_window, qtbot):
    w = make_window()
    w.show()
    w.clip_dock.show()
    w.resize(w.width(), 520)     # the offscreen test screen is 800×600: heights below it are kept exactly
    qtbot.wait(20)
    assert w.height() == 520
    assert w.close()
    geometry, state = w.settings.window_geometry()
    assert geometry is not None and state is not None
    again = make_window()
    again.show()
    assert again.height() == 520 and again.clip_dock.isVisible()
