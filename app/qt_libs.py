"""Before Qt starts: are the system libraries of Qt's xcb platform plugin (the X11 window) installed?

PySide6's wheels bring Qt but not the X11/xcb system libraries its ``xcb`` platform plugin links to
(libxcb-cursor0, libxcb-icccm4, libxkbcommon-x11-0, …). Without them Qt aborts the process (exit 134, "Could not
load the Qt platform plugin xcb") after printing a hint about one library at a time. `missing_libraries` asks
``ldd`` which of the plugin's libraries the system lacks, and `install_line` turns them into the ONE install
command for this system (apt-get on Debian/Ubuntu, dnf on Fedora/RHEL, zypper on openSUSE, pacman on Arch).

``./run.sh`` runs ``python -m app.qt_libs`` before starting the app: it prints that line and exits 1 when
something is missing, and installs nothing itself (the user runs the line, with sudo). Skipped when Qt will not use
xcb (``QT_QPA_PLATFORM`` set to ``offscreen``, ``wayland``, ``vnc``…), on macOS and Windows (their wheels are
complete), and when ``ldd`` is absent. No Qt import here.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

#: Library file (as ldd names it) → package, per package manager. Libraries the plugin may need that a desktop
#: or a minimal container can lack; anything else missing is named by its file.
PACKAGES: dict[str, dict[str, str]] = {
    "libxcb-cursor.so.0": {"apt": "libxcb-cursor0", "dnf": "xcb-util-cursor", "zypper": "libxcb-cursor0",
                           "pacman": "xcb-util-cursor"},
    "libxcb-icccm.so.4": {"apt": "libxcb-icccm4", "dnf": "xcb-util-wm", "zypper": "libxcb-icccm4",
                          "pacman": "xcb-util-wm"},
    "libxcb-keysyms.so.1": {"apt": "libxcb-keysyms1", "dnf": "xcb-util-keysyms", "zypper": "libxcb-keysyms1",
                            "pacman": "xcb-util-keysyms"},
    "libxcb-image.so.0": {"apt": "libxcb-image0", "dnf": "xcb-util-image", "zypper": "libxcb-image0",
                          "pacman": "xcb-util-image"},
    "libxcb-render-util.so.0": {"apt": "libxcb-render-util0", "dnf": "xcb-util-renderutil",
                                "zypper": "libxcb-render-util0", "pacman": "xcb-util-renderutil"},
    "libxcb-util.so.1": {"apt": "libxcb-util1", "dnf": "xcb-util", "zypper": "libxcb-util1", "pacman": "xcb-util"},
    "libxcb-xinerama.so.0": {"apt": "libxcb-xinerama0", "dnf": "libxcb", "zypper": "libxcb-xinerama0",
                             "pacman": "libxcb"},
    "libxcb-randr.so.0": {"apt": "libxcb-randr0", "dnf": "libxcb", "zypper": "libxcb-randr0", "pacman": "libxcb"},
    "libxcb-shape.so.0": {"apt": "libxcb-shape0", "dnf": "libxcb", "zypper": "libxcb-shape0", "pacman": "libxcb"},
    "libxcb-shm.so.0": {"apt": "libxcb-shm0", "dnf": "libxcb", "zypper": "libxcb-shm0", "pacman": "libxcb"},
    "libxcb-sync.so.1": {"apt": "libxcb-sync1", "dnf": "libxcb", "zypper": "libxcb-sync1", "pacman": "libxcb"},
    "libxcb-xfixes.so.0": {"apt": "libxcb-xfixes0", "dnf": "libxcb", "zypper": "libxcb-xfixes0", "pacman": "libxcb"},
    "libxcb-render.so.0": {"apt": "libxcb-render0", "dnf": "libxcb", "zypper": "libxcb-render0", "pacman": "libxcb"},
    "libxcb-xkb.so.1": {"apt": "libxcb-xkb1", "dnf": "libxcb", "zypper": "libxcb-xkb1", "pacman": "libxcb"},
    "libxcb.so.1": {"apt": "libxcb1", "dnf": "libxcb", "zypper": "libxcb1", "pacman": "libxcb"},
    "libxkbcommon-x11.so.0": {"apt": "libxkbcommon-x11-0", "dnf": "libxkbcommon-x11",
                              "zypper": "libxkbcommon-x11-0", "pacman": "libxkbcommon-x11"},
    "libxkbcommon.so.0": {"apt": "libxkbcommon0", "dnf": "libxkbcommon", "zypper": "libxkbcommon0",
                          "pacman": "libxkbcommon"},
    "libX11-xcb.so.1": {"apt": "libx11-xcb1", "dnf": "libX11-xcb", "zypper": "libX11-xcb1", "pacman": "libx11"},
    "libX11.so.6": {"apt": "libx11-6", "dnf": "libX11", "zypper": "libX11-6", "pacman": "libx11"},
    "libEGL.so.1": {"apt": "libegl1", "dnf": "libglvnd-egl", "zypper": "libEGL1", "pacman": "libglvnd"},
    "libGL.so.1": {"apt": "libgl1", "dnf": "libglvnd-glx", "zypper": "libGL1", "pacman": "libglvnd"},
    "libOpenGL.so.0": {"apt": "libopengl0", "dnf": "libglvnd-opengl", "zypper": "libOpenGL0", "pacman": "libglvnd"},
    "libfontconfig.so.1": {"apt": "libfontconfig1", "dnf": "fontconfig", "zypper": "libfontconfig1",
                           "pacman": "fontconfig"},
    "libfreetype.so.6": {"apt": "libfreetype6", "dnf": "freetype", "zypper": "libfreetype6", "pacman": "freetype2"},
    "libdbus-1.so.3": {"apt": "libdbus-1-3", "dnf": "dbus-libs", "zypper": "libdbus-1-3", "pacman": "dbus"},
    "libglib-2.0.so.0": {"apt": "libglib2.0-0", "dnf": "glib2", "zypper": "libglib-2_0-0", "pacman": "glib2"},
}
#: Install command per package manager (the packages follow).
COMMANDS = {"apt": "sudo apt-get install -y", "dnf": "sudo dnf install -y", "zypper": "sudo zypper install -y",
            "pacman": "sudo pacman -S --needed"}
#: ``/etc/os-release`` ID / ID_LIKE words → package manager.
_FAMILIES = {"debian": "apt", "ubuntu": "apt", "linuxmint": "apt", "pop": "apt", "fedora": "dnf", "rhel": "dnf",
             "centos": "dnf", "rocky": "dnf", "almalinux": "dnf", "opensuse": "zypper", "suse": "zypper",
             "sles": "zypper", "arch": "pacman", "manjaro": "pacman"}


def xcb_plugin() -> Path | None:
    """The xcb platform plugin of the installed PySide6 (``…/Qt/plugins/platforms/libqxcb.so``), or None."""
    import importlib.util

    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return path if path.is_file() else None


def missing_libraries(ldd_output: str) -> list[str]:
    """The library files ``ldd`` reports as ``not found`` (in its order, without repeats)."""
    found = re.findall(r"^\s*(\S+)\s+=>\s+not found", ldd_output, flags=re.MULTILINE)
    return list(dict.fromkeys(found))


def package_manager(os_release: str) -> str | None:
    """``"apt"``, ``"dnf"``, ``"zypper"`` or ``"pacman"`` from the text of ``/etc/os-release`` (ID, then
    ID_LIKE), or None when the family is unknown."""
    fields = dict(re.findall(r'^(\w+)="?([^"\n]*)"?$', os_release, flags=re.MULTILINE))
    for word in (fields.get("ID", "") + " " + fields.get("ID_LIKE", "")).split():
        if word.lower() in _FAMILIES:
            return _FAMILIES[word.lower()]
    return None


def install_line(missing: list[str], manager: str | None) -> str:
    """The one command that installs the packages of ``missing`` with ``manager`` (packages de-duplicated, in
    order); with an unknown manager or a library outside `PACKAGES`, the library files themselves are named."""
    if manager in COMMANDS and all(lib in PACKAGES for lib in missing):
        packages = list(dict.fromkeys(PACKAGES[lib][manager] for lib in missing))
        return f"{COMMANDS[manager]} {' '.join(packages)}"
    return "install the packages that provide: " + " ".join(missing)


def uses_xcb(env: dict | None = None, platform: str | None = None) -> bool:
    """True when Qt will start its xcb plugin: Linux, and ``QT_QPA_PLATFORM`` unset, empty or ``xcb``."""
    env = os.environ if env is None else env
    if (platform or sys.platform) != "linux":
        return False
    return env.get("QT_QPA_PLATFORM", "").split(":")[0] in ("", "xcb")


def check(env: dict | None = None) -> str | None:
    """The message to print before Qt starts, or None when nothing is missing (or the check does not apply:
    no xcb, no plugin, no ``ldd``)."""
    if not uses_xcb(env):
        return None
    plugin, ldd = xcb_plugin(), shutil.which("ldd")
    if plugin is None or ldd is None:
        return None
    out = subprocess.run([ldd, str(plugin)], capture_output=True, text=True).stdout
    missing = missing_libraries(out)
    if not missing:
        return None
    try:
        manager = package_manager(Path("/etc/os-release").read_text(encoding="utf-8", errors="replace"))
    except OSError:
        manager = None
    return (f"CMNet Studio cannot open its window: Qt's X11 (xcb) platform plugin needs system libraries that are "
            f"not installed: {', '.join(missing)}.\nInstall them with:\n\n    {install_line(missing, manager)}\n\n"
            "then run ./run.sh again. (Nothing was installed; the tests and the cmnet command line do not need "
            "them.)")


def main() -> int:
    """Print `check`'s message on stderr and return 1 when libraries are missing, else 0."""
    message = check()
    if message:
        print(message, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
