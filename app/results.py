"""How a result reads in the viewer: one wording shared by the panel, the
folder list, the clipboard text and the exported report, so they never
disagree. The words for one frame come from core.verdict, as the CLI's do."""
from __future__ import annotations

from core.verdict import (ACCEPTED_TEXT, GATE, NO_CONTENT_TEXT, NO_GATE_TEXT, NOT_OCT, NOT_OCT_TEXT,
                          REJECTED, REJECTED_TEXT, UNSCREENED, frame_text, headline)

__all__ = ["GATE", "UNSCREENED", "ACCEPTED_TEXT", "REJECTED_TEXT", "NO_GATE_TEXT", "NOT_OCT_TEXT", "NO_CONTENT_TEXT",
           "NOT_CLINICAL", "headline", "frame_text", "scan_summary", "result_text"]

NOT_CLINICAL = "Research demonstration only, not for clinical use."


def scan_summary(result) -> tuple[str, str]:
    """(short text, state) for a whole scan; state is accepted/rejected/unscreened."""
    frames = result.frames
    if not frames:
        return "no frames", REJECTED
    rejected = [f for f in frames if f.verdict == REJECTED]
    if rejected:
        n = len(rejected)
        if all(f.reason == NOT_OCT for f in rejected) and n == len(frames):
            return "not an OCT scan, refused", REJECTED
        what = "rejected" if len(frames) == 1 else f"{n} of {len(frames)} frames rejected"
        return f"{what}, prediction withheld", REJECTED
    labels = [f.label for f in frames]
    top = max(set(labels), key=labels.count)
    state = UNSCREENED if frames[0].verdict == UNSCREENED else "accepted"
    if len(frames) == 1:
        return top, state
    return f"{top} ({labels.count(top)} of {len(frames)} frames)", state


def result_text(scan_name: str, result, frame: int, model_line: str) -> str:
    """The clipboard / report text for the frame on screen."""
    fr = result.frames[frame]
    head = f"OCTGuard result for {scan_name}"
    if len(result.frames) > 1:
        head += f", frame {frame + 1} of {len(result.frames)}"
    return "\n".join([head, frame_text(fr), f"Model: {model_line}", NOT_CLINICAL])
