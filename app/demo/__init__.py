"""Demo mode (issue 5): attack the open scan live, show the risk and the
detector at work. Research demonstration only; see :mod:`app.demo.mode`."""
from .mode import DemoMode

__all__ = ["DemoMode"]
