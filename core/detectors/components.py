"""The parts a gate is built from. Each scores images, higher = more normal,
differentiably, so an adaptive attack can see all of it.

- ``ClassGaussian``: a Gaussian per predicted class over one tap's features,
  with a covariance shared by the classes (``tied``, Lee et al. 2018: one
  well-estimated matrix instead of four from ~200-550 scans each), per
  class and diagonal (``diag``), or per class and full (``full``: the
  paper's one-component GMM with reg_covar on the diagonal).
- ``Squeeze``: feature squeezing (Xu et al., NDSS 2018): the L1 distance
  between the softmax of the input and of its squeezed copies (bit depth,
  3x3 median). A perturbation of a grey level or two that flips the label is
  wiped out by squeezing, a real scan's answer is not. Rounding has no
  gradient, so the score uses the straight-through estimator (BPDA,
  Athalye et al. 2018) for the attacks that adapt to it.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


class ClassGaussian:
    kind = "class_gaussian"

    def __init__(self, tap: str = "pen", covariance: str = "tied", reg_covar: float = 1e-3):
        if covariance not in ("tied", "diag", "full"):
            raise ValueError(f"covariance must be tied, diag or full, not {covariance!r}")
        self.tap, self.covariance, self.reg_covar = tap, covariance, reg_covar

    @property
    def name(self) -> str:
        return f"{self.tap}_{self.covariance}"

    def fit(self, feats: np.ndarray, labels: np.ndarray, n_classes: int) -> "ClassGaussian":
        Z, y = np.asarray(feats, np.float64), np.asarray(labels)
        self.means_ = np.stack([Z[y == c].mean(0) for c in range(n_classes)])
        if self.covariance == "tied":
            from sklearn.covariance import LedoitWolf  # fitting only: not on the inference path

            resid = Z - self.means_[y]
            cov = LedoitWolf().fit(resid).covariance_ + self.reg_covar * np.eye(Z.shape[1])
            self.precision_ = np.linalg.inv(cov)
        elif self.covariance == "full":
            eye = self.reg_covar * np.eye(Z.shape[1])
            covs = [np.cov(Z[y == c], rowvar=False, bias=True) + eye for c in range(n_classes)]
            self.precision_ = np.stack([np.linalg.inv(c) for c in covs])
            self.logdet_ = np.array([np.linalg.slogdet(c)[1] for c in covs])
        else:
            self.var_ = np.stack([Z[y == c].var(0) for c in range(n_classes)]) + self.reg_covar
        return self

    def score_torch(self, taps: dict, pred: torch.Tensor, **_) -> torch.Tensor:
        z = taps[self.tap].double()
        if self.covariance == "full":
            # under every class, then pick: gathering a D x D matrix per image costs N*D*D
            mus = torch.as_tensor(self.means_, device=z.device)
            p = torch.as_tensor(self.precision_, device=z.device)
            dc = z[:, None, :] - mus[None]                                   # N, C, D
            maha = (torch.einsum("ncd,cde->nce", dc, p) * dc).sum(-1)        # N, C
            ll = -0.5 * (maha + torch.as_tensor(self.logdet_, device=z.device))
            return ll.gather(1, pred.view(-1, 1)).squeeze(1)
        d = z - torch.as_tensor(self.means_, device=z.device)[pred]
        if self.covariance == "tied":
            p = torch.as_tensor(self.precision_, device=z.device)
            return -0.5 * ((d @ p) * d).sum(1)
        var = torch.as_tensor(self.var_, device=z.device)[pred]
        return -0.5 * (d * d / var + var.log()).sum(1)

    def arrays(self) -> dict:
        if self.covariance == "tied":
            return {"means": self.means_, "precision": self.precision_}
        if self.covariance == "full":
            return {"means": self.means_, "precision": self.precision_, "logdet": self.logdet_}
        return {"means": self.means_, "var": self.var_}

    def spec(self) -> dict:
        return {"kind": self.kind, "tap": self.tap, "covariance": self.covariance, "reg_covar": self.reg_covar}

    @classmethod
    def from_saved(cls, spec: dict, arrays: dict) -> "ClassGaussian":
        c = cls(spec["tap"], spec["covariance"], spec["reg_covar"])
        c.means_ = arrays["means"]
        if c.covariance in ("tied", "full"):
            c.precision_ = arrays["precision"]
        if c.covariance == "full":
            c.logdet_ = arrays["logdet"]
        if c.covariance == "diag":
            c.var_ = arrays["var"]
        return c


def _round_ste(x: torch.Tensor, levels: int) -> torch.Tensor:
    """Bit-depth reduction whose backward pass is the identity (BPDA)."""
    q = torch.round(x * levels) / levels
    return x + (q - x).detach()


def median3(x: torch.Tensor) -> torch.Tensor:
    p = F.pad(x, (1, 1, 1, 1), mode="reflect")
    return p.unfold(2, 3, 1).unfold(3, 3, 1).reshape(*x.shape, 9).median(-1).values


SQUEEZERS = {
    "bits4": lambda x: _round_ste(x, 15),
    "bits5": lambda x: _round_ste(x, 31),
    "median3": median3,
}


class Squeeze:
    kind = "squeeze"

    def __init__(self, squeezers: tuple[str, ...] = ("bits4", "median3")):
        unknown = set(squeezers) - set(SQUEEZERS)
        if unknown:
            raise ValueError(f"unknown squeezers {sorted(unknown)}; choose from {sorted(SQUEEZERS)}")
        self.squeezers = tuple(squeezers)

    @property
    def name(self) -> str:
        return "squeeze_" + "+".join(self.squeezers)

    def fit(self, *_args, **_kw) -> "Squeeze":
        return self  # nothing to learn

    def score_torch(self, taps: dict, pred: torch.Tensor, *, model, x, logits) -> torch.Tensor:
        p = F.softmax(logits.float(), 1)
        d = torch.stack([(F.softmax(model(SQUEEZERS[s](x)).float(), 1) - p).abs().sum(1)
                         for s in self.squeezers])
        return -d.amax(0).double()

    def arrays(self) -> dict:
        return {}

    def spec(self) -> dict:
        return {"kind": self.kind, "squeezers": list(self.squeezers)}

    @classmethod
    def from_saved(cls, spec: dict, arrays: dict) -> "Squeeze":
        return cls(tuple(spec["squeezers"]))


COMPONENTS = {c.kind: c for c in (ClassGaussian, Squeeze)}


def parse_parts(text: str) -> list:
    """Gate parts from a short spec, as ``octguard fit-gate --parts`` takes it:
    ``layer2:tied,pen:diag,squeeze:bits4+median3``."""
    parts = []
    for item in filter(None, (t.strip() for t in text.split(","))):
        head, _, arg = item.partition(":")
        if head == "squeeze":
            parts.append(Squeeze(tuple(arg.split("+")) if arg else ("bits4", "median3")))
        else:
            from .taps import TAPS

            if head not in TAPS:
                raise ValueError(f"unknown gate part {item!r}: use one of {', '.join(TAPS)} "
                                 f"(with :tied, :diag or :full) or squeeze[:bits4+bits5+median3]")
            parts.append(ClassGaussian(head, arg or "tied"))
    if not parts:
        raise ValueError("no gate parts given")
    return parts
