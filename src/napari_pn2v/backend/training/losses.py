"""Training losses evaluated at the masked pixels only, and the network outputs they need."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import nn

from ..noise.base import NoiseModel

if TYPE_CHECKING:
    from ..network.model import PN2VModel
    from .config import TrainConfig


def pn2v_loss(
    samples: torch.Tensor, observed: torch.Tensor, noise_model: NoiseModel
) -> torch.Tensor:
    """−mean log((1/K) Σ_k p(x | s_k)): samples (N, K) and observations (N,) in intensity units.

    Computed as a logsumexp of log-likelihoods, so a pixel whose samples all miss its
    observation gives a large finite loss instead of log(0). Observations the noise model does
    not cover (beyond a histogram's range, where it would read them as its edge bin and pull
    the samples there) count nothing; the mean is over the others.
    """
    covered = noise_model.covers(observed)
    if not covered.all():
        samples, observed = samples[covered], observed[covered]
        if not len(observed):
            return samples.sum() * 0.0  # keeps the graph for the optimiser's step
    log_p = noise_model.log_likelihood(observed[:, None], samples)
    return -(torch.logsumexp(log_p, dim=1) - math.log(samples.shape[1])).mean()


def mse_loss(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error in normalised units: N2V's loss at masked pixels, and the
    supervised baseline's at every pixel."""
    return torch.mean((prediction - target) ** 2)


def prior_loss(
    model: PN2VModel, raw: torch.Tensor, target: torch.Tensor, config: TrainConfig, training: bool
) -> torch.Tensor:
    """PN2V's loss at the masked pixels from the head's outputs ``raw`` (N, K+…), or (2, N, …)
    where the likelihood's second copy reaches the body scaled (``likelihood_body_weight``).

    ``target`` is normalised. While training the
    location-scale prior, N2V's squared error on the prior mean is added
    (``location_weight``), and by default (``prior_mean_loss`` "squared-error") it alone moves
    the prior mean: the likelihood shapes the samples' spread and shape about their mean.
    """
    shaping = None
    if raw.dim() == 3:
        raw, shaping = raw
    samples = model.prior(raw, calibrated=False).samples()
    observed = model.denormalise(target)
    weight = config.location_weight
    if not (training and weight > 0 and model.config.location_scale):
        return pn2v_loss(samples, observed, model.noise_model)
    if config.prior_mean_loss == "joint":
        loss = pn2v_loss(samples, observed, model.noise_model)
        return loss + weight * mse_loss(raw[:, 0], target)
    mean = centre = samples.mean(1, keepdim=True)
    if shaping is not None:  # the second copy's samples, about their own mean
        samples = model.prior(shaping, calibrated=False).samples()
        centre = samples.mean(1, keepdim=True)
    shaped = samples - centre + mean.detach()
    loss = pn2v_loss(shaped, observed, model.noise_model)
    return loss + weight * location_error(model, mean[:, 0], target)


def location_error(model: PN2VModel, mean: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """N2V's loss on a prior's mean (N,), in intensity units: its squared error to the
    normalised observations ``target`` at the masked pixels, in the units of an N2V model's
    validation loss. The term PN2V training adds (``location_weight``), and the bound a start
    from N2V holds the kept epochs to (:mod:`.selection`)."""
    return mse_loss(model.normalise(mean), target)


class HeadOutputs(nn.Module):
    """The part of a loss that holds parameters, as one forward so DistributedDataParallel can
    wrap it: the head's outputs at the masked pixels (B·M, out_channels), or the one output at
    every pixel (B, P, P) in the supervised mode."""

    def __init__(self, net: nn.Module, supervised: bool, amp: bool) -> None:
        super().__init__()
        self.net, self.supervised, self.amp = net, supervised, amp

    def forward(
        self, inputs: torch.Tensor, index: torch.Tensor, sparse: bool = True, body: float = 1.0
    ) -> torch.Tensor:
        """``body`` < 1: the sparse head's outputs twice, (2, B·M, out_channels), the second
        on features whose gradient to the body is scaled by ``body`` (0: detached), so that a
        loss on it trains the body that much less."""
        net = self.net
        with torch.autocast(inputs.device.type, dtype=torch.bfloat16, enabled=self.amp):
            features = net.body(inputs)
        features = features.float()
        if self.supervised:
            return net.head(features)[:, 0]
        if sparse:  # the K-output head at the masked pixels only
            b, c = features.shape[:2]
            flat = features.flatten(2)  # (B, C, P*P)
            picked = flat.gather(2, index[:, None, :].expand(b, c, -1))
            picked = picked.permute(0, 2, 1).reshape(-1, c)
            if body < 1.0:
                scaled = picked.detach() + body * (picked - picked.detach())
                return torch.stack([net.head_at(picked), net.head_at(scaled)])
            return net.head_at(picked)
        dense = net.head(features)  # every pixel, as the published code does
        b, k = dense.shape[:2]
        picked = dense.flatten(2).gather(2, index[:, None, :].expand(b, k, -1))
        return picked.permute(0, 2, 1).reshape(-1, k)
