"""Analyse scans: preprocess, classify, score with the gate, accept or reject.

The viewer and ``octguard predict`` both use this, so a scan gets the same
answer wherever it is opened.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .model_store import LoadedModel
from .preprocess import to_tensor
from .progress import Progress
from .scan import Scan


@dataclass
class FrameResult:
    frame: int
    label: str
    probabilities: dict[str, float]
    score: float | None          # gate log-likelihood; None when there is no gate
    threshold: float | None
    accepted: bool               # False when the gate rejects the input

    def as_dict(self) -> dict:
        return {"frame": self.frame, "label": self.label, "probabilities": self.probabilities,
                "score": self.score, "threshold": self.threshold, "accepted": self.accepted}


@dataclass
class ScanResult:
    frames: list[FrameResult] = field(default_factory=list)


# A frame whose whole dynamic range is below one 8-bit grey level holds no
# image at all (a blank export, a black frame): nothing about it resembles an
# OCT B-scan, and the feature-density gate alone let half of such frames through.
MIN_CONTRAST = 1.0 / 255


class Analyzer:
    def __init__(self, loaded: LoadedModel, batch_size: int = 16):
        self.loaded = loaded
        self.batch_size = batch_size

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
            thresholds = lm.gate.threshold_for(pred)
        flat = x.flatten(1)
        has_content = ((flat.amax(1) - flat.amin(1)) >= MIN_CONTRAST).cpu().numpy()
        out = []
        for i in range(len(pred)):
            score = float(scores[i]) if lm.gate is not None else None
            thr = float(thresholds[i]) if lm.gate is not None else None
            out.append(FrameResult(
                frame=i, label=lm.classes[pred[i]],
                probabilities={c: float(p) for c, p in zip(lm.classes, probs[i])},
                score=score, threshold=thr,
                accepted=bool(has_content[i]) and (score is None or bool(score >= thr))))
        return out

    def analyze_many(self, scans: list[Scan], progress: Progress | None = None) -> list[ScanResult]:
        """Several scans with their frames batched together, so a folder of
        single B-scans runs at batched speed instead of one forward each. A
        volume is the one-scan case: folders and volumes share this path."""
        if not scans:
            return []
        n = sum(s.n_frames for s in scans)
        frames: list[FrameResult] = []
        for x in self._batches(scans):
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

    def _batches(self, scans: list[Scan]):
        """Model-input batches of ``batch_size`` frames across the scans, each
        scan's frames preprocessed at its own size, a batch at a time."""
        lm, size = self.loaded, self.batch_size
        buf, n_buf = [], 0
        for s in scans:
            start = 0
            while start < s.n_frames:
                take = min(size - n_buf, s.n_frames - start)
                buf.append(to_tensor(s.frames[start:start + take], lm.input_size,
                                     lm.model.in_channels))
                n_buf, start = n_buf + take, start + take
                if n_buf == size:
                    yield torch.cat(buf)
                    buf, n_buf = [], 0
        if buf:
            yield torch.cat(buf)

    def analyze(self, scan: Scan, progress: Progress | None = None) -> ScanResult:
        return self.analyze_many([scan], progress)[0]
