"""The evaluation's figures, drawn from the report's numbers alone, so they
can be redrawn without rerunning a single attack:

    python -m core.evaluation.figures docs/results/pool-test/report.json --out docs/results/pool-test

- Figure 4: accuracy under FGSM, PGD and C&W against the budget, one panel per attack;
- Table 2 (and its adaptive-attack twin): risk without and with the gate, as bars;
- Figure 1: t-SNE of penultimate features, from the coordinates report.json's run saved.

Every model keeps one colour and marker across figures (its place in the
report); error bars are the report's 95% bootstrap intervals.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from .plot_style import class_colour, errors, grey_level_axis, model_colour, model_marker, pyplot, save
from .report_data import ModelResult, Report

FILES = {"figure4": "figure4_accuracy.png", "table2": "table2_risk.png", "adaptive": "adaptive_risk.png",
         "figure1": "figure1_tsne.png"}
COORDINATES = "figure1_tsne.json"
EPS_LABEL = "eps, L-inf budget (pixel units, image in [0, 1])"
PANEL_W, PANEL_H = 3.3, 2.9   # inches
PAPER_MARK = dict(marker="D", markersize=5, markerfacecolor="white", markeredgecolor="black", markeredgewidth=1.1)


def _dodge(x: np.ndarray, k: int, n_models: int, span: float, log: bool) -> np.ndarray:
    """Shift model k's points sideways a little, so overlapping error bars
    stay readable (the caption says so)."""
    step = 0.012 * (k - (n_models - 1) / 2)
    return x * 10 ** (step * span) if log else x + step * span


def _model_legend(fig, models: list[ModelResult], handles) -> None:
    fig.legend(handles, [m.label for m in models], loc="lower center", ncol=min(len(models), 5),
               bbox_to_anchor=(0.5, -0.01), handlelength=2.2, columnspacing=1.4)


def figure4(report: Report):
    s = report.settings
    titles = {"fgsm": "FGSM", "pgd": f"PGD-{s.get('pgd_steps', '?')}, random start",
              "cw": f"C&W L2, {s.get('cw_steps', '?')} Adam steps"}
    panels = []
    for attack in ("fgsm", "pgd", "cw"):
        series = [(m, [p for p in m.figure4.get(attack) or [] if attack != "cw" or p.budget > 0])
                  for m in report.models]
        series = [(m, pts) for m, pts in series if pts]
        if series:
            panels.append((attack, series))
    if not panels:
        return None
    plt = pyplot()
    from matplotlib.ticker import NullFormatter, PercentFormatter

    alone = len(panels) == 1   # one panel: the legend beside it
    fig, axes = plt.subplots(1, len(panels), figsize=(PANEL_W * len(panels) + 1.8 * alone, PANEL_H + 0.7),
                             squeeze=False, sharey=True)
    handles = {}
    for ax, (attack, series) in zip(axes[0], panels):
        log = attack == "cw"
        xs = np.array([p.budget for _, pts in series for p in pts], float)
        span = (np.log10(xs.max() / xs.min()) if log else xs.max() - xs.min()) or (1.0 if log else 0.01)
        for m, pts in series:
            x = _dodge(np.array([p.budget for p in pts], float), m.index, len(report.models), span, log)
            y = np.array([p.accuracy.value for p in pts], float)
            lo, hi = [p.accuracy.lo for p in pts], [p.accuracy.hi for p in pts]
            colour = model_colour(m.index)
            if len(pts) > 1:
                ax.fill_between(x, np.array(lo, float), np.array(hi, float), color=colour, alpha=0.12, lw=0)
            h = ax.errorbar(x, y, yerr=errors(y, lo, hi), color=colour, marker=model_marker(m.index),
                            markersize=4.5, elinewidth=0.9, ls="-" if len(pts) > 1 else "none")
            handles.setdefault(m.index, h)
        ax.set_title(titles[attack])
        ax.set_ylim(-0.03, 1.03)   # points at 0% and 100% stay whole
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        if log:
            ax.set_xscale("log")
            ax.set_xlabel("C&W constant c (log scale)")
            budgets = sorted(set(xs.tolist()))
            ax.set_xticks(budgets, [f"{c:g}" for c in budgets])   # the constants run, not powers of ten
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.set_xlim(budgets[0] / 2.5, budgets[-1] * 2.5)
        else:
            ax.set_xlabel(EPS_LABEL)
            grey_level_axis(ax)
    axes[0][0].set_ylabel("accuracy under attack")
    models = [m for m in report.models if m.index in handles]
    fig.suptitle("Figure 4: accuracy against perturbation budget\n(error bars and bands: 95% bootstrap CI"
                 + ("; points offset sideways for legibility)" if len(models) > 1 else ")"))
    if alone:
        axes[0][0].legend([handles[m.index] for m in models], [m.label for m in models],
                          loc="center left", bbox_to_anchor=(1.02, 0.5))
        fig.tight_layout()
    else:
        fig.tight_layout(rect=(0, 0.09, 1, 1))
        _model_legend(fig, models, [handles[m.index] for m in models])
    return fig


def _paper_rows(report: Report) -> dict:
    return {(p["method"], p["eps"]): p for p in (report.raw.get("paper") or {}).get("rows", [])}


def risk_figure(report: Report, key: str, title: str):
    """One panel per eps: per model, risk without the gate (light, hatched)
    and with it (solid), with 95% CIs; the paper's Table 2 as black ticks."""
    eps_values = sorted({r.eps for m in report.models for r in m.risk_rows(key)})
    if not eps_values:
        return None
    plt = pyplot()
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    models = [m for m in report.models if m.risk_rows(key)]
    paper = _paper_rows(report) if key == "table2" else {}
    width = max(PANEL_W, 0.62 * len(models) + 1.0)
    fig, axes = plt.subplots(1, len(eps_values), figsize=(width * len(eps_values), PANEL_H + 1.1),
                             squeeze=False, sharey=True)
    top = 1.0
    shown_paper = False
    for ax, eps in zip(axes[0], eps_values):
        for k, m in enumerate(models):
            row = next((r for r in m.risk_rows(key) if r.eps == eps), None)
            if row is None:
                continue
            colour = model_colour(m.index)
            for dx, est, solid in ((-0.2, row.r_f, False), (0.2, row.r_fg, True)):
                if est is None or not est.known:
                    continue
                ax.bar(k + dx, est.value, 0.38, color=colour if solid else "white", edgecolor=colour,
                       hatch=None if solid else "////", lw=1.0, alpha=1.0 if solid else 0.9)
                ax.errorbar(k + dx, est.value, yerr=errors([est.value], [est.lo], [est.hi]), color="black",
                            lw=0.9, capsize=2.5)
                top = max(top, est.hi or est.value)
            p = paper.get(((m.method or "").lower(), eps))
            if p:
                ax.plot([k - 0.2, k + 0.2], [p["r_f"], p["r_fg"]], ls="none", **PAPER_MARK)
                shown_paper = True
                top = max(top, p["r_f"], p["r_fg"])
        slant = len(models) > 3
        ax.set_xticks(range(len(models)), [m.label for m in models], rotation=25 if slant else 0,
                      ha="right" if slant else "center", rotation_mode="anchor" if slant else "default")
        half = max(len(models) / 2 + 0.1, 1.3)   # a lone model keeps slim bars
        ax.set_xlim((len(models) - 1) / 2 - half, (len(models) - 1) / 2 + half)
        ax.set_title(f"eps = {eps:g} ({eps * 255:.2g} grey levels)")
        ax.grid(axis="x", visible=False)
    axes[0][0].set_ylim(0, top * 1.08)
    axes[0][0].set_ylabel("average risk r = R / N (per test image)")
    legend = [Patch(facecolor="white", edgecolor="dimgrey", hatch="////", label="without gate, r(f)"),
              Patch(facecolor="dimgrey", edgecolor="dimgrey", label="with gate, r(f, g)")]
    if shown_paper:
        legend.append(Line2D([], [], ls="none", label="paper (Li et al. 2021)", **PAPER_MARK))
    fig.suptitle(f"{title}\n(error bars: 95% bootstrap CI; bar colour: model)")
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.legend(handles=legend, loc="lower center", ncol=len(legend), bbox_to_anchor=(0.5, -0.01))
    return fig


def tsne_figure(coords: list[dict], classes: list[str]):
    """Figure 1 from saved t-SNE coordinates: one panel per model, colour is
    the true class, a dot is a clean scan and a cross its PGD example."""
    coords = [c for c in coords if c.get("clean")]
    if not coords:
        return None
    plt = pyplot()
    from matplotlib.lines import Line2D

    cols = min(len(coords), 2)
    rows = -(-len(coords) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.5 * rows + 0.5), squeeze=False)
    for ax, c in zip(axes.flat, coords):
        y = np.asarray(c["labels"])
        clean, adv = np.asarray(c["clean"], float), np.asarray(c["adversarial"], float)
        for i in range(len(classes)):
            m = y == i
            ax.scatter(clean[m, 0], clean[m, 1], s=7, color=class_colour(i), alpha=0.75, lw=0)
            ax.scatter(adv[m, 0], adv[m, 1], s=12, color=class_colour(i), marker="x", lw=0.8, alpha=0.85)
        ax.set_title(f"{c['model']} (PGD eps {c['eps']:g})")
        ax.set_xlabel("t-SNE 1 (arbitrary units)")
        ax.set_ylabel("t-SNE 2 (arbitrary units)")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    for ax in list(axes.flat)[len(coords):]:
        ax.set_visible(False)
    legend = [Line2D([], [], ls="none", marker="s", color=class_colour(i), label=name)
              for i, name in enumerate(classes)]
    legend += [Line2D([], [], ls="none", marker="o", color="dimgrey", markersize=4, label="clean"),
               Line2D([], [], ls="none", marker="x", color="dimgrey", label="PGD adversarial")]
    fig.suptitle("Figure 1: t-SNE of penultimate features, clean and adversarial embedded together")
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.legend(handles=legend, loc="lower center", ncol=len(legend), bbox_to_anchor=(0.5, -0.01))
    return fig


def classes_of(report: dict) -> list[str]:
    models = report.get("models") or []
    return list(models[0]["clean"]["confusion_matrix"]["classes"]) if models else []


def write_figures(report: dict, out: str | Path, coords: list[dict] | None = None, pdf: bool = False) -> dict:
    """Draw every figure the report has numbers for into ``out``; returns
    report.json's ``figures`` entry (figure key -> file name)."""
    out = Path(out)
    r = Report.of(report)
    steps = r.settings.get("pgd_steps", "?")
    drawn = {"figure4": figure4(r),
             "table2": risk_figure(r, "table2", f"Table 2: risk under PGD-{steps}"),
             "adaptive": risk_figure(r, "adaptive", f"Risk under the adaptive gate-aware PGD-{steps}")}
    if coords:
        drawn["figure1"] = tsne_figure(coords, classes_of(report))
    figures = {}
    for key, fig in drawn.items():
        if fig is not None:
            figures[key] = save(fig, out / FILES[key], pdf=pdf).name
    if "figure1" in figures:
        figures["figure1_coordinates"] = COORDINATES
    return figures


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Redraw an evaluation's figures from its report.json "
                                             "(and figure1_tsne.json beside it, when there is one).")
    ap.add_argument("report", help="report.json written by `octguard evaluate`")
    ap.add_argument("--out", help="folder for the figures (default: the report's own folder)")
    ap.add_argument("--pdf", action="store_true", help="also write each figure as PDF")
    a = ap.parse_args(argv)
    path = Path(a.report)
    try:
        report = json.loads(path.read_text())
        coords_path = path.with_name(COORDINATES)
        coords = json.loads(coords_path.read_text()) if coords_path.exists() else None
        figures = write_figures(report, Path(a.out) if a.out else path.parent, coords, pdf=a.pdf)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"figures: cannot redraw {path}: {exc}", file=sys.stderr)
        return 2
    print(", ".join(figures.values()) or "no figures: the report has no numbers to draw")
    listed = {k: v for k, v in (report.get("figures") or {}).items()}
    if listed != figures:
        print(f"note: report.json lists {listed}, drew {figures}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
