"""Class-evidence maps: where on the scan the model found evidence for a class.

Computed with captum (imported lazily: it pulls in matplotlib) on the model's
own input, then mapped back onto the original frame through the inverse of
``core.preprocess``: the model-input map is resized to the centre square's
side and placed where the crop was taken; outside the crop there is no
evidence (the model never saw those columns).

Why these methods, and their measured cost and lesion hits: docs/evidence.md.
The viewer, ``octguard predict --evidence`` and the reports all call
:func:`explain_frame`, so a scan shows the same map everywhere.
"""
from __future__ import annotations

import copy
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .progress import Progress

if TYPE_CHECKING:
    import numpy as np

# numpy and torch are imported where used: the command line's parser reads
# METHODS, and `octguard --help` must not wait for them

# name -> what the user reads; DEFAULT_METHOD is the one measured best for its cost
METHODS = {"gradcam": "Grad-CAM (last residual block)",
           "occlusion": "occlusion (1/8-side patches)"}
DEFAULT_METHOD = "gradcam"
OCCLUSION_WINDOW, OCCLUSION_STRIDE = 1 / 8, 1 / 16   # fractions of the input side
OCCLUSION_BATCH = 32


@dataclass
class EvidenceMap:
    heat: np.ndarray        # (H, W) float32 in [0, 1] on the original frame; 0 outside the crop
    box: tuple[int, int, int]   # (top, left, side) of the square the model saw
    target: str             # the class the map explains
    probability: float      # the model's probability for that class
    method: str             # key of METHODS
    peak: float             # raw maximum before scaling; 0 means no positive evidence

    @property
    def empty(self) -> bool:
        return not self.peak > 0

    def caption(self) -> str:
        what = METHODS.get(self.method, self.method)
        if self.empty:
            return f"{what}: no positive evidence for {self.target}"
        return f"{what}: evidence for {self.target} (p={self.probability:.2f})"


def to_frame(model_map: np.ndarray, frame_shape: tuple[int, int]) -> tuple[np.ndarray, tuple]:
    """(S, S) map on the model input -> (H, W) map on the frame, plus the box.

    The forward path crops the centre square and resizes it to S; this resizes
    back to the square's side (bilinear, pixel centres aligned as the forward
    resize aligns them) and pastes it at the crop."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    from .preprocess import square_box

    h, w = int(frame_shape[0]), int(frame_shape[1])
    top, left, side = square_box(h, w)
    m = torch.from_numpy(np.ascontiguousarray(model_map, dtype=np.float32))[None, None]
    if m.shape[-1] != side:
        m = F.interpolate(m, size=(side, side), mode="bilinear", align_corners=False)
    out = np.zeros((h, w), dtype=np.float32)
    out[top:top + side, left:left + side] = m[0, 0].numpy()
    return out, (top, left, side)


# captum's layer attributions hook the model's layers while they run, so a
# forward on another thread (the viewer analyses while the map is computed)
# would leak into them: every map runs on a private copy of the network.
_copies: dict[int, object] = {}
_copies_lock = threading.Lock()


def _private(model):
    with _copies_lock:
        net = _copies.get(id(model))
        if net is None or net[0] is not model:
            net = (model, copy.deepcopy(model).eval())
            _copies.clear()             # one model at a time: the viewer's current one
            _copies[id(model)] = net
        return net[1]


def explain_tensor(model, x, target: int, method: str = DEFAULT_METHOD,
                   progress: Progress | None = None) -> np.ndarray:
    """x: (1, C, S, S) in [0, 1] -> (S, S) float32 map, >= 0, raw scale."""
    import numpy as np
    import torch

    if method not in METHODS:
        raise ValueError(f"unknown evidence method {method!r}; choose from {', '.join(METHODS)}")
    progress = progress or Progress()
    progress.update(0.0, "evidence map")
    net = _private(model)
    x = x.detach().float()
    size = x.shape[-1]
    if method == "gradcam":
        from captum.attr import LayerAttribution, LayerGradCam

        a = LayerGradCam(net, net.backbone.layer4).attribute(x, target=int(target),
                                                             relu_attributions=True)
        m = LayerAttribution.interpolate(a, (size, size), "bilinear")[0, 0]
    else:
        from captum.attr import Occlusion

        win = max(1, round(size * OCCLUSION_WINDOW))
        stride = max(1, round(size * OCCLUSION_STRIDE))
        n_total = ((size - win) // stride + 1) ** 2
        done = [0]

        def forward(inp):
            # captum has no callback: count its batches here, and cancel here
            progress.update(done[0] / max(n_total, 1), "evidence map (occlusion)")
            done[0] += inp.shape[0]
            return net(inp)

        with torch.no_grad():
            # the grey image is replicated over the channels: occlude all of them
            a = Occlusion(forward).attribute(
                x, target=int(target), sliding_window_shapes=(x.shape[1], win, win),
                strides=(x.shape[1], stride, stride), baselines=0.0,
                perturbations_per_eval=OCCLUSION_BATCH)
        m = a[0].mean(0).clamp_min(0)
    progress.update(1.0, "evidence map ready")
    return m.detach().numpy().astype(np.float32)


def explain_frame(loaded, frame: np.ndarray, target: str | None = None,
                  method: str = DEFAULT_METHOD, progress: Progress | None = None) -> EvidenceMap:
    """The evidence map of one (H, W) frame for ``target`` (default: the
    model's predicted class), on the frame's own geometry."""
    import numpy as np

    from .preprocess import to_tensor

    x = to_tensor(frame, loaded.input_size, loaded.model.in_channels).to(loaded.device)
    return explain_input(loaded, x, np.shape(frame)[-2:], target, method, progress)


def explain_input(loaded, x, frame_shape, target: str | None = None,
                  method: str = DEFAULT_METHOD, progress: Progress | None = None) -> EvidenceMap:
    """Like :func:`explain_frame` for an already preprocessed (1, C, S, S)
    input; ``frame_shape`` (S, S) keeps it on the model-input geometry
    (bench.evidence_methods measures there). The demo goes through
    :func:`explain_frame`, since a native attack's images are whole frames."""
    import numpy as np
    import torch

    if x.shape[1] != loaded.model.in_channels:
        x = x.expand(-1, loaded.model.in_channels, -1, -1)
    with torch.no_grad():
        probs = torch.softmax(loaded.model(x).float(), 1)[0].cpu().numpy()
    t = int(probs.argmax()) if target is None else loaded.classes.index(target)
    raw = explain_tensor(loaded.model, x, t, method, progress)
    peak = float(raw.max()) if raw.size else 0.0
    heat = raw / peak if peak > 0 else np.zeros_like(raw)
    heat, box = to_frame(heat, frame_shape)
    return EvidenceMap(np.clip(heat, 0.0, 1.0), box, loaded.classes[t], float(probs[t]),
                       method, peak)
