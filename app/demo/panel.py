"""The demo dock's layout: controls and run state on the left, the three
views in the middle, predictions and the risk category on the right."""
from __future__ import annotations

from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton,
                               QScrollArea, QSplitter, QVBoxLayout, QWidget)
from PySide6.QtCore import Qt

from .controls import DemoControls
from .outcome import OutcomePanel
from .views import TripleView


class DemoPanel(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("demoPanel")
        self.controls = DemoControls()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(8)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.export_button = QPushButton("Export adversarial…")
        self.export_button.setToolTip("Save the adversarial image as PNG, with the DEMO banner")
        self.export_button.setEnabled(False)
        self.set_button = QPushButton("Run on a set…")
        self.set_button.setToolTip("Attack every scan of the open folder (or the sample scans) "
                                   "and show the paper's risk with and without the gate")

        left = QWidget()
        col = QVBoxLayout(left)
        col.setContentsMargins(0, 0, 0, 0)
        col.addWidget(self.controls)
        col.addWidget(self.progress)
        row = QHBoxLayout()
        row.addWidget(self.status, 1)
        row.addWidget(self.cancel_button)
        col.addLayout(row)
        buttons = QHBoxLayout()
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.set_button)
        col.addLayout(buttons)
        col.addStretch(1)
        left.setMinimumWidth(300)

        self.views = TripleView()
        self.outcome = OutcomePanel()
        self.outcome.setMinimumWidth(340)
        # the three views across the top, controls and outcome under them
        below = QSplitter(Qt.Horizontal)
        below.addWidget(_scrolled(left))
        below.addWidget(_scrolled(self.outcome))
        below.setSizes([420, 420])
        split = QSplitter(Qt.Vertical)
        split.addWidget(self.views)
        split.addWidget(below)
        split.setStretchFactor(0, 1)
        split.setSizes([420, 320])
        self.views.setMinimumHeight(200)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(split)

    def set_running(self, running: bool, message: str = "") -> None:
        self.cancel_button.setEnabled(running)
        if not running:
            self.progress.setValue(0)
        if message:
            self.status.setText(message)

    def set_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        self.status.setText(message)


def _scrolled(widget: QWidget) -> QScrollArea:
    """Scroll rather than force a minimum height on the whole window."""
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
    area.setMinimumWidth(widget.minimumWidth() + 16)
    return area
