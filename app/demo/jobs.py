"""The demo's background work, Qt-free: attack one frame, attack a set.

Functions take ``(…, progress, partial)`` like app/jobs.py and import torch
lazily, on the worker thread.

Two choices worth knowing:

- The attack perturbs the *grey* image. Scans are grey and the model sees
  the grey replicated to its channels; attacking the replicated tensor would
  give each channel its own perturbation, a colour image no scanner makes.
  :class:`GreyInput` does the replication inside the model instead.
- "Correct" means the label in the file name where there is one (Kermany's
  ``CNV-123-1.jpeg``, our ``synthetic-DME-0000.png``, or a class-named
  parent folder), and otherwise the model's own prediction on the clean
  image. The chosen reference is reported with every result.
"""
from __future__ import annotations

import csv
import io
import math
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from core.atomic import atomic_write_bytes
from core.errors import Cancelled, ModelError, OCTGuardError, ScanError
from core.progress import Progress

from .params import DemoParams

REJECTED, ACCEPTED_CORRECT, ACCEPTED_WRONG = "rejected", "accepted_correct", "accepted_wrong"
CATEGORY_TEXT = {REJECTED: "Rejected by the gate", ACCEPTED_CORRECT: "Accepted, still correct",
                 ACCEPTED_WRONG: "Accepted and wrong"}
# torch's intra-op pool spins on every core; on a 2-core laptop that starves
# the GUI thread. One thread for demo work leaves a core to the window.
WORKER_THREADS = max(1, (os.cpu_count() or 2) - 1)

def limit_threads() -> None:
    import torch
    if torch.get_num_threads() > WORKER_THREADS:
        torch.set_num_threads(WORKER_THREADS)

# ----------------------------------------------------------------- models
def list_models(root: Path) -> list[Path]:
    """Model directories (ones holding a model.json) under ``root``, sorted
    with ``default`` first; [] when there are none."""
    try:
        dirs = [p for p in Path(root).iterdir() if (p / "model.json").is_file()]
    except OSError:
        return []
    return sorted(dirs, key=lambda p: (p.name != "default", p.name))

def load_model(directory: Path, progress: Progress, partial: Callable):
    progress.update(0.0, f"loading {Path(directory).name}")
    from core.model_store import load_model_dir
    if not Path(directory).is_dir():
        raise ModelError(f"no model at {directory}")
    return load_model_dir(directory, device="cpu")

def _grey_model(model):
    import torch.nn as nn

    class GreyInput(nn.Module):
        """(N, 1, H, W) -> the model on (N, C, H, W) with the grey replicated."""

        def __init__(self, inner):
            super().__init__()
            self.inner = inner
            self.in_channels = 1

        def _expand(self, x):
            return x.expand(-1, self.inner.in_channels, -1, -1)

        def forward(self, x):
            return self.inner(self._expand(x))

        def forward_with_features(self, x):
            return self.inner.forward_with_features(self._expand(x))

    return GreyInput(model)

# ----------------------------------------------------------------- labels
def known_label(path: Path | None, classes) -> str | None:
    """The class named in the file name (or its folder), if exactly one is."""
    if path is None:
        return None
    p = Path(path)
    tokens = set(re.split(r"[^A-Za-z0-9]+", p.stem.upper()))
    hits = [c for c in classes if c.upper() in tokens]
    if len(hits) == 1:
        return hits[0]
    parent = p.parent.name.upper()
    return next((c for c in classes if c.upper() == parent), None)

def quantize_8bit(x):
    """What an 8-bit file can carry: round to the nearest of 256 levels."""
    return (x * 255.0).round() / 255.0

def category(reference: str, fr) -> str:
    if not fr.accepted:
        return REJECTED
    return ACCEPTED_CORRECT if fr.label == reference else ACCEPTED_WRONG

# --------------------------------------------------------------- one frame
@dataclass
class FrameOutcome:
    params: DemoParams
    original: np.ndarray            # (S, S) float32, the grey model input
    adversarial: np.ndarray         # (S, S) float32, what the model was shown
    clean: Any                      # core.analysis.FrameResult
    adv: Any                        # FrameResult of ``adversarial``
    adv_float: Any | None           # before 8-bit rounding (eight_bit only)
    reference: str                  # the label "correct" is measured against
    reference_source: str           # "file name" or "clean prediction"
    category: str
    seconds: float                  # attack time only
    model_name: str = ""

    @property
    def perturbation(self) -> np.ndarray:
        return self.adversarial - self.original

    @property
    def linf_grey(self) -> float:
        return float(np.abs(self.perturbation).max() * 255.0)

    @property
    def changed_fraction(self) -> float:
        return float(np.mean(np.abs(self.perturbation) * 255.0 >= 0.5))

    @property
    def category_float(self) -> str | None:
        return None if self.adv_float is None else category(self.reference, self.adv_float)

class _Scaled:
    """A Progress view mapping [0, 1] onto [start, start + span] of ``parent``."""

    def __init__(self, parent: Progress, start: float, span: float, prefix: str = ""):
        self.parent, self.start, self.span, self.prefix = parent, start, span, prefix

    def update(self, fraction: float, message: str = "") -> None:
        self.parent.update(self.start + self.span * fraction, self.prefix + message)

    def check(self) -> None:
        self.parent.check()

def _run_attack(loaded, x1, y, params: DemoParams, progress):
    import torch

    from core.attacks import make_attack
    model = _grey_model(loaded.model)
    attack = make_attack(params.attack, model, gate=loaded.gate, **params.attack_kwargs())
    # PGD's random start: the same picture for the same settings
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return attack(x1, torch.tensor([y]), progress=progress)

def _analyze(loaded, x1):
    from core.analysis import Analyzer
    return Analyzer(loaded).analyze_tensor(x1.expand(-1, loaded.model.in_channels, -1, -1))

def attack_frame(loaded, frame: np.ndarray, source: Path | None, params: DemoParams,
                 progress: Progress, partial: Callable | None = None) -> FrameOutcome:
    """Attack one (H, W) frame of the open scan; the scan is never modified."""
    limit_threads()
    import torch

    from core.preprocess import to_tensor
    if params.attack == "adaptive" and loaded.gate is None:
        raise ModelError("the adaptive attack needs a model with a detection gate")
    with torch.no_grad():
        x1 = to_tensor(np.array(frame, copy=True), loaded.input_size, 1)
        if params.eight_bit:
            x1 = quantize_8bit(x1)
        clean = _analyze(loaded, x1)[0]
    known = known_label(source, loaded.classes)
    reference = known or clean.label
    y = loaded.classes.index(reference)
    progress.update(0.0, "attacking")
    t0 = time.perf_counter()
    adv = _run_attack(loaded, x1, y, params, progress)
    seconds = time.perf_counter() - t0
    progress.check()
    with torch.no_grad():
        adv_float = None
        if params.eight_bit:
            adv_float = _analyze(loaded, adv)[0]
            adv = quantize_8bit(adv)
        adv_res = _analyze(loaded, adv)[0]
    return FrameOutcome(params, x1[0, 0].numpy().copy(), adv[0, 0].numpy().copy(), clean,
                        adv_res, adv_float, reference,
                        "file name" if known else "clean prediction",
                        category(reference, adv_res), seconds, loaded.name)

# ---------------------------------------------------------------- a set
@dataclass
class Case:
    path: Path
    frame: int
    reference: str
    reference_source: str
    clean: Any
    adv: Any
    linf_grey: float

    @property
    def clean_category(self) -> str:
        return category(self.reference, self.clean)

    @property
    def adv_category(self) -> str:
        return category(self.reference, self.adv)

@dataclass
class SetResult:
    params: DemoParams
    model_name: str
    cases: list[Case] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    has_gate: bool = True

    def counts(self, which: str = "adv") -> dict[str, int]:
        cats = [c.adv_category if which == "adv" else c.clean_category for c in self.cases]
        return {k: cats.count(k) for k in (REJECTED, ACCEPTED_CORRECT, ACCEPTED_WRONG)}

    def _arrays(self, classes):
        idx = {c: i for i, c in enumerate(classes)}
        y = np.array([idx[c.reference] for c in self.cases])
        cp = np.array([idx[c.clean.label] for c in self.cases])
        ap = np.array([idx[c.adv.label] for c in self.cases])
        ca = np.array([c.clean.accepted for c in self.cases])
        aa = np.array([c.adv.accepted for c in self.cases])
        return y, cp, ca, ap, aa

    def risk(self, classes):
        """core.risk.Risk (paper Eq. 2 and 3) over the cases."""
        from core.risk import adversarial_risk
        return adversarial_risk(*self._arrays(classes))

    def auprc(self, classes) -> float:
        """The gate's average per-class AUPRC (NaN without a gate or success)."""
        if not self.has_gate or not self.cases:
            return float("nan")
        from core.risk import gate_auprc
        y, cp, ca, ap, aa = self._arrays(classes)
        cs = np.array([c.clean.score for c in self.cases], dtype=float)
        as_ = np.array([c.adv.score for c in self.cases], dtype=float)
        return gate_auprc(y, cs, ap, as_)["average"]

    def csv_text(self, classes) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        risk = self.risk(classes) if self.cases else None
        buf.write(f"# OCTGuard demo (perturbed images, not for clinical use): "
                  f"{self.params.describe()} on {self.model_name}\n")
        if risk is not None:
            buf.write(f"# n={risk.n} risk_without_gate={risk.r_f:.4f} "
                      f"risk_with_gate={risk.r_fg:.4f} gate_auprc={self.auprc(classes):.4f}\n")
        w.writerow(["file", "frame", "reference", "reference_source", "clean_label",
                    "clean_score", "clean_accepted", "adv_label", "adv_score", "adv_accepted",
                    "category", "linf_grey_levels"])
        for c in self.cases:
            w.writerow([c.path.name, c.frame, c.reference, c.reference_source, c.clean.label,
                        _num(c.clean.score), c.clean.accepted, c.adv.label, _num(c.adv.score),
                        c.adv.accepted, c.adv_category, f"{c.linf_grey:.3f}"])
        return buf.getvalue()

def _num(v) -> str:
    return "" if v is None else f"{v:.3f}"

def attack_set(paths: list[Path], loaded, params: DemoParams, progress: Progress,
               partial: Callable) -> SetResult:
    """Attack every frame of every scan; each case goes to ``partial``.
    Files that do not load become errors in the result, never exceptions."""
    limit_threads()
    from core.io import load_scan
    out = SetResult(params, loaded.name, has_gate=loaded.gate is not None)
    n = max(len(paths), 1)
    for i, p in enumerate(paths):
        progress.update(i / n, f"{i + 1} of {len(paths)}: {Path(p).name}")
        try:
            scan = load_scan(Path(p))
        except Cancelled:
            raise
        except (OCTGuardError, OSError, ValueError, MemoryError) as exc:
            out.errors.append(f"{Path(p).name}: {exc}")
            continue
        nf = scan.n_frames
        for k in range(nf):
            sub = _Scaled(progress, (i + k / nf) / n, 1 / (n * nf), f"{Path(p).name}: ")
            try:
                fo = attack_frame(loaded, scan.frames[k], Path(p), params, sub)
            except (ModelError, ScanError, RuntimeError, ValueError) as exc:
                out.errors.append(f"{Path(p).name} frame {k + 1}: {exc}")
                continue
            case = Case(Path(p), k, fo.reference, fo.reference_source, fo.clean, fo.adv,
                        fo.linf_grey)
            out.cases.append(case)
            partial(case)
    progress.update(1.0, f"{len(out.cases)} cases")
    return out

def sample_paths(target: Path, n: int = 2) -> list[Path]:
    """The shipped samples: seeded phantoms, generated once into ``target``."""
    from core.phantoms import write_samples
    existing = sorted(Path(target).glob("synthetic-*.png")) if Path(target).is_dir() else []
    if len(existing) >= 4 * n:
        return existing
    return [p for p in write_samples(target, n, volume_frames=0)]

# ---------------------------------------------------------------- files
def write_atomic(path: Path, data: bytes, protect: Path | None = None) -> Path:
    """Write via a temp file and rename. Refuses ``protect`` (the opened scan:
    the demo never writes to it)."""
    path = Path(path)
    if protect is not None and _same_file(path, protect):
        raise OSError(f"{path.name} is the opened scan; the demo never overwrites it")
    return atomic_write_bytes(path, data)

def _same_file(a: Path, b: Path) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve() or (
            Path(a).exists() and os.path.samefile(a, b))
    except OSError:
        return False

def finite(v: float) -> bool:
    return v is not None and math.isfinite(v)
