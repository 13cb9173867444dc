"""Writing the evaluation: report.json (every number), the figures
(core.evaluation.figures, drawn from those numbers) and report.md
(core.evaluation.report_markdown).
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np

from ..atomic import atomic_write_text
from . import tsne
from .tables import Estimate

# -- JSON ---------------------------------------------------------------------
def _clean_json(obj):
    """numpy -> Python, NaN/inf -> None (strict JSON has no NaN)."""
    if isinstance(obj, Estimate):
        return _clean_json(obj.to_json())
    if isinstance(obj, dict):
        return {str(k): _clean_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean_json(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _clean_json(obj.tolist())
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


# -- outputs ------------------------------------------------------------------
def tsne_coordinates(report: dict, tsne_inputs: list, seed: int) -> list[dict]:
    """Figure 1's points: each model's clean and PGD features embedded together."""
    coords = []
    for m, t in zip(report["models"], tsne_inputs):
        if t is None or len(t["clean"]) < 2:
            continue
        cxy, axy = tsne.embed(t["clean"], t["adv"], seed=seed)
        coords.append({"model": m["model"]["name"], "attack": t["attack"], "eps": t["eps"],
                       "labels": t["y"].tolist(), "clean": np.round(cxy, 4).tolist(),
                       "adversarial": np.round(axy, 4).tolist()})
    return coords


def write_outputs(report: dict, tsne_inputs: list, out: Path, seed: int, wall_start: float) -> None:
    from .figures import COORDINATES, write_figures
    from .report_markdown import markdown

    out = Path(out)
    coords = tsne_coordinates(report, tsne_inputs, seed) if report["settings"]["tsne"] else []
    coords = _clean_json(coords)
    if coords:
        atomic_write_text(out / COORDINATES, json.dumps(coords))
    report["figures"] = {}   # drawn below, from the cleaned numbers
    report["wall_time_s"] = time.perf_counter() - wall_start
    report["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    clean = _clean_json(report)
    clean["figures"] = write_figures(clean, out, coords)
    atomic_write_text(out / "report.json", json.dumps(clean, indent=1, allow_nan=False))
    atomic_write_text(out / "report.md", markdown(clean))
