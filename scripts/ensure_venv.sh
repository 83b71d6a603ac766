#!/usr/bin/env bash
# Create or refresh the project-local virtual environment .venv.
# Re-installs when .venv is missing, or when pyproject.toml or this script changed since the last install.
# Sourced by ./run.sh and ./test.sh; safe to run by hand.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"
STAMP="$VENV/.cmnet-stamp"
want="$(cat "$ROOT/pyproject.toml" "$ROOT/scripts/ensure_venv.sh" | sha256sum | cut -d' ' -f1)"
if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    exit 0
fi
echo "[cmnet] setting up $VENV (first run takes a few minutes) ..." >&2
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check -q)
"${PIP[@]}" "torch==2.14.1" "torchvision==0.29.1"
"${PIP[@]}" -e "$ROOT[test]"
# face-alignment (FAN landmarks, as in the paper) and facenet-pytorch (MTCNN, the offline
# detector whose weights ship in its wheel) declare pins that would pull opencv-python and an
# old torch; their real needs are in pyproject.toml, so install them without their metadata deps.
"${PIP[@]}" --no-deps "face-alignment==1.5.0" "facenet-pytorch==2.6.0"
# Guard: the non-headless OpenCV must never be present (it breaks PySide6's Qt plugins).
if "$VENV/bin/python" -m pip show opencv-python >/dev/null 2>&1; then
    "$VENV/bin/python" -m pip uninstall -y -q opencv-python
    "${PIP[@]}" --force-reinstall --no-deps "opencv-python-headless>=4.9,<5"
fi
echo "$want" > "$STAMP"
echo "[cmnet] environment ready" >&2
