"""Annotation stores keyed by what the source is (issue 14, earlier reports; Qt-free): a read-only database
moved elsewhere keeps its annotations, and a frame folder of a database shares the database's store."""
import json
import os

import pytest

from app.workspace.annotations import choose_store, open_store
from app.workspace.opening import open_path
from cmnet_core.data.annotation_io import dumps_store
from cmnet_core.data.clip import Annotation
from cmnet_core.data.synthetic_writer import write_synthetic_database


def tiny_db(root):
    write_synthetic_database(root, n_subjects=2, clips_per_class=1, image_size=32, labels=("happiness", "surprise"))
    return root


def set_read_only(root, read_only=True):
    """Folders r-x (or rwx again) below and including ``root``."""
    for folder, dirs, _ in os.walk(root):
        os.chmod(folder, 0o555 if read_only else 0o755)


@pytest.fixture
def read_only_db(tmp_path):
    root = tiny_db(tmp_path / "lab" / "CASME_copy")
    set_read_only(root)
    yield root
    for r in (root, tmp_path / "lab" / "moved_here"):
        if r.exists():
            set_read_only(r, False)


def open_document(path, data_dir):
    clips, db, skipped = open_path(path)
    opened = open_store(path, clips, db, data_dir)
    opened.store.load()
    return opened


def test_read_only_database_keeps_its_annotations_after_a_move(read_only_db, tmp_path):
    data = tmp_path / "appdata"
    opened = open_document(read_only_db, data)
    store = opened.store
    assert store.path.parent == data / "annotations" and opened.notice == ""
    clip = next(c for c in opened.clips if (c.subject, c.name) == ("s02", "happiness_01"))
    store.set(clip, Annotation(onset=3, apex=9, offset=20, emotion="happiness", notes="left lip corner"))
    store.save()
    header = json.loads(store.path.read_text())
    assert header["identity"]["kind"] == "synthetic" and len(header["identity"]["fingerprint"]) == 40

    moved = read_only_db.parent / "moved_here"
    read_only_db.rename(moved)  # e.g. remounted at another path
    again = open_document(moved, data)
    assert again.store.path == store.path
    clip = next(c for c in again.clips if (c.subject, c.name) == ("s02", "happiness_01"))
    assert again.store.annotation_for(clip) == Annotation(3, 9, 20, "happiness", "", "left lip corner", "")
    assert again.notice.startswith(f"Annotations found from the synthetic database's earlier location {read_only_db}")
    again.store.save()  # the header now records the new location: no notice next time
    assert open_document(moved, data).notice == ""


def test_store_written_before_identities_still_loads(read_only_db, tmp_path):
    import hashlib

    data = tmp_path / "appdata"
    legacy = data / "annotations" / (
        f"{read_only_db.name}-{hashlib.sha1(str(read_only_db.resolve()).encode()).hexdigest()[:10]}.json")
    legacy.parent.mkdir(parents=True)
    doc = json.loads(dumps_store([], str(read_only_db)))
    doc["clips"] = [{"subject": "s01", "name": "surprise_01", "onset": 1, "apex": 2, "offset": 3}]
    legacy.write_text(json.dumps(doc))  # no "identity" in the header
    opened = open_document(read_only_db, data)
    assert opened.store.path == legacy and opened.notice == ""
    assert opened.store.get(("s01", "surprise_01")).apex == 2
    opened.store.save()
    assert "identity" in json.loads(legacy.read_text())  # found again after a later move
    # another database (other clips) mounted at the same path later does not get these annotations
    doc = json.loads(legacy.read_text())
    doc["identity"]["fingerprint"] = "0" * 40
    doc["clips"] = [{"subject": "s77", "name": "other_01", "onset": 1, "apex": 2, "offset": 3}]
    legacy.write_text(json.dumps(doc))
    other = open_document(read_only_db, data)
    assert other.store.path != legacy and other.store.records() == []


def test_frame_folder_of_a_database_uses_the_database_store(tmp_path):
    root = tiny_db(tmp_path / "db")
    data = tmp_path / "appdata"
    whole = open_document(root, data)
    clip = next(c for c in whole.clips if (c.subject, c.name) == ("s01", "happiness_01"))
    whole.store.set(clip, Annotation(onset=4, apex=10, offset=22, emotion="happiness"))
    whole.store.save()

    folder = open_document(root / "s01" / "happiness_01", data)
    assert folder.store.path == whole.store.path == root / "cmnet-annotations.json"
    assert [(c.subject, c.name) for c in folder.clips] == [("s01", "happiness_01")]
    assert folder.store.annotation_for(folder.clips[0]).apex == 10
    assert "clip s01/happiness_01 of the synthetic database" in folder.status
    folder.store.set(folder.clips[0], Annotation(onset=4, apex=12, offset=22, emotion="happiness"))
    folder.store.save()
    assert not (root / "s01" / "happiness_01" / "cmnet-annotations.json").exists()
    back = open_document(root, data)
    assert back.store.get(("s01", "happiness_01")).apex == 12  # one clip, one annotation
    # the other subject's clip of the same name is untouched
    assert back.store.get(("s02", "happiness_01")) is None


def test_loose_frame_folder_keeps_its_own_store(tmp_path):
    import shutil

    root = tiny_db(tmp_path / "db")
    shutil.copytree(root / "s01" / "surprise_01", tmp_path / "loose")
    opened = open_document(tmp_path / "loose", tmp_path / "appdata")
    assert opened.store.path == tmp_path / "loose" / "cmnet-annotations.json" and opened.status == ""
    assert choose_store(tmp_path / "loose", tmp_path / "appdata").identity["kind"] == "folder"


def test_database_clip_opened_from_its_folder_uses_the_root_store(tmp_path):
    # how a later opener (issue 13 part 2) may hand over a folder: the database's own clip with its database
    root = tiny_db(tmp_path / "db")
    clips, db, _ = open_path(root)
    clip = next(c for c in clips if (c.subject, c.name) == ("s02", "surprise_01"))
    opened = open_store(root / "s02" / "surprise_01", [clip], db, tmp_path / "appdata")
    assert opened.store.path == root / "cmnet-annotations.json" and opened.clips == [clip]


def test_read_only_database_that_gains_a_clip_keeps_its_annotations(read_only_db, tmp_path):
    """Review D6: the same place, one clip more (an admin adds a folder): the annotations are found, with a notice."""
    import shutil

    data = tmp_path / "appdata"
    opened = open_document(read_only_db, data)
    clip = next(c for c in opened.clips if (c.subject, c.name) == ("s01", "happiness_01"))
    opened.store.set(clip, Annotation(onset=2, apex=8, offset=19, emotion="happiness", notes="my recoding"))
    opened.store.save()
    set_read_only(read_only_db, False)
    extra = read_only_db / "s01" / "surprise_99"
    shutil.copytree(read_only_db / "s01" / "surprise_01", extra)
    rows = (read_only_db / "clips.csv").read_text().splitlines()
    row = next(r for r in rows if "surprise_01" in r and r.startswith("s01"))
    (read_only_db / "clips.csv").write_text("\n".join(rows + [row.replace("surprise_01", "surprise_99")]) + "\n")
    truth = json.loads((read_only_db / "truth.json").read_text())
    truth["s01/surprise_99"] = truth["s01/surprise_01"]
    (read_only_db / "truth.json").write_text(json.dumps(truth))
    set_read_only(read_only_db)
    again = open_document(read_only_db, data)
    assert len(again.clips) == len(opened.clips) + 1
    clip = next(c for c in again.clips if (c.subject, c.name) == ("s01", "happiness_01"))
    assert again.store.annotation_for(clip).notes == "my recoding" and again.store.path == opened.store.path
    assert "changed since its annotations were last saved" in again.notice


def test_video_replaced_by_another_file_of_the_same_name_is_told(tmp_path, face_videos):
    """Review: annotations beside a video that was replaced by another file of the same name come with a notice."""
    import shutil

    video = tmp_path / "clip.mp4"
    shutil.copy(face_videos / "single_face.mp4", video)
    data = tmp_path / "appdata"
    opened = open_document(video, data)
    assert opened.notice == ""
    opened.store.set(opened.clips[0], Annotation(onset=3, apex=40, offset=60, notes="coded by me"))
    opened.store.save()
    assert open_document(video, data).notice == ""                       # the same file: nothing to say
    shutil.copy(face_videos / "no_face.mp4", video)
    again = open_document(video, data)
    assert "was saved for another file named clip.mp4" in again.notice
    assert again.store.annotation_for(again.clips[0]).notes == "coded by me"   # shown, never dropped


def test_a_video_annotated_in_its_folder_shows_the_same_annotation_alone(tmp_path, face_videos):
    """Review D9: clip.mp4 annotated while its folder of videos was open; opened alone it is the same clip."""
    import shutil

    folder = tmp_path / "videos"
    folder.mkdir()
    shutil.copy(face_videos / "single_face.mp4", folder / "clip.mp4")
    shutil.copy(face_videos / "no_face.mp4", folder / "other.mp4")
    data = tmp_path / "appdata"
    whole = open_document(folder, data)
    clip = next(c for c in whole.clips if c.name == "clip.mp4")
    whole.store.set(clip, Annotation(onset=3, apex=30, offset=60, notes="folder coding"))
    whole.store.save()
    alone = open_document(folder / "clip.mp4", data)
    assert alone.store.path == whole.store.path
    assert alone.store.annotation_for(alone.clips[0]).notes == "folder coding"
    assert "was annotated as a video of the folder" in alone.status
