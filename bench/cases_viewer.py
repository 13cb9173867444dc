"""The viewer as a user starts it: a fresh process running ``octguard SCAN``
(app.entry), offscreen. Times are taken from outside, from process start to
the moment the viewer prints its OCTGUARD_TIMING lines, so interpreter
start-up and imports count; the viewer's own clock (which starts inside
``run``) is recorded too. The first result's reference is a fresh
``python -c "import torch"`` timed the same way, in the same run, runs
interleaved; the target is first result <= that + 1.0 s (issue 13). Peak
memory is the child's maximum resident set size (wait4's ru_maxrss), with
one scan open and with a 1,000-frame volume open and analysed.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

from .context import Context, row
from .fixtures import write_dicom, write_jpegs
from .timing import summarize

ROOT = Path(__file__).resolve().parent.parent
FIRST_RESULT_MARGIN_S = 1.0     # first result <= import torch + this
_LINE = re.compile(r"(window shown|first result) after ([0-9.]+) s")


def launch(ctx: Context, scan: Path, timeout: float = 600.0) -> dict:
    """Run the viewer on ``scan`` until its analysis is done (--screenshot
    exits then); return outside/inside times and peak RSS in MiB."""
    env = dict(os.environ, OCTGUARD_TIMING="1", QT_QPA_PLATFORM="offscreen",
               XDG_CONFIG_HOME=str(ctx.tmp / "config"), PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "app.entry", str(scan), "--model", str(ctx.model_dir),
           "--screenshot", str(ctx.tmp / "shot.png"), "--size", "1400x880"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    seen: dict[str, tuple[float, float]] = {}
    tail: list[str] = []

    def read():
        for line in proc.stderr:
            m = _LINE.search(line)
            if m:
                seen[m.group(1)] = (time.perf_counter() - t0, float(m.group(2)))
            tail.append(line)
            del tail[:-20]
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    # wait4 reaps the child and reports its peak RSS (KiB on Linux); Popen's
    # own poll() would reap it first and lose the figure
    deadline, peak = time.monotonic() + timeout, None
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            peak = usage.ru_maxrss / 1024
            proc.returncode = os.waitstatus_to_exitcode(status)
            break
        if time.monotonic() > deadline:
            proc.kill()
        time.sleep(0.05)
    reader.join(5)
    if proc.returncode != 0 or len(seen) < 2:
        raise RuntimeError(f"viewer exited {proc.returncode}: {''.join(tail)[-800:]}")
    return {"window": seen["window shown"], "result": seen["first result"], "peak_mib": peak}


def import_torch_s() -> float:
    """Process start to exit of ``python -c "import torch"``, from outside."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch"], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def viewer(ctx: Context) -> list[dict]:
    h, w = ctx.scan_hw
    jpeg = write_jpegs(ctx.tmp / "viewer", 1, h, w)[0]
    n = 1 if ctx.quick else 5
    runs, torch_s = [], []
    for k in range(n + (0 if ctx.quick else 1)):   # the first pair warms the caches
        t, r = import_torch_s(), launch(ctx, jpeg)
        if ctx.quick or k:
            torch_s.append(t)
            runs.append(r)
    frames = 20 if ctx.quick else 1000
    vol = write_dicom(ctx.tmp / "viewer" / "volume.dcm", frames, h, w)
    big = launch(ctx, vol, timeout=1800)
    inside = {"window_inside_s": [r["window"][1] for r in runs],
              "result_inside_s": [r["result"][1] for r in runs]}
    return [
        row("viewer", "viewer: process start to first window", summarize([r["window"][0] for r in runs]),
            "s", extra=inside),
        row("viewer", f"viewer: process start to first result ({h}x{w} JPEG)",
            summarize([r["result"][0] for r in runs]), "s",
            ref_name='`python -c "import torch"`, process start to exit', ref=summarize(torch_s),
            margin=FIRST_RESULT_MARGIN_S),
        row("viewer", "viewer peak RSS with one scan open and analysed",
            summarize([r["peak_mib"] for r in runs]), "MiB"),
        row("viewer", f"viewer peak RSS with a {frames}-frame {h}x{w} volume open and analysed",
            summarize([big["peak_mib"]]), "MiB",
            extra={"volume_first_result_s": big["result"][0]}),
    ]
