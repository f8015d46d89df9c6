"""Calibration data: frames of a static scene, or a signal with noisy observations of it, as
(signal, observation) pairs of one shape for the noise-model fits."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from ..data.images import as_planes, as_stack
from ..errors import PN2VError
from .clipping import clip_limits


class MeanFit:
    """A mean image fitted to single frames by a gain and an offset (least squares).

    The frames of a static scene still drift: bleaching and illumination change their
    brightness (FMD's confocal frames: the first ones 9 % dimmer than their average at bright
    pixels). Taking the plain mean as every frame's signal adds that drift to the noise and
    widens p(x | s); noise has mean zero, so the fit recovers each frame's own signal.
    """

    def __init__(self, mean: np.ndarray) -> None:
        mean = np.asarray(mean, dtype=np.float64)
        self.centred = mean - mean.mean()
        self._spread = float((self.centred**2).sum())

    def gain(self, frame: np.ndarray) -> tuple[float, float]:
        """(level, gain) of the mean fitted to ``frame``."""
        level = float(frame.mean(dtype=np.float64))
        if not self._spread > 0:
            return level, 1.0
        return level, float((self.centred * (frame - level)).sum()) / self._spread

    def signal(self, frame: np.ndarray) -> np.ndarray:
        """The mean fitted to ``frame``, as float32."""
        level, gain = self.gain(frame)
        return (level + gain * self.centred).astype(np.float32)


class CalibrationStack:
    """Frames of a static scene, read frame by frame: each frame's (signal, observation) pair
    is made when it is asked for (:meth:`pair`), so a noise model made from them needs a few
    planes of memory however long the stack is (the stack itself stays in its own type).

    Each frame's signal is the per-pixel mean over frames, fitted to that frame
    (:class:`MeanFit`). Each frame is one of the n frames its mean is made of, so it lies
    closer to that mean than to the true signal: its deviations have (n − 1)/n of its noise's
    variance (3/4 with 4 frames: a noise model 25 % too low, which makes the MMSE trust noisy
    pixels). The observations are the frames with their deviations from the signal widened by
    √(n/(n − 1)); clipped values (at 0, the type's maximum) stay where they are, as measured.
    """

    def __init__(self, stack: np.ndarray) -> None:
        self.frames = as_planes(stack, name="calibration stack")
        n = len(self.frames)
        if n < 2:
            raise PN2VError("a calibration stack needs at least 2 frames of the same scene; got 1")
        mean = np.zeros(self.frames.shape[1:], np.float64)
        for frame in self.frames:
            mean += frame
        self._fit = MeanFit(mean / n)
        self._widen = np.float32(np.sqrt(n / (n - 1)))
        self.limits = clip_limits(self.frames)

    def __len__(self) -> int:
        return len(self.frames)

    def pair(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(signal, observation) of frame ``i`` as float32 planes."""
        signal = self._fit.signal(self.frames[i])
        frame = self.frames[i].astype(np.float32)
        widened = signal + (frame - signal) * self._widen
        if not self.limits:
            return signal, widened
        return signal, np.where(np.isin(self.frames[i], self.limits), frame, widened)

    def pairs(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        return (self.pair(i) for i in range(len(self)))

    def stacked(self, frames: Iterable[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(signals, observations) of ``frames`` (default: all) as float32 stacks, for the
        fits and plots that need the pairs at once."""
        indices = range(len(self)) if frames is None else frames
        signals, observations = zip(*(self.pair(i) for i in indices), strict=True)
        return np.stack(signals), np.stack(observations)

    def contrasts(self) -> np.ndarray:
        """Each frame's fitted signal's standard deviation (its contrast)."""
        spread = float(self._fit.centred.std())
        return np.array([abs(self._fit.gain(frame)[1]) * spread for frame in self.frames])


def calibration_pairs(stack: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(signals, observations) of a calibration stack (:class:`CalibrationStack`) as float32
    stacks of the same shape, for the fits that need every pair at once."""
    return CalibrationStack(stack).stacked()


def frame_signals(mean: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """``mean`` fitted to each of ``frames`` (:class:`MeanFit`), (N, Y, X) float32."""
    fit = MeanFit(mean)
    return np.stack([fit.signal(frame) for frame in frames])


#: calibration stacks with fewer frames get a warning (:func:`few_frames_warning`)
FEW_FRAMES = 10


def few_frames_warning(frames: int) -> str | None:
    """A warning for a stack too short to calibrate with: the per-pixel mean that serves as
    each frame's signal keeps 1/n of the noise and holds the frame itself (a histogram of FMD's
    4 mouse frames cost 1.7 dB against the prior mean, unseen by the guard)."""
    if frames >= FEW_FRAMES:
        return None
    return (
        f"only {frames} calibration frames: their mean is too noisy to serve as the signal "
        f"({FEW_FRAMES}+ frames, ideally 20 or more); without a longer stack, estimate a "
        "Poisson–Gaussian model from the images or bootstrap one instead"
    )


#: frame-to-frame contrast changes below this fraction go unmentioned
DRIFT_NOTE = 0.02


def drift_note(spread: np.ndarray) -> str | None:
    """A line for the user when the frames' fitted signals differ in contrast (``spread``:
    their standard deviations, :meth:`CalibrationStack.contrasts`) by more than
    :data:`DRIFT_NOTE`: the drift is corrected, but worth knowing."""
    if len(spread) < 2 or not spread.mean() > 0:
        return None
    gains = spread / spread.mean()
    if max(abs(gains.max() - 1), abs(gains.min() - 1)) <= DRIFT_NOTE:
        return None
    return (
        f"the calibration frames' contrast drifts from {gains.min():.2f}× to "
        f"{gains.max():.2f}× their mean (bleaching or illumination?); each frame is "
        "compared with the mean fitted to its brightness, so the drift is not taken for "
        "noise"
    )


def signal_per_observation(
    signal: np.ndarray, observations: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(signals, observations) as float32 stacks of one shape, from one signal image (shared
    by every observation) or one signal per observation."""
    signal = as_stack(signal, name="signal")
    observations = as_stack(observations, name="observations")
    if signal.shape[1:] != observations.shape[1:] or signal.shape[0] not in (
        1,
        observations.shape[0],
    ):
        raise PN2VError(
            f"signal ({signal.shape[0]} plane(s) of {signal.shape[1]}×"
            f"{signal.shape[2]}) and observations ({observations.shape[0]} of "
            f"{observations.shape[1]}×{observations.shape[2]}) do not match: give "
            "one signal image, or one per observation"
        )
    return np.broadcast_to(signal, observations.shape), observations
