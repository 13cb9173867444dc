"""What demo mode needs from the window it plugs into, and nothing more.

MainWindow provides it; DemoMode and RiskSetDialog use only these members
(tests/app/test_demo_host.py checks that they reach for nothing else).
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QWidget

from ..session import ViewerSession


@runtime_checkable
class DemoHost(Protocol):
    session: ViewerSession       # the open scan, the viewer's model and its state, the folder
    scan_changed: object         # Signal(Scan | None)
    model_changed: object        # Signal(LoadedModel | None)
    frame_changed: object        # Signal(int): the frame on screen changed

    def current_frame(self) -> int:
        """Index of the open scan's frame on screen (0 without a scan)."""

    def add_panel(self, widget: QWidget, title: str, area: Qt.DockWidgetArea) -> QDockWidget:
        """A new dock holding ``widget``."""

    def add_mode_actions(self, toggle: QAction, *more: QAction) -> None:
        """The mode's toggle on the toolbar and, with ``more``, in the Model menu."""

    def set_mode_layout(self, dock: QDockWidget, on: bool) -> None:
        """``dock`` takes the centre column in place of the image view, or gives it back."""

    def is_on_screen(self) -> bool:
        """Shown and not minimised (a dock hidden then was closed by the user)."""

    def dialog_parent(self) -> QWidget:
        """The parent for the mode's dialogs and actions."""

    def show_status(self, text: str, ms: int) -> None: ...

    def show_error(self, title: str, text: str) -> None: ...
