"""ELAN exchange: .eaf export → import gives the same annotations; times are the decoded timestamps in ms."""
import csv
import io

import numpy as np
import pympi
import pytest

from cmnet_core.data.clip import Annotation
from cmnet_core.data.elan import ElanError, TIERS, read_eaf, tab_delimited_text, write_eaf, write_tab_delimited
from cmnet_core.data.readers import open_clip
from cmnet_core.data.synthetic import make_synthetic_clip


@pytest.fixture(scope="module")
def synthetic_clip():
    return make_synthetic_clip(3, "surprise", image_size=32, n_frames=40)  # 200 fps, nominal times


@pytest.fixture(scope="module")
def pts_clip(face_videos):
    """A real .mov whose pts differ from frame / average fps by up to 8.6 frames (issue 13)."""
    clip = open_clip(face_videos / "face_noface.mov")
    yield clip
    clip.close()


def _random_annotations(clip, seed, n=6):
    rng = np.random.default_rng(seed)
    nums = list(clip.frame_numbers)
    out = []
    for i in range(n):
        on, ap, off = sorted(rng.choice(nums, 3, replace=False).tolist())
        out.append(Annotation(onset=on, apex=ap, offset=off, emotion=["surprise", "disgust", None][i % 3],
                              aus=["4+L10", "", "12"][i % 3], notes=["", "blink at the end", ""][i % 3],
                              apex_source=["annotated", "spotted", "annotated"][i % 3]))
    return out


@pytest.mark.parametrize("which", ["synthetic_clip", "pts_clip"])
def test_eaf_round_trip_gives_the_same_annotations(which, request, tmp_path):
    clip = request.getfixturevalue(which)
    anns = _random_annotations(clip, seed=len(which))
    for ann in anns:  # one ME per file (several overlapping MEs in one file cannot be told apart)
        path = write_eaf(tmp_path / "one.eaf", [ann], clip)
        assert read_eaf(path, clip) == [ann]
    # several MEs that do not overlap, in one file, come back in time order
    nums = list(clip.frame_numbers)
    apart = [Annotation(onset=nums[2], apex=nums[4], offset=nums[6], emotion="happiness", apex_source="annotated"),
             Annotation(onset=nums[10], apex=nums[12], offset=nums[15], emotion="others", aus="1+2",
                        apex_source="spotted")]
    assert read_eaf(write_eaf(tmp_path / "two.eaf", apart[::-1], clip), clip) == apart


def test_eaf_times_are_the_pts_in_ms_and_the_media_is_linked(pts_clip, face_videos, tmp_path):
    ann = Annotation(onset=60, apex=72, offset=80, emotion="surprise", apex_source="annotated")
    eaf = pympi.Elan.Eaf(str(write_eaf(tmp_path / "m.eaf", [ann], pts_clip)))
    assert set(eaf.get_tier_names()) == set(TIERS.values())
    (apex,) = eaf.get_annotation_data_for_tier("apex")
    assert apex[0] == 2400  # frame 72 starts at 2.400 s (pts); frames / average fps said 2.727 s
    (me,) = eaf.get_annotation_data_for_tier("ME")
    assert me[0] == round(pts_clip.times_s[60] * 1000) and me[1] == round(pts_clip.times_s[81] * 1000)
    assert me[2] == "surprise"
    (media,) = eaf.get_linked_files()
    assert media["MEDIA_URL"] == (face_videos / "face_noface.mov").absolute().as_uri()
    assert media["MIME_TYPE"] == "video/quicktime"


def test_foreign_or_damaged_files_are_refused_by_name(synthetic_clip, tmp_path):
    other = pympi.Elan.Eaf()
    other.add_tier("Gesture")
    other.to_file(str(tmp_path / "gesture.eaf"))
    with pytest.raises(ElanError, match=r"gesture\.eaf has none of the tiers ME, apex, AU, notes \(it has: "
                                        r"Gesture, default\)"):
        read_eaf(tmp_path / "gesture.eaf", synthetic_clip)
    (tmp_path / "bad.eaf").write_text("<ANNOTATION_DOCUMENT><oops")
    with pytest.raises(ElanError, match=r"bad\.eaf is not an ELAN \.eaf file"):
        read_eaf(tmp_path / "bad.eaf", synthetic_clip)


def test_tab_delimited_export_in_each_time_unit(synthetic_clip, tmp_path):
    first = int(synthetic_clip.frame_numbers[0])
    ann = Annotation(onset=first + 4, apex=first + 9, offset=first + 20, emotion="surprise", aus="1+2",
                     apex_source="annotated")

    def rows(unit):
        return list(csv.reader(io.StringIO(tab_delimited_text([ann], synthetic_clip, unit)), delimiter="\t"))

    ms = rows("ms")
    assert ms[0] == ["tier", "begin (ms)", "end (ms)", "duration (ms)", "value"]
    assert ms[1:] == [["AU", "20", "105", "85", "1+2"], ["ME", "20", "105", "85", "surprise"],
                      ["apex", "45", "50", "5", "annotated"]]  # 200 fps: 5 ms a frame
    assert rows("s")[2] == ["ME", "0.020", "0.105", "0.085", "surprise"]
    assert rows("hh:mm:ss.ms")[3] == ["apex", "00:00:00.045", "00:00:00.050", "00:00:00.005", "annotated"]
    assert rows("frames")[2] == ["ME", str(first + 4), str(first + 20), "17", "surprise"]
    with pytest.raises(ValueError, match="time unit 'min'"):
        tab_delimited_text([ann], synthetic_clip, "min")
    out = write_tab_delimited(tmp_path / "t.txt", [ann], synthetic_clip, "frames")
    assert out.read_text().count("\n") == 4


def test_apex_alone_comes_back_alone_and_partial_annotations_are_named(synthetic_clip, tmp_path):
    from cmnet_core.data.elan import left_out

    first = int(synthetic_clip.frame_numbers[0])
    apex_only = Annotation(apex=first + 7, apex_source="spotted")
    assert read_eaf(write_eaf(tmp_path / "a.eaf", [apex_only], synthetic_clip), synthetic_clip) == [apex_only]
    partial = Annotation(onset=first + 3, emotion="surprise", notes="n")
    assert left_out(partial) == [f"the onset (frame {first + 3}) without its offset", "the emotion", "the notes"]
    assert left_out(Annotation(onset=first, offset=first + 5, emotion="x")) == []
