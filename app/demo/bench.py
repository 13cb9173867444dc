"""Demo-mode timings in the real window: attack latency per attack and the
longest GUI event-loop stall while attacks run (a 10 ms QTimer probe).

    python -m app.demo.bench --model models/default SCAN [--threads N]

Prints one line per attack: the attack's own time, the time from starting
the run to the result on screen, and the longest gap between probe ticks.
"""
from __future__ import annotations

import argparse
import os
import sys
import time


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m app.demo.bench")
    ap.add_argument("scan")
    ap.add_argument("--model", required=True)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads for demo work (default: jobs.WORKER_THREADS)")
    ap.add_argument("--attacks", default="fgsm,pgd,cw,adaptive")
    args = ap.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from app.demo import jobs
    from app.demo.params import DemoParams
    from app.main_window import MainWindow
    from app.settings import Settings

    if args.threads:
        jobs.WORKER_THREADS = args.threads
    app = QApplication.instance() or QApplication(sys.argv[:1])
    w = MainWindow(Settings(), model_dir=args.model)
    w.resize(1400, 880)
    w.show()
    w.start()
    w.open_paths([args.scan])

    def wait(cond, timeout=300.0):
        # a real event loop (exec), not a processEvents() spin: the probe must
        # measure what a user's app.exec() would do
        loop, end = QEventLoop(), time.monotonic() + timeout

        def check():
            if cond() or time.monotonic() > end:
                loop.quit()
        poll = QTimer()
        poll.timeout.connect(check)
        poll.start(5)
        loop.exec()
        poll.stop()
        if not cond():
            raise TimeoutError
    wait(w.is_settled)

    clock = QElapsedTimer()
    gaps = {"last": 0, "max": 0}

    def tick():
        now = clock.elapsed()
        gaps["max"] = max(gaps["max"], now - gaps["last"])
        gaps["last"] = now
    probe = QTimer()
    probe.setInterval(10)
    probe.timeout.connect(tick)

    import torch
    print(f"torch threads (GUI process): {torch.get_num_threads()}, demo worker threads: "
          f"{jobs.WORKER_THREADS}, cores: {os.cpu_count()}, input {w.model.input_size} px")
    w.demo.set_enabled(True)
    for name in args.attacks.split(","):
        for r in range(args.repeat):
            w.demo.outcome = None
            w.demo.set_params(DemoParams(attack=name, eps=0.005 + 0.0001 * r, steps=10,
                                         c=1.0, cw_steps=100))
            w.demo._timer.stop()      # skip the debounce: time the run itself
            w.demo.run_now()
            t0 = time.perf_counter()
            clock.start()
            gaps.update(last=0, max=0)
            probe.start()
            wait(lambda: w.demo.outcome is not None and not w.demo.runner.running())
            wall = time.perf_counter() - t0
            probe.stop()
            o = w.demo.outcome
            print(f"{name:6s} run {r + 1}: attack {o.seconds:6.2f} s   to screen {wall:6.2f} s   "
                  f"longest event-loop stall {gaps['max']:4d} ms   ({o.category})", flush=True)
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
