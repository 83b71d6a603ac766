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
