"""Analyse scans: preprocess, check the frame is OCT, classify, score with
the gate, and give each frame its verdict (core.verdict's one rule).

The viewer, ``octguard predict``/``attack``, the smoke test and the demo all
use this, so a scan gets the same answer wherever it is opened.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from . import oct_check
from .model_store import LoadedModel
from .preprocess import to_tensor
from .progress import Progress
from .scan import Scan
from .verdict import REJECTED, decide, has_content


@dataclass
class FrameResult:
    frame: int
    label: str
    probabilities: dict[str, float]
    score: float | None          # gate score, higher = more normal; None when there is no gate
    threshold: float | None      # the model's, or the user's override
    verdict: str                 # core.verdict: accepted, rejected or unscreened
    reason: str | None = None    # when rejected: gate, no content or not OCT
    why: str = ""                # not OCT: which statistic said so (core.oct_check)

    @property
    def accepted(self) -> bool:
        """The prediction may be shown (accepted, or unscreened by a gate-less model)."""
        return self.verdict != REJECTED

    def as_dict(self) -> dict:
        return {"frame": self.frame, "label": self.label, "probabilities": self.probabilities,
                "score": self.score, "threshold": self.threshold, "accepted": self.accepted,
                "verdict": self.verdict, "reason": self.reason, "why": self.why or None}

    @classmethod
    def from_dict(cls, d: dict) -> "FrameResult":
        """Back from :meth:`as_dict` (``accepted`` follows from the verdict)."""
        return cls(d["frame"], d["label"], dict(d["probabilities"]), d["score"], d["threshold"],
                   d["verdict"], d.get("reason"), d.get("why") or "")


@dataclass
class ScanResult:
    frames: list[FrameResult] = field(default_factory=list)


# frames per forward: at 160 px on 2 CPU cores 32 runs about 8% faster per
# scan than 16 (25.6 against 28.0 ms, 2026-12-03), and a 32-frame batch of
# activations is tens of MB; the viewer's folder job fills batches of this size
BATCH_SIZE = 32


class Analyzer:
    """``threshold_override``: a user-set gate threshold that replaces the
    model's per-class ones (the rest of the rule stays). ``check_oct=False``
    skips core.oct_check, for research on inputs that are deliberately not
    OCT; the viewer and the CLI always check."""

    def __init__(self, loaded: LoadedModel, batch_size: int = BATCH_SIZE,
                 threshold_override: float | None = None, check_oct: bool = True):
        self.loaded = loaded
        self.batch_size = batch_size
        self.threshold_override = None if threshold_override is None else float(threshold_override)
        self.check_oct = check_oct

    def with_threshold(self, override: float | None) -> "Analyzer":
        """The same model with another threshold override (None: the model's own)."""
        return Analyzer(self.loaded, self.batch_size, override, self.check_oct)

    @torch.no_grad()
    def analyze_tensor(self, x: torch.Tensor) -> list[FrameResult]:
        """x: (N, C, S, S) in [0, 1], already preprocessed."""
        lm = self.loaded
        if lm.gate is not None:
            logits, s = lm.gate.score_torch(lm.model, x.to(lm.device))
            scores = s.cpu().numpy()
        else:
            logits = lm.model(x.to(lm.device))
        probs = torch.softmax(logits.float(), 1).cpu().numpy()
        pred = probs.argmax(1)
        if lm.gate is not None:
            thresholds = (lm.gate.threshold_for(pred) if self.threshold_override is None
                          else np.full(len(pred), self.threshold_override))
        grey = x[:, 0].cpu().numpy()
        content = has_content(grey)
        checks = oct_check.check(grey) if self.check_oct else None
        out = []
        for i in range(len(pred)):
            score = float(scores[i]) if lm.gate is not None else None
            thr = float(thresholds[i]) if lm.gate is not None else None
            ok = checks is None or checks[i].ok
            verdict, reason = decide(score, thr, bool(content[i]), ok)
            out.append(FrameResult(
                frame=i, label=lm.classes[pred[i]],
                probabilities={c: float(p) for c, p in zip(lm.classes, probs[i])},
                score=score, threshold=thr, verdict=verdict, reason=reason,
                why="" if ok else checks[i].why))
        return out

    def prepare(self, scan: Scan) -> torch.Tensor:
        """The scan's frames as the network's input, (F, 1, S, S): the CPU
        work before the network, which the folder job does on its loader
        threads for single B-scans. One grey channel: the classifier
        replicates it inside (OCTClassifier.normalise), so the squeezed copies
        and the batch hold a third of the pixels, with the same answer."""
        return self._input(scan.frames)

    def _input(self, frames: np.ndarray) -> torch.Tensor:
        return to_tensor(frames, self.loaded.input_size, 1)

    def analyze_many(self, scans: list[Scan], progress: Progress | None = None,
                     inputs: list[torch.Tensor | None] | None = None) -> list[ScanResult]:
        """Several scans with their frames batched together, so a folder of
        single B-scans runs at batched speed instead of one forward each. A
        volume is the one-scan case: folders and volumes share this path.
        ``inputs``: :meth:`prepare` of each scan where already done (None
        where not); the rest are prepared here, a batch at a time."""
        if not scans:
            return []
        n = sum(s.n_frames for s in scans)
        frames: list[FrameResult] = []
        for x in self._batches(scans, inputs or [None] * len(scans)):
            if progress is not None:
                progress.update(len(frames) / n, f"frame {len(frames) + 1} of {n}")
            frames.extend(self.analyze_tensor(x))
        if progress is not None:
            progress.update(1.0, "done")
        out, k = [], 0
        for s in scans:
            res = ScanResult(frames[k:k + s.n_frames])
            for j, fr in enumerate(res.frames):
                fr.frame = j
            out.append(res)
            k += s.n_frames
        return out

    def _batches(self, scans: list[Scan], inputs: list[torch.Tensor | None]):
        """Model-input batches of ``batch_size`` frames across the scans, each
        scan's frames preprocessed at its own size (unless prepared), a batch
        at a time, so a long volume never sits in memory at input size."""
        size = self.batch_size
        buf, n_buf = [], 0
        for s, ready in zip(scans, inputs):
            start = 0
            while start < s.n_frames:
                take = min(size - n_buf, s.n_frames - start)
                buf.append(ready[start:start + take] if ready is not None
                           else self._input(s.frames[start:start + take]))
                n_buf, start = n_buf + take, start + take
                if n_buf == size:
                    yield torch.cat(buf)
                    buf, n_buf = [], 0
        if buf:
            yield torch.cat(buf)

    def analyze(self, scan: Scan, progress: Progress | None = None) -> ScanResult:
        return self.analyze_many([scan], progress)[0]
