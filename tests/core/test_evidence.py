"""Evidence maps: geometry back onto the frame, the right layer, cancellation."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

pytest.importorskip("captum")

from core import evidence
from core.errors import Cancelled
from core.evidence import explain_frame, explain_tensor, to_frame
from core.evidence_image import composite, rgba, write_png
from core.preprocess import square_box, to_tensor
from core.progress import Progress

SIZE = 32


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    from core.model_store import load_model_dir
    from core.random_model import write_random_model

    d, _, _ = write_random_model(tmp_path_factory.mktemp("m") / "m", input_size=SIZE)
    return load_model_dir(d, device="cpu")


@pytest.mark.parametrize("shape", [(96, 128), (128, 96), (64, 64), (75, 200)])
def test_map_goes_back_through_the_crop(shape):
    h, w = shape
    frame = np.zeros(shape, np.float32)
    top, left, side = square_box(h, w)
    # a bright blob inside the square, off-centre
    cy, cx = top + side // 3, left + (2 * side) // 3
    frame[cy - 3:cy + 4, cx - 3:cx + 4] = 1.0
    model_map = to_tensor(frame, SIZE, 1)[0, 0].numpy()
    back, box = to_frame(model_map, shape)
    assert back.shape == shape and box == (top, left, side)
    # nothing where the model never looked
    assert not back[:top].any() and not back[top + side:].any()
    assert not back[:, :left].any() and not back[:, left + side:].any()
    iy, ix = np.unravel_index(np.argmax(back), shape)
    tol = side / SIZE + 1
    assert abs(iy - cy) <= tol and abs(ix - cx) <= tol


def test_explain_frame_shape_target_and_scale(loaded):
    frame = np.random.default_rng(0).random((70, 90)).astype(np.float32)
    ev = explain_frame(loaded, frame)
    assert ev.heat.shape == frame.shape and ev.heat.dtype == np.float32
    assert ev.box == square_box(70, 90)
    assert 0.0 <= ev.heat.min() and ev.heat.max() <= 1.0
    with torch.no_grad():
        logits = loaded.model(to_tensor(frame, SIZE, 3))
    assert ev.target == loaded.classes[int(logits.argmax())]
    other = next(c for c in loaded.classes if c != ev.target)
    ev2 = explain_frame(loaded, frame, target=other)
    assert ev2.target == other
    assert ev2.probability == pytest.approx(float(torch.softmax(logits, 1)[0, loaded.classes.index(other)]), abs=1e-5)
    assert ev.caption().startswith("Grad-CAM")


def test_gradcam_is_the_last_block(loaded):
    """The map equals Grad-CAM computed by hand on layer4 (Selvaraju et al.)."""
    x = to_tensor(np.random.default_rng(1).random((SIZE, SIZE)), SIZE, 3)
    model = loaded.model
    acts = {}
    h = model.backbone.layer4.register_forward_hook(lambda m, i, o: acts.setdefault("a", o))
    try:
        out = model(x)
    finally:
        h.remove()
    a = acts["a"]
    g, = torch.autograd.grad(out[0, 2], a)
    cam = torch.relu((g.mean((2, 3), keepdim=True) * a).sum(1, keepdim=True))
    want = nn.functional.interpolate(cam, (SIZE, SIZE), mode="bilinear", align_corners=False)
    got = explain_tensor(model, x, 2, "gradcam")
    np.testing.assert_allclose(got, want[0, 0].detach().numpy(), rtol=1e-4, atol=1e-6)


class QuadrantNet(nn.Module):
    """Class 0's logit is the mean brightness of the top-left quadrant only."""

    def forward(self, x):
        s = x.shape[-1] // 2
        q = x[:, :, :s, :s].mean((1, 2, 3))
        return torch.stack([q, torch.zeros_like(q)], 1)


def test_occlusion_finds_the_region_the_model_reads():
    x = torch.full((1, 3, SIZE, SIZE), 0.8)
    m = explain_tensor(QuadrantNet(), x, 0, "occlusion")
    h = SIZE // 2
    win = round(SIZE * evidence.OCCLUSION_WINDOW)
    assert m[:h, :h].min() > 0
    assert not m[h + win:, :].any() and not m[:, h + win:].any()


def test_cancel_stops_occlusion_midway():
    seen = []

    def cb(f, msg):
        seen.append(f)
        if len(seen) == 2:
            pr.cancel()

    pr = Progress(cb)
    with pytest.raises(Cancelled):
        explain_tensor(QuadrantNet(), torch.rand(1, 3, SIZE, SIZE), 0, "occlusion", pr)
    assert len(seen) == 2 and seen[1] < 1.0


def test_cancelled_before_start_computes_nothing(loaded):
    pr = Progress()
    pr.cancel()
    with pytest.raises(Cancelled):
        explain_frame(loaded, np.zeros((40, 40), np.float32) + 0.5, progress=pr)


def test_unknown_method_is_a_clear_error(loaded):
    with pytest.raises(ValueError, match="unknown evidence method"):
        explain_frame(loaded, np.zeros((40, 40), np.float32), method="magic")


def test_maps_run_on_a_private_copy(loaded):
    net = evidence._private(loaded.model)
    assert net is not loaded.model
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(),
                                                  loaded.model.state_dict().values()))
    assert not loaded.model.backbone.layer4._forward_hooks


def test_overlay_drawing_and_png(tmp_path, loaded):
    from PIL import Image

    heat = np.zeros((20, 30), np.float32)
    heat[5:10, 5:10] = 1.0
    c = rgba(heat)
    assert c.shape == (20, 30, 4) and c[0, 0, 3] == 0 and c[7, 7, 3] == 255
    grey = np.full((20, 30), 0.5, np.float32)
    out = composite(grey, heat, 0.5)
    assert (out[0, 0] == 128).all()                     # no evidence: the scan untouched
    assert not (out[7, 7] == out[7, 7, 0]).all()        # evidence: coloured
    with pytest.raises(ValueError):
        composite(grey, heat[:10])
    frame = np.random.default_rng(2).random((48, 64)).astype(np.float32)
    ev = explain_frame(loaded, frame)
    p = write_png(tmp_path / "e.png", frame, ev)
    im = Image.open(p)
    assert im.size == (64, 48) and im.mode == "RGB"
    assert "evidence" in im.text["Description"] and "not for clinical use" in im.text["Comment"]
