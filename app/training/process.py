"""A training subprocess that can outlive the GUI (Qt-free).

The CLI's stdout (JSON lines) and stderr go to files in the run folder (``progress.jsonl``, ``stderr.log``),
which the monitor reads as they grow. A `QProcess` would be simpler to read from, but its destructor kills the
child, so "let the run continue" when the app closes would be impossible; a `subprocess.Popen` in its own
session keeps running after the GUI exits, and its exit status is still known while the GUI lives.

Every start writes ``launch.json`` into the run folder (command, pid, host, time, and what the monitor showed as
the run's title and device), so that a run killed or cancelled in an earlier session can be resumed from the
runs table with the same command (`app.training.resume`).

Cancel: the ``--cancel-file`` is created and SIGTERM sent (both make the CLI stop after the current step and
write its resume checkpoint); if it is still alive after ``grace`` seconds it is killed.
"""
from __future__ import annotations

import datetime as _dt
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from cmnet_core.train.runs import RunFolder, write_json

#: Exit status of a CLI run that was cancelled (resumable); see `cmnet_core.train.options.EXIT_CANCELLED`.
EXIT_CANCELLED = 3


class FileTail:
    """Reads what was appended to a file since the last call."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.offset = 0

    def read_new(self) -> bytes:
        """Bytes appended since the previous call (b"" when none or the file does not exist yet)."""
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                data = fh.read()
        except FileNotFoundError:
            return b""
        self.offset += len(data)
        return data


def tail_text(path: str | Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a text file ("" when absent)."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


class RunProcess:
    """One ``cmnet`` run started in ``run_dir`` (which must exist).

    Parameters
    ----------
    command : the full command line (`TrainingRequest.command`).
    run_dir : the run folder; receives progress.jsonl and stderr.log.
    cancel_file : the file given to ``--cancel-file``.
    env : extra environment variables.
    info : more JSON-safe keys for launch.json (the monitor's ``title`` and ``device``).
    """

    def __init__(self, command: list[str], run_dir: str | Path, cancel_file: str | Path,
                 env: dict | None = None, info: dict | None = None) -> None:
        self.command = list(command)
        self.info = dict(info or {})
        self.run_dir = Path(run_dir)
        self.cancel_file = Path(cancel_file)
        self.stdout_path = RunFolder(self.run_dir).progress_log
        self.stderr_path = RunFolder(self.run_dir).stderr_log
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.popen: subprocess.Popen | None = None
        self.cancel_requested_at: float | None = None
        self.killed = False

    def start(self) -> int:
        """Start the process and write ``launch.json``; returns its pid. Raises ``OSError`` when it cannot be
        started (a launch.json that cannot be written leaves the run going: only resuming from the table is lost)."""
        self.cancel_file.unlink(missing_ok=True)
        with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
            kwargs = ({"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP} if sys.platform == "win32"
                      else {"start_new_session": True})
            self.popen = subprocess.Popen(self.command, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                          env=self.env, **kwargs)
        started = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
        record = {**self.info, "command": self.command, "pid": self.popen.pid, "host": socket.gethostname(),
                  "started": started}
        try:
            write_json(RunFolder(self.run_dir).launch, record)
        except OSError:
            pass
        return self.popen.pid

    @property
    def pid(self) -> int | None:
        return None if self.popen is None else self.popen.pid

    def poll(self) -> int | None:
        """The exit status once finished (negative: killed by that signal), else None."""
        return None if self.popen is None else self.popen.poll()

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def cancel(self) -> None:
        """Ask the run to stop after its current step (cancel file + SIGTERM); see `kill_if_overdue`."""
        if not self.running():
            return
        self.cancel_file.touch()
        if self.cancel_requested_at is None:
            self.cancel_requested_at = time.monotonic()
        if sys.platform != "win32":
            self.popen.send_signal(signal.SIGTERM)

    def kill_if_overdue(self, grace: float) -> bool:
        """Kill the process when a cancel was asked more than ``grace`` seconds ago and it still runs; True if
        killed now."""
        if (self.cancel_requested_at is not None and self.running()
                and time.monotonic() - self.cancel_requested_at > grace):
            self.kill()
            return True
        return False

    def kill(self) -> None:
        """Kill at once (what finished stays on disk: the last epoch's checkpoint and finished folds)."""
        if self.running():
            self.killed = True
            self.popen.kill()
            self.popen.wait(10)

    def wait(self, timeout: float) -> int | None:
        """Wait up to ``timeout`` seconds; the exit status or None."""
        if self.popen is None:
            return None
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def cleanup(self) -> None:
        """Remove the cancel file once the process ended (so that resuming the run is not cancelled at once)."""
        if not self.running():
            self.cancel_file.unlink(missing_ok=True)
