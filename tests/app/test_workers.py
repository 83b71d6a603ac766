"""Worker tasks always end with finished or error; the frame loader decodes off the GUI thread and caches."""
import threading
import time

import numpy as np

from app.workers import Cancelled, FrameLoader, Task


def test_task_emits_error_when_it_raises(qtbot, no_leaked_threads):
    def fail(progress, cancelled):
        progress(0.5, "half")
        raise ValueError("no face found in frame 3")

    task = Task(fail)
    got = []
    task.signals.finished.connect(lambda r: got.append(("finished", r)))
    with qtbot.waitSignal(task.signals.error, timeout=5000) as blocker:
        task.start()
    assert blocker.args == ["no face found in frame 3"]
    assert got == [] and not task.was_cancelled and task.is_done()


def test_task_emits_finished_with_result_and_progress(qtbot, no_leaked_threads):
    task = Task(lambda progress, cancelled: progress(0.25, "a quarter") or 42)
    seen = []
    task.signals.progress.connect(lambda f, m: seen.append((f, m)))
    with qtbot.waitSignal(task.signals.finished, timeout=5000) as blocker:
        task.start()
    assert blocker.args == [42]
    qtbot.waitUntil(lambda: seen == [(0.25, "a quarter")], timeout=2000)


def test_task_cancel_ends_with_error_and_flag(qtbot, no_leaked_threads):
    started = threading.Event()

    def slow(progress, cancelled):
        started.set()
        while not cancelled():
            time.sleep(0.01)
        raise Cancelled()

    task = Task(slow)
    with qtbot.waitSignal(task.signals.error, timeout=5000) as blocker:
        task.start()
        assert started.wait(5)
        task.cancel()
    assert blocker.args == ["Cancelled."] and task.was_cancelled


def test_frame_loader_serves_cache_and_prefetches(qtbot, no_leaked_threads, array_clip):
    clip = array_clip(40, first=100)
    loader = FrameLoader(prefetch=8)
    try:
        # Collect deliveries in a plain slot rather than qtbot.waitSignal: the loader emits frameReady many
        # times from its thread (prefetch), and a queued emission reaching a finished SignalBlocker after
        # the test has been seen to crash pytest-qt (its event loop is already deleted).
        ready = {}
        loader.frameReady.connect(lambda n, f: ready.setdefault(n, f))
        loader.set_clip(clip)
        assert loader.request(105) is None  # not cached yet: decoded in the background
        qtbot.waitUntil(lambda: 105 in ready, timeout=5000)
        assert int(ready[105].mean()) == 4 * 5 + 10
        qtbot.waitUntil(lambda: all(loader.cached(n) for n in range(105, 114)), timeout=5000)
        got = loader.request(110)
        assert got is not None and int(np.mean(got)) == 4 * 10 + 10
    finally:
        loader.stop()


def test_frame_loader_reports_undecodable_frame(qtbot, no_leaked_threads, array_clip):
    class Broken(array_clip.ArraySource):
        def read(self, number):
            from cmnet_core.data.clip import ClipError
            raise ClipError(f"frame {number}: corrupt packet")

    loader = FrameLoader()
    try:
        failed = []
        loader.frameFailed.connect(lambda n, msg: failed.append((n, msg)))
        loader.set_clip(array_clip(5, source_cls=Broken))
        loader.request(2)
        qtbot.waitUntil(lambda: (2, "frame 2: corrupt packet") in failed, timeout=5000)
    finally:
        loader.stop()


def test_qt_binding_keeps_reference_counts(qapp):
    """PySide6 6.12.0 on Python 3.11 drops a reference to True on every emit and aborts the app after ~1000
    emits; the installed binding must not (pin PySide6-Essentials<6.12)."""
    from app.main import qt_binding_problem

    assert qt_binding_problem() == ""


def test_garbage_is_collected_in_the_gui_thread_only(qtbot):
    import gc
    import weakref

    from app.workers import collect_garbage_in_gui_thread

    collector = collect_garbage_in_gui_thread(0.05)
    try:
        assert not gc.isenabled()  # no automatic collection: a worker thread can never be the one collecting

        class Node:
            pass

        for _ in range(3000):  # enough cycles to pass generation 0's threshold
            a, b = Node(), Node()
            a.other, b.other = b, a
        probe = Node()
        probe.self = probe
        ref = weakref.ref(probe)
        del probe, a, b
        assert ref() is not None          # nothing collected it yet
        qtbot.waitUntil(lambda: ref() is None, timeout=3000)  # the QTimer in the GUI thread did
    finally:
        collector.timer.stop()
        gc.enable()


def test_tasks_and_background_imports_exclude_each_other(qtbot, no_leaked_threads):
    """A task started while `import_in_background` runs starts after it, and an import starts after the running
    tasks (two threads importing torchvision at once saw it half-initialised: "cannot import name
    'InterpolationMode' from partially initialized module 'torchvision.transforms'")."""
    from app.workers import import_in_background

    order = []
    thread = import_in_background(lambda: (time.sleep(0.3), order.append("imports")))
    task = Task(lambda progress, cancelled: order.append("task") or len(order))
    with qtbot.waitSignal(task.signals.finished, timeout=5000) as blocker:
        task.start()
    thread.join()
    assert order == ["imports", "task"] and blocker.args == [2]
    order.clear()
    running = Task(lambda progress, cancelled: (order.append("task starts"), time.sleep(0.3), order.append("task ends")))
    with qtbot.waitSignal(running.signals.finished, timeout=5000):
        running.start()
        qtbot.waitUntil(lambda: order == ["task starts"], timeout=2000)
        thread = import_in_background(lambda: order.append("imports"))
    thread.join()
    assert order == ["task starts", "task ends", "imports"]
