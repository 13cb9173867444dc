"""core.preprocess: the network sees the centre square of a frame, resized."""
import numpy as np
import pytest
import torch

from core.preprocess import preprocess, square_box, to_tensor


@pytest.mark.parametrize("shape", [(40, 64), (64, 40), (48, 48), (2, 37, 53)])
def test_to_tensor_is_the_centre_square_resized(shape):
    rng = np.random.default_rng(0)
    frames = rng.random(shape, dtype=np.float32)
    out = to_tensor(frames, 24, 3)
    stack = frames if frames.ndim == 3 else frames[None]
    top, left, side = square_box(*stack.shape[-2:])
    square = np.ascontiguousarray(stack[:, top:top + side, left:left + side])
    expect = preprocess(torch.from_numpy(square)[:, None], 24, 3)
    assert out.shape == (len(stack), 3, 24, 24) and out.is_contiguous()
    assert torch.equal(out, expect)
    # the pixels outside the square play no part
    outside = stack.copy()
    outside[:, :top] = 1.0
    outside[:, top + side:] = 0.0
    outside[:, :, :left] = 1.0
    outside[:, :, left + side:] = 0.0
    assert torch.equal(to_tensor(outside, 24, 3), out)
