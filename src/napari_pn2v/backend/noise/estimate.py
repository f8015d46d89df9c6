"""Estimating Poisson–Gaussian noise from the noisy images themselves (Foi et al. 2008).

A residual that cancels locally planar signal gives the noise level, a local mean the signal
level, in the smoothest regions at many signal levels; levels near a clipping limit are
unclipped from the mean and variance of their clipped values; the same residual with taps two
pixels apart tells noise that is correlated between neighbours. The measured curve (made
non-decreasing) is the model (:class:`.poisson_gaussian.PoissonGaussianNoiseModel`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage
from scipy.optimize import isotonic_regression

from ..data.images import as_planes
from ..errors import PN2VError
from .clipping import clip_limits, clipped_mask
from .poisson_gaussian import PoissonGaussianNoiseModel

#: residual filter: a separable second difference, unit gain for white noise (Σk² = 1);
#: it cancels every signal that is planar over 3 × 3 pixels
RESIDUAL_KERNEL = np.outer([1.0, -2.0, 1.0], [1.0, -2.0, 1.0]) / 6.0
#: points of an estimated variance curve (evenly spaced over the measured signals)
CURVE_POINTS = 64
#: a residual two pixels wide showing this many times the variance of one a pixel wide means
#: spatially correlated noise (white noise: 1.0–1.1 on FMD and synthetic data; FMD's
#: widefield camera: 6.4)
CORRELATED_RATIO = 1.5
#: correlated noise: the widest tap spacing of the residual tried (a blind spot of radius
#: up to one less)
MAX_SPACING = 5
#: the residual's variance grows by less than this from one tap spacing to the next: the noise
#: of pixels that far apart no longer correlates (FMD's widefield camera: ×6.0, ×1.6, ×0.95
#: from spacing 1 to 4)
PLATEAU = 1.15
#: a signal level whose pixels are clipped more often than this is left out
MAX_CLIPPED = 0.8
#: noise whose skewness stays below this at every level is modelled as Gaussian
MIN_SKEW = 0.1
#: Σk³ of the residual filter: the residual's third cumulant over the noise's (independent
#: noise); the residual's third moment over this measures the noise's
RESIDUAL_CUBES = float((RESIDUAL_KERNEL**3).sum())


@dataclass
class NoiseLevels:
    """What the estimate was fitted to: signal levels and the noise variance at each."""

    means: np.ndarray
    variances: np.ndarray
    counts: np.ndarray
    #: median ratio of a two-pixel-wide residual's variance to the one-pixel-wide's: ≈ 1 for
    #: noise independent from pixel to pixel, above :data:`CORRELATED_RATIO` for correlated
    correlation: float = 1.0
    #: for the user: clipped pixels left out, correlated noise
    messages: list[str] = field(default_factory=list)
    #: the noise's third cumulant at each level (NaN where clipping hides it)
    thirds: np.ndarray | None = None
    #: correlated noise: the blind spot's radius that hides the pixels whose noise correlates
    #: with a pixel's own (0 for independent noise); the levels are then measured with taps
    #: one more pixel apart, which gives each pixel's own noise, not the part that differs
    #: between neighbours
    blind_radius: int = 0

    @property
    def correlation_messages(self) -> list[str]:
        """What :attr:`messages` say of correlated noise (the blind spot's radius)."""
        return [m for m in self.messages if "correlated" in m]

    @property
    def skew_ratio(self) -> float:
        """The third cumulant over the variance, one number for all levels (it is one for
        photon counting, where both grow with the signal): the levels' ratios averaged with
        weights pixels / variance, as their standard errors go (a level's third moment is
        noisy: few pixels at a high variance give ratios far off either way); 0 where the
        skewness it gives stays below :data:`MIN_SKEW` at every level."""
        if self.thirds is None:
            return 0.0
        known = np.isfinite(self.thirds) & (self.variances > 0)
        if known.sum() < 2:
            return 0.0
        weights = self.counts[known] / self.variances[known]
        ratio = float(np.average(self.thirds[known] / self.variances[known], weights=weights))
        skewness = abs(ratio) / np.sqrt(self.variances[known])
        return ratio if skewness.max() >= MIN_SKEW else 0.0


#: robust standard deviations beyond which residuals count as edges, not noise
TRIM = 6.0
#: the share of a standard normal's variance within ±TRIM
_TRIMMED_SHARE = 1 - 2 * TRIM * math.exp(-(TRIM**2) / 2) / math.sqrt(2 * math.pi) / math.erf(
    TRIM / math.sqrt(2)
)


def _trimmed(values: np.ndarray) -> np.ndarray:
    """The values within :data:`TRIM` robust standard deviations (1.4826 · MAD) of their
    median: a few edges are left out."""
    values = values.astype(np.float64)
    centre = np.median(values)
    spread = 1.4826 * np.median(np.abs(values - centre))
    return values[np.abs(values - centre) <= TRIM * spread] if spread > 0 else values


def _robust_variance(values: np.ndarray) -> float:
    """The variance of the values within :data:`TRIM` robust standard deviations (1.4826 ·
    MAD) of their median, scaled by the share of a Gaussian's variance kept there: a few edges
    do not move it, and unlike (1.4826 · MAD)² it is right for noise that is not Gaussian.
    (MAD put the noise of FMD's two-photon frames 7–9 % low at every signal level, so the MMSE
    trusted pixels too much and fell 0.2 dB below its prior mean; trimmed, within 3 %.)"""
    kept = _trimmed(values)
    return float(kept.var() / _TRIMMED_SHARE) if kept.size > 1 else 0.0


def _third_cumulant(residuals: np.ndarray) -> float:
    """The noise's third cumulant from residuals of :data:`RESIDUAL_KERNEL` (trimmed as the
    variance is): on FMD's two-photon and mouse-confocal frames within ~10 % of what the
    frames show against their 50-frame averages, at every signal level."""
    kept = _trimmed(residuals)
    return float(((kept - kept.mean()) ** 3).mean() / RESIDUAL_CUBES) if kept.size > 2 else 0.0


def _clipped_normal_table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ξ, mean / std, variance) of max(z + ξ, 0) for a standard normal z, ξ from −5 to 10:
    the mean-to-std ratio rises monotonically with ξ, so it gives ξ back."""
    from scipy.special import ndtr

    xi = np.linspace(-5.0, 10.0, 3001)
    phi, cdf = np.exp(-0.5 * xi**2) / math.sqrt(2 * math.pi), ndtr(xi)
    mean = xi * cdf + phi
    variance = (xi**2 + 1) * cdf + xi * phi - mean**2
    return xi, mean / np.sqrt(variance), variance


def unclip(mean: float, variance: float, limit: float, upper: bool = False) -> tuple[float, float]:
    """(signal, variance) of a Gaussian whose values beyond ``limit`` were piled up on it,
    from the mean and variance of the clipped values (Foi et al. 2008)."""
    distance = (limit - mean) if upper else (mean - limit)
    xi, ratio, clipped_variance = _clipped_normal_table()
    if variance <= 0 or distance / math.sqrt(variance) >= ratio[-1]:
        return mean, variance  # too far from the limit to be clipped
    k = float(np.interp(distance / math.sqrt(variance), ratio, xi))
    std = math.sqrt(variance / float(np.interp(k, xi, clipped_variance)))
    return (limit - k * std if upper else limit + k * std), std**2


def spaced_residual(plane: np.ndarray, spacing: int) -> np.ndarray:
    """:data:`RESIDUAL_KERNEL` with its taps ``spacing`` pixels apart, applied to ``plane``."""
    taps = np.zeros(2 * spacing + 1)
    taps[::spacing] = [1.0, -2.0, 1.0]
    rows = ndimage.correlate1d(plane, taps / math.sqrt(6), axis=0, mode="reflect")
    return ndimage.correlate1d(rows, taps / math.sqrt(6), axis=1, mode="reflect")


def blind_radius(ratios: np.ndarray) -> int:
    """The blind-spot radius for noise whose residuals at tap spacings 1, 2, … have the
    variance ratios ``ratios`` (each to spacing 1's; median over the levels): 0 for
    independent noise, else one less than the spacing from which the variance stops growing."""
    if ratios[1] <= CORRELATED_RATIO:
        return 0
    for spacing in range(2, len(ratios)):
        if ratios[spacing] < PLATEAU * ratios[spacing - 1]:
            return spacing - 1
    return len(ratios) - 1


def noise_levels(
    images: np.ndarray, levels: int = 40, max_planes: int = 16, smooth_fraction: float = 0.5
) -> NoiseLevels:
    """Noise variance against signal, over ``levels`` evenly spaced levels of the local mean.

    Within each level only the smoothest ``smooth_fraction`` of its pixels (lowest local
    gradient) count, so edges and texture do not pass for noise, and the variance is robust.
    Where the data is clipped (0, the type's maximum), a level whose windows hold clipped
    pixels gives the mean and variance of clipped values: the Gaussian behind them is worked
    out from both (:func:`unclip`), so dark backgrounds near 0 are measured, not left out.
    The same residual with taps 2, 3, … pixels apart measures whether the noise is correlated
    between neighbours, and how far (it then shows more variance: the one-pixel residual
    cancels correlated noise as it cancels signal); for correlated noise the levels are
    measured with the taps as far apart as the correlation reaches.
    """
    data = as_planes(images, name="images", min_size=8)  # its own type: no float copy
    clipped, message = clipped_mask(data)
    limits = clip_limits(data)
    step = max(1, data.shape[0] // max_planes)
    margin = MAX_SPACING
    if min(data.shape[1:]) <= 2 * margin + 8:
        raise PN2VError("the images are too small to estimate the noise")
    inner = (slice(margin, -margin), slice(margin, -margin))
    columns: list[list[np.ndarray]] = [[] for _ in range(5 + MAX_SPACING)]
    for plane, mask in zip(data[::step], clipped[::step], strict=True):
        plane = plane.astype(np.float64)
        mean = ndimage.uniform_filter(plane, 5, mode="reflect")
        touched = ndimage.maximum_filter(mask, 5, mode="nearest")
        # the widest residual of the local mean: signal the wide residuals would take for noise
        curvature = np.abs(spaced_residual(mean, MAX_SPACING))
        residuals = [spaced_residual(plane, d) for d in range(1, MAX_SPACING + 1)]
        for column, values in zip(
            columns,
            (mean, np.hypot(*np.gradient(mean)), curvature, touched, mask, *residuals),
            strict=True,
        ):
            column.append(values[inner].astype(np.float32 if values.dtype.kind == "f" else bool))
    mean, gradient, curvature, touched, at_limit, *residuals = (
        np.concatenate([c.ravel() for c in column]) for column in columns
    )
    if mean.size < 1000:
        raise PN2VError("too few pixels to estimate the noise")
    edges = np.linspace(*np.quantile(mean, [0.001, 0.999]), levels + 1)
    index = np.searchsorted(edges, mean, side="right") - 1
    chosen_levels = [c for i in range(levels) if (c := np.flatnonzero(index == i)).size >= 100]

    def smoothest(by: np.ndarray) -> list[np.ndarray]:
        return [c[by[c] <= np.quantile(by[c], smooth_fraction)] for c in chosen_levels]

    flattest = smoothest(curvature)  # where the wide residuals hold the least signal
    ratios = np.median(
        [
            [_robust_variance(r[smooth]) / variance for r in residuals]
            for smooth in flattest
            if not (limits and touched[smooth].mean() > 0.01)
            and (variance := _robust_variance(residuals[0][smooth])) > 0
        ]
        or [[1.0] * MAX_SPACING],
        axis=0,
    )
    radius = blind_radius(ratios)
    residual = residuals[radius]  # taps beyond the correlation: each pixel's own noise
    rows = []
    for smooth in flattest if radius else smoothest(gradient):
        level = float(mean[smooth].mean(dtype=np.float64))
        if limits and touched[smooth].mean() > 0.01:  # clipped values: mean and variance
            if at_limit[smooth].mean() > MAX_CLIPPED:
                continue  # mostly piled up at the limit: the values say little of the noise
            limit = min(limits, key=lambda v: abs(v - level))
            level, variance = unclip(
                level, float(residual[smooth].var(dtype=np.float64)), limit, upper=limit > level
            )
            third = math.nan  # clipping cuts a tail: the skew is not the noise's
        else:
            variance = _robust_variance(residual[smooth])
            third = _third_cumulant(residual[smooth])
        rows.append((level, variance, smooth.size, third))
    if len(rows) < 2:
        raise PN2VError(
            "the images hold too few signal levels to estimate the noise; "
            "give the camera parameters instead"
        )
    found = np.array(sorted(rows))
    correlation = float(ratios[1])
    messages = [message.replace("left out", "found")] if message else []
    if correlation > CORRELATED_RATIO:
        messages.append(
            f"the noise is correlated between neighbouring pixels (a residual two pixels wide "
            f"shows {correlation:.1f}× the variance of one a pixel wide; 1 for independent "
            f"noise) up to about {radius} pixel{'s' * (radius > 1)} apart: N2V and PN2V "
            "assume each pixel's noise is independent, so training hides the "
            f"{2 * radius + 1}×{2 * radius + 1} block around each masked pixel (blind-spot "
            f"radius {radius}, chosen by 'auto'), and the noise's level is measured between "
            f"pixels {radius + 1} apart"
        )
    return NoiseLevels(
        found[:, 0],
        found[:, 1],
        found[:, 2].astype(int),
        correlation,
        messages,
        found[:, 3],
        radius,
    )


def estimate_poisson_gaussian(
    images: np.ndarray, min_std: float = 0.5
) -> tuple[PoissonGaussianNoiseModel, NoiseLevels]:
    """The measured variance curve of :func:`noise_levels`, made non-decreasing (weighted
    isotonic regression), with a straight line var = a·s + b (weighted least squares, a > 0)
    fitted for the gain beyond the brightest level and for the summary. Clipping limits of
    the images go into the likelihood."""
    found = noise_levels(images)
    # weight ∝ count / var²: a variance estimated from n values has a spread ∝ var / √n
    weight = np.sqrt(found.counts) / np.maximum(found.variances, 1e-12)
    a, b = np.polyfit(found.means, found.variances, 1, w=weight)
    if not a > 0:
        a = max(float(np.average(found.variances / np.maximum(found.means, 1e-12))), 1e-12)
        b = 0.0
    monotone = isotonic_regression(found.variances, weights=found.counts).x
    low, high = float(found.means.min()), float(found.means.max())
    curve = np.interp(np.linspace(low, high, CURVE_POINTS), found.means, monotone)
    data = np.asarray(images)
    limits = clip_limits(data)  # a limit is the data's minimum or maximum
    lower = [v for v in limits if v <= data.min()]
    upper = [v for v in limits if v >= data.max()]
    sample = data.ravel()[:10000]
    integer = data.dtype.kind in "iu" or bool(np.all(sample == np.round(sample)))
    model = PoissonGaussianNoiseModel(
        float(a),
        float(b),
        min_std,
        low,
        high,
        origin="estimated",
        curve=tuple(float(v) for v in curve),
        clip_low=lower[0] if lower else None,
        clip_high=upper[0] if upper else None,
        step=1.0 if integer else 0.0,
        skew_ratio=found.skew_ratio,
    )
    return model, found
