"""A trained denoiser: network, its configuration, data normalisation and noise model.

Model files are written with ``torch.save`` but hold only tensors, numbers and strings, and are
read back with ``torch.load(weights_only=True)``: loading never executes code.
"""

from __future__ import annotations

import io
import math
import os
import zipfile
from dataclasses import asdict
from pathlib import Path

import torch

from ..errors import PN2VError
from ..noise.base import NoiseModel
from ..noise.diagnostics import NoiseCheck
from ..noise.registry import noise_model_from_state
from .config import INITIAL_SPREAD, ModelConfig
from .prior import Prior, posterior
from .unet import UNet

FORMAT = "napari-pn2v-model"
#: the newest format read: 1 holds one model, 2 one per channel (:mod:`.channels`), 3 a model
#: whose network sees pixel-shuffled sub-images (:mod:`.shuffle`); a file is written with the
#: lowest version that holds it, so older versions read what they can denoise right
FORMAT_VERSION = 3
#: the version of a file of one model (of models per channel: 2) whose network needs shuffling
SHUFFLED_VERSION = 3
#: the model file's name inside a bioimage.io package written by ``pn2v export``
PACKAGE_MEMBER = "napari-pn2v-model.pt"


class PN2VModel:
    """Everything needed to denoise: the net, normalisation and (for PN2V) the noise model."""

    def __init__(
        self,
        config: ModelConfig,
        mean: float,
        std: float,
        noise_model: NoiseModel | None = None,
        net: UNet | None = None,
    ) -> None:
        if config.mode == "pn2v" and noise_model is None:
            raise PN2VError("PN2V needs a noise model; build one first or choose N2V mode")
        if getattr(noise_model, "kind", None) == "channels":
            raise PN2VError(
                f"a noise model of {len(noise_model)} channels; these images have one channel"
            )
        self.config = config
        self.mean = float(mean)
        self.std = float(std) if std > 0 else 1.0
        self.noise_model = noise_model
        self.net = net
        if net is None:
            self.net = self._new_net(config)
            self.start_spread(INITIAL_SPREAD)
        self.epochs_trained = 0
        #: factor on the prior's spread for prediction, chosen after training without clean
        #: data (see :mod:`.spread`); training always sees the spread as the network gives it
        self.spread_scale = 1.0
        #: the guard's choice (:mod:`.guard`): inner edges of bands of the prior mean, and
        #: per band whether prediction gives the MMSE (True) or the prior mean
        self.trust_edges: tuple[float, ...] = ()
        self.trusted: tuple[bool, ...] = (True,)
        #: per band: the posterior std's factor to that with the spread as trained
        self.std_factors: tuple[float, ...] = (1.0,)
        #: what the guard found, for the user (None: not checked, e.g. an older file)
        self.noise_check: NoiseCheck | None = None
        #: the training settings (TrainConfig's fields) it was trained with; empty for files
        #: from before they were recorded
        self.training: dict = {}
        #: the pixel-shuffle stride (:mod:`.shuffle`): the network sees sub-images of every
        #: s-th pixel, and each estimate is averaged over s × s pixels; 1: the image itself
        self.shuffle = 1

    @staticmethod
    def _new_net(config: ModelConfig) -> UNet:
        net = UNet(
            config.depth, config.features, config.out_channels, dims=config.dims, n2v2=config.n2v2
        )
        if config.location_scale:
            with torch.no_grad():
                net.head.weight[2:] *= 0.01  # residuals start small: samples = normal quantiles
                net.head.bias[2:] = 0.0
        return net

    @classmethod
    def from_n2v(
        cls, n2v: PN2VModel, config: ModelConfig, noise_model: NoiseModel, spread: float
    ) -> PN2VModel:
        """An untrained PN2V model whose network starts as the N2V model ``n2v``'s (the one a
        bootstrap trains): the same body and normalisation, N2V's output as the prior's
        location, the spread at ``spread`` of the data's std, the residuals at zero. PN2V then
        trains on from N2V's estimate instead of from scratch."""
        problem = cls.start_problem(n2v.config, config)
        if problem:
            raise PN2VError(problem)
        model = cls(config, n2v.mean, n2v.std, noise_model)
        state, start = model.net.state_dict(), n2v.net.state_dict()
        with torch.no_grad():
            for name, value in start.items():
                if name.startswith("head."):
                    state[name][:1] = value  # N2V's one output: the location
                else:
                    state[name].copy_(value)
        model.net.load_state_dict(state)
        model.start_spread(spread)
        model.shuffle = n2v.shuffle
        return model

    @staticmethod
    def start_problem(n2v: ModelConfig, config: ModelConfig) -> str | None:
        """Why a PN2V model of ``config`` cannot start from an N2V model of ``n2v`` (see
        :meth:`from_n2v`), or None."""
        if n2v.mode != "n2v" or not config.location_scale:
            return "a PN2V model with a location-scale prior starts from an N2V model"
        if any(
            getattr(n2v, name) != getattr(config, name)
            for name in ("depth", "features", "dims", "n2v2")
        ):
            return (
                "the N2V model to start from has another network (depth, features, "
                "dimensions or N2V2's)"
            )
        return None

    def start_spread(self, fraction: float) -> None:
        """Let an untrained location-scale prior's spread start at ``fraction`` of the data's
        std (the head's log-spread bias); the network learns it from there."""
        if not fraction > 0:
            raise PN2VError(f"the initial spread must be positive, got {fraction}")
        if self.config.location_scale:
            with torch.no_grad():
                self.net.head.bias[1] = math.log(fraction)

    @property
    def is_probabilistic(self) -> bool:
        return self.config.mode == "pn2v"

    # ---------------------------------------------------------------- head read-out
    def prior(self, raw: torch.Tensor, calibrated: bool = True) -> Prior:
        """(N, out_channels) head outputs -> the K prior samples of each pixel, as
        ``loc + scale · u`` in intensity units (loc, scale: (N, 1); u: (N, K)).

        ``location-scale``: the head predicts a location μ, a log-spread log σ and K residuals
        r_k; u = z_k + r_k with z_k the standard-normal quantiles (k+½)/K. Any sample set is
        still reachable through r_k, but location and spread learn fast.
        ``published``: the K outputs times 10 are the samples in normalised units, as in the
        published PN2V code.
        Keeping the per-pixel affine part apart lets prediction reduce over u alone.
        ``calibrated``: the spread times :attr:`spread_scale` (prediction), or as trained.
        """
        if self.config.prior == "published":
            loc = torch.full_like(raw[:, :1], self.mean)
            prior = Prior(loc, torch.full_like(loc, 10.0 * self.std), raw)
        else:
            z = self._normal_quantiles(raw.shape[1] - 2, raw.device, raw.dtype)
            scale = raw[:, 1:2].clamp(-12.0, 6.0).exp() * self.std
            prior = Prior(self.denormalise(raw[:, :1]), scale, z + raw[:, 2:])
        return prior.scaled(self.spread_scale) if calibrated else prior

    def estimate(
        self, raw: torch.Tensor | list[torch.Tensor], observed: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """MMSE (``denoised``), ``prior_mean`` and posterior ``std`` of (N, out_channels)
        head outputs and (N, 1) observations, with the spread as calibrated (of a list of head
        outputs, test-time augmentation's views: of their priors' mixture); in the guard's
        untrusted bands, and where the noise model does not cover the observation, the prior
        mean, with the prior's spread as trained as its uncertainty.
        The std of each band is scaled to the posterior's with the spread as trained
        (:attr:`std_factors`): the narrower calibrated prior makes the MMSE better, but its
        posterior spread understates the error (by 2× on synthetic data at a factor of 0.25)."""
        views = raw if isinstance(raw, list) else [raw]
        as_trained = [self.prior(r, calibrated=False) for r in views]
        prior = Prior.mixture([p.scaled(self.spread_scale) for p in as_trained])
        device, dtype = views[0].device, views[0].dtype
        results = posterior(self.noise_model, prior, observed)
        covered = self.noise_model.covers(observed[:, 0])
        if all(self.trusted) and all(f == 1.0 for f in self.std_factors) and covered.all():
            return results
        band = torch.bucketize(
            results["prior_mean"],
            torch.tensor(self.trust_edges, dtype=dtype, device=device),
            right=True,
        )
        trusted = torch.tensor(self.trusted, device=device)[band] & covered
        results["std"] = (
            results["std"] * torch.tensor(self.std_factors, dtype=dtype, device=device)[band]
        )
        if not trusted.all():  # the views' priors as trained: their disagreement unscaled
            mixture = Prior.mixture(as_trained)
            trained_spread = mixture.scale[:, 0] * mixture.u.std(1)
            results["denoised"] = torch.where(trusted, results["denoised"], results["prior_mean"])
            results["std"] = torch.where(trusted, results["std"], trained_spread)
        return results

    @staticmethod
    def _normal_quantiles(k: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        p = (torch.arange(k, device=device, dtype=torch.float64) + 0.5) / k
        return (math.sqrt(2.0) * torch.erfinv(2 * p - 1)).to(dtype)

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def denormalise(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.std + self.mean

    # ---------------------------------------------------------------- files
    def copy(self) -> PN2VModel:
        clone = PN2VModel(self.config, self.mean, self.std, self.noise_model)
        clone.net.load_state_dict(self.net.state_dict())
        clone.epochs_trained = self.epochs_trained
        clone.spread_scale = self.spread_scale
        clone.trust_edges, clone.trusted = self.trust_edges, self.trusted
        clone.std_factors = self.std_factors
        clone.noise_check = self.noise_check
        clone.training = dict(self.training)
        clone.shuffle = self.shuffle
        return clone

    def to_state(self) -> dict:
        """Config, normalisation, weights and noise model: tensors, numbers and strings."""
        state = {
            "config": asdict(self.config),
            "mean": self.mean,
            "std": self.std,
            "epochs_trained": self.epochs_trained,
            "spread_scale": self.spread_scale,
            "trust_edges": list(self.trust_edges),
            "trusted": list(self.trusted),
            "std_factors": list(self.std_factors),
            "noise_check": None if self.noise_check is None else self.noise_check.to_state(),
            "training": dict(self.training),
            "shuffle": self.shuffle,
            "weights": {k: v.detach().cpu() for k, v in self.net.state_dict().items()},
            "noise_model": None,
        }
        if self.noise_model is not None:
            nm = self.noise_model.to_state()
            state["noise_model"] = {
                k: torch.from_numpy(v) if hasattr(v, "dtype") else v for k, v in nm.items()
            }
        return state

    def save(self, path: str | os.PathLike) -> None:
        """One file: format version, config, normalisation, weights and noise model."""
        version = SHUFFLED_VERSION if self.shuffle > 1 else 1
        write_state({"format": FORMAT, "version": version, **self.to_state()}, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> PN2VModel:
        """A model file of one channel (see :func:`.channels.load_model` for any)."""
        state = read_state(path)
        if "channels" in state:
            raise PN2VError(
                f"{path}: one model per channel ({len(state['channels'])} channels); here a "
                "model of one channel goes (multi-channel files denoise with 'pn2v predict')"
            )
        return cls.from_state(state, str(path))

    @classmethod
    def from_state(cls, state: dict, source: str) -> PN2VModel:
        try:
            config = ModelConfig.from_saved(state["config"])
            noise_model = None
            if state.get("noise_model") is not None:
                nm = {
                    k: v.numpy() if isinstance(v, torch.Tensor) else v
                    for k, v in state["noise_model"].items()
                }
                noise_model = noise_model_from_state(nm, source=source)
            model = cls(config, state["mean"], state["std"], noise_model)
            model.net.load_state_dict(state["weights"])
            model.epochs_trained = int(state.get("epochs_trained", 0))
            model.spread_scale = float(state.get("spread_scale", 1.0))
            if not math.isfinite(model.spread_scale) or model.spread_scale <= 0:
                raise PN2VError(
                    f"{source}: damaged napari-pn2v model file (spread scale {model.spread_scale})"
                )
            model.trust_edges = tuple(float(e) for e in state.get("trust_edges", ()))
            model.trusted = tuple(bool(t) for t in state.get("trusted", (True,)))
            model.std_factors = tuple(
                float(f) for f in state.get("std_factors", (1.0,) * len(model.trusted))
            )
            if not len(model.trusted) == len(model.std_factors) == len(model.trust_edges) + 1:
                raise PN2VError(f"{source}: damaged napari-pn2v model file (guard bands)")
            if state.get("noise_check") is not None:
                model.noise_check = NoiseCheck.from_state(state["noise_check"])
            model.training = dict(state.get("training") or {})
            model.shuffle = int(state.get("shuffle", 1))
            if not 1 <= model.shuffle <= 4:
                raise PN2VError(f"{source}: damaged napari-pn2v model file (shuffle)")
        except PN2VError:
            raise
        except Exception as error:  # missing keys, wrong shapes: a damaged file
            raise PN2VError(f"{source}: damaged napari-pn2v model file ({error})") from error
        return model


def write_state(state: dict, path: str | os.PathLike) -> None:
    """``torch.save`` into a temporary file that takes the name when complete."""
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    torch.save(state, tmp)
    os.replace(tmp, path)


def read_state(path: str | os.PathLike) -> dict:
    """A model file's state (of one channel or several), read without executing code."""
    path = Path(path)
    if not path.is_file():
        raise PN2VError(f"{path}: no such file")
    try:
        state = torch.load(_model_file(path), map_location="cpu", weights_only=True)
    except Exception as error:  # unpickling refuses anything but plain data
        raise PN2VError(f"{path}: not a napari-pn2v model file ({error})") from error
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise PN2VError(f"{path}: not a napari-pn2v model file")
    if int(state.get("version", -1)) > FORMAT_VERSION:
        raise PN2VError(f"{path}: made by a newer napari-pn2v (format {state['version']})")
    return state


def _model_file(path: Path) -> Path | io.BytesIO:
    """The model file itself, or the one a bioimage.io package from ``pn2v export`` carries
    (a model file is a zip archive too, but without ``rdf.yaml``)."""
    if not zipfile.is_zipfile(path):
        return path
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        if "rdf.yaml" not in names:
            return path
        if PACKAGE_MEMBER not in names:
            raise PN2VError(
                f"{path}: a bioimage.io package without a napari-pn2v model; "
                "run it with bioimageio.core or the tool it was made for"
            )
        return io.BytesIO(archive.read(PACKAGE_MEMBER))
