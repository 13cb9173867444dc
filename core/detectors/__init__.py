"""Unsupervised adversarial detectors beyond the paper's penultimate GMM, and
the gate that combines them (see gate.py)."""
from .components import ClassGaussian, Squeeze
from .gate import UADGate

__all__ = ["ClassGaussian", "Squeeze", "UADGate"]
