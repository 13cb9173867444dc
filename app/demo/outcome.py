"""Prediction and detector gauge for the original and the adversarial image,
and the paper's risk category of the adversarial case, in colour."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from .. import theme
from ..gauge import DetectorGauge
from .jobs import ACCEPTED_CORRECT, ACCEPTED_WRONG, CATEGORY_TEXT, REJECTED, FrameOutcome

CATEGORY_COLOUR = {REJECTED: theme.ACCEPT,          # the defence worked: green
                   ACCEPTED_CORRECT: "#3c78c3",     # harmless: blue
                   ACCEPTED_WRONG: theme.REJECT}    # the dangerous case: red
CATEGORY_NOTE = {REJECTED: "the detector caught the attack",
                 ACCEPTED_CORRECT: "the attack did not change the answer",
                 ACCEPTED_WRONG: "a wrong answer got through: the risk the paper counts"}


class _Side(QWidget):
    def __init__(self, title: str, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        head = QHBoxLayout()
        cap = QLabel(title)
        cap.setStyleSheet("color: #8b939c;")
        cap.setMinimumWidth(80)
        head.addWidget(cap)
        self.label = QLabel("—")
        f = QFont(self.font())
        f.setPointSizeF(f.pointSizeF() * 1.3)
        f.setBold(True)
        self.label.setFont(f)
        head.addWidget(self.label, 1)
        lay.addLayout(head)
        self.detail = QLabel("")
        self.detail.setWordWrap(True)
        lay.addWidget(self.detail)
        self.gauge = DetectorGauge()
        lay.addWidget(self.gauge)

    def show(self, fr) -> None:  # noqa: A003 - a FrameResult or None
        if fr is None:
            self.label.setText("—")
            self.detail.setText("")
            self.gauge.set_score(None, None)
            return
        self.label.setText(f"{fr.label} {fr.probabilities[fr.label]:.0%}")
        if fr.score is None:
            gate = "not screened (no gate)"
        else:
            gate = (f"{'accepted' if fr.accepted else 'REJECTED'} by the gate, "
                    f"margin {fr.score - fr.threshold:+,.1f}")
        self.detail.setText(gate)
        self.gauge.set_score(fr.score, fr.threshold)


class OutcomePanel(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.setSpacing(6)
        self.banner = QLabel()
        self.banner.setObjectName("demoCategory")
        self.banner.setAlignment(Qt.AlignCenter)
        self.banner.setWordWrap(True)
        self.banner.setMinimumHeight(40)
        f = QFont(self.font())
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() * 1.1)
        self.banner.setFont(f)
        lay.addWidget(self.banner)
        # stacked, not side by side: the gauges need the full width to stay readable
        self.original = _Side("Original")
        self.adversarial = _Side("Adversarial")
        lay.addWidget(self.original)
        lay.addWidget(self.adversarial)
        self.notes = QLabel()
        self.notes.setObjectName("demoNotes")
        self.notes.setWordWrap(True)
        self.notes.setTextInteractionFlags(Qt.TextSelectableByMouse)
        lay.addWidget(self.notes)
        lay.addStretch(1)
        self.category: str | None = None
        self.show_message("Open a scan to start the demo.")

    def _set_banner(self, text: str, colour: str | None) -> None:
        self.banner.setText(text)
        self.banner.setStyleSheet(
            "QLabel { border: 1px solid rgba(128,128,128,90); border-radius: 4px; padding: 6px; }"
            if colour is None else
            f"QLabel {{ background: {colour}; color: white; border-radius: 4px; padding: 6px; }}")

    def show_message(self, text: str, keep_result: bool = False) -> None:
        if keep_result and self.category is not None:
            self.notes.setText(text)
            return
        self.category = None
        self._set_banner(text, None)
        self.original.show(None)
        self.adversarial.show(None)
        self.notes.setText("")

    def show_outcome(self, o: FrameOutcome) -> None:
        self.category = o.category
        self._set_banner(f"{CATEGORY_TEXT[o.category]}: {CATEGORY_NOTE[o.category]}",
                         CATEGORY_COLOUR[o.category])
        self.original.show(o.clean)
        self.adversarial.show(o.adv)
        ref = (f"“correct” = {o.reference}, the label in the file name"
               if o.reference_source == "file name" else
               f"“correct” = {o.reference}, the model's answer on the clean image "
               "(the file name gives no label)")
        lines = [f"{o.params.describe()} on {o.model_name}: {o.seconds:.2f} s",
                 f"largest change {o.linf_grey:.2f} grey levels; "
                 f"{o.changed_fraction:.0%} of pixels moved by ≥ 0.5 level", ref]
        if o.clean.label != o.reference:
            lines.append("(the model was already wrong on the clean image)")
        if o.spec.on_grid:
            lines.append(f"8-bit file at native resolution: {o.repair}; Export writes this file, "
                         "marked as a demonstration image")
        if o.adv_float is not None:
            before = CATEGORY_TEXT[o.category_float].lower()
            lines.append(f"8-bit file: before rounding {o.adv_float.label} ({before}); "
                         f"after rounding {o.adv.label} ({CATEGORY_TEXT[o.category].lower()})")
        self.notes.setText("\n".join(lines))
