"""Writing the evaluation: report.json (every number), PNG figures, report.md.

The Markdown puts the paper's figures (Li, Pan, Zhu 2021, as transcribed in
method-notes.md) beside ours, matched by the model's training method.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np

from ..atomic import atomic_write_text
from . import plots, tsne

# The paper's headline figures: Kermany OCT, 1,000 test images, PGD.
PAPER = {
    "source": "Li, Pan, Zhu, ISBI 2021 (arXiv 2006.13555), Kermany OCT, 1000 test images",
    "rows": [
        {"method": "nt", "eps": 0.005, "auprc_average": 0.852, "n_success": 885, "n": 1000,
         "r_f": 0.965, "r_fg": 0.892, "accuracy": 0.115},
        {"method": "gce", "eps": 0.005, "auprc_average": 0.927, "n_success": 970, "n": 1000,
         "r_f": 1.057, "r_fg": 0.713, "accuracy": 0.003},
        {"method": "at", "eps": 0.005, "auprc_average": 0.892, "n_success": 580, "n": 1000,
         "r_f": 0.647, "r_fg": 0.634, "accuracy": 0.42},
        {"method": "ssat", "eps": 0.005, "auprc_average": 0.973, "n_success": 136, "n": 1000,
         "r_f": 0.223, "r_fg": 0.215, "accuracy": 0.864},
        {"method": "ssat", "eps": 0.01, "auprc_average": None, "n_success": None, "n": 1000,
         "r_f": 0.912, "r_fg": 0.450, "accuracy": 0.175},
    ],
}


def paper_row(method: str | None, eps: float) -> dict | None:
    for r in PAPER["rows"]:
        if method and r["method"] == method.lower() and math.isclose(r["eps"], eps):
            return r
    return None


# -- JSON ---------------------------------------------------------------------
def _clean_json(obj):
    """numpy -> Python, NaN/inf -> None (strict JSON has no NaN)."""
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


# -- figures ------------------------------------------------------------------
def _acc_series(name: str, points: list[dict], key: str, marker: str) -> plots.Series:
    return plots.Series(name, [p[key] for p in points], [p["accuracy"]["value"] for p in points],
                        lo=[p["accuracy"]["lo"] for p in points], hi=[p["accuracy"]["hi"] for p in points],
                        marker=marker)


def figure4(report: dict) -> "plots.Image.Image | None":
    markers = "os^xo"
    panels = []
    titles = {"fgsm": "FGSM", "pgd": "PGD-{steps} (L-inf)", "cw": "C&W L2 ({steps} steps)"}
    s = report["settings"]
    for attack in ("fgsm", "pgd", "cw"):
        series = []
        for i, m in enumerate(report["models"]):
            pts = m["figure4"].get(attack) or []
            if attack == "cw":
                pts = [p for p in pts if p["c"] > 0]
            if pts:
                series.append(_acc_series(m["model"]["name"], pts, "c" if attack == "cw" else "eps",
                                          markers[i % len(markers)]))
        if not series:
            continue
        steps = s["cw_steps"] if attack == "cw" else s["pgd_steps"]
        xlabel = "c (C&W constant, log scale)" if attack == "cw" else "eps (L-inf, [0, 1] pixel units)"
        panels.append(plots.line_plot(series, titles[attack].format(steps=steps), xlabel,
                                      "accuracy under attack", xlog=attack == "cw", ylim=(-0.03, 1.03),
                                      size=(560, 420)))
    if not panels:
        return None
    return plots.side_by_side(panels, "Figure 4: accuracy against perturbation budget (95% bootstrap bands)")


def risk_figure(report: dict, key: str, title: str):
    """Risk with and without the gate, per model and eps (Table 2 as bars)."""
    groups, vals = [], {"risk without gate r(f)": [], "risk with gate r(f,g)": []}
    lo = {k: [] for k in vals}
    hi = {k: [] for k in vals}
    for m in report["models"]:
        for row in m.get(key) or []:
            groups.append(f"{m['model']['name']} eps {row['eps']:g}")
            for k, name in (("risk without gate r(f)", "r_f"), ("risk with gate r(f,g)", "r_fg")):
                c = row.get(name)
                vals[k].append(c["value"] if c else None)
                lo[k].append(c["lo"] if c else None)
                hi[k].append(c["hi"] if c else None)
    if not groups:
        return None
    return plots.bar_plot(groups, vals, title, "average risk r = R / N", lo=lo, hi=hi,
                          size=(max(640, 150 * len(groups)), 440))


def figure1(report: dict, tsne_inputs: list, seed: int):
    panels, coords = [], []
    for m, t in zip(report["models"], tsne_inputs):
        if t is None or len(t["clean"]) < 2:
            continue
        cxy, axy = tsne.embed(t["clean"], t["adv"], seed=seed)
        panels.append(tsne.panel(m["model"]["name"], cxy, axy, t["y"], t["classes"],
                                 f" (PGD eps {t['eps']:g})"))
        coords.append({"model": m["model"]["name"], "attack": t["attack"], "eps": t["eps"],
                       "labels": t["y"].tolist(), "clean": np.round(cxy, 4).tolist(),
                       "adversarial": np.round(axy, 4).tolist()})
    if not panels:
        return None, coords
    img = plots.side_by_side(panels, "Figure 1: t-SNE of penultimate features, clean vs adversarial",
                             columns=min(len(panels), 2))
    return img, coords


def write_outputs(report: dict, tsne_inputs: list, out: Path, seed: int, wall_start: float) -> None:
    out = Path(out)
    figures = {}
    img = figure4(report)
    if img is not None:
        figures["figure4"] = plots.save_png(img, out / "figure4_accuracy.png").name
    for key, name, title in (("table2", "table2_risk.png", "Table 2: risk under PGD"),
                             ("adaptive", "adaptive_risk.png", "Risk under the adaptive gate-aware PGD")):
        img = risk_figure(report, key, title)
        if img is not None:
            figures[key] = plots.save_png(img, out / name).name
    if report["settings"]["tsne"]:
        img, coords = figure1(report, tsne_inputs, seed)
        if img is not None:
            figures["figure1"] = plots.save_png(img, out / "figure1_tsne.png").name
            atomic_write_text(out / "figure1_tsne.json", json.dumps(_clean_json(coords)))
            figures["figure1_coordinates"] = "figure1_tsne.json"
    report["figures"] = figures
    report["wall_time_s"] = time.perf_counter() - wall_start
    report["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    clean = _clean_json(report)
    atomic_write_text(out / "report.json", json.dumps(clean, indent=1, allow_nan=False))
    atomic_write_text(out / "report.md", markdown(clean))


# -- Markdown -----------------------------------------------------------------
def _pct(c: dict | None) -> str:
    if not c or c.get("value") is None:
        return "n/a"
    lo = "?" if c["lo"] is None else f"{100 * c['lo']:.1f}"
    hi = "?" if c["hi"] is None else f"{100 * c['hi']:.1f}"
    return f"{100 * c['value']:.1f}% [{lo}, {hi}]"


def _num(c: dict | None, digits: int = 3) -> str:
    if not c or c.get("value") is None:
        return "n/a"
    lo = "?" if c["lo"] is None else f"{c['lo']:.{digits}f}"
    hi = "?" if c["hi"] is None else f"{c['hi']:.{digits}f}"
    return f"{c['value']:.{digits}f} [{lo}, {hi}]"


def _f(v, digits: int = 3) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return lines + [""]


RISK_HEADER = ["model", "eps", "risk without gate r(f) [CI]", "risk with gate r(f,g) [CI]",
               "accuracy under attack [CI]", "successful attacks", "gate AUPRC avg",
               "R(f,g) = cln inc + cln rej + adv inc", "adv rejected/accepted right/accepted wrong"]


def _risk_row(name: str, t: dict, paper: dict | None = None) -> list[str]:
    rk = t["risk"]
    g = t.get("gate") or {}
    cats = g.get("categories", {})
    return [name, f"{t['eps']:g}", _num(t["r_f"]), _num(t.get("r_fg")),
            _pct(t["accuracy"]), f"{t['n_success']} / {t['n']}",
            _f(g.get("auprc_average")),
            (f"{rk['n_cln_inc_fg']} + {rk['n_cln_rej_g']} + {rk['n_adv_inc_fg']}"
             if rk.get("n_cln_inc_fg") is not None else "n/a"),
            (f"{cats.get('rejected', 0)}/{cats.get('accepted_correct', 0)}/{cats.get('accepted_wrong', 0)}"
             if cats else "n/a"),
            (f"{paper['r_f']:.3f} / {paper['r_fg']:.3f} / {100 * paper['accuracy']:.1f}%" if paper else "")]


def _risk_rows(models: list[dict], key: str) -> list[list[str]]:
    return [_risk_row(m["model"]["name"], t,
                      paper_row(m["model"]["method"], t["eps"]) if key == "table2" else None)
            for m in models for t in m.get(key) or []]


def file_level_markdown(models: list[dict], header: list[str]) -> list[str]:
    """The file-level 8-bit PGD rows (``--file-pgd-levels``), if run."""
    runs = [m for m in models if m.get("file_level")]
    if not runs:
        return []
    L = ["## File-level threat: 8-bit PGD on the scan files at native resolution", "",
         "PGD on each test scan's full-resolution frame through inference's own centre crop and resize, every "
         "iterate on the 8-bit grid (whole grey levels, at most the stated number from the original): the file an "
         "attacker would hand over, scored as the viewer scores it. Clean accuracy on the same native path: "
         + "; ".join(f"{m['model']['name']} {_pct(m['file_level']['clean_accuracy'])}" for m in runs) + ".", ""]
    rows = [_risk_row(m["model"]["name"], t)[:-1] + [f"{t['grey_levels']} (max seen {_f(t['max_linf_grey_levels'], 2)})"]
            for m in runs for t in m["file_level"]["rows"]]
    return L + _table(header + ["grey levels"], rows)


def markdown(r: dict) -> str:
    s, mach = r["settings"], r["machine"]
    L = ["# OCTGuard evaluation: the paper's figures and tables", ""]
    if r["audit"]:
        L += ["> **Final audit figures, evaluated once** on the held-out `audit/` scans. These scans were "
              "never used for training, pseudo-labelling, calibration, checkpoint choice or tuning.", ""]
    L += ["## Setup", "",
          f"- Evaluated on: {r['evaluated_on']}, {r['data']['n_images']} images "
          f"({', '.join(f'{k} {v}' for k, v in r['data']['per_class'].items())})"
          + (f", at most {r['data']['limit_per_class']} per class (seeded draw)" if r['data']['limit_per_class'] else ""),
          f"- Data: `{r['data']['source']}`" + (f"; {len(r['data']['decode_errors'])} unreadable files skipped"
                                                if r['data']['decode_errors'] else ""),
          f"- Split: `{r['split']['path']}` (sha256 `{r['split']['sha256']}`, split seed {r['split']['seed']})",
          f"- Seed: {r['seeds']['seed']} ({r['seeds']['uses']})",
          f"- Machine: {mach['cpu']}, {mach['cpu_cores']} cores ({mach['torch_threads']} torch threads), "
          f"torch {mach['torch']}, device {mach['device']}" + (f" ({mach['gpu']})" if mach.get("gpu") else ""),
          f"- Wall time: {r['wall_time_s']:.0f} s (started {r['started']})",
          f"- Attacks: {', '.join(s['attacks'])}; PGD {s['pgd_steps']} steps, step eps/4, random start; "
          f"C&W L2 {s['cw_steps']} Adam steps, lr {s['cw_lr']}, kappa 0, c in {s['cw_c']}; "
          f"adaptive PGD gate weight {s['gate_weight']}. All white-box on the evaluated model, at its own "
          f"input size, perturbing the grey image (replicated to the model's channels inside the gradient); adversarial "
          f"images are float (not rounded to 8 bits).",
          f"- Risk weights r_cln_prd {s['risk_weights']['r_cln_prd']}, r_cln_uad {s['risk_weights']['r_cln_uad']}, "
          f"r_adv_prd {s['risk_weights']['r_adv_prd']}; intervals are 95% percentile bootstrap over test "
          f"images ({s['n_boot']} resamples, clean image and its attack resampled together).",
          f"- Paper figures: {r['paper']['source']}.", ""]
    models = r["models"]
    L += ["## Models", ""]
    L += _table(["model", "method", "input", "weights sha256", "gate", "notes"],
                [[m["model"]["name"], m["model"]["method"] or "?", f"{m['model']['input_size']} px",
                  f"`{m['model']['weights_sha256'][:12]}`",
                  m["model"]["gate"]["summary"] if m["model"]["gate"] else "none",
                  "; ".join(m["notes"]) or ""] for m in models])

    L += ["## Clean accuracy and gate", ""]
    L += _table(["model", "clean accuracy [95% CI]", "gate clean rejection [95% CI]", "accuracy of accepted",
                 "images/s"],
                [[m["model"]["name"], _pct(m["clean"]["accuracy"]),
                  _pct(m["clean"]["gate"]["rejection_rate"]) if m["clean"]["gate"] else "no gate",
                  _f(m["clean"]["gate"]["accuracy_of_accepted"]) if m["clean"]["gate"] else "n/a",
                  _f(m["clean"]["images_per_second"], 1)] for m in models])
    for m in models:
        cm = m["clean"]["confusion_matrix"]
        L += [f"Confusion matrix, {m['model']['name']} (rows true, columns predicted):", ""]
        L += _table(["true \\ pred"] + cm["classes"],
                    [[c] + [str(v) for v in row] for c, row in zip(cm["classes"], cm["counts"])])

    L += ["## Figure 4: accuracy against perturbation budget", ""]
    if r["figures"].get("figure4"):
        L += [f"![Figure 4]({r['figures']['figure4']})", ""]
    for attack, key, label in (("fgsm", "eps", "FGSM"), ("pgd", "eps", f"PGD-{s['pgd_steps']}"),
                               ("cw", "c", "C&W L2")):
        budgets = sorted({p[key] for m in models for p in m["figure4"].get(attack, [])})
        if not budgets:
            continue
        L += [f"**{label}**, accuracy under attack [95% CI] by {'c' if key == 'c' else 'eps'}:", ""]
        rows = []
        for m in models:
            by = {p[key]: p for p in m["figure4"].get(attack, [])}
            rows.append([m["model"]["name"]] + [_pct(by[b]["accuracy"]) if b in by else "" for b in budgets])
        L += _table(["model"] + [f"{key} {b:g}" for b in budgets], rows)
        if attack == "cw":
            rows = []
            for m in models:
                by = {p["c"]: p for p in m["figure4"].get("cw", [])}
                rows.append([m["model"]["name"]] + [
                    f"{by[b]['n_success']} / {by[b]['n']} ({by[b]['n_flipped']} flipped), "
                    f"L2 {_f(by[b]['median_l2_flipped'])}" if b in by else ""
                    for b in budgets])
            L += ["C&W successful attacks / N (of which flipped a correct clean prediction) and the median L2 "
                  "of the flipping ones, in [0, 1] pixel units over all H x W grey values:", ""]
            L += _table(["model"] + [f"c {b:g}" for b in budgets], rows)
    L += ["C&W is run at fixed c (no binary search, as the paper states one constant), so its panel plots "
          "accuracy against c; each successful example is the smallest-L2 one found, and its L2 is reported.",
          "The PGD point at eps 0 is the clean accuracy (the eps ball is a point); FGSM at eps 0 is actually "
          "run, which checks that the attack pipeline reproduces the clean predictions.", ""]

    L += ["## Table 1: per-class gate AUPRC under PGD", ""]
    classes = models[0]["clean"]["confusion_matrix"]["classes"] if models else []
    rows = []
    for m in models:
        t = m.get("table1")
        if not t or not t.get("gate"):
            continue
        g = t["gate"]
        p = paper_row(m["model"]["method"], t["eps"])
        rows.append([m["model"]["name"], f"{t['eps']:g}"] + [_f(g["auprc"].get(c)) for c in classes]
                    + [_num(g.get("auprc_average_ci")), f"{t['n_success']} / {t['n']}",
                       _f(np.nanmean([v for v in g["auprc_chance"].values() if v is not None])
                          if any(v is not None for v in g["auprc_chance"].values()) else None),
                       (f"{p['auprc_average']:.3f}, {p['n_success']} / {p['n']}" if p and p["auprc_average"] else "")])
    if rows:
        L += ["Positives: successful adversarial examples; negatives: clean test images; grouped by true class. "
              "Chance = mean over classes of positives / (positives + negatives).", ""]
        L += _table(["model", "eps"] + classes + ["average [95% CI]", "successful attacks", "chance", "paper (avg, successes)"],
                    rows)
    else:
        L += ["Not run (needs PGD in --attacks and a gate).", ""]

    def risk_rows(key: str) -> list[list[str]]:
        return _risk_rows(models, key)

    header = RISK_HEADER
    L += ["## Table 2: risk with and without the gate, PGD", ""]
    rows = risk_rows("table2")
    L += _table(header + ["paper r(f) / r(f,g) / accuracy"], rows) if rows else ["Not run.", ""]
    if r["figures"].get("table2"):
        L += [f"![Table 2 risk]({r['figures']['table2']})", ""]
    L += ["## The same rows under the adaptive gate-aware attack", "",
          f"PGD on cross-entropy plus {s['gate_weight']} x the gate's per-dimension log-likelihood of the "
          "predicted class (core.attacks.AdaptivePGD): it pushes the feature toward the clean density while "
          "misclassifying. The paper does not evaluate this attack.", ""]
    rows = risk_rows("adaptive")
    L += _table(header + ["paper"], rows) if rows else ["Not run.", ""]
    if r["figures"].get("adaptive"):
        L += [f"![Adaptive risk]({r['figures']['adaptive']})", ""]
    L += file_level_markdown(models, header)
    L += ["## Every attack run: risk and gate AUPRC", "",
          "Risk and gate AUPRC for every attack and budget run (FGSM and C&W included), so no attack "
          "is reported by accuracy alone.", ""]
    rows = []
    for m in models:
        for a in m.get("all_attacks") or []:
            cats = a.get("categories") or {}
            rows.append([m["model"]["name"], a["attack"], f"{a['budget_kind']} {a['budget']:g}",
                         _pct(a["accuracy"]), f"{a['n_success']} / {a['n']}", _num(a["r_f"]), _num(a.get("r_fg")),
                         _f(a.get("auprc_average")),
                         (f"{cats.get('rejected', 0)}/{cats.get('accepted_correct', 0)}/{cats.get('accepted_wrong', 0)}"
                          if cats else "n/a")])
    L += _table(["model", "attack", "budget", "accuracy under attack [CI]", "successful", "r(f) [CI]",
                 "r(f,g) [CI]", "gate AUPRC avg", "adv rejected/accepted right/accepted wrong"], rows) \
        if rows else ["Not run.", ""]
    L += ["## Figure 1: t-SNE of penultimate features", ""]
    if r["figures"].get("figure1"):
        L += ["Clean (dots) and PGD adversarial (crosses) features embedded together, coloured by true class; "
              f"coordinates in `{r['figures']['figure1_coordinates']}`.", "",
              f"![Figure 1]({r['figures']['figure1']})", ""]
    else:
        L += ["Not run.", ""]
    L += ["## Paper figures for comparison", ""]
    L += _table(["method", "eps", "gate AUPRC (avg)", "successful attacks", "risk without gate", "risk with gate",
                 "accuracy under attack"],
                [[p["method"].upper(), f"{p['eps']:g}", _f(p["auprc_average"]),
                  "" if p["n_success"] is None else f"{p['n_success']} / {p['n']}", _f(p["r_f"]), _f(p["r_fg"]),
                  f"{100 * p['accuracy']:.1f}%"] for p in r["paper"]["rows"]])
    return "\n".join(L)
