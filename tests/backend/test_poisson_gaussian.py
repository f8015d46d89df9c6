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
from napari_pn2v.backend.synthetic import PoissonGaussian


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
    # b = read² − gain·offset = −164; judged where it matters, on the noise std
    for s in (150.0, 400.0):
        true = np.sqrt(2.0 * (s - 100) + 36)
        assert float(model.variance(torch.tensor(s)).sqrt()) == pytest.approx(true, rel=0.05)
    assert len(levels.means) >= 10 and levels.message is None


def test_estimate_leaves_clipped_pixels_out():
    rng = np.random.default_rng(0)
    clean = synthetic.cells((256, 256), low=5, high=400)
    noisy = np.clip(PoissonGaussian(gain=1.0, read_noise=4.0, offset=0.0)(clean, rng), 0, 255)
    model, levels = estimate_poisson_gaussian(noisy.astype(np.uint8))
    assert "clipped" in levels.message
    assert model.gain == pytest.approx(1.0, rel=0.15)


def test_as_a_populated_histogram_it_keeps_the_likelihood():
    model = PoissonGaussianNoiseModel.from_camera(gain=2.0, offset=100.0, read_noise=6.0)
    histogram = model.to_histogram(256, (50.0, 700.0))
    assert isinstance(histogram, HistogramNoiseModel) and histogram.measured_rows.all()
    row = 137
    s = torch.full((3,), histogram.low + (row + 0.5) * histogram.bin_width)  # a row's centre
    x = s + histogram.bin_width * torch.tensor([0.0, 4.0, 12.0])  # observation bin centres
    torch.testing.assert_close(histogram.likelihood(x, s), model.likelihood(x, s),
                               rtol=0.05, atol=1e-4)


def test_file_round_trip(tmp_path):
    model = PoissonGaussianNoiseModel.from_camera(gain=1.5, offset=10.0, read_noise=3.0)
    model.save(tmp_path / "pg.npz")
    assert load_noise_model(tmp_path / "pg.npz") == model
