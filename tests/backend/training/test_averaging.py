import torch
from torch import nn

from napari_pn2v.backend.training.averaging import WeightAverage
from tests.backend.training.test_trainer import make_trainer


def test_the_average_follows_the_weights_with_a_growing_window():
    net = nn.Linear(3, 2)
    average = WeightAverage(net, window=4)
    start = net.weight.detach().clone()
    with torch.no_grad():
        net.weight.add_(1.0)
    average.update(net)  # first step: decay (1 + 1) / (10 + 1)
    torch.testing.assert_close(average.state["weight"], start + 9 / 11)
    for _ in range(200):
        average.update(net)
    torch.testing.assert_close(average.state["weight"], net.weight.detach())


def test_applied_swaps_the_average_in_and_the_own_weights_back():
    net = nn.Linear(3, 2)
    average = WeightAverage(net, window=10)
    own = net.weight.detach().clone()
    average.state["weight"] += 5.0
    with average.applied(net):
        torch.testing.assert_close(net.weight.detach(), own + 5.0)
    torch.testing.assert_close(net.weight.detach(), own)


def test_training_keeps_the_averaged_weights_and_trains_its_own(noisy, noise_model):
    trainer = make_trainer(noisy, noise_model, epochs=1, weight_average=5)
    best = trainer.run()
    kept = best.net.state_dict()
    torch.testing.assert_close(kept, trainer._average.state)
    own = trainer.model.net.state_dict()
    assert any(not torch.equal(kept[k], own[k]) for k in kept)
    plain = make_trainer(noisy, noise_model, epochs=1, weight_average=0).run().net.state_dict()
    torch.testing.assert_close(plain, own)  # averaging leaves the training itself alone
