"""What defines a network, stored in every model file; plain Python (no torch), so the command
line's help and the widgets' forms read it without loading the engine."""

from __future__ import annotations

from dataclasses import dataclass, fields

from ..errors import PN2VError
from ..options import option

MODES = ("pn2v", "n2v", "supervised")
PRIORS = ("location-scale", "published")
DIMS = (2, 3)
#: an untrained location-scale prior's spread, as a fraction of the data's std
INITIAL_SPREAD = 0.5
#: pixels of context mirrored beyond the edges that a prediction tile gives its outermost
#: pixels by default (half the default tile overlap); the spread's choice gives its patches
#: the same, so their priors are made as prediction makes them
CONTEXT = 24


@dataclass
class ModelConfig:
    """What defines the network; stored in every model file."""

    mode: str = option(
        "pn2v",
        "pn2v (needs a noise model), n2v, or supervised (needs clean "
        "targets; a baseline for benchmarks)",
        choices=MODES,
    )
    depth: int = option(
        3, "U-Net resolution levels", label="U-Net depth", min=1, max=6, advanced=True
    )
    features: int = option(
        64,
        "U-Net features at the first level",
        label="U-Net features",
        min=4,
        max=256,
        advanced=True,
    )
    samples: int = option(
        800, "K, prior samples per pixel", label="Samples K", min=1, max=4096, advanced=True
    )
    prior: str = option(
        "location-scale",
        "how the head forms the K samples; 'published' is the original recipe, for comparison",
        choices=PRIORS,
        advanced=True,
    )
    n2v2: bool = option(
        False,
        "N2V2's network (Höck et al. 2022): max-blur pooling and no skip connection at full "
        "resolution, against the checkerboard artefacts of blind-spot networks (on FMD's "
        "low-SNR frames it scored lower than the plain network; docs/method.md)",
        label="N2V2 network",
        advanced=True,
    )
    dims: int = option(
        2,
        "2: denoise plane by plane; 3: a 3-D network (3-D convolutions and "
        "blind spots) for Z stacks, which needs a Z axis",
        choices=DIMS,
    )

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise PN2VError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.prior not in PRIORS:
            raise PN2VError(f"prior must be one of {PRIORS}, got {self.prior!r}")
        if self.dims not in DIMS:
            raise PN2VError(f"dims must be one of {DIMS} (a 2-D or 3-D network), got {self.dims!r}")
        for name in ("depth", "features", "samples"):
            if int(getattr(self, name)) < 1:
                raise PN2VError(f"{name} must be at least 1, got {getattr(self, name)}")

    @classmethod
    def from_saved(cls, settings: dict) -> ModelConfig:
        """The configuration a model file or package holds. Keys of later versions are
        ignored; files from before N2V2's option hold the network without its changes,
        whatever the option's default."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in ({"n2v2": False} | settings).items() if k in known})

    @property
    def location_scale(self) -> bool:
        """Whether the head predicts a location, a spread and K residuals (PN2V only)."""
        return self.mode == "pn2v" and self.prior == "location-scale"

    @property
    def out_channels(self) -> int:
        if self.mode != "pn2v":
            return 1
        return self.samples + (2 if self.location_scale else 0)

    @property
    def multiple(self) -> int:
        """Patch and tile sizes along every axis must be multiples of this (the poolings)."""
        return 2 ** (self.depth - 1)
