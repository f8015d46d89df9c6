"""Export, from a model and plain data: the one place that checks what a package can hold,
for ``pn2v export`` and the training widget's *Export for bioimage.io…*."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..backend.errors import PN2VError


@dataclass
class ExportJob:
    """A trained model, an image of the kind it denoises (for the test tensors and the
    cover), and where and how to write its bioimage.io package."""

    model: object
    image: object
    path: str | Path
    name: str | None = None
    authors: tuple[str, ...] = ()
    #: "denoised" (PN2V: the MMSE) or, for PN2V, "prior_mean"
    output: str = "denoised"
    license: str = "CC-BY-4.0"
    #: the training settings, for the package's README (default: those the model file records)
    training: dict = field(default_factory=dict)
    #: of a model of several channels, the one to package (its name or number): a package
    #: holds one channel's model (``image`` is then that channel's)
    channel: str | None = None

    def channel_index(self) -> int | None:
        """The chosen channel's number (None for a model of one channel)."""
        names = getattr(self.model, "names", None)
        if names is None:
            if self.channel is not None:
                raise PN2VError("a channel is chosen only of a model of several channels")
            return None
        if self.channel is None:
            raise PN2VError(
                f"the model holds {len(names)} channels ({', '.join(names)}) and a package "
                "one: choose the channel to export"
            )
        if self.channel in names:
            return names.index(self.channel)
        if self.channel.isdigit() and int(self.channel) < len(names):
            return int(self.channel)
        raise PN2VError(f"no channel {self.channel!r}; the model's are {', '.join(names)}")

    def chosen(self):
        """The model to package."""
        index = self.channel_index()
        return self.model if index is None else self.model[index]

    def check(self) -> None:
        """Everything that can be checked before any work."""
        from ..backend.packaging.bioimageio import check_versions
        from ..backend.packaging.denoiser import check_exportable

        check_exportable(self.chosen(), self.output)
        path = Path(self.path)
        if path.suffix.lower() != ".zip":
            raise PN2VError(f"{path}: a bioimage.io package is a .zip file")
        if not path.parent.is_dir():
            raise PN2VError(f"{path.parent}: no such folder")
        if self.image is None or np.ndim(self.image) < 2:
            raise PN2VError("give an image the model denoises: it makes the package's test data")
        check_versions()

    def run(self) -> Path:
        """Write the package (a few seconds; the test data go through the network once)."""
        from ..backend.packaging.bioimageio import write_package

        self.check()
        chosen = self.chosen()
        return write_package(
            chosen,
            self.image,
            self.path,
            name=self.name,
            authors=self.authors,
            output=self.output,
            license=self.license,
            training=self.training or chosen.training,
        )
