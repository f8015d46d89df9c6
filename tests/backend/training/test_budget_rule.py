"""The short-budget rule lives in the training configuration: a budget that gives the network
too few steps at the measured pace trains one of half the features."""

from napari_pn2v.backend import ModelConfig, TrainConfig
from napari_pn2v.backend.training.config import MIN_FEATURES, SHORT_BUDGET_STEPS


class Pace:
    """Seconds a step, and how often it was measured (each measurement costs steps)."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.calls = seconds, 0

    def __call__(self) -> float:
        self.calls += 1
        return self.seconds


def test_a_short_budget_halves_the_features_and_says_why():
    pace = Pace(1.0)  # 2 minutes: 120 steps, fewer than the rule's
    chosen = TrainConfig(time_budget=2.0).network_for_budget(ModelConfig(features=64), pace)
    assert chosen is not None and chosen[0].features == 32 and pace.calls == 1
    assert "about 120 steps" in chosen[1] and "32 features instead" in chosen[1]


def test_the_rule_keeps_the_network_where_it_does_not_apply_without_measuring_needlessly():
    network = ModelConfig(features=64)
    enough = Pace(60 * 2.0 / (SHORT_BUDGET_STEPS + 1))
    assert TrainConfig(time_budget=2.0).network_for_budget(network, enough) is None
    for config, net in (
        (TrainConfig(), network),  # epochs, no budget
        (TrainConfig(time_budget=2.0, fit_network_to_budget=False), network),
        (TrainConfig(time_budget=2.0), ModelConfig(features=2 * MIN_FEATURES - 1)),
    ):
        pace = Pace(1.0)
        assert config.network_for_budget(net, pace) is None and pace.calls == 0
