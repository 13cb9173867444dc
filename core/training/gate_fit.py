"""Fit the detection gate for a trained classifier.

Fitted on *clean* labeled training scans and calibrated on the held-out clean
``calib`` part of the split: thresholds set on the fitting scans themselves
would be far too optimistic (with fewer scans than feature dimensions,
in-sample likelihoods are inflated). Two designs, one switch
(``TrainConfig.gate_parts``): the shipped multi-part gate (core.detectors),
or ``paper``, the paper's per-class GMM over penultimate features.
``octguard train`` and ``octguard fit-gate`` both go through
:func:`fit_any_gate`, so a researcher's model gets the gate the viewer ships.
"""
from __future__ import annotations

from pathlib import Path

from ..data import index_dataset, read_split, split_items
from ..gate import GaussianGate
from ..model_store import load_model_dir, save_model_dir, write_manifest
from ..batches import decode_items, extract_features, predict_images
from .config import TrainConfig  # the gate's defaults live there, once


def fit_gate(model, lab_x, lab_y, cal_x, device, *, n_components=TrainConfig.gate_components,
             covariance=TrainConfig.gate_covariance, reg_covar=TrainConfig.gate_reg_covar,
             rejection_rate=TrainConfig.gate_rejection_rate, seed=0) -> GaussianGate:
    channels = model.in_channels
    gate = GaussianGate(n_components, covariance, reg_covar, rejection_rate, seed).fit(
        extract_features(model, lab_x, channels, device), lab_y.numpy())
    if len(cal_x):
        gate.calibrate(extract_features(model, cal_x, channels, device),
                       predict_images(model, cal_x, channels, device).numpy())
    return gate


def fit_uad_gate(model, lab_x, lab_y, cal_x, device, *, parts: str, rejection_rate=0.05):
    """The multi-part gate (core.detectors): parts fitted on clean labeled
    scans, standardised and thresholded on the held-out clean calib scans."""
    from ..detectors import UADGate
    from ..detectors.components import parse_parts

    gate = UADGate(parse_parts(parts), rejection_rate).fit(model, lab_x, lab_y, device)
    return gate.calibrate(model, cal_x, device) if len(cal_x) else gate


PAPER = "paper"   # gate_parts value: the paper's UAD instead of the multi-part gate


def fit_any_gate(model, lab_x, lab_y, cal_x, device, *, parts: str = TrainConfig.gate_parts,
                 rejection_rate=TrainConfig.gate_rejection_rate, **gmm_options):
    """The gate ``parts`` names: the multi-part gate, or with ``paper`` the
    paper's GMM, shaped by ``gmm_options`` (n_components, covariance, ...)."""
    if parts.strip() == PAPER:
        return fit_gate(model, lab_x, lab_y, cal_x, device, rejection_rate=rejection_rate, **gmm_options)
    return fit_uad_gate(model, lab_x, lab_y, cal_x, device, parts=parts, rejection_rate=rejection_rate)


def refit_model_gate(model_dir: str | Path, data: str, split_path: str, out: str | Path | None = None,
                     half: bool = False, gate_parts: str = TrainConfig.gate_parts, **options):
    """Refit the gate in place, or with ``out`` write a copy of the model
    (fp16 weights with ``half``) and fit the copy's gate on the weights it
    actually holds."""
    lm = load_model_dir(model_dir, device="cpu", trainable=out is not None)   # a copy saves the weights
    if out is not None:
        import json

        keep = {k: v for k, v in lm.meta.items()
                if k not in ("weights_sha256", "dtype", "format", "classes", "in_channels")}
        history = json.loads((lm.directory / "history.json").read_text()) \
            if (lm.directory / "history.json").exists() else None
        save_model_dir(out, lm.model, keep, None, history, half=half)
        lm = load_model_dir(out, device="cpu")
    parts = split_items(index_dataset(data), read_split(split_path))
    lab_x, lab_y = decode_items(parts["labeled"], lm.input_size)
    cal_x, _ = decode_items(parts["calib"], lm.input_size)
    gate = fit_any_gate(lm.model, lab_x, lab_y, cal_x, lm.device, parts=gate_parts, **options)
    gate.save(lm.directory, lm.weights_sha256)
    write_manifest(lm.directory)
    return gate
