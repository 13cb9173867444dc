"""The accept/reject rule, and how a verdict reads. Defined here once: the
analyser (viewer, ``octguard predict``/``attack``, smoke test, demo) and
``octguard evaluate`` all decide with :func:`decide`, and every text about a
frame result comes from :func:`frame_line` or :func:`frame_text`.

A frame is, in this order:

1. rejected, ``no content``: its whole dynamic range is below one 8-bit grey
   level (a blank export, a black frame); nothing in it can be judged;
2. rejected, ``not OCT``: core.oct_check says it has no OCT structure;
3. rejected, ``gate``: the detection gate's score is below the threshold
   (the model's own per-class threshold, or the user's override);
4. unscreened: the model has no gate, so nothing screened the prediction;
5. accepted.
"""
from __future__ import annotations

import numpy as np

ACCEPTED, REJECTED, UNSCREENED = "accepted", "rejected", "unscreened"
GATE, NO_CONTENT, NOT_OCT = "gate", "no content", "not OCT"

# below one 8-bit grey level of range a frame holds no image at all; the
# feature-density gate alone let half of such frames through
MIN_CONTRAST = 1.0 / 255


def has_content(grey: np.ndarray) -> np.ndarray:
    """(N, ...) images -> (N,) bool: a range of at least one grey level."""
    flat = np.asarray(grey).reshape(len(grey), -1)
    return (flat.max(1) - flat.min(1)) >= MIN_CONTRAST


def decide(score: float | None, threshold: float | None, content: bool = True,
           oct_like: bool = True) -> tuple[str, str | None]:
    """(verdict, reason) of one frame; reason is None unless rejected."""
    if not content:
        return REJECTED, NO_CONTENT
    if not oct_like:
        return REJECTED, NOT_OCT
    if score is None:
        return UNSCREENED, None
    if not score >= threshold:            # a NaN score is rejected too
        return REJECTED, GATE
    return ACCEPTED, None


def decide_many(scores, thresholds, content=None, oct_like=None) -> np.ndarray:
    """Vectorised :func:`decide` for evaluation: (N,) bool, True = let through."""
    ok = np.asarray(scores) >= np.asarray(thresholds)
    if content is not None:
        ok &= np.asarray(content, dtype=bool)
    if oct_like is not None:
        ok &= np.asarray(oct_like, dtype=bool)
    return ok


# -- how a verdict reads -----------------------------------------------------------
ACCEPTED_TEXT = "Accepted"
REJECTED_TEXT = ("Rejected: this input looks manipulated or unlike the scans the model "
                 "was trained on; do not rely on the prediction")
NO_GATE_TEXT = "Not screened: this model has no detector; treat the prediction with care"
NOT_OCT_TEXT = "Refused: this image does not look like an OCT B-scan; no prediction is made"
NO_CONTENT_TEXT = "Refused: this frame is blank (no image content); no prediction is made"


def headline(fr) -> str:
    """The one-sentence state of a frame, as the viewer's flag shows it."""
    if fr.verdict == ACCEPTED:
        return ACCEPTED_TEXT
    if fr.verdict == UNSCREENED:
        return NO_GATE_TEXT
    if fr.reason == NOT_OCT:
        return NOT_OCT_TEXT + (f" ({fr.why})" if getattr(fr, "why", "") else "")
    if fr.reason == NO_CONTENT:
        return NO_CONTENT_TEXT
    return REJECTED_TEXT


def short_verdict(fr) -> str:
    """'accepted', 'unscreened', 'REJECTED by the gate', 'REFUSED: not OCT (...)'."""
    if fr.verdict == ACCEPTED:
        return "accepted"
    if fr.verdict == UNSCREENED:
        return "not screened (no gate)"
    if fr.reason == GATE:
        return "REJECTED by the gate"
    why = f" ({fr.why})" if fr.reason == NOT_OCT and getattr(fr, "why", "") else ""
    return f"REFUSED: {fr.reason}{why}"


def frame_line(fr, prefix: str = "") -> str:
    """One line per frame: the CLI's predict and attack, the smoke test."""
    head = f"{prefix}: " if prefix else ""
    gate = "" if fr.score is None else f"  gate {fr.score:.1f} (threshold {fr.threshold:.1f})"
    if fr.verdict == REJECTED and fr.reason != GATE:   # refused: no class, not even a guess
        return f"{head}{short_verdict(fr)}"
    return f"{head}{fr.label} p={fr.probabilities[fr.label]:.3f}{gate}  {short_verdict(fr)}"


def frame_text(fr) -> str:
    """Several lines: the viewer's clipboard and report text."""
    lines = []
    if fr.verdict in (ACCEPTED, UNSCREENED):
        lines.append(f"Prediction: {fr.label} ({fr.probabilities[fr.label]:.1%})")
    elif fr.reason == GATE:
        lines.append("Prediction withheld (input rejected by the detector); "
                     f"model's guess, not reliable: {fr.label}")
    else:
        lines.append(f"No prediction: {headline(fr)}")
        return "\n".join(lines)
    probs = ", ".join(f"{c} {p:.1%}" for c, p in fr.probabilities.items())
    lines.append(f"Probabilities: {probs}")
    if fr.score is None:
        lines.append(NO_GATE_TEXT)
    else:
        lines.append(f"Detector: {headline(fr)}")
        lines.append(f"Detector score {fr.score:.1f} (threshold {fr.threshold:.1f}, "
                     f"margin {fr.score - fr.threshold:+.1f})")
    return "\n".join(lines)
