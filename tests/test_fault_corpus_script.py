"""scripts/fault_corpus.py itself works: its in-process cases run, pass and are counted (the whole corpus runs
subprocesses for minutes; it is a self-check script, see its docstring)."""
import importlib.util
import json
import sys
from pathlib import Path


def load_corpus():
    path = Path(__file__).resolve().parents[1] / "scripts" / "fault_corpus.py"
    spec = importlib.util.spec_from_file_location("fault_corpus", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["fault_corpus"] = module   # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def test_corpus_lists_its_cases(capsys):
    corpus = load_corpus()
    assert corpus.main(["--list"]) == 0
    out = capsys.readouterr().out
    assert f"{len(corpus.CASES)} cases" in out and len(corpus.CASES) >= 45
    assert {c.group for c in corpus.CASES} == {"crash", "disk", "data-loss", "silent", "earlier"}


def test_corpus_runs_the_csv_import_cases(capsys):
    corpus = load_corpus()
    assert corpus.main(["-k", "csv_import"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2].startswith("2 passed, 0 failed, 0 not run")
    assert json.loads(lines[-1])["fault_corpus"]["passed"] == 2
    assert all(ln.startswith("PASS") for ln in lines[:2])
