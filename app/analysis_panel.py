"""The analysis panel: detector flag, prediction, probabilities and gauge.

A rejected input never shows its class as a finding: the headline says
"Prediction withheld", the class moves to a small grey "model's guess (not
reliable)" line and the probability bars turn grey.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QFrame, QGridLayout, QLabel, QProgressBar, QVBoxLayout,
                               QWidget)

from core import CLASSES

from . import theme
from .gauge import DetectorGauge
from .results import GATE, UNSCREENED, headline


def _bar_style(colour: str) -> str:
    return (f"QProgressBar {{ border: none; background: rgba(128,128,128,40); height: 14px; "
            f"border-radius: 3px; text-align: right; padding-right: 4px; }}"
            f"QProgressBar::chunk {{ background: {colour}; border-radius: 3px; }}")


class AnalysisPanel(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("analysisPanel")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 10, 10, 10)
        lay.setSpacing(8)

        self.flag = QLabel()
        self.flag.setObjectName("detectorFlag")
        self.flag.setWordWrap(True)
        self.flag.setAlignment(Qt.AlignCenter)
        self.flag.setMinimumHeight(44)
        f = QFont(self.font())
        f.setPointSizeF(f.pointSizeF() * 1.15)
        f.setBold(True)
        self.flag.setFont(f)
        lay.addWidget(self.flag)

        self.caption = QLabel("Prediction")
        self.caption.setObjectName("predictionCaption")
        lay.addWidget(self.caption)
        self.headline = QLabel()
        self.headline.setObjectName("predictionHeadline")
        big = QFont(self.font())
        big.setPointSizeF(big.pointSizeF() * 2.4)
        big.setBold(True)
        self.headline.setFont(big)
        self.headline.setWordWrap(True)
        lay.addWidget(self.headline)
        self.guess = QLabel()
        self.guess.setObjectName("modelGuess")
        self.guess.setWordWrap(True)
        lay.addWidget(self.guess)

        grid = QGridLayout()
        grid.setHorizontalSpacing(8)
        self.bars: dict[str, QProgressBar] = {}
        self.bar_labels: dict[str, QLabel] = {}
        for i, c in enumerate(CLASSES):
            lab = QLabel(c)
            bar = QProgressBar()
            bar.setRange(0, 1000)
            bar.setFormat("")
            bar.setTextVisible(True)
            grid.addWidget(lab, i, 0)
            grid.addWidget(bar, i, 1)
            self.bars[c], self.bar_labels[c] = bar, lab
        lay.addLayout(grid)

        line = QFrame()
        line.setFrameShape(QFrame.HLine)
        line.setFrameShadow(QFrame.Sunken)
        lay.addWidget(line)
        lay.addWidget(QLabel("Detector likelihood"))
        self.gauge = DetectorGauge()
        lay.addWidget(self.gauge)
        self.score_text = QLabel()
        self.score_text.setObjectName("scoreText")
        self.score_text.setWordWrap(True)
        self.score_text.setTextInteractionFlags(Qt.TextSelectableByMouse)
        lay.addWidget(self.score_text)
        self.frame_note = QLabel()
        self.frame_note.setWordWrap(True)
        lay.addWidget(self.frame_note)
        lay.addStretch(1)
        self.show_message("No scan open", "Open a scan (Ctrl+O), a folder, or Help > Open sample.")

    # -- states ----------------------------------------------------------------
    def _set_flag(self, text: str, colour: str | None) -> None:
        self.flag.setText(text)
        if colour is None:
            self.flag.setStyleSheet("QLabel { border: 1px solid rgba(128,128,128,90); "
                                    "border-radius: 4px; padding: 8px; }")
        else:
            self.flag.setStyleSheet(f"QLabel {{ background: {colour}; color: white; "
                                    "border-radius: 4px; padding: 8px; }")

    def _set_bars(self, probs: dict[str, float] | None, colour: str, top: str | None) -> None:
        for c in CLASSES:
            bar = self.bars[c]
            p = None if probs is None else probs.get(c)
            bar.setValue(0 if p is None else int(round(p * 1000)))
            bar.setFormat("" if p is None else f"{p:.1%}")
            bar.setStyleSheet(_bar_style(colour if c == top else theme.WITHHELD))
            font = self.bar_labels[c].font()
            font.setBold(c == top)
            self.bar_labels[c].setFont(font)

    def show_message(self, headline: str, detail: str = "", flag: str | None = None) -> None:
        """No result to show: waiting, no model, error."""
        self.state = "message"
        self._set_flag(flag or "No result", None)
        self.caption.setText("")
        self.headline.setText(headline)
        self.headline.setStyleSheet("")
        self.guess.setText(detail)
        self.guess.setStyleSheet("")
        self._set_bars(None, theme.WITHHELD, None)
        self.gauge.set_score(None, None)
        self.score_text.setText("")
        self.frame_note.setText("")

    def show_frame(self, fr, n_frames: int = 1, n_rejected: int = 0) -> None:
        """Show one core.analysis.FrameResult; its verdict decides the state."""
        self.state = fr.verdict
        colour = {"accepted": theme.ACCEPT, UNSCREENED: theme.UNSCREENED}.get(fr.verdict, theme.REJECT)
        self._set_flag(headline(fr), colour)

        if fr.accepted:
            self.caption.setText("Prediction")
            self.headline.setText(fr.label)
            self.headline.setStyleSheet("")
            self.guess.setText(f"{fr.probabilities[fr.label]:.1%} probability")
            self.guess.setStyleSheet("")
            self._set_bars(fr.probabilities, theme.ACCEPT if fr.score is not None
                           else theme.UNSCREENED, fr.label)
        elif fr.reason == GATE:
            self.caption.setText("Prediction")
            self.headline.setText("Withheld")
            self.headline.setStyleSheet(f"color: {theme.WITHHELD};")
            self.guess.setText(f"Model's guess (not reliable): {fr.label} "
                               f"{fr.probabilities[fr.label]:.0%}")
            self.guess.setStyleSheet(f"color: {theme.WITHHELD}; font-style: italic;")
            self._set_bars(fr.probabilities, theme.WITHHELD, None)
        else:   # refused before any diagnosis: not OCT, or blank; not even a guess
            self.caption.setText("Prediction")
            self.headline.setText("Not analysed")
            self.headline.setStyleSheet(f"color: {theme.WITHHELD};")
            self.guess.setText(f"Refused: {fr.reason}" + (f" ({fr.why})" if fr.why else ""))
            self.guess.setStyleSheet(f"color: {theme.WITHHELD}; font-style: italic;")
            self._set_bars(None, theme.WITHHELD, None)

        self.gauge.set_score(fr.score, fr.threshold)
        if fr.score is None:
            self.score_text.setText("This model has no detection gate.")
        else:
            m = fr.score - fr.threshold
            far = "  (beyond the drawn range)" if abs(m) > 5000 else ""
            self.score_text.setText(f"score {fr.score:,.1f}   threshold {fr.threshold:,.1f}\n"
                                    f"margin {m:+,.1f} nats{far}")
        if n_frames > 1:
            note = f"Frame {fr.frame + 1} of {n_frames}."
            if n_rejected:
                note += f" {n_rejected} frame(s) of this scan were rejected."
            self.frame_note.setText(note)
        else:
            self.frame_note.setText("")
