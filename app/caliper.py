"""Line calipers on the image view: drag either end; the label gives the
length in µm when the scan's pixel spacing is known, in pixels otherwise.
Each caliper belongs to the frame it was drawn on."""
from __future__ import annotations

import PySide6.QtWidgets  # noqa: F401 - bind pyqtgraph to PySide6 before importing it
import pyqtgraph as pg
from PySide6.QtCore import QObject, Signal

from core.measure import Measurement, measure

PEN = pg.mkPen("#ffd54f", width=2)
HOVER_PEN = pg.mkPen("#fff176", width=3)


class _Line:
    def __init__(self, frame: int, roi: pg.LineSegmentROI, label: pg.TextItem):
        self.frame, self.roi, self.label = frame, roi, label

    def endpoints(self) -> tuple[tuple[float, float], tuple[float, float]]:
        # handle positions are in the ROI's frame; its parent's frame is image pixels
        a, b = (self.roi.mapToParent(h.pos()) for h in self.roi.getHandles())
        return (a.x(), a.y()), (b.x(), b.y())


class Caliper(QObject):
    changed = Signal()

    def __init__(self, image_view):
        super().__init__(image_view)
        self.image_view = image_view
        self.lines: list[_Line] = []
        image_view.frame_changed.connect(self._show_frame)

    def add(self, start=None, end=None) -> Measurement | None:
        """A caliper on the current frame; by default across the middle third."""
        frames = self.image_view.frames
        if frames is None:
            return None
        h, w = frames.shape[1:]
        if start is None or end is None:
            start, end = (w / 3, h / 2), (2 * w / 3, h / 2)
        roi = pg.LineSegmentROI([start, end], pen=PEN, hoverPen=HOVER_PEN)
        label = pg.TextItem(color="#ffd54f", anchor=(0, 1), fill=pg.mkBrush(0, 0, 0, 150))
        view = self.image_view.view
        view.addItem(roi)
        view.addItem(label)
        line = _Line(self.image_view.current_frame, roi, label)
        self.lines.append(line)
        roi.sigRegionChanged.connect(lambda _roi, line=line: self._update(line))
        self._update(line)
        return self.measurement(line)

    def measurement(self, line: _Line) -> Measurement:
        a, b = line.endpoints()
        return measure(a, b, self.image_view.pixel_spacing, frame=line.frame)

    def measurements(self, frame: int | None = None) -> list[Measurement]:
        """Every caliper's measurement, or those on ``frame``."""
        return [self.measurement(ln) for ln in self.lines if frame is None or ln.frame == frame]

    def clear(self) -> None:
        view = self.image_view.view
        for ln in self.lines:
            view.removeItem(ln.roi)
            view.removeItem(ln.label)
        self.lines = []
        self.changed.emit()

    def _update(self, line: _Line) -> None:
        m = self.measurement(line)
        index = self.lines.index(line) + 1
        line.label.setText(f"{index}: {m.text()}")
        line.label.setPos(*m.end)
        self.changed.emit()

    def _show_frame(self, frame: int) -> None:
        for ln in self.lines:
            ln.roi.setVisible(ln.frame == frame)
            ln.label.setVisible(ln.frame == frame)
