"""File details and DICOM tags; patient-identifying tags hidden by default."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QHeaderView, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from core.scan import Scan


def file_details(scan: Scan) -> dict[str, str]:
    d = {"File": scan.name}
    if scan.source is not None:
        d["Folder"] = str(Path(scan.source).parent)
        try:
            d["Size"] = f"{Path(scan.source).stat().st_size / 1024:,.1f} KiB"
        except OSError:
            pass
    f, h, w = scan.frames.shape
    d["Frames"] = str(f)
    d["Image size"] = f"{w} x {h} px"
    if scan.pixel_spacing:
        r, c = scan.pixel_spacing
        d["Pixel spacing"] = f"{r * 1000:.2f} x {c * 1000:.2f} µm (row x column)"
    else:
        d["Pixel spacing"] = "unknown"
    if scan.synthetic:
        d["Synthetic"] = "yes (generated phantom, not a patient scan)"
    return d


class MetadataPanel(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.scan: Scan | None = None
        self.hide_phi = QCheckBox("Hide patient-identifying tags")
        self.hide_phi.setChecked(True)
        self.hide_phi.toggled.connect(self._refresh)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Tag", "Value"])
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setWordWrap(False)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.hide_phi)
        lay.addWidget(self.table, 1)

    def set_scan(self, scan: Scan | None) -> None:
        self.scan = scan
        self._refresh()

    def rows(self) -> list[tuple[str, str]]:
        """What the table shows, honouring the PHI switch."""
        if self.scan is None:
            return []
        rows = list(file_details(self.scan).items())
        hidden = 0
        for k, v in self.scan.metadata.items():
            if k in self.scan.phi_keys and self.hide_phi.isChecked():
                hidden += 1
                continue
            rows.append((k, str(v)))
        if hidden:
            rows.append(("(hidden)", f"{hidden} patient-identifying tag(s)"))
        return rows

    def _refresh(self) -> None:
        rows = self.rows()
        self.table.setRowCount(len(rows))
        for i, (k, v) in enumerate(rows):
            self.table.setItem(i, 0, QTableWidgetItem(k))
            item = QTableWidgetItem(v)
            item.setToolTip(v)
            self.table.setItem(i, 1, item)
