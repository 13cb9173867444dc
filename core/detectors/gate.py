"""A gate made of several unsupervised detectors (core.detectors.components).

Still unsupervised, as the paper's UAD: every part is fitted on clean
labeled scans only, and the combination is calibrated on held-out clean
scans only. Each part's score is standardised by its mean and spread on the
held-out clean scans, and the gate's score is the sum of those z-scores
(higher = more normal); ``offset_`` is then set per predicted class so that
``rejection_rate`` of the held-out clean scans is rejected, as for
``GaussianGate``. No attack is ever seen while fitting: which parts to use
is chosen beforehand, by AUPRC against attacks on the calib part
(scripts/detector_study.py, docs/training.md).

The interface is the one every consumer uses for any gate:
``score_torch(model, x) -> (logits, score)``, differentiable end to end,
plus ``threshold_for``, ``classes_``, ``offset_`` and ``rejection_rate``.
Saved as gate.npz + gate.json (format 2), bound to the classifier's sha256.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ..atomic import atomic_path, atomic_write_text
from ..errors import ModelError
from .components import COMPONENTS
from .taps import forward_with_taps

GATE_FORMAT = 2


class UADGate:
    # the adaptive attack weighs the gate score against cross-entropy; z-score
    # sums are already of order one
    attack_scale = 1.0

    def __init__(self, components: list, rejection_rate: float = 0.05):
        if not components:
            raise ValueError("a gate needs at least one component")
        self.components = list(components)
        self.rejection_rate = rejection_rate

    @property
    def name(self) -> str:
        return " + ".join(c.name for c in self.components)

    @property
    def network_passes(self) -> int:
        """Forward passes of the classifier per scan: the one that classifies
        and taps the features, plus one per squeezed copy."""
        return 1 + sum(len(c.squeezers) for c in self.components if c.kind == "squeeze")

    @property
    def taps(self) -> set[str]:
        """The classifier's taps the parts read (the others are not computed)."""
        return {c.tap for c in self.components if c.kind == "class_gaussian"}

    # -- the one scoring path ------------------------------------------------
    def component_scores_torch(self, model, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits and the raw (N, n_components) scores, differentiably."""
        logits, taps = forward_with_taps(model, x, self.taps)
        pred = logits.argmax(1).detach()
        raw = torch.stack([c.score_torch(taps, pred, model=model, x=x, logits=logits)
                           for c in self.components], 1)
        return logits, raw

    def score_torch(self, model, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, raw = self.component_scores_torch(model, x)
        loc = torch.as_tensor(self.loc_, dtype=raw.dtype, device=raw.device)
        scale = torch.as_tensor(self.scale_, dtype=raw.dtype, device=raw.device)
        return logits, ((raw - loc) / scale).sum(1)

    @torch.no_grad()
    def _raw_batched(self, model, images, batch, device):
        """(logits, raw scores) as numpy for a float or uint8 image tensor."""
        from ..batches import as_float

        outs, raws = [], []
        for i in range(0, len(images), batch):
            xb = images[i:i + batch]
            xb = as_float(xb, model.in_channels, device) if xb.dtype == torch.uint8 else xb.to(device)
            lg, raw = self.component_scores_torch(model, xb)
            outs.append(lg.float().cpu())
            raws.append(raw.cpu())
        return torch.cat(outs).numpy(), torch.cat(raws).numpy()

    # -- fitting (clean scans only) ---------------------------------------------
    def fit(self, model, images_u8: torch.Tensor, labels: torch.Tensor, device="cpu", batch: int = 64,
            n_classes: int | None = None) -> "UADGate":
        """Fit every part on clean labeled scans, scored under their true labels."""
        from ..batches import as_float

        was = model.training
        model.eval()
        feats: dict[str, list] = {}
        with torch.no_grad():
            for i in range(0, len(images_u8), batch):
                _, taps = forward_with_taps(model, as_float(images_u8[i:i + batch], model.in_channels, device),
                                            self.taps)
                for k, v in taps.items():
                    feats.setdefault(k, []).append(v.double().cpu())
        model.train(was)
        y = labels.numpy()
        k = int(n_classes or y.max() + 1)
        self.classes_ = np.arange(k)
        for c in self.components:
            if c.kind == "class_gaussian":
                c.fit(torch.cat(feats[c.tap]).numpy(), y, k)
        self.loc_ = np.zeros(len(self.components))
        self.scale_ = np.ones(len(self.components))
        self.offset_ = np.full(k, -np.inf)
        return self

    def calibrate(self, model, images_u8: torch.Tensor, device="cpu", batch: int = 64) -> "UADGate":
        """Standardise each part and set the thresholds on held-out clean scans."""
        was = model.training
        model.eval()
        logits, raw = self._raw_batched(model, images_u8, batch, device)
        model.train(was)
        self.loc_ = raw.mean(0)
        self.scale_ = raw.std(0) + 1e-12
        s = ((raw - self.loc_) / self.scale_).sum(1)
        pred = logits.argmax(1)
        pooled = np.quantile(s, self.rejection_rate)
        self.offset_ = np.array([np.quantile(s[pred == c], self.rejection_rate) if (pred == c).sum() >= 10
                                 else pooled for c in self.classes_])
        return self

    # -- sklearn-style verdicts ---------------------------------------------------
    def threshold_for(self, predicted) -> np.ndarray:
        return self.offset_[np.asarray(predicted)]

    def predict_scores(self, scores, predicted) -> np.ndarray:
        return np.where(np.asarray(scores) >= self.threshold_for(predicted), 1, -1)

    # -- storage --------------------------------------------------------------------
    def save(self, directory: str | Path, classifier_sha256: str) -> None:
        from ..hashing import sha256_file

        directory = Path(directory)
        arrays = {"classes": self.classes_, "loc": self.loc_, "scale": self.scale_, "offset": self.offset_}
        for i, c in enumerate(self.components):
            arrays.update({f"c{i}_{k}": v for k, v in c.arrays().items()})
        with atomic_path(directory / "gate.npz") as tmp:
            with open(tmp, "wb") as f:
                np.savez_compressed(f, **arrays)
        meta = {"format": GATE_FORMAT, "kind": "uad", "components": [c.spec() for c in self.components],
                "rejection_rate": self.rejection_rate, "classifier_sha256": classifier_sha256,
                "npz_sha256": sha256_file(directory / "gate.npz")}
        atomic_write_text(directory / "gate.json", json.dumps(meta, indent=2))

    @classmethod
    def from_saved(cls, meta: dict, directory: Path) -> "UADGate":
        try:
            with np.load(directory / "gate.npz", allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
            comps = []
            for i, spec in enumerate(meta["components"]):
                own = {k[len(f"c{i}_"):]: v for k, v in arrays.items() if k.startswith(f"c{i}_")}
                comps.append(COMPONENTS[spec["kind"]].from_saved(spec, own))
            gate = cls(comps, meta["rejection_rate"])
            gate.classes_, gate.loc_ = arrays["classes"], arrays["loc"]
            gate.scale_, gate.offset_ = arrays["scale"], arrays["offset"]
        except ModelError:
            raise
        except Exception as exc:  # a malformed file can fail in many ways; all mean "unusable"
            raise ModelError(f"gate unreadable: {exc}") from exc
        return gate
