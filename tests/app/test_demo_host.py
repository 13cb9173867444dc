"""Demo mode talks to the window only through DemoHost, and app/demo has no
import cycle (mode.py and risk_dialog.py imported each other before)."""
import ast
from pathlib import Path

from app.demo.host import DemoHost
from app.session import ViewerSession
from app.settings import Settings

DEMO = Path(__file__).resolve().parents[2] / "app" / "demo"


def host_members() -> set[str]:
    return set(DemoHost.__annotations__) | {
        n for n, v in vars(DemoHost).items() if callable(v) and not n.startswith("_")}


def _is_host(node) -> bool:
    """``host``, ``self.host`` or ``self.demo.host``."""
    if isinstance(node, ast.Name):
        return node.id == "host"
    return isinstance(node, ast.Attribute) and node.attr == "host"


def uses(path: Path) -> tuple[set[str], set[str], list[str]]:
    """(members used on the host, members used on host.session, lines naming .window)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    on_host, on_session, window = set(), set(), []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        if _is_host(node.value):
            on_host.add(node.attr)
        elif isinstance(node.value, ast.Attribute) and node.value.attr == "session" \
                and _is_host(node.value.value):
            on_session.add(node.attr)
        if node.attr == "window":
            window.append(f"{path.name}:{node.lineno}")
    return on_host, on_session, window


def test_demo_uses_only_the_declared_host_members():
    members = host_members()
    session = ViewerSession(Settings())
    used = set()
    for path in sorted(DEMO.glob("*.py")):
        on_host, on_session, window = uses(path)
        assert on_host <= members, f"{path.name} uses {on_host - members}, not in DemoHost"
        assert all(hasattr(session, a) for a in on_session), f"{path.name}: {on_session}"
        assert not window, f"demo reaches into the window at {window}"
        used |= on_host
    assert {"session", "add_panel", "add_mode_actions", "show_error"} <= used


def _demo_imports(path: Path) -> set[str]:
    """Sibling modules ``path`` imports, at the top or inside functions."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                out.add(node.module.split(".")[0])
            else:
                out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("app.demo."):
            out.add(node.module.split(".")[2])
    return out


def test_app_demo_has_no_import_cycle():
    graph = {p.stem: _demo_imports(p) for p in DEMO.glob("*.py") if p.stem != "__init__"}
    assert "risk_dialog" in graph["mode"] and "mode" not in graph["risk_dialog"]
    state: dict[str, str] = {}

    def visit(m: str, trail: list[str]) -> None:
        if state.get(m) == "done" or m not in graph:
            return
        assert state.get(m) != "open", "import cycle: " + " -> ".join(trail + [m])
        state[m] = "open"
        for n in sorted(graph[m]):
            visit(n, trail + [m])
        state[m] = "done"

    for m in sorted(graph):
        visit(m, [])


def test_the_main_window_is_a_demo_host(qtbot, tmp_path):
    from app.main_window import MainWindow
    w = MainWindow(Settings.load(), model_dir=tmp_path / "no-model")
    qtbot.addWidget(w)
    assert isinstance(w, DemoHost)
    assert w.demo.host is w and w.session is w.demo.host.session
