"""Building a noise model of any kind, from plain data: the one place that knows which data each
kind takes, for the ``pn2v noise-model`` command, the noise-model widget and the bootstrap of
``pn2v train``.

:meth:`NoiseModelJob.steps` is a generator: it yields training progress while a bootstrap trains
N2V (so a caller may show it, or stop between two steps) and returns the result. Multi-channel
data (``channels``: the channel axis first) gives one noise model per channel, each built from
its channel alone, in one :class:`~..backend.noise.channels.ChannelNoiseModels`.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field

import numpy as np

from ..backend.errors import PN2VError, Stopped
from ..backend.network.config import ModelConfig
from ..backend.noise.bootstrap import FITS
from ..backend.options import option
from ..backend.training.config import Progress, TrainConfig, preset

KINDS = ("histogram", "gmm", "poisson-gaussian", "bootstrap")
#: degrees of a GMM's polynomials of the signal
DEGREES = (0, 1, 2, 3, 4)
#: the data each kind is built from
SOURCES = {
    "histogram": ("calibration", "signal"),
    "gmm": ("calibration", "signal"),
    "poisson-gaussian": ("camera", "images"),
    "bootstrap": ("images",),
}
#: a source in words that fit the command line and the widget alike
SOURCE_NAMES = {
    "calibration": "a calibration stack",
    "signal": "a signal image with noisy observations of it",
    "images": "noisy images",
    "camera": "camera parameters",
}


def check_source(
    kind: str,
    given: list[str],
    as_histogram: bool = False,
    value_range: tuple[float, float] | None = None,
) -> str:
    """The source of a ``kind`` among the data ``given`` (names of :data:`SOURCES`' entries and
    "observations"); refuses none, two, or one the kind does not take."""
    if kind not in KINDS:
        raise PN2VError(f"noise model kind must be one of {KINDS}, got {kind!r}")
    if ("signal" in given) != ("observations" in given):
        raise PN2VError(
            "a signal image needs noisy observations of it"
            if "signal" in given
            else "noisy observations need the signal image they observe"
        )
    allowed = SOURCES[kind]
    # camera parameters may come with images, which are then only shown against them
    main = [
        name
        for name in given
        if name != "observations" and not (name == "images" and "camera" in given)
    ]
    if len(main) != 1 or main[0] not in allowed:
        names = " or ".join(SOURCE_NAMES[s] for s in allowed)
        what = f", not {SOURCE_NAMES[main[0]]}" if len(main) == 1 else ""
        raise PN2VError(f"a {kind} noise model is built from {names}{what}")
    if as_histogram and "camera" in given and value_range is None:
        raise PN2VError(
            "a Poisson–Gaussian model from camera parameters saved as a histogram needs the "
            "intensity range to cover"
        )
    return main[0]


@dataclass
class NoiseModelResult:
    """A noise model, what the user should know, and (for plots) the data it was made from."""

    model: object
    notes: list[str] = field(default_factory=list)  # worth knowing (calibration drift)
    warnings: list[str] = field(default_factory=list)  # pixels left out, correlated noise
    levels: object | None = None  # NoiseLevelData: measured noise std against signal
    pairs: tuple[np.ndarray, np.ndarray] | None = None  # (signal, observation) samples
    #: a multi-channel model's result per channel (their plot data)
    channels: list[NoiseModelResult] | None = None
    #: a bootstrap's N2V model: trained with the PN2V training's seed and settings, it is
    #: that training's paired baseline
    n2v: object | None = None


@dataclass
class NoiseModelJob:
    """What to build, as plain data (arrays, numbers), and how."""

    kind: str = "histogram"
    #: frames of a static scene (histogram, gmm)
    calibration: np.ndarray | None = None
    #: a clean signal image and noisy observations of it (histogram, gmm)
    signal: np.ndarray | None = None
    observations: np.ndarray | None = None
    #: noisy images: estimated from (poisson-gaussian), trained on (bootstrap), or shown
    #: against the camera parameters; a list of images, in memory or lazy
    images: list | None = None
    #: gain (grey levels per photon), offset (no light), read-noise std (poisson-gaussian)
    camera: tuple[float, float, float] | None = None
    bins: int = option(256, "histogram: bins per axis", label="Bins", min=2, max=4096)
    value_range: tuple[float, float] | None = None
    components: int = option(
        3, "gmm: Gaussians in the mixture", label="GMM components", min=1, max=10
    )
    degree: int = option(
        1,
        "gmm: degree of the polynomials of the signal that give each Gaussian's weight, "
        "mean and spread",
        label="GMM degree",
        choices=DEGREES,
    )
    min_std: float | None = option(
        None,
        "gmm, poisson-gaussian: smallest noise standard deviation (auto: half a grey level "
        "for integer data)",
        label="Minimum std",
        min=0.0,
        max=1e6,
        step=0.1,
        none="auto",
    )
    #: poisson-gaussian: make it a populated histogram over ``value_range``
    as_histogram: bool = option(
        False,
        "poisson-gaussian: save it as a populated histogram over the range",
        label="Save as histogram",
    )
    #: bootstrap: the kind fitted to N2V's predictions, and how N2V trains
    fit: str = option(
        "gmm",
        "bootstrap: the noise model fitted to N2V's predictions",
        label="Bootstrap fit",
        choices=FITS,
    )
    training: TrainConfig = field(default_factory=lambda: preset("quick"))
    network: ModelConfig = field(default_factory=ModelConfig)
    #: also return what the plots show (pairs, measured levels)
    plot_data: bool = False
    #: the data have channels on their first axis: one noise model per channel
    channels: bool = False
    #: the channels' names, for messages and the file
    channel_names: list[str] | None = None

    def source(self) -> str:
        """Which data was given; refuses none, two, or one the kind does not take."""
        given = [
            name
            for name in ("calibration", "signal", "observations", "images", "camera")
            if getattr(self, name) is not None
        ]
        return check_source(self.kind, given, self.as_histogram, self.value_range)

    def steps(self) -> Generator[Progress, None, NoiseModelResult]:
        """Build it: yields N2V's training progress while bootstrapping, returns the result."""
        source = self.source()
        if self.channels:
            return (yield from self._per_channel())
        if self.kind in ("histogram", "gmm"):
            return self._calibrated(source)
        if self.kind == "poisson-gaussian":
            return self._poisson_gaussian()
        return (yield from self._bootstrap())

    def request_stop(self) -> None:
        """From any thread: a bootstrap's N2V training stops within about a second, and no
        noise model is made."""
        trainer = getattr(self, "_trainer", None)
        if trainer is not None:
            trainer.request_stop()
        current = getattr(self, "_channel_job", None)
        if current is not None:
            self._stopped = True
            current.request_stop()

    def run(self) -> NoiseModelResult:
        """Build it without showing progress."""
        steps = self.steps()
        while True:
            try:
                next(steps)
            except StopIteration as done:
                return done.value

    # ---------------------------------------------------------------- kinds
    def _per_channel(self) -> Generator[Progress, None, NoiseModelResult]:
        """The same job on each channel's data alone; notes and warnings name the channel."""
        from ..backend.data.channels import named, numbered
        from ..backend.network.channels import ChannelModels
        from ..backend.noise.channels import ChannelNoiseModels
        from .channels import channel_progress, count_channels, split_by_channel

        arrays, lists = ("calibration", "signal", "observations"), ("images",)
        count = count_channels(self, arrays, lists)
        names = self.channel_names or numbered(count)
        results = []
        for c, job in enumerate(split_by_channel(self, count, arrays, lists)):
            if getattr(self, "_stopped", False):
                raise Stopped
            self._channel_job = job
            steps = job.steps()
            while True:  # a bootstrap's training progress, with its channel named
                try:
                    event = next(steps)
                except StopIteration as done:
                    results.append(done.value)
                    break
                yield channel_progress(event, names, c)
        n2v = [r.n2v for r in results]
        return NoiseModelResult(
            ChannelNoiseModels([r.model for r in results], names),
            notes=named(names, (r.notes for r in results)),
            warnings=named(names, (r.warnings for r in results)),
            channels=results,
            n2v=None if None in n2v else ChannelModels(n2v, names),
        )

    def _calibrated(self, source: str) -> NoiseModelResult:
        from ..backend.data.images import as_stack
        from ..backend.data.lazy import spaced_planes
        from ..backend.noise.calibration import CalibrationStack, drift_note, few_frames_warning
        from ..backend.noise.gmm import GaussianMixtureNoiseModel
        from ..backend.noise.histogram import HistogramNoiseModel

        notes, warnings = [], []
        if source == "calibration":  # read frame by frame: memory does not grow with frames
            calibration = CalibrationStack(self.calibration)
            notes += filter(None, [drift_note(calibration.contrasts())])
            warnings += filter(None, [few_frames_warning(len(calibration))])
        if source == "calibration" and self.kind == "histogram":
            model = HistogramNoiseModel.from_calibration(
                calibration, bins=self.bins, value_range=self.value_range
            )
        else:
            signal, observations = (
                calibration.stacked()
                if source == "calibration"
                else (self.signal, self.observations)
            )
            if self.kind == "histogram":
                model = HistogramNoiseModel.from_pairs(
                    signal, observations, bins=self.bins, value_range=self.value_range
                )
            else:
                model = GaussianMixtureNoiseModel.from_pairs(
                    signal,
                    observations,
                    components=self.components,
                    degree=self.degree,
                    min_std=self.min_std,
                )
        warnings += [model.note] if getattr(model, "note", None) else []
        result = NoiseModelResult(model, notes, warnings)
        if self.plot_data:
            if source == "calibration":
                frames = spaced_planes(len(calibration), 1, PLOT_FRAMES)
                signal, observations = calibration.stacked(frames)
            self._plot_pairs(result, signal, as_stack(observations, name="observations"))
        return result

    def _poisson_gaussian(self) -> NoiseModelResult:
        from ..backend.noise.diagnostics import NoiseLevelData
        from ..backend.noise.estimate import estimate_poisson_gaussian, noise_levels
        from ..backend.noise.poisson_gaussian import PoissonGaussianNoiseModel

        images = None if self.images is None else _stack(self.images)
        min_std = {} if self.min_std is None else {"min_std": self.min_std}
        found = None
        if self.camera is not None:
            model = PoissonGaussianNoiseModel.from_camera(*self.camera, **min_std)
            if images is not None and self.plot_data:  # shown against the model
                found = noise_levels(images)
        else:
            model, found = estimate_poisson_gaussian(images, **min_std)
        if self.as_histogram:
            model = model.to_histogram(self.bins, self.value_range)
        result = NoiseModelResult(model, warnings=list(found.messages) if found else [])
        if found is not None and self.plot_data:
            result.levels = NoiseLevelData(found.means, np.sqrt(found.variances), found.counts)
        return result

    def _bootstrap(self) -> Generator[Progress, None, NoiseModelResult]:
        """Train N2V on the images, predict them, fit the noise model to the pairs."""
        from ..backend.noise.bootstrap import Bootstrap

        self._trainer = bootstrap = Bootstrap(
            self.images, self.training, self.network, self.fit, self.bins
        )
        yield from bootstrap
        model, warnings, signals, observations = bootstrap.result()
        result = NoiseModelResult(model, warnings=warnings, n2v=bootstrap.n2v)
        if self.plot_data:
            self._plot_pairs(result, signals, observations)
        return result

    @staticmethod
    def _plot_pairs(
        result: NoiseModelResult, signals: np.ndarray, observations: np.ndarray
    ) -> None:
        from ..backend.noise.diagnostics import measured_levels, subsample_pairs

        result.pairs = subsample_pairs(signals, observations)
        result.levels = measured_levels(*result.pairs)


#: calibration frames the plot's pairs are drawn from (evenly spaced)
PLOT_FRAMES = 8


def _stack(images: list | np.ndarray) -> np.ndarray:
    """Images of one plane size as one array (the estimate's input)."""
    from ..backend.data.images import plane_views

    if isinstance(images, np.ndarray):
        return images
    arrays = [np.asarray(image) for image in images]
    shapes = {a.shape[-2:] for a in arrays}
    if len(shapes) > 1:
        raise PN2VError(f"input images differ in size: {sorted(shapes)}")
    return np.concatenate([plane_views(a) for a in arrays])
