"""Training losses evaluated at the masked pixels only."""

from __future__ import annotations

import math

import torch

from .noise_models import NoiseModel


def pn2v_loss(samples: torch.Tensor, observed: torch.Tensor,
              noise_model: NoiseModel) -> torch.Tensor:
    """−mean log((1/K) Σ_k p(x | s_k)): samples (N, K) and observations (N,) in intensity units.

    Computed as a logsumexp of log-likelihoods, so a pixel whose samples all miss its
    observation gives a large finite loss instead of log(0).
    """
    log_p = noise_model.log_likelihood(observed[:, None], samples)
    return -(torch.logsumexp(log_p, dim=1) - math.log(samples.shape[1])).mean()


def mse_loss(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error in normalised units: N2V's loss at masked pixels, and the
    supervised baseline's at every pixel."""
    return torch.mean((prediction - target) ** 2)
