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


def test_evaluation_and_detectors_never_import_training():
    """Evaluation and the detectors use the neutral batch helpers (core.batches),
    not the training package: evaluating a model must not depend on how it was trained."""
    bad = []
    for pkg in ("evaluation", "detectors"):
        for p in (CORE / pkg).rglob("*.py"):
            tree = ast.parse(p.read_text(), filename=str(p))
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom):
                    mod = "." * node.level + (node.module or "")
                    if mod.startswith("..training") or mod.startswith("core.training"):
                        bad.append((p.relative_to(CORE.parent), mod))
                elif isinstance(node, ast.Import):
                    bad += [(p.relative_to(CORE.parent), a.name) for a in node.names
                            if a.name.startswith("core.training")]
    assert not bad, f"imports of core.training: {bad}"
