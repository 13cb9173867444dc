"""The demo's three images: original, adversarial, and the perturbation on
a diverging colour map with its scale in grey levels. Side by side or one
at a time. Every adversarial picture carries a
"DEMO: perturbed image" banner, on screen and in exports."""
from __future__ import annotations

import PySide6.QtWidgets  # noqa: F401 - bind pyqtgraph to PySide6 first
import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QBuffer, QIODevice, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter
from PySide6.QtWidgets import QLabel, QStackedLayout, QVBoxLayout, QWidget, QHBoxLayout

OVERLAY_TEXT = "DEMO: perturbed image"
OVERLAY_COLOUR = "#c0392b"
VIEWS = ("original", "adversarial", "perturbation")
TITLES = {"original": "Original (model input)", "adversarial": "Adversarial",
          "perturbation": "Perturbation (amplified)"}
DIVERGING = "CET-D1A"   # blue - white - red, perceptually even


def png_bytes(image: QImage) -> bytes:
    """A QImage encoded as PNG (exports of the adversarial image and the risk report)."""
    buf = QBuffer()
    buf.open(QIODevice.WriteOnly)
    image.save(buf, "PNG")
    return bytes(buf.data())


def overlay_label(parent: QWidget) -> QLabel:
    lab = QLabel(OVERLAY_TEXT, parent)
    lab.setObjectName("demoOverlay")
    lab.setStyleSheet(f"QLabel {{ background: {OVERLAY_COLOUR}; color: white; "
                      "font-weight: bold; padding: 3px 8px; border-radius: 3px; }")
    lab.adjustSize()
    lab.move(8, 8)
    lab.setAttribute(Qt.WA_TransparentForMouseEvents)
    return lab


class _Pane(QWidget):
    """One titled image with, for the perturbation, a colour bar."""

    def __init__(self, key: str, parent=None):
        super().__init__(parent)
        self.key = key
        self.base_title = TITLES[key]     # what the pane shows; the evidence caption goes below it
        self.title = QLabel(TITLES[key])
        self.title.setAlignment(Qt.AlignCenter)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("#0b0c0e")
        self.view = self.graphics.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.image)
        self.colorbar = None
        if key == "perturbation":
            self.colorbar = pg.ColorBarItem(values=(-1, 1), colorMap=pg.colormap.get(DIVERGING),
                                            interactive=False, width=14,
                                            label="grey levels (adv − orig)")
            self.colorbar.setImageItem(self.image, insert_in=None)
            self.graphics.addItem(self.colorbar)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.setSpacing(2)
        lay.addWidget(self.title)
        lay.addWidget(self.graphics, 1)
        self.overlay = overlay_label(self.graphics) if key != "original" else None
        self.evidence = None     # pg.ImageItem of the class-evidence map, made on first use

    def set_evidence(self, rgba, opacity: float = 0.6, caption: str = "") -> None:
        """Draw an (S, S, 4) evidence map over the image (app/evidence.py), or hide it."""
        if rgba is None:
            if self.evidence is not None:
                self.evidence.hide()
            self.title.setText(self.base_title)
            return
        if self.evidence is None:
            self.evidence = pg.ImageItem(axisOrder="row-major")
            self.evidence.setZValue(10)
            self.view.addItem(self.evidence)
        self.evidence.setImage(rgba, autoLevels=False, levels=(0, 255))
        self.evidence.setOpacity(opacity)
        self.evidence.show()
        self.title.setText(f"{self.base_title}\n{caption}" if caption else self.base_title)

    def set_base_title(self, text: str) -> None:
        caption = self.title.text().partition("\n")[2]
        self.base_title = text
        self.title.setText(f"{text}\n{caption}" if caption else text)


class TripleView(QWidget):
    """``set_images(original, adversarial)``: (S, S) float arrays in [0, 1]."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.panes = {k: _Pane(k) for k in VIEWS}
        # not range-linked: the perturbation pane is narrower (its colour bar),
        # and linking both axes of aspect-locked views of different shapes
        # stretches the pixels
        self.original: np.ndarray | None = None
        self.adversarial: np.ndarray | None = None
        self.scale_grey = 1.0
        self.mode = "side by side"
        self.side = QWidget()
        self._side_lay = QHBoxLayout(self.side)
        self._side_lay.setContentsMargins(0, 0, 0, 0)
        self._side_lay.setSpacing(4)
        self.single = QWidget()
        self._single_lay = QVBoxLayout(self.single)
        self._single_lay.setContentsMargins(0, 0, 0, 0)
        self.stack = QStackedLayout(self)
        self.stack.addWidget(self.side)
        self.stack.addWidget(self.single)
        self.set_mode("side by side")

    def set_mode(self, mode: str) -> None:
        """'side by side' or one of VIEWS."""
        self.mode = mode
        for p in self.panes.values():
            p.setParent(None)
        if mode == "side by side":
            for k in VIEWS:
                self._side_lay.addWidget(self.panes[k], 1)
                self.panes[k].show()
            self.stack.setCurrentWidget(self.side)
        else:
            pane = self.panes[mode]
            self._single_lay.addWidget(pane)
            pane.show()
            self.stack.setCurrentWidget(self.single)

    def clear(self) -> None:
        self.original = self.adversarial = None
        for p in self.panes.values():
            p.image.clear()

    def set_images(self, original: np.ndarray, adversarial: np.ndarray, native: bool = False) -> None:
        first = self.original is None or self.original.shape != original.shape
        self.panes["original"].set_base_title(
            f"Original (native resolution, {original.shape[1]} x {original.shape[0]})" if native
            else TITLES["original"])
        self.original, self.adversarial = original, adversarial
        self.panes["original"].image.setImage(original, autoLevels=False, levels=(0.0, 1.0))
        self.panes["adversarial"].image.setImage(adversarial, autoLevels=False, levels=(0.0, 1.0))
        delta = (adversarial - original) * 255.0
        # a symmetric scale at least +-1 grey level so a zero map stays white
        self.scale_grey = max(1.0, float(np.ceil(np.abs(delta).max() * 10) / 10))
        pert = self.panes["perturbation"]
        pert.image.setImage(delta, autoLevels=False, levels=(-self.scale_grey, self.scale_grey))
        pert.colorbar.setLevels((-self.scale_grey, self.scale_grey))
        if first:
            for p in self.panes.values():
                p.view.autoRange(padding=0.01)


    def set_evidence(self, maps, opacity: float = 0.6) -> None:
        """``maps``: [(rgba, caption) for the original, (rgba, caption) for the
        adversarial] to show the two side by side, or None to hide them."""
        if maps is None:
            for k in ("original", "adversarial"):
                self.panes[k].set_evidence(None)
            return
        for k, (rgba, caption) in zip(("original", "adversarial"), maps):
            self.panes[k].set_evidence(rgba, opacity, caption)


def adversarial_qimage(adversarial: np.ndarray, caption: str, min_size: int = 512) -> QImage:
    """The adversarial image as an RGB QImage (nearest-neighbour enlarged to
    ``min_size``) with the DEMO banner and a caption burnt in: exports can
    never lose the warning."""
    a = np.round(np.clip(adversarial, 0, 1) * 255).astype(np.uint8)
    h, w = a.shape
    grey = QImage(np.ascontiguousarray(a).data, w, h, w, QImage.Format_Grayscale8).copy()
    k = max(1, int(np.ceil(min_size / max(h, w))))
    img = grey.scaled(w * k, h * k, Qt.IgnoreAspectRatio, Qt.FastTransformation) \
              .convertToFormat(QImage.Format_RGB32)
    p = QPainter(img)
    f = QFont("Sans Serif")
    f.setBold(True)
    f.setPixelSize(max(12, img.width() // 28))
    p.setFont(f)
    band = QRectF(0, 0, img.width(), f.pixelSize() * 1.8)
    p.fillRect(band, QColor(OVERLAY_COLOUR))
    p.setPen(QColor("white"))
    p.drawText(band.adjusted(8, 0, -8, 0), Qt.AlignVCenter | Qt.AlignLeft, OVERLAY_TEXT)
    f.setBold(False)
    f.setPixelSize(max(10, img.width() // 45))
    p.setFont(f)
    foot = QRectF(0, img.height() - f.pixelSize() * 1.8, img.width(), f.pixelSize() * 1.8)
    p.fillRect(foot, QColor(0, 0, 0, 170))
    p.drawText(foot.adjusted(8, 0, -8, 0), Qt.AlignVCenter | Qt.AlignLeft, caption)
    p.end()
    return img
