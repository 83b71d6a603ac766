"""Annotation exchange with ELAN (``.eaf``, through pympi-ling) and ELAN-style tab-delimited text.

Researchers code video in ELAN (The Language Archive, MPI Nijmegen); the field's other tools read its files.
One ``.eaf`` holds the annotations of one media file (a video, or a frame folder without a media file to link).
Each kind of annotation is a tier (`TIERS`):

==============  ============================================  ==================================================
tier            annotation                                    value
==============  ============================================  ==================================================
``ME``          onset .. offset (the micro-expression)        the emotion (may be empty)
``apex``        the apex frame (one frame long)               where the apex came from (``annotated``, ``spotted``…)
``AU``          onset .. offset                               the action units as coded (``4+L10``)
``notes``       onset .. offset                               the coder's notes
==============  ============================================  ==================================================

Times are milliseconds on the media's own clock: a frame's start is its decoded timestamp (`Clip.time_of`: the
video's pts, a database's frame rate, or the frame rate given for a folder), and an interval ends where the frame
after its last one starts, so ``offset`` is inclusive as everywhere in CMNet Studio. Reading maps a begin time to
the frame that starts nearest to it and an end time to the frame that is showing just before it, so export then
import gives back the same frames whenever frames last 2 ms or more (anything up to 500 fps).

The tab-delimited export (`write_tab_delimited`) writes ELAN's own "Export as tab-delimited text" columns (tier,
begin, end, duration, value) with a choice of time unit (`TIME_UNITS`): ``ms``, ``s``, ``hh:mm:ss.ms`` or
``frames``. Qt-free and torch-free.
"""
from __future__ import annotations

import csv
import io
import mimetypes
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

from .annotation_io import atomic_write_text
from .clip import Annotation, Clip

#: Tier of each annotation kind (module docstring).
TIERS = {"interval": "ME", "apex": "apex", "aus": "AU", "notes": "notes"}
#: Linguistic type the tiers use (ELAN needs one per tier).
LINGUISTIC_TYPE = "default-lt"
#: Units of the tab-delimited export: milliseconds, seconds, ``hh:mm:ss.mmm``, frame numbers.
TIME_UNITS = ("ms", "s", "hh:mm:ss.ms", "frames")


class ElanError(ValueError):
    """An ``.eaf`` that cannot be read as CMNet Studio annotations; the message names the file and what to do."""


@dataclass(frozen=True)
class TierAnnotation:
    """One annotation on one tier: ``begin_ms`` .. ``end_ms`` (milliseconds, end exclusive), ``value`` (text)."""

    tier: str
    begin_ms: int
    end_ms: int
    value: str


def _ms(seconds: float) -> int:
    return int(round(seconds * 1000.0))


def frame_end_ms(clip: Clip, number: int) -> int:
    """End of frame ``number`` in ms: the start of the next frame (the nominal frame length after the last)."""
    return _ms(clip.time_of(number + 1))


def left_out(annotation: Annotation) -> list[str]:
    """What of ``annotation`` an ELAN export cannot carry, as phrases for a message: ELAN intervals need both
    onset and offset, so an onset or offset alone, and the emotion, AUs and notes of an annotation without both,
    are left out ([] when everything goes into the file)."""
    a = annotation
    if a.onset is not None and a.offset is not None:
        return []
    out = [f"the {name} (frame {getattr(a, name)}) without its {other}" for name, other in
           (("onset", "offset"), ("offset", "onset")) if getattr(a, name) is not None]
    out += [f"the {what}" for what, value in (("emotion", a.emotion), ("AUs", a.aus), ("notes", a.notes)) if value]
    return out


def tier_annotations(annotation: Annotation, clip: Clip) -> list[TierAnnotation]:
    """The tier annotations (`TIERS`) of one clip annotation, times from ``clip``'s timestamps (ms).

    Needs onset and offset for the ME/AU/notes intervals and the apex for the apex point; what is missing is left
    out (an apex without an interval is still exported). Empty AUs or notes write no annotation."""
    out: list[TierAnnotation] = []
    a = annotation
    if a.onset is not None and a.offset is not None:
        begin, end = _ms(clip.time_of(a.onset)), frame_end_ms(clip, a.offset)
        out.append(TierAnnotation(TIERS["interval"], begin, end, a.emotion or ""))
        if a.aus:
            out.append(TierAnnotation(TIERS["aus"], begin, end, a.aus))
        if a.notes:
            out.append(TierAnnotation(TIERS["notes"], begin, end, a.notes))
    if a.apex is not None:
        out.append(TierAnnotation(TIERS["apex"], _ms(clip.time_of(a.apex)), frame_end_ms(clip, a.apex),
                                  a.apex_source or "annotated"))
    return out


def _media_mimetype(path: Path) -> str:
    guess = mimetypes.guess_type(path.name)[0]
    return guess or "video/*"


def write_eaf(path: str | Path, annotations: Sequence[Annotation], clip: Clip, media: str | Path | None = None
              ) -> Path:
    """Write ``annotations`` (of ``clip``; several micro-expressions in one video are several annotations) as an
    ELAN file at ``path``, atomically; the media file ``media`` (default: the clip's video file, none for a frame
    folder) is linked by absolute path. Returns the path.

    Raises `OSError` (`DiskFullError` when the disk is full) when it cannot be written; an existing file is then
    left as it was.
    """
    import pympi

    eaf = pympi.Elan.Eaf(author="CMNet Studio")
    eaf.add_linguistic_type(LINGUISTIC_TYPE)
    for tier in TIERS.values():
        eaf.add_tier(tier, ling=LINGUISTIC_TYPE)
    if "default" in eaf.get_tier_names():
        eaf.remove_tier("default")
    media_path = Path(media) if media is not None else (clip.path if clip.path.is_file() else None)
    if media_path is not None:
        eaf.add_linked_file(media_path.absolute().as_uri(), relpath=media_path.name,
                            mimetype=_media_mimetype(media_path))
    for ann in annotations:
        for t in tier_annotations(ann, clip):
            eaf.add_annotation(t.tier, t.begin_ms, t.end_ms, t.value)
    from xml.etree import ElementTree

    text = ElementTree.tostring(pympi.Elan.to_adocument(eaf, True), encoding="unicode")
    atomic_write_text(path, '<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n")
    return Path(path)


def _frame_starting_near(clip: Clip, ms: int) -> int:
    """The frame whose start is nearest to ``ms``."""
    nums = clip.frame_numbers
    first = clip.frame_at_time(ms / 1000.0)
    candidates = [n for n in (first, first + 1) if nums[0] <= n <= nums[-1]]
    return min(candidates, key=lambda n: abs(_ms(clip.time_of(n)) - ms))


def _frame_showing_before(clip: Clip, ms: int) -> int:
    """The frame on screen just before ``ms`` (the last frame of an interval ending at ``ms``)."""
    nums = clip.frame_numbers
    return max(int(nums[0]), min(int(nums[-1]), clip.frame_at_time((ms - 0.5) / 1000.0)))


def read_eaf(path: str | Path, clip: Clip) -> list[Annotation]:
    """The micro-expressions in the ELAN file ``path``, as frames of ``clip``: one `Annotation` per annotation on
    the ``ME`` tier (in time order), with the apex, AUs and notes annotations that fall inside its interval.

    A file without an ``ME`` tier but with an ``apex`` tier gives one annotation per apex. Annotations outside the
    clip's time span are clamped to its first / last frame. Raises `ElanError` naming the file for a file that is
    not ELAN XML or has none of the tiers (listing the tiers it has, so a coder can rename one), `OSError` when it
    cannot be read.
    """
    import pympi

    path = Path(path)
    try:
        eaf = pympi.Elan.Eaf(str(path))
    except OSError:
        raise
    except Exception as exc:  # noqa: BLE001 - pympi raises bare ElementTree / ValueError for damaged files
        raise ElanError(f"{path} is not an ELAN .eaf file that can be read ({exc}); export it again from ELAN "
                        "(File > Save As)") from None
    names = set(eaf.get_tier_names())
    if not names & set(TIERS.values()):
        raise ElanError(f"{path} has none of the tiers {', '.join(TIERS.values())} (it has: "
                        f"{', '.join(sorted(names)) or 'none'}); rename the tier that holds the micro-expression "
                        f"intervals to {TIERS['interval']!r} in ELAN, or export from CMNet Studio")

    def tier(kind: str) -> list[tuple[int, int, str]]:
        name = TIERS[kind]
        if name not in names:
            return []
        return sorted((int(b), int(e), str(v or "")) for b, e, v, *_ in eaf.get_annotation_data_for_tier(name))

    def inside(rows, begin, end):
        return [r for r in rows if begin <= (r[0] + r[1]) / 2 < end]

    apexes, aus, notes = tier("apex"), tier("aus"), tier("notes")
    result = []
    intervals = tier("interval")
    apex_only = not intervals   # no ME interval (or an empty ME tier): each apex is all there is
    for begin, end, value in intervals or [(b, e, "") for b, e, _ in apexes]:
        ann = Annotation() if apex_only else Annotation(onset=_frame_starting_near(clip, begin),
                                                        offset=_frame_showing_before(clip, end),
                                                        emotion=value or None)
        found = inside(apexes, begin, end)
        if found:
            ann = replace(ann, apex=_frame_starting_near(clip, found[0][0]), apex_source=found[0][2] or "annotated")
        ann = replace(ann, aus="+".join(r[2] for r in inside(aus, begin, end) if r[2]),
                      notes="; ".join(r[2] for r in inside(notes, begin, end) if r[2]))
        result.append(ann)
    return result


def _format_time(ms: int, unit: str, clip: Clip, end: bool = False) -> str:
    if unit == "ms":
        return str(ms)
    if unit == "s":
        return f"{ms / 1000:.3f}"
    if unit == "hh:mm:ss.ms":
        h, rest = divmod(ms, 3_600_000)
        m, rest = divmod(rest, 60_000)
        return f"{h:02d}:{m:02d}:{rest / 1000:06.3f}"
    if unit == "frames":
        return str(_frame_showing_before(clip, ms) if end else _frame_starting_near(clip, ms))
    raise ValueError(f"time unit {unit!r}: choose one of {', '.join(TIME_UNITS)}")


def tab_delimited_text(annotations: Sequence[Annotation], clip: Clip, unit: str = "ms") -> str:
    """ELAN-style tab-delimited text: a header line, then one line per tier annotation (tier, begin, end,
    duration, value) in time order, times in ``unit`` (`TIME_UNITS`; ``frames``: source frame numbers, the end
    frame inclusive and the duration in frames). Raises ``ValueError`` for an unknown unit."""
    if unit not in TIME_UNITS:
        raise ValueError(f"time unit {unit!r}: choose one of {', '.join(TIME_UNITS)}")
    rows = sorted((t for a in annotations for t in tier_annotations(a, clip)), key=lambda t: (t.begin_ms, t.tier))
    buf = io.StringIO(newline="")
    w = csv.writer(buf, delimiter="\t", lineterminator="\n")
    w.writerow(["tier", f"begin ({unit})", f"end ({unit})", f"duration ({unit})", "value"])
    for t in rows:
        begin, end = _format_time(t.begin_ms, unit, clip), _format_time(t.end_ms, unit, clip, end=True)
        if unit == "frames":
            duration = str(int(end) - int(begin) + 1)
        else:
            duration = _format_time(t.end_ms - t.begin_ms, unit, clip)
        w.writerow([t.tier, begin, end, duration, t.value])
    return buf.getvalue()


def write_tab_delimited(path: str | Path, annotations: Sequence[Annotation], clip: Clip, unit: str = "ms") -> Path:
    """Write `tab_delimited_text` to ``path`` atomically; returns the path. Raises ``ValueError`` for an unknown
    unit, `OSError` when it cannot be written (an existing file is left as it was)."""
    atomic_write_text(path, tab_delimited_text(annotations, clip, unit))
    return Path(path)


__all__ = ["ElanError", "LINGUISTIC_TYPE", "TIERS", "TIME_UNITS", "TierAnnotation", "frame_end_ms", "left_out", "read_eaf",
           "tab_delimited_text", "tier_annotations", "write_eaf", "write_tab_delimited"]
