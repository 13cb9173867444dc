"""Opening into the main window: files, folders, lists, the shipped samples,
and the folder's background analysis; stepping through scans and frames.

A mixin of MainWindow (the window's state is its session; the docks and
panels are the window's).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from core.errors import Cancelled, NotOCTError, OCTGuardError, ScanError
from core.scan import Scan

from . import jobs

def file_filter() -> str:
    from core.io.formats import FILE_DIALOG_FILTER   # no torch: cheap at any time
    return FILE_DIALOG_FILTER


def list_scan_files(folder: Path) -> list[Path]:
    from core.io import iter_scan_files
    return list(iter_scan_files(folder))

class WindowOpening:
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
        cached = self.session.scan_opened(scan, path)
        self.last_error = None
        self._save_settings()
        self._rebuild_recent()
        self.setWindowTitle(f"OCTGuard — {scan.name}")
        self.image_view.set_scan(scan.frames, scan.pixel_spacing)
        self.metadata_panel.set_scan(scan)
        if not from_folder and Path(path) not in self.session.folder_paths:
            self.folder_panel.list.clearSelection()
        self.folder_panel.select_path(path)
        self.statusBar().showMessage(f"Opened {scan.name}", 4000)
        self.scan_changed.emit(scan)
        self.result_changed.emit(None)
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
        waits = self.session.open_folder_list(files, title)
        self.folder_panel.set_folder(folder or Path(title), self.session.folder_paths)
        if self.folder_dock.isHidden():
            self.folder_dock.show()
            self.resizeDocks([self.folder_dock], [320], Qt.Horizontal)
        self.folder_panel.list.setCurrentRow(0)   # opens the first scan
        if waits:
            self.folder_panel.title.setText(f"{title}: waiting for the model…")
        else:
            self._start_folder_task()
        self._update_actions()

    def open_samples(self) -> None:
        """The shipped real scans, opened where they are installed (read only)."""
        from core.samples import samples_dir
        try:
            folder = samples_dir()
        except OCTGuardError as exc:
            self.show_error("Sample scans unavailable", str(exc))
            return
        self.open_folder(folder, title="Sample scans (Kermany, CC BY 4.0)")

    # --------------------------------------------------------------- folder
    def _start_folder_task(self) -> None:
        s = self.session
        self.folder_panel.set_busy(True)
        self.folder_panel.title.setText(f"{s.folder_title}: analysing {len(s.folder_paths)} scan(s)…")
        self.runner.start("folder", s.folder_job(),
                          on_done=self._folder_done, on_error=self._folder_failed,
                          on_progress=self.folder_panel.set_progress,
                          on_partial=self._folder_item)

    def _folder_item(self, it: jobs.FolderItem) -> None:
        self.folder_panel.add_result(it)
        self.session.folder_item(it)

    def _folder_done(self, n: int) -> None:
        self.folder_panel.set_busy(False)
        self.folder_panel.title.setText(f"{self.session.folder_title}: {n} scan(s)")
        self.statusBar().showMessage(f"Folder analysed: {n} scan(s)", 5000)

    def _folder_failed(self, exc) -> None:
        s = self.session
        self.folder_panel.set_busy(False)
        self.folder_panel.title.setText(f"{s.folder_title}: {len(s.folder_results)} of "
                                        f"{len(s.folder_paths)} analysed")
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
        if self.session.scan is not None:
            n = self.session.scan.n_frames
            self.image_view.set_frame(min(max(self.image_view.current_frame + delta, 0), n - 1))

