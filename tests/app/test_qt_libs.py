"""run.sh names the one install line for Qt's missing xcb system libraries before Qt aborts."""
import os
import subprocess
from pathlib import Path

from app.qt_libs import install_line, missing_libraries, package_manager, uses_xcb

ROOT = Path(__file__).resolve().parents[2]
LDD_MISSING = """\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /x/libQt6XcbQpa.so.6 (0x0)
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxkbcommon-x11.so.0 => not found
\tlibxcb-cursor.so.0 => not found
"""


def test_missing_libraries_and_the_install_line_per_system():
    missing = missing_libraries(LDD_MISSING)
    assert missing == ["libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxkbcommon-x11.so.0"]
    debian = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n'
    fedora = 'NAME="Fedora Linux"\nID=fedora\n'
    mint = 'ID=linuxmint\nID_LIKE="ubuntu debian"\n'
    assert package_manager(debian) == package_manager(mint) == "apt" and package_manager(fedora) == "dnf"
    assert install_line(missing, "apt") == "sudo apt-get install -y libxcb-cursor0 libxcb-icccm4 libxkbcommon-x11-0"
    assert install_line(missing, "dnf") == "sudo dnf install -y xcb-util-cursor xcb-util-wm libxkbcommon-x11"
    assert install_line(["libfoo.so.1"], "apt") == "install the packages that provide: libfoo.so.1"
    assert package_manager("ID=plan9\n") is None


def test_only_when_qt_uses_xcb():
    assert uses_xcb({}, "linux") and uses_xcb({"QT_QPA_PLATFORM": "xcb"}, "linux")
    assert not uses_xcb({"QT_QPA_PLATFORM": "offscreen"}, "linux") and not uses_xcb({}, "darwin")


def test_run_sh_prints_the_line_and_starts_nothing(tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "ldd").write_text("#!/bin/sh\nprintf '%s' \"" + LDD_MISSING.replace("\t", "    ") + "\"\n")
    (fake / "ldd").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}:{os.environ['PATH']}"}
    env.pop("QT_QPA_PLATFORM", None)
    done = subprocess.run(["bash", str(ROOT / "run.sh"), "--help"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1
    assert "needs system libraries that are not installed: libxcb-cursor.so.0, libxcb-icccm.so.4" in done.stderr
    this_system = package_manager(Path("/etc/os-release").read_text())   # Debian on the project's machines
    assert install_line(missing_libraries(LDD_MISSING), this_system) in done.stderr
    assert "usage" not in done.stdout.lower()  # the app did not start
