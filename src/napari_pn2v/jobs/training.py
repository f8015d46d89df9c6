"""Training, from plain data and the configurations: the one place that checks a training's
rules (a noise model for PN2V, targets for the supervised mode, what a bootstrap needs) and
builds the trainer, for ``pn2v train`` and the training widget.

A :class:`TrainingJob` is filled in by a front end, :meth:`TrainingJob.check` refuses what
cannot work before any data is read, :meth:`TrainingJob.start` builds the :class:`TrainingRun`
(lazy images too big to load stay on disk), which yields progress events.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from ..backend.errors import PN2VError
from ..backend.network.config import ModelConfig
from ..backend.training.config import Progress, TrainConfig
from .noise_model import NoiseModelJob


@dataclass
class TrainingJob:
    """What to train on and how, as plain data (arrays, configurations, models)."""

    #: images to train on: arrays or lazy arrays (dask, zarr, memory-mapped)
    images: list
    config: TrainConfig = field(default_factory=TrainConfig)
    network: ModelConfig = field(default_factory=ModelConfig)
    #: PN2V's noise model (any kind); a resumed model's is replaced by it when given
    noise_model: object | None = None
    #: no noise model: train N2V first with the same settings and fit this kind ("histogram"
    #: or "gmm") to its predictions
    bootstrap: str | None = None
    #: a model to train further (its network settings are kept)
    resume: object | None = None
    #: clean images, one per image (supervised mode only)
    targets: list | None = None
    #: noisy images of other scenes to validate on (N2V, PN2V)
    validation: list | None = None
    #: one of several processes that torchrun started
    distributed: bool = False

    @property
    def mode(self) -> str:
        return (self.resume.config if self.resume is not None else self.network).mode

    def check(self) -> None:
        """Refuse what cannot work, before any data is read."""
        if self.resume is None:
            if self.bootstrap and self.distributed:
                raise PN2VError(
                    "--bootstrap runs in one process: make the noise model first "
                    "('pn2v noise-model --kind bootstrap'), then train with "
                    "torchrun"
                )
            if self.bootstrap and (self.noise_model is not None or self.mode != "pn2v"):
                raise PN2VError(
                    "--bootstrap makes the noise model of a pn2v training; it goes "
                    "without --noise-model and other modes"
                )
            if self.mode == "pn2v" and self.noise_model is None and not self.bootstrap:
                raise PN2VError(
                    "PN2V needs a noise model: build one ('pn2v noise-model', the "
                    "noise-model widget), give --bootstrap histogram|gmm, or train "
                    "N2V"
                )
        elif self.mode == "pn2v" and self.noise_model is None and self.resume.noise_model is None:
            raise PN2VError("PN2V needs a noise model: build one or train N2V")
        if (self.mode == "supervised") != (self.targets is not None):
            raise PN2VError("--target FILE... goes with, and only with, --mode supervised")

    def noise_model_job(self) -> NoiseModelJob | None:
        """The bootstrap that makes the noise model first, if one is asked for."""
        if not self.bootstrap:
            return None
        return NoiseModelJob(
            "bootstrap",
            images=self.images,
            fit=self.bootstrap,
            training=self.config,
            network=self.network,
        )

    def bootstrapped(self, noise_model) -> None:
        """The bootstrap is done: train PN2V with the noise model it made."""
        self.noise_model, self.bootstrap = noise_model, None

    def start(self) -> TrainingRun:
        """Build the trainer (reading and checking the data); lazy images stay lazy when
        they are too big to load."""
        from ..backend.data.lazy import load_if_small
        from ..backend.training.trainer import Trainer

        self.check()
        if self.bootstrap:
            raise PN2VError("run the bootstrap (noise_model_job) before training")
        images = [load_if_small(image) for image in self.images]
        validation = (
            None if self.validation is None else [load_if_small(image) for image in self.validation]
        )
        model = self.resume
        if model is not None and self.noise_model is not None and model.is_probabilistic:
            model.noise_model = self.noise_model
        trainer = Trainer(
            images,
            self.config,
            None if model is not None else self.network,
            noise_model=self.noise_model,
            model=model,
            targets=self.targets,
            validation=validation,
        )
        return TrainingRun(trainer)


class TrainingRun:
    """A training under way: iterate for progress events (stop between any two); the best
    model so far is always there."""

    def __init__(self, trainer) -> None:
        self.trainer = trainer

    def __iter__(self) -> Iterator[Progress]:
        return iter(self.trainer)

    @property
    def steps(self) -> int | None:
        """Steps to train, or None under a time budget."""
        config = self.trainer.config
        return None if config.time_budget else config.epochs * config.steps_per_epoch

    @property
    def warnings(self) -> list[str]:
        """About the data, known before training (noise model coverage)."""
        return self.trainer.warnings

    def describe(self) -> str:
        """E.g. "pn2v (2-D) on 3 plane(s) with CPU only (no CUDA GPU found by this torch)"."""
        from ..backend.devices import describe_device

        trainer = self.trainer
        units = "Z stack(s)" if trainer.dims == 3 else "plane(s)"
        processes = f" in each of {trainer.world_size} processes" if trainer.world_size > 1 else ""
        return (
            f"{trainer.model.config.mode} ({trainer.dims}-D) on {trainer.n_planes} "
            f"{units} with {describe_device(trainer.device)}{processes}"
        )

    def request_stop(self) -> None:
        """From any thread: stop within about a second, keeping the best model so far."""
        self.trainer.request_stop()

    def best_model(self):
        """The best model so far, with its spread and guard chosen for prediction."""
        return self.trainer.best_model()

    @property
    def finishing(self) -> str | None:
        """What :meth:`best_model` still does once training has ended, when it takes time."""
        trainer = self.trainer
        if trainer.model.is_probabilistic and trainer.config.spread_calibration:
            return "choosing the prior's spread for the best model (SURE; seconds)"
        return None

    @property
    def best_val_loss(self) -> float | None:
        return self.trainer.best_val_loss

    @staticmethod
    def messages(model) -> list[str]:
        """What the guard found about a trained model's noise model (none when all is well)."""
        return model.noise_check.messages() if model.noise_check is not None else []

    @staticmethod
    def summary(model, best_val_loss: float | None) -> str:
        """E.g. "best validation loss 3.21, prior spread ×0.5"."""
        parts = []
        if best_val_loss is not None:
            parts.append(f"best validation loss {best_val_loss:.5g}")
        if model.is_probabilistic:
            parts.append(f"prior spread ×{model.spread_scale:.3g} for prediction")
        return ", ".join(parts)
