"""Training as an iterator of progress events that the caller may stop between any two.

The batch sampler cuts and masks patches on the fly (:mod:`.masking`) from data prepared once
(:mod:`.data`); the K-sample head runs only at the masked pixels. Adam with ReduceLROnPlateau on
the validation loss; the best weights by validation loss are kept, so stopping early still
leaves a usable model, with its spread and guard (:mod:`.guard`) chosen for prediction.
"""

from __future__ import annotations

import itertools
import math
import os
import threading
import time
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import asdict

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ..devices import choose_device, uses_bfloat16
from ..errors import PN2VError, Stopped
from ..network.config import ModelConfig
from ..network.model import PN2VModel
from ..noise.base import NoiseModel
from ..noise.coverage import check_coverage
from ..noise.diagnostics import NoiseCheck
from .averaging import WeightAverage
from .config import Progress, TrainConfig
from .data import Images, TrainingData, mean_std
from .distributed import mean_over_processes, world
from .guard import ImageNoise, check_noise, guarded_spread, with_blind_radius
from .losses import ForOneProcess, HeadOutputs, mse_loss, prior_loss
from .masking import Batch
from .spread import SpreadChoice


class Trainer:
    """Train a new model, or continue a given one, on noisy images.

    ``images`` is one array (a 2-D image or a stack) or a list of them; images of different
    sizes are fine: each batch is cut from one size group, chosen in proportion to its pixels.
    ``targets`` (supervised mode only) are the clean images, one per entry of ``images``, with
    one plane or as many as the input. ``validation`` (N2V and PN2V) are noisy images kept for
    validation only — ideally other scenes than the training images; then nothing of
    ``images`` is held out. Lazy images (dask, zarr, memory-mapped; N2V and PN2V) are not
    loaded: each batch reads its patches, so the data may be larger than memory.
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
    ) -> None:
        self.config = config or TrainConfig()
        cfg = self.config
        self.device = choose_device(cfg.device)
        self.rank, self.world_size = world()
        model_config = model.config if model is not None else model_config or ModelConfig()
        if (model_config.mode == "supervised") != (targets is not None):
            raise PN2VError("clean targets are needed by, and only by, the supervised mode")
        self.dims = model_config.dims
        self.data = data = TrainingData(
            images, cfg, self.dims, model_config.multiple, targets, validation
        )
        self.n_planes = data.n_planes
        if model is None:
            if cfg.seed is not None:
                torch.manual_seed(cfg.seed)
            model = PN2VModel(model_config, *mean_std(data.samples), noise_model)
            model.start_spread(cfg.initial_spread)
        self.model = model
        self.patch_shape = data.patch_shape
        self.warnings: list[str] = []
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
        self._start_training(model)

    def use_network(self, model_config: ModelConfig) -> None:
        """Train a fresh network of ``model_config`` (same mode) instead, on the data already
        read and with the same normalisation: for a time budget too short for the first."""
        old = self.model
        if self.config.seed is not None:
            torch.manual_seed(self.config.seed)
        model = PN2VModel(model_config, old.mean, old.std, old.noise_model)
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
        self.optimizer = torch.optim.Adam(model.net.parameters(), lr=cfg.lr)
        #: the weights validated and kept (:mod:`.averaging`); None: the network's own
        self._average = WeightAverage(model.net, cfg.weight_average) if cfg.weight_average else None
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            self.optimizer, mode="min", factor=cfg.lr_factor, patience=cfg.lr_patience
        )
        self.best_val_loss: float | None = None
        self._best_state: dict | None = None
        amp = uses_bfloat16(self.device, cfg.precision, self.warnings)
        outputs = HeadOutputs(model.net, model.config.mode == "supervised", amp=amp)
        self._outputs: ForOneProcess | DistributedDataParallel = ForOneProcess(outputs)
        if self.world_size > 1:  # gradients averaged over the processes at every step
            self._outputs = DistributedDataParallel(
                outputs,
                device_ids=[
                    self.device.index
                    if self.device.index is not None
                    else torch.cuda.current_device()
                ]
                if self.device.type == "cuda"
                else None,
            )

    def _check_coverage(self, samples: list[np.ndarray], what: str) -> None:
        """Refuse data mostly outside the noise model's range; keep warnings for the rest."""
        if self.model.is_probabilistic:
            for sample in samples:
                warning = check_coverage(self.model.noise_model, sample, what)
                if warning:
                    self.warnings.append(warning)

    # ---------------------------------------------------------------- loss
    def loss(self, batch: Batch, training: bool = True) -> torch.Tensor:
        """The PN2V, N2V or supervised loss of one batch.

        While training PN2V with the location-scale prior, N2V's squared error on the prior
        mean is added (``location_weight``), and by default (``prior_mean_loss``
        "squared-error") it alone moves the prior mean: the likelihood's gradient reaches the
        samples' spread and shape about their mean, not the mean. The mean of the true
        p(s | neighbourhood) is E[x | neighbourhood], N2V's target, whatever the noise; the
        likelihood pulls it wherever the noise model's shape is off (the prior absorbs what
        the model lacks), and weights each pixel's error by its inverse noise variance, so
        bright structures learned slowest. "joint": the likelihood moves the mean too, and the
        squared error is on the location μ (how earlier versions trained). Validation reports
        the PN2V loss alone.
        """
        model, cfg = self.model, self.config
        outputs = self._outputs if training else self._outputs.module
        shaped = training and cfg.prior_mean_loss == "squared-error" and cfg.sparse_head
        shaped = shaped and model.is_probabilistic and model.config.location_scale
        body = cfg.likelihood_body_weight if shaped else 1.0
        raw = outputs(batch.inputs, batch.index, cfg.sparse_head, body)
        if model.config.mode == "supervised":
            return mse_loss(raw, batch.targets)
        if not model.is_probabilistic:
            return mse_loss(raw[:, 0], batch.targets.reshape(-1))
        return prior_loss(model, raw, batch.targets.reshape(-1), cfg, training)

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
        if not self._val:
            return None
        self.model.net.eval()
        losses = []
        try:
            with torch.no_grad():
                for batch in self._val:
                    if self.stopping:
                        raise Stopped
                    losses.append(self.loss(batch, training=False).item() * batch.targets.numel())
        finally:
            self.model.net.train()
        return mean_over_processes(
            float(sum(losses) / sum(b.targets.numel() for b in self._val)), self.device
        )

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
                    self._follow_clock((time.monotonic() - start) / budget)
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
                    self._planned_epochs(epoch, step, elapsed, budget),
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

    def _follow_clock(self, fraction: float) -> None:
        """A time budget's learning rate: a cosine from the configured rate to 0 over the
        time (planned over the budget, so a run that ends on time has also cooled down)."""
        rate = 0.5 * self.config.lr * (1 + math.cos(math.pi * min(fraction, 1.0)))
        for group in self.optimizer.param_groups:
            group["lr"] = rate

    def _planned_epochs(self, epoch: int, step: int, elapsed: float, budget: float | None) -> int:
        """The epochs to train: configured, or those the time budget allows at this pace."""
        if budget is None:
            return self.config.epochs
        done = (epoch - 1) + step / self.config.steps_per_epoch
        return max(epoch, math.ceil(done * budget / max(elapsed, 1e-9)))

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
        if self.best_val_loss is None or monitored < self.best_val_loss:
            self.best_val_loss = monitored
            self._best_state = {k: v.detach().cpu().clone() for k, v in self._kept_state().items()}
            self._best_epochs = self.model.epochs_trained
        return val_loss

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
        model.training = asdict(self.config)  # as trained: a measured blind radius included
        return model

    @property
    def spread(self) -> SpreadChoice:
        """The best model's spread and guard bands: SURE over every factor for its weights,
        worked out once per best model when it is first asked for. (Chosen at every improving
        epoch instead, it took a third of a quick PN2V training; it takes seconds, so a
        stopped training's model comes that much after the stop.)"""
        if self._spread_patches is None or self._best_state is None:
            return SpreadChoice()
        if self._choice is None or self._choice[0] != self._best_epochs:
            model = self.model.copy()
            model.net.load_state_dict(self._best_state)
            model.net.to(self.device)
            generator = torch.Generator().manual_seed(0)
            radius = self.config.blind_radius or 0
            choice = guarded_spread(
                model, self._spread_patches, generator, self.image_noise, radius
            )
            self._choice = (self._best_epochs, choice)
        return self._choice[1]

    @property
    def spread_scale(self) -> float:
        """The best model's factor on its prior's spread."""
        return self.spread.scale

    def best_model(self) -> PN2VModel:
        """The weights with the lowest validation loss so far (the current ones before any),
        with their spread, guard bands and the guard's check."""
        model = self.last_model()
        if self._best_state is None:
            return model
        model.net.load_state_dict(self._best_state)
        model.epochs_trained = self._best_epochs
        choice = self.spread
        model.spread_scale, model.trust_edges, model.trusted = (
            choice.scale,
            choice.edges,
            choice.trusted,
        )
        model.std_factors = choice.std_factors
        if self._spread_patches is not None:
            if self._check is None or self._check[0] != self._best_epochs:
                self._check = (
                    self._best_epochs,
                    check_noise(model, choice, self.image_noise, self._held_out_outputs(model.net)),
                )
            model.noise_check = self._check[1]
        return model

    def _held_out_outputs(self, net: nn.Module) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """(head outputs, observations) at the masked pixels of the validation patches."""
        outputs = HeadOutputs(net, supervised=False, amp=False)
        with torch.no_grad():
            for batch in self._val:
                yield (
                    outputs(batch.inputs.cpu(), batch.index.cpu()),
                    self.model.denormalise(batch.targets.reshape(-1).cpu()),
                )
