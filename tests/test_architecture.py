"""The core library must stay free of Qt (DESIGN.md §2): checked on the import graph."""
import subprocess
import sys


def test_cmnet_core_imports_no_qt():
    code = (
        "import sys, pkgutil, importlib, cmnet_core\n"
        "for m in pkgutil.walk_packages(cmnet_core.__path__, 'cmnet_core.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = sorted(k for k in sys.modules if k.split('.')[0] in ('PySide6', 'PyQt5', 'PyQt6', 'pyqtgraph', 'app'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"cmnet_core pulled in: {out.stdout.strip()}"


def _modules_after(code: str) -> set[str]:
    """Top-level names and app.* modules in sys.modules after running ``code`` in a fresh interpreter."""
    code += "\nimport sys\nprint(' '.join(sorted(sys.modules)))\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    return set(out.stdout.split())


def test_main_window_import_does_not_load_torch():
    """Starting the window stays fast: torch comes with the first checkpoint, in a worker."""
    loaded = _modules_after("import app.main_window")
    assert "app.main_window" in loaded and "torch" not in loaded


def test_workspace_imports_no_qt_no_torch_and_no_other_app_module():
    """app.workspace is the app's logic without Qt (import-linter checks the same on the import graph)."""
    loaded = _modules_after(
        "import pkgutil, importlib, app.workspace\n"
        "for m in pkgutil.walk_packages(app.workspace.__path__, 'app.workspace.'):\n"
        "    importlib.import_module(m.name)")
    assert "app.workspace.document" in loaded and "app.workspace.editing" in loaded
    assert not {m for m in loaded if m.split(".")[0] in ("PySide6", "pyqtgraph", "torch")}
    assert {m for m in loaded if m.startswith("app.")} <= {m for m in loaded if m.startswith("app.workspace")}
