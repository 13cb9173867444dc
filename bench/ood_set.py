"""A seeded set of images that are not retinal OCT, for checking that the
detection gate rejects them.

Fifteen kinds, each a float32 (496, 512) array in [0, 1], the size of a
Spectralis B-scan in the Kermany set:

- ``ct``: a synthetic CT-like axial slice: an elliptical body, organs of
  different densities, a spine and rib rings of bright bone, CT-like noise.
- ``photo``: photograph-like: smooth lighting gradients, overlapping shapes,
  and fine texture.
- ``noise_uniform``, ``noise_gaussian``: pixel noise.
- ``checkerboard``: random square size, phase and contrast.
- ``blank``: one grey level (black, white or in between).
- ``text``: lines of printed words on white.
- eight more in :mod:`bench.ood_kinds`: real and procedural photographs, MR,
  X-ray, colour fundus, gradients, screenshots and plots.

Everything is drawn from ``numpy.random.default_rng(seed)``, so
``make_ood(kind, seed)`` is the same image on every machine.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .ood_draw import WORDS, ellipse, grid, smooth
from .ood_kinds import EXTRA

HEIGHT, WIDTH = 496, 512
# new kinds go at the end: each kind's random stream is seeded by its index
KINDS = ("ct", "photo", "noise_uniform", "noise_gaussian", "checkerboard", "blank", "text",
         "photo_real", "landscape", "mr", "xray", "fundus", "gradient", "screenshot", "plot")
def ct_slice(rng: np.random.Generator, h: int = HEIGHT, w: int = WIDTH) -> np.ndarray:
    yy, xx = grid(h, w)
    img = np.zeros((h, w), np.float32)                      # air
    cy, cx = h * rng.uniform(0.47, 0.53), w * rng.uniform(0.47, 0.53)
    ry, rx = h * rng.uniform(0.32, 0.40), w * rng.uniform(0.38, 0.45)
    img[ellipse(yy, xx, cy, cx, ry + 6, rx + 6)] = 0.30    # skin / fat
    img[ellipse(yy, xx, cy, cx, ry, rx)] = 0.42            # soft tissue
    # organs: liver-like, kidney-like and bowel-like blobs of different density
    for _ in range(rng.integers(3, 7)):
        oy = cy + rng.uniform(-0.5, 0.5) * ry
        ox = cx + rng.uniform(-0.6, 0.6) * rx
        m = ellipse(yy, xx, oy, ox, rng.uniform(0.1, 0.3) * ry, rng.uniform(0.1, 0.3) * rx,
                     rng.uniform(0, np.pi))
        img[m] = rng.uniform(0.35, 0.6)
    # lungs: two dark lobes in about half the slices
    if rng.random() < 0.5:
        for side in (-1, 1):
            img[ellipse(yy, xx, cy - 0.1 * ry, cx + side * 0.45 * rx, 0.55 * ry, 0.3 * rx)] = 0.05
    # spine: a bright ring with a darker canal, behind the centre
    sy, sx = cy + 0.7 * ry, cx
    img[ellipse(yy, xx, sy, sx, 0.14 * ry, 0.12 * rx)] = 0.95
    img[ellipse(yy, xx, sy, sx, 0.08 * ry, 0.07 * rx)] = 0.5
    # ribs: small bright rings along the body wall
    for t in np.linspace(0.15 * np.pi, 0.85 * np.pi, rng.integers(6, 11)):
        for side in (-1, 1):
            py = cy - 0.1 * ry + 0.85 * ry * np.sin(t - np.pi / 2) * 0.9
            px = cx + side * 0.88 * rx * np.cos(t - np.pi / 2)
            outer = ellipse(yy, xx, py, px, 9, 9)
            inner = ellipse(yy, xx, py, px, 5, 5)
            img[outer & ~inner] = 0.9
    img += rng.normal(0, 0.02, img.shape).astype(np.float32)   # quantum noise
    return np.clip(img, 0, 1).astype(np.float32)


def photo_like(rng: np.random.Generator, h: int = HEIGHT, w: int = WIDTH) -> np.ndarray:
    yy, xx = grid(h, w)
    a = rng.uniform(0, 2 * np.pi)
    img = 0.5 + 0.35 * ((xx / w - 0.5) * np.cos(a) + (yy / h - 0.5) * np.sin(a))  # lighting
    img += 0.15 * np.exp(-(((yy - rng.uniform(0, h)) / (0.4 * h)) ** 2
                           + ((xx - rng.uniform(0, w)) / (0.4 * w)) ** 2))        # highlight
    for _ in range(rng.integers(4, 10)):
        v = rng.uniform(0.05, 0.95)
        if rng.random() < 0.5:
            m = ellipse(yy, xx, rng.uniform(0, h), rng.uniform(0, w), rng.uniform(15, 120),
                         rng.uniform(15, 120), rng.uniform(0, np.pi))
        else:
            y0, x0 = rng.uniform(0, h), rng.uniform(0, w)
            m = (abs(yy - y0) < rng.uniform(10, 100)) & (abs(xx - x0) < rng.uniform(10, 100))
        shade = v + 0.1 * (yy - yy[m].mean() if m.any() else 0) / h
        img = np.where(m, shade, img)
    texture = smooth(rng.normal(0, 1, (h, w)).astype(np.float32), 2)
    img = img + 0.04 * texture / (texture.std() + 1e-6)
    return np.clip(img, 0, 1).astype(np.float32)


def noise_uniform(rng, h=HEIGHT, w=WIDTH):
    return rng.uniform(0, 1, (h, w)).astype(np.float32)


def noise_gaussian(rng, h=HEIGHT, w=WIDTH):
    mean, sd = rng.uniform(0.3, 0.7), rng.uniform(0.05, 0.3)
    return np.clip(rng.normal(mean, sd, (h, w)), 0, 1).astype(np.float32)


def checkerboard(rng, h=HEIGHT, w=WIDTH):
    yy, xx = grid(h, w)
    size = int(rng.integers(4, 97))
    oy, ox = rng.integers(0, size, 2)
    lo, hi = sorted(rng.uniform(0, 1, 2))
    board = ((yy + oy) // size + (xx + ox) // size) % 2
    return np.where(board == 1, max(hi, lo + 0.2), lo).clip(0, 1).astype(np.float32)


def blank(rng, h=HEIGHT, w=WIDTH):
    level = rng.choice([0.0, 1.0, rng.uniform(0, 1)])
    return np.full((h, w), level, np.float32)


def text_on_white(rng, h=HEIGHT, w=WIDTH):
    from PIL import Image, ImageDraw, ImageFont

    im = Image.new("L", (w, h), 255)
    draw = ImageDraw.Draw(im)
    size = int(rng.integers(12, 30))
    try:
        font = ImageFont.load_default(size=size)
    except TypeError:        # Pillow < 10.1 has only the fixed bitmap font
        font = ImageFont.load_default()
    y = int(rng.integers(5, 30))
    while y < h - size:
        line = " ".join(rng.choice(WORDS, int(rng.integers(3, 9))))
        draw.text((int(rng.integers(5, 40)), y), line, fill=int(rng.integers(0, 60)), font=font)
        y += int(size * rng.uniform(1.3, 2.0))
    return (np.asarray(im, np.float32) / 255.0).astype(np.float32)


GENERATORS = {"ct": ct_slice, "photo": photo_like, "noise_uniform": noise_uniform,
              "noise_gaussian": noise_gaussian, "checkerboard": checkerboard, "blank": blank,
              "text": text_on_white, **EXTRA}
assert tuple(GENERATORS) == KINDS      # each kind's random stream is seeded by its index


def make_ood(kind: str, seed: int, height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    """One image of ``kind``; the same (kind, seed) gives the same image."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose from {', '.join(KINDS)}")
    # a separate stream per kind, so adding a kind never changes the others
    rng = np.random.default_rng([seed, KINDS.index(kind)])
    return GENERATORS[kind](rng, height, width)


def write_ood_set(directory: str | Path, n_per_kind: int = 25, seed: int = 0,
                  kinds=KINDS) -> dict[str, list[Path]]:
    """8-bit PNGs ``<kind>-<index>.png``, as a user would open them."""
    from PIL import Image

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    out: dict[str, list[Path]] = {}
    for kind in kinds:
        out[kind] = []
        for i in range(n_per_kind):
            img = make_ood(kind, seed * 100_003 + i)
            path = directory / f"{kind}-{i:03d}.png"
            Image.fromarray(np.round(img * 255).astype(np.uint8)).save(path)
            out[kind].append(path)
    return out


if __name__ == "__main__":   # python -m bench.ood_set OUT_DIR [N]: write the set to look at
    import sys
    write_ood_set(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3)
