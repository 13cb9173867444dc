"""The main window's actions, toolbar, menus and status bar.

A mixin of MainWindow, kept apart so the window module holds the behaviour
and this one the wiring. The slots it names are MainWindow's. Demo mode's
toggle goes after ``toolbar_demo_separator``; volume tools and the evidence
map insert theirs before it.
"""
from __future__ import annotations

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QLabel, QMenu


class WindowActions:
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
        # demo mode's actions go here (add_mode_actions)
        m = self.menus["help"] = mb.addMenu("&Help")
        m.addActions([self.act_sample, self.act_about])

    def _build_statusbar(self) -> None:
        self.model_label = QLabel("Loading model…")
        self.model_label.setObjectName("modelLabel")
        self.statusBar().addPermanentWidget(self.model_label)

    def add_mode_actions(self, toggle: QAction, *more: QAction) -> None:
        """A mode's toggle on the toolbar (after the reserved separator) and
        with ``more`` at the end of the Model menu; shortcuts window-wide."""
        self.addAction(toggle)
        self.toolbar.addAction(toggle)
        menu = self.menus["model"]
        menu.addSeparator()
        menu.addActions([toggle, *more])

    def _rebuild_recent(self) -> None:
        self.recent_menu.clear()
        for p in self.settings.recent_files:
            a = self.recent_menu.addAction(p)
            a.triggered.connect(lambda _=False, p=p: self.open_paths([p]))
        self.recent_menu.setEnabled(bool(self.settings.recent_files))

    def _update_actions(self) -> None:
        s = self.session
        has_scan = s.scan is not None
        for a in (self.act_export, self.act_zoom_in, self.act_zoom_out, self.act_fit,
                  self.act_invert, self.act_levels):
            a.setEnabled(has_scan)
        self.act_copy.setEnabled(s.result is not None)
        many = len(s.folder_paths) > 1
        self.act_next.setEnabled(many)
        self.act_prev.setEnabled(many)
        multi = has_scan and s.scan.n_frames > 1
        self.act_next_frame.setEnabled(multi)
        self.act_prev_frame.setEnabled(multi)
