"""report.json as typed data: the rows the tables and figures are drawn
from. report.json stays the record (its keys are unchanged, and reports
written by earlier versions still read: a key they lack reads as None);
these classes are how report.md, the figures and MODEL_CARD.md read it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .tables import Estimate, categories, fixed, fraction, num, pct


@dataclass(frozen=True)
class BudgetPoint:
    """One point of Figure 4: accuracy under one attack at one budget
    (eps, or c for C&W)."""
    attack: str
    budget: float
    accuracy: Estimate
    n: int
    n_success: int
    n_flipped: int | None = None
    median_l2_flipped: float | None = None

    @classmethod
    def of(cls, d: dict) -> "BudgetPoint":
        return cls(d["attack"], d["c"] if d["attack"] == "cw" else d["eps"], Estimate.of(d["accuracy"]),
                   d["n"], d["n_success"], d.get("n_flipped"), d.get("median_l2_flipped"))


@dataclass(frozen=True)
class AttackResult:
    """One attack run in the all-attacks summary: accuracy, successes,
    risk without and with the gate, gate AUPRC, the gate's verdicts."""
    attack: str
    budget_kind: str
    budget: float
    accuracy: Estimate
    n_success: int
    n: int
    r_f: Estimate | None
    r_fg: Estimate | None
    auprc_average: float | None
    categories: dict | None

    @classmethod
    def of(cls, d: dict) -> "AttackResult":
        return cls(d["attack"], d["budget_kind"], d["budget"], Estimate.of(d["accuracy"]), d["n_success"], d["n"],
                   Estimate.of(d.get("r_f")), Estimate.of(d.get("r_fg")), d.get("auprc_average"),
                   d.get("categories"))

    @property
    def budget_text(self) -> str:
        levels = self.budget * 255
        if self.attack.endswith("-8bit") and abs(levels - round(levels)) < 1e-6:
            # the file-level threat is set in whole grey levels; say it that way
            return f"{round(levels)} grey levels (eps {round(levels)}/255)"
        return f"{self.budget_kind} {self.budget:g}"

    def cells(self) -> list[str]:
        """accuracy [CI], successful, r(f) [CI], r(f,g) [CI], AUPRC, verdicts."""
        return [pct(self.accuracy), fraction(self.n_success, self.n), num(self.r_f), num(self.r_fg),
                fixed(self.auprc_average), categories(self.categories)]


@dataclass(frozen=True)
class RiskRow:
    """A Table 2 row (PGD, adaptive PGD or the file-level attack at one eps)."""
    attack: str
    eps: float
    n: int
    accuracy: Estimate
    n_success: int
    r_f: Estimate | None
    r_fg: Estimate | None
    counts: dict            # core.risk's R(f,g) terms: n_cln_inc_fg, n_cln_rej_g, n_adv_inc_fg, ...
    auprc_average: float | None
    categories: dict | None
    grey_levels: int | None = None
    max_linf_grey_levels: float | None = None

    @classmethod
    def of(cls, d: dict) -> "RiskRow":
        g = d.get("gate") or {}
        return cls(d["attack"], d["eps"], d["n"], Estimate.of(d["accuracy"]), d["n_success"],
                   Estimate.of(d.get("r_f")), Estimate.of(d.get("r_fg")), d.get("risk") or {},
                   g.get("auprc_average"), g.get("categories"), d.get("grey_levels"), d.get("max_linf_grey_levels"))

    @property
    def r_fg_terms(self) -> str:
        c = self.counts
        if c.get("n_cln_inc_fg") is None:
            return "n/a"
        return f"{c['n_cln_inc_fg']} + {c['n_cln_rej_g']} + {c['n_adv_inc_fg']}"


@dataclass(frozen=True)
class ModelResult:
    name: str
    label: str              # the name, with its folder when two models share a name
    method: str | None
    index: int              # position in the report: the model's colour in every figure
    clean_accuracy: Estimate
    gate_rejection: Estimate | None
    figure4: dict[str, list[BudgetPoint]]
    table2: list[RiskRow]
    adaptive: list[RiskRow]
    file_level: list[RiskRow]
    all_attacks: list[AttackResult]
    raw: dict = field(repr=False, compare=False)

    @classmethod
    def of(cls, d: dict, index: int = 0, label: str | None = None) -> "ModelResult":
        c = d["clean"]
        gate = c.get("gate")
        fl = d.get("file_level") or {}
        return cls(d["model"]["name"], label or d["model"]["name"], d["model"].get("method"), index,
                   Estimate.of(c["accuracy"]), Estimate.of(gate["rejection_rate"]) if gate else None,
                   {a: [BudgetPoint.of(p) for p in pts] for a, pts in (d.get("figure4") or {}).items()},
                   [RiskRow.of(r) for r in d.get("table2") or []], [RiskRow.of(r) for r in d.get("adaptive") or []],
                   [RiskRow.of(r) for r in fl.get("rows") or []],
                   [AttackResult.of(a) for a in d.get("all_attacks") or []], d)

    def risk_rows(self, key: str) -> list[RiskRow]:
        return {"table2": self.table2, "adaptive": self.adaptive, "file_level": self.file_level}[key]


def _labels(models: list[dict]) -> list[str]:
    names = [m["model"]["name"] for m in models]
    return [f"{n} ({Path(m['model'].get('directory') or '?').name})" if names.count(n) > 1 else n
            for n, m in zip(names, models)]


@dataclass(frozen=True)
class Report:
    models: list[ModelResult]
    settings: dict
    figures: dict
    audit: bool
    raw: dict = field(repr=False, compare=False)

    @classmethod
    def of(cls, d: dict) -> "Report":
        models = d.get("models") or []
        return cls([ModelResult.of(m, i, lab) for i, (m, lab) in enumerate(zip(models, _labels(models)))],
                   d.get("settings") or {}, d.get("figures") or {}, bool(d.get("audit")), d)
