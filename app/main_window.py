"""The main window: draws the session's state and forwards user actions.

The state itself (scan, result, folder, model, threshold) is a plain
:class:`~app.session.ViewerSession`; this module renders it and runs the
session's jobs on the window's task runner. Layout: image view in the centre;
analysis, metadata and folder panels are docks; actions, toolbar and menus
are built in :mod:`app.window_actions`. Demo mode plugs in through the
:class:`~app.demo.host.DemoHost` members; the D key is left free for it.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import (QApplication, QDialog, QDialogButtonBox, QDockWidget,
                               QFileDialog, QInputDialog, QMainWindow, QMessageBox,
                               QTextBrowser, QVBoxLayout, QWidget)

from core.errors import Cancelled
from core.package_data import resources_dir
from core.scan import Scan

from . import gauge, theme
from .analysis_panel import AnalysisPanel
from .demo import DemoMode
from .demonstration_banner import DemonstrationBanner
from .evidence import EvidenceOverlay
from .folder_panel import FolderPanel
from .image_view import ImageView
from .metadata_panel import MetadataPanel
from .report_export import ExportError, export_report
from .results import NOT_CLINICAL, scan_summary
from .session import ViewerSession
from .settings import Settings
from .task_runner import TaskRunner
from .volume_tools import VolumeTools
from .window_actions import WindowActions
from .window_opening import WindowOpening

log = logging.getLogger(__name__)
def _session_attr(name: str) -> property:
    return property(lambda self: getattr(self.session, name), doc=f"``session.{name}``")


class MainWindow(WindowActions, WindowOpening, QMainWindow):
    scan_changed = Signal(object)      # core.scan.Scan or None
    result_changed = Signal(object)    # core.analysis.ScanResult or None
    model_changed = Signal(object)     # core.model_store.LoadedModel or None
    frame_changed = Signal(int)        # the image view's frame

    # read-only views of the session, for the panels and the tests
    scan = _session_attr("scan")
    result = _session_attr("result")
    model = _session_attr("model")
    analyzer = _session_attr("analyzer")
    model_state = _session_attr("model_state")
    model_dir = _session_attr("model_dir")
    folder_paths = _session_attr("folder_paths")
    folder_results = _session_attr("folder_results")
    folder_title = _session_attr("folder_title")

    def __init__(self, settings: Settings | None = None, model_dir: str | Path | None = None):
        super().__init__()
        self.t0 = time.perf_counter()
        self.settings = settings or Settings.load()
        self.session = ViewerSession(self.settings, model_dir)
        self.runner = TaskRunner(self)
        self.last_error: str | None = None
        self.first_result_s: float | None = None
        self._corners = None               # dock corners while a mode holds the centre

        self.setWindowTitle("OCTGuard")
        self.setWindowIcon(QIcon(str(resources_dir() / "octguard.png")))
        self.setAcceptDrops(True)
        self.resize(1400, 880)
        self._build_views()
        self._build_actions()
        self._build_menus()
        self._build_statusbar()
        self.demo = DemoMode(self)
        self.volume = VolumeTools(self)   # fundus dock, per-volume summary, caliper
        self.demonstration_banner = DemonstrationBanner(self)
        self.evidence = EvidenceOverlay(self)
        self._update_actions()

    # ------------------------------------------------------------------ build
    def _build_views(self) -> None:
        self.image_view = ImageView()
        self.image_view.frame_changed.connect(self._show_result_frame)
        self.image_view.frame_changed.connect(self.frame_changed)
        self.setCentralWidget(self.image_view)
        self.analysis_panel = AnalysisPanel()
        self.metadata_panel = MetadataPanel()
        self.folder_panel = FolderPanel()
        self.folder_panel.open_requested.connect(lambda p: self.open_file(p, from_folder=True))
        self.folder_panel.cancel_requested.connect(self.cancel_folder)
        self.analysis_dock = self.add_panel(self.analysis_panel, "Analysis", Qt.RightDockWidgetArea)
        self.metadata_dock = self.add_panel(self.metadata_panel, "Metadata", Qt.RightDockWidgetArea)
        self.folder_dock = self.add_panel(self.folder_panel, "Folder", Qt.LeftDockWidgetArea)
        self.folder_dock.hide()
        self.resizeDocks([self.analysis_dock], [380], Qt.Horizontal)
        self.resizeDocks([self.analysis_dock, self.metadata_dock], [560, 260], Qt.Vertical)

    def add_panel(self, widget: QWidget, title: str, area=Qt.RightDockWidgetArea) -> QDockWidget:
        """Add a dock (also the hook demo mode uses for its side-by-side views)."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower().replace(' ', '_')}")
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetClosable
                         | QDockWidget.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        return dock

    # ------------------------------------------------------ demo host members
    def current_frame(self) -> int:
        return self.image_view.current_frame

    def set_mode_layout(self, dock: QDockWidget, on: bool) -> None:
        # the mode's dock stands in for the image view; giving the bottom
        # corners to the side docks lets it take the whole centre column
        # instead of a strip under them
        if on:
            self._corners = (self.corner(Qt.BottomLeftCorner), self.corner(Qt.BottomRightCorner))
            self.setCorner(Qt.BottomLeftCorner, Qt.LeftDockWidgetArea)
            self.setCorner(Qt.BottomRightCorner, Qt.RightDockWidgetArea)
            right = [d for d in (self.analysis_dock, self.metadata_dock) if d.isVisible()]
            widths = [d.width() for d in right]
            self.image_view.hide()
            dock.show()
            if right:   # keep the right docks as wide as they were
                self.resizeDocks(right, widths, Qt.Horizontal)
        else:
            dock.hide()
            self.image_view.show()
            if self._corners is not None:
                self.setCorner(Qt.BottomLeftCorner, self._corners[0])
                self.setCorner(Qt.BottomRightCorner, self._corners[1])

    def is_on_screen(self) -> bool:
        return self.isVisible() and not self.isMinimized()

    def dialog_parent(self) -> QWidget:
        return self

    def show_status(self, text: str, ms: int = 0) -> None:
        self.statusBar().showMessage(text, ms)

    # --------------------------------------------------------------- model
    def start(self) -> None:
        """Kick off model loading; call after show() so the window is up first."""
        self.load_model()

    def load_model(self) -> None:
        job = self.session.load_model_job()
        self.model_label.setText("Loading model…")
        self.runner.start("model", job, on_done=self._model_loaded, on_error=self._model_failed)

    def _model_loaded(self, out) -> None:
        s = self.session
        s.model_loaded(*out)
        self.model_label.setText(s.model_message)
        self.model_label.setToolTip(f"{s.model.directory}\n{NOT_CLINICAL}")
        gauge.use_gate(s.model.gate)
        self.model_changed.emit(s.model)
        self._model_settled()

    def _model_failed(self, exc) -> None:
        if isinstance(exc, Cancelled):
            return
        s = self.session
        if s.model_failed(exc) == "error":
            self.show_error("The model could not be loaded",
                            f"{exc}\n\nThe viewer will show scans without predictions. "
                            "Choose another model under Model > Choose Model Folder.")
        self.model_label.setText(f"{s.model_message} ({exc})")
        self.model_label.setToolTip(str(s.model_dir or "models/default"))
        self.model_changed.emit(None)
        self._model_settled()

    def _model_settled(self) -> None:
        analyse, folder = self.session.model_settled()
        if analyse:
            self.start_analysis()
        if folder:
            self._start_folder_task()
        self._update_actions()

    def choose_model_dir(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose model folder")
        if path:
            self.set_model_dir(Path(path))

    def set_model_dir(self, path: Path | None) -> None:
        self.session.set_model_dir(path)
        self._save_settings()
        self.load_model()

    def threshold_dialog(self) -> None:
        cur = self.session.threshold_override
        text, ok = QInputDialog.getText(
            self, "Detector threshold override",
            "Log-likelihood threshold for every class (leave empty to use the model's own):",
            text="" if cur is None else f"{cur:g}")
        if not ok:
            return
        try:
            self.set_threshold_override(float(text) if text.strip() else None)
        except ValueError:
            self.show_error("Not a number", f"{text!r} is not a number.")

    def set_threshold_override(self, value: float | None) -> None:
        self.session.set_threshold_override(value)
        self._save_settings()
        self.start_analysis()

    # -------------------------------------------------------------- analysis
    def start_analysis(self) -> None:
        s = self.session
        ask = s.analysis_request()
        if ask == "wait":
            self.analysis_panel.show_message("Waiting for the model…",
                                             "The scan will be analysed as soon as the model "
                                             "has loaded.", flag="Analysis pending")
        elif ask == "no model":
            self.analysis_panel.show_message("No model loaded", s.model_message + ".",
                                             flag="No prediction")
        elif ask == "run":
            scan, job = s.analysis_job()
            self.analysis_panel.show_message("Analysing…", "", flag="Analysis running")
            self.runner.start("analysis", job, on_done=lambda res: self._analysis_done(res, scan),
                              on_error=self._analysis_failed)

    def _analysis_done(self, result, scan: Scan) -> None:
        if scan is not self.session.scan:
            return
        if self.first_result_s is None:
            self.first_result_s = time.perf_counter() - self.t0
        self._set_result(result)

    def _set_result(self, result) -> None:
        s = self.session
        s.set_result(result)
        self._show_result_frame(self.image_view.current_frame)
        text, state = scan_summary(result)
        self.statusBar().showMessage(f"{s.scan.name}: {text}", 6000)
        self.result_changed.emit(result)
        self._update_actions()

    def _analysis_failed(self, exc) -> None:
        if isinstance(exc, Cancelled):
            return
        self.analysis_panel.show_message("Analysis failed", str(exc), flag="No prediction")
        self.show_error("Analysis failed", str(exc))

    def _show_result_frame(self, i: int) -> None:
        s = self.session
        if (i := s.frame_index(i)) is None:
            return
        frames = s.result.frames
        self.analysis_panel.show_frame(frames[i], len(frames), sum(not f.accepted for f in frames))

    def is_settled(self) -> bool:
        """Nothing loading or analysing, and any evidence map drawn (used by
        --screenshot and tests)."""
        return (self.session.is_settled() and self.runner.is_idle() and not self.demo.busy()
                and self.evidence.settled())

    # ----------------------------------------------------------- export etc
    def current_result_text(self) -> str | None:
        return self.session.result_text(self.image_view.current_frame)

    def copy_result(self) -> None:
        text = self.current_result_text()
        if text is None:
            self.statusBar().showMessage("No result to copy yet", 3000)
            return
        QGuiApplication.clipboard().setText(text)
        self.statusBar().showMessage("Result copied to the clipboard", 3000)

    def export_dialog(self) -> None:
        if self.session.scan is None:
            self.statusBar().showMessage("Open a scan first", 3000)
            return
        stem = Path(self.session.scan.name).stem
        path, _ = QFileDialog.getSaveFileName(self, "Export report", f"{stem}_report.pdf",
                                              "PDF report (*.pdf);;PNG image (*.png)")
        if path:
            self.export(Path(path))

    def export(self, path: Path) -> Path | None:
        s, frame = self.session, self.image_view.current_frame
        if s.scan is None:
            return None
        body = s.report_body(frame)
        if extra := self.volume.report_text():
            body += "\n\n" + extra
        title = f"OCTGuard report: {s.scan.name}"
        if s.scan.n_frames > 1:
            title += f" (frame {frame + 1} of {s.scan.n_frames})"
        image, note = self.evidence.report_image(self.image_view.rendered_frame())
        body = f"{body}\n\n{note}" if note else body
        try:
            out = export_report(path, image, title, s.frame_state(frame), body, s.model_line(),
                                self.volume.report_measurements())
        except ExportError as exc:
            self.show_error("Export failed", str(exc))
            return None
        self.statusBar().showMessage(f"Report saved to {out}", 5000)
        return out

    def about(self) -> None:
        dlg = QDialog(self)
        dlg.setWindowTitle("About OCTGuard")
        dlg.resize(720, 620)
        browser = QTextBrowser()
        browser.setOpenExternalLinks(True)
        browser.setMarkdown(self.about_markdown())
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(dlg.reject)
        lay = QVBoxLayout(dlg)
        lay.addWidget(browser)
        lay.addWidget(buttons)
        self.about_dialog = dlg
        dlg.open()

    def about_markdown(self) -> str:
        return self.session.about_markdown()

    def set_theme(self, name: str) -> None:
        self.settings.theme = name
        self._save_settings()
        theme.apply_theme(QApplication.instance(), name)

    # ------------------------------------------------------------- helpers
    def show_error(self, title: str, text: str) -> None:
        """Status bar plus a non-blocking dialog; never raises."""
        self.last_error = f"{title}: {text}"
        log.warning(self.last_error)
        self.statusBar().showMessage(self.last_error, 10000)
        box = QMessageBox(QMessageBox.Warning, title, text, QMessageBox.Ok, self)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.open()
        self.error_box = box

    def _save_settings(self) -> None:
        try:
            self.settings.save()
        except OSError as exc:
            self.statusBar().showMessage(f"Settings could not be saved: {exc}", 5000)

    # ------------------------------------------------------------- Qt events
    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)

    def closeEvent(self, event) -> None:  # noqa: N802
        if not (self.runner.shutdown(3000) & self.demo.shutdown(3000)):
            log.warning("background work still running at exit")
        self._save_settings()
        super().closeEvent(event)
