"""Issue 14 (crashes): an annotation file that parses as JSON but has the wrong shape is reported like an
invalid-JSON file (naming the file and what to do), never as a raw TypeError/ValueError/AttributeError,
and the window shows the message instead of aborting."""
import json

import pytest

from app import commands as C
from app.workspace.annotations import AnnotationStore
from cmnet_core.data import annotation_io as aio
from cmnet_core.data.annotation_io import AnnotationFileError

GOOD_CLIP = {"subject": "s1", "name": "c1", "onset": 1, "apex": 2, "offset": 3}


def doc(**changes):
    d = {"format": aio.FORMAT, "version": 1, "source": "", "clips": [dict(GOOD_CLIP)]}
    d.update(changes)
    return d


WRONG_SHAPES = {
    "clips is a number": doc(clips=5),
    "clips is a string": doc(clips="abc"),
    "clips is an object": doc(clips={"a": 1}),
    "a clip is a string": doc(clips=["abc"]),
    "a clip is a list": doc(clips=[[1, 2]]),
    "version is text": doc(version="x"),
    "version is a list": doc(version=[1]),
    "version is a float text": doc(version="1.5"),
    "source is a list": doc(source=[1]),
    "onset is text": doc(clips=[dict(GOOD_CLIP, onset="ten")]),
    "onset is a list": doc(clips=[dict(GOOD_CLIP, onset=[1])]),
    "onset is negative": doc(clips=[dict(GOOD_CLIP, onset=-4)]),
    "onset is a fraction": doc(clips=[dict(GOOD_CLIP, onset=1.5)]),
    "onset is true": doc(clips=[dict(GOOD_CLIP, onset=True)]),
    "subject missing": doc(clips=[{"name": "c1"}]),
    "name is an object": doc(clips=[dict(GOOD_CLIP, name={"x": 1})]),
    "emotion is a number": doc(clips=[dict(GOOD_CLIP, emotion=3)]),
    "aus is a list": doc(clips=[dict(GOOD_CLIP, aus=["AU4"])]),
    "top level is a list": [doc()],
}


@pytest.mark.parametrize("case", sorted(WRONG_SHAPES))
def test_wrong_shape_store_is_an_annotation_file_error(tmp_path, case):
    path = tmp_path / "clip.mp4.annotations.json"
    path.write_text(json.dumps(WRONG_SHAPES[case]))
    with pytest.raises(AnnotationFileError) as err:
        aio.load_store(path)
    msg = str(err.value).lower()
    assert str(path).lower() in msg
    assert "restore" in msg or "fix" in msg or "copy" in msg  # says what to do


def test_valid_store_still_loads_and_validate_store_accepts_it(tmp_path):
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(doc(clips=[dict(GOOD_CLIP, emotion=None, aus="4", notes="n", apex_source="")])))
    records, source = aio.load_store(path)
    assert [(r.key, r.annotation.onset, r.annotation.apex, r.annotation.offset) for r in records] == [
        (("s1", "c1"), 1, 2, 3)]
    assert aio.validate_store(json.loads(path.read_text())) == []


def test_validate_store_lists_every_problem():
    problems = aio.validate_store(doc(version="x", clips=[dict(GOOD_CLIP, onset="ten"), "abc"]))
    assert any("version" in p for p in problems)
    assert any("clip 1" in p and "onset" in p for p in problems)
    assert any("clip 2" in p for p in problems)


def test_window_shows_wrong_shape_store_instead_of_aborting(make_window, array_clip, tmp_path, messages):
    store = tmp_path / "clip.annotations.json"
    store.write_text(json.dumps(doc(clips=5)))
    w = make_window()
    w.files.show_document(tmp_path, [array_clip(10, name="c1", subject="s1")], None, AnnotationStore(store, "test"))
    errors = [m for m in messages if m[0] == "error"]
    assert len(errors) == 1 and str(store) in errors[0][2]
    assert w.state.clips and w.state.store is not None
    assert store.read_text() == json.dumps(doc(clips=5))  # left untouched


def test_open_path_with_wrong_shape_store_shows_the_error(make_window, tmp_path, messages):
    import numpy as np
    from PIL import Image

    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(4):
        Image.fromarray(np.full((16, 16, 3), 10 * i, np.uint8)).save(folder / f"img{i}.jpg")
    (folder / "cmnet-annotations.json").write_text(json.dumps(doc(version="x")))
    w = make_window()
    w.commands.execute(C.OpenPath, path=str(folder))
    errors = [m for m in messages if m[0] == "error"]
    assert errors and "cmnet-annotations.json" in errors[0][2] and "version" in errors[0][2]
    assert len(w.state.clips) == 1
