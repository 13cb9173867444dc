"""Measure the built app: folder and archive size, start-up to the first
window, and the headless self-test's time. Writes one self-contained JSON.

    python packaging/measure_startup.py --app dist/OCTGuard --model DIR \\
        [--archive dist/octguard-*.tar.gz] [--runs 3] [--out bench/results/package-DATE.json]

Runs itself under ``xvfb-run`` when there is no display, so the Xvfb start is
not counted. Start-up is timed twice: from process launch (what a user
waits, including the bootloader and Python's start) to the "window shown"
line, and the app's own OCTGUARD_TIMING figure (from app.main.run()).
drop_caches is not available here, so before the first start the app's
own files are dropped from the page cache with posix_fadvise (--no-evict to
skip): that run and the first smoke run are "cold", the others warm.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def du_h(path: Path) -> str:
    return subprocess.run(["du", "-sh", str(path)], capture_output=True, text=True).stdout.split()[0]


def evict(path: Path) -> None:
    """Drop the app's files from the page cache (POSIX_FADV_DONTNEED works
    without root, unlike drop_caches), so the next start reads them from disk."""
    for p in path.rglob("*"):
        if p.is_file() and not p.is_symlink():
            fd = os.open(p, os.O_RDONLY)
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def time_window(exe: Path, model: str, scan: Path, home: Path) -> dict:
    env = {**os.environ, "OCTGUARD_TIMING": "1", "HOME": str(home), "XDG_CONFIG_HOME": str(home)}
    shot = home / "shot.png"
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(exe), "view", str(scan), "--model", model, "--screenshot", str(shot)],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
    out = {}
    for line in proc.stderr:
        now = time.perf_counter() - t0
        m = re.match(r"(window shown|first result) after ([\d.]+) s", line)
        if m:
            key = "window" if m.group(1) == "window shown" else "first_result"
            out[f"{key}_from_launch_s"] = round(now, 2)
            out[f"{key}_in_app_s"] = float(m.group(2))
    rc = proc.wait(timeout=300)
    out["exit_code"] = rc
    out["total_s"] = round(time.perf_counter() - t0, 2)
    return out


def time_smoke(exe: Path, model: str) -> dict:
    t0 = time.perf_counter()
    proc = subprocess.run([str(exe), "smoke", "--model", model], capture_output=True, text=True,
                          timeout=600)
    return {"exit_code": proc.returncode, "wall_s": round(time.perf_counter() - t0, 2),
            "last_line": (proc.stdout.strip().splitlines() or [proc.stderr.strip()])[-1]}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--app", default=str(ROOT / "dist" / "OCTGuard"))
    p.add_argument("--model", required=True, help="model directory to run with")
    p.add_argument("--archive", help="installer archive to report the size of")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--no-evict", action="store_true",
                   help="do not drop the app from the page cache before the first start")
    p.add_argument("--out", default=str(ROOT / "bench" / "results" /
                                        f"package-{dt.date.today().isoformat()}.json"))
    args = p.parse_args()
    if not os.environ.get("DISPLAY"):
        return subprocess.call(["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24",
                                sys.executable, __file__, *sys.argv[1:]])

    app = Path(args.app).resolve()
    exe = app / "OCTGuard"
    sys.path.insert(0, str(ROOT))
    from core.phantoms import write_samples

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        scan = write_samples(tmp / "samples", n=1, volume_frames=0)[1]   # a DME B-scan
        windows = []
        for i in range(args.runs):
            if i == 0 and not args.no_evict:
                evict(app)
            windows.append({"cache": "cold" if i == 0 and not args.no_evict else "warm",
                            **time_window(exe, args.model, scan, tmp)})
    if not args.no_evict:
        evict(app)
    smoke = [{"cache": "cold" if i == 0 and not args.no_evict else "warm",
              **time_smoke(exe, args.model)} for i in range(2)]

    import torch
    result = {
        "what": "OCTGuard one-folder PyInstaller bundle (build.spec): size and start-up",
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, "packaging/measure_startup.py", *sys.argv[1:]]),
        "git_commit": subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                                     text=True).stdout.strip(),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "load_avg_at_start": os.getloadavg(), "display": "xvfb 1600x1000x24",
                    "note": "shared 2-core machine with a training job running; timings are noisy"},
        "build": {"torch": torch.__version__, "python": platform.python_version()},
        "size": {"app_dir": str(app), "app_bytes": tree_bytes(app), "app_du_h": du_h(app)},
        "startup_to_window": {
            "runs": windows,
            "note": "cold: the app folder's files were dropped from the page cache with "
                    "posix_fadvise(DONTNEED) just before (system libraries and the model stay "
                    "cached; drop_caches is not available here), so the app is read from disk; "
                    "warm: the run right after. from_launch includes the bootloader, Python and "
                    "PyInstaller's run-time hooks; in_app is app.main's OCTGUARD_TIMING figure.",
        },
        "model": args.model,
        "smoke": {"command": f"{exe} smoke --model MODEL", "runs": smoke},
    }
    if args.archive:
        a = Path(args.archive)
        result["size"].update(archive=a.name, archive_bytes=a.stat().st_size, archive_du_h=du_h(a))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    ok = all(w["exit_code"] == 0 for w in windows) and all(s["exit_code"] == 0 for s in smoke)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
