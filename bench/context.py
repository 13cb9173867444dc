"""Settings shared by every case, and the row format of the results."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch


@dataclass
class Context:
    device: torch.device
    tmp: Path
    quick: bool = False
    repeat: int = 7
    warmup: int = 2
    scan_hw: tuple[int, int] = (496, 512)     # a Spectralis B-scan
    attack_size: int = 224                    # the paper's input size
    model_dir: Path | None = None             # the default model (or a stand-in)
    model_note: str = ""
    attack_model_dir: Path | None = None      # attack_size px (untrained unless default has it)
    attack_model_note: str = ""
    train_size: int = 128
    train_steps: int = 3                      # SSAT steps per epoch of the throughput run
    train_epochs: int = 3                     # the first is warm-up
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


def row(case: str, name: str, value: dict, unit: str, *, ref_name: str | None = None,
        ref: dict | None = None, higher_is_better: bool = False,
        target: float | None = None, margin: float | None = None,
        extra: dict | None = None) -> dict:
    """One figure. ``value``/``ref`` are timing.summarize dicts in ``unit``.
    ratio = ours / reference; the target bounds it from above for times and
    from below for throughputs. ``margin`` is a target of another shape:
    ours <= reference + margin (in ``unit``)."""
    r = {"case": case, "name": name, "unit": unit, "value": value,
         "reference_name": ref_name, "reference": ref, "ratio": None,
         "target": None, "met": None, "higher_is_better": higher_is_better}
    if ref is not None:
        r["ratio"] = value["median"] / ref["median"]
        if target is not None:
            r["target"] = (">= " if higher_is_better else "<= ") + f"{target:g}"
            r["met"] = bool(r["ratio"] >= target if higher_is_better else r["ratio"] <= target)
        if margin is not None:
            r["target"] = f"<= reference + {margin:g} {unit}"
            r["target_margin"] = margin
            r["met"] = bool(value["median"] <= ref["median"] + margin)
    if extra:
        r.update(extra)
    return r
