"""Write a `PreprocessedClip` to disk: the N crops as PNGs, the frame map and apex as JSON and CSV,
and a contact sheet (all N crops in one image, apex framed in red) for checking alignment by eye."""
from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

import cv2
import numpy as np

from .types import PreprocessedClip

CSV_NAME, JSON_NAME = "frame_map.csv", "preprocess.json"


def _write_png(path: Path, rgb: np.ndarray) -> None:
    if not cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1])):
        raise OSError(f"could not write {path}")


def write_outputs(result: PreprocessedClip, folder: str | os.PathLike, source: str = "") -> Path:
    """Write ``frame_00.png`` .. (the N crops, S x S RGB), ``frame_map.csv`` (position, source_frame,
    is_apex) and ``preprocess.json`` (frame map, apex position, the apex's source frame number and where
    the apex came from, with the spotter's name and confidence when spotted, backend, settings, notes,
    padded share, ``source`` path) into ``folder``, whole or not at all: the files go to a hidden sibling folder
    that replaces ``folder`` only when complete. Returns the folder.

    Raises `DiskFullError` ("disk full at PATH (N MB free)") when the disk is full and `OSError` for other write
    failures; either way no partial folder is left and a previous ``folder`` is kept as it was.
    """
    import shutil
    import tempfile

    from ..safe_write import DiskFullError, free_mb, is_disk_full

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{folder.name}.partial-", dir=folder.parent))
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(partial, 0o777 & ~mask)   # a plain folder's mode once in place (mkdtemp makes it 0700)
    try:
        _write_outputs_into(result, partial, source)
    except OSError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        left = free_mb(folder.parent)
        if is_disk_full(exc) or (left is not None and left < 1.0):   # cv2.imwrite says only "False"
            raise DiskFullError(folder) from exc
        raise
    old = None
    if folder.exists():
        old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
        os.replace(folder, old)
    os.replace(partial, folder)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return folder


def _write_outputs_into(result: PreprocessedClip, folder: Path, source: str) -> Path:
    """The files of `write_outputs`, written into the existing ``folder``; raises `OSError` on a failed write."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    digits = max(2, len(str(len(result.frames) - 1)))
    for i, frame in enumerate(result.frames):
        _write_png(folder / f"frame_{i:0{digits}d}.png", frame)
    fmap = [float(v) for v in result.frame_map]
    with open(folder / CSV_NAME, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["position", "source_frame", "is_apex"])
        for i, v in enumerate(fmap):
            writer.writerow([i, f"{v:.4f}".rstrip("0").rstrip("."), int(i == result.apex_position)])
    info = {
        "source": source,
        "frame_map": fmap,
        "apex_position": int(result.apex_position),
        "apex_frame": fmap[result.apex_position],
        "apex_source": result.apex_source,
        "apex_spotter": result.apex_spotter,
        "apex_confidence": result.apex_confidence,
        "backend": result.backend,
        "settings": result.settings.to_dict(),
        "notes": list(result.notes),
        "padded_share": round(float(result.padded), 4),
    }
    (folder / JSON_NAME).write_text(json.dumps(info, indent=2))
    return folder


def contact_sheet(result: PreprocessedClip, title: str = "", tile: int = 128) -> np.ndarray:
    """All N crops in a grid (uint8 RGB), each labelled below with its position and source frame number
    (fractional when interpolated); the apex tile is framed in red; the header gives the share of the crop that
    is padding (outside the source frame). ``tile``: side of one crop (pixels)."""
    n = len(result.frames)
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    head, foot = 22, 16
    sheet = np.full((head + rows * (tile + foot), cols * tile, 3), 255, np.uint8)
    header = f"{title}   " if title else ""
    header += f"pad {result.padded:.1%}"
    cv2.putText(sheet, header, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                (200, 0, 0) if result.padded >= 0.03 else (0, 0, 0), 1, cv2.LINE_AA)
    for i, frame in enumerate(result.frames):
        r, c = divmod(i, cols)
        y, x = head + r * (tile + foot), c * tile
        thumb = cv2.resize(frame, (tile, tile), interpolation=cv2.INTER_AREA)
        is_apex = i == result.apex_position
        if is_apex:
            cv2.rectangle(thumb, (0, 0), (tile - 1, tile - 1), (255, 0, 0), 3)
        sheet[y:y + tile, x:x + tile] = thumb
        label = f"{i}: frame {result.frame_map[i]:g}" + (" APEX" if is_apex else "")
        cv2.putText(sheet, label, (x + 3, y + tile + 12), cv2.FONT_HERSHEY_SIMPLEX, 0.38,
                    (200, 0, 0) if is_apex else (0, 0, 0), 1, cv2.LINE_AA)
    return sheet


def write_contact_sheet(result: PreprocessedClip, path: str | os.PathLike, title: str = "", tile: int = 128) -> Path:
    """Save `contact_sheet` as a PNG at ``path`` (parent folders created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_png(path, contact_sheet(result, title, tile))
    return path
