"""The training widget's settings: mode, network, preset, device, and the settings forms built
from the engine's configurations (:mod:`.forms`), with what is advanced folded away."""

from __future__ import annotations

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QComboBox, QFormLayout, QLabel, QVBoxLayout, QWidget
from superqt import QCollapsible

from ..backend.devices import choose_device, describe_device
from ..backend.errors import PN2VError
from ..backend.network.config import ModelConfig
from ..backend.training.config import (
    DEVICES,
    PRESET_FIELDS,
    TrainConfig,
    describe_preset,
    preset,
)
from .common import hbox
from .forms import ConfigForm
from .layers import LayerCombo

#: the presets by the names the widget shows, with what the widget sets on top: on a CPU a
#: time budget gives a good model in the minutes the user gives (with a schedule over them)
PRESET_NAMES = {
    "Quick (CPU, 5 minutes)": ("quick", {"time_budget": 5.0}),
    "Paper (GPU)": ("paper", {}),
}
#: the settings under "Settings", and (after them) under "Advanced"
SETTINGS = (
    (TrainConfig, ("time_budget", *PRESET_FIELDS)),
    (ModelConfig, ("samples", "depth", "features")),
)
ADVANCED = (
    (
        TrainConfig,
        (
            "seed",
            "weight_average",
            "fit_network_to_budget",
            "blind_radius",
            "shuffle",
            "replacement",
            "location_weight",
            "prior_mean_loss",
            "likelihood_body_weight",
            "initial_spread",
            "start_lr_factor",
            "spread_calibration",
            "precision",
        ),
    ),
    (ModelConfig, ("prior", "n2v2")),
)
#: "Validate on" choices besides an image layer of other scenes -> TrainConfig.holdout
HOLDOUT_CHOICES = {"held-out frames": "frames", "held-out region": "region"}
VALIDATION_HELP = (
    "What the validation loss (which picks the best model) is measured on. "
    "Held-out frames suit images of different scenes; for many frames of one "
    "static scene the network has seen the held-out frames' content, so choose "
    "a held-out region (a strip at the bottom of every frame) or a layer of "
    "other scenes."
)
#: "Network" choices -> ModelConfig.dims
NETWORKS = {"2-D (plane by plane)": 2, "3-D (Z stacks)": 3}
NETWORK_HELP = (
    "A 2-D network denoises every plane on its own. A 3-D network sees Z stacks "
    "(3-D convolutions and blind spots): it uses the neighbouring planes, which "
    "helps when structures continue from plane to plane; it needs layers with a Z "
    "axis and trains slower (a GPU job for big stacks)."
)
GPU_HELP = (
    "Training runs on the device shown. Without a CUDA GPU it runs on the CPU: use the "
    "Quick preset there. To use an NVIDIA GPU, install a CUDA build of torch "
    "(pytorch.org → Get started) in napari's Python environment and restart napari."
)


#: the fields of the "Settings" form, which the widget exposes by name
FIELDS = tuple(name for _, names in SETTINGS for name in names)


class TrainingSettings(QWidget):
    """Everything that fills in a training job's configurations."""

    def __init__(self, napari_viewer) -> None:
        super().__init__()
        self.mode = QComboBox()
        self.mode.addItems(["PN2V", "N2V"])
        self.network = QComboBox()
        self.network.addItems(list(NETWORKS))
        self.network.setToolTip(NETWORK_HELP)
        self.preset = QComboBox()
        self.preset.addItems(list(PRESET_NAMES))
        for i, (name, _) in enumerate(PRESET_NAMES.values()):
            self.preset.setItemData(i, describe_preset(name), Qt.ItemDataRole.ToolTipRole)
        self.device = QComboBox()
        self.device.addItems(list(DEVICES))
        self.device_label = QLabel()
        self.device_label.setToolTip(GPU_HELP)
        self.device_label.setWordWrap(True)
        self.form = ConfigForm(*SETTINGS)
        self.advanced_form = ConfigForm(*ADVANCED)
        for name in FIELDS:
            setattr(self, name, self.form[name])
        self.validation = LayerCombo(napari_viewer, fixed=list(HOLDOUT_CHOICES))
        self.validation.setToolTip(VALIDATION_HELP)

        top = QFormLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addRow("Mode", self.mode)
        top.addRow("Network", self.network)
        top.addRow("Preset", self.preset)
        top.addRow("Device", hbox(self.device, self.device_label))
        validate = QFormLayout()
        validate.addRow("Validate on", self.validation)
        advanced = QCollapsible("Advanced")
        advanced.addWidget(self.advanced_form.native)
        inner = QVBoxLayout()
        inner.addWidget(self.form.native)
        inner.addLayout(validate)
        inner.addWidget(advanced)
        box = QWidget()
        box.setLayout(inner)
        self.settings = QCollapsible("Settings")
        self.settings.addWidget(box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.settings)

        self.preset.currentTextChanged.connect(self.apply_preset)
        self.device.currentTextChanged.connect(self._show_device)
        self.network.currentTextChanged.connect(lambda _: self.set_training(False))
        self.apply_preset(self.preset.currentText())
        self._show_device(self.device.currentText())
        self.set_training(False)

    def apply_preset(self, name: str) -> None:
        chosen, extra = PRESET_NAMES[name]
        self.form.set_values(vars(preset(chosen, **extra)))

    def train_config(self) -> TrainConfig:
        return TrainConfig(
            **self.form.values(TrainConfig),
            **self.advanced_form.values(TrainConfig),
            holdout=HOLDOUT_CHOICES.get(self.validation.currentText(), "frames"),
            device=self.device.currentText(),
        )

    def model_config(self) -> ModelConfig:
        return ModelConfig(
            mode=self.mode.currentText().lower(),
            dims=NETWORKS[self.network.currentText()],
            **self.form.values(ModelConfig),
            **self.advanced_form.values(ModelConfig),
        )

    def set_training(self, training: bool) -> None:
        """While training, only what the running training reads per epoch stays editable."""
        for widget in (self.mode, self.network, self.preset, self.device, self.validation):
            widget.setEnabled(not training)
        for widget in (self.samples, self.depth, self.features):
            widget.enabled = not training
        self.advanced_form.set_enabled(not training)
        self.patch_depth.enabled = not training and NETWORKS[self.network.currentText()] == 3

    def _show_device(self, name: str) -> None:
        try:
            self.device_label.setText(describe_device(choose_device(name)))
        except PN2VError as error:
            self.device_label.setText(str(error))
