"""Phase-based magnification (Riesz pyramid, Wadhwa et al. 2014) beside linear (Wu et al. 2012) in
cmnet_core.magnify: a textured image translated by a sub-pixel sinusoid, magnified by both methods."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from cmnet_core.magnify import MagnifySettings, magnify_frames

FPS = 30.0
F_HZ = 2.0          # inside the band below
BAND = dict(low_hz=1.0, high_hz=4.0)
SIZE = 64
N = 40
MID = slice(10, 30)   # frames away from the filter's edge transients
CROP = slice(8, -8)   # pixels away from the pyramid's image borders


def texture_spectrum(seed: int = 0) -> np.ndarray:
    """The 2-D FFT of a periodic grey texture of SIZE x SIZE px made of mostly vertical edges, as a face's brows,
    lids and lips: a random spectrum under a Gaussian envelope of sigma 2 px across x (wavelengths ~12 px) and 8 px
    along y. (On an isotropic texture the phase method's amplitude-weighted smoothing averages the quaternion phase
    over orientations and magnifies about half as much: 2.3x instead of 4x at alpha 4, measured.)"""
    rng = np.random.default_rng(seed)
    fy = np.fft.fftfreq(SIZE)[:, None]
    fx = np.fft.fftfreq(SIZE)[None, :]
    envelope = np.exp(-2 * np.pi ** 2 * (2.0 ** 2 * fx ** 2 + 8.0 ** 2 * fy ** 2))
    return np.fft.fft2(rng.standard_normal((SIZE, SIZE))) * envelope


def shifted(spectrum: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """float64 (T, SIZE, SIZE): the texture translated right by dx[t] px (exact, periodic), grey 128 +- ~50."""
    fx = np.fft.fftfreq(SIZE)[None, None, :]
    img = np.fft.ifft2(spectrum[None] * np.exp(-2j * np.pi * fx * dx[:, None, None])).real
    base = np.fft.ifft2(spectrum).real
    return 128 + 50 * img / base.std()


def texture_frames(a_px: float, seed: int = 0):
    """uint8 RGB (N, SIZE, SIZE, 3) frames of the texture moving by a sin(2 pi F_HZ t) px, and dx (N,)."""
    dx = a_px * np.sin(2 * np.pi * F_HZ * np.arange(N) / FPS)
    grey = np.clip(np.rint(shifted(texture_spectrum(seed), dx)), 0, 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=-1), dx


def measured_shift(frames: np.ndarray, seed: int = 0) -> np.ndarray:
    """x translation (px) of each frame's grey image: the shift of the (exactly shiftable) texture that matches it
    best in the least-squares sense over the inner pixels, on a 0.25 px grid refined to 0.005 px. (cv2.phaseCorrelate
    was tried first: on 64 px it was off by up to 0.1 px for a 0.3 px shift.)"""
    spectrum = texture_spectrum(seed)
    grey = frames[:, CROP, CROP, 0].astype(np.float64)
    out = []
    for image in grey:
        centre = 0.0
        for span, step in ((12.0, 0.25), (0.25, 0.005)):
            grid = centre + np.arange(-span, span + step / 2, step)
            cost = ((shifted(spectrum, grid)[:, CROP, CROP] - image) ** 2).mean((1, 2))
            centre = grid[int(np.argmin(cost))]
        out.append(centre)
    return np.array(out)


def amplitude_at_f(frames: np.ndarray) -> float:
    """Least-squares amplitude (px) of the F_HZ sinusoid in the measured x motion of the middle frames."""
    t = np.arange(N) / FPS
    basis = np.stack([np.sin(2 * np.pi * F_HZ * t), np.cos(2 * np.pi * F_HZ * t), np.ones(N)], 1)[MID]
    c, *_ = np.linalg.lstsq(basis, measured_shift(frames[MID]), rcond=None)
    return float(np.hypot(c[0], c[1]))


def test_settings_accept_the_two_methods_only():
    assert MagnifySettings().method == "linear"
    assert MagnifySettings(method="phase").method == "phase"
    with pytest.raises(ValueError, match="method 'riesz'.*linear, phase"):
        MagnifySettings(method="riesz")


@pytest.mark.parametrize("method, alpha, rel", [("linear", 4.0, 0.05), ("phase", 4.0, 0.15), ("phase", 10.0, 0.15)])
def test_sub_pixel_motion_is_magnified_by_one_plus_alpha(method, alpha, rel):
    """A 0.1 px sinusoidal translation of the texture comes out (1 + alpha) times larger, measured by fitting the
    shifted texture to each frame. Measured (seeds 0-2): linear 0.985-0.99 x (1 + alpha); phase 0.86-0.93 x (the
    low-pass residual, which holds this small image's coarsest structure, is not phase-shifted, and the smoothing
    blurs the phase over nearby orientations). Linear is checked at alpha 4 only: at large alpha it breaks down
    (the next test)."""
    frames, dx = texture_frames(0.1)
    before = amplitude_at_f(frames)
    assert before == pytest.approx(0.1, rel=0.03)
    out = magnify_frames(frames, FPS, MagnifySettings(alpha=alpha, lambda_c=0, method=method, **BAND))
    assert out.shape == frames.shape and out.dtype == np.uint8
    assert amplitude_at_f(out) == pytest.approx((1 + alpha) * before, rel=rel)


def deviation_from_ideal(method: str, alpha: float, a_px: float) -> float:
    """RMS grey-level difference (middle frames, inner pixels) between the magnified frames and the texture truly
    translated by (1 + alpha) x the input motion."""
    frames, dx = texture_frames(a_px)
    out = magnify_frames(frames, FPS, MagnifySettings(alpha=alpha, lambda_c=0, method=method, **BAND))
    ideal = shifted(texture_spectrum(0), (1 + alpha) * dx)
    diff = out[MID, CROP, CROP, 0].astype(np.float64) - ideal[MID, CROP, CROP]
    return float(np.sqrt(np.mean(diff ** 2)))


def test_phase_has_fewer_artefacts_than_linear_at_large_alpha():
    """0.5 px magnified 20 times (10.5 px, far beyond linear's limit of about lambda / 8 = 1.5 px for this
    texture): the phase-based result stays much closer to the truly shifted texture. Measured RMS deviation
    (grey levels, seeds 0-2): linear 91-99, phase 31-33."""
    linear = deviation_from_ideal("linear", 20.0, 0.5)
    phase = deviation_from_ideal("phase", 20.0, 0.5)
    assert phase < 0.5 * linear, (phase, linear)


def test_phase_keeps_static_frames_and_colour():
    """No motion: the phase method returns the frames unchanged (within rounding), colour included."""
    rng = np.random.default_rng(1)
    still = np.repeat(cv2.GaussianBlur(rng.integers(0, 255, (1, 48, 48, 3), dtype=np.uint8)[0], (0, 0), 2)[None],
                      12, axis=0)
    out = magnify_frames(still, FPS, MagnifySettings(alpha=20, method="phase"))
    assert np.abs(out.astype(int) - still).max() <= 1


def test_cli_method_phase(tmp_path, capsys):
    """``cmnet magnify --method phase`` writes the phase-magnified frames; an unknown method exits 2."""
    import av

    from cmnet_core.cli import main

    frames, _ = texture_frames(0.1)
    folder = tmp_path / "clip"
    folder.mkdir()
    for i, f in enumerate(frames[:12]):
        cv2.imwrite(str(folder / f"img{i + 1:04d}.png"), f)
    out = tmp_path / "phase.mp4"
    assert main(["magnify", str(folder), "--method", "phase", "--alpha", "5", "--out", str(out), "--fps", "30"]) == 0
    with av.open(str(out)) as c:
        assert sum(1 for _ in c.decode(video=0)) == 12
    with pytest.raises(SystemExit) as exc:
        main(["magnify", str(folder), "--method", "riesz"])
    assert exc.value.code == 2
    assert "invalid choice: 'riesz'" in capsys.readouterr().err


def test_size_check_counts_the_phase_methods_own_buffers(monkeypatch):
    """Phase keeps band and phase pair per luminance level, the residual and the uint8 frames: ~1.2x linear's
    pyramid, and the size limit says so before any frame is read."""
    import cmnet_core.magnify as magnify

    linear = magnify.working_bytes(100, 64, 64, MagnifySettings())
    phase = magnify.working_bytes(100, 64, 64, MagnifySettings(method="phase"))
    assert linear == sum(4 * 3 * 100 * (64 >> l) ** 2 for l in range(4))      # 3 bands (64 px) + residual
    assert phase == 4 * 3 * 100 * (64 ** 2 + 32 ** 2 + 16 ** 2) + 4 * 100 * 8 ** 2 + 3 * 100 * 64 ** 2
    assert 1.1 < phase / linear < 1.3
    monkeypatch.setattr(magnify, "MAX_PYRAMID_BYTES", (linear + phase) // 2)
    magnify.Magnifier(100, 64, 64, FPS, MagnifySettings())
    with pytest.raises(ValueError, match="100 frames of 64x64 px need"):
        magnify.Magnifier(100, 64, 64, FPS, MagnifySettings(method="phase"))


def test_magnifier_fed_frame_by_frame_equals_magnify_frames_and_checks_its_input():
    from cmnet_core.magnify import Magnifier

    frames, _ = texture_frames(0.1)
    frames = frames[:12]
    for method in ("linear", "phase"):
        settings = MagnifySettings(alpha=8, method=method)
        m = Magnifier(12, SIZE, SIZE, FPS, settings)
        for f in frames:
            m.add(f)
        assert np.array_equal(m.finish(), magnify_frames(frames, FPS, settings))
    m = Magnifier(12, SIZE, SIZE, FPS, MagnifySettings())
    with pytest.raises(ValueError, match=r"frame 0 is uint8 \(32, 64, 3\), expected uint8 \(64, 64, 3\)"):
        m.add(frames[0][:32])
    m.add(frames[0])
    with pytest.raises(ValueError, match="1 of 12 frames were added"):
        m.finish()
    with pytest.raises(ValueError, match="at least 3 frames"):
        Magnifier(2, SIZE, SIZE, FPS, MagnifySettings())


def test_phase_odd_sizes_progress_and_cancel():
    from cmnet_core.magnify import MagnifyCancelled

    frames = np.random.default_rng(1).integers(0, 256, (5, 37, 23, 3), dtype=np.uint8)
    seen = []
    out = magnify_frames(frames, 200.0, MagnifySettings(method="phase"), progress=lambda f, m: seen.append(f))
    assert out.shape == (5, 37, 23, 3) and out.dtype == np.uint8
    assert seen[-1] == 1.0 and seen == sorted(seen)
    with pytest.raises(MagnifyCancelled):
        magnify_frames(frames, 200.0, MagnifySettings(method="phase"), cancelled=lambda: True)
