import numpy as np
import pytest
import torch

from napari_pn2v.backend import HistogramNoiseModel, PN2VError, synthetic
from napari_pn2v.backend.noise.calibration import CalibrationStack, calibration_pairs, drift_note
from tests.conftest import numpy_peak


def gaussian_pairs(sigma=4.0, frames=200, seed=0):
    rng = np.random.default_rng(seed)
    signal = rng.uniform(50, 200, (64, 64))  # continuous: bins are filled evenly
    observations = signal + rng.normal(0, sigma, (frames, *signal.shape))
    return signal, observations


def test_rows_are_normalised_densities(noise_model):
    row_mass = noise_model.density.sum(axis=1) * noise_model.bin_width
    np.testing.assert_allclose(row_mass, 1.0, rtol=1e-4)
    assert (noise_model.density > 0).all()


def test_likelihood_matches_the_gaussian_that_made_the_data():
    sigma = 4.0
    signal, observations = gaussian_pairs(sigma)
    model = HistogramNoiseModel.from_pairs(signal, observations, bins=128, value_range=(0.0, 256.0))
    s = torch.tensor([120.0])
    x = torch.arange(111.0, 130.0, 2.0)  # bin centres
    p = model.log_likelihood(x, s).exp().numpy()
    expected = np.exp(-((x.numpy() - 120) ** 2) / (2 * sigma**2)) / (sigma * np.sqrt(2 * np.pi))
    np.testing.assert_allclose(p, expected, atol=0.006)  # binning and sampling noise
    assert abs(float((p * (x.numpy() - 120)).sum() / p.sum())) < 0.6  # centred on the signal


def test_linear_interpolation_between_bin_centres(noise_model):
    i = 20
    centre = noise_model.low + (i + 0.5) * noise_model.bin_width
    x = torch.linspace(noise_model.low, noise_model.high - 1e-3, 50)
    at_i = noise_model.log_likelihood(x, torch.tensor(centre)).exp()
    at_next = noise_model.log_likelihood(x, torch.tensor(centre + noise_model.bin_width)).exp()
    halfway = noise_model.log_likelihood(
        x, torch.tensor(centre + 0.5 * noise_model.bin_width)
    ).exp()
    torch.testing.assert_close(halfway, 0.5 * (at_i + at_next))
    column = ((x - noise_model.low) / noise_model.bin_width).floor().long()
    torch.testing.assert_close(at_i, torch.as_tensor(noise_model.density[i])[column])


def test_gradient_in_the_signal_matches_finite_differences(noise_model):
    x = torch.tensor([300.0, 300.0, 420.0])
    s = torch.tensor([290.0, 310.0, 400.0], requires_grad=True)
    noise_model.log_likelihood(x, s).sum().backward()
    eps = 1e-2
    with torch.no_grad():
        numeric = (
            noise_model.log_likelihood(x, s + eps) - noise_model.log_likelihood(x, s - eps)
        ) / (2 * eps)
    assert torch.all(s.grad != 0)
    torch.testing.assert_close(s.grad, numeric, rtol=1e-2, atol=1e-4)
    # the likelihood rises as the signal moves towards the observation
    assert s.grad[0] > 0 and s.grad[1] < 0


def test_sample_likelihood_equals_the_likelihood_of_the_samples(noise_model):
    """Prediction's fused path: same values, samples past both ends of the range included."""
    gen = torch.Generator().manual_seed(0)
    low, high = noise_model.signal_range
    loc = low + (high - low) * torch.rand(500, 1, generator=gen)
    scale = (high - low) * 0.2 * torch.rand(500, 1, generator=gen)
    u = 2 * torch.randn(500, 64, generator=gen)
    observed = low - 10 + (high - low + 20) * torch.rand(500, 1, generator=gen)
    expected = noise_model.likelihood(observed, torch.addcmul(loc, scale, u))
    fused = noise_model.sample_likelihood(observed, loc, scale, u)
    # float32 rounds the bin position differently: ~1e-5 of a bin
    torch.testing.assert_close(fused, expected, rtol=1e-4, atol=1e-5 * float(expected.max()))


def test_unmeasured_rows_are_filled_and_log_stays_finite():
    signal, observations = gaussian_pairs()
    model = HistogramNoiseModel.from_pairs(signal, observations, bins=64, value_range=(0.0, 256.0))
    assert not model.measured_rows.all()  # signals span 50..200 only
    lo, hi = model.signal_range
    assert 45 < lo < 55 and 195 < hi < 205
    # an unmeasured low row peaks near its own signal, not at the measured edge
    s = torch.tensor(20.0)
    x = torch.arange(0.0, 256.0, model.bin_width)
    peak = x[model.log_likelihood(x, s).argmax()]
    assert abs(float(peak) - 20.0) <= 2 * model.bin_width
    far = model.log_likelihood(torch.tensor([0.0, 255.0]), torch.tensor([255.0, 0.0]))
    assert torch.isfinite(far).all()


def test_fraction_outside_the_given_range_is_reported():
    signal, observations = gaussian_pairs()
    model = HistogramNoiseModel.from_pairs(signal, observations, value_range=(0.0, 100.0))
    expected = np.mean(
        (np.broadcast_to(signal, observations.shape) >= 100)
        | (observations >= 100)
        | (observations < 0)
    )
    assert model.fraction_outside == pytest.approx(expected)
    assert model.fraction_out_of_range(np.array([50.0, 150.0])) == 0.5
    assert "outside" in model.summary()


def test_range_from_data_covers_all_of_it(calibration, noise_model):
    assert noise_model.fraction_outside == 0
    assert noise_model.low < calibration.min() and noise_model.high > calibration.max()
    assert noise_model.n_frames == calibration.shape[0]


@pytest.mark.parametrize("frames", [1])
def test_one_frame_calibration_is_refused(calibration, frames):
    with pytest.raises(PN2VError, match="at least 2 frames"):
        HistogramNoiseModel.from_calibration(calibration[:frames])


def test_bad_calibration_input_is_refused(calibration):
    bad = calibration.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(PN2VError, match="NaN"):
        HistogramNoiseModel.from_calibration(bad)
    with pytest.raises(PN2VError, match="max > min"):
        HistogramNoiseModel.from_calibration(calibration, value_range=(5.0, 5.0))
    with pytest.raises(PN2VError, match="no calibration data"):
        HistogramNoiseModel.from_calibration(calibration, value_range=(1e6, 2e6))
    with pytest.raises(PN2VError, match="do not match"):
        HistogramNoiseModel.from_pairs(calibration[0], calibration[:, :10])


def test_file_round_trip(tmp_path, noise_model):
    path = tmp_path / "nm.npz"
    noise_model.save(path)
    loaded = HistogramNoiseModel.load(path)
    np.testing.assert_array_equal(loaded.density, noise_model.density)
    assert (loaded.low, loaded.high, loaded.n_frames) == (
        noise_model.low,
        noise_model.high,
        noise_model.n_frames,
    )
    x, s = torch.tensor([200.0, 400.0]), torch.tensor([210.0, 380.0])
    torch.testing.assert_close(loaded.log_likelihood(x, s), noise_model.log_likelihood(x, s))


def test_corrupt_and_foreign_files_are_refused(tmp_path):
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file at all")
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, a=np.zeros(3))
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, meta=np.array([{"format": "napari-pn2v-noise-model"}], dtype=object))
    for path in (garbage, foreign, pickled, tmp_path / "missing.npz"):
        with pytest.raises(PN2VError):
            HistogramNoiseModel.load(path)


def drifting_stack(frames=40, sigma=3.0, seed=0):
    """A static scene whose brightness drifts by ±10 % over the frames (bleaching, lamp)."""
    rng = np.random.default_rng(seed)
    scene = rng.uniform(20, 220, (64, 64))
    gains = np.linspace(0.9, 1.1, frames)
    clean = gains[:, None, None] * scene
    return clean, clean + rng.normal(0, sigma, clean.shape)


def test_calibration_frames_get_their_own_signal():
    clean, stack = drifting_stack()
    signals, frames = calibration_pairs(stack)
    assert signals.shape == frames.shape == stack.shape
    rms = float(np.sqrt(((signals - clean) ** 2).mean()))
    assert rms < 0.6  # the noise of a 40-frame mean: 3 / √40 ≈ 0.47
    assert float(np.sqrt(((stack.mean(0) - clean) ** 2).mean())) > 10 * rms  # the plain mean
    # without drift the fit leaves the mean alone
    steady = stack / np.linspace(0.9, 1.1, 40)[:, None, None]
    signals, _ = calibration_pairs(steady)
    change = signals - steady.mean(0)
    assert float(np.sqrt((change**2).mean())) < 0.1  # well below the mean's own noise


def test_drift_does_not_widen_the_histogram():
    """The brightness drift is not noise: the model's spread stays the noise's (3), where the
    frames' mean as every frame's signal would add the drift's ±10 % (±12 at s = 120)."""
    _, stack = drifting_stack()
    model = HistogramNoiseModel.from_calibration(stack, bins=128, value_range=(0.0, 256.0))
    std = float(model.variance(torch.tensor([120.0])).sqrt())
    plain = HistogramNoiseModel.from_pairs(stack.mean(0), stack, bins=128, value_range=(0.0, 256.0))
    assert abs(std - 3.0) < 0.5
    assert float(plain.variance(torch.tensor([120.0])).sqrt()) > 2 * std


def test_pairs_take_one_signal_per_observation():
    clean, stack = drifting_stack()
    per_frame = HistogramNoiseModel.from_pairs(clean, stack, bins=128, value_range=(0.0, 256.0))
    assert per_frame.n_frames == 40
    assert abs(float(per_frame.variance(torch.tensor([120.0])).sqrt()) - 3.0) < 0.5
    with pytest.raises(PN2VError, match="do not match"):
        HistogramNoiseModel.from_pairs(clean[:3], stack)


def test_drift_is_named_only_when_there_is_some():
    _, stack = drifting_stack()
    note = drift_note(CalibrationStack(stack).contrasts())
    assert note is not None and "0.90× to 1.10×" in note
    steady = stack / np.linspace(0.9, 1.1, 40)[:, None, None]
    assert drift_note(CalibrationStack(steady).contrasts()) is None
    # the contrasts are the fitted signals' standard deviations
    signals = calibration_pairs(stack)[0]
    np.testing.assert_allclose(
        CalibrationStack(stack).contrasts(), signals.reshape(40, -1).std(axis=1), rtol=1e-5
    )


@pytest.mark.parametrize("frames", [4, 20])
def test_a_few_calibration_frames_give_the_noise_not_less(frames):
    """Each frame is part of the mean it is compared with: unwidened, 4 frames gave 70–80 % of
    the noise variance (the MMSE then trusts noisy pixels)."""
    from napari_pn2v.backend import GaussianMixtureNoiseModel

    stack = synthetic.calibration_stack(frames=frames, shape=(128, 128))
    s = torch.tensor([200.0, 400.0, 600.0])
    true = 2 * (s - 100) + 36  # the synthetic camera
    for model in (
        HistogramNoiseModel.from_calibration(stack, bins=256),
        GaussianMixtureNoiseModel.from_calibration(stack),
    ):
        ratio = (model.variance(s) / true).detach()
        assert ((ratio > 0.9) & (ratio < 1.12)).all(), (type(model).__name__, ratio)


def test_a_calibration_stack_is_counted_frame_by_frame():
    """Streaming the pairs gives the histogram of all pairs at once, with far less memory
    than the float32 pairs of the whole stack."""
    _, stack = drifting_stack()
    raw = np.clip(stack.round(), 0, 255).astype(np.uint8)
    raw[:, :2] = 255  # clipped pixels keep their value
    streamed = HistogramNoiseModel.from_calibration(raw, bins=64)
    whole = HistogramNoiseModel.from_pairs(*calibration_pairs(raw), bins=64)
    assert (streamed.low, streamed.high) == (whole.low, whole.high)
    np.testing.assert_array_equal(streamed.density, whole.density)
    assert streamed.fraction_outside == whole.fraction_outside
    assert streamed.n_frames == whole.n_frames == len(raw)
    big = np.repeat(raw, 4, axis=0)
    peak = numpy_peak(lambda: HistogramNoiseModel.from_calibration(big, bins=64))
    assert peak < 2 * big.nbytes, f"{peak / big.nbytes:.1f}× the stack's size"
