"""The class-evidence overlay: where on the scan the model found its evidence.

``EvidenceOverlay(window)`` plugs in like demo mode: a checkable View-menu and
toolbar action on the E key, an opacity slider beside it, and a method choice
under View > Evidence Method. Maps are computed by ``core.evidence`` on the
window's task runner (kind "evidence"), never on the GUI thread; turning the
overlay off, moving to another frame or opening another scan cancels the
running one. Maps are cached per scan, frame, model and method, so paging
back through a volume redraws at once.

In demo mode the clean and adversarial views get their own maps side by side
(kind "evidence-demo"), so the attack's shift of attention is visible.
"""
from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QLabel, QSlider

from core.errors import Cancelled

CACHE_SIZE = 64


def _frame_map(loaded, frame, method, progress, partial):
    from core.evidence import explain_frame

    from .demo.jobs import fewer_threads
    with fewer_threads():
        return explain_frame(loaded, frame, method=method, progress=progress)


def _demo_maps(loaded, original, adversarial, method, progress, partial):
    """Maps of the demo's clean and adversarial images, each for its own
    predicted class, on the geometry the demo views show: the model input, or
    the full frame of a native-resolution attack (which the model sees only
    through the crop and resize, as a file would be seen)."""
    from core.evidence import explain_frame

    from .demo.jobs import fewer_threads
    with fewer_threads():
        return tuple(explain_frame(loaded, img, method=method, progress=progress.part(k / 2, 1 / 2))
                     for k, img in enumerate((original, adversarial)))


class EvidenceOverlay(QObject):
    def __init__(self, window):
        super().__init__(window)
        from core.evidence import DEFAULT_METHOD, METHODS
        from core.evidence_image import DEFAULT_OPACITY

        self.window = window
        self.method = DEFAULT_METHOD
        self.opacity = DEFAULT_OPACITY
        self.current = None                 # core.evidence.EvidenceMap on screen
        self.demo_maps = None               # (clean, adversarial) maps in the demo views
        self.last_error: str | None = None
        self._cache: OrderedDict = OrderedDict()

        self.action = QAction("&Evidence Map", window)
        self.action.setCheckable(True)
        self.action.setShortcut(QKeySequence("E"))
        self.action.setToolTip("Show where the model found evidence for its answer (E); "
                               "press again to hide it or stop the computation")
        self.action.setStatusTip("Overlay the class-evidence map on the scan")
        self.action.toggled.connect(self.set_enabled)
        window.addAction(self.action)

        self.slider = QSlider(Qt.Horizontal)
        self.slider.setObjectName("evidenceOpacity")
        self.slider.setRange(0, 100)
        self.slider.setValue(int(round(self.opacity * 100)))
        self.slider.setFixedWidth(90)
        self.slider.setToolTip("Opacity of the evidence map")
        self.slider.setEnabled(False)
        self.slider.valueChanged.connect(lambda v: self.set_opacity(v / 100))
        tb = window.toolbar
        tb.insertAction(window.toolbar_demo_separator, self.action)
        self.slider_action = tb.insertWidget(window.toolbar_demo_separator, self.slider)

        view = window.menus["view"]
        view.addSeparator()
        view.addAction(self.action)
        self.method_menu = view.addMenu("Evidence &Method")
        self.method_group = QActionGroup(self)
        self.method_actions = {}
        for key, text in METHODS.items():
            a = self.method_menu.addAction(text[:1].upper() + text[1:])
            a.setCheckable(True)
            a.setChecked(key == self.method)
            a.triggered.connect(lambda _=False, k=key: self.set_method(k))
            self.method_group.addAction(a)
            self.method_actions[key] = a

        self.status = QLabel("")
        self.status.setObjectName("evidenceStatus")
        window.statusBar().addPermanentWidget(self.status)
        self.status.hide()

        window.scan_changed.connect(lambda _s: self.refresh())
        window.model_changed.connect(self._model_changed)
        window.image_view.frame_changed.connect(lambda _i: self.refresh())
        window.demo.outcome_changed.connect(lambda _o: self.refresh_demo())
        window.demo.action.toggled.connect(lambda _on: self.refresh_demo())

    # ------------------------------------------------------------- state
    @property
    def enabled(self) -> bool:
        return self.action.isChecked()

    def set_enabled(self, on: bool) -> None:
        if self.action.isChecked() != on:
            self.action.setChecked(on)          # comes back here through toggled
            return
        self.slider.setEnabled(on)
        if not on:
            self.window.runner.cancel("evidence")
            self.window.runner.cancel("evidence-demo")
            self._show(None)
            self._show_demo(None)
            self._set_status("")
        self.refresh()
        self.refresh_demo()

    def set_opacity(self, opacity: float) -> None:
        self.opacity = min(max(float(opacity), 0.0), 1.0)
        if self.slider.value() != round(self.opacity * 100):
            self.slider.setValue(round(self.opacity * 100))
        self.window.image_view.set_overlay_opacity(self.opacity)
        if self.demo_maps is not None:
            self._show_demo(self.demo_maps)

    def set_method(self, method: str) -> None:
        self.method = method
        self.method_actions[method].setChecked(True)
        self.refresh()
        self.refresh_demo()

    def _model_changed(self, _loaded) -> None:
        self._cache.clear()
        self.refresh()

    # ----------------------------------------------------- the open scan
    def _key(self):
        w = self.window
        return (id(w.scan), w.image_view.current_frame, id(w.model), self.method)

    def refresh(self) -> None:
        """Show the map of the frame on screen: from the cache, or computed."""
        w = self.window
        if not self.enabled:
            return
        w.runner.cancel("evidence")
        self._show(None)
        if w.scan is None:
            return
        if w.model is None:
            self._set_status("Evidence map: no model loaded" if w.model_state != "loading"
                             else "Evidence map: waiting for the model…")
            return
        key = self._key()
        if key in self._cache:
            self._cache.move_to_end(key)
            self._show(self._cache[key])
            return
        loaded, method = w.model, self.method
        frame = w.scan.frames[min(w.image_view.current_frame, w.scan.n_frames - 1)]
        self._set_status("Evidence map: computing…")
        w.runner.start("evidence", lambda pr, part: _frame_map(loaded, frame, method, pr, part),
                       on_done=lambda ev: self._done(key, ev), on_error=self._failed,
                       on_progress=lambda f, m: self._set_status(
                           f"Evidence map: {int(f * 100)}%"))

    def _done(self, key, ev) -> None:
        self._cache[key] = ev
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        if key == self._key() and self.enabled:
            self._show(ev)

    def _failed(self, exc) -> None:
        if isinstance(exc, Cancelled):
            return
        self.last_error = f"The evidence map could not be computed: {exc}"
        self._set_status("Evidence map failed")
        self.window.statusBar().showMessage(self.last_error, 8000)

    def _show(self, ev) -> None:
        from core.evidence_image import rgba

        self.current = ev
        iv = self.window.image_view
        if ev is None:
            iv.set_overlay(None)
            return
        iv.set_overlay(rgba(ev.heat), self.opacity)
        self._set_status(ev.caption())

    def _set_status(self, text: str) -> None:
        self.status.setText(text)
        self.status.setVisible(bool(text))

    # -------------------------------------------------------------- demo
    def refresh_demo(self) -> None:
        w, demo = self.window, self.window.demo
        w.runner.cancel("evidence-demo")
        o = demo.outcome
        if not (self.enabled and demo.enabled and o is not None):
            self._show_demo(None)
            return
        loaded, method = demo.current_model(), self.method
        if loaded is None:
            return
        w.runner.start("evidence-demo",
                       lambda pr, part: _demo_maps(loaded, o.original, o.adversarial, method,
                                                   pr, part),
                       on_done=lambda maps: self._demo_done(o, maps), on_error=self._failed)

    def _demo_done(self, outcome, maps) -> None:
        if outcome is self.window.demo.outcome and self.enabled:
            self._show_demo(maps)

    def _show_demo(self, maps) -> None:
        from core.evidence_image import rgba

        self.demo_maps = maps
        views = self.window.demo.panel.views
        if maps is None:
            views.set_evidence(None)
            return
        views.set_evidence([(rgba(m.heat), m.caption()) for m in maps], self.opacity)

    # ------------------------------------------------------------ export
    def report_image(self, rendered):
        """The exported picture: the rendered frame with the overlay, if shown.
        -> (image, note); image is the input when no map is on screen."""
        from core.evidence_image import composite

        ev = self.current
        if not self.enabled or ev is None or rendered is None or ev.heat.shape != rendered.shape:
            return rendered, ""
        return composite(rendered, ev.heat, self.opacity), f"Overlay: {ev.caption()}."

    def busy(self) -> bool:
        r = self.window.runner
        return r.running("evidence") or r.running("evidence-demo")

    def settled(self) -> bool:
        """Off, or every map that can be drawn is on screen (``--screenshot``
        waits for it); a failed map counts as settled, it will not come."""
        if self.busy():
            return False
        if not self.enabled or self.last_error:
            return True
        w, demo = self.window, self.window.demo
        if w.scan is not None and w.model is not None and self.current is None:
            return False
        return not (demo.enabled and demo.outcome is not None
                    and demo.current_model() is not None and self.demo_maps is None)
