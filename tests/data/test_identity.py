"""Source identities (content fingerprints) and finding the database that encloses a frame folder."""
import json
import shutil

import pytest

from cmnet_core.data.annotation_io import (AnnotationFileError, AnnotationRecord, find_stores_by_identity, load_store,
                                           read_store_header, save_store)
from cmnet_core.data.clip import Annotation
from cmnet_core.data.database import find_enclosing_database, open_database
from cmnet_core.data.identity import database_identity, file_identity, folder_identity
from cmnet_core.data.synthetic_writer import write_synthetic_database


def tiny_db(root):
    return write_synthetic_database(root, n_subjects=2, clips_per_class=1, image_size=32,
                                    labels=("happiness", "surprise"))


def test_identity_follows_content_not_location(tmp_path):
    db = tiny_db(tmp_path / "db")
    ident = database_identity(db)
    assert ident.kind == "synthetic" and len(ident.fingerprint) == 40
    shutil.copytree(tmp_path / "db", tmp_path / "elsewhere" / "renamed")
    assert database_identity(open_database(tmp_path / "elsewhere" / "renamed")) == ident
    clip = tmp_path / "db" / "s01" / "happiness_01"
    copy = tmp_path / "elsewhere" / "renamed" / "s01" / "happiness_01"
    assert folder_identity(clip) == folder_identity(copy)
    assert folder_identity(clip) != folder_identity(tmp_path / "db" / "s02" / "happiness_01")  # same names, other frames
    video = tmp_path / "v.bin"
    video.write_bytes(bytes(range(256)) * 9000)
    before = file_identity(video)
    shutil.copy(video, tmp_path / "v2.bin")
    assert file_identity(tmp_path / "v2.bin") == before
    video.write_bytes(bytes(range(256)) * 9000 + b"x")
    assert file_identity(video) != before


def test_frame_folder_inside_a_database_tree(tmp_path):
    tiny_db(tmp_path / "db")
    found = find_enclosing_database(tmp_path / "db" / "s02" / "happiness_01")
    assert found is not None
    assert found.root == (tmp_path / "db").resolve() and found.database.name == "synthetic"
    assert found.key == ("s02", "happiness_01")
    loose = tmp_path / "loose" / "clip"
    shutil.copytree(tmp_path / "db" / "s01" / "surprise_01", loose)
    assert find_enclosing_database(loose) is None
    assert find_enclosing_database(tmp_path / "db" / "s01") is None  # a subject folder is no clip


def test_stores_found_by_the_identity_in_their_header(tmp_path):
    ident = {"kind": "casme2", "fingerprint": "ab" * 20}
    recs = [AnnotationRecord("sub01", "EP02_01f", Annotation(1, 2, 3))]
    save_store(tmp_path / "a.json", recs, "/old/CASME2_RAW", identity=ident)
    save_store(tmp_path / "a.json", recs, "/old/CASME2_RAW", identity=ident)  # leaves a.json.001 (not a store name)
    save_store(tmp_path / "old.json", recs, "/old/CASME2_RAW")                 # written before identities
    save_store(tmp_path / "other.json", recs, "/x", identity={"kind": "samm", "fingerprint": "ab" * 20})
    (tmp_path / "broken.json").write_text("{not json")
    assert read_store_header(tmp_path / "old.json") == ("/old/CASME2_RAW", None)
    assert read_store_header(tmp_path / "a.json") == ("/old/CASME2_RAW", ident)
    assert find_stores_by_identity(tmp_path, ident) == [(tmp_path / "a.json", "/old/CASME2_RAW")]
    assert find_stores_by_identity(tmp_path / "missing", ident) == []
    assert load_store(tmp_path / "a.json")[0] == recs  # the header entry changes nothing for readers
    doc = json.loads((tmp_path / "a.json").read_text())
    doc["identity"] = "casme2"
    (tmp_path / "a.json").write_text(json.dumps(doc))
    with pytest.raises(AnnotationFileError, match="\"identity\" is text, not an object"):
        load_store(tmp_path / "a.json")
