"""The 3-D network end to end: Z stacks train with 3-D blind spots and predict in 3-D tiles."""

import numpy as np
import pytest

from napari_pn2v.backend import (
    ModelConfig,
    PN2VError,
    PN2VModel,
    PredictionConfig,
    TiledPrediction,
    TrainConfig,
    Trainer,
    predict,
    synthetic,
)
from napari_pn2v.backend.metrics import psnr

TINY_3D = dict(depth=2, features=8, dims=3)
TRAINING_3D = dict(patch_size=32, patch_depth=16, lr=2e-3, seed=0, val_patches=8)


@pytest.fixture(scope="module")
def stack():
    """(clean, noisy) Z stack of 3-D structures."""
    clean = synthetic.cell_volume((32, 64, 64), seed=3)
    return clean, synthetic.PoissonGaussian()(clean, np.random.default_rng(0))


@pytest.fixture(scope="module")
def n2v_3d(stack):
    config = TrainConfig(epochs=6, steps_per_epoch=10, batch_size=4, **TRAINING_3D)
    return Trainer(stack[1], config, ModelConfig(mode="n2v", **TINY_3D)).run()


def test_a_3d_network_uses_the_neighbouring_planes(stack, n2v_3d):
    """On a Z stack, the 3-D N2V beats a 2-D N2V that sees as many pixels per step."""
    clean, noisy = stack
    flat = Trainer(
        noisy,
        TrainConfig(epochs=6, steps_per_epoch=10, batch_size=64, **TRAINING_3D),
        ModelConfig(mode="n2v", depth=2, features=8),
    ).run()
    value_range = float(np.ptp(clean))
    noisy_psnr = psnr(clean, noisy, value_range)
    psnr_2d = psnr(clean, predict(flat, noisy)["denoised"], value_range)
    psnr_3d = psnr(clean, predict(n2v_3d, noisy)["denoised"], value_range)
    assert psnr_3d > noisy_psnr + 2.0, (noisy_psnr, psnr_3d)
    assert psnr_3d > psnr_2d + 0.5, (psnr_2d, psnr_3d)


def test_3d_tiles_equal_one_tile(stack, n2v_3d):
    noisy = stack[1][:20, :40, :48]
    whole = predict(n2v_3d, noisy, tile=96, overlap=32)["denoised"]
    tiled = TiledPrediction(n2v_3d, noisy, PredictionConfig(tile=48, overlap=32))
    assert tiled.n_tiles == 2 * 3 * 3  # 16-voxel cores along Z, Y and X
    for _ in tiled:
        pass
    np.testing.assert_allclose(tiled.outputs["denoised"], whole, rtol=1e-4, atol=1e-2)


def test_stacks_of_z_stacks_are_predicted_stack_by_stack(stack, n2v_3d):
    noisy = stack[1][:, :32, :32]
    both = predict(n2v_3d, np.stack([noisy, noisy[::-1]]))["denoised"]  # (T, Z, Y, X)
    assert both.shape == (2, *noisy.shape) and both.dtype == np.float32
    np.testing.assert_allclose(both[0], predict(n2v_3d, noisy)["denoised"], atol=1e-3)
    assert not np.allclose(both[1], both[0][::-1], atol=1e-3)  # Z order matters in 3-D


def test_3d_pn2v_trains_predicts_and_round_trips(stack, noise_model, tmp_path):
    noisy = stack[1]
    config = TrainConfig(epochs=1, steps_per_epoch=3, batch_size=2, **TRAINING_3D)
    model = Trainer(
        noisy[:, :48, :48],
        config,
        ModelConfig(mode="pn2v", samples=16, **TINY_3D),
        noise_model=noise_model,
    ).run()
    out = predict(model, noisy[:16, :32, :32])
    assert set(out) == {"denoised", "prior_mean", "std"}
    assert all(v.shape == (16, 32, 32) and np.isfinite(v).all() for v in out.values())
    model.save(tmp_path / "m3d.pt")
    loaded = PN2VModel.load(tmp_path / "m3d.pt")
    assert loaded.config.dims == 3 and loaded.net.dims == 3
    np.testing.assert_array_equal(
        predict(loaded, noisy[:16, :32, :32])["denoised"], out["denoised"]
    )


def test_what_a_3d_network_cannot_take_is_refused(stack, n2v_3d):
    noisy = stack[1]
    with pytest.raises(PN2VError, match="Z stacks"):
        predict(n2v_3d, noisy[0])
    with pytest.raises(PN2VError, match="thinner than the patch depth"):
        Trainer(
            noisy[:8],
            TrainConfig(epochs=1, steps_per_epoch=1, **TRAINING_3D),
            ModelConfig(mode="n2v", **TINY_3D),
        )
    with pytest.raises(PN2VError, match="patch depth 10 must be a multiple of 4"):
        Trainer(
            noisy,
            TrainConfig(epochs=1, steps_per_epoch=1, **{**TRAINING_3D, "patch_depth": 10}),
            ModelConfig(mode="n2v", depth=3, features=8, dims=3),
        )
    with pytest.raises(PN2VError, match="dims must be one of"):
        ModelConfig(dims=4)


def test_a_lazy_z_stack_trains_exactly_like_the_same_stack_in_memory(stack):
    import dask.array as da

    from napari_pn2v.backend.data.lazy import LazyFrames

    noisy = np.stack([stack[1][:, :48, :48], stack[1][:, 16:, 16:]])  # 2 Z stacks
    config = TrainConfig(epochs=2, steps_per_epoch=2, batch_size=2, holdout="region", **TRAINING_3D)
    # one starting model: a lazy stack's mean and std come from a sample of 8 of its planes
    start = PN2VModel(ModelConfig(mode="n2v", **TINY_3D), float(noisy.mean()), float(noisy.std()))
    eager = Trainer(noisy, config, model=start.copy())
    lazy = Trainer(da.from_array(noisy, chunks=(1, 1, 48, 48)), config, model=start.copy())
    assert isinstance(lazy._train[0], LazyFrames) and lazy.n_planes == 2
    assert lazy._train[0].shape == (2, 32, 48 - 16, 48)  # a 16-row strip held out
    np.testing.assert_allclose(
        [e.train_loss for e in lazy], [e.train_loss for e in eager], rtol=1e-5
    )
    assert lazy.best_val_loss == pytest.approx(eager.best_val_loss, rel=1e-5)
