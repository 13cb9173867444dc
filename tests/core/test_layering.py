"""core must never import the GUI (napari's rule): checked statically on the
source and dynamically on a fresh interpreter."""
import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "core"
FORBIDDEN = ("app", "PySide6", "pyqtgraph", "shiboken6")


def _imports(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def test_core_sources_never_import_gui():
    bad = [(p.relative_to(CORE.parent), m) for p in CORE.rglob("*.py")
           for m in _imports(p) if m.split(".")[0] in FORBIDDEN]
    assert not bad, f"core imports the GUI: {bad}"


def test_importing_core_loads_no_qt():
    code = ("import sys, importlib, pkgutil, core\n"
            "for m in pkgutil.walk_packages(core.__path__, 'core.'):\n"
            "    importlib.import_module(m.name)\n"
            f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}]\n"
            "print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       cwd=CORE.parent)
    assert r.returncode == 0, r.stdout + r.stderr
