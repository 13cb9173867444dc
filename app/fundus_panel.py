"""The volume dock: the fundus / SLO image with the position of the B-scan on
screen, and the per-volume summary (frames per class, frames rejected)."""
from __future__ import annotations

import PySide6.QtWidgets  # noqa: F401 - bind pyqtgraph to PySide6 before importing it
import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

CURRENT_PEN = pg.mkPen("#40c4ff", width=2)
OTHER_PEN = pg.mkPen(64, 196, 255, 70, width=1)


class FundusPanel(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.lines: np.ndarray | None = None   # (F, 2, 2) (x, y) fundus pixels
        self.shape: tuple[int, int] | None = None
        self.frame = 0

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("#0b0c0e")
        self.graphics.setMinimumHeight(180)
        self.view = self.graphics.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.view.setMouseEnabled(False, False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.image)
        self.others = pg.PlotDataItem(pen=OTHER_PEN, connect="pairs")
        self.current = pg.PlotDataItem(pen=CURRENT_PEN)
        self.view.addItem(self.others)
        self.view.addItem(self.current)

        self.caption = QLabel()
        self.caption.setObjectName("fundusCaption")
        self.caption.setWordWrap(True)
        self.position = QLabel()
        self.position.setObjectName("bscanPosition")
        self.position.setWordWrap(True)
        self.summary = QLabel()
        self.summary.setObjectName("volumeSummary")
        self.summary.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.graphics, 1)
        lay.addWidget(self.caption)
        lay.addWidget(self.position)
        lay.addWidget(self.summary)

    def set_scan(self, scan) -> None:
        """Show the scan's fundus (the image area hides when it has none)."""
        fundus = getattr(scan, "fundus", None)
        self.summary.setText("")
        if fundus is None:
            self.lines, self.shape = None, None
            self.image.clear()
            self.graphics.hide()
            self.caption.setText("This file has no fundus image.")
            self.position.setText("")
            return
        self.graphics.show()
        img = fundus.image
        self.shape = img.shape
        self.image.setImage(img, autoLevels=False, levels=(0.0, 1.0))
        self.lines = fundus.bscan_lines
        if self.lines is not None and len(self.lines) > 1:
            self.others.setData(self.lines.reshape(-1, 2))
        else:
            self.others.setData([], [])
        self.caption.setText(f"Fundus: {fundus.modality or 'en-face image'}, "
                             f"{img.shape[1]} x {img.shape[0]} px")
        self.view.setRange(xRange=(0, img.shape[1]), yRange=(0, img.shape[0]), padding=0.02)
        self.set_frame(0)

    def set_frame(self, i: int) -> None:
        self.frame = i
        if self.shape is None:
            return
        if self.lines is None or not 0 <= i < len(self.lines):
            self.current.setData([], [])
            self.position.setText("The file does not say where its B-scans lie on the fundus.")
            return
        line = self.lines[i]
        self.current.setData(line[:, 0], line[:, 1])
        h, w = self.shape
        if self._inside(line, w, h):
            self.position.setText(f"B-scan {i + 1} of {len(self.lines)} (blue line).")
        else:
            (x0, y0), (x1, y1) = line
            self.position.setText(
                f"The file places B-scan {i + 1} at x {x0:.0f} to {x1:.0f}, y {y0:.0f} to "
                f"{y1:.0f} px, outside its {w} x {h} px fundus image: the file's positions "
                "and its fundus image disagree.")

    @staticmethod
    def _inside(line: np.ndarray, w: int, h: int) -> bool:
        """Does any part of the segment lie on the image? (sampled densely)"""
        pts = line[0] + np.linspace(0, 1, 64)[:, None] * (line[1] - line[0])
        return bool(((pts[:, 0] >= 0) & (pts[:, 0] <= w) & (pts[:, 1] >= 0)
                     & (pts[:, 1] <= h)).any())

    def set_summary(self, text: str) -> None:
        self.summary.setText(text)
