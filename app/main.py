"""Viewer entry point: ``run(argv)`` parses the command line, starts importing
torch and reading the model in the background (app.jobs.preload_model),
shows the window, and then the task runner's model job takes that model and
the scans named on the command line are opened; the scan is analysed as soon
as the model is ready.

``--screenshot OUT.png`` waits until every load and analysis has finished
(and, with ``--evidence``, the evidence map is drawn), saves the window and
exits (docs and tests use it). Demo mode (issue 5) adds
its own options in :func:`build_parser` and applies them in :func:`apply_args`.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

SCREENSHOT_TIMEOUT_S = 180.0


DESCRIPTION = "OCTGuard viewer: open OCT scans and see the prediction and the detector's verdict."


def build_parser() -> argparse.ArgumentParser:
    """The viewer's own parser, for ``python -m app``; ``octguard view`` is the
    same options in app.entry's tree."""
    p = argparse.ArgumentParser(prog="octguard view", description=DESCRIPTION)
    add_arguments(p)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", metavar="PATH", help="scan files or folders to open")
    p.add_argument("--model", metavar="DIR", help="model directory (default: models/default "
                   "or the one chosen in the viewer)")
    p.add_argument("--screenshot", metavar="OUT.png",
                   help="render the window once analysis has finished, save it and exit")
    p.add_argument("--theme", choices=("dark", "light"), help="colour theme for this session")
    p.add_argument("--size", default=None, metavar="WxH", help="window size, e.g. 1400x880")
    p.add_argument("--evidence", action="store_true",
                   help="start with the class-evidence map shown (key E); with --screenshot, "
                        "the picture waits for the map")
    from core.attacks.spec import DEFAULTS
    demo = p.add_argument_group("demo mode (perturbed images, research demonstration)")
    demo.add_argument("--demo", metavar="ATTACK", type=str.lower,
                      choices=("fgsm", "pgd", "cw", "adaptive"),
                      help="start in demo mode with this attack")
    demo.add_argument("--eps", type=float, default=DEFAULTS.eps, help="L-inf budget in [0, 1] units")
    demo.add_argument("--steps", type=int, default=DEFAULTS.steps, help="PGD steps")
    demo.add_argument("--c", type=float, default=DEFAULTS.c, help="C&W c")
    demo.add_argument("--eight-bit", action="store_true",
                      help="quantise the adversarial image as an 8-bit file would")
    demo.add_argument("--native", action="store_true",
                      help="attack the scan at its native resolution on the 8-bit grid (the realistic file)")


def apply_args(window, args: argparse.Namespace) -> None:
    """Options that act on the built window (demo mode hooks in here)."""
    if args.evidence:
        window.evidence.set_enabled(True)
    if args.paths:
        window.open_paths(args.paths)
    if args.demo:
        from .demo.params import DemoParams
        window.demo.set_params(DemoParams(attack=args.demo, eps=args.eps, steps=args.steps,
                                          c=args.c, eight_bit=args.eight_bit, native=args.native))
        window.demo.set_enabled(True)


def run(argv: list[str] | None = None) -> int:
    return run_args(build_parser().parse_args(sys.argv[1:] if argv is None else argv))


def run_args(args: argparse.Namespace) -> int:
    t_start = time.perf_counter()
    from .jobs import preload_model
    from .settings import Settings
    settings = Settings.load()
    # the model the window will ask for (the session's rule: --model, else the one chosen last time)
    preload_model(args.model or settings.model_dir)

    # PySide6 before pyqtgraph (inside app.image_view) so pyqtgraph binds to it
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow
    from .theme import apply_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("OCTGuard")
    app.setOrganizationName("OCTGuard")
    apply_theme(app, args.theme or settings.theme)
    window = MainWindow(settings, model_dir=args.model)
    window.t0 = t_start
    if args.size:
        try:
            w, h = (int(v) for v in args.size.lower().split("x"))
            window.resize(w, h)
        except ValueError:
            pass
    window.show()
    app.processEvents()
    window.shown_s = time.perf_counter() - t_start
    timing = os.environ.get("OCTGUARD_TIMING")
    if timing:
        print(f"window shown after {window.shown_s:.2f} s", file=sys.stderr, flush=True)
    window.start()             # model loads in the background from here
    apply_args(window, args)

    exit_code = {"code": 0}
    if args.screenshot:
        out = Path(args.screenshot)
        deadline = time.monotonic() + SCREENSHOT_TIMEOUT_S
        settled_since = {"t": None}

        def poll() -> None:
            now = time.monotonic()
            done = window.is_settled()
            # stay settled a moment so queued results and repaints land first
            if done and settled_since["t"] is None:
                settled_since["t"] = now
            elif not done:
                settled_since["t"] = None
            if (done and now - settled_since["t"] > 0.4) or now > deadline:
                if now > deadline:
                    print("screenshot: timed out waiting for the analysis", file=sys.stderr)
                    exit_code["code"] = 1
                out.parent.mkdir(parents=True, exist_ok=True)
                if not window.grab().save(str(out)):
                    print(f"screenshot: could not write {out}", file=sys.stderr)
                    exit_code["code"] = 1
                window.close()
                app.quit()
                return
            QTimer.singleShot(100, poll)

        QTimer.singleShot(200, poll)

    if timing:
        def report_result() -> None:
            if window.first_result_s is not None:
                print(f"first result after {window.first_result_s:.2f} s", file=sys.stderr,
                      flush=True)
            else:
                QTimer.singleShot(50, report_result)
        QTimer.singleShot(50, report_result)

    rc = app.exec()
    return exit_code["code"] or int(rc)


if __name__ == "__main__":
    sys.exit(run())
