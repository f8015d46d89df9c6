"""PN2V started from an N2V model keeps that start unless an epoch's prior mean comes as close
to the validation data (issue 36): PN2V's prior never ends further from the data than the N2V
it started from."""

import numpy as np
import pytest

from napari_pn2v.backend import ModelConfig, PN2VError, TrainConfig, Trainer
from napari_pn2v.backend.training import trainer as module
from napari_pn2v.jobs.training import TrainingRun
from tests.conftest import TINY_NET, TINY_TRAINING

PN2V = ModelConfig(mode="pn2v", samples=16, **TINY_NET)


def started(noisy, n2v_model, noise_model) -> Trainer:
    config = TrainConfig(**{**TINY_TRAINING, "epochs": 4, "steps_per_epoch": 4})
    return Trainer(noisy, config, PN2V, noise_model=noise_model, start_from=n2v_model)


def validated(trainer: Trainer) -> list[tuple[int, float, float]]:
    """(epoch, validation loss, the prior mean's error) of every epoch trained."""
    return [
        (event.epoch, event.val_loss, trainer.location_error)
        for event in trainer
        if event.val_loss is not None
    ]


def test_the_bound_is_the_n2vs_own_validation_loss(noisy, n2v_model, noise_model):
    trainer = started(noisy, n2v_model, noise_model)
    # the same validation patches, the same normalisation: N2V's loss is its masked error
    n2v = Trainer(noisy, trainer.config, model=n2v_model.copy())
    np.testing.assert_allclose(trainer.location_error, n2v.validate(), rtol=1e-3)
    kept = trainer.best_model()  # before any PN2V step: the start
    assert kept.epochs_trained == 0 and kept.training["start_from"] == "n2v"
    assert "came as close" in TrainingRun.messages(kept)[0]


def test_an_epoch_is_kept_only_with_a_prior_mean_as_close(noisy, n2v_model, noise_model):
    trainer = started(noisy, n2v_model, noise_model)
    bound, start_loss = trainer.location_error, trainer.best_val_loss
    epochs = validated(trainer)
    allowed = [(loss, epoch) for epoch, loss, error in epochs if error <= bound]
    best = min(allowed, default=(start_loss, 0))
    expected = best[1] if best[0] < start_loss else 0
    kept = trainer.best_model()
    assert kept.epochs_trained == expected
    assert any(loss < start_loss for _, loss, _ in epochs)  # the likelihood did improve


def test_the_start_stays_when_every_epoch_moves_the_mean_away(
    noisy, n2v_model, noise_model, monkeypatch
):
    trainer = started(noisy, n2v_model, noise_model)
    start = {k: v.clone() for k, v in trainer.model.net.state_dict().items()}
    original = module.location_error
    monkeypatch.setattr(module, "location_error", lambda *args: original(*args) + 1.0)
    epochs = validated(trainer)
    assert min(loss for _, loss, _ in epochs) < trainer.best_val_loss  # better likelihoods
    kept = trainer.best_model()
    assert kept.epochs_trained == 0
    assert all(start[name].equal(w) for name, w in kept.net.state_dict().items())
    assert "came as close" in TrainingRun.messages(kept)[0]


def test_a_fresh_pn2v_is_not_bounded(noisy, noise_model):
    config = TrainConfig(**TINY_TRAINING)
    trainer = Trainer(noisy, config, PN2V, noise_model=noise_model)
    validated(trainer)
    assert trainer.location_error is None and trainer.best_model().epochs_trained > 0
    assert "start_from" not in trainer.best_model().training


def weight_change_after_one_step(trainer: Trainer) -> float:
    before = {k: v.clone() for k, v in trainer.model.net.state_dict().items()}
    next(iter(trainer))
    after = trainer.model.net.state_dict()
    return max(float((after[k] - w).abs().max()) for k, w in before.items())


def test_a_start_from_n2v_trains_on_at_a_fraction_of_the_rate(noisy, n2v_model, noise_model):
    config = TrainConfig(**{**TINY_TRAINING, "start_lr_factor": 0.25})
    trainer = Trainer(noisy, config, PN2V, noise_model=noise_model, start_from=n2v_model)
    # Adam's first step moves every weight with a gradient by the rate itself
    np.testing.assert_allclose(weight_change_after_one_step(trainer), 0.25 * config.lr, rtol=0.01)
    fresh = Trainer(noisy, config, PN2V, noise_model=noise_model)
    np.testing.assert_allclose(weight_change_after_one_step(fresh), config.lr, rtol=0.01)
    trainer.use_network(PN2V)  # a fresh network instead (the short-budget rule): full rate
    np.testing.assert_allclose(weight_change_after_one_step(trainer), config.lr, rtol=0.01)


def test_a_time_budget_scales_the_start_s_schedule_too(noisy, n2v_model, noise_model):
    config = TrainConfig(**{**TINY_TRAINING, "time_budget": 10.0, "start_lr_factor": 0.25})
    trainer = Trainer(noisy, config, PN2V, noise_model=noise_model, start_from=n2v_model)
    next(iter(trainer))
    rate = trainer.optimizer.param_groups[0]["lr"]
    assert 0.24 * config.lr < rate <= 0.25 * config.lr  # early in a cosine from 0.25 × lr


def test_the_start_lr_factor_is_checked():
    for factor in (0.0, 1.5):
        with pytest.raises(PN2VError, match="start lr factor"):
            TrainConfig(start_lr_factor=factor)
