"""How many frames went to each class and how many were rejected.

One summary for a volume (one ScanResult) and for a folder (many), so the
viewer, the report and ``octguard predict`` count the same way.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FrameSummary:
    n_frames: int = 0
    per_class: dict[str, int] = field(default_factory=dict)   # accepted frames by label
    rejected: int = 0
    unscreened: int = 0      # frames counted in per_class that no detector screened

    def as_dict(self) -> dict:
        return {"frames": self.n_frames, "per_class": dict(self.per_class),
                "rejected": self.rejected, "unscreened": self.unscreened}

    def text(self) -> str:
        """'10 frames: CNV 2, DME 0, DRUSEN 1, NORMAL 3; 4 rejected'."""
        classes = ", ".join(f"{c} {n}" for c, n in self.per_class.items())
        out = f"{self.n_frames} frame{'s' if self.n_frames != 1 else ''}: {classes}; " \
              f"{self.rejected} rejected"
        if self.unscreened:
            out += f" ({self.unscreened} not screened by a detector)"
        return out


def summarize(results, classes) -> FrameSummary:
    """Count the frames of one ScanResult or of a list of them; ``classes``
    fixes the order (and shows classes no frame went to, as 0)."""
    if not isinstance(results, (list, tuple)):
        results = [results]
    s = FrameSummary(per_class={c: 0 for c in classes})
    for res in results:
        for fr in res.frames:
            s.n_frames += 1
            if not fr.accepted:
                s.rejected += 1
                continue
            s.per_class[fr.label] = s.per_class.get(fr.label, 0) + 1
            if fr.score is None:
                s.unscreened += 1
    return s
