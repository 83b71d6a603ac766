"""The shipped synthetic demo model: where it lies, and the name ``demo`` that stands for it (Qt-free).

``resources/demo/cmnet-demo.pt`` in the source tree is a small CMNet (preset ``"cpu"``) trained on synthetic
clips by ``scripts/build_demo.py`` (recipe and seed: ``app.demo``). Its metadata carries the held-out figures
measured when it was built (``metrics``). It is for the demo and for tests: synthetic data only, not for real faces.
The project is installed editable, so the file is found relative to this package.
"""
from __future__ import annotations

from pathlib import Path

#: The name that `resolve_checkpoint` (``cmnet predict demo ...``, ``cmnet-studio --checkpoint demo``) maps to
#: the shipped file.
DEMO_NAME = "demo"
#: The shipped demo checkpoint.
DEMO_CHECKPOINT = Path(__file__).resolve().parent.parent / "resources" / "demo" / "cmnet-demo.pt"


def resolve_checkpoint(name: str | Path) -> Path:
    """``"demo"`` → `DEMO_CHECKPOINT` (unless a file or folder called ``demo`` exists in the working directory,
    which wins); any other name → itself as a path."""
    p = Path(name)
    if str(name) == DEMO_NAME and not p.exists():
        return DEMO_CHECKPOINT
    return p


__all__ = ["DEMO_CHECKPOINT", "DEMO_NAME", "resolve_checkpoint"]
