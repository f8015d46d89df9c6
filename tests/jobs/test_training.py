"""Training through the job layer: the network a time budget gets (issue 20, goal 6)."""

import dataclasses

import numpy as np
import pytest

from napari_pn2v.backend import ModelConfig, TrainConfig, Trainer
from napari_pn2v.jobs.training import TrainingJob, start_for
from tests.conftest import TINY_TRAINING

NETWORK = ModelConfig(mode="n2v", depth=2, features=16)


def job(noisy, minutes, **overrides) -> TrainingJob:
    config = TrainConfig(**{**TINY_TRAINING, "time_budget": minutes, **overrides})
    return TrainingJob(list(noisy[:2]), config, NETWORK)


def test_a_budget_too_short_for_the_network_trains_half_the_features(noisy):
    run = job(noisy, minutes=0.001).start()  # 0.06 s: under 180 steps at any pace
    assert run.trainer.model.config.features == 8
    assert "16 features" in run.warnings[0] and "one of 8 features" in run.warnings[0]
    assert sum(1 for _ in run) >= 1  # and it trains


@pytest.mark.parametrize(
    "how",
    [
        dict(minutes=1000.0),  # a budget that gives every network its steps
        dict(minutes=0.005, fit_network_to_budget=False),
        dict(minutes=None),  # epochs, not a budget
    ],
    ids=["long budget", "turned off", "no budget"],
)
def test_otherwise_the_network_keeps_its_features(noisy, how):
    run = job(noisy, **how).start()
    assert run.trainer.model.config.features == 16
    assert not any("features" in message for message in run.warnings)


def test_a_resumed_model_keeps_its_network(noisy, n2v_model):
    resumed = dataclasses.replace(job(noisy, minutes=0.005), resume=n2v_model)
    assert resumed.start().trainer.model.config == n2v_model.config


def test_a_resumed_model_that_trains_on_with_other_masking_is_told_so(noisy, n2v_model):
    assert n2v_model.training["replacement"] == "median"
    same = dataclasses.replace(job(noisy, minutes=None), resume=n2v_model)
    assert not any("masked pixels" in m for m in same.start().warnings)
    other = dataclasses.replace(job(noisy, minutes=None, replacement="neighbour"), resume=n2v_model)
    said = [m for m in other.start().warnings if "masked pixels" in m]
    assert len(said) == 1 and "median of their neighbours" in said[0]
    assert "trains on with the value of a random neighbour" in said[0]
    older = n2v_model.copy()  # a file from before the choice: a random neighbour
    del older.training["replacement"]
    said = dataclasses.replace(job(noisy, minutes=None), resume=older).start().warnings
    assert any("random neighbour; it trains on with the median" in m for m in said)


def test_measuring_the_pace_changes_neither_the_weights_nor_the_patches(noisy):
    def trainer() -> Trainer:
        return Trainer(list(noisy[:2]), TrainConfig(**TINY_TRAINING), NETWORK)

    measured, plain = trainer(), trainer()
    assert measured.seconds_per_step() > 0
    for name, weights in measured.model.net.state_dict().items():
        assert (weights == plain.model.net.state_dict()[name]).all(), name
    losses = [[event.train_loss for event in t] for t in (measured, plain)]
    np.testing.assert_array_equal(*losses)


def _bootstrapped(images, channels: bool = False) -> TrainingJob:
    """A PN2V job whose bootstrap (N2V, then a histogram) has run."""
    network = ModelConfig(mode="pn2v", samples=8, depth=2, features=8)
    config = TrainConfig(**{**TINY_TRAINING, "epochs": 3, "steps_per_epoch": 10, "lr": 3e-3})
    training = TrainingJob(images, config, network, bootstrap="histogram", channels=channels)
    training.bootstrapped(training.noise_model_job().run())
    return training


def test_a_bootstrapped_pn2v_starts_from_the_bootstraps_n2v(noisy):
    training = _bootstrapped([noisy])
    n2v = training.start_from
    assert n2v.config.mode == "n2v" and training.noise_model is not None
    model = training.start().trainer.model
    for name, weights in n2v.net.state_dict().items():
        start = model.net.state_dict()[name]
        assert (start[:1] if name.startswith("head.") else start).equal(weights), name
    # the same seed trains the same PN2V from it
    again = [dataclasses.replace(training).run() for _ in range(2)]
    states = [m.net.state_dict() for m in again]
    assert all(states[0][name].equal(states[1][name]) for name in states[0])


def test_a_short_budget_keeps_the_n2vs_network(noisy):
    training = _bootstrapped([noisy])
    training.config = dataclasses.replace(training.config, time_budget=0.001)
    assert training.start().trainer.model.config.features == 8  # not halved: N2V's


def test_each_channel_starts_from_its_own_n2v(noisy):
    two = np.stack([noisy, noisy[:, ::-1].copy()])  # channels first
    training = _bootstrapped([two], channels=True)
    assert len(training.start_from) == 2
    runs = training.start().runs
    for run, n2v in zip(runs, training.start_from.models, strict=True):
        head = run.trainer.model.net.state_dict()["head.bias"]
        assert head[:1].equal(n2v.net.state_dict()["head.bias"])


def test_a_start_is_used_only_where_it_fits(n2v_model):
    pn2v = ModelConfig(mode="pn2v", samples=8, depth=2, features=8)
    assert start_for(n2v_model, pn2v, channels=1) is n2v_model
    assert start_for(None, pn2v, channels=1) is None
    assert start_for(n2v_model, pn2v, channels=2) is None  # one channel's N2V
    assert start_for(n2v_model, dataclasses.replace(pn2v, features=16), channels=1) is None
    assert start_for(n2v_model, dataclasses.replace(pn2v, mode="n2v"), channels=1) is None
