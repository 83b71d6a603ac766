"""The ``cmnet`` argument parser is built without importing torch (every call, even --help, stays fast)."""
import subprocess
import sys

CHECK = ("import sys, cmnet_core.cli as cli; parser = cli.build_parser(); "
         "names = sorted(parser._subparsers._group_actions[0].choices); "
         "print(' '.join(names)); print('torch' in sys.modules)")


def test_build_parser_does_not_import_torch():
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120, check=True)
    names, torch_loaded = out.stdout.split("\n")[:2]
    # every subcommand is registered, and none pulled torch in
    assert names.split() == ["evaluate", "info", "loso", "magnify", "make-synthetic", "predict", "preprocess", "spot", "train"]
    assert torch_loaded == "False"
