"""Training, from plain data and the configurations: the one place that checks a training's
rules (a noise model for PN2V, targets for the supervised mode, what a bootstrap needs) and
builds the trainer, for ``pn2v train`` and the training widget.

A :class:`TrainingJob` is filled in by a front end, :meth:`TrainingJob.check` refuses what
cannot work before any data is read, :meth:`TrainingJob.start` builds the :class:`TrainingRun`
(lazy images too big to load stay on disk), which yields progress events. Multi-channel
images (``channels``: the channel axis first) train one model per channel, one channel after
the other, each with its own noise model: a :class:`ChannelTrainingRun`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..backend.errors import PN2VError
from ..backend.network.config import ModelConfig
from ..backend.training.config import Progress, TrainConfig
from .channels import channel_progress
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
    #: PN2V: an N2V model of the same network (the bootstrap's; one per channel) whose
    #: network PN2V starts from, its output as the prior's location
    start_from: object | None = None
    #: clean images, one per image (supervised mode only)
    targets: list | None = None
    #: noisy images of other scenes to validate on (N2V, PN2V)
    validation: list | None = None
    #: one of several processes that torchrun started
    distributed: bool = False
    #: the images (targets, validation images) have channels on their first axis: one model
    #: per channel, with the noise model's channel (a multi-channel noise model) each
    channels: bool = False
    #: the channels' names, for messages and the model file
    channel_names: list[str] | None = None

    @property
    def mode(self) -> str:
        return (self.resume.config if self.resume is not None else self.network).mode

    def check(self) -> None:
        """Refuse what cannot work, before any data is read."""
        if self.resume is None:
            if self.bootstrap and self.distributed:
                raise PN2VError(
                    "a bootstrapped noise model is made in one process: make it first (a "
                    "bootstrap noise model), then train on several"
                )
            if self.bootstrap and (self.noise_model is not None or self.mode != "pn2v"):
                raise PN2VError(
                    "bootstrapping makes the noise model of a PN2V training: not with a "
                    "noise model given, nor for other modes"
                )
            if self.mode == "pn2v" and self.noise_model is None and not self.bootstrap:
                raise PN2VError(
                    "PN2V needs a noise model: build one (bootstrapped from the noisy images "
                    "if there is no calibration data), or train N2V"
                )
        elif self.mode == "pn2v" and self.noise_model is None and self.resume.noise_model is None:
            raise PN2VError("PN2V needs a noise model: build one or train N2V")
        if (self.mode == "supervised") != (self.targets is not None):
            raise PN2VError("clean targets go with, and only with, supervised training")

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
            channels=self.channels,
            channel_names=self.channel_names,
        )

    def bootstrapped(self, made) -> None:
        """The bootstrap is done: train PN2V with the noise model it made (a
        :class:`NoiseModelResult`), starting from the N2V it trained."""
        self.noise_model, self.start_from, self.bootstrap = made.model, made.n2v, None

    def start(self) -> TrainingRun | ChannelTrainingRun:
        """Build the trainer (reading and checking the data); lazy images stay lazy when
        they are too big to load."""
        from ..backend.training.trainer import Trainer

        self.check()
        if self.bootstrap:
            raise PN2VError("run the bootstrap (noise_model_job) before training")
        if self.channels:
            return self._per_channel()
        arguments = self._trainer_arguments()
        trainer = Trainer(**arguments)
        smaller = self._network_for_budget(trainer)
        if smaller is not None:  # the data stay read: not a second trainer
            trainer.use_network(smaller[0])
            trainer.warnings.insert(0, smaller[1])
        trainer.warnings += self._masking_changed(arguments["model"])
        return TrainingRun(trainer)

    def _masking_changed(self, model) -> list[str]:
        """A resumed ``model`` trains on with the settings given, not its file's: said where
        what masked pixels show changes (files from before the choice showed a random
        neighbour)."""
        if model is None or not model.training:
            return []
        before = model.training.get("replacement", "neighbour")
        if before == self.config.replacement:
            return []
        return [
            f"the model was trained with masked pixels showing the {REPLACED[before]}; it "
            f"trains on with the {REPLACED[self.config.replacement]} (--replacement / "
            f"'Masked pixels show': {before} keeps it)"
        ]

    def run(self):
        """Train to the end (a script's way: no progress shown) and give the best model."""
        run = self.start()
        for _ in run:
            pass
        return run.best_model()

    def _network_for_budget(self, trainer) -> tuple[ModelConfig, str] | None:
        """The training configuration's smaller network for a short budget, at the pace
        measured here (a few steps, before the budget's clock starts). One process only:
        torchrun's would each measure their own."""
        if self.resume is not None or self.start_from is not None or self.distributed:
            return None  # the network is given (the resumed model's, or the N2V's)
        return self.config.network_for_budget(self.network, trainer.seconds_per_step)

    def _per_channel(self) -> ChannelTrainingRun:
        """One job per channel, on views of that channel; a time budget is shared evenly."""
        from ..backend.data.channels import numbered
        from ..backend.network.channels import ChannelModels
        from ..backend.noise.channels import ChannelNoiseModels
        from .channels import count_channels, split_by_channel

        lists = ("images", "targets", "validation")
        count = count_channels(self, lists=lists, what="images")
        names = self.channel_names or numbered(count)
        config = self.config
        if config.time_budget:
            config = dataclasses.replace(config, time_budget=config.time_budget / count)
        each = {
            "noise_model": ChannelNoiseModels.each(self.noise_model, count),
            "resume": ChannelModels.each(self.resume, count),
            "start_from": ChannelModels.each(self.start_from, count),
        }
        jobs = split_by_channel(self, count, lists=lists, each=each, config=config)
        return ChannelTrainingRun([job.start() for job in jobs], names)

    def _trainer_arguments(self) -> dict:
        from ..backend.data.lazy import load_if_small
        from ..backend.network.channels import ChannelModels
        from ..backend.noise.channels import ChannelNoiseModels

        images = [load_if_small(image) for image in self.images]
        validation = (
            None if self.validation is None else [load_if_small(image) for image in self.validation]
        )
        # a model or noise model of several channels is refused for one
        model = ChannelModels.each(self.resume, 1)[0]
        noise_model = ChannelNoiseModels.each(self.noise_model, 1)[0]
        if model is not None and noise_model is not None and model.is_probabilistic:
            model.noise_model = noise_model
        start = ChannelModels.each(self.start_from, 1)[0]
        if model is not None or self.mode != "pn2v":
            start = None  # a resumed model trains on; other modes start fresh
        return dict(
            images=images,
            config=self.config,
            model_config=None if model is not None else self.network,
            noise_model=noise_model,
            model=model,
            targets=self.targets,
            validation=validation,
            start_from=start,
        )


#: what masked pixels show, by TrainConfig.replacement, in words
REPLACED = {"neighbour": "value of a random neighbour", "median": "median of their neighbours"}


def start_for(n2v, network: ModelConfig, channels: int):
    """``n2v`` (the N2V a bootstrap trained for the noise model in use) where a PN2V training
    of ``network`` on images of ``channels`` channels can start from it, else None: another
    network or channel count trains from scratch (the widgets' case: the noise model was
    made in one panel, the training is set up in another)."""
    from ..backend.network.model import PN2VModel

    if n2v is None:
        return None
    count = len(n2v) if hasattr(n2v, "models") else 1
    if count != channels or PN2VModel.start_problem(n2v.config, network):
        return None
    return n2v


def warm_up() -> None:
    """Make the imports a first training makes, once per process: torch's first optimiser
    alone imports some 800 modules (torch._dynamo, sympy; 1.2 s here), partly holding the
    GIL. Run in a worker thread when the training widget docks, they no longer stall the
    viewer during its first training."""
    import torch

    from ..backend.training import trainer  # noqa: F401 - imported for its imports (scipy)

    torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))])


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
        """E.g. "pn2v (2-D, 64 features) on 3 plane(s) with CPU only (no CUDA GPU found by
        this torch), in float32"; the features as trained (a short time budget may have halved
        them) and the arithmetic (``precision`` auto: bfloat16 on a GPU or AMX units)."""
        from ..backend.devices import describe_device
        from ..backend.network.shuffle import every

        trainer = self.trainer
        config = trainer.model.config
        units = "Z stack(s)" if trainer.dims == 3 else "plane(s)"
        processes = f" in each of {trainer.world_size} processes" if trainer.world_size > 1 else ""
        s = trainer.model.shuffle  # pixel shuffle: the planes are the images' sub-images
        units += f" (sub-images of {every(s)})" if s > 1 else ""
        return (
            f"{config.mode} ({trainer.dims}-D, {config.features} features) on {trainer.n_planes} "
            f"{units} with {describe_device(trainer.device)}{processes}, "
            f"in {'bfloat16' if trainer.bfloat16 else 'float32'}"
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
            return "choosing the prior's spread for the best model (SURE; a minute or two on a CPU)"
        return None

    @property
    def best_val_loss(self) -> float | None:
        return self.trainer.best_val_loss

    @staticmethod
    def messages(model) -> list[str]:
        """What the guard found about a trained model's noise model, and whether a start from
        N2V was kept (none when all is well)."""
        if hasattr(model, "models"):  # one model per channel
            from ..backend.data.channels import named

            return named(model.names, map(TrainingRun.messages, model.models))
        found = model.noise_check.messages() if model.noise_check is not None else []
        if model.training.get("start_from") == "n2v" and model.epochs_trained == 0:
            found.insert(
                0,
                "no finished PN2V epoch's prior mean came as close to the validation data as "
                "the N2V it started from (or training stopped before one finished): the model "
                "kept is that start (N2V's estimate as the prior mean, the spread chosen for it)",
            )
        return found

    @staticmethod
    def summary(model, best_val_loss: float | None) -> str:
        """E.g. "best validation loss 3.21, prior spread ×0.5"."""
        if hasattr(model, "models"):  # one model per channel
            return "; ".join(
                f"{name}: {TrainingRun.summary(member, None) or 'trained'}"
                for name, member in zip(model.names, model.models, strict=True)
            )
        parts = []
        if best_val_loss is not None:
            parts.append(f"best validation loss {best_val_loss:.5g}")
        if model.is_probabilistic:
            parts.append(f"prior spread ×{model.spread_scale:.3g} for prediction")
        return ", ".join(parts)


class ChannelTrainingRun(TrainingRun):
    """The trainings of a multi-channel image's channels, one after the other, as one run:
    progress events name their channel, a stop ends the whole run."""

    def __init__(self, runs: list[TrainingRun], names: list[str]) -> None:
        self.runs, self.names = runs, names
        self.started = 0
        self._stopped = False

    def __iter__(self) -> Iterator[Progress]:
        offset = 0.0  # seconds the channels before took
        budget = self.runs[0].trainer.config.time_budget
        total = None if budget is None else 60.0 * budget * len(self.runs)
        for run in self.runs:
            if self._stopped:
                return
            self.started += 1
            elapsed = 0.0
            for event in run:
                elapsed = event.elapsed
                yield channel_progress(
                    event,
                    self.names,
                    self.started - 1,
                    elapsed=offset + elapsed if total else elapsed,
                    time_limit=total,
                )
            offset += elapsed

    @property
    def steps(self) -> int | None:
        steps = [run.steps for run in self.runs]
        return None if None in steps else sum(steps)

    @property
    def warnings(self) -> list[str]:
        from ..backend.data.channels import named

        return named(self.names, (run.warnings for run in self.runs))

    def describe(self) -> str:
        return f"{len(self.runs)} channels one after the other, each {self.runs[0].describe()}"

    def request_stop(self) -> None:
        """From any thread: the channel training now stops, and no further one starts."""
        self._stopped = True
        for run in self.runs:
            run.request_stop()

    def best_model(self):
        """Every channel's best model, as one :class:`ChannelModels`; refused when a stop came
        before every channel had trained."""
        from ..backend.network.channels import ChannelModels

        if self.started < len(self.runs):
            raise PN2VError(
                f"stopped before {self.names[self.started]} was trained "
                f"({self.started} of {len(self.runs)} channels): no model to keep"
            )
        return ChannelModels([run.best_model() for run in self.runs], self.names)

    @property
    def finishing(self) -> str | None:
        return self.runs[0].finishing

    @property
    def best_val_loss(self) -> float | None:
        """The last channel's (each channel's is in the model's summary)."""
        return self.runs[-1].best_val_loss
