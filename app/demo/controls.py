"""The demo's controls: attack, eps (also in grey levels), PGD steps, C&W c,
the image it perturbs (model input or the native-resolution 8-bit file),
the model to attack and the view layout. Every change
emits ``changed`` with a fresh :class:`DemoParams`."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout,
                               QLabel, QSlider, QSpinBox, QWidget)

from core.attacks.levels import grey_levels

from .params import ATTACK_NAMES, EPS_MAX, EPS_TICKS, REALISM, DemoParams
from .views import VIEWS

VIEWER_MODEL = "viewer"   # combo data for "the model the viewer has loaded"


class DemoControls(QWidget):
    changed = Signal(object)         # DemoParams
    layout_changed = Signal(str)     # 'side by side' or a view name

    def __init__(self, parent=None):
        super().__init__(parent)
        form = QFormLayout(self)
        form.setContentsMargins(6, 6, 6, 6)
        form.setLabelAlignment(Qt.AlignRight)

        self.attack = QComboBox()
        for key, name in ATTACK_NAMES.items():
            self.attack.addItem(name, key)
        form.addRow("Attack", self.attack)

        self.eps = QSlider(Qt.Horizontal)
        self.eps.setRange(0, EPS_TICKS)
        self.eps.setPageStep(10)
        self.eps_label = QLabel()
        self.eps_label.setMinimumWidth(150)
        row = QHBoxLayout()
        row.addWidget(self.eps, 1)
        row.addWidget(self.eps_label)
        form.addRow("eps", row)

        self.steps = QSpinBox()
        self.steps.setRange(1, 200)
        self.steps.setValue(10)
        form.addRow("PGD steps", self.steps)
        self.c = QDoubleSpinBox()
        self.c.setRange(0.01, 100.0)
        self.c.setDecimals(2)
        self.c.setSingleStep(0.1)
        self.c.setValue(1.0)
        form.addRow("C&&W c", self.c)

        self.image_kind = QComboBox()
        self._kinds = list(REALISM)              # (native, eight_bit), in combo order
        self.image_kind.addItems(list(REALISM.values()))
        self.image_kind.setToolTip(
            "Model input, float: the paper's threat, the model's own input tensor.\n"
            "Rounded to 8 bits: the same attack, then rounded as a naive 8-bit save would.\n"
            "Native resolution, 8-bit: the realistic threat. The full-resolution scan is attacked "
            "through the viewer's own crop and resize, in whole grey levels; Export writes that "
            "file (PNG or DICOM), marked as a demonstration image.")
        form.addRow("Image", self.image_kind)

        self.model = QComboBox()
        self.model.setToolTip("Which installed model to attack (for example SSAT against the "
                              "undefended NT), so defences can be compared on one scan")
        form.addRow("Model", self.model)

        self.view_mode = QComboBox()
        self.view_mode.addItems(["side by side", *VIEWS])
        form.addRow("Show", self.view_mode)

        self.eps.valueChanged.connect(self._slider_moved)    # before _emit reads it
        self.set_params(DemoParams())
        self.set_models([], None)
        for sig in (self.attack.currentIndexChanged, self.eps.valueChanged,
                    self.steps.valueChanged, self.c.valueChanged, self.image_kind.currentIndexChanged,
                    self.model.currentIndexChanged):
            sig.connect(self._emit)
        self.view_mode.currentTextChanged.connect(self.layout_changed)

    # ----------------------------------------------------------------- values
    def params(self) -> DemoParams:
        data = self.model.currentData()
        # start from the last set_params: keeps fields without a control
        # (C&W steps) and an eps finer than the slider's 0.0001 steps
        return self._base.with_(attack=self.attack.currentData(), eps=self._eps,
                                steps=self.steps.value(), c=self.c.value(),
                                native=self._kinds[self.image_kind.currentIndex()][0],
                                eight_bit=self._kinds[self.image_kind.currentIndex()][1],
                                model_dir=None if data in (None, VIEWER_MODEL) else Path(data))

    def _slider_moved(self, tick: int) -> None:
        self._eps = tick * EPS_MAX / EPS_TICKS

    def set_params(self, p: DemoParams) -> None:
        """Set every control at once, emitting ``changed`` once."""
        widgets = (self.attack, self.eps, self.steps, self.c, self.image_kind, self.model)
        for w in widgets:
            w.blockSignals(True)
        self._base = p
        self._eps = min(max(p.eps, 0.0), EPS_MAX)
        self.attack.setCurrentIndex(max(0, self.attack.findData(p.attack)))
        self.eps.setValue(round(min(max(p.eps, 0.0), EPS_MAX) * EPS_TICKS / EPS_MAX))
        self.steps.setValue(p.steps)
        self.c.setValue(p.c)
        self.image_kind.setCurrentIndex(self._kinds.index((p.native, p.eight_bit or p.native)))
        i = self.model.findData(VIEWER_MODEL if p.model_dir is None else str(p.model_dir))
        if i >= 0:
            self.model.setCurrentIndex(i)
        for w in widgets:
            w.blockSignals(False)
        self._emit()

    def set_models(self, dirs: list[Path], viewer_name: str | None) -> None:
        """The viewer's model first, then other installed model directories."""
        keep = self.model.currentData()
        self.model.blockSignals(True)
        self.model.clear()
        if viewer_name:
            self.model.addItem(f"viewer's model ({viewer_name})", VIEWER_MODEL)
        for d in dirs:
            self.model.addItem(d.name, str(d))
        if self.model.count() == 0:
            self.model.addItem("no model installed", None)
        i = self.model.findData(keep)
        self.model.setCurrentIndex(max(i, 0))
        self.model.setEnabled(self.model.count() > 1)
        self.model.blockSignals(False)

    def _emit(self, *_) -> None:
        p = self.params()
        self.eps_label.setText(f"{p.eps:.4f}  = {grey_levels(p.eps):.2f} grey levels")
        self.steps.setEnabled(p.attack in ("pgd", "adaptive"))
        self.c.setEnabled(p.attack == "cw")
        is_linf = p.attack != "cw"
        self.eps.setEnabled(is_linf)
        self.eps_label.setEnabled(is_linf)
        self.eps.setToolTip("" if is_linf else "C&W (L2) has no eps bound; set c instead")
        self.changed.emit(p)
