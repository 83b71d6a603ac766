"""Landmark backends: FAN only from local files (never the network), MTCNN fallback, 68→5 points."""
import numpy as np
import pytest
import torch

from cmnet_core.preprocess import face
from cmnet_core.preprocess.errors import ModelFilesMissingError
from cmnet_core.preprocess.face import (FAN_DETECTOR_FILE, FAN_MODEL_FILE, FANBackend, missing_fan_files,
                                        points_from_68, resolve_backend)


def test_points_from_68_takes_eye_means_nose_and_mouth_corners():
    lm = np.arange(136, dtype=float).reshape(68, 2)
    five = points_from_68(lm)
    np.testing.assert_allclose(five[0], lm[36:42].mean(0))
    np.testing.assert_allclose(five[1], lm[42:48].mean(0))
    np.testing.assert_allclose(five[2:], lm[[30, 48, 54]])


def test_missing_fan_files_named_with_folder_and_fix(tmp_path):
    with pytest.raises(ModelFilesMissingError) as err:
        resolve_backend("fan", tmp_path)
    msg = str(err.value)
    assert FAN_MODEL_FILE in msg and FAN_DETECTOR_FILE in msg and str(tmp_path) in msg and "CMNET_FAN_DIR" in msg
    with pytest.raises(ModelFilesMissingError, match=FAN_MODEL_FILE):
        FANBackend(tmp_path)


def test_auto_falls_back_to_mtcnn_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setenv("CMNET_FAN_DIR", str(tmp_path))
    name, notes = resolve_backend("auto")
    assert name == "mtcnn" and FAN_MODEL_FILE in notes[0] and str(tmp_path) in notes[0]
    (tmp_path / FAN_MODEL_FILE).write_bytes(b"x")
    assert [p.name for p in missing_fan_files()] == [FAN_DETECTOR_FILE]
    (tmp_path / FAN_DETECTOR_FILE).write_bytes(b"x")
    assert resolve_backend("auto") == ("fan", [])


@pytest.fixture(scope="module")
def stand_in_fan_dir(tmp_path_factory):
    """FAN and S3FD weight files of the right shapes (random values), as a user's model folder."""
    from face_alignment.detection.sfd.net_s3fd import s3fd
    from face_alignment.models import FAN

    folder = tmp_path_factory.mktemp("fan")
    for make, name in ((lambda: FAN(4), FAN_MODEL_FILE), (s3fd, FAN_DETECTOR_FILE)):
        with torch.device("meta"):                      # shapes only, no initialisation cost
            module = make()
        # one zero per file, expanded to every weight's shape (stride 0): the files hold the real names and shapes
        # in a few kB instead of 93 MB, and load into the real networks like full ones
        zero = torch.zeros((), dtype=torch.float16)
        torch.save({k: zero.expand(v.shape) for k, v in module.state_dict().items()}, folder / name)
    return folder


class _StubHeatmaps(torch.nn.Module):
    """Stands in for FAN's forward pass (minutes on a loaded CPU): one heatmap peak per landmark."""

    def __init__(self, peaks):
        super().__init__()
        self.peaks = peaks

    def forward(self, x):
        hm = torch.zeros(x.shape[0], 68, 64, 64)
        for k, (px, py) in enumerate(self.peaks):
            hm[:, k, py, px] = 1.0
        return hm


def test_fan_loads_from_local_folder_without_network(stand_in_fan_dir, monkeypatch):
    import face_alignment.api
    import face_alignment.detection.sfd.sfd_detector as sfd
    import face_alignment.utils as fa_utils

    def no_network(*args, **kwargs):
        raise AssertionError("tried to download a model")

    monkeypatch.setattr(face_alignment.api, "load_file_from_url", no_network)
    monkeypatch.setattr(sfd, "load_state_dict_from_url", no_network)
    # numba's first compile of face-alignment's heatmap decoding costs ~17 s of CPU: run the same
    # Python functions uncompiled (real use pays that compile once per process).
    monkeypatch.setattr(fa_utils, "transform_np", fa_utils.transform_np.py_func)
    monkeypatch.setattr(fa_utils, "_get_preds_fromhm", fa_utils._get_preds_fromhm.py_func)
    backend = FANBackend(stand_in_fan_dir)
    net = backend._fa.face_alignment_net
    assert not net.training and next(net.parameters()).dtype == torch.float32   # real FAN, weights loaded
    peaks = [(32, 32)] * 68
    peaks[36:42] = [(20, 26)] * 6          # image-left eye
    peaks[42:48] = [(44, 26)] * 6          # image-right eye
    peaks[30], peaks[48], peaks[54] = (32, 36), (24, 46), (40, 46)
    backend._fa.face_alignment_net = _StubHeatmaps(peaks)
    image = np.zeros((240, 320, 3), np.uint8)
    faces = backend.landmarks(image, [np.array([100.0, 60.0, 220.0, 200.0, 0.99])])
    assert len(faces) == 1 and faces[0].score == pytest.approx(0.99)
    le, re, nose, ml, mr = faces[0].points
    assert le[0] < nose[0] < re[0] and ml[0] < mr[0]
    assert le[1] == pytest.approx(re[1]) and ml[1] == pytest.approx(mr[1]) and le[1] < nose[1] < ml[1]
    assert np.all((faces[0].points[:, 0] > 100) & (faces[0].points[:, 0] < 220))   # inside the face box
    assert np.all((faces[0].points[:, 1] > 60) & (faces[0].points[:, 1] < 200))


def test_get_backend_is_shared_and_rejects_non_detectors():
    assert face.get_backend("mtcnn") is face.get_backend("mtcnn")
    with pytest.raises(face.PreprocessError, match="not a detector"):
        face.get_backend("hint")
