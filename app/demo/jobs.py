"""The demo's background work, Qt-free: attack one frame, attack a set.

Functions take ``(…, progress, partial)`` like app/jobs.py and import torch
lazily, on the worker thread. Attacking a frame is core's use case
(core.attacks.frame: grey input replicated inside the gradient, model or
native resolution, the 8-bit grid); the demo adds its reference label, the
label in the file name where there is one (:func:`known_label`), and
otherwise the model's own prediction on the clean image.
"""
from __future__ import annotations

import csv
import io
import math
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

import numpy as np

from core.atomic import atomic_write_bytes
from core.attacks.outcome import AttackOutcome, category, known_label  # noqa: F401 - the demo's API
from core.errors import Cancelled, ModelError, OCTGuardError, ScanError
from core.progress import Progress
from core.risk import ACCEPTED_CORRECT, ACCEPTED_WRONG, REJECTED

from .params import DemoParams

CATEGORY_TEXT = {REJECTED: "Rejected by the gate", ACCEPTED_CORRECT: "Accepted, still correct",
                 ACCEPTED_WRONG: "Accepted and wrong"}
# torch's intra-op pool spins on every core; on a 2-core laptop that starves
# the GUI thread. One thread fewer for demo work leaves a core to the window.
WORKER_THREADS = max(1, (os.cpu_count() or 2) - 1)
_default_threads: list[int] = []      # torch's own count, read on the first demo job
_default_lock = threading.Lock()


@contextmanager
def fewer_threads():
    """Demo and evidence work: torch on WORKER_THREADS in this thread while
    it runs, then torch's own count again. torch keeps the count per thread
    (OpenMP) and new threads copy the last one set, so without the restore a
    pool thread that once ran demo work, and every thread started after it,
    would analyse scans on one thread of two for the rest of the session."""
    import torch
    with _default_lock:
        if not _default_threads:
            _default_threads.append(torch.get_num_threads())
    default = _default_threads[0]
    if default > WORKER_THREADS:
        torch.set_num_threads(WORKER_THREADS)
    try:
        yield
    finally:
        if torch.get_num_threads() != default:
            torch.set_num_threads(default)


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
    return load_model_dir(directory, device="cpu")


# --------------------------------------------------------------- one frame
@dataclass
class FrameOutcome(AttackOutcome):
    """Core's outcome plus the demo controls that asked for it."""
    params: DemoParams | None = None


@fewer_threads()
def attack_frame(loaded, frame: np.ndarray, source: Path | None, params: DemoParams,
                 progress: Progress, partial: Callable | None = None, scan=None) -> FrameOutcome:
    """Attack one (H, W) frame of the open scan; the scan is never modified.
    ``scan`` (the open scan) sets the grid of a native 8-bit attack: the
    grid of the file Export would write from it."""
    from core.attacks.frame import attack_frame as core_attack_frame
    spec = params.spec()
    if spec.needs_gate and loaded.gate is None:
        raise ModelError("the adaptive attack needs a model with a detection gate")
    known = known_label(source, loaded.classes)
    quant = export_plan("adversarial" + export_suffix(scan), scan).quant if spec.on_grid else 255
    o = core_attack_frame(loaded, frame, spec, reference=known,
                          reference_source="file name" if known else "clean prediction",
                          quant=quant, progress=progress)
    return FrameOutcome(**{f.name: getattr(o, f.name) for f in fields(AttackOutcome)}, params=params)


def export_suffix(scan) -> str:
    """A DICOM source exports as DICOM (its header copied), anything else as PNG."""
    return ".dcm" if scan is not None and scan.metadata.get("Format") == "DICOM" else ".png"


def export_plan(path: Path | str, scan):
    from core.writers import plan_output
    return plan_output(Path(path), scan)


def export_file(loaded, outcome: FrameOutcome, scan, frame: int, path: Path, progress: Progress,
                partial: Callable | None = None):
    """Write a native-resolution 8-bit result as a marked PNG or DICOM a user
    can send on, then reopen it as the viewer would: returns (path, verdict
    of the written file)."""
    from core.analysis import Analyzer
    from core.io import load_scan
    from core.writers import DICOM, write_adversarial
    progress.update(0.0, f"writing {Path(path).name}")
    plan = export_plan(path, scan)
    if not plan.is_file_level:
        raise OSError(f"{Path(path).name}: export as .png or .dcm")
    out = write_adversarial(plan, outcome.adversarial, scan=scan, frame=frame,
                            description=f"{outcome.spec.describe()} on {outcome.model_name}, "
                                        f"from {scan.name if scan else 'a scan'} frame {frame}")
    progress.update(0.5, "reopening it")
    back = load_scan(out)
    k = frame if plan.format == DICOM and back.n_frames > frame else 0
    return out, Analyzer(loaded).analyze(back).frames[k]


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


@fewer_threads()
def attack_set(paths: list[Path], loaded, params: DemoParams, progress: Progress,
               partial: Callable) -> SetResult:
    """Attack every frame of every scan; each case goes to ``partial``.
    Files that do not load become errors in the result, never exceptions."""
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
            sub = progress.part((i + k / nf) / n, 1 / (n * nf), f"{Path(p).name}: ")
            try:
                fo = attack_frame(loaded, scan.frames[k], Path(p), params, sub, scan=scan)
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
