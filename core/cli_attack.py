"""``octguard attack``: attack scans and write each adversarial image as a
file, then reopen that file the way ``octguard predict`` does and report its
verdict, so what this command prints is what any later reader of the file gets.

    octguard attack SCAN --out ADV.png            # native resolution, 8-bit grid
    octguard attack SCAN --out ADV.dcm            # DICOM (a copy of a DICOM source's header)
    octguard attack SCAN --out ADV.tif            # float32 model input, for research
    octguard attack A.jpeg B.dcm --out-dir DIR --json   # one file and one JSON line per input
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .attacks.spec import DEFAULTS, METHODS, MODEL, NATIVE
from .cli_support import EXIT_FAILED_INPUT, EXIT_OK, EXIT_USAGE, err, load_model

FORMAT_SUFFIX = {"png": ".png", "dcm": ".dcm", "tif": ".tif", "npy": ".npy"}


def add_attack_args(at: argparse.ArgumentParser) -> None:
    at.add_argument("paths", nargs="+", metavar="PATH", help="scan files to attack")
    out = at.add_mutually_exclusive_group(required=True)
    out.add_argument("--out", help="output file for one input: .png or .dcm (native resolution, 8-bit "
                                   "grid), .tif/.tiff or .npy (float32)")
    out.add_argument("--out-dir", help="folder for one output file per input (see --format)")
    at.add_argument("--format", choices=sorted(FORMAT_SUFFIX),
                    help="with --out-dir: output format (default: dcm for DICOM inputs, png otherwise)")
    at.add_argument("--method", choices=METHODS, default=DEFAULTS.method,
                    help=f"attack: FGSM, PGD, Carlini-Wagner, or PGD against the gate too (default {DEFAULTS.method})")
    at.add_argument("--eps", type=float, default=DEFAULTS.eps,
                    help=f"L-inf budget in [0, 1] pixel units (default {DEFAULTS.eps}); an 8-bit file "
                         "attack moves pixels by at most ceil(eps*255) grey levels")
    at.add_argument("--steps", type=int, default=None,
                    help=f"PGD/adaptive steps (default {DEFAULTS.steps}) or C&W Adam steps "
                         f"(default {DEFAULTS.cw_steps})")
    at.add_argument("--c", type=float, default=DEFAULTS.c, help=f"C&W constant (default {DEFAULTS.c:g})")
    at.add_argument("--resolution", choices=(NATIVE, MODEL), default=None,
                    help="perturb the file's full-resolution frame (default for .png/.dcm) or the "
                         "model's input (default for .tif/.npy)")
    at.add_argument("--quantize", action="store_true",
                    help="with .tif/.npy: keep the result on the 8-bit grid too")
    at.add_argument("--bits", type=int, choices=(8, 16), default=None,
                    help="bit depth of a PNG or new DICOM (default: 16 if the source has more than 8 bits)")
    at.add_argument("--frame", type=int, default=0, help="frame of a multi-frame scan (default 0)")
    at.add_argument("--label", help="true class (default: the clean prediction)")
    at.add_argument("--seed", type=int, default=DEFAULTS.seed, help="seed of PGD's random start")
    at.add_argument("--model", help="model directory (default: models/default)")
    at.add_argument("--json", action="store_true", help="one JSON object per input per line")


def _spec(args, fmt: str):
    from .attacks.spec import AttackSpec
    from .writers import FILE_FORMATS
    resolution = args.resolution or (NATIVE if fmt in FILE_FORMATS else MODEL)
    steps = {} if args.steps is None else ({"cw_steps": args.steps} if args.method == "cw"
                                           else {"steps": args.steps})
    return AttackSpec(method=args.method, eps=args.eps, c=args.c, resolution=resolution,
                      eight_bit=fmt in FILE_FORMATS or args.quantize, seed=args.seed, **steps)


def _out_path(args, path: Path, scan, used: set) -> Path:
    if args.out:
        return Path(args.out)
    fmt = args.format or ("dcm" if scan.metadata.get("Format") == "DICOM" else "png")
    stem = f"{path.stem}_adv-{args.method}"
    out = Path(args.out_dir) / f"{stem}{FORMAT_SUFFIX[fmt]}"
    i = 1
    while out in used:                      # two inputs with one name, from two folders
        i += 1
        out = Path(args.out_dir) / f"{stem}-{i}{FORMAT_SUFFIX[fmt]}"
    used.add(out)
    return out


def _reopen(lm, out: Path, fmt: str, frame: int):
    """The verdict a later reader of the written file gets (predict's path)."""
    import numpy as np

    from .analysis import Analyzer
    from .io import load_scan
    from .scan import Scan
    scan = Scan(np.load(out, allow_pickle=False)) if fmt == "npy" else load_scan(out)
    return Analyzer(lm).analyze(scan).frames[min(frame, scan.n_frames - 1)], scan


def attack_one(lm, path: Path, args, used: set) -> dict:
    from .attacks.frame import attack_frame
    from .attacks.levels import GREY_LEVELS
    from .io import load_scan
    from .writers import DICOM, output_format, plan_output, write_adversarial

    record = {"file": str(path), "ok": False, "error": None}
    scan = load_scan(path)
    frame = min(max(args.frame, 0), scan.n_frames - 1)
    out = _out_path(args, path, scan, used)
    spec = _spec(args, output_format(out))
    native = spec.resolution == NATIVE
    plan = plan_output(out, scan if native else None, args.bits)
    outcome = attack_frame(lm, scan.frames[frame], spec, reference=args.label,
                           quant=plan.quant or GREY_LEVELS)
    copies_source = native and plan.format == DICOM and scan.metadata.get("Format") == "DICOM"
    write_adversarial(plan, outcome.adversarial, scan=scan if native else None, frame=frame,
                      description=f"{spec.describe()} on {lm.name}, from {path.name} frame {frame}")
    written, reopened = _reopen(lm, out, plan.format, frame if copies_source else 0)
    verified = written.label == outcome.adv.label and written.accepted == outcome.adv.accepted
    record.update({
        "ok": True, "frame": frame, "out": str(out), "format": plan.format,
        "method": spec.method, "eps": spec.eps, "resolution": spec.resolution,
        "eight_bit": spec.eight_bit, "quantized_8bit": spec.eight_bit,
        "grid_levels": plan.quant, "shape": list(outcome.original.shape),
        "linf": outcome.linf, "linf_grey_levels": outcome.linf_grey, "l2": outcome.l2,
        "seconds": outcome.seconds, "repair": outcome.repair,
        "reference": outcome.reference, "reference_source": outcome.reference_source,
        "clean": outcome.clean.as_dict(),
        "adversarial": written.as_dict(),            # as reopened from the written file
        "adversarial_in_memory": outcome.adv.as_dict(),
        "verified": verified, "demonstration_marked": bool(reopened.demonstration) or plan.format == "npy",
        "attack": outcome.attack_repr, "spec": spec.as_dict(),
        "model": {"name": lm.name, "sha256": lm.weights_sha256},
    })
    return record


def _print_text(rec: dict, many: bool) -> None:
    from .analysis import FrameResult
    from .verdict import frame_line
    head = f"{rec['file']}: " if many else ""
    h, w = rec["shape"]
    print(head + frame_line(FrameResult.from_dict(rec["clean"]), f"{'clean':11s}"))
    print(head + frame_line(FrameResult.from_dict(rec["adversarial"]), "adversarial")
          + f"  (reopened from {rec['out']})")
    kind = {"png": "PNG", "dicom": "DICOM", "tiff": "float TIFF", "npy": "float .npy"}[rec["format"]]
    grid = "8-bit grid" if rec["eight_bit"] else "float, full precision"
    print(head + f"L-inf {rec['linf']:.4f} ({rec['linf_grey_levels']:.2f} grey levels) at "
          f"{rec['resolution']} resolution {w}x{h}, {grid}; wrote {kind} {rec['out']}")
    if not rec["verified"]:
        print(head + "warning: the reopened file's verdict differs from the attack's "
                     f"({rec['adversarial_in_memory']['label']}) ", file=sys.stderr)


def cmd_attack(args) -> int:
    from .errors import Cancelled, OCTGuardError
    from .writers import output_format

    if args.out and len(args.paths) > 1:
        err("--out names one file; give --out-dir DIR to attack several scans")
        return EXIT_USAGE
    if args.out:
        output_format(args.out)     # refuse a bad suffix before loading anything
    lm = load_model(args.model, require_gate=args.method == "adaptive")
    if lm is None:
        return EXIT_USAGE
    if args.label and args.label not in lm.classes:
        err(f"unknown --label {args.label!r}; this model's labels are {', '.join(lm.classes)}")
        return EXIT_USAGE
    failed, used = False, set()
    for p in args.paths:
        try:
            rec = attack_one(lm, Path(p), args, used)
        except (Cancelled, KeyboardInterrupt):
            raise
        except (OCTGuardError, OSError, ValueError) as exc:
            failed = True
            rec = {"file": str(p), "ok": False, "error": str(exc)}
            err(str(exc) if str(p) in str(exc) or Path(p).name in str(exc) else f"{p}: {exc}")
        if args.json:
            print(json.dumps(rec), flush=True)
        elif rec["ok"]:
            _print_text(rec, len(args.paths) > 1)
    return EXIT_FAILED_INPUT if failed else EXIT_OK
