"""How to train, and the presets: plain Python (no torch), read by the engine, the ``pn2v``
help, the widgets' forms and the benchmarks alike."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import PN2VError
from ..network.config import INITIAL_SPREAD, ModelConfig
from ..options import option

HOLDOUTS = ("frames", "region")
#: what trains a location-scale prior's mean: N2V's squared error alone, or with the likelihood
PRIOR_MEAN_LOSSES = ("squared-error", "joint")
DEVICES = ("auto", "cpu", "cuda", "mps")
#: the U-Net body's arithmetic: ``auto`` = bfloat16 on a CUDA GPU (and, for training, on a CPU
#: with AMX units), float32 elsewhere
PRECISIONS = ("auto", "float32", "bfloat16")
#: a time budget that gives the network fewer steps than this trains one with half the
#: features instead: on FMD (batches of 4 × 96², three seeds) a 64-feature network given
#: 41–152 steps scored 0.3–3.3 dB below a 32-feature one trained as long (7 of 7 pairs),
#: given 231–398 steps 0.3–0.7 dB above it (3 of 3; benchmarks/results/budget-fmd-pn2v-f*)
SHORT_BUDGET_STEPS = 180
#: the fewest features a network is halved to
MIN_FEATURES = 8
#: the blind spot's neighbourhood: a masked pixel takes the value of another pixel of its
#: 5×5 (5×5×5) window
NEIGHBOURHOOD = 5
#: what a masked pixel's value is replaced by: a random neighbour's (N2V) or the median of
#: its neighbours (N2V2)
REPLACEMENTS = ("neighbour", "median")


@dataclass
class TrainConfig:
    """How to train; the defaults are the paper's (Krull et al. 2020, section 5.3)."""

    epochs: int = option(200, "training epochs", label="Epochs", min=1, max=100_000)
    time_budget: float | None = option(
        None,
        "train for this many minutes instead of a number of epochs: the learning rate "
        "decays over the time (a cosine), epochs only pace validation, and the best model "
        "is kept",
        label="Train for (minutes)",
        min=0.0,
        max=10_000.0,
        step=1.0,
        none="epochs",
    )
    steps_per_epoch: int = option(
        50, "optimiser steps per epoch", label="Steps per epoch", min=1, max=100_000
    )
    batch_size: int = option(80, "patches per step", label="Batch size", min=1, max=4096)
    patch_size: int = option(
        100,
        "patch edge in pixels (a multiple of 2^(depth-1))",
        label="Patch size",
        min=8,
        max=1024,
        step=8,
    )
    patch_depth: int = option(
        16,
        "3-D networks: planes per patch (a multiple of 2^(depth-1))",
        label="Patch depth (3-D)",
        min=NEIGHBOURHOOD,
        max=256,
        step=4,
    )
    lr: float = option(
        1e-4,
        "initial Adam learning rate (halved on validation plateaus)",
        label="Learning rate",
        min=1e-6,
        max=1.0,
        step=1e-4,
    )
    val_fraction: float = option(
        0.1,
        "fraction of frames (or rows) held out for validation",
        label="Validation fraction",
        min=0.0,
        max=0.9,
        step=0.05,
    )
    #: whole "frames" (when there are enough), or a "region" — a strip of rows at the bottom
    #: of every frame. Held-out frames of one static scene show the network content it trains
    #: on, so only a region measures memorisation.
    holdout: str = option(
        "frames",
        "hold out whole frames, or a strip of rows of every frame "
        "('region': use it for many frames of one static scene, whose "
        "held-out frames the network has seen)",
        choices=HOLDOUTS,
    )
    device: str = option("auto", "auto = CUDA, then Apple MPS, then CPU", choices=DEVICES)
    precision: str = option(
        "auto",
        "the network's arithmetic: auto = bfloat16 on a CUDA GPU and on a CPU with AMX "
        "units (recent Xeons: 2-4x the steps a minute, the same PSNR on FMD), float32 "
        "elsewhere; bfloat16 asked for on a CPU without bfloat16 units is emulated, slower",
        choices=PRECISIONS,
    )
    seed: int | None = option(
        None,
        "random seed (reproducible on the CPU)",
        label="Seed",
        min=-1,
        max=1_000_000,
        none="random",
        advanced=True,
    )
    #: run the K-sample head at the masked pixels only; False = dense head (for benchmarks)
    sparse_head: bool = True
    lr_patience: int = 10
    lr_factor: float = 0.5
    weight_average: int = option(
        0,
        "validate and keep an exponential moving average of the weights over about this "
        "many steps (short, noisy trainings jump from step to step); 0 = the weights as "
        "trained",
        label="Average weights over (steps)",
        min=0,
        max=100_000,
        advanced=True,
    )
    fit_network_to_budget: bool = option(
        True,
        "under a time budget too short for the network (fewer than ~180 steps at the pace "
        "measured before training), train one with half the features: in the first "
        "minutes on a CPU a smaller network learns more (benchmarks/budget.py)",
        label="Fit the network to the time budget",
        advanced=True,
    )
    blind_radius: int | None = option(
        None,
        "hide the (2r+1)² block around each masked pixel, not the pixel alone, for noise "
        "correlated between neighbouring pixels (the network would learn a pixel's noise "
        "from its neighbours'); auto: as far as the training images' noise correlates "
        "(0 for independent noise)",
        label="Blind-spot radius",
        min=-1,  # the forms' stand-in for auto: 0 (the pixel alone) stays a choice
        max=4,
        none="auto",
        advanced=True,
    )
    shuffle: int | None = option(
        None,
        "for noise correlated between neighbouring pixels: train on the images' s² "
        "sub-images of every s-th pixel along Y and X, whose noise is independent, and "
        "average each estimate over s × s pixels (pixel shuffle; on FMD's widefield frames "
        "+1.2 dB, but detail finer than s pixels is averaged away); auto: the smallest s at "
        "which the sub-images' noise no longer correlates (1, the images as they are, for "
        "independent noise)",
        label="Pixel-shuffle stride",
        min=0,  # the forms' stand-in for auto
        max=4,
        none="auto",
        advanced=True,
    )
    replacement: str = option(
        "median",
        "what a masked pixel shows the network: the median of the others in its 5×5 window "
        "(N2V2, Höck et al. 2022; on FMD's low-SNR frames it gave N2V 0–0.8 dB more) or a "
        "random one of them (Noise2Void). With a blind-spot radius above 0 the hidden block "
        "always takes random pixels of the patch",
        label="Masked pixels show",
        choices=REPLACEMENTS,
        advanced=True,
    )
    val_patches: int = 64
    location_weight: float = option(
        1.0,
        "weight of N2V's squared error on the location-scale prior's mean, which "
        "makes PN2V learn as fast as N2V; 0 = PN2V loss alone (then the prior mean loss "
        "must be 'joint')",
        label="Location weight",
        min=0.0,
        max=100.0,
        step=0.1,
        advanced=True,
    )
    prior_mean_loss: str = option(
        "squared-error",
        "what trains the prior's mean: N2V's squared error alone, the likelihood shaping the "
        "samples about it (a noise model of the wrong shape cannot pull it off), or 'joint': "
        "the likelihood too (how earlier versions trained)",
        label="Prior mean from",
        choices=PRIOR_MEAN_LOSSES,
        advanced=True,
    )
    likelihood_body_weight: float = option(
        1.0,
        "PN2V: how much the likelihood's gradient trains the network's body (the head's "
        "spread and shape it always trains); 0: the body learns from N2V's squared error "
        "alone, so the prior mean is learned as N2V's",
        label="Likelihood's weight on the body",
        min=0.0,
        max=1.0,
        step=0.1,
        advanced=True,
    )
    initial_spread: float = option(
        INITIAL_SPREAD,
        "spread of a new location-scale prior, a fraction of the data's standard deviation",
        label="Initial spread",
        min=1e-3,
        max=10.0,
        step=0.05,
        advanced=True,
    )
    start_lr_factor: float = option(
        1.0,
        "PN2V started from an N2V model trains on at this fraction of the learning rate, to "
        "stay nearer N2V's estimate (on FMD's low-SNR frames 0.2 gained on some seeds and "
        "lost on others: docs/benchmarks.md)",
        label="Learning rate from N2V (×)",
        min=0.01,
        max=1.0,
        step=0.05,
        advanced=True,
    )
    #: optimiser steps during which a location-scale prior's K residuals keep their start (the
    #: samples stay normal quantiles around μ); 0 = they learn from the first step. An ablation:
    #: Adam moves every weight by ~lr per step however small its gradient.
    residual_delay: int = 0
    spread_calibration: bool = option(
        True,
        "PN2V: choose the prior's spread for prediction on held-out patches without "
        "clean data, and where the noise model holds (the guard); off: predict with the spread "
        "as trained (the published behaviour)",
        label="Calibrate spread",
        advanced=True,
    )

    def rate_at(self, fraction: float) -> float:
        """A time budget's learning rate after ``fraction`` of it: a cosine from ``lr`` to 0
        (planned over the budget, so a run that ends on time has also cooled down)."""
        return 0.5 * self.lr * (1 + math.cos(math.pi * min(fraction, 1.0)))

    def planned_epochs(self, epoch: int, step: int, elapsed: float) -> int:
        """The epochs to train: configured, or those the time budget allows at the pace of
        ``elapsed`` seconds to this step."""
        if self.time_budget is None:
            return self.epochs
        done = (epoch - 1) + step / self.steps_per_epoch
        return max(epoch, math.ceil(done * 60.0 * self.time_budget / max(elapsed, 1e-9)))

    def network_for_budget(
        self, network: ModelConfig, pace: Callable[[], float]
    ) -> tuple[ModelConfig, str] | None:
        """Half the features, and why, when the time budget gives ``network`` fewer than
        :data:`SHORT_BUDGET_STEPS` steps at the seconds a step ``pace()`` measures — only
        asked where the rule can apply (the short-budget rule; ``fit_network_to_budget`` off
        keeps the network)."""
        if not (self.time_budget and self.fit_network_to_budget):
            return None
        if network.features < 2 * MIN_FEATURES:
            return None
        seconds_per_step = pace()
        steps = 60 * self.time_budget / seconds_per_step
        if steps >= SHORT_BUDGET_STEPS:
            return None
        smaller = dataclasses.replace(network, features=network.features // 2)
        return smaller, (
            f"{self.time_budget:g} minutes give a network of {network.features} features "
            f"about {steps:.0f} steps here ({seconds_per_step:.2f} s a step): training one of "
            f"{smaller.features} features instead, which learns more in a short budget "
            "(turn off 'fit the network to the time budget' to keep it)"
        )

    def __post_init__(self) -> None:
        for name in ("epochs", "steps_per_epoch", "batch_size", "val_patches"):
            if int(getattr(self, name)) < 1:
                raise PN2VError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.patch_size < 8:
            raise PN2VError(f"patch size must be at least 8, got {self.patch_size}")
        if self.patch_depth < NEIGHBOURHOOD:
            raise PN2VError(f"patch depth must be at least {NEIGHBOURHOOD}, got {self.patch_depth}")
        if not 0 <= self.val_fraction < 1:
            raise PN2VError(f"val-fraction must be in [0, 1), got {self.val_fraction}")
        if not self.lr > 0:
            raise PN2VError(f"learning rate must be positive, got {self.lr}")
        if self.holdout not in HOLDOUTS:
            raise PN2VError(f"holdout must be one of {', '.join(HOLDOUTS)}, got {self.holdout!r}")
        if self.device not in DEVICES:
            raise PN2VError(f"device must be one of {DEVICES}, got {self.device!r}")
        if self.precision not in PRECISIONS:
            raise PN2VError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if not self.location_weight >= 0:
            raise PN2VError(f"location weight must be ≥ 0, got {self.location_weight}")
        if self.prior_mean_loss not in PRIOR_MEAN_LOSSES:
            raise PN2VError(
                f"prior mean loss must be one of {', '.join(PRIOR_MEAN_LOSSES)}, "
                f"got {self.prior_mean_loss!r}"
            )
        if self.location_weight == 0 and self.prior_mean_loss == "squared-error":
            raise PN2VError(
                "with a location weight of 0 nothing trains the prior's mean: "
                "use prior mean loss 'joint' (the PN2V loss alone)"
            )
        if self.time_budget is not None and not self.time_budget > 0:
            raise PN2VError(f"time budget must be positive, got {self.time_budget} minutes")
        if self.weight_average < 0:
            raise PN2VError(f"weight average must be ≥ 0 steps, got {self.weight_average}")
        if not 0 <= self.likelihood_body_weight <= 1:
            raise PN2VError(
                f"the likelihood's weight on the body must be in [0, 1], got "
                f"{self.likelihood_body_weight}"
            )
        if self.replacement not in REPLACEMENTS:
            raise PN2VError(
                f"replacement must be one of {', '.join(REPLACEMENTS)}, got {self.replacement!r}"
            )
        if self.shuffle is not None and not 1 <= self.shuffle <= 4:
            raise PN2VError(f"pixel-shuffle stride must be 1–4, got {self.shuffle}")
        if self.blind_radius is not None and not 0 <= self.blind_radius <= 4:
            raise PN2VError(f"blind-spot radius must be 0–4 pixels, got {self.blind_radius}")
        if self.residual_delay < 0:
            raise PN2VError(f"residual delay must be ≥ 0, got {self.residual_delay}")
        if not 0 < self.start_lr_factor <= 1:
            raise PN2VError(f"start lr factor must be in (0, 1], got {self.start_lr_factor}")
        if not self.initial_spread > 0:
            raise PN2VError(f"initial spread must be positive, got {self.initial_spread}")


#: named settings on top of the defaults: "paper" is the paper's (a GPU job); "quick" trains a
#: useful model in a few minutes on a laptop CPU
PRESETS: dict[str, dict] = {
    "paper": {},
    "quick": dict(epochs=20, steps_per_epoch=25, batch_size=8, patch_size=64, lr=5e-4),
}
QUICK = PRESETS["quick"]
#: the settings a preset decides, which options given on top may override
PRESET_FIELDS = (
    "epochs",
    "steps_per_epoch",
    "batch_size",
    "patch_size",
    "patch_depth",
    "lr",
    "val_fraction",
)


def preset(name: str, **overrides: object) -> TrainConfig:
    """The configuration of a named preset, with ``overrides`` on top."""
    if name not in PRESETS:
        raise PN2VError(f"preset must be one of {', '.join(PRESETS)}, got {name!r}")
    return TrainConfig(**{**PRESETS[name], **overrides})


def describe_preset(name: str) -> str:
    """E.g. "200 epochs × 50 steps × batch 80 of 100² patches, lr 0.0001"."""
    c = preset(name)
    return (
        f"{c.epochs} epochs × {c.steps_per_epoch} steps × batch {c.batch_size} of "
        f"{c.patch_size}² patches, lr {c.lr:g}"
    )


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
    #: seconds the training may take (a time budget), or None: the epochs decide
    time_limit: float | None = None
    #: which channel trains, in a multi-channel training (e.g. "channel 1 (2/2)")
    channel: str | None = None

    @property
    def fraction(self) -> float:
        if self.time_limit is not None:
            return min(self.elapsed / self.time_limit, 1.0)
        return ((self.epoch - 1) * self.steps + self.step) / (self.epochs * self.steps)

    @property
    def remaining(self) -> float:
        """Seconds left: of the time budget, or at the pace so far."""
        if self.time_limit is not None:
            return max(self.time_limit - self.elapsed, 0.0)
        return self.elapsed * (1 - self.fraction) / max(self.fraction, 1e-9)
