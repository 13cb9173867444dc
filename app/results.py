"""How a result reads: one wording shared by the panel, the folder list, the
clipboard text and the exported report, so they never disagree."""
from __future__ import annotations

ACCEPTED_TEXT = "Accepted"
REJECTED_TEXT = ("Rejected: this input looks manipulated or unlike the scans the model "
                 "was trained on; do not rely on the prediction")
NO_GATE_TEXT = "Not screened: this model has no detector; treat the prediction with care"
NOT_CLINICAL = "Research demonstration only, not for clinical use."


def scan_summary(result) -> tuple[str, str]:
    """(short text, state) for a whole scan; state is accepted/rejected/unscreened."""
    frames = result.frames
    if not frames:
        return "no frames", "rejected"
    rejected = [f for f in frames if not f.accepted]
    if rejected:
        n = len(rejected)
        what = "rejected" if len(frames) == 1 else f"{n} of {len(frames)} frames rejected"
        return f"{what}, prediction withheld", "rejected"
    labels = [f.label for f in frames]
    top = max(set(labels), key=labels.count)
    state = "unscreened" if frames[0].score is None else "accepted"
    if len(frames) == 1:
        return top, state
    return f"{top} ({labels.count(top)} of {len(frames)} frames)", state


def frame_text(fr) -> str:
    lines = []
    if fr.accepted:
        lines.append(f"Prediction: {fr.label} ({fr.probabilities[fr.label]:.1%})")
    else:
        lines.append("Prediction withheld (input rejected by the detector); "
                     f"model's guess, not reliable: {fr.label}")
    probs = ", ".join(f"{c} {p:.1%}" for c, p in fr.probabilities.items())
    lines.append(f"Probabilities: {probs}")
    if fr.score is None:
        lines.append(NO_GATE_TEXT)
    else:
        lines.append(f"Detector: {ACCEPTED_TEXT if fr.accepted else REJECTED_TEXT}")
        lines.append(f"Detector score {fr.score:.1f} (threshold {fr.threshold:.1f}, "
                     f"margin {fr.score - fr.threshold:+.1f})")
    return "\n".join(lines)


def result_text(scan_name: str, result, frame: int, model_line: str) -> str:
    """The clipboard / report text for the frame on screen."""
    fr = result.frames[frame]
    head = f"OCTGuard result for {scan_name}"
    if len(result.frames) > 1:
        head += f", frame {frame + 1} of {len(result.frames)}"
    return "\n".join([head, frame_text(fr), f"Model: {model_line}", NOT_CLINICAL])
