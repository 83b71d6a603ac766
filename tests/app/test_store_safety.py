"""Issue 14 (data lost or damaged): a failed save never touches a backup, saving keeps the file's mode,
orphan temp files of killed saves are cleaned up (and offered when they hold newer edits), a garbage
autosave is reported once and kept as ``.autosave.bad``, and the garbage-store dialog tells the truth
about ``.001``."""
import errno
import os
import stat

import pytest

from app.workspace.annotations import AnnotationStore
from cmnet_core.data import annotation_io as aio
from cmnet_core.data.annotation_io import AnnotationRecord
from cmnet_core.data.clip import Annotation


def rec(apex=59, subject="01", name="EP02_01f"):
    return AnnotationRecord(subject, name, Annotation(onset=46, apex=apex, offset=86))


def apex_of(path):
    return aio.load_store(path)[0][0].annotation.apex


def _disk_full_write(monkeypatch):
    """Every write to disk fails as on a full disk: flushing data (fsync) and copying a file raise ENOSPC."""

    def full_fsync(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    def full_copy(src, dst, *a, **kw):  # a backup copy leaves 0 bytes, as on a full disk
        open(dst, "wb").close()
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_fsync)
    monkeypatch.setattr(aio.shutil, "copy2", full_copy)


# ---- 1. a failed save does not rotate the backups ------------------------------------------------
def test_disk_full_save_never_touches_the_backups(tmp_path, monkeypatch):
    path = tmp_path / "ann.json"
    for apex in (50, 51, 52, 53):
        aio.save_store(path, [rec(apex)], backups=3)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert sorted(before) == ["ann.json", "ann.json.001", "ann.json.002", "ann.json.003"]
    with monkeypatch.context() as m:
        _disk_full_write(m)
        for _ in range(4):
            with pytest.raises(OSError) as err:
                aio.save_store(path, [rec(99)], backups=3)
            assert err.value.errno == errno.ENOSPC
            assert "disk full" in str(err.value) and "ann.json" in str(err.value)
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert after == before  # no 0-byte .001, nothing shifted, no temp file left
    assert [apex_of(aio.backup_path(path, i)) for i in (1, 2, 3)] == [52, 51, 50]
    # the next good save rotates as before
    aio.save_store(path, [rec(60)], backups=3)
    assert apex_of(path) == 60
    assert [apex_of(aio.backup_path(path, i)) for i in (1, 2, 3)] == [53, 52, 51]


def test_save_fails_cleanly_when_the_backup_copy_fails(tmp_path, monkeypatch):
    path = tmp_path / "ann.json"
    aio.save_store(path, [rec(50)])
    aio.save_store(path, [rec(51)])
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def no_link(src, dst):
        raise OSError(errno.EPERM, "links not supported")

    def full_copy(src, dst, *a, **kw):
        open(dst, "wb").close()
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(aio.os, "link", no_link)
    monkeypatch.setattr(aio.shutil, "copy2", full_copy)
    monkeypatch.setattr(aio.shutil, "copyfile", full_copy)
    with pytest.raises(OSError):
        aio.save_store(path, [rec(99)])
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


# ---- 2. the file's mode (and group) are kept -----------------------------------------------------
def test_save_keeps_the_store_mode(tmp_path):
    path = tmp_path / "ann.json"
    aio.save_store(path, [rec(50)])
    os.chmod(path, 0o664)
    gid = path.stat().st_gid
    aio.save_store(path, [rec(51)])
    assert stat.S_IMODE(path.stat().st_mode) == 0o664
    assert path.stat().st_gid == gid
    aio.write_autosave(path, [rec(52)])
    assert stat.S_IMODE(aio.autosave_path(path).stat().st_mode) == 0o664  # as shared as the store
    aio.export_csv(tmp_path / "sheet.csv", [rec(52)])
    assert stat.S_IMODE((tmp_path / "sheet.csv").stat().st_mode) != 0o600


def test_new_store_gets_the_usual_mode_not_0600(tmp_path):
    mask = os.umask(0o002)
    try:
        path = tmp_path / "new.json"
        aio.save_store(path, [rec(50)])
        assert stat.S_IMODE(path.stat().st_mode) == 0o664
    finally:
        os.umask(mask)


# ---- 3. orphan temp files of killed saves ----------------------------------------------------------
def _orphan(path, text):
    """A temp file as a kill -9 during `save_store` leaves it."""
    tmp = path.with_name(f".{path.name}.k1ll3d{len(text)}.tmp")
    tmp.write_text(text, encoding="utf-8")
    return tmp


def test_recoverable_temp_files_lists_newer_valid_edits_only(tmp_path):
    path = tmp_path / "ann.json"
    aio.save_store(path, [rec(50)])
    old = path.stat().st_mtime
    os.utime(path, (old - 600, old - 600))
    newer = _orphan(path, aio.dumps_store([rec(70)]))
    same = path.with_name(f".{path.name}.same.tmp")
    same.write_text(path.read_text())
    partial = path.with_name(f".{path.name}.part.tmp")
    partial.write_text(aio.dumps_store([rec(71)])[:40])
    older = path.with_name(f".{path.name}.older.tmp")
    older.write_text(aio.dumps_store([rec(72)]))
    os.utime(older, (old - 900, old - 900))
    assert sorted(aio.orphan_temp_files(path)) == sorted([newer, same, partial, older])
    assert aio.recoverable_temp_files(path) == [newer]


def test_save_cleans_orphan_temps_but_keeps_recoverable_ones(tmp_path):
    path = tmp_path / "ann.json"
    aio.save_store(path, [rec(50)])
    old = path.stat().st_mtime
    os.utime(path, (old - 600, old - 600))
    partial = path.with_name(f".{path.name}.part.tmp")
    partial.write_text("{\"form")
    os.utime(partial, (old - 300, old - 300))
    newer = _orphan(path, aio.dumps_store([rec(70)]))
    os.utime(newer, (old - 300, old - 300))
    unrelated = tmp_path / ".other.json.x.tmp"
    unrelated.write_text("x")
    aio.save_store(path, [rec(51)])
    assert not partial.exists()  # garbage of a killed save is gone
    assert newer.exists()  # never-offered edits are not thrown away by a save
    assert unrelated.exists()


def test_store_offers_a_newer_temp_for_recovery_then_cleans_up(tmp_path, array_clip):
    path = tmp_path / "ann.json"
    aio.save_store(path, [rec(50)])
    old = path.stat().st_mtime
    os.utime(path, (old - 600, old - 600))
    newer = _orphan(path, aio.dumps_store([rec(70)]))
    os.utime(newer, (old - 120, old - 120))
    garbage = path.with_name(f".{path.name}.junk.tmp")
    garbage.write_text("")
    os.utime(garbage, (old - 120, old - 120))
    store = AnnotationStore(path, "src")
    store.load()
    assert not garbage.exists()  # cleaned when the store is opened
    assert store.recoverable() == newer
    store.recover()
    assert store.dirty and store.get(("01", "EP02_01f")).apex == 70
    store.save()
    assert apex_of(path) == 70
    assert aio.orphan_temp_files(path) == []


def test_declining_recovery_removes_the_temp(tmp_path):
    path = tmp_path / "ann.json"
    aio.save_store(path, [rec(50)])
    old = path.stat().st_mtime
    os.utime(path, (old - 600, old - 600))
    newer = _orphan(path, aio.dumps_store([rec(70)]))
    os.utime(newer, (old - 120, old - 120))
    store = AnnotationStore(path, "src")
    store.load()
    assert store.recoverable() == newer
    store.discard_autosave()
    assert not newer.exists() and store.recoverable() is None


# ---- 4. a garbage autosave is reported once and kept --------------------------------------------
def test_garbage_autosave_is_reported_once_and_kept(tmp_path):
    path = tmp_path / "ann.json"
    aio.save_store(path, [rec(50)])
    auto = aio.autosave_path(path)
    auto.write_bytes(b"\x00\x01garbage")
    store = AnnotationStore(path, "src")
    store.load()
    assert store.recoverable() is None
    notes = store.take_notices()
    assert len(notes) == 1
    bad = path.with_name("ann.json.autosave.bad")
    assert str(auto) in notes[0] and bad.name in notes[0]
    assert bad.read_bytes() == b"\x00\x01garbage" and not auto.exists()
    assert store.recoverable() is None and store.take_notices() == []  # once
    store.set_by_key(("01", "x"), Annotation(onset=1, apex=2, offset=3))
    store.save()
    assert bad.read_bytes() == b"\x00\x01garbage"  # a save does not delete the copy


def test_window_tells_about_a_garbage_autosave(make_window, array_clip, tmp_path, messages):
    path = tmp_path / "clip.annotations.json"
    aio.save_store(path, [rec(50, subject="s1", name="c1")])
    aio.autosave_path(path).write_text("{not json")
    w = make_window()
    w.files.show_document(tmp_path, [array_clip(10, name="c1", subject="s1")], None, AnnotationStore(path, "test"))
    shown = [m for m in messages if "autosave.bad" in m[2]]
    assert len(shown) == 1 and str(aio.autosave_path(path)) in shown[0][2]
    assert w.state.store.get(("s1", "c1")).apex == 50


# ---- 5. the garbage-store message tells the truth about .001 ------------------------------------
def test_garbage_store_message_without_backup_does_not_promise_001(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(aio.AnnotationFileError) as err:
        aio.load_store(bad)
    msg = str(err.value)
    assert "bad.json" in msg and "no backup" in msg and "kept as" not in msg


def test_window_garbage_store_dialog_without_backup(make_window, array_clip, tmp_path, messages):
    path = tmp_path / "clip.annotations.json"
    path.write_text("{not json")
    w = make_window()
    w.files.show_document(tmp_path, [array_clip(10, name="c1", subject="s1")], None, AnnotationStore(path, "test"))
    (err,) = [m for m in messages if m[0] == "error"]
    assert ".001" not in err[2].replace("no backup .001 exists yet", "")
    assert str(path) in err[2]


def test_window_garbage_store_dialog_with_backup(make_window, array_clip, tmp_path, messages):
    path = tmp_path / "clip.annotations.json"
    aio.save_store(path, [rec(50, subject="s1", name="c1")])
    aio.save_store(path, [rec(51, subject="s1", name="c1")])
    path.write_text("{not json")
    w = make_window()
    w.files.show_document(tmp_path, [array_clip(10, name="c1", subject="s1")], None, AnnotationStore(path, "test"))
    (err,) = [m for m in messages if m[0] == "error"]
    assert "clip.annotations.json.001" in err[2]
