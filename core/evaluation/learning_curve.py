"""The learning curve: how the figures grow with the number of labeled scans,
and an honest extrapolation to the paper's 4,000.

Each point is one model's evaluation report (``octguard evaluate``, the same
test part for all). A figure that saturates is fitted with the usual
power law of the error, ``err(n) = a * n**(-b)`` (a straight line in
log-log), on the measured points only; with three points the extrapolation
is a rough guide, and the plot says so.

    python -m core.evaluation.learning_curve REPORT.json... --out docs/results/learning-curve
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

FIGURES = {
    "clean accuracy": lambda m, eps: m["clean"]["accuracy"]["value"],
    "accuracy under PGD": lambda m, eps: _pgd(m, eps)["accuracy"]["value"],
    "gate AUPRC under PGD": lambda m, eps: _pgd(m, eps).get("auprc_average"),
}


def _pgd(m: dict, eps: float) -> dict:
    for row in m.get("all_attacks") or []:
        if row["attack"] == "pgd" and abs(row["budget"] - eps) < 1e-12:
            return row
    raise KeyError(f"{m['model']['name']}: no PGD row at eps {eps}")


def fit_power_law(n: np.ndarray, value: np.ndarray) -> tuple[float, float] | None:
    """(a, b) of ``1 - value = a * n**-b`` by least squares in log-log, or
    None when the points cannot support a fit (fewer than 2, or not rising)."""
    n, err = np.asarray(n, float), 1 - np.asarray(value, float)
    ok = np.isfinite(err) & (err > 0)
    if ok.sum() < 2:
        return None
    slope, intercept = np.polyfit(np.log(n[ok]), np.log(err[ok]), 1)
    if slope > -0.01:
        return None  # (almost) no improvement with more data: nothing to extrapolate
    return float(np.exp(intercept)), float(-slope)


def predict(fit: tuple[float, float], n: float) -> float:
    a, b = fit
    return float(1 - a * n ** (-b))


def _pick(report: dict, name: str | None) -> dict:
    if name is None:
        return report["models"][0]
    for m in report["models"]:
        if m["model"]["name"] == name or Path(m["model"]["directory"]).name == name:
            return m
    raise KeyError(f"no model {name!r} in the report")


def curve(reports: list[tuple[dict, str | None]], eps: float) -> dict:
    """Points and fits, one series per figure, from one model of each report
    (named, or the first), ordered by labeled-scan count."""
    pts = []
    for r, name in reports:
        m = _pick(r, name)
        n = (m["model"].get("trained_on") or {}).get("labeled")
        if not n:
            raise ValueError(f"{m['model']['name']}: the report does not say how many labeled scans it used")
        pts.append((n, m["model"]["name"], {k: f(m, eps) for k, f in FIGURES.items()}))
    pts.sort(key=lambda p: p[0])
    out = {"eps": eps, "n": [p[0] for p in pts], "models": [p[1] for p in pts], "series": {}}
    for k in FIGURES:
        vals = np.array([np.nan if p[2][k] is None else p[2][k] for p in pts], float)
        fit = fit_power_law(np.array(out["n"]), vals)
        out["series"][k] = {"values": vals.tolist(), "fit": fit,
                            "at_4000": predict(fit, 4000) if fit else None}
    return out


def plot(c: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=150)
    n = np.array(c["n"], float)
    grid = np.geomspace(n.min(), 4000, 100)
    for (k, s), colour in zip(c["series"].items(), ("tab:blue", "tab:orange", "tab:green")):
        label = k.replace("PGD", f"PGD-10 eps {c['eps']:g}")
        ax.plot(n, s["values"], "o-", color=colour, label=label)
        if s["fit"]:
            ax.plot(grid, [predict(s["fit"], g) for g in grid], "--", color=colour, alpha=0.6, lw=1)
            ax.annotate(f"{s['at_4000']:.2f}?", (4000, s["at_4000"]), color=colour, fontsize=8,
                        xytext=(4, 0), textcoords="offset points", va="center")
    ax.axvline(4000, color="grey", lw=0.8, ls=":")
    ax.text(4000, 0.02, " paper: 4,000", color="grey", fontsize=8, rotation=90, va="bottom")
    ax.set_xscale("log")
    ax.set_xlim(n.min() * 0.8, 6000)
    ax.set_ylim(0, 1)
    ax.set_xlabel("labeled training scans (log scale)")
    ax.set_ylabel("test part")
    ax.set_title("Learning curve (dashed: power-law fit of the error, a rough guide)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("reports", nargs="+",
                    help="REPORT.json or REPORT.json:MODEL (a model's name or directory name), one per point")
    ap.add_argument("--eps", type=float, default=0.005, help="PGD budget of the robustness points")
    ap.add_argument("--out", required=True, help="folder for learning_curve.json and .png")
    a = ap.parse_args(argv)
    picks = []
    for spec in a.reports:
        path, _, name = spec.partition(".json:")
        path = path if not name else path + ".json"
        picks.append((json.loads(Path(path).read_text()), name or None))
    c = curve(picks, a.eps)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "learning_curve.json").write_text(json.dumps(c, indent=1))
    plot(c, out / "learning_curve.png")
    for k, s in c["series"].items():
        print(f"{k}: " + ", ".join(f"{n}: {v:.3f}" for n, v in zip(c["n"], s["values"]))
              + (f"; fitted at 4,000: {s['at_4000']:.3f}" if s["at_4000"] is not None else "; no fit"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
