"""`CheckpointMeta` (issue 15 part 4): typed checkpoint metadata, unknown keys kept, inconsistent settings refused
on load with the file, the field and what to do; a final model records the metrics the prediction panel shows."""
import json

import pytest
import torch

from cmnet_core.train.checkpoint import FORMAT, CheckpointError, load_checkpoint, save_checkpoint
from cmnet_core.train.checkpoint_meta import CheckpointMeta

META = {"labels": ["a", "b"], "image_size": 32, "num_frames": 4,
        "preprocess": {"image_size": 32, "num_frames": 4, "margin": 0.6, "landmarks": "hint",
                       "interpolation": "tim", "apex_mode": "annotated"},
        "model_config": {"image_size": 32, "num_frames": 4, "backbone": "small"},
        "train_config": {"epochs": 1}, "database": "synthetic", "protocol": "p", "seed": 3,
        "some_future_key": {"x": [1, 2]}}


def _write_raw(path, meta):
    """A checkpoint file written around `save_checkpoint` (as another tool or a hand edit would)."""
    torch.save({"format": FORMAT, "format_version": 1, "metadata": json.dumps(meta), "model": {}}, path)
    return path


def test_round_trip_keeps_unknown_keys_and_types_the_known_ones(tmp_path):
    ck = load_checkpoint(save_checkpoint(tmp_path / "c.pt", {"w": torch.zeros(1)}, META))
    assert isinstance(ck.meta, CheckpointMeta)
    assert ck.meta.labels == ["a", "b"] and ck.meta.image_size == 32 and ck.meta.num_frames == 4
    assert ck.meta.database == "synthetic" and ck.meta.seed == 3 and ck.meta.train_config == {"epochs": 1}
    assert ck.meta.extra == {"some_future_key": {"x": [1, 2]}}
    assert ck.meta.code_version and ck.meta.date
    assert {k: v for k, v in ck.metadata.items() if k not in ("code_version", "date")} == META
    assert ck.meta.settings().landmarks == "hint" and ck.meta.model().backbone == "small"


def test_the_shipped_demo_checkpoint_loads_unchanged():
    path = "resources/demo/cmnet-demo.pt"
    stored = json.loads(torch.load(path, weights_only=True)["metadata"])
    ck = load_checkpoint(path)
    assert ck.metadata == stored
    assert ck.meta.is_demo and ck.meta.synthetic and ck.meta.extra["demo_recipe"]["preset"] == "cpu"
    assert ck.meta.scored_metrics() == [("", stored["metrics"])]


@pytest.mark.parametrize("section, field, value, said", [
    ("preprocess", "image_size", 64, "preprocess.image_size is 64 px but the model reads 32 px"),
    ("preprocess", "num_frames", 8, "preprocess.num_frames is 8 frames but the model reads 4 frames"),
    ("model_config", "image_size", 112, "model_config.image_size is 112 px but the model reads 32 px"),
    ("preprocess", "landmarks", "dlib", "preprocess.landmarks is 'dlib', not one of auto, fan, mtcnn, hint, none"),
])
def test_settings_that_do_not_fit_the_model_are_refused_on_load(tmp_path, section, field, value, said):
    meta = json.loads(json.dumps(META))
    meta[section][field] = value
    path = _write_raw(tmp_path / "bad.pt", meta)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path)
    text = str(err.value)
    assert text.startswith(f"{path}: ") and said in text and "retrain it with cmnet train" in text


def test_such_settings_are_not_written_either(tmp_path):
    with pytest.raises(CheckpointError, match=r"preprocess\.num_frames is 16 frames but the model reads 4"):
        save_checkpoint(tmp_path / "c.pt", {}, {**META, "preprocess": {"num_frames": 16}})
    assert not (tmp_path / "c.pt").exists()


def test_missing_keys_name_the_file(tmp_path):
    meta = {k: v for k, v in META.items() if k != "labels"}
    path = _write_raw(tmp_path / "old.pt", meta)
    with pytest.raises(CheckpointError, match=rf"^{path}: checkpoint metadata lacks labels"):
        load_checkpoint(path)
