"""Folder list: one row per scan with a thumbnail and its result.

Rows are filled in as the background folder analysis reports them; the list
itself does no work. Selecting a row asks the window to open that scan.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QLabel, QListWidget,
                               QListWidgetItem, QProgressBar, QPushButton, QVBoxLayout,
                               QWidget)

from . import theme
from .jobs import THUMB, FolderItem
from .results import scan_summary

PATH_ROLE = Qt.UserRole
STATE_ROLE = Qt.UserRole + 1


def gray_pixmap(arr: np.ndarray) -> QPixmap:
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    h, w = arr.shape
    img = QImage(arr.data, w, h, w, QImage.Format_Grayscale8).copy()
    return QPixmap.fromImage(img)


class FolderPanel(QWidget):
    open_requested = Signal(Path)
    cancel_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.folder: Path | None = None
        self.title = QLabel("No folder open")
        self.title.setWordWrap(True)
        self.list = QListWidget()
        self.list.setIconSize(QSize(THUMB, THUMB * 3 // 4))
        self.list.setSelectionMode(QAbstractItemView.SingleSelection)
        self.list.setUniformItemSizes(True)
        self.list.currentRowChanged.connect(self._on_row)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.cancel = QPushButton("Cancel")
        self.cancel.clicked.connect(self.cancel_requested)
        prow = QHBoxLayout()
        prow.addWidget(self.progress, 1)
        prow.addWidget(self.cancel)
        self.progress_row = QWidget()
        self.progress_row.setLayout(prow)
        prow.setContentsMargins(0, 0, 0, 0)
        self.progress_row.hide()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.title)
        lay.addWidget(self.progress_row)
        lay.addWidget(self.list, 1)

    def set_folder(self, folder: Path, paths: list[Path]) -> None:
        self.folder = folder
        self.list.blockSignals(True)
        self.list.clear()
        for p in paths:
            item = QListWidgetItem(f"{p.name}\nwaiting…")
            item.setData(PATH_ROLE, str(p))
            item.setSizeHint(QSize(0, THUMB * 3 // 4 + 8))
            self.list.addItem(item)
        self.list.blockSignals(False)
        self.title.setText(f"{folder.name}: {len(paths)} scan(s)")

    def set_busy(self, busy: bool) -> None:
        self.progress_row.setVisible(busy)
        if busy:
            self.progress.setValue(0)

    def set_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        self.progress.setFormat(message)

    def add_result(self, it: FolderItem) -> None:
        item = self.list.item(it.index)
        if item is None:
            return
        if it.thumbnail is not None:
            item.setIcon(QIcon(gray_pixmap(it.thumbnail)))
        if it.result is not None:
            text, state = scan_summary(it.result)
            if it.error:
                text += f" ({it.error})"
        elif it.error is not None:
            text, state = f"error: {it.error}", "error"
        else:
            text, state = "no model loaded", "none"
        colour = {"accepted": theme.ACCEPT, "rejected": theme.REJECT,
                  "unscreened": theme.UNSCREENED, "error": theme.REJECT}.get(state)
        item.setText(f"{it.path.name}\n{text}")
        item.setToolTip(text)
        item.setData(STATE_ROLE, state)
        if colour:
            item.setForeground(QBrush(QColor(colour)))

    def path_at(self, row: int) -> Path | None:
        item = self.list.item(row)
        return None if item is None else Path(item.data(PATH_ROLE))

    def select_path(self, path: Path) -> None:
        for r in range(self.list.count()):
            if Path(self.list.item(r).data(PATH_ROLE)) == Path(path):
                self.list.blockSignals(True)
                self.list.setCurrentRow(r)
                self.list.blockSignals(False)
                return

    def step(self, delta: int) -> bool:
        """Select the next/previous scan; False at either end."""
        n = self.list.count()
        if n == 0:
            return False
        row = self.list.currentRow()
        new = 0 if row < 0 else row + delta
        if not 0 <= new < n:
            return False
        self.list.setCurrentRow(new)
        return True

    def _on_row(self, row: int) -> None:
        p = self.path_at(row)
        if p is not None:
            self.open_requested.emit(p)
