"""The "demonstration image" banner over the main image view, for any file
that carries OCTGuard's adversarial-demonstration marking. Core detects the
marking (``Scan.demonstration``, see core.io.formats.DEMO_MARK); this only
shows it, so an adversarial file is never mistaken for a clinical original."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

TEXT = "DEMONSTRATION IMAGE: adversarially perturbed by OCTGuard, not for clinical use"
COLOUR = "#c0392b"     # the demo's overlay red


class DemonstrationBanner(QLabel):
    def __init__(self, window):
        super().__init__(TEXT, window.image_view.graphics)
        self.setObjectName("demonstrationBanner")
        self.setStyleSheet(f"QLabel {{ background: {COLOUR}; color: white; font-weight: bold; "
                           "padding: 4px 10px; border-radius: 3px; }")
        self.setAttribute(Qt.WA_TransparentForMouseEvents)
        self.adjustSize()
        self.move(8, 8)
        self.hide()
        window.scan_changed.connect(self.set_scan)

    def set_scan(self, scan) -> None:
        self.setHidden(not (scan is not None and scan.demonstration))
        self.raise_()
