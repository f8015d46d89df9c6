"""Settings forms built from the engine's configuration: none values shown by name, values
read back with the field's type."""

import pytest

from napari_pn2v._qt.forms import ConfigForm
from napari_pn2v.backend import PredictionConfig, TrainConfig


@pytest.fixture
def form(qtbot):
    form = ConfigForm(
        (PredictionConfig, ("tile", "overlap", "augment")),
        (TrainConfig, ("seed", "time_budget")),
    )
    qtbot.addWidget(form.native)
    return form


def test_none_values_show_their_name_and_read_back_as_none(form):
    shown = {name: form[name].native.text() for name in ("tile", "seed", "time_budget")}
    assert shown == {"tile": "auto", "seed": "random", "time_budget": "epochs"}
    assert form.values(PredictionConfig) == {"tile": None, "overlap": 48, "augment": False}
    assert form.values(TrainConfig) == {"seed": None, "time_budget": None}


def test_whole_numbers_read_back_as_int(form):
    form.set_values({"tile": 256, "seed": 7, "time_budget": 2.5})
    assert form["tile"].native.text() == "256"
    values = {**form.values(PredictionConfig), **form.values(TrainConfig)}
    assert values["tile"] == 256 and type(values["tile"]) is int
    assert values["seed"] == 7 and type(values["seed"]) is int
    assert values["time_budget"] == 2.5
    form.set_values({"tile": None, "seed": None})
    assert form.values(PredictionConfig)["tile"] is None
    assert form.values(TrainConfig)["seed"] is None


def test_an_optional_numbers_lowest_real_value_stays_a_choice(qtbot):
    """Auto (None) sits below the blind-spot radius's 0, which hides the pixel alone."""
    form = ConfigForm((TrainConfig, ("blind_radius",)))
    qtbot.addWidget(form.native)
    assert form["blind_radius"].native.text() == "auto"
    assert form.values(TrainConfig) == {"blind_radius": None}
    form.set_values({"blind_radius": 0})
    assert form["blind_radius"].native.text() == "0"
    assert form.values(TrainConfig) == {"blind_radius": 0}
