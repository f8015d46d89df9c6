"""What the three dock widgets of one viewer share: the noise model and the trained model.

Qt-free, so the hand-over between widgets can be tested without a viewer. One session per
viewer; a widget that builds a noise model or trains a network publishes it here, and the
next widget picks it up without a round trip through a file.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from psygnal import Signal

if TYPE_CHECKING:
    from .backend.network.model import PN2VModel
    from .backend.noise.base import NoiseModel


class Session:
    """The latest noise model and model of one viewer, with change signals."""

    noise_model_changed = Signal(object)
    model_changed = Signal(object)

    def __init__(self) -> None:
        self._noise_model: NoiseModel | None = None
        self._model: PN2VModel | None = None
        #: the image layers the model was trained on (set before the model is published)
        self.trained_on: list[str] = []
        #: the layer the noise model was built from, which is not for training
        self.noise_source: str | None = None
        #: the N2V model a bootstrap trained to make the noise model: PN2V starts from it
        self.n2v: PN2VModel | None = None

    @property
    def noise_model(self) -> NoiseModel | None:
        return self._noise_model

    @noise_model.setter
    def noise_model(self, value: NoiseModel | None) -> None:
        self._noise_model, self.n2v = value, None  # a bootstrap sets its N2V after
        self.noise_model_changed.emit(value)

    @property
    def model(self) -> PN2VModel | None:
        return self._model

    @model.setter
    def model(self, value: PN2VModel | None) -> None:
        self._model = value
        self.model_changed.emit(value)


_sessions: dict[int, Session] = {}


def session_for(viewer: object) -> Session:
    """The session of ``viewer``, made on first use and dropped with the viewer.

    napari hands each plugin widget its own proxy of the viewer; the key is the viewer behind.
    """
    viewer = getattr(viewer, "__wrapped__", viewer)
    key = id(viewer)
    if key not in _sessions:
        _sessions[key] = Session()
        weakref.finalize(viewer, _sessions.pop, key, None)
    return _sessions[key]
