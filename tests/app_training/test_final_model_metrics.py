"""A final model trained by ``cmnet train`` records the scores of the clips it never trained on in its checkpoint
(validation subjects that chose the epoch, held-out subjects), and the prediction panel shows them instead of
"Metrics —" (issue 15 part 4)."""
import pytest

from cmnet_core.cli import main
from cmnet_core.data.synthetic_writer import write_synthetic_database
from cmnet_core.train.checkpoint import load_checkpoint

TINY = ["--image-size", "32", "--frames", "4", "--epochs", "2", "--batch-size", "2", "--cache", "off",
        "--device", "cpu", "--backbone", "small", "--landmarks", "none", "--progress", "jsonl"]


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    root = tmp_path_factory.mktemp("final") / "syn"
    write_synthetic_database(root, n_subjects=3, clips_per_class=1, image_size=32, labels=("happiness", "surprise"))
    return root


def test_final_model_records_validation_and_held_out_scores_and_the_panel_shows_them(db, tmp_path):
    from app.widgets.prediction_panel import PredictionPanel, describe_metadata

    run = tmp_path / "run"
    assert main(["train", str(db), *TINY, "--selection", "val", "--val-subjects", "1", "--holdout-subject", "s03",
                 "--run-dir", str(run)]) == 0
    meta = load_checkpoint(run / "checkpoints" / "final.pt").meta
    val, held = meta.metrics["validation"], meta.metrics["held_out"]
    assert val["n"] == 2 and held["n"] == 2            # one subject × two classes each
    assert val["epoch"] in (1, 2) and len(val["subjects"]) == 1 and val["subjects"][0] in ("s01", "s02")
    for scores in (val, held):
        assert 0.0 <= scores["uf1"] <= 1.0 and 0.0 <= scores["accuracy"] <= 1.0
    text = describe_metadata(meta)
    assert "Metrics</td><td>held-out: uf1 " in text
    assert f"held-out: uf1 {held['uf1']:.3f}, uar {held['uar']:.3f}, accuracy {held['accuracy']:.3f}, n 2" in text
    assert f"validation (epoch {val['epoch']}; {val['subjects'][0]}): uf1 {val['uf1']:.3f}" in text
    panel = PredictionPanel()
    panel.show_checkpoint(run / "checkpoints" / "final.pt", meta.to_dict(), "cpu")   # as Predictor.metadata
    assert panel.meta.text() == text and list(panel.bars.bars) == ["happiness", "surprise"]


def test_a_final_model_on_every_subject_says_why_it_has_no_figure(db, tmp_path):
    from app.widgets.prediction_panel import NO_METRICS, describe_metadata

    run = tmp_path / "run"
    assert main(["train", str(db), *TINY, "--epochs", "1", "--run-dir", str(run)]) == 0
    meta = load_checkpoint(run / "checkpoints" / "final.pt").meta
    assert meta.metrics == {}
    assert f"Metrics</td><td>{NO_METRICS}</td>" in describe_metadata(meta)
