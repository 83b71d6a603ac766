"""One RunFolder type: the paths of final, fine-tune and LOSO runs, and what the code writes there."""
from cmnet_core.train.runs import FoldFolder, RunFolder


def test_layout_of_a_run_folder(tmp_path):
    run = RunFolder(tmp_path / "r")
    assert run.config == tmp_path / "r" / "config.json" and run.log.name == "log.jsonl"
    assert run.final_checkpoint == tmp_path / "r" / "checkpoints" / "final.pt"
    assert run.baseline.config == tmp_path / "r" / "baseline" / "config.json"
    assert run.fold("casme2/sub01") == FoldFolder(tmp_path / "r" / "folds" / "casme2__sub01")
    assert run.fold("s1").result == tmp_path / "r" / "folds" / "s1" / "result.json"
    assert not (tmp_path / "r").exists(), "constructing a RunFolder must not touch the disk"


def test_created_run_and_fold_listing(tmp_path):
    run = RunFolder.create(tmp_path, "my run")
    assert run.checkpoints.is_dir() and run.name.endswith("-my_run")
    for name in ("s2", "s10"):
        run.fold(name).checkpoints.mkdir(parents=True)
    run.fold("s2").result.write_text("{}")
    assert [f.path.name for f in run.fold_folders()] == ["s10", "s2"]
    assert [f.finished() for f in run.fold_folders()] == [False, True]
