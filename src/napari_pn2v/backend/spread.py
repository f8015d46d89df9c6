"""Choosing the prior's spread for prediction, without clean data.

The network learns its prior with each pixel hidden (the blind spot) but predicts with the
pixel in view, so at prediction its prior already leans on the pixel's own value; the posterior
then counts that value a second time, and the MMSE estimate can fall below the prior mean. One
factor on the spread of every pixel's samples about their mean corrects most of this. It is
the factor with the lowest Stein's unbiased risk estimate (SURE) of the MMSE estimate's
squared error on noisy patches,

    mean[(ŝ(x) − x)² − v + 2 v ∂ŝ/∂x],   v = Var(x | s) from the noise model,

with ∂ŝ/∂x in two parts: through the likelihood, the posterior variance over v (exact for
Gaussian noise; a histogram's p(x | s) is a step function of x, which a small probe would
almost never see change on integer data), and through the network, from one random probe of
its input with the likelihood kept at x (Ramani, Blu & Unser 2008, Monte-Carlo SURE). For
signal-dependent noise, with v taken at the prior mean, SURE is an approximation: the factor
is what is wanted from it, not the error's value.
"""

from __future__ import annotations

import numpy as np
import torch

from .lazy import reflect
from .model import PN2VModel
from .prediction import CHUNK_VALUES, OVERLAP, posterior

#: factors tried: 1/8 … 2 in steps of √2
SCALES = tuple(2.0 ** (k / 2) for k in range(-6, 3))
#: the probe's step, a fraction of the patches' median noise std
PROBE = 0.05


@torch.no_grad()
def features(model: PN2VModel, images: torch.Tensor) -> torch.Tensor:
    """The network's last features (pixels, C) for (B, *space) ``images`` in intensity units,
    each seeing context mirrored beyond its edges as a prediction tile does: the network's
    own zero padding would give border pixels worse priors than prediction gives them."""
    net = model.net
    margin = -(-(OVERLAP // 2) // net.multiple) * net.multiple
    spatial = images.shape[1:]
    for axis, n in enumerate(spatial, start=1):
        index = reflect(np.arange(-margin, n + margin), n)
        images = images.index_select(axis, torch.as_tensor(index, device=images.device))
    out = net.body(model.normalise(images)[:, None])
    out = out[(slice(None), slice(None), *(slice(margin, margin + n) for n in spatial))]
    return out.flatten(2).movedim(1, 2).reshape(-1, out.shape[1])


@torch.no_grad()
def sure_by_scale(model: PN2VModel, patches: torch.Tensor,
                  generator: torch.Generator) -> dict[float, float]:
    """SURE of the MMSE estimate's mean squared error on ``patches`` (B, *space, normalised
    units, unmasked) for each factor of :data:`SCALES` on the prior's spread."""
    net = model.net
    was_training = net.training
    x = model.denormalise(patches)
    probe = torch.randn(x.shape, generator=generator).to(x.device)
    # the step needs the noise level only roughly: the observations stand in for the signal
    step = PROBE * float(model.noise_model.variance(x.reshape(-1)).median().sqrt())
    try:
        net.eval()
        plain, probed = features(model, x), features(model, x + step * probe)
    finally:
        net.train(was_training)
    observed = x.reshape(-1, 1)
    probe = probe.reshape(-1)
    error = {c: 0.0 for c in SCALES}
    chunk = max(1, CHUNK_VALUES // model.config.out_channels)
    for start in range(0, len(probe), chunk):
        part = slice(start, start + chunk)
        priors = [model.prior(net.head_at(f[part]), calibrated=False)
                  for f in (plain, probed)]
        mean = priors[0].scaled(0.0).loc[:, 0]  # the prior mean, the same for every factor
        v = model.noise_model.variance(mean)
        x_part = observed[part]
        for c in SCALES:
            plain_post, probed_post = (posterior(model.noise_model, prior.scaled(c), x_part)
                                       for prior in priors)
            estimate = plain_post["denoised"]
            divergence = (plain_post["std"] ** 2 / v  # through the likelihood
                          + probe[part] * (probed_post["denoised"] - estimate) / step)
            error[c] += float(((estimate - x_part[:, 0]) ** 2 - v + 2 * v * divergence).sum())
    return {c: e / len(probe) for c, e in error.items()}


def best_spread_scale(model: PN2VModel, patches: torch.Tensor,
                      generator: torch.Generator) -> float:
    """The factor on the prior's spread that :func:`sure_by_scale` finds best."""
    errors = sure_by_scale(model, patches, generator)
    return min(errors, key=errors.get)
