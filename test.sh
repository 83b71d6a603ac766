#!/usr/bin/env bash
# Run the test suite offscreen on the CPU (sets up .venv on first use). Extra arguments go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$ROOT/scripts/ensure_venv.sh"
cd "$ROOT"
export QT_QPA_PLATFORM=offscreen
"$ROOT/.venv/bin/lint-imports" --no-cache
exec "$ROOT/.venv/bin/python" -m pytest -q "$@"
