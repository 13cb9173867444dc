"""Cost of PGD-10 per scan at the model's input size against the file-level
attack at native resolution (8-bit grid, through the differentiable crop
and resize), with the demo's thread count, on real scans.

    python -m bench.native_attack --model models/default SCAN... [--threads 1] [--repeat 3]

Prints, per setting, the median wall time and the median CPU time of the
process (the CPU time is what the attack costs; on a shared machine the wall
time also holds the time spent waiting for a core).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.native_attack")
    ap.add_argument("scans", nargs="+")
    ap.add_argument("--model", default="models/default")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (the demo uses cores - 1)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--eps", type=float, default=2 / 255)
    args = ap.parse_args(argv)

    import torch

    from core.attacks.frame import attack_frame
    from core.attacks.spec import MODEL, NATIVE, AttackSpec
    from core.io import load_scan
    from core.model_store import load_model_dir

    torch.set_num_threads(args.threads)
    lm = load_model_dir(args.model, device="cpu")
    frames = [load_scan(p).frames[0] for p in args.scans]
    settings = {"model input, float": AttackSpec("pgd", eps=args.eps, resolution=MODEL),
                "native resolution, 8-bit": AttackSpec("pgd", eps=args.eps, resolution=NATIVE, eight_bit=True)}
    attack_frame(lm, frames[0], settings["model input, float"])          # warm-up
    out = {"model": lm.name, "input_size": lm.input_size, "threads": args.threads,
           "shapes": sorted({f"{f.shape[1]}x{f.shape[0]}" for f in frames}), "n_scans": len(frames),
           "repeat": args.repeat, "settings": {}}
    for name, spec in settings.items():
        wall, cpu, fooled = [], [], 0
        for f in frames:
            for _ in range(args.repeat):
                t0, c0 = time.perf_counter(), time.process_time()
                o = attack_frame(lm, f, spec)
                wall.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
            fooled += o.fooled
        out["settings"][name] = {"wall_s_median": statistics.median(wall), "cpu_s_median": statistics.median(cpu),
                                 "fooled": fooled}
        print(f"{name:26s} PGD-10 per scan: wall {statistics.median(wall):.3f} s, CPU "
              f"{statistics.median(cpu):.3f} s (median of {len(wall)}), label flipped on {fooled}/{len(frames)}",
              flush=True)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
