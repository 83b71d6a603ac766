"""``cmnet loso DB --slurm``: the folds of a run as a SLURM job array and one merge job, written as readable batch
scripts into the run folder, then submitted with ``sbatch`` (or printed with ``--dry-run``).

Files (``<run>/slurm/``)::

    folds.txt       the fold names, one per line; array task i runs line i + 1 (0-based task ids)
    folds.sbatch    the array job: ``#SBATCH`` lines (resources, ``--array``, per-attempt logs, early warning signal),
                    then ``exec cmnet loso DB OPTIONS --fold <its fold> --run-dir RUN``
    merge.sbatch    the merge job: ``cmnet loso --merge RUN``, submitted with ``--dependency=afterany:<array job>``
    fold-<array job>_<task>.out, merge-<job>.out   logs (appended across requeues; every attempt starts with a
                    "== attempt" line naming the job, the restart count, the node and the time)

Why these choices (README "Running on a SLURM cluster"):

- The scripts are generated here rather than through submitit: submitit pickles a Python function per task into its
  own folder, so the job a user sees is not a script they can read, edit and ``sbatch`` again, and its requeue needs
  its own checkpoint protocol; a fold here already resumes from ``last.pt`` by running the same command again.
- The fold process is the batch shell itself (``exec``), so SLURM's early warning (``--signal=B:TERM@120``: SIGTERM
  two minutes before the time limit) and ``scancel``'s SIGTERM reach it; its DataLoader workers ignore SIGTERM
  (`cmnet_core.train.trainer`), so it stops after the current step, writes a mid-epoch ``last.pt`` and exits with
  `EXIT_CANCELLED`; ``scontrol requeue`` or ``sbatch --array=I folds.sbatch`` resumes it.
- The merge depends on the array with ``afterany`` (``afterok`` never fires once a task was cancelled, even when a
  requeue then finishes it) and checks completeness itself: all folds there -> the table, exit 0; folds missing
  while tasks of the array are still queued (a requeue) -> it submits itself again after them; else exit
  `EXIT_INCOMPLETE` with the partial table marked and the command for the missing folds printed. Every fold task
  that finishes also pools (under a lock, `cmnet_core.train.loso.merge`), so a fold requeued after the merge ran
  still leaves a complete table. Nothing stays in the queue.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from .loso import LosoError
from .options import EXIT_INCOMPLETE

#: Seconds before the time limit at which SLURM sends the fold SIGTERM (``--signal=B:TERM@120``): one step and a
#: checkpoint must fit in it.
WARNING_S = 120


@dataclass
class SlurmResources:
    """What one fold task asks SLURM for, and where.

    gpus : GPUs per fold task; 0 = a CPU-only task (no ``--gres`` line at all).
    cpus : CPUs per task (``--cpus-per-task``); the fold's DataLoader workers default to this (SLURM_CPUS_PER_TASK).
    mem : memory per task as SLURM writes it (``16G``, ``4000M``; a bare number is MB).
    time : time limit per task (``HH:MM:SS``, ``D-HH:MM:SS``, minutes).
    partition, account, qos : ``--partition``, ``--account``, ``--qos`` (for the merge job too); None = the
        cluster's default.
    extra : more ``#SBATCH`` options for the fold tasks, each one word as given (``--constraint=avx2``).
    """

    gpus: int = 0
    cpus: int = 4
    mem: str = "16G"
    time: str = "08:00:00"
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    extra: list[str] = field(default_factory=list)

    def where(self) -> list[str]:
        """The ``--partition/--account/--qos`` options given (shared by the fold tasks and the merge)."""
        return [f"--{k}={v}" for k, v in (("partition", self.partition), ("account", self.account),
                                          ("qos", self.qos)) if v]


def mem_mb(text: str) -> float:
    """SLURM's memory size in MB: ``16G`` -> 16384, ``500M`` -> 500, ``4000`` -> 4000, ``1T`` -> 1048576.
    Raises ``ValueError`` for anything else."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)B?\s*", str(text), re.IGNORECASE)
    if not m:
        raise ValueError(f"--mem {text!r}: give a size such as 16G or 4000M")
    return float(m.group(1)) * {"K": 1 / 1024, "": 1, "M": 1, "G": 1024, "T": 1024 ** 2}[m.group(2).upper()]


def _sbatch_word(option: str) -> str:
    """``--output=PATH`` for an ``#SBATCH`` line: values with spaces in double quotes (sbatch's own quoting of
    ``#SBATCH`` lines; a shell never reads them)."""
    name, eq, value = option.partition("=")
    if eq and re.search(r"\s", value):
        return f'{name}="{value}"'
    return option


def cmnet_command() -> list[str]:
    """How a batch job runs this cmnet: the Python running now with ``-m cmnet_core.cli`` (the job then uses the
    same environment and, with `code_root` on PYTHONPATH, the same code as the submitting command)."""
    return [sys.executable, "-m", "cmnet_core.cli"]


def code_root() -> Path:
    """The folder holding the ``cmnet_core`` package this process imported."""
    import cmnet_core

    return Path(cmnet_core.__file__).resolve().parents[1]


def fold_script(run_dir: Path, db: str, options: Sequence[str], folds: Sequence[str], res: SlurmResources,
                cache_dir: str | None) -> str:
    """The text of ``folds.sbatch``: one array task per fold (``--array=0-(n-1)``).

    run_dir : the run folder (absolute); db : the database folder (absolute); options : `run_options` of the
    invocation (the same for every fold, so every fold writes the same config.json); cache_dir : exported as
    ``CMNET_CACHE_DIR`` (the shared preprocessing cache) unless None. Every path is quoted for the shell
    (`shlex.quote`) and, on ``#SBATCH`` lines, in double quotes when it holds a space.
    """
    slurm_dir = run_dir / "slurm"
    sb = ["--job-name=cmnet-loso", f"--array=0-{len(folds) - 1}", f"--cpus-per-task={res.cpus}",
          f"--mem={res.mem}", f"--time={res.time}"]
    if res.gpus:
        sb.append(f"--gres=gpu:{res.gpus}")
    sb += res.where()
    sb += [f"--output={slurm_dir / 'fold-%A_%a.out'}", "--open-mode=append", f"--signal=B:TERM@{WARNING_S}",
           "--requeue"]
    sb += list(res.extra)
    command = [*cmnet_command(), "loso", db, *options, "--run-dir", str(run_dir), "--progress", "jsonl"]
    lines = [
        "#!/bin/bash",
        f"# cmnet loso: one fold of {run_dir} per array task ({len(folds)} folds, listed in folds.txt).",
        "# Written by `cmnet loso --slurm`; edit and submit again as you like:",
        f"#   sbatch {shlex.quote(str(slurm_dir / 'folds.sbatch'))}                  # every fold (finished ones "
        "are skipped)",
        f"#   sbatch --array=3,7 {shlex.quote(str(slurm_dir / 'folds.sbatch'))}      # folds 3 and 7 (0-based "
        "lines of folds.txt)",
        "# A fold stopped by scancel, pre-emption or the time limit (SIGTERM, --signal gives it "
        f"{WARNING_S} s) saves a mid-epoch",
        "# last.pt and exits 3; `scontrol requeue JOB_TASK` or the sbatch line above resumes it from there.",
        *(f"#SBATCH {_sbatch_word(o)}" for o in sb),
        "",
        "set -eu",
        f"FOLD=$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" {shlex.quote(str(slurm_dir / 'folds.txt'))})",
        '[ -n "$FOLD" ] || { echo "no fold on line $((SLURM_ARRAY_TASK_ID + 1)) of folds.txt" >&2; exit 2; }',
        'echo "== attempt: job ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} (id ${SLURM_JOB_ID}), fold $FOLD, '
        'restart ${SLURM_RESTART_COUNT:-0}, on $(hostname) at $(date -Is)" >&2',
        f"export PYTHONPATH={shlex.quote(str(code_root()))}${{PYTHONPATH:+:$PYTHONPATH}}",
        *([f"export CMNET_CACHE_DIR={shlex.quote(cache_dir)}"] if cache_dir else []),
        "# the fold runs as this shell's process (exec), so SLURM's SIGTERM reaches it",
        "exec " + shlex.join(command) + ' --fold "$FOLD"',
        "",
    ]
    return "\n".join(lines)


def merge_script(run_dir: Path, res: SlurmResources, with_baseline: bool) -> str:
    """The text of ``merge.sbatch``: ``cmnet loso --merge RUN`` (``--with-baseline`` when the folds run it);
    its first argument is the array job's id. Exit 0: complete table; `EXIT_INCOMPLETE` with folds of the array
    still queued (requeued): it submits itself again with ``--dependency=afterany:<array job>`` and exits 0;
    otherwise `EXIT_INCOMPLETE` (partial table, marked; the command for the missing folds is in its log)."""
    slurm_dir = run_dir / "slurm"
    sb = ["--job-name=cmnet-loso-merge", "--cpus-per-task=1", "--mem=2G", "--time=00:30:00", *res.where(),
          f"--output={slurm_dir / 'merge-%j.out'}", "--open-mode=append"]
    merge = [*cmnet_command(), "loso", "--merge", str(run_dir), *(["--with-baseline"] if with_baseline else [])]
    me = shlex.quote(str(slurm_dir / "merge.sbatch"))
    lines = [
        "#!/bin/bash",
        f"# cmnet loso: pool the folds of {run_dir} once the fold array has ended (submitted with",
        "# --dependency=afterany:<array job>, so a cancelled task does not leave it waiting forever).",
        f"# Exit 0: every fold is there. Exit {EXIT_INCOMPLETE}: folds missing; the partial table is marked and the "
        "log names the command",
        "# that runs the missing folds. Merge by hand any time: " + shlex.join(["cmnet", *merge[3:]]),
        *(f"#SBATCH {_sbatch_word(o)}" for o in sb),
        "",
        "set -u",
        'FOLDS_JOB=${1:-}',
        'echo "== merge job ${SLURM_JOB_ID} after array job ${FOLDS_JOB:-?} on $(hostname) at $(date -Is)" >&2',
        f"export PYTHONPATH={shlex.quote(str(code_root()))}${{PYTHONPATH:+:$PYTHONPATH}}",
        shlex.join(merge),
        "rc=$?",
        f'if [ "$rc" -eq {EXIT_INCOMPLETE} ] && [ -n "$FOLDS_JOB" ] && '
        '[ -n "$(squeue -h -j "$FOLDS_JOB" -o %i 2>/dev/null)" ]; then',
        '  echo "folds of array job $FOLDS_JOB are still queued (requeued): merging again after them" >&2',
        f'  sbatch --parsable --dependency=afterany:"$FOLDS_JOB" {me} "$FOLDS_JOB" && exit 0',
        "fi",
        "exit $rc",
        "",
    ]
    return "\n".join(lines)


def cluster_nodes(timeout_s: float = 15) -> str:
    """``sinfo -h -N -o "%P|%c|%m|%G"``: one line per node and partition (partition, CPUs, memory in MB, gres);
    "" when sinfo is absent, fails or does not answer within ``timeout_s`` seconds (no controller)."""
    if shutil.which("sinfo") is None:
        return ""
    try:
        done = subprocess.run(["sinfo", "-h", "-N", "-o", "%P|%c|%m|%G"], capture_output=True, text=True,
                              timeout=timeout_s)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout if done.returncode == 0 else ""


def check_resources(res: SlurmResources, sinfo: str | None = None) -> None:
    """Refuse a request no node can ever run (SLURM would keep it pending, ``Reason=PartitionConfig``, with no
    message): when ``sinfo`` answers, some node of the partition (every node without ``partition``) must offer
    ``cpus`` CPUs, ``mem`` memory and, with ``gpus``, a GPU gres. ``sinfo``: `cluster_nodes`'s text (asked for
    when None; nothing is checked when it is empty: no sinfo, no controller).
    Raises `LosoError` naming the largest node and the options to change."""
    want_mb = mem_mb(res.mem)
    sinfo = cluster_nodes() if sinfo is None else sinfo
    nodes = []
    for line in sinfo.splitlines():
        parts = line.strip().split("|")
        if len(parts) != 4 or not parts[1].isdigit() or not parts[2].strip().isdigit():
            continue
        part, cpus, mem, gres = parts[0].rstrip("*"), int(parts[1]), int(parts[2]), parts[3]
        if res.partition is None or part == res.partition:
            nodes.append((part, cpus, mem, gres))
    if not nodes:
        if res.partition is not None and sinfo.strip():
            raise LosoError(f"--partition {res.partition}: no such partition (sinfo lists "
                            f"{', '.join(sorted({l.split('|')[0].rstrip('*') for l in sinfo.split()}))})")
        return
    fits = [n for n in nodes if n[1] >= res.cpus and n[2] >= want_mb and (not res.gpus or "gpu" in n[3])]
    if not fits:
        big = max(nodes, key=lambda n: (n[1], n[2]))
        gpu = " and a GPU" if res.gpus else ""
        raise LosoError(f"no node{' of partition ' + res.partition if res.partition else ''} offers {res.cpus} CPUs, "
                        f"{res.mem} memory{gpu} per fold task (the largest has {big[1]} CPUs, {big[2]} MB, gres "
                        f"{big[3]}); SLURM would keep the array pending for ever: lower --cpus / --mem"
                        + (" or use --gpus 0" if res.gpus else ""))


def write_scripts(run_dir: Path, folds: Sequence[str], fold_text: str, merge_text: str) -> dict[str, Path]:
    """Write ``folds.txt``, ``folds.sbatch`` and ``merge.sbatch`` into ``<run>/slurm/`` (executable scripts);
    returns their paths by name."""
    from ..safe_write import write_text_atomically

    slurm_dir = Path(run_dir) / "slurm"
    slurm_dir.mkdir(parents=True, exist_ok=True)
    paths = {"folds.txt": slurm_dir / "folds.txt", "folds.sbatch": slurm_dir / "folds.sbatch",
             "merge.sbatch": slurm_dir / "merge.sbatch"}
    write_text_atomically(paths["folds.txt"], "".join(f"{f}\n" for f in folds))
    write_text_atomically(paths["folds.sbatch"], fold_text)
    write_text_atomically(paths["merge.sbatch"], merge_text)
    for name in ("folds.sbatch", "merge.sbatch"):
        os.chmod(paths[name], 0o755)
    return paths


def submit_commands(paths: dict[str, Path], array: str | None = None) -> tuple[list[str], list[str]]:
    """The two ``sbatch`` calls (the merge's ``FOLDS_JOB`` placeholder is filled in by `submit`):
    ``sbatch --parsable [--array=I,J] folds.sbatch`` and ``sbatch --parsable --dependency=afterany:FOLDS_JOB
    merge.sbatch FOLDS_JOB``."""
    folds = ["sbatch", "--parsable", *([f"--array={array}"] if array else []), str(paths["folds.sbatch"])]
    merge = ["sbatch", "--parsable", "--dependency=afterany:FOLDS_JOB", str(paths["merge.sbatch"]), "FOLDS_JOB"]
    return folds, merge


def submit(paths: dict[str, Path], array: str | None = None) -> tuple[str, str]:
    """Submit the array and the merge after it with ``sbatch``; returns ``(array job id, merge job id)``.
    Raises `LosoError` with sbatch's message when sbatch is missing or refuses (the array is cancelled when the
    merge is refused, so nothing is left half-submitted)."""
    if shutil.which("sbatch") is None:
        raise LosoError("sbatch not found: run this on a SLURM login node (or use --dry-run to see the scripts)")
    folds_cmd, merge_cmd = submit_commands(paths, array)

    def run(cmd: list[str]) -> str:
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise LosoError(f"{shlex.join(cmd)} failed: {(done.stderr or done.stdout).strip()}")
        return done.stdout.strip().split(";")[0]

    folds_job = run(folds_cmd)
    try:
        merge_job = run([w.replace("FOLDS_JOB", folds_job) for w in merge_cmd])
    except LosoError:
        subprocess.run(["scancel", folds_job], capture_output=True)
        raise
    return folds_job, merge_job
