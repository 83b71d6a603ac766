"""app.workspace.batch (no Qt): which clips a batch runs on, the results' rows and their CSV (UTF-8 with BOM)."""
import csv

from cmnet_core.batch import BatchResult
from cmnet_core.data.clip import Annotation, Clip

from app.workspace.batch import BatchResults, batch_clips, cell_text, clip_ident, table_columns


class Source:
    def __init__(self, path):
        from pathlib import Path

        self.path, self.frame_numbers, self.fps, self.size = Path(path), list(range(5)), 30.0, (8, 8)

    def read(self, number):
        raise KeyError(number)

    def close(self):
        pass


def test_clips_rows_and_csv_read_back(tmp_path):
    clips = [Clip(Source(f"/db/{s}/{n}"), name=n, subject=s, annotation=Annotation(apex=2, emotion="happiness"))
             for s, n in (("张三", "EP01"), ("s2", "EP02"), ("s3", "EP03"))]
    edited = {"EP02": Annotation(apex=3, emotion="surprise")}
    chosen = batch_clips(clips, [2, 0, 2, 7], lambda c: edited.get(c.name, c.annotation), in_database=True)
    assert [(b.index, b.ident) for b in chosen] == [(0, "张三_EP01"), (2, "s3_EP03")]
    assert [b.ident for b in batch_clips(clips, [1], lambda c: c.annotation, in_database=False)] == ["EP02"]
    assert clip_ident(Clip(Source("/v/张三.mp4"), name="张三.mp4"), in_database=False) == "张三"
    assert batch_clips(clips, [1], lambda c: edited.get(c.name, c.annotation), True)[0].annotation.apex == 3

    results = BatchResults(chosen, ["happiness", "surprise"], clips)
    assert [r["status"] for r in results.rows] == ["queued", "queued"]
    done = {"clip": "张三_EP01", "subject": "张三", "source": "/db/张三/EP01", "status": "done", "error": "",
            "seconds": 0.5, "label": "surprise", "true_label": "happiness", "annotated_apex": 2, "apex_source":
            "spotted", "apex_frame": 3.0, "apex_confidence": 0.71, "k_peak_frame": 2.5, "notes": "x",
            "p_happiness": 0.25, "p_surprise": 0.75}
    assert results.set_result(BatchResult(1, "张三_EP01", done, "pred", clips[0], 0.5)) == 0
    assert results.predictions == ["pred", None] and results.cancel_rest() == [1]
    assert results.counts() == {"done": 1, "cancelled": 1}
    values = {h: f(results.rows[0]) for h, f in table_columns(results.labels)}
    assert values["Spotted apex"] == 3.0 and values["Confidence"] == 0.71 and values["Predicted"] == "surprise"
    assert values["Annotated apex"] == 2 and values["k_n peak"] == 2.5 and values["Notes"] == "x"
    assert cell_text(3.0) == "3" and cell_text(0.754321) == "0.754" and cell_text(None) == ""

    path = results.write_csv(tmp_path / "out.csv")
    assert path.read_bytes().startswith("\ufeffclip,subject,".encode("utf-8"))
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["clip"] == "张三_EP01" and rows[0]["p_surprise"] == "0.75" and rows[0]["subject"] == "张三"
    assert rows[1]["status"] == "cancelled" and rows[1]["p_surprise"] == "" and rows[1]["true_label"] == "happiness"
