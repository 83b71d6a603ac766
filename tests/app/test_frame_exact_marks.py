"""O / A / F pressed during playback mark the frame that is on screen, not the next one requested: checked on
a barcoded video (each frame draws its own number) at 0.25× and 1×, with a decoder slower than the frame rate."""
from __future__ import annotations

import time

import av
import numpy as np
import pytest

from app import commands as C
from app.commands import OpenPath

BITS, CELL = 8, 8           # frame number in 8 binary cells of 8×8 px (white = 1) along the top row


def write_barcoded_video(path, n=90, fps=30):
    """An H.264 video whose frame i shows i as a binary barcode."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        stream.options = {"crf": "0", "g": "10"}
        for i in range(n):
            img = np.zeros((64, 64, 3), np.uint8)
            for b in range(BITS):
                if i >> b & 1:
                    img[:CELL * 2, b * CELL:(b + 1) * CELL] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def shown_number(window) -> int:
    """The frame number drawn in the image the frame view shows now."""
    img = window.frame_view.image.image
    cells = img[CELL // 2:CELL + CELL // 2, :BITS * CELL].reshape(CELL, BITS, CELL, -1).mean(axis=(0, 2, 3))
    return int(sum(1 << b for b in range(BITS) if cells[b] > 127))


@pytest.mark.parametrize("speed", [0.25, 1.0])
def test_marks_during_playback_are_the_frame_on_screen(make_window, tmp_path, qtbot, speed, monkeypatch):
    video = tmp_path / "barcode.mp4"
    write_barcoded_video(video)
    w = make_window()
    w.commands.execute(OpenPath, path=str(video))
    qtbot.waitUntil(lambda: w.state.clip is not None and w.frame_view.image.image is not None, timeout=20_000)
    assert shown_number(w) == 0
    source = w.state.clip.source
    real_read = source.read

    def slow_read(number):   # a decoder slower than real time (a 4K video on a laptop): frames arrive late
        time.sleep(0.045)
        return real_read(number)

    monkeypatch.setattr(source, "read", slow_read)
    w.loader.set_clip(w.state.clip)     # drop what is cached: every frame now comes through the slow decoder
    w.speed.setCurrentIndex(w.speed.findData(speed))
    w.playback.toggle()
    marks = []
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline and w.playback.timer.isActive():
        qtbot.wait(int(137 / speed) % 400 + 60)
        on_screen = shown_number(w)
        w.actions_by_name["set_onset"].trigger()          # the O key
        marks.append((on_screen, w.state.annotation().onset))
    w.playback.stop()
    assert len(marks) >= 4
    assert all(seen == marked for seen, marked in marks), marks
    assert len({m for _, m in marks}) >= 3               # playback did move on between the presses
