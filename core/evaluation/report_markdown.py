"""report.md: the paper's figures and tables for each evaluated model, with
the paper's own numbers (Li, Pan, Zhu 2021, as transcribed in
method-notes.md) beside ours, matched by the model's training method.
Rendered from report.json alone, through the table helpers the model card
shares (core.evaluation.tables).
"""
from __future__ import annotations

import numpy as np

from .paper import paper_row
from .report_data import ModelResult, Report, RiskRow
from .tables import categories, confusion_table, fixed, fraction, num, pct, table

RISK_HEADER = ["model", "eps", "risk without gate r(f) [CI]", "risk with gate r(f,g) [CI]",
               "accuracy under attack [CI]", "successful attacks", "gate AUPRC avg",
               "R(f,g) = cln inc + cln rej + adv inc", "adv rejected/accepted right/accepted wrong"]


def _risk_row(name: str, t: RiskRow, paper: dict | None = None) -> list[str]:
    return [name, f"{t.eps:g}", num(t.r_f), num(t.r_fg), pct(t.accuracy), fraction(t.n_success, t.n),
            fixed(t.auprc_average), t.r_fg_terms, categories(t.categories),
            (f"{paper['r_f']:.3f} / {paper['r_fg']:.3f} / {100 * paper['accuracy']:.1f}%" if paper else "")]


def _risk_rows(models: list[ModelResult], key: str) -> list[list[str]]:
    return [_risk_row(m.label, t, paper_row(m.method, t.eps) if key == "table2" else None)
            for m in models for t in m.risk_rows(key)]


def file_level_markdown(models: list[ModelResult], header: list[str]) -> list[str]:
    """The file-level 8-bit PGD rows (``--file-pgd-levels``), if run."""
    runs = [m for m in models if m.raw.get("file_level")]
    if not runs:
        return []
    L = ["## File-level threat: 8-bit PGD on the scan files at native resolution", "",
         "PGD on each test scan's full-resolution frame through inference's own centre crop and resize, every "
         "iterate on the 8-bit grid (whole grey levels, at most the stated number from the original): the file an "
         "attacker would hand over, scored as the viewer scores it. Clean accuracy on the same native path: "
         + "; ".join(f"{m.label} {pct(m.raw['file_level']['clean_accuracy'])}" for m in runs) + ".", ""]
    rows = [_risk_row(m.label, t)[:-1] + [f"{t.grey_levels} (max seen {fixed(t.max_linf_grey_levels, 2)})"]
            for m in runs for t in m.file_level]
    return L + table(header + ["grey levels"], rows)


def _gate_summary(gate: dict | None) -> str:
    if not gate:
        return "none"
    if "summary" in gate:
        return gate["summary"]
    from ..gate import describe_gate  # reports written before the summary was stored
    return describe_gate(gate)


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
    typed = Report.of(r).models
    # two models may share a name (one model with two gates): tables say which by folder, as the figures do
    name = {id(m): t.label for m, t in zip(models, typed)}
    L += ["## Models", ""]
    L += table(["model", "method", "input", "weights sha256", "gate", "notes"],
                [[name[id(m)], m["model"]["method"] or "?", f"{m['model']['input_size']} px",
                  f"`{m['model']['weights_sha256'][:12]}`",
                  _gate_summary(m["model"]["gate"]),
                  "; ".join(m["notes"]) or ""] for m in models])

    L += ["## Clean accuracy and gate", ""]
    L += table(["model", "clean accuracy [95% CI]", "gate clean rejection [95% CI]", "accuracy of accepted",
                 "images/s"],
                [[name[id(m)], pct(m["clean"]["accuracy"]),
                  pct(m["clean"]["gate"]["rejection_rate"]) if m["clean"]["gate"] else "no gate",
                  fixed(m["clean"]["gate"]["accuracy_of_accepted"]) if m["clean"]["gate"] else "n/a",
                  fixed(m["clean"]["images_per_second"], 1)] for m in models])
    for m in models:
        L += [f"Confusion matrix, {name[id(m)]} (rows true, columns predicted):", ""]
        L += confusion_table(m["clean"]["confusion_matrix"])

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
            rows.append([name[id(m)]] + [pct(by[b]["accuracy"]) if b in by else "" for b in budgets])
        L += table(["model"] + [f"{key} {b:g}" for b in budgets], rows)
        if attack == "cw":
            rows = []
            for m in models:
                by = {p["c"]: p for p in m["figure4"].get("cw", [])}
                rows.append([name[id(m)]] + [
                    f"{by[b]['n_success']} / {by[b]['n']} ({by[b]['n_flipped']} flipped), "
                    f"L2 {fixed(by[b]['median_l2_flipped'])}" if b in by else ""
                    for b in budgets])
            L += ["C&W successful attacks / N (of which flipped a correct clean prediction) and the median L2 "
                  "of the flipping ones, in [0, 1] pixel units over all H x W grey values:", ""]
            L += table(["model"] + [f"c {b:g}" for b in budgets], rows)
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
        rows.append([name[id(m)], f"{t['eps']:g}"] + [fixed(g["auprc"].get(c)) for c in classes]
                    + [num(g.get("auprc_average_ci")), f"{t['n_success']} / {t['n']}",
                       fixed(np.nanmean([v for v in g["auprc_chance"].values() if v is not None])
                          if any(v is not None for v in g["auprc_chance"].values()) else None),
                       (f"{p['auprc_average']:.3f}, {p['n_success']} / {p['n']}" if p and p["auprc_average"] else "")])
    if rows:
        L += ["Positives: successful adversarial examples; negatives: clean test images; grouped by true class. "
              "Chance = mean over classes of positives / (positives + negatives).", ""]
        L += table(["model", "eps"] + classes + ["average [95% CI]", "successful attacks", "chance", "paper (avg, successes)"],
                    rows)
    else:
        L += ["Not run (needs PGD in --attacks and a gate).", ""]

    def risk_rows(key: str) -> list[list[str]]:
        return _risk_rows(typed, key)

    header = RISK_HEADER
    L += ["## Table 2: risk with and without the gate, PGD", ""]
    rows = risk_rows("table2")
    L += table(header + ["paper r(f) / r(f,g) / accuracy"], rows) if rows else ["Not run.", ""]
    if r["figures"].get("table2"):
        L += [f"![Table 2 risk]({r['figures']['table2']})", ""]
    L += ["## The same rows under the adaptive gate-aware attack", "",
          f"PGD on cross-entropy plus {s['gate_weight']} x the gate's per-dimension log-likelihood of the "
          "predicted class (core.attacks.AdaptivePGD): it pushes the feature toward the clean density while "
          "misclassifying. The paper does not evaluate this attack.", ""]
    rows = risk_rows("adaptive")
    L += table(header + ["paper"], rows) if rows else ["Not run.", ""]
    if r["figures"].get("adaptive"):
        L += [f"![Adaptive risk]({r['figures']['adaptive']})", ""]
    L += file_level_markdown(typed, header)
    L += ["## Every attack run: risk and gate AUPRC", "",
          "Risk and gate AUPRC for every attack and budget run (FGSM and C&W included), so no attack "
          "is reported by accuracy alone.", ""]
    rows = [[m.label, a.attack, a.budget_text] + a.cells() for m in typed for a in m.all_attacks]
    L += table(["model", "attack", "budget", "accuracy under attack [CI]", "successful", "r(f) [CI]",
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
    L += table(["method", "eps", "gate AUPRC (avg)", "successful attacks", "risk without gate", "risk with gate",
                 "accuracy under attack"],
                [[p["method"].upper(), f"{p['eps']:g}", fixed(p["auprc_average"]),
                  "" if p["n_success"] is None else f"{p['n_success']} / {p['n']}", fixed(p["r_f"]), fixed(p["r_fg"]),
                  f"{100 * p['accuracy']:.1f}%"] for p in r["paper"]["rows"]])
    return "\n".join(L)
