"""Write a model's MODEL_CARD.md from its metadata and evaluation reports.

Every figure on the card is read from a report.json that ``octguard
evaluate`` wrote, and the card names the commands that reproduce it, so the
card can't drift from what was measured.
"""
from __future__ import annotations

import json
from pathlib import Path

from .atomic import atomic_write_text
from .evaluation.report_data import ModelResult
from .evaluation.tables import confusion_table, fixed, pct, table
from .gate import describe_gate
from .model_store import write_manifest


ATTACK_TITLES = {"adaptive": "adaptive PGD", "pgd-file-8bit": "PGD on the 8-bit file, native resolution"}


def _model_section(report: dict, weights_sha256: str) -> dict | None:
    for m in report.get("models", []):
        if m["model"]["weights_sha256"] == weights_sha256:
            return m
    return None


def _results(m: dict, heading: str, note: str) -> list[str]:
    c = m["clean"]
    L = [f"## {heading}", "", note, ""]
    L += [f"- Clean accuracy: **{pct(c['accuracy'])}** on {c['n']} scans "
          f"({', '.join(f'{k} {v}' for k, v in c['per_class_n'].items())}), 95% bootstrap interval."]
    g = c.get("gate")
    if g:
        L += [f"- Gate clean-rejection rate: {pct(g['rejection_rate'])} "
              f"(calibrated for {100 * g['calibrated_rejection_rate']:.0f}% on held-out clean training scans); "
              f"accuracy on the accepted clean scans {fixed(g['accuracy_of_accepted'])}."]
    L += ["", "Confusion matrix (rows: true class, columns: predicted):", ""]
    L += confusion_table(c["confusion_matrix"])
    rows = [[ATTACK_TITLES.get(a.attack, a.attack.upper()), a.budget_text] + a.cells()
            for a in ModelResult.of(m).all_attacks if not (a.budget_kind == "eps" and a.budget == 0)]
    if rows:
        L += ["Under attack (white-box on this model; eps in [0, 1] pixel units, 0.005 is about 1.3 grey levels; "
              "risk r = R/N from the paper's Eq. 2-3 with unit weights; AUPRC positives are the successful "
              "adversarial examples, negatives the clean scans):", ""]
        L += table(["attack", "budget", "accuracy [95% CI]", "successful", "risk without gate [CI]",
                    "risk with gate [CI]", "gate AUPRC", "adv rejected/accepted right/accepted wrong"], rows)
    return L


def render(model_dir: Path, test_report: dict, reproduce: list[str], audit_report: dict | None = None,
           extra: str = "") -> str:
    meta = json.loads((model_dir / "model.json").read_text())
    gate = json.loads((model_dir / "gate.json").read_text()) if (model_dir / "gate.json").exists() else None
    sha = meta["weights_sha256"]
    m = _model_section(test_report, sha)
    if m is None:
        raise ValueError(f"the report does not contain this model (weights sha256 {sha[:12]}...)")
    recipe = meta.get("recipe", {})
    t = meta.get("trained_on", {})
    L = [f"# Model card: {meta.get('name')}", "",
         "> **Intended use: demonstration and research only. Not for clinical use.** "
         "It has not been validated on any population, device or workflow, and must not inform a diagnosis.",
         "",
         "## What it is", "",
         f"- A ResNet-18 (torchvision architecture, {meta['input_size']} x {meta['input_size']} px input, "
         f"grey replicated to 3 channels, pixels in [0, 1]) that classifies a retinal OCT B-scan as "
         f"{', '.join(meta['classes'])}.",
         f"- Training method: **{meta['method'].upper()}**"
         + (f" (lambda {recipe.get('ssat_lambda')}, pseudo-labels from "
            f"{'a frozen teacher' if recipe.get('pseudo_labels') == 'teacher' else 'the current model'})"
            if meta["method"] == "ssat" else "") + "; trained from scratch, no ImageNet weights "
         "(none can be downloaded here).",
         "- Detection gate: " + (describe_gate(gate) + "." if gate else "none"),
         f"- Weights sha256 `{sha}`; every file is listed with its sha256 in `manifest.json`.",
         "",
         "## Training data", "",
         "- Real Heidelberg Spectralis OCT B-scans from the Kermany dataset (Kermany, Zhang, Goldbaum 2018, "
         "Mendeley Data doi:10.17632/rscbjbr9sj, CC BY 4.0), from "
         f"`{recipe.get('data') or '?'}`.",
         "- Split by patient (no patient in two parts), seeded and class-balanced: "
         f"`{recipe.get('split') or '?'}` (sha256 `{meta.get('split_sha256', '?')[:16]}...`). "
         f"Used: {t.get('labeled')} labeled scans, {t.get('unlabeled')} unlabeled scans "
         f"(their labels never read), {t.get('calib')} held-out clean scans for gate calibration and epoch choice. "
         f"The split's test part ({m['clean']['n']} scans) was only evaluated.",
         "- The 104 `audit/` scans were never used for training, pseudo-labelling, calibration or tuning.",
         "",
         "## Recipe and how to reproduce it", "",
         f"Input {meta['input_size']} px, batch {recipe.get('batch_size')}, SGD lr {recipe.get('lr')} "
         f"({recipe.get('schedule')}), momentum {recipe.get('momentum')}, weight decay {recipe.get('weight_decay')}, "
         f"{recipe.get('epochs')} epochs, label smoothing {recipe.get('label_smoothing')}, "
         f"OCT augmentation {'on' if recipe.get('augment') else 'off'}"
         + (f", FGSM eps ~ U[{recipe.get('fgsm_eps_min')}, {recipe.get('fgsm_eps_max')}] 1:1 per batch"
            if meta["method"] in ("at", "ssat") else "")
         + (f", started from `{Path(recipe['init']).name}`" if recipe.get("init") else "") + ".", "",
         "```bash", *reproduce, "```", ""]
    L += _results(m, "Results on the split's test part",
                  f"From `octguard evaluate` ({test_report['machine']['device']}, "
                  f"{test_report['wall_time_s']:.0f} s wall).")
    if audit_report is not None:
        a = _model_section(audit_report, sha)
        if a is not None:
            L += [""] + _results(a, "Final audit figures (evaluated once)",
                                 "On the 104 held-out `audit/` scans, evaluated once at the end; nothing was "
                                 "chosen or tuned on them.")
    L += ["", "## How it treats phantoms and other inputs", "",
          extra or "See docs/reliability.md for non-OCT inputs.", "",
          "## Known limits", "",
          "- Small data: about 530 labeled scans; no ImageNet pretraining. The paper used 4,000 labeled scans "
          "and ImageNet weights.",
          "- One device vendor (Heidelberg Spectralis) and one public dataset; other devices, resolutions and "
          "pathologies are out of distribution.",
          f"- Input {meta['input_size']} px (not the paper's 224) so that training fits a 2-core CPU.",
          "- The gate is a density model of clean features: it catches inputs unlike the training scans, "
          "but an attacker who knows it can push features toward the clean density (see the adaptive rows).",
          "- Small test sets: read the intervals, not just the point estimates.",
          ""]
    return "\n".join(L)


def write_card(model_dir: str | Path, test_report_path: str | Path, reproduce: list[str],
               audit_report_path: str | Path | None = None, extra: str = "") -> Path:
    model_dir = Path(model_dir)
    test = json.loads(Path(test_report_path).read_text())
    audit = json.loads(Path(audit_report_path).read_text()) if audit_report_path else None
    atomic_write_text(model_dir / "MODEL_CARD.md", render(model_dir, test, reproduce, audit, extra))
    write_manifest(model_dir)
    return model_dir / "MODEL_CARD.md"
