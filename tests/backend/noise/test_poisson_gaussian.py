import itertools
import json

import numpy as np
import pytest
import torch

from napari_pn2v.backend import (
    HistogramNoiseModel,
    PoissonGaussianNoiseModel,
    estimate_poisson_gaussian,
    load_noise_model,
    synthetic,
)
from napari_pn2v.backend.data.synthetic import PoissonGaussian


def test_camera_parameters_give_the_poisson_gaussian_variance():
    model = PoissonGaussianNoiseModel.from_camera(gain=2.0, offset=100.0, read_noise=6.0)
    var = model.variance(torch.tensor([100.0, 600.0]))
    torch.testing.assert_close(var, torch.tensor([36.0, 36.0 + 2.0 * 500]))
    x = np.linspace(400, 800, 8001)
    assert model.likelihood_curve(600.0, x).sum() * (x[1] - x[0]) == pytest.approx(1, abs=1e-4)


def test_estimate_from_noisy_images_finds_gain_and_offset():
    noise = PoissonGaussian(gain=2.0, read_noise=6.0, offset=100.0)
    _, noisy = synthetic.noisy_images(count=4, shape=(256, 256), noise=noise)
    model, levels = estimate_poisson_gaussian(noisy)
    assert model.gain == pytest.approx(2.0, rel=0.1)
    # b = read² − gain·offset = −164; judged where it matters, on the noise std, over the
    # signals (each level holds a few hundred smooth pixels: a single one is off by up to ~8 %)
    signals = np.arange(150.0, 451.0, 50.0)
    estimated = model.variance(torch.tensor(signals)).sqrt().numpy()
    error = estimated / np.sqrt(2.0 * (signals - 100) + 36) - 1
    assert np.abs(error).mean() < 0.05 and np.abs(error).max() < 0.1, error
    assert len(levels.means) >= 10 and levels.messages == []


def test_the_noise_variance_is_right_for_skewed_noise_and_ignores_edges():
    """Two-photon noise is skewed (photon counts times a photomultiplier's gain): MAD's
    (1.4826 · MAD)² put FMD's 7–9 % low. The trimmed variance is right for skewed and
    heavy-tailed noise, and a few edges do not move it."""
    from napari_pn2v.backend.noise.estimate import _robust_variance

    rng = np.random.default_rng(0)
    for values, variance in (
        (rng.gamma(2.0, 1.0, 10**5), 2.0),
        (rng.poisson(2.0, 10**5).astype(float), 2.0),
        (rng.standard_t(5, 10**5), 5 / 3),
    ):
        assert _robust_variance(values) == pytest.approx(variance, rel=0.06)
        mad = (1.4826 * np.median(np.abs(values - np.median(values)))) ** 2
        assert abs(mad / variance - 1) > 0.09  # what the trimmed variance corrects
    edges = rng.normal(0, 2, 10**5)
    edges[:1000] += 80  # 1 % of the residuals on edges
    assert _robust_variance(edges) == pytest.approx(4.0, rel=0.02)


def test_estimate_leaves_clipped_pixels_out():
    rng = np.random.default_rng(0)
    clean = synthetic.cells((256, 256), low=5, high=400)
    noisy = np.clip(PoissonGaussian(gain=1.0, read_noise=4.0, offset=0.0)(clean, rng), 0, 255)
    model, levels = estimate_poisson_gaussian(noisy.astype(np.uint8))
    assert any("clipped" in m for m in levels.messages)
    assert model.gain == pytest.approx(1.0, rel=0.15)


def test_as_a_populated_histogram_it_keeps_the_likelihood():
    model = PoissonGaussianNoiseModel.from_camera(gain=2.0, offset=100.0, read_noise=6.0)
    histogram = model.to_histogram(256, (50.0, 700.0))
    assert isinstance(histogram, HistogramNoiseModel) and histogram.measured_rows.all()
    row = 137
    s = torch.full((3,), histogram.low + (row + 0.5) * histogram.bin_width)  # a row's centre
    x = s + histogram.bin_width * torch.tensor([0.0, 4.0, 12.0])  # observation bin centres
    torch.testing.assert_close(
        histogram.likelihood(x, s), model.likelihood(x, s), rtol=0.05, atol=1e-4
    )


def test_file_round_trip(tmp_path):
    model = PoissonGaussianNoiseModel.from_camera(gain=1.5, offset=10.0, read_noise=3.0)
    model.save(tmp_path / "pg.npz")
    assert load_noise_model(tmp_path / "pg.npz") == model


def _dark_clipped(gain: float, read_noise: float, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Cells from 0 to 150 grey levels, offset subtracted, clipped at 0 and rounded (uint8):
    a dark background where a third of the pixels read 0."""
    rng = np.random.default_rng(seed)
    clean = np.stack([synthetic.cells((256, 256), seed=i, low=1, high=150) for i in range(4)])
    noisy = PoissonGaussian(gain=gain, read_noise=read_noise, offset=0.0)(clean, rng)
    return clean, np.clip(np.round(noisy), 0, 255).astype(np.uint8)


def _by_decile(clean: np.ndarray) -> list[float]:
    edges = np.quantile(clean, np.linspace(0, 1, 11))
    return [
        float(clean[(clean >= a) & (clean < b)].mean())
        for a, b in itertools.pairwise(edges)
        if b > a
    ]


def test_the_estimate_follows_the_dark_range_of_clipped_data():
    """Read noise dominates near 0 and a third of the pixels are clipped there: the measured
    curve keeps the read-noise floor (a straight line through all levels did not)."""
    clean, noisy = _dark_clipped(gain=1.0, read_noise=4.0)
    model, levels = estimate_poisson_gaussian(noisy)
    assert model.clip_low == 0 and model.step == 1.0
    assert levels.means.min() < 5  # the dark levels are measured, not left out
    for s in _by_decile(clean):
        true = np.sqrt(16.0 + s)
        assert float(model.variance(torch.tensor(s)).sqrt()) == pytest.approx(true, rel=0.15)


def test_photon_starved_dark_pixels_are_never_given_too_little_noise():
    """20 grey levels per photon, 0.1 photons in the background (the low-SNR FISH regime): a
    line fitted to the brighter levels predicted a variance of 0.25 where it is 50; the
    estimate may overshoot there (the noise is far from Gaussian), never undershoot."""
    clean, noisy = _dark_clipped(gain=20.0, read_noise=3.2)
    model, _ = estimate_poisson_gaussian(noisy)
    for s in _by_decile(clean):
        assert float(model.variance(torch.tensor(s))) > 0.8 * (3.2**2 + 20.0 * s)


def test_a_clipped_observation_weighs_the_mass_beyond_the_limit():
    model = PoissonGaussianNoiseModel(1.0, 16.0, clip_low=0.0, clip_high=255.0, step=1.0)
    s = torch.tensor([-3.0, 2.0, 10.0, 250.0])
    std = model.variance(s).sqrt()
    from scipy.special import ndtr

    at_zero = model.likelihood(torch.zeros(4), s)
    np.testing.assert_allclose(
        at_zero.numpy(), ndtr(((0.5 - s) / std).numpy()), rtol=1e-5, atol=1e-29
    )
    at_top = model.likelihood(torch.full((4,), 255.0), s)
    np.testing.assert_allclose(
        at_top.numpy(), ndtr(((s - 254.5) / std).numpy()), rtol=1e-4, atol=1e-30
    )
    # inside the range it is the Gaussian density, and the mass at 0 falls as s rises
    inside = model.likelihood(torch.tensor([12.0]), torch.tensor([10.0]))
    assert float(inside) == pytest.approx(np.exp(-4 / 52) / np.sqrt(2 * np.pi * 26), rel=1e-5)
    assert at_zero[0] > at_zero[1] > at_zero[2]
    # as a histogram, the clipped limit's bin holds the mass beyond it
    histogram = model.to_histogram(256, (-0.5, 255.5))
    row = torch.full((1,), 2.0)
    assert float(histogram.likelihood(torch.zeros(1), row)) == pytest.approx(
        float(model.likelihood(torch.zeros(1), row)), rel=0.02
    )


def test_correlated_noise_is_named():
    from scipy import ndimage

    rng = np.random.default_rng(0)
    clean = synthetic.cells((256, 256), low=100, high=400)
    white = rng.normal(0, 5.0, (4, 256, 256))
    correlated = np.stack([ndimage.gaussian_filter(n, 1.0) for n in white]) * 3.5
    _, independent = estimate_poisson_gaussian(clean + white)
    _, levels = estimate_poisson_gaussian(clean + correlated)
    assert independent.correlation < 1.2 and independent.messages == []
    assert independent.blind_radius == 0
    assert levels.correlation > 2 and any("blind-spot radius" in m for m in levels.messages)
    # the noise of one pixel, measured between pixels beyond the correlation (a residual a
    # pixel wide sees 1 % of it); signal that wide residuals take for noise errs high
    assert levels.blind_radius >= 2
    assert correlated.var() < np.median(levels.variances) < 4 * correlated.var()


def test_a_measured_curve_round_trips_and_older_readers_must_refuse_it(tmp_path):
    _, noisy = _dark_clipped(gain=1.0, read_noise=4.0)
    model, _ = estimate_poisson_gaussian(noisy)
    model.save(tmp_path / "pg.npz")
    loaded = load_noise_model(tmp_path / "pg.npz")
    assert loaded == model and len(loaded.curve) > 2
    s = torch.linspace(-5, 300, 50)
    torch.testing.assert_close(loaded.variance(s), model.variance(s))
    with np.load(tmp_path / "pg.npz") as data:  # format 1 readers took only the line
        assert json.loads(str(data["meta"]))["version"] >= 2
