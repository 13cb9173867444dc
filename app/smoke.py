"""``octguard smoke [--model DIR]``: a headless self-test for installed builds.

It analyses the shipped real sample scans (so the package data are checked
too) and a few synthetic phantoms (PNG and a two-frame DICOM, so both loaders
run) with the model and prints label, probabilities and the gate's verdict. It exits 0 only when every step worked, so IT staff and the
packaging test can tell a broken bundle (missing native library, missing
model) from a working one without a display. It never imports Qt.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

EXIT_OK, EXIT_FAILED = 0, 1


DESCRIPTION = ("Headless self-test: analyse the shipped sample scans and synthetic phantoms "
               "and print the results; exits 0 only when every step worked.")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="octguard smoke", description=DESCRIPTION)
    add_arguments(p)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", metavar="DIR", help="model directory (default: the shipped "
                   "models/default)")


def _gui_modules() -> set[str]:
    return {m for m in sys.modules
            if m.split(".")[0] in ("PySide6", "pyqtgraph") or m.startswith("app.main")}


def _fail(msg: str) -> int:
    print(f"octguard smoke: FAILED: {msg}", file=sys.stderr, flush=True)
    return EXIT_FAILED


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(sys.argv[1:] if argv is None else argv))


def run(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    # PyInstaller's own PySide6 run-time hook imports QtCore before we run;
    # what matters is that the engine pulls in nothing from the GUI.
    gui_before = _gui_modules()
    try:
        import torch  # noqa: F401  (a broken native bundle fails here, say so plainly)

        from core.errors import NoModelError, OCTGuardError
        from core.model_store import DEFAULT_MODEL_DIR, load_model_dir
    except Exception as exc:  # any import failure means a broken installation
        return _fail(f"cannot import the engine ({type(exc).__name__}: {exc})")

    model_dir = Path(args.model) if args.model else DEFAULT_MODEL_DIR
    try:
        lm = load_model_dir(model_dir, device="cpu")
    except NoModelError as exc:
        return _fail(f"{exc}; install a trained model there or pass --model DIR")
    except OCTGuardError as exc:
        return _fail(f"cannot load model: {exc}")
    print(f"model: {lm.name}  sha256 {lm.weights_sha256}  from {model_dir}")
    print(f"gate: {'yes' if lm.gate is not None else 'NONE (every input is accepted)'}")
    t_model = time.perf_counter()

    from core.analysis import Analyzer
    from core.io import load_scan
    from core.phantoms import write_samples
    from core.samples import sample_paths
    from core.verdict import frame_line

    analyzer = Analyzer(lm)
    n_frames = 0
    with tempfile.TemporaryDirectory(prefix="octguard-smoke-") as tmp:
        try:
            paths = sample_paths() + write_samples(tmp, n=1, height=248, width=256, volume_frames=2)
            for path in paths:
                for f in analyzer.analyze(load_scan(path)).frames:
                    n_frames += 1
                    probs = " ".join(f"{c}={p:.3f}" for c, p in f.probabilities.items())
                    print(f"{frame_line(f, f'{path.name} frame {f.frame}')}  [{probs}]")
        except (OCTGuardError, OSError) as exc:
            return _fail(f"analysis failed: {exc}")
    gui_new = _gui_modules() - gui_before
    if gui_new:  # the engine must stay GUI-free
        return _fail(f"the headless path imported the GUI: {sorted(gui_new)[:5]}")
    t_end = time.perf_counter()
    print(f"smoke OK: {n_frames} frames from {len(paths)} files; model loaded in "
          f"{t_model - t0:.2f} s, total {t_end - t0:.2f} s", flush=True)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
