"""Pixel shuffle for noise correlated between neighbouring pixels (backend/training/stride.py):
automatic trains on the sub-images of every s-th pixel, the smallest s whose noise no longer
correlates, and the model keeps that stride."""

import dask.array as da
import numpy as np
import pytest

from napari_pn2v.backend import ModelConfig, PN2VError, TrainConfig, Trainer, predict
from napari_pn2v.backend.metrics import psnr
from napari_pn2v.backend.noise.poisson_gaussian import PoissonGaussianNoiseModel
from napari_pn2v.backend.training.data import holdout_spans
from napari_pn2v.backend.training.stride import choose_stride
from tests.backend.training.test_blind_radius import TINY, TRAINING, scene  # noqa: F401

N2V = ModelConfig(mode="n2v", **TINY)


def stride(images, warnings=None, network=N2V, trained=None, **config) -> int:
    said = [] if warnings is None else warnings
    # 32² patches: the 96² test images' sub-images at stride 2 hold one and a strip
    config = TrainConfig(**{"patch_size": 32, **config})
    return choose_stride(images, [], config, network, trained, said)


def test_auto_shuffles_where_the_noise_correlates_and_says_so(scene, noisy):  # noqa: F811
    said: list[str] = []
    assert stride([scene[1]], said) == 2
    assert "every 2nd pixel" in said[0]
    assert stride([noisy]) == 1  # independent noise: the images as they are


def test_the_stride_set_or_trained_with_wins_and_some_data_is_never_shuffled(
    scene,  # noqa: F811
    n2v_model,
):
    correlated = scene[1]
    assert stride([correlated], shuffle=1) == 1 and stride([correlated], shuffle=3) == 3
    assert stride([correlated], trained=n2v_model) == n2v_model.shuffle == 1
    assert stride([correlated], blind_radius=2) == 1  # a radius chosen by hand: its own remedy
    assert stride([correlated], network=ModelConfig(mode="n2v", dims=3, **TINY)) == 1
    assert stride([correlated], network=ModelConfig(mode="supervised", **TINY)) == 1
    assert stride([da.from_array(correlated)]) == 1  # a lazy image is read patch by patch
    with pytest.raises(PN2VError, match="stride"):
        TrainConfig(shuffle=5)


def test_a_shuffled_training_denoises_correlated_noise_better(scene):  # noqa: F811
    clean, noisy = scene
    scores = {}
    for shuffle in (1, None):
        config = TrainConfig(**TRAINING, shuffle=shuffle)
        trainer = Trainer(noisy, config, N2V)
        assert trainer.n_planes == len(noisy) * (1 if shuffle else 4)
        model = trainer.run()
        assert model.shuffle == (1 if shuffle else 2)
        denoised = [predict(model, n)["denoised"] for n in noisy]
        scores[shuffle] = np.mean([psnr(c, d, 100.0) for c, d in zip(clean, denoised, strict=True)])
    assert scores[None] > scores[1] + 0.5, scores


def test_pn2v_from_a_shuffled_n2v_keeps_its_stride(scene):  # noqa: F811
    noisy = scene[1]
    noise_model = PoissonGaussianNoiseModel(gain=0.0, variance_offset=225.0)
    n2v = Trainer(noisy, TrainConfig(**{**TRAINING, "epochs": 1}), N2V).run()
    assert n2v.shuffle == 2
    config = TrainConfig(**{**TRAINING, "epochs": 1}, shuffle=1)  # the start's stride wins
    pn2v = ModelConfig(mode="pn2v", samples=8, **TINY)
    trainer = Trainer(noisy, config, pn2v, noise_model=noise_model, start_from=n2v)
    assert trainer.model.shuffle == 2 and trainer.n_planes == 4 * len(noisy)


def test_an_images_sub_images_are_held_out_together():
    # 4 images of 9 sub-images: a tenth of 36 planes would split one image's sub-images
    strip = holdout_spans(36, 170, 0.1, 64, group=9)[1]  # a strip of rows of every one
    assert strip == (range(36), range(153, 170))
    (train, _), (held_out, _) = holdout_spans(36, 170, 0.3, 64, group=9)
    assert train == range(27) and held_out == range(27, 36)  # the last image, whole


def test_images_too_small_for_sub_images_with_a_patch_keep_the_wider_blind_spot(scene):  # noqa: F811
    correlated = scene[1]  # 96², noise correlated: sub-images of 48² at stride 2
    assert stride([correlated]) == 2
    assert stride([correlated], patch_size=48) == 1  # no room for a validation strip


def test_lazy_validation_images_are_not_shuffled_into_memory(scene):  # noqa: F811
    correlated = scene[1]
    config = TrainConfig(**{**TRAINING, "epochs": 1})
    trainer = Trainer(correlated, config, N2V, validation=da.from_array(correlated[:1]))
    assert trainer.model.shuffle == 1 and trainer.config.blind_radius >= 1
