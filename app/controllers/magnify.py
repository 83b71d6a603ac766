"""The magnified view: computes the motion-magnified frames of the current clip in a worker (`cmnet_core.magnify`,
over the window `app.workspace.magnify_view` chooses) and shows them through the viewer's frame filter, alone or
side by side with the original, frame-exact; exports them as a video."""
from __future__ import annotations

import time
from collections import OrderedDict
from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject

from ..dialogs import Dialogs, beside
from ..widgets.magnify_panel import MagnifyPanel
from ..workspace.document import Document
from ..workspace.magnify_view import average_fps, compose, find_face_crop, make_job, run_job
from ..workspace.prediction import fresh_clip
from .tasks import TaskRunner
from .viewer import ViewerController

#: Magnified windows kept (clip, window, settings): switching α back and forth costs nothing.
CACHE_ENTRIES = 3


class MagnifyController(QObject):
    """Drives ``panel`` for ``doc``'s current clip; shows results through ``viewer.frame_filter``."""

    def __init__(self, doc: Document, panel: MagnifyPanel, viewer: ViewerController, tasks: TaskRunner,
                 dialogs: Dialogs, status: Callable[[str, int], None], parent: QObject) -> None:
        super().__init__(parent)
        self.doc, self.panel, self.viewer, self.tasks, self.dialogs, self.status = (
            doc, panel, viewer, tasks, dialogs, status)
        self.cache: OrderedDict[tuple, tuple[dict, object]] = OrderedDict()
        self.shown: tuple[dict, object] | None = None   # ({frame number: index}, frames) on screen
        self.crop: tuple[int, int, int, int] | None = None   # the part of the frame magnified (x, y, w, h), or None
        self.task = None
        self.timings: dict = {}   # the last computation's stages, seconds (read_s, magnify_s, worker_s)
        self._pending = False
        self._annotation = None   # the annotation the shown window was chosen for
        panel.settingsChanged.connect(self.update)
        panel.exportRequested.connect(self.export)
        doc.clip_changed.connect(self.update)
        doc.annotation_changed.connect(lambda *_: self._follow())
        doc.frame_changed.connect(lambda *_: self._follow())

    def _follow(self) -> None:
        """A new onset/offset, or a frame outside the magnified window: compute the window that belongs there (the
        annotated onset..offset, else the frames from here on); outside an annotated window the status says so."""
        if not self.panel.values()["on"] or self.doc.clip is None:
            return
        if self.task is not None:   # looked at again when the running one is done
            self._pending = True
            return
        if self.shown is None:
            return
        index = self.shown[0]
        first, last = min(index), max(index)
        if self.doc.frame in index and self.doc.annotation() == self._annotation:
            if "outside the magnified frames" in self.panel.status.text():   # back inside: the summary again
                self.update()
            return
        if self.doc.frame not in index or self.doc.annotation() != self._annotation:
            self.update()
            if self.doc.frame not in (self.shown[0] if self.shown else {}) and self.task is None:
                self.panel.status.setText(f"frame {self.doc.frame} is outside the magnified frames {first}–{last} "
                                          "(the annotated onset..offset ± 20): shown as recorded")

    def settings(self):
        """The panel's `MagnifySettings` (raises ``ValueError`` for a band that does not fit)."""
        from cmnet_core.magnify import MagnifySettings

        v = self.panel.values()
        return MagnifySettings(alpha=v["alpha"], low_hz=v["low_hz"], high_hz=v["high_hz"], method=v["method"])

    def update(self) -> None:
        """Turn the view on or off, or recompute for new settings / another clip (in a worker; one at a time)."""
        clip = self.doc.clip
        if not self.panel.values()["on"] or clip is None or len(clip) < 3:
            self._show(None)
            if self.panel.values()["on"] and clip is not None:
                self.panel.status.setText("a clip of at least 3 frames is needed")
            return
        if self.task is not None:
            self._pending = True
            return
        try:
            job = make_job(clip, self.doc.frame, self.doc.annotation(), self.settings(), self.panel.values()["face"])
        except ValueError as exc:
            self.panel.status.setText(str(exc))
            return
        self._annotation = self.doc.annotation()
        if job.key in self.cache:
            self.cache.move_to_end(job.key)
            self._show(self.cache[job.key])
            return
        fps = average_fps(clip)
        loader, timings = self.viewer.loader, {}

        def peek(number: int):   # a frame the GUI's loader already decoded, while it still shows this clip
            frame = loader.peek(number)
            return frame if self.doc.clip is clip else None

        def work(progress, cancelled):
            start = time.perf_counter()
            own = fresh_clip(clip)
            try:
                if job.face:
                    progress(0.0, "finding the face…")
                cropped, note = find_face_crop(job, own)
                frames = run_job(cropped, own, fps, progress=progress, cancelled=cancelled, cached=peek,
                                 timings=timings)
                return frames, cropped, note
            finally:
                own.close()
                timings["worker_s"] = round(time.perf_counter() - start, 3)

        def done(outcome) -> None:
            frames, cropped, note = outcome
            self.task = None
            self.timings = timings
            from cmnet_core.magnify import effective_band

            label = f"MAGNIFIED x{job.settings.alpha:g} {job.settings.method}"
            low, high = effective_band(fps, job.settings)   # the high edge as used (below half the rate)
            summary = (f"{job.numbers[0]}–{job.numbers[-1]} magnified: {cropped.size[0]}×{cropped.size[1]} px, "
                       f"{low:g}–{high:.3g} Hz, α {job.settings.alpha:g}, {job.settings.method}"
                       + (f"; {note}" if note else ""))
            result = ({n: i for i, n in enumerate(job.numbers)}, frames, cropped.crop, label, summary)
            self.cache[job.key] = result
            while len(self.cache) > CACHE_ENTRIES:
                self.cache.popitem(last=False)
            if clip is self.doc.clip:
                self._show(result)
            self._again()

        def failed(message: str) -> None:
            self.task = None
            self.panel.status.setText(f"not magnified: {message}")
            self._again()

        self.panel.status.setText(f"magnifying {len(job.numbers)} frames…")
        self.task = self.tasks.run(work, done, failed,
                                   lambda f, m: self.panel.status.setText(f"magnifying… {int(100 * f)} %"))

    def _again(self) -> None:
        if self._pending:
            self._pending = False
            self.update()

    def _show(self, result) -> None:
        """Show ``result`` = ({frame number: index}, frames (T, h, w, 3), crop (x, y, w, h) or None, label, summary
        for the panel's status), or nothing."""
        self.shown = None if result is None else result[:2]
        self.crop = None if result is None else result[2]
        self.panel.export_button.setEnabled(result is not None)
        side = self.panel.values()["side_by_side"]
        if result is None:
            self.viewer.frame_filter = None
            self.viewer.view_note = ""
        else:
            index, frames, crop, label, summary = result
            self.panel.status.setText(summary)
            self.viewer.view_note = f"   ·   {label}" + (" (right)" if side else "")
            self.viewer.frame_filter = lambda n, frame: compose(
                frame, frames[index[n]] if n in index else None, side, crop, label)
            if self.viewer.overlay_on:
                self.viewer.set_overlay(False)   # landmarks are in the original frame's pixels
        self.viewer.redraw()

    def export(self, path: str | None = None) -> Path | None:
        """Write the magnified frames on screen (the preview, at its working size) as an H.264 video at the
        clip's timestamps; asks for ``path``, suggesting ``<clip>_magnified_<first>-<last>.mp4`` beside the video.
        Refuses (an error box, nothing written) the open clip's own file, a file inside its frame folder, or a
        folder that cannot be written (`cmnet_core.safe_write.check_output`)."""
        if self.shown is None or self.doc.clip is None:
            return None
        from cmnet_core.magnify import write_video
        from cmnet_core.safe_write import check_output

        clip = self.doc.clip
        index, frames = self.shown
        numbers = sorted(index, key=index.get)
        first, last = numbers[0], numbers[-1]
        name = f"{clip.name}_magnified_{first}-{last}.mp4"
        path = path or self.dialogs.save_file("Export magnified video", beside(clip.path, name),
                                              "MP4 video (*.mp4)")
        if not path:
            return None
        times = [clip.time_of(n) for n in numbers]
        try:
            check_output(path, inputs=[clip.path], option="the export", example=name)
            out = write_video(frames, path, fps=clip.fps, times_s=np.asarray(times) - times[0])
        except (OSError, ValueError) as exc:
            self.dialogs.error("Video not written", str(exc))   # names the file and what to do
            return None
        h, w = frames.shape[1:3]
        self.status(f"Magnified video written to {out}: source frames {first}–{last} ({len(numbers)} frames), "
                    f"{w}×{h} px (the preview's working size; full resolution: cmnet magnify VIDEO --start {first} "
                    f"--end {last}{' --face' if self.crop is not None else ''} --method {self.settings().method} "
                    f"--alpha {self.settings().alpha:g})", 12000)
        return Path(out)


__all__ = ["MagnifyController"]
