"""Memory stays bounded across many scan openings.

    python -m bench.memory_soak --model models/default            # the viewer's path
    python -m bench.memory_soak --tiny-model 128 --mode core      # no Qt, random model

Opens ``--n`` scans (default 1,000) one after another, cycling through a
pool of distinct phantom files (full-size 496x512 PNGs of every class plus a
multi-frame DICOM volume), and records the process's resident memory
(VmRSS from /proc/self/status) every ``--every`` openings.

``--mode gui`` (default) drives a real, offscreen MainWindow: open_file, wait
until the scan is shown and analysed, next. ``--mode core`` calls
``core.io.load_scan`` and ``Analyzer.analyze`` directly. ``--tiny-model SIZE``
builds a random-weights model with a gate at SIZE px in a temp folder instead
of using ``--model``. torch uses one thread (--threads) to stay polite on a
shared machine. Not a test and never timed by one; results go to
bench/results/memory-soak-<date>[-core].json.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def rss_mb() -> float:
    """Resident set size now, from /proc (Linux)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("VmRSS not in /proc/self/status")


def peak_mb() -> float | None:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


def build_tiny_model(directory: Path, size: int) -> Path:
    """Random ResNet-18 weights and a gate fitted on random features: the
    same tensors and code paths as a trained model, in seconds."""
    import numpy as np
    import torch

    from core import CLASSES
    from core.classifier import build_classifier
    from core.gate import GaussianGate
    from core.model_store import save_model_dir

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    gate = GaussianGate(covariance_type="lw").fit(
        rng.normal(size=(8 * len(CLASSES), 512)), np.repeat(np.arange(len(CLASSES)), 8))
    gate.offset_ = np.zeros(len(CLASSES))
    save_model_dir(directory, build_classifier().eval(),
                   {"name": f"soak-tiny-{size}", "input_size": size,
                    "provenance": "random weights for the memory soak"}, gate=gate)
    return directory


def scan_pool(directory: Path, per_class: int, volume_frames: int) -> list[Path]:
    from core.phantoms import write_samples
    return write_samples(directory, per_class, volume_frames=volume_frames)


class CoreOpener:
    def __init__(self, model_dir: Path):
        from core.analysis import Analyzer
        from core.model_store import load_model_dir
        self.analyzer = Analyzer(load_model_dir(model_dir, device="cpu"))

    def open(self, path: Path) -> int:
        from core.io import load_scan
        return len(self.analyzer.analyze(load_scan(path)).frames)

    def close(self) -> None:
        pass


class GuiOpener:
    """A real MainWindow, offscreen; each open waits until shown and analysed."""

    def __init__(self, model_dir: Path, timeout_s: float = 120.0):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from PySide6.QtWidgets import QApplication

        from app.main_window import MainWindow
        from app.settings import Settings

        self.app = QApplication.instance() or QApplication([])
        self.timeout_s = timeout_s
        self.w = MainWindow(Settings.load(), model_dir=model_dir)
        self.w.show()
        self.w.start()
        self._wait(lambda: self.w.is_settled())
        if self.w.model_state != "ready":
            raise SystemExit(f"model not loaded: {self.w.model_label.text()}")

    def _wait(self, done) -> None:
        t = time.perf_counter()
        while not done():
            self.app.processEvents()
            time.sleep(0.001)
            if time.perf_counter() - t > self.timeout_s:
                raise TimeoutError("the viewer did not settle")

    def open(self, path: Path) -> int:
        w = self.w
        w.open_file(path)
        self._wait(lambda: w.is_settled() and w.scan is not None
                   and Path(w.scan.source) == Path(path))
        if w.result is None:
            raise RuntimeError(f"{path.name}: no result ({w.last_error})")
        return len(w.result.frames)

    def close(self) -> None:
        self.w.close()
        self.app.processEvents()


def soak(opener, files: list[Path], n: int, every: int, log=print) -> dict:
    # None's reference count too: a C extension that drops references to None
    # (PySide6 6.12.0 does, on every void Qt call) aborts the process once it hits 0
    samples = [{"openings": 0, "rss_mb": round(rss_mb(), 1), "none_refs": sys.getrefcount(None)}]
    frames = 0
    t0 = time.perf_counter()
    for i in range(1, n + 1):
        frames += opener.open(files[(i - 1) % len(files)])
        if i % every == 0 or i == n:
            samples.append({"openings": i, "rss_mb": round(rss_mb(), 1),
                            "none_refs": sys.getrefcount(None),
                            "seconds": round(time.perf_counter() - t0, 1)})
            log(f"{i:5d} openings  RSS {samples[-1]['rss_mb']:8.1f} MB  "
                f"refs to None {samples[-1]['none_refs']}")
    return {"samples": samples, "frames_analysed": frames,
            "seconds": round(time.perf_counter() - t0, 1)}


def summarise(samples: list[dict], warmup: int) -> dict:
    """Growth after warm-up, and the slope of the second half (MB per 1,000
    openings): a leak shows as a slope that does not flatten."""
    import numpy as np
    after = [s for s in samples if s["openings"] >= warmup]
    half = after[len(after) // 2:]
    slope = None
    if len(half) >= 2:
        x = np.array([s["openings"] for s in half], float)
        y = np.array([s["rss_mb"] for s in half], float)
        slope = round(float(np.polyfit(x, y, 1)[0]) * 1000, 2)
    return {"start_mb": samples[0]["rss_mb"], "end_mb": samples[-1]["rss_mb"],
            "max_sampled_mb": max(s["rss_mb"] for s in samples),
            "after_warmup_mb": after[0]["rss_mb"] if after else None,
            "growth_after_warmup_mb": round(samples[-1]["rss_mb"] - after[0]["rss_mb"], 1)
            if after else None,
            "second_half_slope_mb_per_1000": slope}


def _versions(mode: str) -> dict:
    import numpy
    import torch
    v = {"python": sys.version.split()[0], "torch": torch.__version__, "numpy": numpy.__version__}
    if mode == "gui":
        import PySide6
        import pyqtgraph
        v.update(PySide6=PySide6.__version__, pyqtgraph=pyqtgraph.__version__)
    return v


def main(argv: list[str] | None = None) -> Path:
    ap = argparse.ArgumentParser(prog="python -m bench.memory_soak", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", metavar="DIR", help="model directory")
    src.add_argument("--tiny-model", type=int, metavar="SIZE",
                     help="build a random-weights model at SIZE px in a temp folder")
    ap.add_argument("--mode", choices=("gui", "core"), default="gui")
    ap.add_argument("--n", type=int, default=1000, help="openings (default 1000)")
    ap.add_argument("--every", type=int, default=50, help="record RSS every N openings")
    ap.add_argument("--per-class", type=int, default=10,
                    help="distinct PNGs per class in the pool (default 10)")
    ap.add_argument("--volume-frames", type=int, default=16,
                    help="frames of the DICOM volume in the pool (0: none)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    ap.add_argument("--out", metavar="FILE.json")
    args = ap.parse_args(argv)

    import torch
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="octguard-soak-") as tmp:
        tmp = Path(tmp)
        # keep the soak's settings, recent files and cache away from the user's
        os.environ["OCTGUARD_CONFIG_DIR"] = str(tmp / "config")
        os.environ["OCTGUARD_CACHE_DIR"] = str(tmp / "cache")
        model_dir = (build_tiny_model(tmp / "model", args.tiny_model)
                     if args.tiny_model else Path(args.model))
        files = scan_pool(tmp / "scans", args.per_class, args.volume_frames)
        rss_before_model = rss_mb()
        opener = GuiOpener(model_dir) if args.mode == "gui" else CoreOpener(model_dir)
        try:
            run = soak(opener, files, args.n, args.every)
        finally:
            opener.close()
    result = {
        "benchmark": "memory-soak",
        "mode": args.mode,
        "model": str(model_dir) if args.model else f"random weights at {args.tiny_model} px",
        "openings": args.n,
        "distinct_files": len(files),
        "pool": f"{args.per_class} PNG(s) per class at 496x512 + "
                f"{args.volume_frames}-frame DICOM volume",
        "torch_threads": args.threads,
        "versions": _versions(args.mode),
        "rss_before_model_mb": round(rss_before_model, 1),
        **summarise(run["samples"], warmup=min(100, args.n)),
        "peak_rss_mb": peak_mb(),
        "frames_analysed": run["frames_analysed"],
        "seconds": run["seconds"],
        "samples": run["samples"],
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": "python -m bench.memory_soak " + " ".join(sys.argv[1:] if argv is None
                                                             else argv),
    }
    day = datetime.now().strftime("%Y-%m-%d")
    out = Path(args.out) if args.out else (
        RESULTS / f"memory-soak-{day}{'' if args.mode == 'gui' else '-core'}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"RSS {result['start_mb']} -> {result['end_mb']} MB over {args.n} openings "
          f"(+{result['growth_after_warmup_mb']} MB after warm-up; second-half slope "
          f"{result['second_half_slope_mb_per_1000']} MB/1000); wrote {out}")
    return out


if __name__ == "__main__":
    main()
