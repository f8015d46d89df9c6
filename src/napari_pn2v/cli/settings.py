"""Command-line options made from the engine's configurations: one path for every setting.

Each described field of a configuration (:func:`napari_pn2v.backend.options.option`) becomes
``--name-with-dashes`` with its type, limits, choices and help, as the widgets' forms are made
from the same fields (:mod:`napari_pn2v._qt.forms`). A yes/no setting becomes ``--name`` and
``--no-name``; an optional number also takes its none word (``--seed random``). Every option
defaults to "not given", so that a preset or the configuration's own default decides, and
:func:`given` reads back what was given, by field name, for the configuration's constructor.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import Field

from ..backend.options import described, field_type
from .values import blind_radius, minutes

#: settings whose text is read otherwise than as a plain number: a duration ("10m", "1h"), a
#: radius that may be 0 or "auto"
PARSERS: dict[str, Callable[[str], object]] = {"time_budget": minutes, "blind_radius": blind_radius}
#: settings whose flag is not their name
FLAGS = {"time_budget": "--time-limit"}
METAVARS = {"time_budget": "TIME", "blind_radius": "R", int: "N", float: "X"}
#: what the help says of settings whose default a preset decides
FROM_PRESET = "from --preset"


def flag(name: str) -> str:
    """The option of a configuration field, e.g. ``--steps-per-epoch``."""
    return FLAGS.get(name, "--" + name.replace("_", "-"))


def _number(kind: type, meta: dict, optional: bool) -> Callable[[str], object]:
    """A parser of ``kind`` inside the field's limits; for an optional one its none word gives
    None, and its lowest value (the forms' stand-in for None) is not a value."""
    low, high, none = meta.get("min"), meta.get("max"), meta.get("none")

    def parse(text: str):
        if none and text.lower() == none:
            return None
        try:
            value = kind(text)
        except ValueError:
            words = f"a number{f' or {none}' if none else ''}"
            raise argparse.ArgumentTypeError(f"not {words}: {text!r}") from None
        below = low is not None and (value <= low if optional else value < low)
        if not math.isfinite(value) or below or (high is not None and value > high):
            lowest = f"> {low}" if optional else f"≥ {low}"
            limits = ", ".join(s for s in (low is not None and lowest, high and f"≤ {high}") if s)
            raise argparse.ArgumentTypeError(f"must be {limits}, got {text}")
        return value

    return parse


def add_settings(
    parser: argparse.ArgumentParser,
    config: type,
    skip: tuple[str, ...] = (),
    from_preset: tuple[str, ...] = (),
) -> None:
    """An option for every described field of ``config`` but ``skip``; the help of those in
    ``from_preset`` says a preset sets their default."""
    for found in described(config):
        if found.name not in skip:
            _add(parser, config, found, found.name in from_preset)


def _add(parser: argparse.ArgumentParser, config: type, found: Field, preset: bool) -> None:
    meta, name = found.metadata, found.name
    kind, optional = field_type(config, name)
    default = found.default
    if default is None:
        default = meta.get("none", "none")
    elif kind is bool:
        default = "on" if default else "off"
    extra: dict = {}
    if kind is bool:
        extra["action"] = argparse.BooleanOptionalAction
    else:
        if "choices" not in meta:
            extra["metavar"] = METAVARS.get(name, METAVARS.get(kind))
        extra["choices"] = meta.get("choices")
        if name in PARSERS:
            extra["type"] = PARSERS[name]
        elif kind in (int, float) and "choices" not in meta:
            extra["type"] = _number(kind, meta, optional)
        else:
            extra["type"] = kind
    parser.add_argument(
        flag(name),
        dest=name,
        default=None,
        help=f"{meta['help']} (default: {FROM_PRESET if preset else default})",
        **extra,
    )


def given(args: argparse.Namespace, config: type) -> dict:
    """The settings of ``config`` given on the command line, by field name."""
    values = {f.name: getattr(args, f.name, None) for f in described(config)}
    return {name: value for name, value in values.items() if value is not None}
