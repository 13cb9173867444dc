"""Dark (reading room, default) and light themes: a Fusion palette plus a
small style sheet from ``resources/``, and matching pyqtgraph colours."""
from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from core.errors import OCTGuardError
from core.package_data import resources_dir

# result colours, chosen to stay readable on both themes
ACCEPT = "#2f9e5e"
REJECT = "#d2423b"
UNSCREENED = "#c9912c"
WITHHELD = "#7d848c"

_PALETTES = {
    "dark": {"window": "#1c1e22", "base": "#141619", "alt": "#22252a", "text": "#d9dee4",
             "button": "#2a2d33", "highlight": "#3c78c3", "mid": "#3a3e45", "dim": "#8b939c"},
    "light": {"window": "#eef0f2", "base": "#ffffff", "alt": "#f4f5f7", "text": "#1d2126",
              "button": "#e2e5e9", "highlight": "#2f6db5", "mid": "#b9bfc6", "dim": "#5e666f"},
}


def colours(theme: str) -> dict[str, str]:
    return _PALETTES.get(theme, _PALETTES["dark"])


def apply_theme(app: QApplication, theme: str) -> None:
    c = colours(theme)
    app.setStyle("Fusion")
    pal = QPalette()
    roles = {
        QPalette.Window: c["window"], QPalette.WindowText: c["text"], QPalette.Base: c["base"],
        QPalette.AlternateBase: c["alt"], QPalette.Text: c["text"], QPalette.Button: c["button"],
        QPalette.ButtonText: c["text"], QPalette.Highlight: c["highlight"],
        QPalette.HighlightedText: "#ffffff", QPalette.ToolTipBase: c["alt"],
        QPalette.ToolTipText: c["text"], QPalette.Mid: c["mid"], QPalette.PlaceholderText: c["dim"],
        QPalette.Link: c["highlight"],
    }
    for role, col in roles.items():
        pal.setColor(role, QColor(col))
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        pal.setColor(QPalette.Disabled, role, QColor(c["dim"]))
    app.setPalette(pal)
    try:
        qss = resources_dir() / f"theme_{theme}.qss"
        app.setStyleSheet(qss.read_text(encoding="utf-8"))
    except (OSError, OCTGuardError):
        app.setStyleSheet("")
