"""Command-line options of ``octguard evaluate`` (kept light: no torch import)."""
from __future__ import annotations

import argparse


def add_evaluate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--models", nargs="+", required=True, help="model directories to compare")
    p.add_argument("--data", required=True, help="dataset folder or MANIFEST.csv")
    p.add_argument("--split", required=True, help="split file; its 'test' part is evaluated")
    p.add_argument("--out", required=True, help="report directory")
