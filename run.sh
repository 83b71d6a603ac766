#!/usr/bin/env bash
# Open CMNet Studio on its embedded synthetic demo (sets up .venv on first use).
# Extra arguments go to cmnet-studio, e.g. ./run.sh path/to/video.mp4
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$ROOT/scripts/ensure_venv.sh"
# Qt's X11 plugin needs system libraries pip cannot install: name the one install line when any is missing.
"$ROOT/.venv/bin/python" -m app.qt_libs || exit 1
exec "$ROOT/.venv/bin/cmnet-studio" "$@"
