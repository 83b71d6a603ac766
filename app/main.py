"""``cmnet-studio [PATH] [--demo] [--checkpoint CKPT] [--screenshot PNG] [--fps FPS] [--sheet FILE]``: start the desktop app.

Without PATH (or with ``--demo``) the app opens its embedded synthetic demo.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ORGANISATION = "CMNet"
APPLICATION = "CMNet Studio"


def _positive_fps(text: str) -> float:
    """``--fps`` value: a finite number of frames per second > 0 (`cmnet predict --fps` rules)."""
    from cmnet_core.commands.predict import positive_fps as check

    return check(text)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="cmnet-studio", description="CMNet Studio: view, annotate and analyse "
                                "facial micro-expressions with CMNet (Wei et al., AAAI 2023).")
    p.add_argument("path", nargs="?", help="a video file, a frame folder or a database root (default: the demo)")
    p.add_argument("--demo", action="store_true", help="open the embedded synthetic demo")
    p.add_argument("--checkpoint", help="load this CMNet checkpoint and predict the first clip "
                                        "(\"demo\": the shipped synthetic demo model)")
    p.add_argument("--screenshot", metavar="PNG", help="save a picture of the loaded window to PNG and exit")
    p.add_argument("--frame", type=int, help="go to this frame number after opening")
    p.add_argument("--sheet", help="the annotation sheet of the database given as path, when it is not in or "
                                   "beside the root (remembered for that root)")
    p.add_argument("--fps", type=_positive_fps, help="frame rate of a frame folder given as path (frames/s; "
                   "remembered for that folder); without it its times assume 30 fps and say so")
    return p.parse_args(argv)


def qt_binding_problem() -> str:
    """A message when the installed PySide6 has the signal reference-count bug seen with PySide6 6.12.0 on
    Python 3.11 (every ``Signal.emit`` from Python drops a reference to ``True``; after about a thousand
    emits the interpreter aborts with "bool_dealloc"), else ''."""
    from PySide6 import __version__ as version
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal(int)

    probe = _Probe()
    before = sys.getrefcount(True)
    for i in range(20):
        probe.ping.emit(i)
    if sys.getrefcount(True) - before < 0:
        return (f"PySide6 {version} loses a reference on every signal emit with this Python "
                f"({sys.version.split()[0]}) and will crash after a while. Install a fixed version: "
                "pip install 'PySide6-Essentials<6.12'")
    return ""


def take_screenshot_when_ready(window, path: str, app, timeout_s: float = 600.0) -> None:
    """Grab ``window`` to ``path`` once workers are idle and the current frame is shown, then quit ``app``
    (exit status 1 when the picture was not saved or an error was reported, e.g. the path could not be opened)."""
    from PySide6.QtCore import QTimer

    from . import dialogs

    start = time.monotonic()
    timer = QTimer(window, interval=250)

    def check() -> None:
        waited = time.monotonic() - start
        ready = not window.is_busy() and (window.state.clip is None or window.loader.cached(window.state.frame))
        if (ready and waited > 1.5) or waited > timeout_s:
            timer.stop()
            window.state.frame_changed.emit(window.state.frame)
            app.processEvents()
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            ok = window.grab().save(str(path))
            print(f"screenshot {'saved to' if ok else 'FAILED:'} {path}", file=sys.stderr)
            window.shutdown()  # not close(): no question about unsaved annotations, and the autosave stays
            app.exit(0 if ok and not dialogs.errors_reported else 1)

    timer.timeout.connect(check)
    timer.start()


def main(argv: list[str] | None = None) -> int:
    """Console entry point ``cmnet-studio``; returns the exit status."""
    args = parse_args(argv)
    from PySide6.QtWidgets import QApplication

    from . import dialogs
    from .commands import GoToFrame, OpenPath
    from .main_window import MainWindow

    if args.screenshot:  # unattended: no modal dialog may block
        dialogs.set_non_interactive(True)

    app = QApplication.instance() or QApplication([sys.argv[0]])
    if not app.organizationName():  # tests set their own (and their own settings folder)
        app.setOrganizationName(ORGANISATION)
        app.setApplicationName(APPLICATION)
        from .settings import migrate_legacy_settings

        migrate_legacy_settings()
    from .workers import collect_garbage_in_gui_thread

    app.garbage_collector = collect_garbage_in_gui_thread()  # never in a worker thread (segfault otherwise)
    problem = qt_binding_problem()
    if problem:
        print(f"warning: {problem}", file=sys.stderr)
    window = MainWindow()
    window.show()
    if problem:
        dialogs.error(window, "Qt binding problem", problem)
    if args.path and not args.demo:
        window.commands.execute(OpenPath, path=args.path, fps=args.fps, sheet=args.sheet)
        if args.checkpoint:
            window.prediction.load_checkpoint(args.checkpoint, predict_after=True)
    else:
        window.files.open_demo(with_model=not args.checkpoint)
        if args.checkpoint:
            window.prediction.load_checkpoint(args.checkpoint, predict_after=True)
    if args.frame is not None:
        window.commands.execute(GoToFrame, frame=args.frame)
    if args.screenshot:
        take_screenshot_when_ready(window, args.screenshot, app)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
