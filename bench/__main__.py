"""``python -m bench``: run the benchmark suite, write
bench/results/<machine>-<date>.json and .md, and print the table.

    python -m bench                    # everything (minutes)
    python -m bench --quick            # tiny smoke run (seconds)
    python -m bench --only attacks --only folder
    python -m bench --profile          # also profile the case with the worst ratio
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .suite import CASES, RESULTS, run_suite


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny settings: a smoke run, not figures")
    ap.add_argument("--only", action="append", choices=list(CASES), metavar="NAME",
                    help=f"run only this case (repeatable): {', '.join(CASES)}")
    ap.add_argument("--skip", action="append", choices=list(CASES), metavar="NAME",
                    help="leave this case out (repeatable)")
    ap.add_argument("--device", help="cpu or cuda (default: cuda when present)")
    ap.add_argument("--repeat", type=int, help="timed runs per figure")
    ap.add_argument("--out", type=Path, default=RESULTS, help="results folder")
    ap.add_argument("--name", help="machine name for the file name")
    ap.add_argument("--note", action="append", default=[], metavar="TEXT",
                    help="a line for the results' notes, e.g. what else was running (repeatable)")
    ap.add_argument("--profile", action="store_true",
                    help="rerun the case with the worst ratio under cProfile; the top "
                         "functions go into the results and <file>-profile.txt")
    args = ap.parse_args(argv)
    result, json_path, md_path = run_suite(args.only, args.skip, args.quick, args.device,
                                           args.out, args.name, args.repeat, args.profile,
                                           notes=args.note)
    print(md_path.read_text())
    print(f"wrote {json_path} and {md_path}")
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
