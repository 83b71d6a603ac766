"""Checkpoints: round trip, refusal of pickle payloads (code must not run), text/damaged files, mismatch errors."""
import pickle

import pytest
import torch

from cmnet_core.train.checkpoint import CheckpointError, check_compatible, load_checkpoint, save_checkpoint

META = {"labels": ["negative", "positive", "surprise"], "image_size": 32, "num_frames": 16,
        "preprocess": {"image_size": 32, "num_frames": 16}, "model_config": {"proj_dim": 8}}


class _Payload:
    """Unpickling this would create the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_round_trip(tmp_path):
    sd = {"w": torch.arange(6.0).view(2, 3), "b": torch.tensor([1, 2])}
    path = save_checkpoint(tmp_path / "c.pt", sd, META, train_state={"epoch": 3, "rng": torch.get_rng_state()})
    ck = load_checkpoint(path)
    assert torch.equal(ck.state_dict["w"], sd["w"]) and torch.equal(ck.state_dict["b"], sd["b"])
    assert ck.labels == META["labels"] and ck.metadata["image_size"] == 32
    assert ck.metadata["code_version"] and ck.metadata["date"]
    assert ck.train_state["epoch"] == 3
    assert not (tmp_path / "c.pt.tmp").exists()


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("writer", ["torch", "pickle"])
def test_pickle_payload_is_not_executed(tmp_path, writer):
    marker = tmp_path / "PWNED"
    evil = {"format": "cmnet-checkpoint", "format_version": 1, "metadata": "{}", "model": {"x": _Payload(marker)}}
    path = tmp_path / "evil.pt"
    if writer == "torch":
        torch.save(evil, path)
    else:
        with open(path, "wb") as f:
            pickle.dump(evil, f)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path)
    assert not marker.exists()
    text = str(err.value)
    assert "weights_only" not in text and "succeed" not in text       # never PyTorch's unsafe advice
    if writer == "torch":   # the global is reported; plain pickle protocol 5 stops earlier, at an opcode
        assert "contains Python objects that would run code on loading; CMNet Studio refuses" in text
        assert "Re-save it with cmnet" in text and "refused object: io.open" in text
    else:
        assert "is not a CMNet checkpoint (a Python pickle" in text


def test_text_empty_and_damaged_files(tmp_path):
    text = tmp_path / "LICENSE.txt"
    text.write_text("MIT License\n" * 20)
    with pytest.raises(CheckpointError, match=r"LICENSE.txt is not a CMNet checkpoint \(not a PyTorch file; "
                                              r"only the final.pt"):
        load_checkpoint(text)
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"empty.pt is not a CMNet checkpoint \(an empty file"):
        load_checkpoint(tmp_path / "empty.pt")
    good = save_checkpoint(tmp_path / "c.pt", {"w": torch.zeros(4)}, META).read_bytes()
    (tmp_path / "cut.pt").write_bytes(good[: len(good) // 2])
    with pytest.raises(CheckpointError, match=r"cut.pt is not a readable CMNet checkpoint \(damaged or incomplete"):
        load_checkpoint(tmp_path / "cut.pt")


def test_not_a_checkpoint_and_missing(tmp_path):
    torch.save({"state_dict": {}}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a CMNet checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pt")


def test_label_and_input_mismatch(tmp_path):
    ck = load_checkpoint(save_checkpoint(tmp_path / "c.pt", {"w": torch.zeros(1)}, META))
    check_compatible(ck, labels=META["labels"], image_size=32, num_frames=16)
    with pytest.raises(CheckpointError, match=r"predicts \['negative', 'positive', 'surprise'\].*new-head"):
        check_compatible(ck, labels=["happiness", "surprise", "disgust", "repression", "others"])
    with pytest.raises(CheckpointError, match="image_size 32 but 224"):
        check_compatible(ck, image_size=224)
    with pytest.raises(CheckpointError, match="num_frames 16 but 8"):
        check_compatible(ck, num_frames=8)
