"""“Run on a set”: attack every scan of the open folder (or the sample
scans) and show the paper's risk with and without the gate, the gate's
AUPRC, and the count in each risk category as bars (after the paper's
Figure 3). Progress, cancel, and CSV/PNG export written atomically."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QFileDialog, QHBoxLayout, QLabel, QProgressBar,
                               QPushButton, QVBoxLayout, QWidget)

from core.errors import Cancelled

from ..settings import cache_dir
from ..task_runner import TaskRunner
from . import jobs
from .outcome import CATEGORY_COLOUR
from .views import OVERLAY_COLOUR, png_bytes

ORDER = (jobs.REJECTED, jobs.ACCEPTED_CORRECT, jobs.ACCEPTED_WRONG)
SHORT = {jobs.REJECTED: "rejected\nby the gate", jobs.ACCEPTED_CORRECT: "accepted,\ncorrect",
         jobs.ACCEPTED_WRONG: "accepted,\nwrong"}


class RiskChart(pg.PlotWidget):
    """Counts per risk category: clean images (pale) beside their attacks."""

    def __init__(self, parent=None):
        super().__init__(parent, background="#141619")
        self.setMenuEnabled(False)
        self.setMouseEnabled(False, False)
        self.hideButtons()
        self.getAxis("bottom").setTicks([[(i, SHORT[k]) for i, k in enumerate(ORDER)]])
        self.setLabel("left", "cases")
        self.addLegend(offset=(-10, 10))
        self.bars: dict[str, pg.BarGraphItem] = {}
        self.counts: dict[str, dict[str, int]] = {}
        self.set_counts({k: 0 for k in ORDER}, {k: 0 for k in ORDER})

    def set_counts(self, clean: dict[str, int], adv: dict[str, int]) -> None:
        self.counts = {"clean": dict(clean), "adv": dict(adv)}
        for item in self.bars.values():
            self.removeItem(item)
        x = np.arange(len(ORDER), dtype=float)
        brushes = [pg.mkBrush(CATEGORY_COLOUR[k]) for k in ORDER]
        pale = []
        for k in ORDER:
            c = pg.mkColor(CATEGORY_COLOUR[k])
            c.setAlpha(90)
            pale.append(pg.mkBrush(c))
        self.bars = {
            "clean": pg.BarGraphItem(x=x - 0.2, height=[clean[k] for k in ORDER], width=0.38,
                                     brushes=pale, pen=pg.mkPen("#9aa3ad"), name="clean"),
            "adv": pg.BarGraphItem(x=x + 0.2, height=[adv[k] for k in ORDER], width=0.38,
                                   brushes=brushes, pen=pg.mkPen("w"), name="attacked"),
        }
        for item in self.bars.values():
            self.addItem(item)
        top = max([1, *clean.values(), *adv.values()])
        self.setYRange(0, top * 1.15, padding=0)
        self.setXRange(-0.6, len(ORDER) - 0.4, padding=0)


class RiskSetDialog(QDialog):
    def __init__(self, demo, parent=None):
        super().__init__(parent or demo.host.dialog_parent())
        self.demo = demo
        self.setWindowTitle("Demo: attack a set of scans")
        self.resize(760, 560)
        self.runner = TaskRunner(self, max_threads=1)
        self.result: jobs.SetResult | None = None
        self._partial: list[jobs.Case] = []
        self.classes = None

        self.source = QLabel()
        self.source.setWordWrap(True)
        self.banner = QLabel("DEMO: perturbed images, research demonstration only")
        self.banner.setStyleSheet(f"QLabel {{ background: {OVERLAY_COLOUR}; color: white; "
                                  "font-weight: bold; padding: 3px 8px; }")
        self.chart = RiskChart()
        self.summary = QLabel("")
        self.summary.setObjectName("riskSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.report = QWidget()           # what the PNG export shows
        rl = QVBoxLayout(self.report)
        rl.setContentsMargins(6, 6, 6, 6)
        rl.addWidget(self.banner)
        rl.addWidget(self.chart, 1)
        rl.addWidget(self.summary)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.status = QLabel("")
        self.run_button = QPushButton("Run")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.csv_button = QPushButton("Export CSV…")
        self.png_button = QPushButton("Export PNG…")
        for b in (self.csv_button, self.png_button):
            b.setEnabled(False)
        self.run_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.csv_button.clicked.connect(lambda: self._export_dialog("csv"))
        self.png_button.clicked.connect(lambda: self._export_dialog("png"))
        buttons = QHBoxLayout()
        for b in (self.run_button, self.cancel_button, self.csv_button, self.png_button):
            buttons.addWidget(b)
        lay = QVBoxLayout(self)
        lay.addWidget(self.source)
        lay.addWidget(self.report, 1)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        lay.addLayout(buttons)
        self._describe_source()

    # ------------------------------------------------------------ source
    def paths(self) -> list[Path] | None:
        """The open folder's files, or None for the sample scans."""
        return list(self.demo.host.session.folder_paths) or None

    def _describe_source(self) -> None:
        paths = self.paths()
        where = (f"the {len(paths)} file(s) of “{self.demo.host.session.folder_title}”" if paths
                 else "the synthetic sample scans (no folder is open)")
        self.source.setText(f"Attacks every scan of {where} with "
                            f"{self.demo.params.describe()}.")

    def showEvent(self, event) -> None:  # noqa: N802
        self._describe_source()
        super().showEvent(event)

    # --------------------------------------------------------------- run
    def start(self) -> None:
        loaded = self.demo.current_model()
        if loaded is None:
            self.status.setText("No model loaded to attack.")
            return
        params = self.demo.params
        if params.attack == "adaptive" and loaded.gate is None:
            self.status.setText(f"{loaded.name} has no gate: the gate-aware attack does not apply.")
            return
        self._describe_source()
        paths, target = self.paths(), cache_dir() / "samples"
        self.classes = loaded.classes
        self._partial = []
        self.result = None
        self.chart.set_counts({k: 0 for k in ORDER}, {k: 0 for k in ORDER})
        self.summary.setText("")
        self.cancel_button.setEnabled(True)
        self.run_button.setEnabled(False)
        for b in (self.csv_button, self.png_button):
            b.setEnabled(False)

        def work(progress, partial):
            ps = paths if paths is not None else jobs.sample_paths(target)
            return jobs.attack_set(ps, loaded, params, progress, partial)

        self.runner.start("set", work, on_done=self._done, on_error=self._failed,
                          on_progress=self._progress, on_partial=self._case)

    def cancel(self) -> None:
        self.runner.cancel("set")

    def _progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        self.status.setText(message)

    def _case(self, case: jobs.Case) -> None:
        self._partial.append(case)
        adv = [c.adv_category for c in self._partial]
        cln = [c.clean_category for c in self._partial]
        self.chart.set_counts({k: cln.count(k) for k in ORDER}, {k: adv.count(k) for k in ORDER})

    def _finish(self) -> None:
        self.cancel_button.setEnabled(False)
        self.run_button.setEnabled(True)

    def _done(self, result: jobs.SetResult) -> None:
        self._finish()
        self.result = result
        self.progress.setValue(1000)
        self.chart.set_counts(result.counts("clean"), result.counts("adv"))
        self.summary.setText(self.summary_text(result))
        self.status.setText(f"{len(result.cases)} case(s) attacked"
                            + (f"; {len(result.errors)} skipped" if result.errors else ""))
        for b in (self.csv_button, self.png_button):
            b.setEnabled(bool(result.cases))

    def _failed(self, exc) -> None:
        self._finish()
        if isinstance(exc, Cancelled):
            self.status.setText(f"Cancelled after {len(self._partial)} case(s)")
        else:
            self.status.setText(f"The run failed: {exc}")

    def summary_text(self, r: jobs.SetResult) -> str:
        if not r.cases:
            return "No case could be attacked."
        risk = r.risk(self.classes)
        auprc = r.auprc(self.classes)
        refs = {c.reference_source for c in r.cases}
        ref = ("the label in each file name" if refs == {"file name"} else
               "the clean prediction" if refs == {"clean prediction"} else
               "the file-name label where there is one, else the clean prediction")
        gate = (f"gate AUPRC {auprc:.3f}" if math.isfinite(auprc) else
                "gate AUPRC: n/a" + ("" if r.has_gate else " (this model has no gate)"))
        return (f"{r.params.describe()} on {r.model_name}, {risk.n} case(s).  "
                f"Average risk without the gate r(f) = {risk.r_f:.3f}, with the gate "
                f"r(f, g) = {risk.r_fg:.3f} (paper Eq. 2-3, unit weights).  {gate}.  "
                f"“Correct” = {ref}.")

    # ------------------------------------------------------------ export
    def _export_dialog(self, kind: str) -> None:
        filt = "CSV (*.csv)" if kind == "csv" else "PNG image (*.png)"
        path, _ = QFileDialog.getSaveFileName(self, f"Export {kind.upper()}",
                                              f"demo_risk_{self.demo.params.attack}.{kind}", filt)
        if path:
            self.export(Path(path))

    def export(self, path: Path) -> Path | None:
        if self.result is None:
            return None
        scan = self.demo.host.session.scan
        protect = scan.source if scan else None
        try:
            if path.suffix.lower() == ".csv":
                data = self.result.csv_text(self.classes).encode("utf-8")
            else:
                data = png_bytes(self.report.grab().toImage())
            out = jobs.write_atomic(path, data, protect=protect)
        except OSError as exc:
            self.status.setText(f"Export failed: {exc}")
            return None
        self.status.setText(f"Saved {out}")
        return out
