"""How the shown times of a clip were obtained, and what changes when the user sets a bare frame folder's
frame rate (the folder has none of its own)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from cmnet_core.data.clip import Clip


def is_bare_folder(clip: Clip | None) -> bool:
    """A frame folder opened on its own (no database gives its frame rate)."""
    return clip is not None and not clip.database and hasattr(clip.source, "set_fps") and len(clip) > 1


def timing_suffix(clip: Clip) -> str:
    """How the shown time was obtained: from the video's timestamps, a known rate, or an assumed one."""
    source = clip.time_source
    if source == "pts":
        return " (pts" + (", variable frame rate)" if getattr(clip.source, "is_vfr", False) else ")")
    if source == "assumed":
        return f"  ASSUMED {clip.fps:g} fps"
    return f"  @ {clip.fps:g} fps" + (" (timestamps unusable)" if clip.timing_note else "")


def frame_label(clip: Clip, number: int) -> str:
    """The transport's label for source frame ``number``: the frame, the clip's range, its time in seconds
    (`Clip.time_of`) and how that time was obtained."""
    nums = clip.frame_numbers
    return (f"frame {number}  [{nums[0]}–{nums[-1]}]   t = {clip.time_of(number) if len(clip) else 0.0:.3f} s"
            f"{timing_suffix(clip)}")


def needs_new_fps(clip: Clip | None, fps: float) -> bool:
    """True when setting ``fps`` (frames/s) on ``clip`` changes something: a bare frame folder whose rate is
    assumed or different."""
    return is_bare_folder(clip) and not (clip.time_source == "nominal" and abs(clip.fps - fps) < 1e-9)


def retimed_prediction(prediction, clip: Clip, old_note: str):
    """``prediction`` of ``clip`` with the times of the clip's new frame rate (its times and timing note were
    assumed); ``old_note`` (the clip's timing note before) is dropped from the provenance notes. Returns the
    prediction unchanged when it belongs to another source or is None."""
    if prediction is None or prediction.source != str(clip.path):
        return prediction
    notes = [n for n in prediction.provenance.get("notes", []) if n != old_note]
    return replace(prediction, fps=clip.fps, time_source=clip.time_source, timing_note=clip.timing_note,
                   position_times=np.array([clip.time_of(f) for f in prediction.frame_map]),
                   provenance={**prediction.provenance, "notes": notes})
