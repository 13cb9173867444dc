"""Detector likelihood gauge: the gate score against its threshold.

Gate scores are log-likelihoods whose spread runs from a few nats to many
thousands (an attacked input can sit 10^5 below the threshold), so the gauge
draws the *margin* (score - threshold) on a signed log scale centred on the
threshold: the rejected band is on the left, the accepted band on the right,
and a score beyond the drawn range is pinned to the edge with an arrow while
the exact numbers stay in the text under it.
"""
from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from . import theme

# (bend, limit, ticks, unit) of the signed log scale, per kind of gate: the
# paper's GMM scores in nats, the multi-part gate in summed z-scores (standard
# deviations of held-out clean scans), which sit a few units from the threshold
NATS = (5.0, 5000.0, (10, 100, 1000), "nats")
SIGMAS = (0.5, 50.0, (1, 5, 20), "σ")
_scale = NATS


def use_gate(gate) -> None:
    """Draw every gauge on the scale of this gate's scores."""
    global _scale
    _scale = SIGMAS if getattr(gate, "attack_scale", None) == 1.0 else NATS


def margin_position(margin: float) -> tuple[float, bool]:
    """Margin -> position in [-1, 1] and whether it was clipped."""
    bend, limit = _scale[0], _scale[1]
    if math.isnan(margin):
        return 0.0, True
    clipped = abs(margin) > limit
    m = max(-limit, min(limit, margin))
    pos = math.copysign(math.log1p(abs(m) / bend) / math.log1p(limit / bend), m)
    return pos, clipped


class DetectorGauge(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.score: float | None = None
        self.threshold: float | None = None
        self.setMinimumHeight(58)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.setToolTip("Detector score relative to its threshold (signed log scale): "
                        "how much the image looks like clean OCT scans of its predicted class "
                        "and how stable its answer is. Left of the threshold is rejected.")

    def set_score(self, score: float | None, threshold: float | None) -> None:
        self.score, self.threshold = score, threshold
        self.update()

    @property
    def margin(self) -> float | None:
        if self.score is None or self.threshold is None:
            return None
        return self.score - self.threshold

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt name
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        pal = self.palette()
        fg = pal.windowText().color()
        w, h = self.width(), self.height()
        pad = 14
        bar = QRectF(pad, 8, w - 2 * pad, 16)
        cx = bar.center().x()
        enabled = self.margin is not None
        rej, acc = QColor(theme.REJECT), QColor(theme.ACCEPT)
        for c in (rej, acc):
            c.setAlpha(150 if enabled else 40)
        p.setPen(Qt.NoPen)
        p.setBrush(rej)
        p.drawRoundedRect(QRectF(bar.left(), bar.top(), bar.width() / 2, bar.height()), 3, 3)
        p.setBrush(acc)
        p.drawRoundedRect(QRectF(cx, bar.top(), bar.width() / 2, bar.height()), 3, 3)

        # ticks: threshold in the middle, the scale's ticks either side
        small = QFont(self.font())
        small.setPointSizeF(max(7.0, small.pointSizeF() * 0.8))
        p.setFont(small)
        dim = QColor(fg)
        dim.setAlpha(170)
        p.setPen(QPen(dim, 1))
        for t in _scale[2]:
            for s in (-1, 1):
                x = cx + margin_position(s * t)[0] * bar.width() / 2
                p.drawLine(QPointF(x, bar.bottom()), QPointF(x, bar.bottom() + 4))
                p.drawText(QRectF(x - 30, bar.bottom() + 4, 60, 14), Qt.AlignCenter,
                           f"{s * t:+d}")
        p.setPen(QPen(fg, 2))
        p.drawLine(QPointF(cx, bar.top() - 4), QPointF(cx, bar.bottom() + 4))
        p.drawText(QRectF(cx - 60, bar.bottom() + 18, 120, 14), Qt.AlignCenter, "threshold")
        p.drawText(QRectF(bar.left(), bar.bottom() + 18, 90, 14), Qt.AlignLeft | Qt.AlignVCenter,
                   "◀ rejected")
        p.drawText(QRectF(bar.right() - 90, bar.bottom() + 18, 90, 14),
                   Qt.AlignRight | Qt.AlignVCenter, "accepted ▶")
        if not enabled:
            p.end()
            return

        pos, clipped = margin_position(self.margin)
        x = cx + pos * bar.width() / 2
        marker = QColor("#ffffff") if pal.window().color().lightness() < 128 else QColor("#000000")
        p.setPen(QPen(marker, 3))
        p.drawLine(QPointF(x, bar.top() - 5), QPointF(x, bar.bottom() + 5))
        path = QPainterPath()
        if clipped:  # an arrow out of the gauge says "further than drawn"
            d = -1 if pos < 0 else 1
            tip = x + d * 11
            path.moveTo(tip, bar.center().y())
            path.lineTo(x, bar.top() - 2)
            path.lineTo(x, bar.bottom() + 2)
        else:
            path.moveTo(x, bar.top())
            path.lineTo(x - 6, bar.top() - 8)
            path.lineTo(x + 6, bar.top() - 8)
        path.closeSubpath()
        p.setPen(Qt.NoPen)
        p.setBrush(marker)
        p.drawPath(path)
        p.end()
