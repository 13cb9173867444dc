"""Turning report numbers into text: the one place a metric with its 95%
interval becomes a string, and rows become a Markdown table. report.md and
MODEL_CARD.md both render through here, so they always agree.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its percentile-bootstrap 95% interval. An
    unknown bound is None (printed as ``?``); in report.json it is
    ``{"value": v, "lo": lo, "hi": hi}``."""
    value: float | None
    lo: float | None = None
    hi: float | None = None

    @classmethod
    def of(cls, d: "dict | Estimate | None") -> "Estimate | None":
        if d is None or isinstance(d, Estimate):
            return d
        return cls(d.get("value"), d.get("lo"), d.get("hi"))

    def to_json(self) -> dict:
        return {"value": self.value, "lo": self.lo, "hi": self.hi}

    @property
    def known(self) -> bool:
        return self.value is not None and math.isfinite(self.value)


def _with_ci(c, scale: float, digits: int, unit: str) -> str:
    c = Estimate.of(c)
    if c is None or c.value is None:
        return "n/a"

    def f(v):
        return "?" if v is None else f"{scale * v:.{digits}f}"
    return f"{f(c.value)}{unit} [{f(c.lo)}, {f(c.hi)}]"


def pct(c: "dict | Estimate | None") -> str:
    """A rate as ``87.1% [81.3, 92.0]``."""
    return _with_ci(c, 100.0, 1, "%")


def num(c: "dict | Estimate | None", digits: int = 3) -> str:
    """A number as ``0.402 [0.311, 0.487]``."""
    return _with_ci(c, 1.0, digits, "")


def fixed(v: float | None, digits: int = 3) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def fraction(k: int, n: int) -> str:
    return f"{k} / {n}"


def categories(cats: dict | None) -> str:
    """Adversarial examples the gate rejected / accepted and right / accepted and wrong."""
    if not cats:
        return "n/a"
    return f"{cats.get('rejected', 0)}/{cats.get('accepted_correct', 0)}/{cats.get('accepted_wrong', 0)}"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table as lines, with a blank line after it."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return lines + [""]


def confusion_table(cm: dict) -> list[str]:
    return table(["true \\ pred"] + cm["classes"],
                 [[c] + [str(v) for v in row] for c, row in zip(cm["classes"], cm["counts"])])
