"""``octguard``'s engine commands. The console script itself is app.entry:
it adds the ``view`` and ``smoke`` subcommands to this parser (one argparse
tree, so ``octguard --help`` lists everything) and starts the viewer when no
command is given; core never imports the GUI.

Heavy imports (torch, Qt) happen inside each command, so ``octguard --help``
and the viewer's first window come up fast.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from pathlib import Path

from .cli_support import EXIT_FAILED_INPUT, EXIT_OK, EXIT_USAGE, err, load_model


# -- predict ---------------------------------------------------------------
def cmd_predict(args) -> int:
    lm = load_model(args.model)
    if lm is None:
        return EXIT_USAGE
    from .analysis import Analyzer
    from .errors import OCTGuardError
    from .io import load_scan
    from .summary import summarize
    from .verdict import frame_line

    analyzer = Analyzer(lm)
    failed = False
    written: set[Path] = set()
    for p in args.paths:
        record = {"file": str(p), "ok": False, "error": None,
                  "model": {"name": lm.name, "sha256": lm.weights_sha256}, "frames": []}
        try:
            scan = load_scan(p)
            result = analyzer.analyze(scan)
            record["frames"] = [f.as_dict() for f in result.frames]
            if scan.n_frames > 1:  # a volume: how many frames went where
                summary = summarize(result, lm.classes)
                record["summary"] = summary.as_dict()
            if args.evidence:
                record["evidence"] = [str(e) for e in _write_evidence(
                    lm, scan, Path(p), Path(args.evidence), args.evidence_method, written)]
            record["ok"] = True
        except (OCTGuardError, OSError) as exc:
            failed = True
            record["error"] = str(exc)
            err(f"{p}: {exc}" if str(p) not in str(exc) and Path(p).name not in str(exc) else str(exc))
        if args.json:
            print(json.dumps(record), flush=True)
        elif record["ok"]:
            for f in result.frames:
                print(frame_line(f, f"{p} frame {f.frame}" if len(result.frames) > 1 else str(p)))
            if "summary" in record:
                print(f"{p}: {summary.text()}")
            for e in record.get("evidence", []):
                print(f"{p}: evidence map {e}")
    return EXIT_FAILED_INPUT if failed else EXIT_OK


def _write_evidence(lm, scan, path: Path, out_dir: Path, method: str, written: set) -> list[Path]:
    """One overlay PNG per frame: NAME-evidence.png, or NAME-fNNN-evidence.png
    for a volume; a name already written in this run gets a number, so two
    scans with one name in different folders both keep their map."""
    from .evidence import explain_frame
    from .evidence_image import write_png

    out_dir.mkdir(parents=True, exist_ok=True)
    out = []
    for i, frame in enumerate(scan.frames):
        stem = path.stem if scan.n_frames == 1 else f"{path.stem}-f{i:03d}"
        target, k = out_dir / f"{stem}-evidence.png", 2
        while target in written:
            target, k = out_dir / f"{stem}-{k}-evidence.png", k + 1
        ev = explain_frame(lm, frame, method=method)
        written.add(write_png(target, frame, ev,
                              description=f"{path.name} frame {i}: {ev.caption()}"))
        out.append(target)
    return out


# -- attack: core/cli_attack.py --------------------------------------------
def cmd_attack(args) -> int:
    from .cli_attack import cmd_attack as run

    return run(args)


# -- samples / split -------------------------------------------------------
def cmd_samples(args) -> int:
    if args.phantoms:
        from .phantoms import write_samples
        paths = write_samples(args.dir, n=8 if args.n is None else args.n,
                              seed=0 if args.seed is None else args.seed)
    elif (args.n, args.seed) != (None, None):
        raise ValueError("--n and --seed apply to --phantoms only")
    else:
        from .samples import write_samples
        paths = write_samples(args.dir)
    for p in paths:
        print(p)
    return EXIT_OK


def cmd_split(args) -> int:
    from .data import index_dataset, make_holdout_split, make_split, write_split

    items = index_dataset(args.data)
    if args.test_from:
        split = make_holdout_split(items, args.test_from, seed=args.seed, test_per_class=args.test_per_class,
                                   calib_per_class=args.calib_per_class, source=str(args.data))
    else:
        split = make_split(items, seed=args.seed, calib_fraction=args.calib_fraction, source=str(args.data))
    write_split(split, args.out)
    print(json.dumps(split["counts"], indent=1))
    return EXIT_OK


# -- train / evaluate --------------------------------------------------------
def _add_config_flags(p: argparse.ArgumentParser) -> None:
    from .training.config import TrainConfig

    for f in fields(TrainConfig):
        if f.name in ("method", "data", "split", "out"):
            continue
        flag = "--" + f.name.replace("_", "-")
        default, text = f.default, f.metadata.get("help", "")
        if isinstance(default, bool):
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=text)
        else:
            p.add_argument(flag, type=type(default), default=default,
                           help=f"{text} (default: {default!r})" if default != "" else text)


def cmd_train(args) -> int:
    from .training import TrainConfig, train

    cfg = TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
    try:
        train(cfg)
    except KeyboardInterrupt:
        return 130
    return EXIT_OK


def cmd_fit_gate(args) -> int:
    from .training.gate_fit import PAPER, refit_model_gate

    gate = refit_model_gate(args.model, args.data, args.split, out=args.out, half=args.half,
                            n_components=args.components,
                            covariance=args.covariance, reg_covar=args.reg_covar,
                            rejection_rate=args.rejection_rate, gate_parts=args.parts)
    kind = (f"the paper's GMM, {gate.covariance_type}, {gate.n_components} component(s)"
            if args.parts.strip() == PAPER else gate.name)
    print(f"refitted the gate of {args.out or args.model}: {kind}, "
          f"thresholds {', '.join(f'{t:.2f}' for t in gate.offset_)}")
    return EXIT_OK


def cmd_model_card(args) -> int:
    from .model_card import write_card

    path = write_card(args.model, args.report, args.reproduce, args.audit_report,
                      Path(args.notes).read_text() if args.notes else "")
    print(f"wrote {path}")
    return EXIT_OK


def cmd_evaluate(args) -> int:
    from .evaluation.run import main as evaluate_main

    return evaluate_main(args)


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = argparse.ArgumentParser(prog="octguard", description=(
        "OCT B-scan classifier with an adversarial-input gate. "
        "Run `octguard [PATH...]` or `octguard view [PATH...]` to start the viewer. "
        "Demonstration software: not for clinical use."))
    p.add_argument("--version", action="version", version=f"OCTGuard {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    model_help = "model directory (default: the shipped models/default)"

    pr = sub.add_parser("predict", help="classify scans and report the gate's verdict")
    pr.add_argument("paths", nargs="+", metavar="PATH", help="scan files (JPEG, PNG, BMP, TIFF, DICOM)")
    pr.add_argument("--model", metavar="DIR", help=model_help)
    pr.add_argument("--json", action="store_true", help="one JSON object per file per line")
    from .evidence import DEFAULT_METHOD, METHODS
    pr.add_argument("--evidence", metavar="DIR",
                    help="also write each frame's class-evidence map over the scan, as PNG, into DIR")
    pr.add_argument("--evidence-method", choices=tuple(METHODS), default=DEFAULT_METHOD,
                    help=f"how the map is computed (default: {DEFAULT_METHOD}; docs/evidence.md)")
    pr.set_defaults(func=cmd_predict)

    at = sub.add_parser("attack", help="attack scans, write each adversarial file and report its verdict")
    from .cli_attack import add_attack_args
    add_attack_args(at)
    at.set_defaults(func=cmd_attack)

    sa = sub.add_parser("samples", help="write the shipped real sample scans (or synthetic phantoms)",
                        description="Write the real sample scans shipped with OCTGuard (Kermany "
                                    "B-scans, CC BY 4.0, from the test part of the default model's "
                                    "split) and their attribution, samples.json. With --phantoms, "
                                    "write synthetic phantoms instead.")
    sa.add_argument("dir", help="folder to write into (created if needed)")
    sa.add_argument("--phantoms", action="store_true",
                    help="write drawn synthetic phantoms (PNG and a multi-frame DICOM) instead")
    sa.add_argument("--n", type=int, default=None, help="with --phantoms: phantoms per class (default 8)")
    sa.add_argument("--seed", type=int, default=None, help="with --phantoms: drawing seed (default 0)")
    sa.set_defaults(func=cmd_samples)

    sp = sub.add_parser("split", help="write a seeded patient-wise split file")
    sp.add_argument("--data", required=True, help="dataset folder or MANIFEST.csv")
    sp.add_argument("--out", required=True, metavar="SPLIT.json", help="split file to write")
    sp.add_argument("--seed", type=int, default=0, help="seed of the patient draw (default 0)")
    sp.add_argument("--calib-fraction", type=float, default=0.15,
                    help="share of the labeled patients held out for calibration (without --test-from)")
    sp.add_argument("--test-from", default="", metavar="FOLDER",
                    help="draw test and calib patient-wise from this top-level folder only (e.g. pool); "
                         "every other scan goes to labeled/unlabeled")
    sp.add_argument("--test-per-class", type=int, default=60, help="test scans per class (with --test-from)")
    sp.add_argument("--calib-per-class", type=int, default=50, help="calib scans per class (with --test-from)")
    sp.set_defaults(func=cmd_split)

    tr = sub.add_parser("train", help="train NT, AT, GCE or SSAT and fit the gate",
                        description="Train a classifier with one of the paper's methods, fit its "
                                    "detection gate on the split's labeled part, calibrate the "
                                    "threshold on the calib part and write a model directory.")
    from .training.config import METHODS, TrainConfig
    help_of = {f.name: f.metadata.get("help", "") for f in fields(TrainConfig)}
    tr.add_argument("--method", choices=METHODS, required=True, help=help_of["method"])
    tr.add_argument("--data", required=True, help=help_of["data"])
    tr.add_argument("--split", required=True, help=help_of["split"])
    tr.add_argument("--out", required=True, metavar="MODEL_DIR", help=help_of["out"])
    _add_config_flags(tr)
    tr.set_defaults(func=cmd_train)

    fg = sub.add_parser("fit-gate", help="refit the detection gate of a model directory")
    fg.add_argument("model", help="model directory whose gate is refitted")
    fg.add_argument("--data", required=True, help="dataset folder or MANIFEST.csv")
    fg.add_argument("--split", required=True, help="split file: fitted on its labeled part, calibrated on calib")
    gd = TrainConfig   # the gate's defaults, as `train` fits it
    fg.add_argument("--parts", default=gd.gate_parts,
                    help=f"the multi-part gate's parts (default: the shipped {gd.gate_parts}; "
                         "docs/training.md says why), e.g. layer2:tied,pen:diag,squeeze, or 'paper' "
                         "for the paper's per-class GMM")
    fg.add_argument("--covariance", choices=["full", "diag", "lw"], default=gd.gate_covariance,
                    help="the paper's GMM: covariance type (with --parts paper)")
    fg.add_argument("--components", type=int, default=gd.gate_components,
                    help="the paper's GMM: components per class")
    fg.add_argument("--reg-covar", type=float, default=gd.gate_reg_covar,
                    help="the paper's GMM: added to covariance diagonals")
    fg.add_argument("--rejection-rate", type=float, default=gd.gate_rejection_rate,
                    help="share of held-out clean calib scans the threshold rejects")
    fg.add_argument("--out", help="write a copy of the model here instead of changing it in place")
    fg.add_argument("--half", action="store_true", help="with --out: store the copy's weights in fp16")
    fg.set_defaults(func=cmd_fit_gate)

    mc = sub.add_parser("model-card", help="write MODEL_CARD.md from evaluation reports")
    mc.add_argument("model", metavar="MODEL_DIR", help="model directory to write MODEL_CARD.md into")
    mc.add_argument("--report", required=True, help="report.json of the split's test part")
    mc.add_argument("--audit-report", help="report.json of the final audit run")
    mc.add_argument("--reproduce", nargs="+", required=True, help="command lines that reproduce the figures")
    mc.add_argument("--notes", help="Markdown file: how the model treats phantoms and other inputs")
    mc.set_defaults(func=cmd_model_card)

    ev = sub.add_parser("evaluate", help="the paper's figures and tables for one or more models")
    from .evaluation.options import add_evaluate_args
    add_evaluate_args(ev)
    ev.set_defaults(func=cmd_evaluate)

    return p


def subcommands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:
    """The subcommand action of ``parser`` (app.entry adds ``view`` and ``smoke`` to it)."""
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def main(argv: list[str] | None = None, parser: argparse.ArgumentParser | None = None) -> int:
    parser = parser or build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    return run(args)


def run(args: argparse.Namespace) -> int:
    """Run a parsed command; users get one line, never a traceback."""
    from .errors import OCTGuardError

    try:
        return args.func(args)
    except BrokenPipeError:  # e.g. `octguard predict ... | head`
        sys.stderr.close()
        return EXIT_OK
    except (OCTGuardError, ValueError, OSError) as exc:
        # users get one line, never a traceback (bad flags, files, data folders)
        err(str(exc))
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
