"""Settings that describe themselves: one source for the checks, the ``pn2v`` help and the
widgets' forms.

A configuration dataclass declares each setting with :func:`option`: its default, a line of
help, and what the forms need (limits, a step, choices, a label, whether it is advanced). The
command line reads the help from here, the widgets build their forms from it (magicgui), so a
setting added to the engine appears in both. Plain Python: importing it costs nothing.
"""

from __future__ import annotations

import types
import typing
from dataclasses import Field, field, fields
from typing import Any


def option(
    default: Any,
    help: str,
    *,
    label: str | None = None,
    min: float | None = None,
    max: float | None = None,
    step: float | None = None,
    choices: tuple | None = None,
    none: str | None = None,
    advanced: bool = False,
) -> Any:
    """A dataclass field with its description (see the module's docstring); ``none``: what an
    optional number's lowest value, which stands for None, is called in a form."""
    meta = {
        "help": help,
        "label": label,
        "min": min,
        "max": max,
        "step": step,
        "choices": choices,
        "none": none,
        "advanced": advanced,
    }
    return field(default=default, metadata={k: v for k, v in meta.items() if v is not None})


def described(config: type) -> list[Field]:
    """The fields of a configuration class that have a description."""
    return [f for f in fields(config) if "help" in f.metadata]


def field_type(config: type, name: str) -> tuple[type, bool]:
    """(a setting's type, whether it may be None): what its option and form field take."""
    hint = typing.get_type_hints(config)[name]
    args = typing.get_args(hint)
    if isinstance(hint, types.UnionType) and type(None) in args:
        return next(a for a in args if a is not type(None)), True
    return hint, False
