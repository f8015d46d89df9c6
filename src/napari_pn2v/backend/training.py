"""Training as an iterator of progress events that the caller may stop between any two.

The batch sampler cuts and masks patches on the fly (:mod:`.masking`); the K-sample head runs
only at the masked pixels. Adam with ReduceLROnPlateau on the validation loss; the best
weights by validation loss are kept, so stopping early still leaves a usable model.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from .coverage import check_coverage
from .devices import choose_device
from .distributed import mean_over_processes, world
from .errors import PN2VError
from .guard import ImageNoise, check_noise, guarded_spread
from .images import as_stack, check_dims
from .lazy import LazyFrames, PlaneSource, is_lazy
from .losses import mse_loss, pn2v_loss
from .masking import NEIGHBOURHOOD, Batch, masked_batch, paired_batch, sample_patches
from .model import INITIAL_SPREAD, ModelConfig, PN2VModel
from .noise_checks import NoiseCheck
from .noise_models import NoiseModel
from .spread import SpreadChoice

HOLDOUTS = ("frames", "region")
#: fewest rows a held-out region may have; validation patches shrink to fit it
MIN_HOLDOUT_ROWS = 16
#: pixels of the patches that choose the prior's spread (~2 s of a CPU core per improving epoch)
SPREAD_PIXELS = 2**14


@dataclass
class TrainConfig:
    """How to train; the defaults are the paper's (Krull et al. 2020, section 5.3)."""

    epochs: int = 200
    steps_per_epoch: int = 50
    batch_size: int = 80
    patch_size: int = 100
    #: planes (Z) per patch of a 3-D network; 2-D networks ignore it
    patch_depth: int = 16
    lr: float = 1e-4
    val_fraction: float = 0.1
    #: what the validation set holds out: whole "frames" (when there are enough), or a
    #: "region" — a strip of rows at the bottom of every frame. Held-out frames of one static
    #: scene show the network content it trains on, so only a region measures memorisation.
    holdout: str = "frames"
    device: str = "auto"
    seed: int | None = None
    #: run the K-sample head at the masked pixels only; False = dense head (for benchmarks)
    sparse_head: bool = True
    lr_patience: int = 10
    lr_factor: float = 0.5
    val_patches: int = 64
    #: weight of N2V's squared error on the prior's location μ, added to the PN2V loss while
    #: training (location-scale prior only; 0 = pure PN2V loss). See :meth:`Trainer.loss`.
    location_weight: float = 1.0
    #: spread of a new location-scale prior, a fraction of the training data's std: a prior
    #: broader than its location's error pulls the MMSE towards the noisy pixel
    initial_spread: float = INITIAL_SPREAD
    #: optimiser steps during which a location-scale prior's K residuals keep their start (the
    #: samples stay normal quantiles around μ); 0 = they learn from the first step. An ablation:
    #: Adam moves every weight by ~lr per step however small its gradient.
    residual_delay: int = 0
    #: PN2V: after each epoch that improves the validation loss, choose a factor on the prior's
    #: spread for prediction without clean data (:mod:`.spread`); False keeps the spread as
    #: trained, the published behaviour
    spread_calibration: bool = True

    def __post_init__(self) -> None:
        for name in ("epochs", "steps_per_epoch", "batch_size", "val_patches"):
            if int(getattr(self, name)) < 1:
                raise PN2VError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.patch_size < 8:
            raise PN2VError(f"patch size must be at least 8, got {self.patch_size}")
        if self.patch_depth < NEIGHBOURHOOD:
            raise PN2VError(f"patch depth must be at least {NEIGHBOURHOOD}, got "
                            f"{self.patch_depth}")
        if not 0 <= self.val_fraction < 1:
            raise PN2VError(f"val-fraction must be in [0, 1), got {self.val_fraction}")
        if not self.lr > 0:
            raise PN2VError(f"learning rate must be positive, got {self.lr}")
        if self.holdout not in HOLDOUTS:
            raise PN2VError(f"holdout must be one of {', '.join(HOLDOUTS)}, got {self.holdout!r}")
        if not self.location_weight >= 0:
            raise PN2VError(f"location weight must be ≥ 0, got {self.location_weight}")
        if self.residual_delay < 0:
            raise PN2VError(f"residual delay must be ≥ 0, got {self.residual_delay}")
        if not self.initial_spread > 0:
            raise PN2VError(f"initial spread must be positive, got {self.initial_spread}")


#: a configuration that trains a useful model in a few minutes on a laptop CPU
QUICK = dict(epochs=20, steps_per_epoch=25, batch_size=8, patch_size=64, lr=5e-4)


@dataclass
class Progress:
    """One training step done; ``val_loss`` is set on the last step of each epoch."""

    epoch: int
    epochs: int
    step: int
    steps: int
    train_loss: float
    val_loss: float | None
    best_val_loss: float | None
    lr: float
    elapsed: float

    @property
    def fraction(self) -> float:
        return ((self.epoch - 1) * self.steps + self.step) / (self.epochs * self.steps)

    @property
    def remaining(self) -> float:
        """Seconds left at the pace so far."""
        return self.elapsed * (1 - self.fraction) / max(self.fraction, 1e-9)


Span = tuple[range, range]  # (planes, rows) of a stack


def holdout_spans(n: int, height: int, fraction: float, patch: int,
                  holdout: str = "frames") -> tuple[Span, Span]:
    """(planes, rows) to train on and to validate on: the last whole frames when there are
    enough (and ``holdout`` is "frames"), else a strip of rows at the bottom of every frame, at
    least :data:`MIN_HOLDOUT_ROWS` high."""
    every_row = range(height)
    if fraction == 0:
        return (range(n), every_row), (range(0), every_row)
    n_val = round(n * fraction)
    if holdout == "frames" and 1 <= n_val < n:
        return (range(n - n_val), every_row), (range(n - n_val, n), every_row)
    rows = max(MIN_HOLDOUT_ROWS, round(height * fraction))
    if height - rows < patch:
        raise PN2VError(
            f"images of {height} rows are too small to hold out a validation strip of {rows} "
            f"rows and still train on {patch}-pixel patches; use more frames, a smaller patch "
            "size or val-fraction 0"
        )
    return (range(n), range(height - rows)), (range(n), range(height - rows, height))


def split_validation(stack: np.ndarray, fraction: float, patch: int,
                     holdout: str = "frames") -> tuple[np.ndarray, np.ndarray]:
    """(training, validation) parts of an (N, [C,] Y, X) stack; see :func:`holdout_spans`."""
    spans = holdout_spans(stack.shape[0], stack.shape[-2], fraction, patch, holdout)
    return tuple(stack[planes.start:planes.stop, ..., rows.start:rows.stop, :]
                 for planes, rows in spans)


class HeadOutputs(nn.Module):
    """The part of a loss that holds parameters, as one forward so DistributedDataParallel can
    wrap it: the head's outputs at the masked pixels (B·M, out_channels), or the one output at
    every pixel (B, P, P) in the supervised mode."""

    def __init__(self, net: nn.Module, supervised: bool, amp: bool) -> None:
        super().__init__()
        self.net, self.supervised, self.amp = net, supervised, amp

    def forward(self, inputs: torch.Tensor, index: torch.Tensor,
                sparse: bool = True) -> torch.Tensor:
        net = self.net
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.amp):
            features = net.body(inputs)
        features = features.float()
        if self.supervised:
            return net.head(features)[:, 0]
        if sparse:  # the K-output head at the masked pixels only
            b, c = features.shape[:2]
            flat = features.flatten(2)  # (B, C, P*P)
            picked = flat.gather(2, index[:, None, :].expand(b, c, -1))
            return net.head_at(picked.permute(0, 2, 1).reshape(-1, c))
        dense = net.head(features)  # every pixel, as the published code does
        b, k = dense.shape[:2]
        picked = dense.flatten(2).gather(2, index[:, None, :].expand(b, k, -1))
        return picked.permute(0, 2, 1).reshape(-1, k)


class ForOneProcess(nn.Module):
    """Stands where DistributedDataParallel would, so both are called and unwrapped alike."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, *args: torch.Tensor | bool) -> torch.Tensor:
        return self.module(*args)


Images = np.ndarray | Sequence[np.ndarray]


def _as_list(images: Images) -> list[np.ndarray]:
    """One image (in memory or lazy) or a sequence of them, as a list."""
    return [images] if isinstance(images, np.ndarray) or is_lazy(images) else list(images)


def _pair(stack: np.ndarray, target: np.ndarray, name: str) -> np.ndarray:
    """(N, 2, Y, X) of inputs and clean targets; one target plane serves every input plane."""
    if target.shape[1:] != stack.shape[1:] or target.shape[0] not in (1, stack.shape[0]):
        raise PN2VError(f"{name}: the target ({target.shape[0]} plane(s) of "
                        f"{target.shape[1]}×{target.shape[2]}) does not match the input "
                        f"({stack.shape[0]} plane(s) of {stack.shape[1]}×{stack.shape[2]})")
    return np.stack([stack, np.broadcast_to(target, stack.shape)], axis=1)


def _group_by_shape(images: Images, patch: int, targets: Images | None,
                    dims: int = 2) -> tuple[list[np.ndarray], list[PlaneSource]]:
    """Checked float32 arrays (N, C, Y, X) — (N, C, Z, Y, X) for a 3-D network —, one per
    plane (volume) size (C = 2 holds (input, target)), and the lazy images (dask, zarr,
    memory-mapped), which stay where they are."""
    arrays = _as_list(images)
    if not arrays:
        raise PN2VError("no training images given")
    target_arrays = None if targets is None else _as_list(targets)
    if target_arrays is not None and len(target_arrays) != len(arrays):
        raise PN2VError(f"{len(arrays)} training image(s) but {len(target_arrays)} target(s)")
    groups: dict[tuple[int, int], list[np.ndarray]] = {}
    lazy: list[PlaneSource] = []
    for i, array in enumerate(arrays):
        name = "training data" if len(arrays) == 1 else f"training image {i + 1}"
        if target_arrays is None and is_lazy(array):
            check_dims(len(array.shape), dims, name)
            lazy.append(PlaneSource(array, name=name, min_size=patch))
            continue
        stack = as_stack(array, name=name, min_size=patch, dims=dims)
        if target_arrays is None:
            planes = stack[:, None]
        else:
            planes = _pair(stack, as_stack(target_arrays[i], name=f"target of {name}",
                                           dims=dims), name)
        groups.setdefault(stack.shape[1:], []).append(planes)
    return [np.concatenate(g) if len(g) > 1 else g[0] for g in groups.values()], lazy


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

    def __init__(self, images: Images,
                 config: TrainConfig | None = None,
                 model_config: ModelConfig | None = None,
                 noise_model: NoiseModel | None = None,
                 model: PN2VModel | None = None,
                 targets: Images | None = None,
                 validation: Images | None = None) -> None:
        self.config = config or TrainConfig()
        cfg = self.config
        self.device = choose_device(cfg.device)
        self.rank, self.world_size = world()
        model_config = model.config if model is not None else model_config or ModelConfig()
        if (model_config.mode == "supervised") != (targets is not None):
            raise PN2VError("clean targets are needed by, and only by, the supervised mode")
        if validation is not None and targets is not None:
            raise PN2VError("separate validation images are for N2V and PN2V; the supervised "
                            "mode holds out part of its (input, target) pairs")
        self.dims = model_config.dims
        groups, lazy = _group_by_shape(images, cfg.patch_size, targets, self.dims)
        self.n_planes = sum(g.shape[0] for g in groups) + sum(self._extent(s)[0] for s in lazy)
        samples = [g[:, 0] for g in groups] + [s.sample() for s in lazy]
        if model is None:
            pixels = np.concatenate([sample.ravel() for sample in samples])
            if cfg.seed is not None:
                torch.manual_seed(cfg.seed)
            model = PN2VModel(model_config, float(pixels.mean()), float(pixels.std()),
                              noise_model)
            model.start_spread(cfg.initial_spread)
        self.model = model
        #: the training patches' shape: (Y, X), or (Z, Y, X) for a 3-D network
        self.patch_shape = (cfg.patch_size,) * 2
        if self.dims == 3:
            self.patch_shape = (cfg.patch_depth, *self.patch_shape)
            depths = [g.shape[2] for g in groups] + [s.image_shape[-3] for s in lazy]
            shallow = [d for d in depths if d < cfg.patch_depth]
            if shallow:
                raise PN2VError(f"Z stacks of {min(shallow)} planes are thinner than the patch "
                                f"depth {cfg.patch_depth}; lower the patch depth")
        for name, size in (("size", cfg.patch_size), ("depth", self.patch_shape[0])):
            if size % model.net.multiple:
                raise PN2VError(
                    f"patch {name} {size} must be a multiple of {model.net.multiple} "
                    f"for a depth-{model.config.depth} network"
                )
        self.warnings: list[str] = []
        self._check_coverage(samples, "training data")
        held_out: list[np.ndarray | LazyFrames] = []
        if validation is None:
            splits = [split_validation(g, cfg.val_fraction, cfg.patch_size, cfg.holdout)
                      for g in groups]
            held_out = [v for _, v in splits if v.shape[0]]
            spans = [holdout_spans(*self._extent(s), cfg.val_fraction, cfg.patch_size,
                                   cfg.holdout) for s in lazy]
        else:
            splits = [(g, None) for g in groups]
            spans = [(self._whole(s), None) for s in lazy]
            samples = []
            for i, v in enumerate(_as_list(validation)):
                name = f"validation image {i + 1}"
                if is_lazy(v):
                    source = PlaneSource(v, name=name, min_size=MIN_HOLDOUT_ROWS)
                    held_out.append(self._lazy_frames(source, self._whole(source)))
                    samples.append(source.sample())
                else:
                    held_out.append(as_stack(v, name=name, min_size=MIN_HOLDOUT_ROWS,
                                             dims=self.dims)[:, None])
                    samples.append(held_out[-1][:, 0])
            self._check_coverage(samples, "validation data")
        self._train: list[torch.Tensor | LazyFrames] = [
            torch.as_tensor(model.normalise(t)).to(self.device) for t, _ in splits]
        for source, (train, val) in zip(lazy, spans, strict=True):
            self._train.append(self._lazy_frames(source, train))
            if val is not None and len(val[0]) and len(val[1]):
                held_out.append(self._lazy_frames(source, val))
        self._weights = torch.tensor([float(t.numel()) for t in self._train])
        self._generator = torch.Generator()
        if cfg.seed is not None:
            self._generator.manual_seed(cfg.seed + self.rank)
        elif self.world_size > 1:  # each process draws its own patches
            self._generator.manual_seed(int.from_bytes(os.urandom(7), "little"))
        self._val = self._validation_batches(held_out)
        self._spread_patches = self.image_noise = None
        if model.is_probabilistic and cfg.spread_calibration:
            self._spread_patches = self._calibration_patches()
            #: the noise the training images show, which the guard holds the model against
            self.image_noise = ImageNoise.measure(
                [g[:, 0] for g in groups] + [s.planes(4) for s in lazy])
        #: the best model's spread and guard bands (:mod:`.guard`); the model in training
        #: keeps its spread as the network gives it
        self.spread = SpreadChoice()
        model.spread_scale, model.trust_edges, model.trusted = 1.0, (), (True,)
        self._check: tuple[int, NoiseCheck] | None = None
        model.net.to(self.device)
        self.optimizer = torch.optim.Adam(model.net.parameters(), lr=cfg.lr)
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            self.optimizer, mode="min", factor=cfg.lr_factor, patience=cfg.lr_patience
        )
        self.best_val_loss: float | None = None
        self._best_state: dict | None = None
        outputs = HeadOutputs(model.net, model.config.mode == "supervised",
                              amp=self.device.type == "cuda")
        self._outputs: ForOneProcess | DistributedDataParallel = ForOneProcess(outputs)
        if self.world_size > 1:  # gradients averaged over the processes at every step
            self._outputs = DistributedDataParallel(
                outputs, device_ids=[self.device.index if self.device.index is not None
                                     else torch.cuda.current_device()]
                if self.device.type == "cuda" else None)

    def _check_coverage(self, samples: list[np.ndarray], what: str) -> None:
        """Refuse data mostly outside the noise model's range; keep warnings for the rest."""
        if self.model.is_probabilistic:
            for sample in samples:
                warning = check_coverage(self.model.noise_model, sample, what)
                if warning:
                    self.warnings.append(warning)

    def _extent(self, source: PlaneSource) -> tuple[int, int]:
        """(frames, rows) of a lazy image: planes, or Z stacks for a 3-D network."""
        return source.count(self.dims), source.shape[1]

    def _whole(self, source: PlaneSource) -> Span:
        """Every frame and row of ``source``."""
        frames, rows = self._extent(source)
        return range(frames), range(rows)

    def _lazy_frames(self, source: PlaneSource, span: Span) -> LazyFrames:
        depth = source.image_shape[-3] if self.dims == 3 else None
        return LazyFrames(source, *span, self.model.normalise, self.device, depth)

    def _validation_batches(self, parts: list[np.ndarray | LazyFrames]) -> list[Batch]:
        """A fixed set of patches, so validation losses compare across epochs. Patches
        shrink (to a multiple the network takes) where a held-out strip is lower than one."""
        generator = torch.Generator().manual_seed(12345)
        batch = self.config.batch_size
        count = max(self.config.val_patches, batch) // max(len(parts), 1) + 1
        multiple = self.model.net.multiple
        batches = []
        for part in parts:
            side = min(self.config.patch_size, *part.shape[-2:]) // multiple * multiple
            size = (side, side)
            if self.dims == 3:
                size = (min(self.config.patch_depth, part.shape[-3]) // multiple * multiple,
                        *size)
            if min(size) < NEIGHBOURHOOD:
                raise PN2VError(
                    f"validation data of {'×'.join(map(str, part.shape[-self.dims:]))} pixels "
                    f"is too small for a depth-{self.model.config.depth} network; hold out more "
                    "(val-fraction) or give larger validation images")
            frames = part if isinstance(part, LazyFrames) else \
                torch.as_tensor(self.model.normalise(part)).to(self.device)
            batches += [self._batch(frames, min(batch, count - i), generator, size)
                        for i in range(0, count, batch)]
        return batches

    def _calibration_patches(self) -> torch.Tensor:
        """Unmasked patches, ~:data:`SPREAD_PIXELS` pixels, for choosing the spread: held-out
        ones where there are any (the network never trained on their noise), else training
        ones."""
        # held-out parts may differ in size: the first one's patches are used
        shape = self._val[0].patches.shape[1:] if self._val else self.patch_shape
        count = -(-SPREAD_PIXELS // math.prod(shape))
        if self._val:
            return torch.cat([b.patches for b in self._val if b.patches.shape[1:] == shape])[:count]
        generator = torch.Generator().manual_seed(54321)
        patches = sample_patches(self._train[0], count, self.patch_shape, generator)
        return patches[:, 0] if patches.dim() == self.dims + 2 else patches  # (B, *space)

    def _batch(self, frames: torch.Tensor, size: int, generator: torch.Generator,
               patch: tuple[int, ...] | None = None) -> Batch:
        make = paired_batch if self.model.config.mode == "supervised" else masked_batch
        return make(frames, size, patch or self.patch_shape, generator)

    # ---------------------------------------------------------------- loss
    def loss(self, batch: Batch, training: bool = True) -> torch.Tensor:
        """The PN2V, N2V or supervised loss of one batch.

        While training PN2V with the location-scale prior, N2V's squared error on the location
        μ is added (``location_weight``). The PN2V likelihood weights each pixel's error by its
        inverse noise variance, so bright, noisy structures — which dominate the squared error
        of the result — learn slowest; the squared error gives them N2V's pace. Both terms are
        minimised by the same prior: the mean of p(s | neighbourhood) is E[x | neighbourhood],
        N2V's target, and the residuals r_k leave the samples free. Validation reports the
        PN2V loss alone.
        """
        model = self.model
        outputs = self._outputs if training else self._outputs.module
        raw = outputs(batch.inputs, batch.index, self.config.sparse_head)
        if model.config.mode == "supervised":
            return mse_loss(raw, batch.targets)
        target = batch.targets.reshape(-1)
        if not model.is_probabilistic:
            return mse_loss(raw[:, 0], target)
        samples = model.prior(raw, calibrated=False).samples()
        loss = pn2v_loss(samples, model.denormalise(target), model.noise_model)
        weight = self.config.location_weight
        if training and weight > 0 and model.config.location_scale:
            loss = loss + weight * mse_loss(raw[:, 0], target)
        return loss

    def validate(self) -> float | None:
        if not self._val:
            return None
        self.model.net.eval()
        with torch.no_grad():
            losses = [self.loss(b, training=False).item() * b.targets.numel() for b in self._val]
        self.model.net.train()
        return mean_over_processes(float(sum(losses) / sum(b.targets.numel() for b in self._val)),
                                   self.device)

    # ---------------------------------------------------------------- loop
    def __iter__(self) -> Iterator[Progress]:
        cfg, net = self.config, self.model.net
        net.train()
        start = time.monotonic()
        for epoch in range(1, cfg.epochs + 1):
            total = 0.0
            for step in range(1, cfg.steps_per_epoch + 1):
                group = int(torch.multinomial(self._weights, 1, generator=self._generator))
                batch = self._batch(self._train[group], cfg.batch_size, self._generator)
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
                total += loss.item()
                val_loss = None
                if step == cfg.steps_per_epoch:
                    val_loss = self._end_epoch(total / step)
                yield Progress(
                    epoch, cfg.epochs, step, cfg.steps_per_epoch, total / step, val_loss,
                    self.best_val_loss, self.optimizer.param_groups[0]["lr"],
                    time.monotonic() - start,
                )

    def _hold_residuals(self) -> None:
        """Zero the gradients of the prior's residual outputs: with zero moments Adam leaves
        them where they are."""
        if self.model.config.location_scale:
            head = self.model.net.head
            for grad in (head.weight.grad, head.bias.grad):
                if grad is not None:
                    grad[2:] = 0

    def _end_epoch(self, train_loss: float) -> float | None:
        self.model.epochs_trained += 1
        val_loss = self.validate()
        monitored = train_loss if val_loss is None else val_loss
        self.scheduler.step(monitored)
        if self.best_val_loss is None or monitored < self.best_val_loss:
            self.best_val_loss = monitored
            self._best_state = {k: v.detach().cpu().clone()
                                for k, v in self.model.net.state_dict().items()}
            self._best_epochs = self.model.epochs_trained
            if self._spread_patches is not None:
                self.spread = guarded_spread(self.model, self._spread_patches,
                                             torch.Generator().manual_seed(0), self.image_noise)
        return val_loss

    def run(self) -> PN2VModel:
        """Train to the end and return the best model."""
        for _ in self:
            pass
        return self.best_model()

    def last_model(self) -> PN2VModel:
        """The current weights (on the CPU), whatever their validation loss."""
        model = self.model.copy()
        model.net.cpu()
        return model

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
        model.spread_scale, model.trust_edges, model.trusted = (choice.scale, choice.edges,
                                                                 choice.trusted)
        if self._spread_patches is not None:
            if self._check is None or self._check[0] != self._best_epochs:
                self._check = (self._best_epochs, check_noise(
                    model, choice, self.image_noise, self._held_out_outputs(model.net)))
            model.noise_check = self._check[1]
        return model

    def _held_out_outputs(self, net: nn.Module) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """(head outputs, observations) at the masked pixels of the validation patches."""
        outputs = HeadOutputs(net, supervised=False, amp=False)
        with torch.no_grad():
            for batch in self._val:
                yield (outputs(batch.inputs.cpu(), batch.index.cpu()),
                       self.model.denormalise(batch.targets.reshape(-1).cpu()))
