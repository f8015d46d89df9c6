"""Training as an iterator of progress events that the caller may stop between any two.

The batch sampler cuts and masks patches on the fly (:mod:`.masking`) from data prepared once
(:mod:`.data`); the K-sample head runs only at the masked pixels. Adam with ReduceLROnPlateau on
the validation loss; the best weights by validation loss are kept, so stopping early still
leaves a usable model, with its spread and guard (:mod:`.guard`) chosen for prediction. PN2V
started from an N2V model keeps that start as a candidate and never keeps weights whose prior
mean is further from the data than N2V's estimate, as measured by the masked squared error on
the validation patches (:mod:`.selection`).
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import asdict, replace

import numpy as np
import torch

from ..devices import choose_device, uses_bfloat16
from ..errors import PN2VError, Stopped
from ..network.config import ModelConfig
from ..network.model import PN2VModel
from ..noise.base import NoiseModel
from ..noise.coverage import check_coverage
from ..noise.diagnostics import NoiseCheck
from .averaging import WeightAverage
from .config import Progress, TrainConfig
from .data import Images, TrainingData, as_list, mean_std
from .distributed import for_processes, mean_over_processes, world
from .guard import ImageNoise, check_noise, guarded_spread, held_out_outputs, with_blind_radius
from .losses import HeadOutputs, location_error, mse_loss, prior_loss
from .masking import Batch
from .selection import KeptWeights
from .spread import SpreadChoice
from .stride import choose_stride, shuffled_images


class Trainer:
    """Train a new model, or continue a given one, on noisy images.

    ``images`` is one array (a 2-D image or a stack) or a list of them; images of different
    sizes are fine: each batch is cut from one size group, chosen in proportion to its pixels.
    ``targets`` (supervised mode only) are the clean images, one per entry of ``images``, with
    one plane or as many as the input. ``validation`` (N2V and PN2V) are noisy images kept for
    validation only — ideally other scenes than the training images; then nothing of
    ``images`` is held out. ``start_from`` (PN2V with a location-scale prior): the N2V model
    whose network PN2V trains on from (at ``start_lr_factor`` × the rate), kept unless an
    epoch's prior mean is as close to the validation data. Lazy images (dask, zarr, mapped;
    N2V and PN2V) are not loaded: each batch reads its patches, so they may exceed memory.
    """

    def __init__(
        self,
        images: Images,
        config: TrainConfig | None = None,
        model_config: ModelConfig | None = None,
        noise_model: NoiseModel | None = None,
        model: PN2VModel | None = None,
        targets: Images | None = None,
        validation: Images | None = None,
        start_from: PN2VModel | None = None,
    ) -> None:
        self.config = config or TrainConfig()
        cfg = self.config
        self.device = choose_device(cfg.device)
        self.rank, self.world_size = world()
        model_config = model.config if model is not None else model_config or ModelConfig()
        if (model_config.mode == "supervised") != (targets is not None):
            raise PN2VError("clean targets are needed by, and only by, the supervised mode")
        self.dims = model_config.dims
        self.warnings: list[str] = []
        #: pixel shuffle (:mod:`.stride`): the network trains on sub-images of every s-th pixel
        held = [] if validation is None else as_list(validation)
        s = choose_stride(
            as_list(images), held, cfg, model_config, model or start_from, self.warnings
        )
        images, validation = shuffled_images(images, s), shuffled_images(validation, s)
        self.config = cfg = replace(cfg, shuffle=s)
        self.data = data = TrainingData(
            images, cfg, self.dims, model_config.multiple, targets, validation
        )
        self.n_planes = data.n_planes
        if model is None:
            if cfg.seed is not None:  # a fresh network, or the new head rows of a start
                torch.manual_seed(cfg.seed)
            if start_from is not None:
                model = PN2VModel.from_n2v(
                    start_from, model_config, noise_model, cfg.initial_spread
                )
            else:
                model = PN2VModel(model_config, *mean_std(data.samples), noise_model)
                model.start_spread(cfg.initial_spread)
        self.model = model
        model.shuffle = s
        self.patch_shape = data.patch_shape
        self._check_coverage(data.samples, "training data")
        self._check_coverage(data.validation_samples, "validation data")
        self._train, held_out = data.frames(model.normalise, self.device)
        self._weights = torch.tensor([float(t.numel()) for t in self._train])
        self._generator = torch.Generator()
        if cfg.seed is not None:
            self._generator.manual_seed(cfg.seed + self.rank)
        elif self.world_size > 1:  # each process draws its own patches
            self._generator.manual_seed(int.from_bytes(os.urandom(7), "little"))
        calibrated = model.is_probabilistic and cfg.spread_calibration
        #: the noise the training images show: how far it correlates between pixels (the
        #: blind spot), and what the guard holds the model against
        image_noise = None
        if not data.supervised and (cfg.blind_radius is None or calibrated):
            image_noise = ImageNoise.measure(data.noise_planes())
        self.config = data.config = cfg = with_blind_radius(cfg, image_noise, self.warnings)
        self._val = data.validation_batches(held_out)
        self.image_noise = image_noise if calibrated else None
        self._spread_patches = data.spread_patches(self._val, self._train) if calibrated else None
        self._stop = threading.Event()
        #: PN2V trains on from an N2V model: the start is guarded (:meth:`_keep_start`)
        self.from_n2v = start_from is not None
        self._start_training(model)
        if self.from_n2v:
            self._keep_start()

    def use_network(self, model_config: ModelConfig) -> None:
        """Train a fresh network of ``model_config`` (same mode) instead, on the data already
        read and with the same normalisation: for a time budget too short for the first."""
        old = self.model
        self.from_n2v = False
        if self.config.seed is not None:
            torch.manual_seed(self.config.seed)
        model = PN2VModel(model_config, old.mean, old.std, old.noise_model)
        model.shuffle = old.shuffle
        model.start_spread(self.config.initial_spread)
        self._start_training(model)

    def _start_training(self, model: PN2VModel) -> None:
        """``model`` becomes the one trained: its optimiser, schedule and kept weights."""
        cfg = self.config
        self.model = model
        #: (best epochs, their spread and guard bands), chosen when the best model is asked
        #: for (:mod:`.guard`); the model in training keeps its spread as the network gives it
        self._choice: tuple[int, SpreadChoice] | None = None
        model.spread_scale, model.trust_edges, model.trusted = 1.0, (), (True,)
        model.std_factors = (1.0,)
        self._check: tuple[int, NoiseCheck] | None = None
        model.net.to(self.device)
        #: PN2V from N2V may train on at a fraction of the rate (``start_lr_factor``)
        self._lr_scale = cfg.start_lr_factor if self.from_n2v else 1.0
        self.optimizer = torch.optim.Adam(model.net.parameters(), lr=cfg.lr * self._lr_scale)
        #: the weights validated and kept (:mod:`.averaging`); None: the network's own
        self._average = WeightAverage(model.net, cfg.weight_average) if cfg.weight_average else None
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            self.optimizer, mode="min", factor=cfg.lr_factor, patience=cfg.lr_patience
        )
        self.kept = KeptWeights()
        #: a start from N2V: the last validation's prior-mean error (the start's: the bound)
        self.location_error: float | None = None
        #: the body's arithmetic: what ``precision`` "auto" came to on this device
        self.bfloat16 = uses_bfloat16(self.device, cfg.precision, self.warnings, training=True)
        outputs = HeadOutputs(model.net, model.config.mode == "supervised", amp=self.bfloat16)
        self._outputs = for_processes(outputs, self.device)

    @property
    def best_val_loss(self) -> float | None:
        return self.kept.val_loss

    def _check_coverage(self, samples: list[np.ndarray], what: str) -> None:
        """Refuse data mostly outside the noise model's range; keep warnings for the rest."""
        if self.model.is_probabilistic:
            for sample in samples:
                warning = check_coverage(self.model.noise_model, sample, what)
                if warning:
                    self.warnings.append(warning)

    # ---------------------------------------------------------------- loss
    def loss(self, batch: Batch, training: bool = True) -> torch.Tensor:
        """The PN2V, N2V or supervised loss of one batch. PN2V's with the location-scale
        prior (:func:`.losses.prior_loss`): by default N2V's squared error alone moves the
        prior mean, the likelihood shaping the samples about it (``prior_mean_loss``);
        ``likelihood_body_weight`` scales the likelihood's gradient to the body. Validation
        reports the PN2V loss alone.
        """
        return self._loss(self._head_outputs(batch, training), batch, training)

    def _head_outputs(self, batch: Batch, training: bool) -> torch.Tensor:
        cfg, model = self.config, self.model
        outputs = self._outputs if training else self._outputs.module
        shaped = training and cfg.prior_mean_loss == "squared-error" and cfg.sparse_head
        shaped = shaped and model.is_probabilistic and model.config.location_scale
        body = cfg.likelihood_body_weight if shaped else 1.0
        return outputs(batch.inputs, batch.index, cfg.sparse_head, body)

    def _loss(self, raw: torch.Tensor, batch: Batch, training: bool) -> torch.Tensor:
        model = self.model
        if model.config.mode == "supervised":
            return mse_loss(raw, batch.targets)
        if not model.is_probabilistic:
            return mse_loss(raw[:, 0], batch.targets.reshape(-1))
        return prior_loss(model, raw, batch.targets.reshape(-1), self.config, training)

    def seconds_per_step(self, steps: int = 2) -> float:
        """A training step's time here, on real batches, after one step that warms up: the
        gradients are dropped and the batches drawn with a generator of their own, so neither
        the weights nor the patches training will see change."""
        generator = torch.Generator().manual_seed(0)
        times = []
        for _ in range(steps + 1):
            start = time.perf_counter()
            batch = self.data.batch(self._train[0], self.config.batch_size, generator)
            self.loss(batch).backward()
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            times.append(time.perf_counter() - start)
            self.optimizer.zero_grad(set_to_none=True)
        return float(np.median(times[1:]))

    def request_stop(self) -> None:
        """Stop soon, from any thread: before the next step, or within the validation or the
        spread's choice under way (which is then dropped); the best model so far stays."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def validate(self) -> float | None:
        """The validation loss; for a start from N2V, the prior mean's masked squared error
        too (:attr:`location_error`), from the same outputs."""
        if not self._val:
            return None
        self.model.net.eval()
        losses, errors = [], []
        try:
            with torch.no_grad():
                for batch in self._val:
                    if self.stopping:
                        raise Stopped
                    raw = self._head_outputs(batch, training=False)
                    count = batch.targets.numel()
                    losses.append(self._loss(raw, batch, training=False).item() * count)
                    if self.from_n2v:
                        mean = self.model.prior(raw, calibrated=False).samples().mean(1)
                        error = location_error(self.model, mean, batch.targets.reshape(-1))
                        errors.append(error.item() * count)
        finally:
            self.model.net.train()
        total = sum(b.targets.numel() for b in self._val)
        if self.from_n2v:
            self.location_error = mean_over_processes(float(sum(errors) / total), self.device)
        return mean_over_processes(float(sum(losses) / total), self.device)

    # ---------------------------------------------------------------- loop
    def __iter__(self) -> Iterator[Progress]:
        cfg, net = self.config, self.model.net
        net.train()
        start = time.monotonic()
        budget = None if cfg.time_budget is None else 60.0 * cfg.time_budget
        for epoch in itertools.count(1) if budget else range(1, cfg.epochs + 1):
            total = 0.0
            for step in range(1, cfg.steps_per_epoch + 1):
                if self.stopping:
                    return
                if budget:
                    rate = self._lr_scale * cfg.rate_at((time.monotonic() - start) / budget)
                    for group in self.optimizer.param_groups:
                        group["lr"] = rate
                group = int(torch.multinomial(self._weights, 1, generator=self._generator))
                batch = self.data.batch(self._train[group], cfg.batch_size, self._generator)
                loss = self.loss(batch)
                if not torch.isfinite(loss):
                    raise PN2VError(
                        "training diverged (the loss is not finite); lower the learning rate"
                    )
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if (epoch - 1) * cfg.steps_per_epoch + step <= cfg.residual_delay:
                    self._hold_residuals()
                self.optimizer.step()
                if self._average is not None:
                    self._average.update(net)
                total += loss.item()
                done = budget is not None and time.monotonic() - start >= budget
                val_loss = None
                if step == cfg.steps_per_epoch or done:
                    try:
                        val_loss = self._end_epoch(total / step)
                    except Stopped:  # the epoch's validation is dropped; its best stays
                        return
                elapsed = time.monotonic() - start
                yield Progress(
                    epoch,
                    cfg.planned_epochs(epoch, step, elapsed),
                    step,
                    cfg.steps_per_epoch,
                    total / step,
                    val_loss,
                    self.best_val_loss,
                    self.optimizer.param_groups[0]["lr"],
                    elapsed,
                    budget,
                )
                if done:
                    return

    def _hold_residuals(self) -> None:
        """Zero the gradients of the prior's residual outputs: with zero moments Adam leaves
        them where they are."""
        if self.model.config.location_scale:
            head = self.model.net.head
            for grad in (head.weight.grad, head.bias.grad):
                if grad is not None:
                    grad[2:] = 0

    def _kept_state(self) -> dict[str, torch.Tensor]:
        """The weights that are validated and kept: their average, or the network's own."""
        return self.model.net.state_dict() if self._average is None else self._average.state

    def _end_epoch(self, train_loss: float) -> float | None:
        self.model.epochs_trained += 1
        with nullcontext() if self._average is None else self._average.applied(self.model.net):
            val_loss = self.validate()
        monitored = train_loss if val_loss is None else val_loss
        if self.config.time_budget is None:  # a time budget's rate follows the clock
            self.scheduler.step(monitored)
        self.kept.offer(monitored, self.location_error, self._kept_state, self.model.epochs_trained)
        return val_loss

    def _keep_start(self) -> None:
        """The start from N2V, validated before any PN2V step, is the first kept model: its
        prior mean is N2V's estimate, the bound every later kept epoch's must meet."""
        val_loss = self.validate()
        if val_loss is not None:
            self.kept = KeptWeights(bound=self.location_error)
            self.kept.offer(val_loss, self.location_error, self._kept_state, 0)

    def run(self) -> PN2VModel:
        """Train to the end and return the best model."""
        for _ in self:
            pass
        return self.best_model()

    def last_model(self) -> PN2VModel:
        """The current weights (averaged, if so configured; on the CPU), whatever their
        validation loss."""
        model = self.model.copy()
        model.net.load_state_dict(self._kept_state())
        model.net.cpu()
        # as trained: a measured blind radius, the arithmetic and where PN2V started included
        arithmetic = {"arithmetic": "bfloat16" if self.bfloat16 else "float32"}
        start = {"start_from": "n2v"} if self.from_n2v else {}
        model.training = asdict(self.config) | arithmetic | start
        return model

    @property
    def spread(self) -> SpreadChoice:
        """The best model's spread and guard bands: SURE over every factor for its weights,
        worked out once per best model when first asked for (at every improving epoch it took
        a third of a quick PN2V training)."""
        if self._spread_patches is None or self.kept.state is None:
            return SpreadChoice()
        if self._choice is None or self._choice[0] != self.kept.epochs:
            model = self.model.copy()
            model.net.load_state_dict(self.kept.state)
            model.net.to(self.device)
            generator = torch.Generator().manual_seed(0)
            radius = self.config.blind_radius or 0
            choice = guarded_spread(
                model, self._spread_patches, generator, self.image_noise, radius
            )
            self._choice = (self.kept.epochs, choice)
        return self._choice[1]

    def best_model(self) -> PN2VModel:
        """The weights with the lowest validation loss so far (the current ones before any),
        with their spread, guard bands and the guard's check."""
        model = self.last_model()
        if self.kept.state is None:
            return model
        model.net.load_state_dict(self.kept.state)
        model.epochs_trained = self.kept.epochs
        choice = self.spread
        model.spread_scale, model.trust_edges, model.trusted = (
            choice.scale,
            choice.edges,
            choice.trusted,
        )
        model.std_factors = choice.std_factors
        if self._spread_patches is not None:
            if self._check is None or self._check[0] != self.kept.epochs:
                held_out = held_out_outputs(model, self._val)
                self._check = (
                    self.kept.epochs,
                    check_noise(model, choice, self.image_noise, held_out),
                )
            model.noise_check = self._check[1]
        return model
