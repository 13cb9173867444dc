"""Demo mode: perturb the open scan live and show the risk, and the defence.

``DemoMode(host)`` plugs into the main window through the members of
:class:`~app.demo.host.DemoHost` only: a dock (``add_panel``), a checkable
toolbar/Model-menu action on the D key (``add_mode_actions``), and the
``scan_changed``/``model_changed``/``frame_changed`` signals. Every control
change re-runs the attack on its own background runner after a 250 ms pause;
starting a run cancels the one before. Nothing is ever written to the opened file.
"""
from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog

from core.errors import Cancelled
from core.package_data import models_dir

from ..task_runner import TaskRunner
from . import jobs
from .host import DemoHost
from .panel import DemoPanel
from .params import DEBOUNCE_MS, DemoParams
from .risk_dialog import RiskSetDialog
from .views import adversarial_qimage, png_bytes

log = logging.getLogger(__name__)


class DemoMode(QObject):
    outcome_changed = Signal(object)     # jobs.FrameOutcome or None

    def __init__(self, host: DemoHost, models_root: Path | None = None):
        super().__init__(host.dialog_parent())
        self.host = host
        self.models_root = Path(models_root) if models_root else models_dir()   # the shipped models/
        self.runner = TaskRunner(self, max_threads=1)   # one attack at a time
        self.params = DemoParams()
        self.outcome: jobs.FrameOutcome | None = None
        self.last_error: str | None = None
        self._models: dict[Path, object] = {}          # other model dirs, loaded once
        self._loading: set[Path] = set()
        self.set_dialog = None
        self._frame_index = 0               # the frame the current outcome was attacked on
        self.exported = None                # (path, verdict of the reopened file) of the last export

        self.panel = DemoPanel()
        self.dock = host.add_panel(self.panel, "Demo: perturbed images", Qt.BottomDockWidgetArea)
        self.dock.hide()
        self.dock.visibilityChanged.connect(self._dock_visibility)

        self.action = QAction("&Demo Mode", host.dialog_parent())
        self.action.setCheckable(True)
        self.action.setShortcut(QKeySequence("D"))
        self.action.setToolTip("Demo mode: attack the open scan and see what the detector does (D)")
        self.action.setStatusTip("Perturb the open scan live (research demonstration)")
        self.action.toggled.connect(self.set_enabled)
        self.set_action = QAction("Run Demo Attack on a &Set…", host.dialog_parent())
        self.set_action.triggered.connect(self.open_set_dialog)
        host.add_mode_actions(self.action, self.set_action)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.run_now)

        p = self.panel
        p.controls.changed.connect(self._params_changed)
        p.controls.layout_changed.connect(p.views.set_mode)
        p.cancel_button.clicked.connect(self.cancel)
        p.export_button.clicked.connect(self.export_dialog)
        p.set_button.clicked.connect(self.open_set_dialog)
        host.scan_changed.connect(lambda _scan: self.schedule())
        host.model_changed.connect(self._model_changed)
        host.frame_changed.connect(lambda _i: self.schedule())
        self.refresh_models()

    # ------------------------------------------------------------ state
    @property
    def enabled(self) -> bool:
        return self.action.isChecked()

    def set_enabled(self, on: bool) -> None:
        if self.action.isChecked() != on:
            self.action.setChecked(on)        # comes back here through toggled
            return
        # the demo's own "original" view stands in for the main image view
        if on:
            self.host.set_mode_layout(self.dock, True)
            self.schedule(0)
        else:
            self.cancel()
            self.host.set_mode_layout(self.dock, False)

    def _dock_visibility(self, visible: bool) -> None:
        # closing the dock by its title bar switches the mode off
        if not visible and self.enabled and not self.dock.isVisible() \
                and self.host.is_on_screen():
            self.action.setChecked(False)

    def busy(self) -> bool:
        """A run waiting or running (``--screenshot`` waits for it)."""
        return self.enabled and (self._timer.isActive() or not self.runner.is_idle()
                                 or bool(self._loading))

    def set_params(self, params: DemoParams) -> None:
        self.panel.controls.set_params(params)

    def _params_changed(self, params: DemoParams) -> None:
        self.params = params
        self.schedule()

    def _model_changed(self, _loaded) -> None:
        self.refresh_models()
        self.schedule()

    def refresh_models(self) -> None:
        own = self.host.session.model
        own_dir = Path(own.directory).resolve() if own is not None else None
        # models/ and the folder beside the viewer's model (e.g. --model x/ssat finds x/nt)
        roots = [self.models_root] + ([own_dir.parent] if own_dir is not None else [])
        dirs, seen = [], {own_dir}
        for root in roots:
            for d in jobs.list_models(root):
                if d.resolve() not in seen:
                    seen.add(d.resolve())
                    dirs.append(d)
        self.panel.controls.set_models(dirs, own.name if own is not None else None)
        self.params = self.panel.controls.params()

    # ------------------------------------------------------------- runs
    def schedule(self, delay_ms: int | None = None) -> None:
        if not self.enabled:
            return
        self._timer.start(DEBOUNCE_MS if delay_ms is None else delay_ms)

    def _model_for(self, params: DemoParams):
        if params.model_dir is None:
            return self.host.session.model
        d = Path(params.model_dir)
        if d in self._models:
            return self._models[d]
        if d not in self._loading:
            self._loading.add(d)
            self.runner.start(f"model:{d}", lambda pr, part: jobs.load_model(d, pr, part),
                              on_done=lambda m: self._model_loaded(d, m),
                              on_error=lambda exc: self._model_failed(d, exc))
        self.panel.set_running(False, f"loading {d.name}…")
        return None

    def _model_loaded(self, d: Path, loaded) -> None:
        self._loading.discard(d)
        self._models[d] = loaded
        self.schedule(0)

    def _model_failed(self, d: Path, exc) -> None:
        self._loading.discard(d)
        if not isinstance(exc, Cancelled):
            self._fail(f"{d.name} could not be loaded: {exc}")

    def run_now(self) -> None:
        session = self.host.session
        if not self.enabled:
            return
        if session.scan is None:
            self.panel.outcome.show_message("Open a scan to start the demo.")
            return
        params = self.params
        if params.model_dir is None and session.model_state == "loading":
            self.panel.outcome.show_message("Waiting for the model…")
            return              # model_changed reschedules
        loaded = self._model_for(params)
        if loaded is None:
            if params.model_dir is None:
                self.panel.outcome.show_message(
                    "No model to attack: install one under models/ or choose a model folder "
                    "(Model > Choose Model Folder).")
            return
        if params.attack == "adaptive" and loaded.gate is None:
            self._fail(f"{loaded.name} has no detection gate, so the gate-aware attack does "
                       "not apply; choose another attack or model.")
            return
        scan = session.scan
        i = min(self.host.current_frame(), scan.n_frames - 1)
        frame, source = scan.frames[i], scan.source
        self._frame_index = i
        self.panel.set_running(True, f"{params.describe()}…")
        self.runner.start("attack",
                          lambda pr, part: jobs.attack_frame(loaded, frame, source, params, pr, part,
                                                             scan=scan),
                          on_done=self._done, on_error=self._failed,
                          on_progress=self.panel.set_progress)

    def cancel(self) -> None:
        self._timer.stop()
        if self.runner.running("attack"):
            self.runner.cancel("attack")
            self.panel.set_running(False, "Cancelled")

    def _done(self, o: jobs.FrameOutcome) -> None:
        self.outcome = o
        self.last_error = None
        self.panel.views.set_images(o.original, o.adversarial, native=o.spec.resolution == "native")
        self.panel.outcome.show_outcome(o)
        self.panel.export_button.setEnabled(True)
        self.panel.set_running(False, f"done in {o.seconds:.2f} s")
        self.outcome_changed.emit(o)

    def _failed(self, exc) -> None:
        if isinstance(exc, Cancelled):
            return
        self._fail(f"The attack failed: {exc}")

    def _fail(self, text: str) -> None:
        self.last_error = text
        log.warning(text)
        self.panel.set_running(False, "")
        self.panel.outcome.show_message(text)

    # ----------------------------------------------------------- export
    def export_dialog(self) -> None:
        if self.outcome is None:
            return
        scan = self.host.session.scan
        stem = Path(scan.name).stem if scan else "scan"
        if self.outcome.spec.on_grid:      # the realistic setting: the file itself
            suffix = jobs.export_suffix(scan)
            filters = ["DICOM (*.dcm)", "PNG image (*.png)"] if suffix == ".dcm" else \
                ["PNG image (*.png)", "DICOM (*.dcm)"]
            path, chosen = QFileDialog.getSaveFileName(
                self.host.dialog_parent(), "Export adversarial file (demonstration image)",
                f"{stem}_DEMO_{self.outcome.params.attack}{suffix}", ";;".join(filters))
            if path:
                if Path(path).suffix.lower() not in (".png", ".dcm", ".dicom"):
                    path = str(Path(path).with_suffix(".dcm" if "DICOM" in chosen else ".png"))
                self.export_file(Path(path))
            return
        path, _ = QFileDialog.getSaveFileName(self.host.dialog_parent(), "Export adversarial image",
                                              f"{stem}_DEMO_{self.outcome.params.attack}.png",
                                              "PNG image (*.png)")
        if path:
            self.export_adversarial(Path(path))

    def export_adversarial(self, path: Path) -> Path | None:
        """PNG of the adversarial image with the DEMO banner burnt in."""
        if self.outcome is None:
            return None
        o = self.outcome
        caption = (f"{o.params.describe()} on {o.model_name}: {o.adv.label} "
                   f"({'accepted' if o.adv.accepted else 'rejected'}). Not for clinical use.")
        scan = self.host.session.scan
        source = scan.source if scan else None
        if path.suffix.lower() != ".png":
            path = path.with_suffix(".png")
        try:
            out = jobs.write_atomic(path, png_bytes(adversarial_qimage(o.adversarial, caption)),
                                    protect=source)
        except OSError as exc:
            self.host.show_error("Export failed", str(exc))
            return None
        self.host.show_status(f"Adversarial image saved to {out}", 5000)
        return out

    def export_file(self, path: Path) -> None:
        """Write the native-resolution 8-bit result as a marked PNG or DICOM
        (in the background), reopen it and say what the model makes of it."""
        o, host = self.outcome, self.host
        if o is None or host.session.scan is None:
            return
        loaded = self.current_model()
        if loaded is None:
            return
        scan, frame = host.session.scan, self._frame_index
        if scan.source is not None and jobs._same_file(path, scan.source):
            host.show_error("Export failed", f"{path.name} is the opened scan; the demo never overwrites it")
            return
        self.exported = None
        self.runner.start("export", lambda pr, part: jobs.export_file(loaded, o, scan, frame, path, pr, part),
                          on_done=self._exported,
                          on_error=lambda exc: None if isinstance(exc, Cancelled)
                          else host.show_error("Export failed", str(exc)))

    def _exported(self, result) -> None:
        out, fr = result
        self.exported = result
        o = self.outcome
        same = o is not None and (fr.label, fr.accepted) == (o.adv.label, o.adv.accepted)
        verdict = f"{fr.label}, {'accepted' if fr.accepted else 'rejected'} by the gate"
        self.host.show_status(
            f"Saved {out.name} (marked as a demonstration image). Reopened: {verdict}"
            + ("" if same else " — differs from the demo's result"), 10000)

    # ------------------------------------------------------------- sets
    def open_set_dialog(self) -> None:
        if self.set_dialog is None:
            self.set_dialog = RiskSetDialog(self)
        self.set_dialog.show()
        self.set_dialog.raise_()

    def current_model(self):
        """The model the controls name, or None if it is not loaded yet."""
        p = self.params
        return self.host.session.model if p.model_dir is None else self._models.get(Path(p.model_dir))

    def shutdown(self, wait_ms: int = 3000) -> bool:
        ok = self.runner.shutdown(wait_ms)
        if self.set_dialog is not None:
            ok = self.set_dialog.runner.shutdown(wait_ms) and ok
        return ok
