import itertools

import numpy as np
import pytest
import torch

from napari_pn2v.backend import ModelConfig, PN2VError, TrainConfig, Trainer
from napari_pn2v.backend.training.data import split_validation
from tests.conftest import TINY_NET, TINY_TRAINING


def make_trainer(noisy, noise_model, mode="pn2v", **overrides):
    training = TrainConfig(**{**TINY_TRAINING, **overrides})
    config = ModelConfig(mode=mode, samples=16, **TINY_NET)
    return Trainer(noisy, training, config, noise_model=noise_model if mode == "pn2v" else None)


def test_progress_events_cover_every_step(noisy, noise_model):
    trainer = make_trainer(noisy, noise_model)
    events = list(trainer)
    assert len(events) == 2 * 3
    assert [e.step for e in events] == [1, 2, 3, 1, 2, 3]
    with_val = [e for e in events if e.val_loss is not None]
    assert [e.epoch for e in with_val] == [1, 2]
    assert all(np.isfinite(e.train_loss) and e.lr > 0 for e in events)
    assert events[-1].fraction == 1.0 and events[-1].remaining == 0.0
    assert events[-1].best_val_loss == min(e.val_loss for e in with_val)
    assert trainer.best_model().epochs_trained in (1, 2)


def test_stopping_between_steps_keeps_a_usable_model(noisy, noise_model):
    trainer = make_trainer(noisy, noise_model, epochs=5)
    for _ in itertools.islice(trainer, 2):  # stop before any validation
        pass
    early = trainer.best_model()
    torch.testing.assert_close(early.net.state_dict(), trainer.last_model().net.state_dict())
    for _ in itertools.islice(trainer, 0, 3):  # …and after one epoch
        pass
    assert trainer.best_val_loss is not None
    assert trainer.best_model().epochs_trained == 1


def test_seed_makes_cpu_training_reproducible(noisy, noise_model):
    first = [e.train_loss for e in make_trainer(noisy, noise_model)]
    second = [e.train_loss for e in make_trainer(noisy, noise_model)]
    assert first == second


def test_training_resumes_from_a_model(noisy, pn2v_model):
    before = pn2v_model.copy()
    trainer = Trainer(noisy, TrainConfig(**TINY_TRAINING), model=before)
    model = trainer.run()
    assert model.epochs_trained > pn2v_model.epochs_trained
    assert model.mean == pn2v_model.mean and model.config == pn2v_model.config


def test_training_lowers_the_loss(noisy, noise_model):
    trainer = make_trainer(noisy, noise_model, epochs=6, steps_per_epoch=10)
    first = trainer.validate()
    trainer.run()
    assert trainer.best_val_loss < first


@pytest.mark.parametrize("mode", ["pn2v", "n2v"])
def test_sparse_and_dense_heads_give_the_same_loss(noisy, noise_model, mode):
    trainer = make_trainer(noisy, noise_model, mode=mode)
    batch = trainer.data.batch(trainer._train[0], 4, torch.Generator().manual_seed(0), (32, 32))
    sparse = trainer.loss(batch)
    trainer.config.sparse_head = False
    torch.testing.assert_close(trainer.loss(batch), sparse)


def test_validation_split():
    stack = np.zeros((10, 64, 64), np.float32)
    train, val = split_validation(stack, 0.2, 32)
    assert train.shape[0] == 8 and val.shape[0] == 2
    train, val = split_validation(stack[:1], 0.2, 16)  # one frame: a strip of rows
    assert train.shape == (1, 48, 64) and val.shape == (1, 16, 64)
    train, val = split_validation(stack, 0.3, 32, holdout="region")  # every frame's bottom
    assert train.shape == (10, 45, 64) and val.shape == (10, 19, 64)
    train, val = split_validation(stack[:1], 0.0, 16)
    assert val.shape[0] == 0
    with pytest.raises(PN2VError, match="too small"):
        split_validation(stack[:1], 0.2, 56)
    with pytest.raises(PN2VError, match="holdout"):
        TrainConfig(holdout="random")


def test_a_strip_too_low_for_a_deep_network_is_refused(noisy):
    with pytest.raises(PN2VError, match="too small for a depth-6 network"):
        Trainer(
            noisy,
            TrainConfig(**{**TINY_TRAINING, "holdout": "region", "patch_size": 32}),
            ModelConfig(mode="n2v", depth=6, features=4),
        )


def test_region_holdout_validates_on_unseen_rows_with_smaller_patches(noisy, noise_model):
    trainer = make_trainer(noisy, noise_model, holdout="region", val_fraction=0.3)
    assert [tuple(t.shape) for t in trainer._train] == [(2, 1, 45, 64)]  # 19 of 64 rows held out
    assert {b.inputs.shape[-1] for b in trainer._val} == {18}  # 19 rows: the largest even patch
    assert np.isfinite(trainer.validate())


def test_separate_validation_images_keep_all_training_frames(noisy, noise_model):
    held_out = noisy[:1, :20, :24]  # smaller than a patch: validation patches shrink to 20
    trainer = Trainer(
        noisy,
        TrainConfig(**TINY_TRAINING),
        ModelConfig(mode="pn2v", samples=16, **TINY_NET),
        noise_model=noise_model,
        validation=held_out,
    )
    assert sum(t.shape[0] for t in trainer._train) == noisy.shape[0]
    assert {b.inputs.shape[-1] for b in trainer._val} == {20}
    default = make_trainer(noisy, noise_model)
    default.model.net.load_state_dict(trainer.model.net.state_dict())
    assert trainer.validate() != pytest.approx(default.validate())  # other pixels
    with pytest.raises(PN2VError, match="smaller than"):
        Trainer(
            noisy,
            TrainConfig(**TINY_TRAINING),
            ModelConfig(mode="n2v", **TINY_NET),
            validation=noisy[:1, :3, :3],
        )
    with pytest.raises(PN2VError, match="supervised"):
        Trainer(
            noisy,
            TrainConfig(**TINY_TRAINING),
            ModelConfig(mode="supervised", **TINY_NET),
            targets=noisy,
            validation=noisy,
        )


def test_bad_training_input_is_refused(noisy, noise_model):
    with pytest.raises(PN2VError, match="smaller than"):
        make_trainer(noisy[:, :20, :20], noise_model)
    with pytest.raises(PN2VError, match="multiple of 2"):
        make_trainer(noisy, noise_model, patch_size=33)
    with pytest.raises(PN2VError, match="needs a noise model"):
        Trainer(noisy, TrainConfig(**TINY_TRAINING), ModelConfig(mode="pn2v", **TINY_NET))
    with pytest.raises(PN2VError, match="outside the noise model"):
        make_trainer(noisy * 10, noise_model)
    rgb = np.zeros((64, 64, 3), np.float32)
    with pytest.raises(PN2VError, match="RGB"):
        make_trainer(rgb, noise_model)
    with pytest.raises(PN2VError, match="epochs"):
        TrainConfig(epochs=0)
    with pytest.raises(PN2VError, match="replacement must be one of neighbour, median"):
        TrainConfig(replacement="mean")


def test_partly_out_of_range_data_gives_a_warning(noisy, noise_model):
    shifted = noisy.copy()
    shifted[0, :4] = noise_model.high + 100  # ~3 % of one frame
    trainer = make_trainer(shifted, noise_model)
    assert len(trainer.warnings) == 1 and "outside the noise model" in trainer.warnings[0]


def test_images_of_different_sizes_train_together(noisy, noise_model):
    trainer = make_trainer([noisy[0], noisy[1, :, :48], noisy[1, :, 8:56]], noise_model)
    assert trainer.n_planes == 3 and len(trainer._train) == 2
    assert all(np.isfinite(e.train_loss) for e in trainer)


def test_supervised_trains_on_whole_clean_patches(noisy):
    trainer = Trainer(
        [noisy],
        TrainConfig(**TINY_TRAINING),
        ModelConfig(mode="supervised", **TINY_NET),
        targets=[noisy * 0.5],
    )
    batch = trainer._val[0]  # from a 16-row strip: 16-pixel patches
    assert batch.inputs.shape[1:] == (1, 16, 16) and batch.targets.shape[1:] == (16, 16)
    assert trainer._train[0].shape[1:] == (2, 48, 64)  # (input, target) of the other rows
    model = trainer.run()
    assert model.config.out_channels == 1 and not model.is_probabilistic
    assert trainer.best_val_loss < float("inf")


def test_paired_crops_stay_aligned_under_augmentation():
    from napari_pn2v.backend.training.masking import paired_batch

    frames = torch.randn(3, 1, 40, 40).repeat(1, 2, 1, 1)  # target == input
    frames[:, 1] *= 2
    batch = paired_batch(frames, 16, 16, torch.Generator().manual_seed(0))
    torch.testing.assert_close(batch.targets, 2 * batch.inputs[:, 0])


def test_supervised_targets_are_checked(noisy):
    config = ModelConfig(mode="supervised", **TINY_NET)
    with pytest.raises(PN2VError, match="needed by, and only by"):
        Trainer(noisy, TrainConfig(**TINY_TRAINING), config)
    with pytest.raises(PN2VError, match="does not match"):
        Trainer(noisy, TrainConfig(**TINY_TRAINING), config, targets=noisy[:, :40])
    with pytest.raises(PN2VError, match="2 training image"):
        Trainer([noisy, noisy], TrainConfig(**TINY_TRAINING), config, targets=[noisy])
    # one clean plane serves every noisy frame
    assert Trainer(noisy, TrainConfig(**TINY_TRAINING), config, targets=noisy[:1]).n_planes == 2


def _head_outputs(trainer, batch):
    dense = trainer.model.net(batch.inputs)
    b, k = dense.shape[:2]
    raw = dense.flatten(2).gather(2, batch.index[:, None, :].expand(b, k, -1))
    return raw.permute(0, 2, 1).reshape(-1, k)


@pytest.mark.parametrize("prior_mean_loss", ["squared-error", "joint"])
def test_location_loss_is_added_while_training_and_left_out_of_validation(
    noisy, noise_model, prior_mean_loss
):
    from napari_pn2v.backend.training.losses import mse_loss, pn2v_loss

    trainer = make_trainer(  # float32: compared with the sums below, which are float32
        noisy,
        noise_model,
        location_weight=2.5,
        prior_mean_loss=prior_mean_loss,
        precision="float32",
    )
    batch = trainer._val[0]
    model = trainer.model
    raw = _head_outputs(trainer, batch)
    target = batch.targets.reshape(-1)
    samples = model.prior(raw, calibrated=False).samples()
    pure = pn2v_loss(samples, model.denormalise(target), model.noise_model)
    on = raw[:, 0] if prior_mean_loss == "joint" else model.normalise(samples.mean(1))
    location = mse_loss(on, target)
    torch.testing.assert_close(trainer.loss(batch, training=False), pure)
    torch.testing.assert_close(trainer.loss(batch), pure + 2.5 * location)
    assert location > 0


def _location_gradient(trainer, batch) -> float:
    trainer.model.net.zero_grad()
    trainer.loss(batch).backward()
    return float(trainer.model.net.head.bias.grad[0])


def test_by_default_only_the_squared_error_moves_the_prior_mean(noisy, noise_model):
    """The likelihood's gradient leaves the samples' mean alone, so the location's gradient
    is the squared error's and grows with its weight exactly; jointly it does not."""
    for loss, proportional in (("squared-error", True), ("joint", False)):
        gradients = []
        for weight in (1.0, 2.5):
            trainer = make_trainer(
                noisy, noise_model, location_weight=weight, prior_mean_loss=loss, seed=0
            )
            gradients.append(_location_gradient(trainer, trainer._val[0]))
        ratio = gradients[1] / gradients[0]
        assert (abs(ratio - 2.5) < 1e-3) == proportional, (loss, ratio)
    with pytest.raises(PN2VError, match="nothing trains the prior's mean"):
        TrainConfig(location_weight=0)
    TrainConfig(location_weight=0, prior_mean_loss="joint")  # the PN2V loss alone
    with pytest.raises(PN2VError, match="prior mean loss"):
        TrainConfig(prior_mean_loss="likelihood")


def _body_gradients(trainer, batch) -> list[torch.Tensor]:
    trainer.model.net.zero_grad()
    trainer.loss(batch).backward()
    return [p.grad.clone() for n, p in trainer.model.net.named_parameters() if "head" not in n]


def test_the_likelihoods_weight_on_the_body_scales_its_gradient_there(noisy, noise_model):
    """The body's gradient is the squared error's plus the likelihood's times the weight: 0
    leaves the squared error's alone (the prior mean learned as N2V's), ½ halfway; the loss
    is the same, and the head still gets the likelihood's gradient."""
    gradients, losses = {}, {}
    exact = {"seed": 0, "precision": "float32"}  # the sums below hold to float32's rounding
    for body in (0.0, 0.5, 1.0):
        trainer = make_trainer(noisy, noise_model, likelihood_body_weight=body, **exact)
        batch = trainer._val[0]
        gradients[body] = _body_gradients(trainer, batch)
        losses[body] = trainer.loss(batch)
        spread_rows = trainer.model.net.head.weight.grad[1:]
        assert spread_rows.abs().sum() > 0
    torch.testing.assert_close(losses[0.0], losses[1.0])
    for none, half, full in zip(gradients[0.0], gradients[0.5], gradients[1.0], strict=True):
        torch.testing.assert_close(half, (none + full) / 2, rtol=1e-4, atol=1e-8)
    pairs = zip(gradients[0.0], gradients[1.0], strict=True)
    assert any(not torch.allclose(a, b) for a, b in pairs)
    squared_error = make_trainer(
        noisy, noise_model, location_weight=2.5, likelihood_body_weight=0, **exact
    )
    scaled = _body_gradients(squared_error, batch)
    for low, high in zip(gradients[0.0], scaled, strict=True):  # the squared error's alone
        torch.testing.assert_close(high, 2.5 * low, rtol=1e-4, atol=1e-8)
    with pytest.raises(PN2VError, match="weight on the body"):
        TrainConfig(likelihood_body_weight=1.5)


def test_location_loss_only_touches_the_location_scale_prior(noisy, noise_model):
    config = ModelConfig(mode="pn2v", samples=16, prior="published", **TINY_NET)
    training = TrainConfig(**TINY_TRAINING, location_weight=2.5)
    trainer = Trainer(noisy, training, config, noise_model=noise_model)
    batch = trainer._val[0]
    torch.testing.assert_close(trainer.loss(batch), trainer.loss(batch, training=False))
    with pytest.raises(PN2VError, match="location weight"):
        TrainConfig(location_weight=-1)


def test_initial_spread_scales_a_new_priors_spread_only(noisy, noise_model):
    """The same seed with a tenth of the initial spread: same locations, spreads ÷ 10."""
    wide = make_trainer(noisy, noise_model, initial_spread=0.5)
    narrow = make_trainer(noisy, noise_model, initial_spread=0.05)
    batch = wide._val[0]
    with torch.no_grad():
        raw = [t.model.net(batch.inputs).movedim(1, -1).reshape(-1, 18) for t in (wide, narrow)]
        priors = [t.model.prior(r) for t, r in zip((wide, narrow), raw, strict=True)]
    torch.testing.assert_close(priors[1].loc, priors[0].loc)
    torch.testing.assert_close(priors[1].scale * 10, priors[0].scale)
    median = float((priors[0].scale / wide.model.std).median())
    assert 0.5 / 3 < median < 0.5 * 3  # around the fraction of the data's std asked for
    with pytest.raises(PN2VError, match="initial spread"):
        TrainConfig(initial_spread=0)


def test_residual_delay_holds_the_prior_residuals_then_lets_them_learn(noisy, noise_model):
    trainer = make_trainer(noisy, noise_model, residual_delay=2)
    head = trainer.model.net.head
    start = head.weight.detach().clone()
    steps = iter(trainer)
    next(steps), next(steps)
    held = head.weight.detach().clone()
    assert torch.equal(held[2:], start[2:])  # residuals untouched…
    assert not torch.equal(held[:2], start[:2])  # …while location and spread learn
    next(steps)
    assert not torch.equal(head.weight[2:], held[2:])
    with pytest.raises(PN2VError, match="residual delay"):
        TrainConfig(residual_delay=-1)


@pytest.mark.parametrize("holdout", ["frames", "region"])
def test_lazy_data_trains_exactly_like_the_same_data_in_memory(noisy, noise_model, holdout):
    import dask.array as da

    from napari_pn2v.backend.data.lazy import LazyFrames

    stack = np.concatenate([noisy, noisy[::-1]])  # 4 frames: "frames" holds out one
    eager = make_trainer(stack, noise_model, holdout=holdout)
    lazy = make_trainer(da.from_array(stack, chunks=(1, 32, 32)), noise_model, holdout=holdout)
    assert all(isinstance(t, LazyFrames) for t in lazy._train) and lazy.n_planes == 4
    assert [t.shape[-3:] if isinstance(t, LazyFrames) else None for t in lazy._train] == [
        (eager._train[0].shape[0], *eager._train[0].shape[-2:])
    ]
    np.testing.assert_allclose(
        [e.train_loss for e in lazy], [e.train_loss for e in eager], rtol=1e-5
    )
    assert lazy.best_val_loss == pytest.approx(eager.best_val_loss, rel=1e-5)


def test_lazy_validation_images_and_bad_lazy_pixels(noisy, noise_model):
    import dask.array as da

    trainer = Trainer(
        noisy,
        TrainConfig(**TINY_TRAINING),
        ModelConfig(mode="pn2v", samples=16, **TINY_NET),
        noise_model=noise_model,
        validation=da.from_array(noisy[:1]),
    )
    assert np.isfinite(trainer.validate())
    broken = noisy.copy()
    broken[1] = np.nan
    with pytest.raises(PN2VError, match="NaN"):  # found in the range-check sample
        make_trainer(da.from_array(broken), noise_model)


def test_a_stop_request_ends_training_before_the_next_step(noisy, noise_model):
    trainer = make_trainer(noisy, noise_model, epochs=5)
    events = iter(trainer)
    next(events)
    trainer.request_stop()  # as a GUI thread would, between two steps
    assert list(events) == []
    assert trainer.best_val_loss is None  # no epoch ended: the current weights are the best


def test_a_stop_during_validation_keeps_the_previous_best(noisy, noise_model, monkeypatch):
    """Validation takes seconds: a stop there drops that epoch's work at once, and the best
    model so far stays as it was."""
    trainer = make_trainer(noisy, noise_model, epochs=5)
    events = iter(trainer)
    first = list(itertools.islice(events, 3))  # the first epoch
    assert first[-1].val_loss is not None and trainer.best_val_loss is not None
    original = trainer._head_outputs

    def stopped_midway(batch, training):
        if not training:
            trainer.request_stop()
        return original(batch, training)

    monkeypatch.setattr(trainer, "_head_outputs", stopped_midway)
    trainer.kept.val_loss = float("inf")  # the next epoch's validation loss would be the best
    rest = list(events)  # its first two steps; its last ends at the stop, without an event
    assert [e.step for e in rest] == [1, 2]
    assert trainer.best_val_loss == float("inf") and trainer.best_model().epochs_trained == 1


def test_the_spread_is_chosen_once_for_the_best_model_when_asked(noisy, noise_model, monkeypatch):
    """SURE over every spread takes seconds: training never pays for it, the best model does
    once, and it is the choice its weights give."""
    from napari_pn2v.backend.training import trainer as module

    calls = []
    original = module.guarded_spread
    monkeypatch.setattr(module, "guarded_spread", lambda *args: calls.append(1) or original(*args))
    trainer = make_trainer(noisy, noise_model, epochs=3)
    for _ in trainer:
        pass
    assert calls == []
    best = trainer.best_model()
    assert trainer.best_model().spread_scale == best.spread_scale and len(calls) == 1
    direct = original(
        best, trainer._spread_patches, torch.Generator().manual_seed(0), trainer.image_noise
    )
    assert direct == trainer.spread and best.trusted == direct.trusted


def test_a_time_budget_plans_the_learning_rate_over_the_time(noisy, noise_model):
    """Users think in minutes: the rate decays by a cosine over the budget, training ends when
    it is spent (after an epoch end that keeps the best model), and the time left is known."""
    trainer = make_trainer(noisy, noise_model, epochs=1, time_budget=0.05)  # 3 s
    events = list(trainer)
    assert events[-1].elapsed >= 3.0 and events[-1].val_loss is not None
    assert len(events) > 3  # the budget, not the one epoch, ended it
    assert all(e.time_limit == 3.0 for e in events)
    assert events[0].lr == pytest.approx(TINY_TRAINING["lr"], rel=0.05)
    assert events[-1].lr < 0.1 * TINY_TRAINING["lr"]
    assert [e.remaining for e in events] == sorted((e.remaining for e in events), reverse=True)
    assert events[-1].fraction == 1.0 and events[-1].epochs == events[-1].epoch
    assert trainer.best_model().epochs_trained >= 1
