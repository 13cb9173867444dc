"""Volumes and measurement in the viewer: the Volume dock (fundus with the
current B-scan's position, per-volume summary) and the line caliper.

It plugs into the window the way demo mode does: ``add_panel``, the menus
and toolbar, and the ``scan_changed`` / ``result_changed`` signals.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence

from core.measure import Measurement, usable_spacing
from core.summary import summarize

from .caliper import Caliper
from .fundus_panel import FundusPanel


class VolumeTools(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.scan = None
        self.summary_text = ""
        self.panel = FundusPanel()
        self.dock = window.add_panel(self.panel, "Volume", Qt.LeftDockWidgetArea)
        self.dock.hide()
        self.caliper = Caliper(window.image_view)

        self.act_measure = QAction("&Add Caliper", window)
        self.act_measure.setShortcut(QKeySequence("M"))
        self.act_measure.setStatusTip("Measure a length on the B-scan: drag the ends of the line")
        self.act_measure.setToolTip("Add a caliper: drag its ends to measure (M)")
        self.act_measure.triggered.connect(self.add_caliper)
        self.act_clear = QAction("Clear &Measurements", window)
        self.act_clear.triggered.connect(self.caliper.clear)
        for a in (self.act_measure, self.act_clear):
            a.setEnabled(False)
            window.addAction(a)  # shortcuts work with the menu bar hidden
        view_menu = window.menus["view"]
        view_menu.addSeparator()
        view_menu.addActions([self.act_measure, self.act_clear, self.dock.toggleViewAction()])
        window.toolbar.insertAction(window.toolbar_demo_separator, self.act_measure)

        window.scan_changed.connect(self._scan_changed)
        window.result_changed.connect(self._result_changed)
        window.image_view.frame_changed.connect(self.panel.set_frame)

    # -- signals ------------------------------------------------------------
    def _scan_changed(self, scan) -> None:
        self.scan = scan
        self.caliper.clear()
        self.summary_text = ""
        for a in (self.act_measure, self.act_clear):
            a.setEnabled(scan is not None)
        if scan is None:
            self.dock.hide()
            return
        self.panel.set_scan(scan)
        if scan.fundus is not None or scan.n_frames > 1:
            if self.dock.isHidden():
                self.dock.show()
                self.window.resizeDocks([self.dock], [300], Qt.Horizontal)
        else:
            self.dock.hide()

    def _result_changed(self, result) -> None:
        if result is None or not result.frames or self.scan is None or self.scan.n_frames < 2:
            self.summary_text = ""
        else:
            classes = list(result.frames[0].probabilities)  # the model's class order
            self.summary_text = f"Volume: {summarize(result, classes).text()}"
        self.panel.set_summary(self.summary_text)

    # -- actions --------------------------------------------------------------
    def add_caliper(self, start=None, end=None) -> Measurement | None:
        m = self.caliper.add(start, end)
        if m is not None and not m.calibrated:
            self.window.statusBar().showMessage(
                "This file has no pixel spacing: lengths are in pixels", 5000)
        return m

    # -- reports --------------------------------------------------------------
    def report_measurements(self) -> list[Measurement]:
        return self.caliper.measurements(self.window.image_view.current_frame)

    def report_text(self) -> str:
        """What the PNG/PDF report adds: the calipers on this frame and the
        volume summary."""
        parts = []
        ms = self.report_measurements()
        if ms:
            lines = [f"{i}. {m.text()}" for i, m in enumerate(ms, 1)]
            head = "Measurements" if self.scan is not None and usable_spacing(
                self.scan.pixel_spacing) else "Measurements (in pixels: no pixel spacing)"
            parts.append(head + ":\n" + "\n".join(lines))
        if self.summary_text:
            parts.append(self.summary_text)
        return "\n\n".join(parts)
