"""More kinds of non-OCT image for :mod:`bench.ood_set`: what a user could
plausibly drop into the viewer by mistake (issue 13).

- ``photo_real``: crops, flips, scales and exposures of the photograph that
  ships with matplotlib (grace_hopper.jpg), through luminance as the loader does.
- ``landscape``: procedural outdoor scenes: sky, horizon, fractal terrain,
  1/f texture; some at night (dark, like an OCT background).
- ``mr``: the real MR slice shipped with matplotlib (s1045.ima) and drawn
  brain-like MR phantoms.
- ``xray``: chest-radiograph-like projections: bright body, dark lungs, ribs.
- ``fundus``: colour fundus-like images (orange disc on black, optic disc,
  dark macula, branching vessels), converted to luminance as the loader does.
- ``gradient``: linear and radial ramps, with or without slight noise.
- ``screenshot``: window-like screens (title bar, panels, buttons, text, a
  plot), light or dark theme, drawn with Pillow.
- ``plot``: a matplotlib figure (lines, bars, images) rendered to pixels.

Every image is float32 (h, w) in [0, 1] drawn from the generator it is given.
"""
from __future__ import annotations

import numpy as np

from .ood_draw import WORDS, ellipse, grid, smooth


def _resize(a: np.ndarray, h: int, w: int) -> np.ndarray:
    from PIL import Image
    return np.asarray(Image.fromarray(a.astype(np.float32), mode="F").resize((w, h), Image.BILINEAR),
                      np.float32)


def _luma(rgb: np.ndarray) -> np.ndarray:
    return (rgb[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)).astype(np.float32)


def _sample(name: str):
    import matplotlib.cbook as cbook
    return cbook.get_sample_data(name)


def photo_real(rng, h, w):
    from PIL import Image
    with Image.open(_sample("grace_hopper.jpg")) as im:
        rgb = np.asarray(im.convert("RGB"), np.float32) / 255
    g = _luma(rgb)
    H, W = g.shape
    s = rng.uniform(0.35, 1.0)                       # crop a random window
    ch, cw = int(H * s), int(W * s)
    y0, x0 = rng.integers(0, H - ch + 1), rng.integers(0, W - cw + 1)
    g = g[y0:y0 + ch, x0:x0 + cw]
    if rng.random() < 0.5:
        g = g[:, ::-1]
    g = _resize(g, h, w) * rng.uniform(0.4, 1.3) + rng.uniform(-0.2, 0.1)   # exposure
    return np.clip(g, 0, 1).astype(np.float32)


def _fractal(rng, h, w, beta=2.0):
    """1/f^beta noise, unit std."""
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.rfftfreq(w)[None, :]
    f = np.sqrt(fy ** 2 + fx ** 2)
    f[0, 0] = 1.0
    spec = (rng.normal(size=f.shape) + 1j * rng.normal(size=f.shape)) / f ** (beta / 2)
    spec[0, 0] = 0
    a = np.fft.irfft2(spec, s=(h, w)).astype(np.float32)
    return a / (a.std() + 1e-9)


def landscape(rng, h, w):
    yy, xx = grid(h, w)
    horizon = h * rng.uniform(0.3, 0.7) + 0.08 * h * _fractal(rng, 1, w, 2.5)[0]
    sky = 0.85 - 0.4 * yy / h + 0.05 * _fractal(rng, h, w, 3.0)
    ground = rng.uniform(0.2, 0.5) + 0.12 * _fractal(rng, h, w, rng.uniform(1.2, 2.2))
    img = np.where(yy < horizon[None, :], sky, ground)
    img += 0.02 * rng.normal(size=img.shape)             # sensor noise
    if rng.random() < 0.35:                              # night: dark, like an OCT background
        img = img * rng.uniform(0.1, 0.35)
    return np.clip(img, 0, 1).astype(np.float32)


def mr(rng, h, w):
    if rng.random() < 0.5:                               # the real MR slice from matplotlib
        with _sample("s1045.ima.gz") as f:
            a = np.frombuffer(f.read(), np.uint16).reshape(256, 256).astype(np.float32)
        a = a / np.quantile(a, rng.uniform(0.97, 0.999))
        k = int(rng.integers(0, 4))
        return np.clip(_resize(np.rot90(a, k), h, w), 0, 1).astype(np.float32)
    yy, xx = grid(h, w)
    cy, cx = h / 2 + rng.uniform(-20, 20), w / 2 + rng.uniform(-20, 20)
    ry, rx = h * rng.uniform(0.38, 0.46), w * rng.uniform(0.30, 0.40)
    img = np.zeros((h, w), np.float32)
    img[ellipse(yy, xx, cy, cx, ry, rx)] = 0.85                    # scalp / fat
    img[ellipse(yy, xx, cy, cx, ry - 10, rx - 10)] = 0.25          # skull (dark in T1)
    img[ellipse(yy, xx, cy, cx, ry - 18, rx - 18)] = 0.55          # grey matter
    folds = smooth(rng.normal(size=(h, w)).astype(np.float32), 6)
    wm = ellipse(yy, xx, cy, cx, ry - 40, rx - 40) & (folds > -0.05)
    img[wm] = 0.72                                                  # white matter
    for side in (-1, 1):                                            # ventricles
        img[ellipse(yy, xx, cy - 10, cx + side * 18, 35, 10, side * 0.3)] = 0.12
    img = smooth(img, 2) + rng.normal(0, 0.015, img.shape)
    return np.clip(img, 0, 1).astype(np.float32)


def xray(rng, h, w):
    yy, xx = grid(h, w)
    cx = w / 2 + rng.uniform(-15, 15)
    body = np.exp(-(((xx - cx) / (w * rng.uniform(0.35, 0.45))) ** 6))
    img = 0.15 + 0.6 * body
    for side in (-1, 1):                                            # lungs
        m = ellipse(yy, xx, h * 0.45, cx + side * w * 0.18, h * 0.32, w * 0.12)
        img = np.where(m, img - 0.35, img)
    for k in range(int(rng.integers(8, 12))):                        # ribs
        y = h * 0.18 + k * h * 0.065
        for side in (-1, 1):
            arc = np.abs(yy - (y + 0.0006 * (xx - cx) ** 2 * rng.uniform(0.8, 1.2))) < 4
            img = np.where(arc & (side * (xx - cx) > 15) & (side * (xx - cx) < w * 0.32), img + 0.18, img)
    img[np.abs(xx - cx) < 12] += 0.25                                # spine
    img = smooth(img.astype(np.float32), 3) + rng.normal(0, 0.01, img.shape)
    if rng.random() < 0.5:                                          # some are shown inverted
        img = 1 - img
    return np.clip(img, 0, 1).astype(np.float32)


def fundus(rng, h, w):
    yy, xx = grid(h, w)
    cy, cx, r = h / 2, w / 2, min(h, w) * rng.uniform(0.42, 0.5)
    d = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2) / r
    inside = d <= 1
    base = np.clip(1 - 0.5 * d ** 2, 0, 1) * inside                 # vignetting
    ody, odx = cy + rng.uniform(-0.1, 0.1) * r, cx + rng.choice([-1, 1]) * 0.45 * r
    od = np.exp(-(((yy - ody) ** 2 + (xx - odx) ** 2) / (0.09 * r) ** 2))
    mac = np.exp(-((yy - cy) ** 2 + (xx - (2 * cx - odx)) ** 2) / (0.15 * r) ** 2)   # opposite the disc
    vessels = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(6, 12))):                        # branches from the disc
        a = rng.uniform(0, 2 * np.pi)
        y, x = ody, odx
        for _ in range(60):
            a += rng.normal(0, 0.15)
            y, x = y + 4 * np.sin(a), x + 4 * np.cos(a)
            iy, ix = int(y), int(x)
            if 2 <= iy < h - 2 and 2 <= ix < w - 2:
                vessels[iy - 1:iy + 2, ix - 1:ix + 2] = 1
    vessels = smooth(vessels, 1)
    red = base * 0.9 + 0.3 * od - 0.3 * vessels - 0.15 * mac
    green = base * 0.45 + 0.4 * od - 0.25 * vessels - 0.1 * mac
    blue = base * 0.15 + 0.3 * od - 0.05 * vessels
    rgb = np.stack([red, green, blue], -1) * rng.uniform(0.7, 1.1)
    rgb += rng.normal(0, 0.01, rgb.shape)
    return np.clip(_luma(np.clip(rgb, 0, 1) * inside[..., None]), 0, 1).astype(np.float32)


def gradient(rng, h, w):
    yy, xx = grid(h, w)
    if rng.random() < 0.5:
        a = rng.uniform(0, 2 * np.pi)
        t = (xx / w - 0.5) * np.cos(a) + (yy / h - 0.5) * np.sin(a)
    else:
        t = np.sqrt((yy / h - rng.uniform(0, 1)) ** 2 + (xx / w - rng.uniform(0, 1)) ** 2)
    t = (t - t.min()) / (np.ptp(t) + 1e-9)
    lo, hi = sorted(rng.uniform(0, 1, 2))
    img = lo + (hi - lo) * t ** rng.uniform(0.5, 2.0)
    if rng.random() < 0.5:
        img = img + rng.normal(0, rng.uniform(0.002, 0.02), img.shape)
    return np.clip(img, 0, 1).astype(np.float32)


def screenshot(rng, h, w):
    from PIL import Image, ImageDraw, ImageFont
    dark = rng.random() < 0.5
    bg, fg, panel = ((30, 230, 45) if dark else (245, 20, 225))
    im = Image.new("L", (w, h), bg)
    d = ImageDraw.Draw(im)
    d.rectangle([0, 0, w, 28], fill=panel - 15 if dark else 200)                # title bar
    font = ImageFont.load_default(size=int(rng.integers(11, 18)))
    d.text((10, 6), " ".join(rng.choice(WORDS, 4)), fill=fg, font=font)
    side = int(rng.integers(80, 180))
    d.rectangle([0, 29, side, h], fill=panel)                                   # side panel
    for i in range(int(rng.integers(5, 15))):
        d.text((8, 40 + 22 * i), " ".join(rng.choice(WORDS, 2)), fill=fg, font=font)
    for i in range(int(rng.integers(2, 5))):                                    # buttons
        x0 = side + 20 + 90 * i
        d.rounded_rectangle([x0, h - 45, x0 + 80, h - 18], 5, fill=panel, outline=fg)
        d.text((x0 + 10, h - 40), str(rng.choice(WORDS)), fill=fg, font=font)
    y = 45
    while y < h - 70:                                                           # body text
        d.text((side + 15, y), " ".join(rng.choice(WORDS, int(rng.integers(3, 10)))), fill=fg, font=font)
        y += int(rng.integers(16, 30))
    return (np.asarray(im, np.float32) / 255).astype(np.float32)


def plot(rng, h, w):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(w / 100, h / 100), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    kind = rng.integers(0, 3)
    if kind == 0:
        x = np.linspace(0, 10, 200)
        for _ in range(int(rng.integers(1, 4))):
            ax.plot(x, np.sin(x * rng.uniform(0.3, 2)) + rng.normal(0, 0.1, x.size))
    elif kind == 1:
        ax.bar(range(8), rng.uniform(1, 10, 8))
    else:
        ax.imshow(rng.normal(size=(20, 20)), cmap="gray")
    ax.set_title(" ".join(rng.choice(WORDS, 3)))
    fig.canvas.draw()
    rgb = np.asarray(fig.canvas.buffer_rgba(), np.float32)[..., :3] / 255
    return _resize(_luma(rgb), h, w).clip(0, 1).astype(np.float32)


# -- DICOM slices of other modalities (and of OCT), built with pydicom -------------
SOP = {"CT": "1.2.840.10008.5.1.4.1.1.2", "MR": "1.2.840.10008.5.1.4.1.1.4",
       "DX": "1.2.840.10008.5.1.4.1.1.1.1", "OPT": "1.2.840.10008.5.1.4.1.1.77.1.5.4",
       "SC": "1.2.840.10008.5.1.4.1.1.7"}


def write_dicom(path, modality, sop_key=None, pixels=None):
    """A small 16-bit DICOM slice built with pydicom; modality None leaves it out."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid
    sop = SOP[sop_key or modality]
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = sop, generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = sop, meta.MediaStorageSOPInstanceUID
    if modality is not None:
        ds.Modality = modality
    from core.phantoms import make_phantom
    img = make_phantom("CNV", 0, 64, 64) if pixels is None else pixels
    a = np.round(img * 4095).astype(np.uint16)
    ds.Rows, ds.Columns = a.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = a.tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path



EXTRA = {"photo_real": photo_real, "landscape": landscape, "mr": mr, "xray": xray, "fundus": fundus,
         "gradient": gradient, "screenshot": screenshot, "plot": plot}
