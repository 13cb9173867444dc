"""The Unsupervised Adversarial Detector (UAD): one Gaussian mixture per class
over the classifier's penultimate features, fitted on clean images only.

It has the scikit-learn outlier-detector shape (see ``IsolationForest``):
``score_samples`` is a log-likelihood (higher = more normal), ``offset_`` is
set from held-out clean scores at a stated clean-rejection rate,
``decision_function = score_samples - offset_`` and ``predict`` gives +1
(accept) or -1 (reject). Every call also takes the *predicted* class,
because an input is scored under the mixture of the class it was assigned.

Fitting is in float64: float32 EM fails on real 512-d features (more
dimensions than samples per class). Thresholds must be calibrated on
held-out clean images: in-sample likelihoods are far too optimistic.

The state is a few arrays, saved as npz + JSON, never pickled; ``gate.json``
names the sha256 of the classifier the features came from.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch

from .atomic import atomic_path, atomic_write_text
from .errors import ModelError
from .hashing import sha256_file

GATE_FORMAT = 1


class GaussianGate:
    """Per-class density gate.

    Parameters
    ----------
    n_components : mixture components per class.
    covariance_type : "full", "diag" or "lw" (one Gaussian with Ledoit-Wolf
        shrinkage, which behaves when samples per class < feature dimension).
    reg_covar : added to covariance diagonals, as in the paper.
    rejection_rate : share of held-out clean images the threshold rejects.
    """

    def __init__(self, n_components: int = 1, covariance_type: str = "full",
                 reg_covar: float = 1e-3, rejection_rate: float = 0.05,
                 random_state: int = 0):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.rejection_rate = rejection_rate
        self.random_state = random_state

    network_passes = 1   # forward passes of the classifier per scan: the features come from the classifying one

    # -- fitting ---------------------------------------------------------
    def fit(self, features: np.ndarray, labels: np.ndarray) -> "GaussianGate":
        # scikit-learn only fits: importing it costs the viewer's first answer ~2 s
        from sklearn.covariance import LedoitWolf
        from sklearn.mixture import GaussianMixture

        Z = np.asarray(features, dtype=np.float64)
        y = np.asarray(labels)
        self.classes_ = np.unique(y)
        k = 1 if self.covariance_type == "lw" else self.n_components
        d = Z.shape[1]
        self.weights_ = np.zeros((len(self.classes_), k))
        self.means_ = np.zeros((len(self.classes_), k, d))
        self.precisions_cholesky_ = np.zeros((len(self.classes_), k, d, d))
        for i, c in enumerate(self.classes_):
            Zc = Z[y == c]
            if len(Zc) < max(2, k):
                raise ValueError(f"class {c}: {len(Zc)} samples, need at least {max(2, k)}")
            if self.covariance_type == "lw":
                cov = LedoitWolf().fit(Zc).covariance_ + self.reg_covar * np.eye(d)
                self.weights_[i] = 1.0
                self.means_[i, 0] = Zc.mean(0)
                self.precisions_cholesky_[i, 0] = _precision_cholesky(cov)
            else:
                gm = GaussianMixture(k, covariance_type=self.covariance_type,
                                     reg_covar=self.reg_covar,
                                     random_state=self.random_state, max_iter=200).fit(Zc)
                self.weights_[i] = gm.weights_
                self.means_[i] = gm.means_
                pc = gm.precisions_cholesky_
                self.precisions_cholesky_[i] = (
                    pc if self.covariance_type == "full" else np.stack([np.diag(p) for p in pc]))
        self.offset_ = np.full(len(self.classes_), -np.inf)
        return self

    def calibrate(self, features: np.ndarray, predicted: np.ndarray) -> "GaussianGate":
        """Set ``offset_`` per class so ``rejection_rate`` of these held-out
        clean images is rejected. Classes with fewer than 10 held-out images
        use the pooled quantile, since a per-class quantile would be noise."""
        s = self.score_samples(features, predicted)
        pred = np.asarray(predicted)
        pooled = np.quantile(s, self.rejection_rate)
        self.offset_ = np.array([
            np.quantile(s[pred == c], self.rejection_rate) if (pred == c).sum() >= 10 else pooled
            for c in self.classes_])
        return self

    # -- scoring ---------------------------------------------------------
    def _index(self, predicted) -> np.ndarray:
        pred = np.asarray(predicted)
        idx = np.searchsorted(self.classes_, pred)
        if np.any(idx >= len(self.classes_)) or np.any(self.classes_[np.minimum(idx, len(self.classes_) - 1)] != pred):
            raise ValueError("predicted class not seen when the gate was fitted")
        return idx

    def score_samples(self, features: np.ndarray, predicted: np.ndarray) -> np.ndarray:
        """Log-likelihood of each feature under its predicted class's mixture."""
        with torch.no_grad():
            z = torch.as_tensor(np.asarray(features, dtype=np.float64))
            idx = torch.as_tensor(self._index(predicted))
            return self.log_likelihood_torch(z, idx).numpy()

    def decision_function(self, features, predicted) -> np.ndarray:
        return self.score_samples(features, predicted) - self.offset_[self._index(predicted)]

    def predict(self, features, predicted) -> np.ndarray:
        return np.where(self.decision_function(features, predicted) >= 0, 1, -1)

    def threshold_for(self, predicted) -> np.ndarray:
        return self.offset_[self._index(predicted)]

    def predict_scores(self, scores, predicted) -> np.ndarray:
        return np.where(np.asarray(scores) >= self.threshold_for(predicted), 1, -1)

    @property
    def attack_scale(self) -> float:
        """The adaptive attack divides the log-likelihood by this, the feature
        dimension, to weigh it against cross-entropy."""
        return float(self.means_.shape[-1])

    def score_torch(self, model, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits and the log-likelihood under the predicted class, differentiably
        (the interface every gate shares; see core.detectors.gate)."""
        logits, z = model.forward_with_features(x)
        idx = torch.as_tensor(self._index(logits.argmax(1).cpu().numpy()), device=z.device)
        return logits, self.log_likelihood_torch(z.double(), idx)

    def log_likelihood_torch(self, z: torch.Tensor, class_index: torch.Tensor) -> torch.Tensor:
        """Differentiable log p(z | class) for the adaptive attack.
        ``class_index`` indexes ``classes_`` (the classifier's label ids when
        every class was seen in training)."""
        dt = z.dtype
        mu = torch.as_tensor(self.means_, dtype=dt, device=z.device)                 # C,K,D
        pc = torch.as_tensor(self.precisions_cholesky_, dtype=dt, device=z.device)   # C,K,D,D
        w = torch.as_tensor(self.weights_, dtype=dt, device=z.device)                # C,K
        class_index = torch.as_tensor(class_index, device=z.device)
        # score under every class, then pick: gathering a D x D matrix per
        # sample would copy N*K*D*D numbers (130 MB for 64 images at D = 512)
        y = torch.einsum("nckd,ckde->ncke", z[:, None, None, :] - mu, pc)          # N,C,K,D
        log_det = torch.log(torch.diagonal(pc, dim1=-2, dim2=-1)).sum(-1)          # C,K
        d = z.shape[1]
        log_prob = -0.5 * (d * math.log(2 * math.pi) + (y * y).sum(-1)) + log_det  # N,C,K
        ll = torch.logsumexp(torch.log(w.clamp_min(1e-300)) + log_prob, dim=2)      # N,C
        return ll.gather(1, class_index.long().view(-1, 1)).squeeze(1)

    # -- storage ---------------------------------------------------------
    def save(self, directory: str | Path, classifier_sha256: str) -> None:
        directory = Path(directory)
        arrays = dict(classes=self.classes_, weights=self.weights_, means=self.means_,
                      precisions_cholesky=self.precisions_cholesky_, offset=self.offset_)
        # compressed: diagonal precisions are stored as mostly-zero D x D matrices
        with atomic_path(directory / "gate.npz") as tmp:
            with open(tmp, "wb") as f:
                np.savez_compressed(f, **arrays)
        meta = {"format": GATE_FORMAT, "n_components": self.n_components,
                "covariance_type": self.covariance_type, "reg_covar": self.reg_covar,
                "rejection_rate": self.rejection_rate, "random_state": self.random_state,
                "classifier_sha256": classifier_sha256,
                "npz_sha256": sha256_file(directory / "gate.npz")}
        atomic_write_text(directory / "gate.json", json.dumps(meta, indent=2))

    @classmethod
    def from_saved(cls, meta: dict, directory: Path) -> "GaussianGate":
        try:
            gate = cls(meta["n_components"], meta["covariance_type"], meta["reg_covar"],
                       meta["rejection_rate"], meta["random_state"])
        except KeyError as exc:
            raise ModelError(f"gate.json lacks {exc}") from exc
        try:
            with np.load(directory / "gate.npz", allow_pickle=False) as npz:
                gate.classes_ = npz["classes"]
                gate.weights_ = npz["weights"]
                gate.means_ = npz["means"]
                gate.precisions_cholesky_ = npz["precisions_cholesky"]
                gate.offset_ = npz["offset"]
        except Exception as exc:
            raise ModelError(f"gate.npz unreadable: {exc}") from exc
        return gate

    @classmethod
    def load(cls, directory: str | Path, classifier_sha256: str):
        return load_gate(directory, classifier_sha256)


def describe_gate(meta: dict) -> str:
    """One line about a gate, from its gate.json, for reports and model cards."""
    rate = f"thresholds set so {100 * meta['rejection_rate']:.0f}% of held-out clean calib scans are rejected"
    if meta.get("format") == 2:
        parts = []
        for c in meta["components"]:
            if c["kind"] == "class_gaussian":
                parts.append(f"class-conditional Gaussian over {c['tap']} features ({c['covariance']} covariance)")
            else:
                parts.append(f"feature squeezing ({', '.join(c['squeezers'])})")
        return ("sum of z-scores of " + "; ".join(parts) + ", each fitted on clean labeled scans and "
                "standardised on held-out clean scans; " + rate)
    return (f"one {meta['covariance_type']}-covariance Gaussian mixture per class ({meta['n_components']} "
            f"component(s), reg_covar {meta['reg_covar']:g}) over the 512-d penultimate features of clean "
            f"training scans (the paper's UAD); " + rate)


def load_gate(directory: str | Path, classifier_sha256: str):
    """Load whichever gate a model directory holds (format 1: the paper's
    per-class GMM; format 2: a core.detectors.UADGate), after checking that it
    belongs to these weights and that gate.npz is the one gate.json names."""
    directory = Path(directory)
    try:
        meta = json.loads((directory / "gate.json").read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"gate.json unreadable: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") not in (GATE_FORMAT, 2):
        raise ModelError(f"gate format {meta.get('format') if isinstance(meta, dict) else None!r} not supported")
    if meta.get("classifier_sha256") != classifier_sha256:
        raise ModelError("the gate was fitted for a different classifier "
                         "(its classifier sha256 does not match these weights)")
    try:
        npz_sha256 = sha256_file(directory / "gate.npz")
    except OSError as exc:
        raise ModelError(f"gate.npz unreadable: {exc}") from exc
    if npz_sha256 != meta.get("npz_sha256"):
        raise ModelError("gate.npz does not match the sha256 in gate.json (tampered or truncated)")
    if meta["format"] == 2:
        from .detectors.gate import UADGate

        return UADGate.from_saved(meta, directory)
    return GaussianGate.from_saved(meta, directory)


def _precision_cholesky(cov: np.ndarray) -> np.ndarray:
    """Upper-triangular P with P P^T = cov^-1, sklearn's convention."""
    from scipy.linalg import solve_triangular

    chol = np.linalg.cholesky(cov)
    return solve_triangular(chol, np.eye(len(cov)), lower=True).T
