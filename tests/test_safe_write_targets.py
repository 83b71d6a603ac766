"""review21 #30, #1/#5/#9, #2: `cmnet_core.safe_write.check_output` refuses outputs that would overwrite an input or
another output or cannot be written; written files get a plain file's mode; write errors name the target."""
from __future__ import annotations

import os

import numpy as np
import pytest

from cmnet_core.safe_write import OutputPathError, check_output, replacing, write_text_atomically


def test_check_output_refuses_inputs_other_outputs_and_folders(tmp_path):
    video = tmp_path / "v.mp4"
    video.write_bytes(b"video")
    frames = tmp_path / "frames"
    frames.mkdir()
    (frames / "img001.jpg").write_bytes(b"jpg")
    with pytest.raises(OutputPathError, match=r"--out .*v\.mp4 is the input file .*; choose another name"):
        check_output(video, inputs=[video], option="--out")
    os.symlink(video, tmp_path / "alias.mp4")
    with pytest.raises(OutputPathError, match="is the input file"):
        check_output(tmp_path / "alias.mp4", inputs=[video])
    with pytest.raises(OutputPathError, match="is inside the input frame folder"):
        check_output(frames / "img001.jpg", inputs=[frames])
    (tmp_path / "x").mkdir()
    with pytest.raises(OutputPathError, match="is the input file"):   # another spelling, resolved
        check_output(tmp_path / "x" / ".." / "v.mp4", inputs=[video])
    with pytest.raises(OutputPathError, match="also given as --eaf; choose another name for one of them"):
        check_output(tmp_path / "c.x", others={"--eaf": tmp_path / "c.x"}, option="--out")
    with pytest.raises(OutputPathError, match=r"is a folder; give a file name, e\.g\. .*frames/c\.csv"):
        check_output(frames, example="c.csv")
    assert check_output(tmp_path / "new.mp4", inputs=[video, frames], others={"--eaf": None}) == tmp_path / "new.mp4"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alias.mp4", "frames", "v.mp4", "x"]   # the probe is gone


def test_check_output_refuses_missing_unwritable_folders_and_protected_files(tmp_path, monkeypatch):
    with pytest.raises(OutputPathError, match=r"the folder .*nodir does not exist; create it first \(mkdir -p"):
        check_output(tmp_path / "nodir" / "x.mp4")
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputPathError, match="is not a folder"):
        check_output(tmp_path / "file" / "x.mp4")
    kept = tmp_path / "kept.csv"
    kept.write_text("a")
    monkeypatch.setattr(os, "access", lambda path, mode: False)   # a write-protected file (root bypasses chmod)
    with pytest.raises(OutputPathError, match="is write-protected; choose another name"):
        check_output(kept)

    def read_only(*a, **k):
        raise OSError(30, "Read-only file system")
    monkeypatch.setattr("cmnet_core.safe_write.tempfile.mkstemp", read_only)
    with pytest.raises(OutputPathError, match=r"cannot write into the folder .* \(Read-only file system\); choose"):
        check_output(tmp_path / "y.mp4")


def test_replacing_gives_a_plain_files_mode_and_names_the_target_on_failure(tmp_path):
    mask = os.umask(0o022)
    try:
        with replacing(tmp_path / "a.mp4", suffix=".mp4") as tmp:
            assert tmp.name.startswith(".a.") and tmp.parent == tmp_path
            tmp.write_bytes(b"data")
        assert (tmp_path / "a.mp4").read_bytes() == b"data"
        assert oct((tmp_path / "a.mp4").stat().st_mode & 0o777) == oct(0o644)
        with pytest.raises(PermissionError, match=r"^could not write .*a\.mp4: Permission denied; check") as info:
            with replacing(tmp_path / "a.mp4") as tmp:
                raise PermissionError(13, "Permission denied", str(tmp))
        assert info.value.errno == 13 and ".a." not in str(info.value)
        assert (tmp_path / "a.mp4").read_bytes() == b"data" and len(list(tmp_path.iterdir())) == 1
    finally:
        os.umask(mask)


def test_atomic_writer_errors_name_the_target(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"^could not write .*sp/wl\.csv: No such file or directory") as info:
        write_text_atomically(tmp_path / "sp" / "wl.csv", "x")
    assert ".wl.csv." not in str(info.value)


def test_cache_files_get_a_plain_files_mode(tmp_path):
    from cmnet_core.preprocess.cache import PreprocessCache
    from cmnet_core.preprocess.types import PreprocessedClip, PreprocessSettings

    cache = PreprocessCache(tmp_path)
    result = PreprocessedClip(frames=np.zeros((2, 4, 4, 3), np.uint8), frame_map=np.arange(2.0), apex_position=1,
                              apex_source="annotated", backend="none", settings=PreprocessSettings())
    mask = os.umask(0o022)
    try:
        path = cache.put("k" * 32, result)
    finally:
        os.umask(mask)
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)
