"""bioimage.io model packages (spec 0.5) of a trained model, written with bioimageio.spec.

The package holds the model as TorchScript (:mod:`.denoiser`: for PN2V the whole MMSE) and as a
PyTorch state dict with its architecture (napari-pn2v's :class:`.denoiser.PackagedDenoiser`,
the same MMSE, for consumers that run torch modules), test input and output cut from the user's
own image, a cover, a README with the training settings and the citations, and the napari-pn2v
model file itself as an attachment, so that ``pn2v predict`` reads a package back with the
engine and gives the same values.
"""

from __future__ import annotations

import getpass
import json
import re
import tempfile
from dataclasses import asdict
from importlib import metadata
from pathlib import Path

import numpy as np
import torch

from ..data.images import check_finite, check_layout
from ..errors import PN2VError
from ..network.model import PACKAGE_MEMBER, PN2VModel
from ..network.shuffle import every
from .denoiser import margin, package_arguments, package_state, side_step, to_torchscript

#: edge of the test tensor cut from the user's image (smaller images are used whole)
TEST_EDGE = 256
CITATIONS = {
    "pn2v": (
        "Krull, A., Vičar, T., Prakash, M., Lalit, M., Jug, F. Probabilistic Noise2Void: "
        "Unsupervised Content-Aware Denoising. Frontiers in Computer Science 2, 5 (2020).",
        "10.3389/fcomp.2020.00005",
    ),
    "n2v": (
        "Krull, A., Buchholz, T.-O., Jug, F. Noise2Void - Learning Denoising From Single Noisy "
        "Images. CVPR 2019.",
        "10.1109/CVPR.2019.00223",
    ),
}
INSTALL = "bioimage.io export needs bioimageio.core: pip install 'napari-pn2v[bioimageio]'"
#: what the state-dict weights need: their architecture is napari-pn2v's (TorchScript: torch)
ENVIRONMENT = """name: napari-pn2v
channels:
  - conda-forge
dependencies:
  - python>=3.11
  - pytorch
  - pip
  - pip:
      - napari-pn2v
"""


#: releases known not to work together: (package, from version, other package, up to version)
KNOWN_BREAKS = (("pydantic", (2, 14), "bioimageio.spec", (0, 5, 12, 0)),)
#: what writing a package rests on, named when it fails
STACK = ("bioimageio.spec", "bioimageio.core", "pydantic")


def _release(version: str) -> tuple[int, ...]:
    """ "2.14.4" -> (2, 14, 4): enough to order the releases KNOWN_BREAKS names."""
    return tuple(int(part) for part in re.findall(r"\d+", version.split("+")[0])[:4])


NOT_INSTALLED = "not installed"


def installed(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return NOT_INSTALLED


def check_versions() -> None:
    """Refuse, before any work, releases known to break the package writer; one line that
    names them and what to install instead."""
    for package, since, other, until in KNOWN_BREAKS:
        version, other_version = installed(package), installed(other)
        if NOT_INSTALLED in (version, other_version):
            continue
        if _release(version) >= since and _release(other_version) <= until:
            bound = ".".join(map(str, since))
            raise PN2VError(
                f"bioimage.io export does not work with {package} {version} and {other} "
                f"{other_version} (a known incompatibility): pip install '{package}<{bound}'"
            )


def versions() -> str:
    """E.g. "bioimageio.spec 0.5.12.0, bioimageio.core 0.11.0, pydantic 2.13.5"."""
    return ", ".join(f"{name} {installed(name)}" for name in STACK)


def _spec():
    try:
        from bioimageio.spec import model
    except ImportError as error:
        raise PN2VError(INSTALL) from error
    check_versions()
    return model.v0_5


def input_tensor(model: PN2VModel, image: np.ndarray) -> np.ndarray:
    """A (1, 1, Y, X) float32 cut of ``image``'s first plane, at most TEST_EDGE² from its
    centre, its sides multiples of :func:`.denoiser.side_step`."""
    check_layout(np.shape(image), image.dtype, "test image")
    plane = image  # a lazy stack is read one plane
    while np.ndim(plane) > 2:
        plane = plane[0]
    plane = np.asarray(plane, dtype=np.float32)
    multiple, least = side_step(model), margin(model)
    sides = [min(TEST_EDGE, n) // multiple * multiple for n in plane.shape]
    if min(sides) < least:
        raise PN2VError(f"the test image must be at least {least}² pixels, got {plane.shape}")
    starts = [(n - s) // 2 for n, s in zip(plane.shape, sides, strict=True)]
    cut = plane[starts[0] : starts[0] + sides[0], starts[1] : starts[1] + sides[1]]
    check_finite(cut, "test image")
    return np.array(cut[None, None], dtype=np.float32)  # a copy: torch wants it writable


def _cover(before: np.ndarray, after: np.ndarray, path: Path) -> None:
    """Input | output side by side, both scaled by the input's 0.5–99.5 percentiles."""
    import imageio.v3 as iio

    low, high = np.percentile(before, [0.5, 99.5])
    pair = np.concatenate([before, np.full((before.shape[0], 4), high), after], axis=1)
    scaled = np.clip((pair - low) / max(high - low, 1e-6), 0, 1)
    iio.imwrite(path, (scaled * 255).astype(np.uint8))


def _citations(model: PN2VModel) -> list[tuple[str, str]]:
    """(text, doi) of the papers a package cites: PN2V's for PN2V, and N2V's."""
    return [CITATIONS[m] for m in dict.fromkeys((model.config.mode, "n2v")) if m in CITATIONS]


def _readme(model: PN2VModel, output: str, name: str, training: dict | None) -> str:
    mode = "PN2V" if model.is_probabilistic else "N2V"
    what = {
        ("PN2V", "denoised"): "the PN2V MMSE estimate: network, prior samples and noise model "
        "in one TorchScript module",
        ("PN2V", "prior_mean"): "the PN2V prior mean (the network alone, no noise model)",
    }.get((mode, output), "the N2V prediction")
    lines = [
        f"# {name}",
        "",
        f"A {mode} denoiser trained with napari-pn2v; this package gives {what}.",
        "",
        "Input: one float32 image (batch, channel 1, y, x) in the units it was trained on "
        "(raw intensities: no normalisation needed, the module normalises itself). Sides must "
        f"be multiples of {side_step(model)} (the network's pooling"
        + (f", in sub-images of {every(model.shuffle)}" if model.shuffle > 1 else "")
        + "); edges are mirrored.",
        "",
        "## Training",
        "",
        f"- network: {json.dumps(asdict(model.config))}",
        f"- normalisation: mean {model.mean:.6g}, std {model.std:.6g}",
        f"- epochs trained: {model.epochs_trained}",
    ]
    if model.noise_model is not None:
        lines.append(f"- noise model: {model.noise_model.summary()}")
    if training:
        lines.append(f"- training settings: {json.dumps(training)}")
    lines += [
        "",
        "## Use",
        "",
        "- bioimageio.core: `bioimageio predict --inputs image.tif model.zip` or, in Python, "
        "`bioimageio.core.predict(model='model.zip', inputs=image)`.",
        "- Fiji: install deepImageJ and open this .zip with *DeepImageJ Install Model*.",
        "- napari-pn2v: `pn2v predict model.zip image.tif` reads the attached model file.",
        "",
        "## Cite",
        "",
    ]
    lines += [f"- {text} doi:{doi}" for text, doi in _citations(model)]
    return "\n".join(lines) + "\n"


def write_package(
    model: PN2VModel,
    image,
    path: str | Path,
    name: str | None = None,
    authors: tuple[str, ...] = (),
    output: str = "denoised",
    license: str = "CC-BY-4.0",
    training: dict | None = None,
) -> Path:
    """Write ``model`` as a bioimage.io package (.zip) to ``path``; ``image`` gives the test
    tensors and the cover (only its first plane is read). Returns the path written."""
    v = _spec()
    from bioimageio.spec import save_bioimageio_package

    path = Path(path)
    mode = "pn2v" if model.is_probabilistic else "n2v"
    name = name or f"napari-pn2v {mode.upper()} denoiser"
    x = input_tensor(model, image)
    scripted = to_torchscript(model, torch.as_tensor(x), output)
    with torch.no_grad():
        y = scripted(torch.as_tensor(x)).numpy()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        files = {n: folder / n for n in ("input.npy", "output.npy", "cover.png", "README.md")}
        np.save(files["input.npy"], x)
        np.save(files["output.npy"], y)
        _cover(x[0, 0], y[0, 0], files["cover.png"])
        files["README.md"].write_text(_readme(model, output, name, training), encoding="utf-8")
        weights = folder / "weights.torchscript.pt"
        scripted.save(str(weights))
        state_dict = folder / "weights.pt"
        torch.save(package_state(model), state_dict)
        environment = folder / "environment.yaml"
        environment.write_text(ENVIRONMENT, encoding="utf-8")
        native = folder / PACKAGE_MEMBER
        model.save(native)
        size = v.ParameterizedSize(min=margin(model), step=side_step(model))
        version = v.Version(torch.__version__.split("+")[0])
        space_in = [v.SpaceInputAxis(id=v.AxisId(a), size=size) for a in "yx"]
        space_out = [
            v.SpaceOutputAxis(id=v.AxisId(a), size=v.SizeReference(tensor_id="raw", axis_id=a))
            for a in "yx"
        ]
        channel = v.ChannelAxis(channel_names=[v.Identifier("channel0")])
        try:
            descr = v.ModelDescr(
                name=name,
                description=f"{mode.upper()} denoiser trained with napari-pn2v (output: {output}).",
                authors=[v.Author(name=a) for a in authors or (getpass.getuser(),)],
                cite=[v.CiteEntry(text=text, doi=v.Doi(doi)) for text, doi in _citations(model)],
                license=v.LicenseId(license),
                documentation=v.FileDescr(source=files["README.md"]),
                covers=[v.FileDescr(source=files["cover.png"])],
                attachments=[v.FileDescr(source=native)],
                tags=["denoising", "noise2void", mode, "napari-pn2v", "2d", "unsupervised"],
                inputs=[
                    v.InputTensorDescr(
                        id=v.TensorId("raw"),
                        axes=[v.BatchAxis(), channel, *space_in],
                        test_tensor=v.FileDescr(source=files["input.npy"]),
                        data=v.IntervalOrRatioDataDescr(type="float32"),
                    )
                ],
                outputs=[
                    v.OutputTensorDescr(
                        id=v.TensorId(output),
                        axes=[v.BatchAxis(), channel, *space_out],
                        test_tensor=v.FileDescr(source=files["output.npy"]),
                        data=v.IntervalOrRatioDataDescr(type="float32"),
                    )
                ],
                weights=v.WeightsDescr(
                    pytorch_state_dict=v.PytorchStateDictWeightsDescr(
                        source=state_dict,
                        architecture=v.ArchitectureFromLibraryDescr(
                            callable=v.Identifier("PackagedDenoiser"),
                            import_from="napari_pn2v.backend.packaging.denoiser",
                            kwargs=package_arguments(model, output),
                        ),
                        pytorch_version=version,
                        dependencies=v.FileDescr(source=environment),
                    ),
                    torchscript=v.TorchscriptWeightsDescr(
                        source=weights, pytorch_version=version, parent="pytorch_state_dict"
                    ),
                ),
                config={"napari-pn2v": {"mode": mode, "output": output}},
            )
            return Path(save_bioimageio_package(descr, output_path=path))
        except OSError:
            raise
        except Exception as error:  # pydantic's errors, from the description or its writer
            raise PN2VError(
                f"bioimage.io export failed with {versions()}: {_gist(error)} (the versions "
                "napari-pn2v was tested with are in its constraints.txt)"
            ) from error


def _gist(error: Exception) -> str:
    """One line of an error: a pydantic validation error's first complaint, not its title."""
    if callable(getattr(error, "errors", None)) and error.errors():
        first = error.errors()[0]
        where = ".".join(map(str, first.get("loc", ())))
        text = f"{where}: {first['msg']}" if where else first["msg"]
    else:
        text = str(error).strip() or type(error).__name__
    return " ".join(text.split())[:300]
