"""Command-line options of ``octguard evaluate``, generated from the fields
of core.evaluation.config (kept light: no torch import)."""
from __future__ import annotations

import argparse

from .config import (ATTACK_NAMES, DEFAULT_CW_C, DEFAULT_EPS, DEFAULT_TABLE_EPS, attack_list, dest_of,
                     flag_fields, flag_of, float_list, level_list)

__all__ = ["ATTACK_NAMES", "DEFAULT_CW_C", "DEFAULT_EPS", "DEFAULT_TABLE_EPS", "add_evaluate_args",
           "attack_list", "float_list", "level_list"]


def add_evaluate_args(p: argparse.ArgumentParser) -> None:
    for f in flag_fields():
        meta = f.metadata
        default = f.default_factory() if callable(f.default_factory) else f.default
        kw = dict(meta["argparse"], help=meta["help"], dest=dest_of(f))
        if isinstance(default, bool):
            # a switch turns a default off (--no-tsne) or on (--audit)
            kw["action"] = "store_false" if default else "store_true"
        else:
            kw["type"] = meta["parse"] or type(default)
            if not kw.get("required"):
                kw["default"] = default
            elif kw.get("nargs"):
                kw.pop("type")  # --models: strings
        p.add_argument(flag_of(f), **kw)
