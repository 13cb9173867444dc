"""PNG and PDF reports of the scan on screen: the image as windowed, the
result, the model's provenance and "not for clinical use". Both are painted
by one routine and written to a temp file that is then renamed into place."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
from PySide6.QtCore import QMarginsF, QPointF, QRectF, Qt
from PySide6.QtGui import (QColor, QFont, QImage, QPageLayout, QPageSize, QPainter,
                           QPdfWriter, QPen)

from core.atomic import atomic_path

from . import theme
from .results import NOT_CLINICAL

PNG_SIZE = (1600, 1000)
CALIPER_COLOUR = "#e6a100"


class ExportError(Exception):
    pass


def _paint(p: QPainter, page: QRectF, image: np.ndarray | None, title: str,
           state: str, body: str, model_line: str, measurements=()) -> None:
    p.fillRect(page, QColor("white"))
    u = page.width() / 100          # layout unit: 1% of the page width
    x0, y = page.left() + 3 * u, page.top() + 3 * u
    p.setPen(QColor("#111111"))
    f = QFont("Sans Serif")
    f.setPixelSize(max(8, int(2.2 * u)))
    f.setBold(True)
    p.setFont(f)
    p.drawText(QRectF(x0, y, page.width() - 6 * u, 4 * u), Qt.AlignLeft | Qt.AlignVCenter,
               title)
    y += 5.5 * u

    # image on the left, up to 58% of the width
    img_box = QRectF(x0, y, 56 * u, page.bottom() - y - 8 * u)
    if image is not None:
        h, w = image.shape[:2]
        image = np.ascontiguousarray(image)
        if image.ndim == 3:     # RGB: the scan with its evidence overlay
            qimg = QImage(image.data, w, h, 3 * w, QImage.Format_RGB888).copy()
        else:
            qimg = QImage(image.data, w, h, w, QImage.Format_Grayscale8).copy()
        s = min(img_box.width() / w, img_box.height() / h)
        target = QRectF(img_box.left(), img_box.top(), w * s, h * s)
        p.drawImage(target, qimg)
        p.setPen(QColor("#888888"))
        p.drawRect(target)
        _paint_calipers(p, target, s, measurements, max(7, int(1.3 * u)))

    # result on the right
    tx = x0 + 59 * u
    tw = page.right() - 3 * u - tx
    colour = {"accepted": theme.ACCEPT, "rejected": theme.REJECT,
              "unscreened": theme.UNSCREENED}.get(state, "#555555")
    banner = QRectF(tx, y, tw, 6 * u)
    p.fillRect(banner, QColor(colour))
    f.setPixelSize(max(8, int(1.8 * u)))
    p.setFont(f)
    p.setPen(QColor("white"))
    label = {"accepted": "ACCEPTED", "rejected": "REJECTED: do not rely on the prediction",
             "unscreened": "NOT SCREENED by a detector"}.get(state, "NO RESULT")
    p.drawText(banner.adjusted(u, 0, -u, 0), Qt.AlignVCenter | Qt.AlignLeft | Qt.TextWordWrap,
               label)
    f.setBold(False)
    f.setPixelSize(max(7, int(1.45 * u)))
    p.setFont(f)
    p.setPen(QColor("#111111"))
    text_box = QRectF(tx, y + 7.5 * u, tw, page.bottom() - y - 16 * u)
    p.drawText(text_box, Qt.TextWordWrap | Qt.AlignLeft | Qt.AlignTop, body)

    # footer: provenance and the clinical-use warning on every report
    f.setPixelSize(max(7, int(1.3 * u)))
    p.setFont(f)
    p.setPen(QColor("#444444"))
    foot = (f"Model: {model_line}\n{NOT_CLINICAL}  "
            f"Exported {datetime.now():%Y-%m-%d %H:%M} by OCTGuard.")
    p.drawText(QRectF(x0, page.bottom() - 7 * u, page.width() - 6 * u, 6 * u),
               Qt.TextWordWrap | Qt.AlignLeft | Qt.AlignBottom, foot)


def _paint_calipers(p: QPainter, target: QRectF, scale: float, measurements, px: int) -> None:
    """Each caliper as a line on the image, numbered as in the report text."""
    pen = QPen(QColor(CALIPER_COLOUR))
    pen.setWidthF(max(1.0, px / 5))
    f = QFont("Sans Serif")
    f.setPixelSize(px)
    f.setBold(True)
    p.setFont(f)
    for i, m in enumerate(measurements, 1):
        a = QPointF(target.left() + m.start[0] * scale, target.top() + m.start[1] * scale)
        b = QPointF(target.left() + m.end[0] * scale, target.top() + m.end[1] * scale)
        p.setPen(pen)
        p.drawLine(a, b)
        p.drawText(b + QPointF(px / 3, -px / 3), str(i))


def export_report(path: str | Path, image: np.ndarray | None, title: str, state: str,
                  body: str, model_line: str, measurements=()) -> Path:
    """Write a .png or .pdf report atomically; raises ExportError. ``image`` is
    the frame as shown: (H, W) grey or (H, W, 3) RGB uint8 (with the evidence map);
    ``measurements`` (core.measure.Measurement) are drawn on it."""
    path = Path(path)
    kind = path.suffix.lower()
    if kind not in (".png", ".pdf"):
        raise ExportError(f"{path.name}: choose a .png or .pdf file name")
    try:
        with atomic_path(path) as tmp:
            _render(tmp, kind, path, image, title, state, body, model_line, measurements)
    except OSError as exc:
        raise ExportError(f"could not write {path}: {exc}") from exc
    return path


def _render(tmp: Path, kind: str, path: Path, image, title, state, body, model_line,
            measurements) -> None:
    if kind == ".png":
        img = QImage(*PNG_SIZE, QImage.Format_RGB32)
        p = QPainter(img)
        _paint(p, QRectF(0, 0, *PNG_SIZE), image, title, state, body, model_line, measurements)
        p.end()
        if not img.save(str(tmp), "PNG"):
            raise ExportError(f"could not write {path}")
    else:
        w = QPdfWriter(str(tmp))
        w.setPageLayout(QPageLayout(QPageSize(QPageSize.A4), QPageLayout.Landscape,
                                    QMarginsF(10, 10, 10, 10)))
        w.setResolution(150)
        w.setTitle(title)
        w.setCreator("OCTGuard")
        p = QPainter()
        if not p.begin(w):
            raise ExportError(f"could not write {path}")
        r = w.pageLayout().paintRectPixels(w.resolution())
        _paint(p, QRectF(0, 0, r.width(), r.height()), image, title, state, body,
               model_line, measurements)
        p.end()
        del w  # flush and close the file before renaming it
    if tmp.stat().st_size == 0:
        raise ExportError(f"could not write {path}")
