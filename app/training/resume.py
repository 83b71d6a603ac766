"""Whether a run in the runs table may be resumed, and why not (Qt-free).

A run launched from the app leaves ``<run>/launch.json`` (`RunProcess.start`): its command line, the process id,
the host and the time. A cancelled run, or an incomplete one (no run_end event: killed, crashed, or the machine
went down) whose process no longer lives, is resumed by starting that same command again: it holds ``--run-dir``,
so the CLI continues from the run's ``last.pt`` checkpoints and skips finished folds. A run whose process still
lives must not be resumed: two processes would train the same model into the same folder.

Liveness: the pid of launch.json on this host — on Linux also checked not to be a zombie and to be a process whose
command line names the run folder, so a pid reused by another program does not count; on Windows through
``OpenProcess`` / ``GetExitCodeProcess``. A run launched on another host (a shared folder) is never offered: its
process cannot be seen from here.
"""
from __future__ import annotations

import json
import os
import shlex
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

from cmnet_core.train.run_index import RunRecord
from cmnet_core.train.runs import RunFolder



def read_launch(run_dir: str | Path) -> dict | None:
    """``<run_dir>/launch.json`` as a dict with at least ``command`` (list of str) and ``pid`` (int); None when
    absent or damaged (a run started from a terminal has none)."""
    try:
        data = json.loads(RunFolder(run_dir).launch.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("command"), list) or not data["command"]:
        return None
    if not isinstance(data.get("pid"), int):
        return None
    return data


def pid_alive(pid: int) -> bool:
    """True when process ``pid`` exists on this machine and has not ended (a zombie — ended, not yet reaped by its
    parent — counts as ended on Linux)."""
    if pid <= 0:
        return False
    if sys.platform == "win32":
        import ctypes

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        ok = kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        kernel32.CloseHandle(handle)
        return bool(ok) and code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc (macOS): it exists
    return state not in ("Z", "X")


def launch_alive(launch: dict, run_dir: str | Path) -> bool:
    """True when the process of ``launch`` (`read_launch`) still runs on this host. A pid whose command line
    (Linux ``/proc/<pid>/cmdline``) does not name the run folder (its name: the table's path to it may be spelled
    otherwise) belongs to another program: False."""
    pid = int(launch["pid"])
    if not pid_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return True
    return Path(run_dir).name in cmdline


@dataclass
class ResumeOffer:
    """What the runs table offers for one run.

    allowed : the Resume action is enabled.
    reason : its tooltip — what resuming does, or why it is not offered and what to do instead.
    command : the command line to start again (launch.json's), empty when not allowed.
    """

    allowed: bool
    reason: str
    command: list[str] = field(default_factory=list)


def _checkpoints(run_dir: Path) -> list[Path]:
    run = RunFolder(run_dir)
    found = [run.checkpoints / "last.pt"] + [f.checkpoints / "last.pt" for f in run.fold_folders()]
    return [p for p in found if p.exists()]


def resume_offer(rec: RunRecord, followed: bool = False, host: str | None = None) -> ResumeOffer:
    """Whether run ``rec`` may be resumed from the app.

    followed : a monitor of this session follows the run (it is running here).
    host : this machine's name (default `socket.gethostname`); a run launched elsewhere is not offered.
    """
    host = host or socket.gethostname()
    if rec.status == "finished":
        return ResumeOffer(False, "This run finished: there is nothing to resume.")
    if followed:
        return ResumeOffer(False, "This run is still running in this session (see its tab): resuming it now "
                                  "would train the same model twice in one folder.")
    launch = read_launch(rec.path)
    if launch is None:
        return ResumeOffer(False, f"This run was not started from the app (no launch.json), so its command line "
                                  "is unknown: resume it by running the same cmnet command again with --run-dir "
                                  f"{rec.path}.")
    started = str(launch.get("started", ""))[:16].replace("T", " ")
    if launch.get("host") and launch["host"] != host:
        return ResumeOffer(False, f"This run was started on {launch['host']} ({started}); it may still be running "
                                  f"there, which cannot be seen from {host}. Resume it on {launch['host']}.")
    if launch_alive(launch, rec.path):
        return ResumeOffer(False, f"This run's process (pid {launch['pid']}, started {started}) is still running: "
                                  "resuming it now would train the same model twice in one folder. Wait for it to "
                                  f"end, or stop it first (create {rec.path / 'cancel.request'}: it stops after "
                                  "its current step).")
    how = ("was cancelled" if rec.status == "cancelled"
           else f"stopped without finishing (its process, pid {launch['pid']}, is gone: killed or crashed)")
    ckpts = _checkpoints(rec.path)
    where = (f"it continues from its last checkpoint ({', '.join(str(p.relative_to(rec.path)) for p in ckpts)})"
             if ckpts else "no epoch was saved yet, so training starts from the first epoch")
    folds = "; finished folds are kept" if rec.kind == "loso" else ""
    return ResumeOffer(True, f"This run {how}. Resume runs its command again in the same folder: {where}{folds}.\n"
                             f"$ {shlex.join(launch['command'])}", list(launch["command"]))
