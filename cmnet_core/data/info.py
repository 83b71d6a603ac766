"""What ``cmnet info`` reports: a description of a video, a frame folder, an image, a database
root with its sheet, or the MEGC 2019 composite ground truth — as a dict and as text."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from .clip import ClipError
from .composite import read_megc2019_gt
from .database import open_database
from .readers import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, FolderSource, StillImageSource, VideoSource


def describe(path: Path | str, sheet: Path | str | None = None, kind: str | None = None,
             protocol: str | None = None, verbose: bool = False) -> dict:
    """Describe ``path`` (JSON-ready dict; key ``"type"`` says what it is).

    - video file: frames (from the demuxed packets, or decoded), reported frames, how they were counted, nominal
      fps, size (width, height in pixels), codec, duration and last frame time (seconds, from the pts), time source
      (``"pts"`` or ``"nominal"``) and timing note, whether frames are found by keyframe seeks, keyframe count,
      variable frame rate;
    - still image: size;
    - folder of videos: their names (each is a clip);
    - frame folder (a folder holding images): frames, first/last number, gaps, size;
    - database root (any other folder, or ``kind`` given): `Database.summary` plus the text summary (every
      skipped row and clip listed when ``verbose``, else skips of absent subjects summarised);
    - MEGC 2019 ground-truth CSV (``kind="megc2019"`` or a ``megc2019*.csv`` name): rows per
      dataset and class, subjects.

    Raises `ClipError` / `DatabaseError` with the reason when the path cannot be read.
    """
    path = Path(path)
    if not path.exists():
        raise ClipError(f"{path} does not exist")
    if path.is_file() and (kind == "megc2019" or (path.suffix.lower() == ".csv" and "megc2019" in path.name.lower())):
        return _describe_gt(path)
    if path.is_file():
        ext = path.suffix.lower()
        if ext in VIDEO_EXTENSIONS:
            return _describe_video(path)
        if ext in IMAGE_EXTENSIONS:
            img = StillImageSource(path)
            return {"type": "image", "path": str(path), "size": list(img.size)}
        raise ClipError(f"{path}: not a video, image or MEGC 2019 ground truth; supported videos "
                        f"{', '.join(VIDEO_EXTENSIONS)}, images {', '.join(IMAGE_EXTENSIONS)}")
    files = [p for p in path.iterdir() if p.is_file()]
    videos = sorted(p.name for p in files if p.suffix.lower() in VIDEO_EXTENSIONS)
    if videos and kind is None and sheet is None:   # a folder of recordings: each video is a clip (app, predict)
        return {"type": "media-folder", "path": str(path), "videos": videos}
    has_images = any(p.suffix.lower() in IMAGE_EXTENSIONS for p in files)
    if has_images and kind is None and sheet is None:
        return _describe_folder(path)
    db = open_database(path, sheet=sheet, kind=kind, protocol=protocol)
    return {"type": "database", **db.summary(), "text": db.summary_text(verbose=verbose)}


def _describe_video(path: Path) -> dict:
    v = VideoSource(path)
    try:
        return {"type": "video", "path": str(path), "frames": v.frame_count, "reported_frames": v.reported_count,
                "count_source": v.count_source, "fps": round(v.fps, 4), "fps_nominal": round(v.fps_nominal, 4),
                "size": list(v.size), "codec": v.codec,
                "duration_s": round(v.duration_s, 3), "last_time_s": round(float(v.times_s[-1]), 4),
                "time_source": v.time_source, "timing_note": v.timing_note, "seeks_exact": v.seeks_exact,
                "keyframes": len(v.keyframes), "variable_frame_rate": v.is_vfr}
    finally:
        v.close()


def _describe_folder(path: Path) -> dict:
    """A frame folder; inside a recognised database tree (`find_enclosing_database`) also its database clip:
    database, root, subject, clip, fps and the sheet's onset/apex/offset/emotion (as the app and predict open it)."""
    from .database import find_enclosing_database

    f = FolderSource(path)
    info = {"type": "frames", "path": str(path), "frames": len(f.frame_numbers), "first": f.frame_numbers[0],
            "last": f.frame_numbers[-1], "gaps": [list(g) for g in f.gaps], "size": list(f.size),
            "time_source": f.time_source, "timing_note": f.timing_note}
    try:
        enclosing = find_enclosing_database(path)
    except Exception:  # noqa: BLE001 - an adapter bug must not stop the folder's own description
        enclosing = None
    if enclosing is not None:
        clips = [{"subject": c.subject, "clip": c.name, "onset": c.annotation.onset, "apex": c.annotation.apex,
                  "offset": c.annotation.offset, "emotion": c.label, "fps": c.fps} for c in enclosing.clips]
        info.update(database=enclosing.database.name, root=str(enclosing.root), database_clips=clips,
                    time_source="nominal", timing_note=None)
    return info


def _describe_gt(path: Path) -> dict:
    rows = read_megc2019_gt(path)
    return {"type": "megc2019-gt", "path": str(path), "rows": len(rows),
            "per_dataset_class": {d: dict(Counter(r.label for r in rows if r.dataset == d))
                                  for d in dict.fromkeys(r.dataset for r in rows)},
            "subjects": len({r.subject for r in rows})}


def describe_text(info: dict) -> str:
    """`describe`'s dict as readable lines."""
    t = info["type"]
    if t == "database":
        return info["text"]
    if t == "video":
        w, h = info["size"]
        count = (f"{info['frames']} frames" + ("" if info["frames"] == info["reported_frames"]
                                               else f" (header says {info['reported_frames']})"))
        return "\n".join([
            f"video {info['path']}",
            f"{count}, counted from the {'decoded stream' if info['count_source'] == 'decoded' else 'demuxed packets'}",
            f"{info['fps']} fps ({'mean from the timestamps' if info['time_source'] == 'pts' else 'nominal'}; header "
            f"{info['fps_nominal']}), {info['duration_s']} s (last frame at {info['last_time_s']} s, "
            f"times from {'the timestamps (pts)' if info['time_source'] == 'pts' else 'the nominal fps'}), "
            f"{w}x{h} px, codec {info['codec']}",
            "seeks exact: " + (f"yes (keyframe seeks, {info['keyframes']} keyframes)" if info["seeks_exact"] else
                               "no (frames found by sequential decoding)"),
            "variable frame rate: " + ("yes" if info["variable_frame_rate"] else "no"),
            *([f"timing: {info['timing_note']}"] if info["timing_note"] else []),
        ])
    if t == "frames":
        gaps = ", ".join(f"{a}..{b}" if a != b else str(a) for a, b in info["gaps"]) or "none"
        lines = [f"frame folder {info['path']}",
                 f"{info['frames']} frames, numbers {info['first']}..{info['last']}, "
                 f"{info['size'][0]}x{info['size'][1]} px", f"gaps: {gaps}",
                 *([f"timing: {info['timing_note']}"] if info.get("timing_note") else [])]
        for c in info.get("database_clips", []):
            lines.append(f"clip {c['subject']}/{c['clip']} of the {info['database']} database at {info['root']}: "
                         f"{c['fps']:g} fps, onset {c['onset']}, apex {c['apex'] if c['apex'] is not None else '–'}, "
                         f"offset {c['offset']}, {c['emotion'] or 'no emotion'} (as the app and cmnet predict open it)")
        return "\n".join(lines)
    if t == "media-folder":
        names = info["videos"]
        return (f"folder of {len(names)} video(s) {info['path']}: " + ", ".join(names[:10])
                + (" …" if len(names) > 10 else "") + "\neach video is a clip (the app and cmnet predict/preprocess "
                "open them one by one); 'cmnet info FILE' describes one")
    if t == "image":
        return f"image {info['path']}: {info['size'][0]}x{info['size'][1]} px (a 1-frame clip)"
    lines = [f"MEGC 2019 composite ground truth {info['path']}: {info['rows']} clips, {info['subjects']} subjects"]
    lines += [f"  {d}: " + ", ".join(f"{k} {v}" for k, v in c.items()) for d, c in info["per_dataset_class"].items()]
    return "\n".join(lines)
