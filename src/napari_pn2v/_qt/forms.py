"""Settings forms built with magicgui from the engine's configuration dataclasses.

Each field declared with :func:`napari_pn2v.backend.options.option` knows its default, help,
limits, step, choices and label; a :class:`ConfigForm` makes one magicgui widget per field from
that, so a setting added to the engine appears here (and in ``pn2v --help``) without
hand-written Qt. An optional number (``int | None``) shows its lowest value as the option's
``none`` text (e.g. "auto", "random") and gives None for it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import Field, fields

from magicgui.widgets import Container, Widget, create_widget

from ..backend.options import field_type

#: (configuration class, the names of its fields to show)
Source = tuple[type, Sequence[str]]


def _field(config: type, name: str) -> Field:
    return next(f for f in fields(config) if f.name == name)


def config_widget(config: type, name: str) -> Widget:
    """One field's widget: its type, default, limits, step, choices, label and tooltip."""
    found = _field(config, name)
    meta = found.metadata
    kind, optional = field_type(config, name)
    options: dict = {"tooltip": meta.get("help", "")}
    for key in ("min", "max", "step"):
        if key in meta:
            options[key] = meta[key]
    if "choices" in meta:
        options["choices"] = meta["choices"]
    value = found.default
    if optional:  # the lowest value stands for None
        value = meta.get("min", 0) if value is None else value
    # an optional whole number is edited in a float spin box without decimals: the integer
    # spin box magicgui uses (superqt's) shows its lowest value as a number ("0" for a tile
    # size meaning auto), never the none text
    named_none = optional and kind is int and bool(meta.get("none"))
    widget = create_widget(
        value=value,
        annotation=float if named_none else kind,
        name=name,
        label=meta.get("label") or name.replace("_", " ").capitalize(),
        options=options,
    )
    if named_none:
        widget.native.setDecimals(0)
    if optional and meta.get("none"):
        widget.native.setSpecialValueText(meta["none"])
    if kind is float and "min" in meta and meta["min"] > 0:  # show the smallest allowed value
        decimals = max(widget.native.decimals(), math.ceil(-math.log10(meta["min"])))
        widget.native.setDecimals(decimals)
    widget.optional = optional
    widget.kind = kind
    return widget


def read_value(config: type, name: str, widget: Widget):
    """A field's widget's value as the configuration takes it: None for an optional at its
    lowest value, a whole number as int."""
    value = widget.value
    if widget.optional and value == _field(config, name).metadata.get("min", 0):
        return None
    return round(value) if widget.kind is int else value


class ConfigForm(Container):
    """Widgets for chosen fields of one or more configuration classes, in order."""

    def __init__(self, *sources: Source) -> None:
        self._owners: dict[str, type] = {}
        widgets = []
        for config, names in sources:
            for name in names:
                self._owners[name] = config
                widgets.append(config_widget(config, name))
        super().__init__(widgets=widgets, labels=True)
        self.native.layout().setContentsMargins(0, 0, 0, 0)

    def values(self, config: type) -> dict:
        """The form's values for ``config``'s fields (None for an optional at its lowest)."""
        return {
            name: read_value(config, name, self[name])
            for name, owner in self._owners.items()
            if owner is config
        }

    def set_values(self, values: dict) -> None:
        """Set the fields named in ``values`` that this form shows."""
        for name, value in values.items():
            if name in self._owners:
                widget = self[name]
                if value is None and widget.optional:
                    value = _field(self._owners[name], name).metadata.get("min", 0)
                widget.value = value

    def set_enabled(self, enabled: bool) -> None:
        for widget in self:
            widget.enabled = enabled
