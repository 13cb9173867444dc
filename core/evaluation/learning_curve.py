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

from .plot_style import model_colour, model_marker, pyplot, save
from .tables import Estimate

FIGURES = {
    "clean accuracy": lambda m, eps: Estimate.of(m["clean"]["accuracy"]),
    "accuracy under PGD": lambda m, eps: Estimate.of(_pgd(m, eps)["accuracy"]),
    "gate AUPRC under PGD": lambda m, eps: _auprc(m, eps),
}


def _pgd(m: dict, eps: float) -> dict:
    for row in m.get("all_attacks") or []:
        if row["attack"] == "pgd" and abs(row["budget"] - eps) < 1e-12:
            return row
    raise KeyError(f"{m['model']['name']}: no PGD row at eps {eps}")


def _auprc(m: dict, eps: float) -> Estimate:
    """The gate's average AUPRC, with its interval where a Table 2 row at
    this eps has one (the all-attacks row has the point value only)."""
    for row in m.get("table2") or []:
        ci = (row.get("gate") or {}).get("auprc_average_ci")
        if abs(row["eps"] - eps) < 1e-12 and ci:
            return Estimate.of(ci)
    return Estimate(_pgd(m, eps).get("auprc_average"))


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
        def column(attr):
            return [getattr(p[2][k], attr) for p in pts]
        vals = np.array([np.nan if v is None else v for v in column("value")], float)
        fit = fit_power_law(np.array(out["n"]), vals)
        out["series"][k] = {"values": vals.tolist(), "lo": column("lo"), "hi": column("hi"), "fit": fit,
                            "at_4000": predict(fit, 4000) if fit else None}
    return out


def plot(c: dict, path: Path, pdf: bool = False) -> None:
    """Measured points with their 95% intervals (solid), the power-law fit
    out to the paper's 4,000 scans (dashed), the fitted value at 4,000."""
    plt = pyplot()
    from matplotlib.ticker import NullFormatter

    from .plot_style import errors

    fig, ax = plt.subplots(figsize=(6.0, 3.9))
    n = np.array(c["n"], float)
    grid = np.geomspace(n.min(), 4000, 100)
    for i, (k, s) in enumerate(c["series"].items()):
        colour = model_colour(i)   # one colour per quantity here
        label = k.replace("PGD", f"PGD-10, eps {c['eps']:g}")
        y = np.array(s["values"], float)
        lo, hi = s.get("lo") or [None] * len(y), s.get("hi") or [None] * len(y)
        ax.errorbar(n, y, yerr=errors(y, lo, hi), color=colour, marker=model_marker(i), label=label)
        if s["fit"]:
            ax.plot(grid, [predict(s["fit"], g) for g in grid], "--", color=colour, alpha=0.7, lw=1)
            ax.annotate(f"{s['at_4000']:.2f}?", (4000, s["at_4000"]), color=colour, fontsize=8,
                        xytext=(4, 0), textcoords="offset points", va="center")
    ax.axvline(4000, color="grey", lw=0.8, ls=":")
    ax.set_xscale("log")
    ticks = sorted(set(c["n"]) | {4000})   # the sizes measured, and the paper's
    ax.set_xticks(ticks, [f"{t:,}" + ("\n(paper)" if t == 4000 else "") for t in ticks])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlim(n.min() * 0.8, 6000)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("labeled training scans (log scale)")
    ax.set_ylabel("accuracy or gate AUPRC, split test part")
    ax.set_title("Learning curve (error bars: 95% bootstrap CI;\n"
                 "dashed: power-law fit of the error, a rough guide)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    save(fig, path, pdf=pdf)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("reports", nargs="+",
                    help="REPORT.json or REPORT.json:MODEL (a model's name or directory name), one per point")
    ap.add_argument("--eps", type=float, default=0.005, help="PGD budget of the robustness points")
    ap.add_argument("--out", required=True, help="folder for learning_curve.json and .png")
    ap.add_argument("--pdf", action="store_true", help="also write the figure as PDF")
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
    plot(c, out / "learning_curve.png", pdf=a.pdf)
    for k, s in c["series"].items():
        print(f"{k}: " + ", ".join(f"{n}: {v:.3f}" for n, v in zip(c["n"], s["values"]))
              + (f"; fitted at 4,000: {s['at_4000']:.3f}" if s["at_4000"] is not None else "; no fit"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
