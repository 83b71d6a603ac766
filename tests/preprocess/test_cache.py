"""The preprocessing cache: hits, misses on any setting/annotation/file change, atomic entries."""
import os
import shutil

import cv2
import numpy as np
import pytest

from cmnet_core.data.readers import open_clip
from cmnet_core.data.synthetic import make_synthetic_clip
from cmnet_core.preprocess.cache import PreprocessCache
from cmnet_core.preprocess.pipeline import preprocess_clip
from cmnet_core.preprocess.types import PreprocessSettings

SETTINGS = PreprocessSettings(image_size=48, landmarks="hint")


@pytest.fixture()
def clip():
    return make_synthetic_clip(7, "disgust", image_size=64, n_frames=24)


def test_hit_returns_identical_result_and_setting_changes_miss(clip, tmp_path):
    cache = PreprocessCache(tmp_path)
    first = preprocess_clip(clip, SETTINGS, cache)
    assert (cache.hits, cache.misses) == (0, 1)
    second = preprocess_clip(clip, SETTINGS, cache)
    assert (cache.hits, cache.misses) == (1, 1)
    np.testing.assert_array_equal(second.frames, first.frames)
    np.testing.assert_array_equal(second.frame_map, first.frame_map)
    assert (second.apex_position, second.apex_source, second.backend, second.settings, second.notes) == \
        (first.apex_position, first.apex_source, first.backend, first.settings, first.notes)
    for changed in (PreprocessSettings(image_size=32, landmarks="hint"),
                    PreprocessSettings(image_size=48, landmarks="hint", margin=0.8),
                    PreprocessSettings(image_size=48, landmarks="hint", num_frames=8),
                    PreprocessSettings(image_size=48, landmarks="hint", apex_mode="midpoint")):
        before = cache.misses
        result = preprocess_clip(clip, changed, cache)
        assert cache.misses == before + 1 and result.settings == changed
    preprocess_clip(clip.with_annotation(apex=clip.apex + 1), SETTINGS, cache)
    assert cache.misses == 6
    assert list(tmp_path.rglob("*.tmp")) == []                      # no temporary files left behind


def test_spotted_apex_keeps_its_spotter_and_confidence_and_a_new_spotter_misses(clip, tmp_path, monkeypatch):
    import cmnet_core.preprocess.pipeline as pipeline

    cache = PreprocessCache(tmp_path)
    spotting = PreprocessSettings(image_size=48, landmarks="hint", apex_mode="spotting")
    first = preprocess_clip(clip, spotting, cache)
    second = preprocess_clip(clip, spotting, cache)
    assert cache.hits == 1 and first.apex_spotter == second.apex_spotter == pipeline.SPOTTER
    assert second.apex_confidence == first.apex_confidence and 0.0 <= first.apex_confidence <= 1.0
    monkeypatch.setattr(pipeline, "SPOTTER", "another-spotter")     # a changed spotter is a new result
    preprocess_clip(clip, spotting, cache)
    assert (cache.hits, cache.misses) == (1, 2)
    preprocess_clip(clip, SETTINGS, cache)                            # the annotated apex: the spotter is no key
    monkeypatch.setattr(pipeline, "SPOTTER", "flow-farneback-v1")
    annotated = preprocess_clip(clip, SETTINGS, cache)
    assert (cache.hits, cache.misses) == (2, 3)
    assert annotated.apex_spotter == "" and annotated.apex_confidence is None


def _write_frames(clip, folder):
    folder.mkdir()
    for n in clip.frame_numbers:
        cv2.imwrite(str(folder / f"img{n}.png"), cv2.cvtColor(clip.frame(n), cv2.COLOR_RGB2BGR))


def test_changed_frame_file_is_a_miss(clip, tmp_path):
    _write_frames(clip, tmp_path / "clip")
    settings = PreprocessSettings(image_size=48, landmarks="none")
    cache = PreprocessCache(tmp_path / "cache")
    first = preprocess_clip(open_clip(tmp_path / "clip"), settings, cache)
    preprocess_clip(open_clip(tmp_path / "clip"), settings, cache)
    assert (cache.hits, cache.misses) == (1, 1)
    target = tmp_path / "clip" / f"img{clip.frame_numbers[0]}.png"
    cv2.imwrite(str(target), np.zeros((64, 64, 3), np.uint8))        # the user replaces a frame
    st = target.stat()
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
    changed = preprocess_clip(open_clip(tmp_path / "clip"), settings, cache)
    assert cache.misses == 2 and changed.frames[0].max() == 0 and first.frames[0].max() > 0


def test_touched_video_file_is_a_miss(face_videos, tmp_path):
    video = tmp_path / "v.mp4"
    shutil.copy(face_videos / "single_face.mp4", video)
    settings = PreprocessSettings(image_size=32, landmarks="none", apex_mode="midpoint")
    cache = PreprocessCache(tmp_path / "cache")
    preprocess_clip(open_clip(video), settings, cache)
    preprocess_clip(open_clip(video), settings, cache)
    os.utime(video, ns=(video.stat().st_atime_ns, video.stat().st_mtime_ns + 1_000_000_000))
    preprocess_clip(open_clip(video), settings, cache)
    assert (cache.hits, cache.misses) == (1, 2)


def test_corrupt_entry_is_a_miss_and_gets_rewritten(clip, tmp_path):
    cache = PreprocessCache(tmp_path)
    preprocess_clip(clip, SETTINGS, cache)
    entry = next(tmp_path.rglob("*.npz"))
    entry.write_bytes(b"half-written")
    result = preprocess_clip(clip, SETTINGS, cache)
    assert cache.misses == 2 and result.frames.shape == (16, 48, 48, 3)
    assert preprocess_clip(clip, SETTINGS, cache).frames.shape == (16, 48, 48, 3) and cache.hits == 1
