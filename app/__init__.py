"""OCTGuard viewer: PySide6 + pyqtgraph front end over ``core``.

The app only draws and dispatches; every computation lives in ``core`` and
runs on :class:`app.task_runner.TaskRunner`, never on the GUI thread.
"""
