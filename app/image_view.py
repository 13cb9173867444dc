"""The large image view: zoom/pan, fit, window/level with a histogram, invert,
a frame slider for multi-frame scans and a physical scale bar."""
from __future__ import annotations

import PySide6.QtWidgets  # noqa: F401 - bind pyqtgraph to PySide6 before importing it
import numpy as np
import pyqtgraph as pg
from pyqtgraph.graphicsItems import GradientEditorItem as _gradient_editor
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

# must precede building any view: the default (col-major) transposes images
pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)


class _NoColourMapMenu(_gradient_editor.ColorMapMenu):
    """The histogram's gradient menu without colour maps. OCT is read in grey
    (Invert gives the other grey), and pyqtgraph 0.14's full menu imports
    matplotlib.pyplot while the window is built when matplotlib is installed:
    1.0 s of the first window, measured (bench/results). Drop this when
    pyqtgraph releases HistogramLUTItem(colorMapMenu=False) (its PR 3434)."""

    def __init__(self, **_options):
        super().__init__(showGradientSubMenu=False, showColorMapSubMenus=False)


_gradient_editor.ColorMapMenu = _NoColourMapMenu   # the name GradientEditorItem builds its menu with

NICE_MM = (0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0)
GREY = {"mode": "rgb", "ticks": [(0.0, (0, 0, 0, 255)), (1.0, (255, 255, 255, 255))]}
GREY_INV = {"mode": "rgb", "ticks": [(0.0, (255, 255, 255, 255)), (1.0, (0, 0, 0, 255))]}


def nice_scale_length(width_mm: float) -> float:
    """A round length near a fifth of the image width."""
    target = width_mm / 5
    return min(NICE_MM, key=lambda v: abs(np.log(v / target)))


class ImageView(QWidget):
    frame_changed = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.frames: np.ndarray | None = None
        self.pixel_spacing: tuple[float, float] | None = None
        self.inverted = False

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("#0b0c0e")
        self.view = self.graphics.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.image)
        # the class-evidence overlay (app/evidence.py): RGBA over the frame
        self.overlay = pg.ImageItem(axisOrder="row-major")
        self.overlay.setZValue(10)
        self.overlay.hide()
        self.view.addItem(self.overlay)
        self.scale_bar: pg.ScaleBar | None = None

        self.histogram = pg.HistogramLUTWidget(image=self.image)
        self.histogram.gradient.restoreState(GREY)
        self.histogram.setMaximumWidth(130)
        self.histogram.setBackground("#141619")
        self.histogram.item.plot.setPen(pg.mkPen("#9aa3ad"))
        self.histogram.item.plot.setBrush(pg.mkBrush(154, 163, 173, 90))
        self.histogram.item.region.setBrush(pg.mkBrush(60, 120, 195, 45))
        self.histogram.setToolTip("Window/level: drag the region or its edges")
        # grey only: no ticks to drag colours onto (and no colour maps in the menu, above)
        self.histogram.gradient.showTicks(False)

        self.empty_label = QLabel("Open a scan: File > Open (Ctrl+O), drop a file here, "
                                  "or Help > Open sample")
        self.empty_label.setAlignment(Qt.AlignCenter)
        self.empty_label.setStyleSheet("color: #8b939c; font-size: 14pt;")

        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.valueChanged.connect(self._on_slider)
        self.frame_label = QLabel("")
        self.slider_row = QWidget()
        row = QHBoxLayout(self.slider_row)
        row.setContentsMargins(6, 0, 6, 0)
        row.addWidget(QLabel("Frame"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.frame_label)
        self.slider_row.hide()

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.setSpacing(0)
        top.addWidget(self.graphics, 1)
        top.addWidget(self.empty_label, 1)
        top.addWidget(self.histogram)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top, 1)
        lay.addWidget(self.slider_row)
        self.graphics.hide()
        self.histogram.hide()

    # -- content -----------------------------------------------------------
    @property
    def current_frame(self) -> int:
        return self.slider.value()

    def set_scan(self, frames: np.ndarray, pixel_spacing=None) -> None:
        self.frames = frames
        self.pixel_spacing = pixel_spacing
        n = frames.shape[0]
        self.empty_label.hide()
        self.graphics.show()
        self.histogram.show()
        self.slider.blockSignals(True)
        self.slider.setRange(0, n - 1)
        self.slider.setValue(0)
        self.slider.blockSignals(False)
        self.slider_row.setVisible(n > 1)
        self._show(0, reset_levels=True)
        self.fit()
        self._update_scale_bar()

    def clear(self) -> None:
        self.frames = None
        self.image.clear()
        self.graphics.hide()
        self.histogram.hide()
        self.slider_row.hide()
        self.empty_label.show()
        self._update_scale_bar()

    def set_frame(self, i: int) -> None:
        self.slider.setValue(i)

    def _on_slider(self, i: int) -> None:
        if self.frames is None:
            return
        self._show(i, reset_levels=False)
        self.frame_changed.emit(i)

    def _show(self, i: int, reset_levels: bool) -> None:
        levels = None if reset_levels else self.image.getLevels()
        self.image.setImage(self.frames[i], autoLevels=False,
                            levels=(0.0, 1.0) if levels is None else levels)
        if reset_levels:
            self.histogram.setLevels(0.0, 1.0)
        self.frame_label.setText(f"{i + 1} / {self.frames.shape[0]}")

    def _update_scale_bar(self) -> None:
        if self.scale_bar is not None:
            bar, self.scale_bar = self.scale_bar, None
            # pyqtgraph's ScaleBar.setParentItem(None) raises "Cannot anchor";
            # removing it from the scene detaches it as well
            if bar.scene() is not None:
                bar.scene().removeItem(bar)
        if self.frames is None or not self.pixel_spacing:
            return
        col_mm = float(self.pixel_spacing[1])
        if not np.isfinite(col_mm) or col_mm <= 0:
            return
        length = nice_scale_length(self.frames.shape[2] * col_mm)
        bar = pg.ScaleBar(size=length / col_mm, width=4, brush="#f0f0f0", suffix="")
        bar.text.setText(f"{length:g} mm")
        bar.setParentItem(self.view)
        bar.anchor((1, 1), (1, 1), offset=(-24, -24))
        self.scale_bar = bar

    def set_overlay(self, rgba: np.ndarray | None, opacity: float | None = None) -> None:
        """Draw (H, W, 4) uint8 over the frame on screen, or hide it (None)."""
        if rgba is None:
            self.overlay.hide()
            self.overlay.clear()
            return
        self.overlay.setImage(rgba, autoLevels=False, levels=(0, 255))
        if opacity is not None:
            self.overlay.setOpacity(opacity)
        self.overlay.show()

    def set_overlay_opacity(self, opacity: float) -> None:
        self.overlay.setOpacity(float(opacity))

    # -- view actions --------------------------------------------------------
    def fit(self) -> None:
        if self.frames is not None:
            self.view.autoRange(padding=0.01)

    def zoom(self, factor: float) -> None:
        if self.frames is not None:
            self.view.scaleBy((1 / factor, 1 / factor))

    def set_inverted(self, on: bool) -> None:
        self.inverted = bool(on)
        self.histogram.gradient.restoreState(GREY_INV if on else GREY)

    def reset_levels(self) -> None:
        self.histogram.setLevels(0.0, 1.0)

    def levels(self) -> tuple[float, float]:
        return tuple(self.histogram.getLevels())

    def rendered_frame(self) -> np.ndarray | None:
        """The frame on screen as uint8 after window/level and invert (reports)."""
        if self.frames is None:
            return None
        lo, hi = self.levels()
        f = self.frames[self.current_frame]
        out = np.clip((f - lo) / max(hi - lo, 1e-6), 0, 1)
        if self.inverted:
            out = 1 - out
        return np.ascontiguousarray((out * 255).astype(np.uint8))
