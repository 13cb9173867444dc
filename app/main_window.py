"""The main window: wires the views to the task runner and the settings.

Layout: image view in the centre; analysis, metadata and folder panels are
docks; a toolbar with the common actions. Demo mode (issue 5) plugs in with
:meth:`MainWindow.add_panel` and :attr:`MainWindow.toolbar` / ``menus["demo"]``
placeholders and listens to ``scan_changed``/``model_changed``; the D key is
left free for it.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QGuiApplication, QIcon, QKeySequence
from PySide6.QtWidgets import (QApplication, QDialog, QDialogButtonBox, QDockWidget,
                               QFileDialog, QInputDialog, QLabel, QMainWindow, QMenu,
                               QMessageBox, QTextBrowser, QVBoxLayout, QWidget)

from core.errors import Cancelled, ModelError, NotOCTError, OCTGuardError, ScanError
from core.package_data import resources_dir
from core.scan import Scan

from . import gauge, jobs, theme
from .analysis_panel import AnalysisPanel
from .demo import DemoMode
from .demonstration_banner import DemonstrationBanner
from .evidence import EvidenceOverlay
from .folder_panel import FolderPanel
from .image_view import ImageView
from .metadata_panel import MetadataPanel
from .report_export import ExportError, export_report
from .results import NOT_CLINICAL, result_text, scan_summary
from .settings import Settings
from .task_runner import TaskRunner
from .volume_tools import VolumeTools

log = logging.getLogger(__name__)
FALLBACK_FILTER = ("OCT scans (*.jpg *.jpeg *.png *.bmp *.tif *.tiff *.dcm *.dicom *.vol *.xml "
                   "*.e2e *.fda *.fds *.img);;All files (*)")


def file_filter() -> str:
    try:
        from core.io.formats import FILE_DIALOG_FILTER
        return FILE_DIALOG_FILTER
    except ImportError:
        return FALLBACK_FILTER


def list_scan_files(folder: Path) -> list[Path]:
    from core.io import iter_scan_files
    return list(iter_scan_files(folder))


class MainWindow(QMainWindow):
    scan_changed = Signal(object)      # core.scan.Scan or None
    result_changed = Signal(object)    # core.analysis.ScanResult or None
    model_changed = Signal(object)     # core.model_store.LoadedModel or None

    def __init__(self, settings: Settings | None = None, model_dir: str | Path | None = None):
        super().__init__()
        self.t0 = time.perf_counter()
        self.settings = settings or Settings.load()
        self.model_dir = Path(model_dir) if model_dir else (
            Path(self.settings.model_dir) if self.settings.model_dir else None)
        self.runner = TaskRunner(self)
        self.model = None              # LoadedModel
        self.analyzer = None
        self.model_state = "loading"   # loading | ready | none | error
        self.model_message = ""
        self.scan: Scan | None = None
        self.result = None             # ScanResult of self.scan
        self.folder_results: dict[Path, object] = {}
        self.folder_paths: list[Path] = []
        self.folder_title = ""
        self._analysis_pending = False
        self._folder_pending = False
        self.last_error: str | None = None
        self.first_result_s: float | None = None

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

    def _action(self, text: str, slot, shortcut=None, tip: str = "", checkable=False) -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            keys = shortcut if isinstance(shortcut, list) else [shortcut]
            a.setShortcuts([QKeySequence(k) for k in keys])
        if tip:
            a.setStatusTip(tip)
            a.setToolTip(f"{tip} ({a.shortcut().toString(QKeySequence.NativeText)})"
                         if shortcut is not None else tip)
        a.setCheckable(checkable)
        a.triggered.connect(slot)
        self.addAction(a)   # shortcuts work even with the menu bar hidden
        return a

    def _build_actions(self) -> None:
        A = self._action
        K = QKeySequence.StandardKey
        self.act_open = A("&Open…", self.open_dialog, K.Open, "Open a scan file")
        self.act_open_folder = A("Open &Folder…", self.open_folder_dialog, "Ctrl+Shift+O",
                                 "Open every scan in a folder")
        self.act_export = A("&Export Report…", self.export_dialog, "Ctrl+E",
                            "Save the image and result as PNG or PDF")
        self.act_copy = A("&Copy Result as Text", self.copy_result, "Ctrl+Shift+C",
                          "Copy the result to the clipboard")
        self.act_quit = A("&Quit", self.close, K.Quit)
        self.act_zoom_in = A("Zoom &In", lambda: self.image_view.zoom(1.25), [K.ZoomIn, "="],
                             "Zoom in")
        self.act_zoom_out = A("Zoom &Out", lambda: self.image_view.zoom(0.8), K.ZoomOut, "Zoom out")
        self.act_fit = A("&Fit to Window", self.image_view.fit, ["Ctrl+0", "F"], "Fit to window")
        self.act_invert = A("&Invert", lambda on: self.image_view.set_inverted(on), "I",
                            "Invert grey levels", checkable=True)
        self.act_levels = A("&Reset Window/Level", self.image_view.reset_levels, "R",
                            "Reset window/level to the full range")
        self.act_next = A("&Next Scan", lambda: self.step_scan(1), ["PgDown", "Ctrl+Down"],
                          "Next scan in the folder")
        self.act_prev = A("&Previous Scan", lambda: self.step_scan(-1), ["PgUp", "Ctrl+Up"],
                          "Previous scan in the folder")
        self.act_next_frame = A("Next Frame", lambda: self.step_frame(1), "]")
        self.act_prev_frame = A("Previous Frame", lambda: self.step_frame(-1), "[")
        self.act_cancel = A("&Cancel Folder Analysis", self.cancel_folder, "Esc")
        self.act_sample = A("Open &Sample Scans", self.open_samples, None,
                            "Open the real sample scans shipped with OCTGuard (Kermany, CC BY 4.0)")
        self.act_about = A("&About OCTGuard and the Model", self.about, K.HelpContents)
        self.act_model_dir = A("Choose &Model Folder…", self.choose_model_dir)
        self.act_model_default = A("Use &Default Model", lambda: self.set_model_dir(None))
        self.act_threshold = A("Detector &Threshold Override…", self.threshold_dialog)
        self.theme_group = QActionGroup(self)
        self.act_theme = {}
        for name in ("dark", "light"):
            a = A(f"{name.title()} Theme", lambda _=False, n=name: self.set_theme(n),
                  checkable=True)
            a.setChecked(self.settings.theme == name)
            self.theme_group.addAction(a)
            self.act_theme[name] = a

        self.toolbar = self.addToolBar("Main")
        self.toolbar.setObjectName("main_toolbar")
        self.toolbar.setMovable(False)
        for a in (self.act_open, self.act_open_folder, None, self.act_prev, self.act_next, None,
                  self.act_zoom_in, self.act_zoom_out, self.act_fit, self.act_invert, None,
                  self.act_export, self.act_copy):
            self.toolbar.addSeparator() if a is None else self.toolbar.addAction(a)
        # demo mode adds its toggle after this separator
        self.toolbar_demo_separator = self.toolbar.addSeparator()

    def _build_menus(self) -> None:
        mb = self.menuBar()
        self.menus: dict[str, QMenu] = {}
        m = self.menus["file"] = mb.addMenu("&File")
        m.addActions([self.act_open, self.act_open_folder])
        self.recent_menu = m.addMenu("Open &Recent")
        self._rebuild_recent()
        m.addSeparator()
        m.addActions([self.act_export, self.act_copy])
        m.addSeparator()
        m.addAction(self.act_quit)
        m = self.menus["view"] = mb.addMenu("&View")
        m.addActions([self.act_zoom_in, self.act_zoom_out, self.act_fit, self.act_invert,
                      self.act_levels])
        m.addSeparator()
        m.addActions([self.act_next, self.act_prev, self.act_next_frame, self.act_prev_frame,
                      self.act_cancel])
        m.addSeparator()
        for d in (self.analysis_dock, self.metadata_dock, self.folder_dock):
            m.addAction(d.toggleViewAction())
        tm = m.addMenu("&Theme")
        tm.addActions(list(self.act_theme.values()))
        m = self.menus["model"] = mb.addMenu("&Model")
        m.addActions([self.act_model_dir, self.act_model_default, self.act_threshold])
        # demo mode's menu goes here (issue 5)
        m = self.menus["help"] = mb.addMenu("&Help")
        m.addActions([self.act_sample, self.act_about])

    def _build_statusbar(self) -> None:
        sb = self.statusBar()
        self.model_label = QLabel("Loading model…")
        self.model_label.setObjectName("modelLabel")
        sb.addPermanentWidget(self.model_label)

    # --------------------------------------------------------------- startup
    def start(self) -> None:
        """Kick off model loading; call after show() so the window is up first."""
        self.load_model()

    def load_model(self) -> None:
        self.model, self.analyzer = None, None
        self.model_state = "loading"
        self.model_label.setText("Loading model…")
        self.runner.start("model", lambda pr, part: jobs.load_model(self.model_dir, pr, part),
                          on_done=self._model_loaded, on_error=self._model_failed)

    def _model_loaded(self, out) -> None:
        self.model, self.analyzer = out
        self.model_state = "ready"
        self.model_message = f"{self.model.name}: {self.model.provenance}"
        if self.model.gate is None:
            self.model_message += " (no detection gate)"
        self.model_label.setText(self.model_message)
        self.model_label.setToolTip(f"{self.model.directory}\n{NOT_CLINICAL}")
        gauge.use_gate(self.model.gate)
        self.model_changed.emit(self.model)
        self._model_settled()

    def _model_failed(self, exc) -> None:
        if isinstance(exc, Cancelled):
            return
        directory = self.model_dir or "models/default"
        if isinstance(exc, ModelError) and str(exc).startswith("no model at"):
            self.model_state = "none"
            self.model_message = "No model loaded: predictions unavailable"
            self.model_label.setText(f"{self.model_message} ({exc})")
        else:
            self.model_state = "error"
            self.model_message = "No model loaded: the model could not be used"
            self.model_label.setText(f"{self.model_message} ({exc})")
            self.show_error("The model could not be loaded",
                            f"{exc}\n\nThe viewer will show scans without predictions. "
                            "Choose another model under Model > Choose Model Folder.")
        self.model_label.setToolTip(str(directory))
        self.model_changed.emit(None)
        self._model_settled()

    def _model_settled(self) -> None:
        if self.scan is not None and (self._analysis_pending or self.result is None):
            self._analysis_pending = False
            self.start_analysis()
        if self._folder_pending:
            self._folder_pending = False
            self._start_folder_task()
        self._update_actions()

    # -------------------------------------------------------------- opening
    def open_paths(self, paths: list[str | Path]) -> None:
        """Command line and drag-and-drop: a folder, one file, or a list of files."""
        paths = [Path(p) for p in paths]
        if not paths:
            return
        if len(paths) == 1 and paths[0].is_dir():
            self.open_folder(paths[0])
        elif len(paths) == 1:
            self.open_file(paths[0])
        else:
            files = []
            for p in paths:
                files.extend(list_scan_files(p) if p.is_dir() else [p])
            self.open_file_list(files, title=f"{len(files)} files")

    def open_dialog(self) -> None:
        start = str(Path(self.settings.recent_files[0]).parent) if self.settings.recent_files else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open scan", start, file_filter())
        if path:
            self.open_file(Path(path))

    def open_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open folder of scans")
        if path:
            self.open_folder(Path(path))

    def open_file(self, path: Path, from_folder: bool = False) -> None:
        path = Path(path)
        self.statusBar().showMessage(f"Opening {path.name}…")
        self.runner.start("scan", lambda pr, part: jobs.load_scan(path, pr, part),
                          on_done=lambda scan: self._scan_loaded(scan, path, from_folder),
                          on_error=lambda exc: self._scan_failed(exc, path))

    def _scan_loaded(self, scan: Scan, path: Path, from_folder: bool) -> None:
        self.runner.cancel("analysis")
        self.scan = scan
        self.result = None
        self.last_error = None
        self.settings.add_recent(path)
        self._save_settings()
        self._rebuild_recent()
        self.setWindowTitle(f"OCTGuard — {scan.name}")
        self.image_view.set_scan(scan.frames, scan.pixel_spacing)
        self.metadata_panel.set_scan(scan)
        if not from_folder and Path(path) not in self.folder_paths:
            self.folder_panel.list.clearSelection()
        self.folder_panel.select_path(path)
        self.statusBar().showMessage(f"Opened {scan.name}", 4000)
        self.scan_changed.emit(scan)
        self.result_changed.emit(None)
        cached = self.folder_results.get(Path(path))
        if cached is not None:
            self._set_result(cached)
        else:
            self.start_analysis()
        self._update_actions()

    def _scan_failed(self, exc, path: Path) -> None:
        if isinstance(exc, Cancelled):
            return
        what = str(exc) if isinstance(exc, ScanError) else f"{path.name}: {exc}"
        if isinstance(exc, NotOCTError):   # a refusal, not a fault: say what it is, diagnose nothing
            self.analysis_panel.show_message("Not an OCT scan", what, flag="Refused: not an OCT scan")
            self.show_error("Not an OCT scan", what)
            return
        self.show_error("This file could not be opened", what)

    def open_folder(self, folder: Path, title: str | None = None) -> None:
        folder = Path(folder)
        try:
            files = list_scan_files(folder)
        except (OSError, ScanError) as exc:
            self.show_error("This folder could not be opened", f"{folder}: {exc}")
            return
        if not files:
            self.show_error("No scans in this folder",
                            f"{folder} holds no files with a supported extension.")
            return
        self.open_file_list(files, title=title or folder.name, folder=folder)

    def open_file_list(self, files: list[Path], title: str, folder: Path | None = None) -> None:
        self.folder_paths = [Path(f) for f in files]
        self.folder_results = {}
        self.folder_title = title
        self.folder_panel.set_folder(folder or Path(title), self.folder_paths)
        if self.folder_dock.isHidden():
            self.folder_dock.show()
            self.resizeDocks([self.folder_dock], [320], Qt.Horizontal)
        self.folder_panel.list.setCurrentRow(0)   # opens the first scan
        if self.model_state == "loading":
            self._folder_pending = True
            self.folder_panel.title.setText(f"{title}: waiting for the model…")
        else:
            self._start_folder_task()
        self._update_actions()

    def _start_folder_task(self) -> None:
        paths, analyzer = list(self.folder_paths), self.analyzer
        override = self.settings.threshold_override
        self.folder_panel.set_busy(True)
        self.folder_panel.title.setText(f"{self.folder_title}: analysing {len(paths)} scan(s)…")
        self.runner.start("folder",
                          lambda pr, part: jobs.analyze_folder(paths, analyzer, override, pr, part),
                          on_done=self._folder_done, on_error=self._folder_failed,
                          on_progress=self.folder_panel.set_progress,
                          on_partial=self._folder_item)

    def _folder_item(self, it: jobs.FolderItem) -> None:
        self.folder_panel.add_result(it)
        if it.result is not None:
            self.folder_results[it.path] = it.result

    def _folder_done(self, n: int) -> None:
        self.folder_panel.set_busy(False)
        self.folder_panel.title.setText(f"{self.folder_title}: {n} scan(s)")
        self.statusBar().showMessage(f"Folder analysed: {n} scan(s)", 5000)

    def _folder_failed(self, exc) -> None:
        self.folder_panel.set_busy(False)
        self.folder_panel.title.setText(f"{self.folder_title}: {len(self.folder_results)} of "
                                        f"{len(self.folder_paths)} analysed")
        if isinstance(exc, Cancelled):
            self.statusBar().showMessage("Folder analysis cancelled", 5000)
        else:
            self.show_error("Folder analysis failed", str(exc))

    def cancel_folder(self) -> None:
        if self.runner.running("folder"):
            self.runner.cancel("folder")
            self.folder_panel.set_busy(False)
            self.statusBar().showMessage("Folder analysis cancelled", 5000)

    def step_scan(self, delta: int) -> None:
        if not self.folder_panel.step(delta):
            self.statusBar().showMessage("No more scans in this direction", 2000)

    def step_frame(self, delta: int) -> None:
        if self.scan is not None:
            n = self.scan.n_frames
            self.image_view.set_frame(min(max(self.image_view.current_frame + delta, 0), n - 1))

    def open_samples(self) -> None:
        """The shipped real scans, opened where they are installed (read only)."""
        from core.samples import samples_dir
        try:
            folder = samples_dir()
        except OCTGuardError as exc:
            self.show_error("Sample scans unavailable", str(exc))
            return
        self.open_folder(folder, title="Sample scans (Kermany, CC BY 4.0)")

    # -------------------------------------------------------------- analysis
    def start_analysis(self) -> None:
        if self.scan is None:
            return
        if self.model_state == "loading":
            self._analysis_pending = True
            self.analysis_panel.show_message("Waiting for the model…",
                                             "The scan will be analysed as soon as the model "
                                             "has loaded.", flag="Analysis pending")
            return
        if self.analyzer is None:
            self.analysis_panel.show_message("No model loaded", self.model_message + ".",
                                             flag="No prediction")
            return
        scan, analyzer, override = self.scan, self.analyzer, self.settings.threshold_override
        self.analysis_panel.show_message("Analysing…", "", flag="Analysis running")
        self.runner.start("analysis", lambda pr, part: jobs.analyze(analyzer, scan, override,
                                                                     pr, part),
                          on_done=lambda res: self._analysis_done(res, scan),
                          on_error=self._analysis_failed)

    def _analysis_done(self, result, scan: Scan) -> None:
        if scan is not self.scan:
            return
        if self.first_result_s is None:
            self.first_result_s = time.perf_counter() - self.t0
        self._set_result(result)

    def _set_result(self, result) -> None:
        self.result = result
        if scan_path := (self.scan.source if self.scan else None):
            if Path(scan_path) in self.folder_paths:
                self.folder_results[Path(scan_path)] = result
        self._show_result_frame(self.image_view.current_frame)
        text, state = scan_summary(result)
        self.statusBar().showMessage(f"{self.scan.name}: {text}", 6000)
        self.result_changed.emit(result)
        self._update_actions()

    def _analysis_failed(self, exc) -> None:
        if isinstance(exc, Cancelled):
            return
        self.analysis_panel.show_message("Analysis failed", str(exc), flag="No prediction")
        self.show_error("Analysis failed", str(exc))

    def _show_result_frame(self, i: int) -> None:
        if self.result is None or not self.result.frames:
            return
        i = min(i, len(self.result.frames) - 1)
        n_rej = sum(not f.accepted for f in self.result.frames)
        self.analysis_panel.show_frame(self.result.frames[i], len(self.result.frames), n_rej)

    def is_settled(self) -> bool:
        """Nothing loading or analysing (used by --screenshot and tests)."""
        return (self.model_state != "loading" and not self._analysis_pending
                and self.runner.is_idle() and not self.demo.busy())

    # ----------------------------------------------------------- model menu
    def choose_model_dir(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose model folder")
        if path:
            self.set_model_dir(Path(path))

    def set_model_dir(self, path: Path | None) -> None:
        self.model_dir = path
        self.settings.model_dir = None if path is None else str(path)
        self._save_settings()
        self.result = None
        self.load_model()

    def threshold_dialog(self) -> None:
        cur = self.settings.threshold_override
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
        self.settings.threshold_override = value
        self._save_settings()
        self.folder_results = {}
        self.start_analysis()

    # ----------------------------------------------------------- export etc
    def _model_line(self) -> str:
        return self.model_message or "no model loaded"

    def current_result_text(self) -> str | None:
        if self.scan is None or self.result is None or not self.result.frames:
            return None
        i = min(self.image_view.current_frame, len(self.result.frames) - 1)
        return result_text(self.scan.name, self.result, i, self._model_line())

    def copy_result(self) -> None:
        text = self.current_result_text()
        if text is None:
            self.statusBar().showMessage("No result to copy yet", 3000)
            return
        QGuiApplication.clipboard().setText(text)
        self.statusBar().showMessage("Result copied to the clipboard", 3000)

    def export_dialog(self) -> None:
        if self.scan is None:
            self.statusBar().showMessage("Open a scan first", 3000)
            return
        stem = Path(self.scan.name).stem
        path, _ = QFileDialog.getSaveFileName(self, "Export report", f"{stem}_report.pdf",
                                              "PDF report (*.pdf);;PNG image (*.png)")
        if path:
            self.export(Path(path))

    def export(self, path: Path) -> Path | None:
        if self.scan is None:
            return None
        text = self.current_result_text()
        state = "none"
        if self.result is not None and self.result.frames:
            fr = self.result.frames[min(self.image_view.current_frame, len(self.result.frames) - 1)]
            state = fr.verdict
        if text:
            # the footer carries the model and the clinical-use line; keep them out of the body
            body = "\n\n".join(line for line in text.split("\n")[1:]
                               if not line.startswith("Model: ") and line != NOT_CLINICAL)
        else:
            body = "No prediction: " + (self.model_message or "analysis not finished")
        if extra := self.volume.report_text():
            body += "\n\n" + extra
        title = f"OCTGuard report: {self.scan.name}"
        if self.scan.n_frames > 1:
            title += f" (frame {self.image_view.current_frame + 1} of {self.scan.n_frames})"
        image, note = self.evidence.report_image(self.image_view.rendered_frame())
        body = f"{body}\n\n{note}" if note else body
        try:
            out = export_report(path, image, title, state, body, self._model_line(),
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
        from core import __version__
        head = (f"# OCTGuard {__version__}\n\nRetinal OCT B-scan viewer with an adversarially "
                f"trained classifier and a detector that rejects manipulated or unfamiliar "
                f"inputs.\n\n**{NOT_CLINICAL}**\n\n")
        if self.model is None:
            return head + f"## Model\n\n{self.model_message or 'No model loaded.'}\n"
        card = self.model.directory / "MODEL_CARD.md"
        try:
            text = card.read_text(encoding="utf-8")
        except OSError:
            text = f"## Model\n\n{self._model_line()}\n\n(This model has no MODEL_CARD.md.)"
        return head + "---\n\n" + text

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

    def _rebuild_recent(self) -> None:
        self.recent_menu.clear()
        for p in self.settings.recent_files:
            a = self.recent_menu.addAction(p)
            a.triggered.connect(lambda _=False, p=p: self.open_paths([p]))
        self.recent_menu.setEnabled(bool(self.settings.recent_files))

    def _update_actions(self) -> None:
        has_scan = self.scan is not None
        for a in (self.act_export, self.act_zoom_in, self.act_zoom_out, self.act_fit,
                  self.act_invert, self.act_levels):
            a.setEnabled(has_scan)
        self.act_copy.setEnabled(self.result is not None)
        many = len(self.folder_paths) > 1
        self.act_next.setEnabled(many)
        self.act_prev.setEnabled(many)
        multi = has_scan and self.scan.n_frames > 1
        self.act_next_frame.setEnabled(multi)
        self.act_prev_frame.setEnabled(multi)

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
