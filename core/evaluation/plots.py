"""A small Pillow plotter for the report's figures (matplotlib is not a
dependency): line plots with error bands, scatter plots, grouped bars, and a
helper that sets panels side by side. Every plot has axes, ticks, a title,
axis labels and a legend. Coordinates are computed in float and drawn
antialiased by supersampling (draw at 2x, shrink).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

# Okabe-Ito palette: distinguishable with colour-vision deficiency
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
_SS = 2  # supersampling factor


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size * _SS)


def _rgb(color: str) -> tuple[int, int, int]:
    color = color.lstrip("#")
    return tuple(int(color[i:i + 2], 16) for i in (0, 2, 4))


def _lighter(color: str, amount: float = 0.75) -> tuple[int, int, int]:
    return tuple(int(c + (255 - c) * amount) for c in _rgb(color))


@dataclass
class Series:
    """One line (or scatter group). ``lo``/``hi`` draw a shaded band (e.g. a
    95% interval); ``marker`` is 'o', 'x', 's' or '^'."""
    name: str
    x: list[float]
    y: list[float]
    lo: list[float] | None = None
    hi: list[float] | None = None
    color: str | None = None
    marker: str = "o"
    line: bool = True
    size: float = 4.0
    extra: dict = field(default_factory=dict)


def nice_ticks(lo: float, hi: float, n: int = 6) -> list[float]:
    """About ``n`` round tick values covering [lo, hi] (1, 2, 2.5, 5 x 10^k)."""
    if not math.isfinite(lo) or not math.isfinite(hi):
        return [0.0, 1.0]
    if hi <= lo:
        hi = lo + (abs(lo) if lo else 1.0)
    raw = (hi - lo) / max(n - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step + 1e-9) * step
    ticks, t = [], start
    while t <= hi + step * 1e-6:
        ticks.append(round(t, 12))
        t += step
    if ticks and ticks[0] > lo + 1e-12:
        ticks.insert(0, round(ticks[0] - step, 12))
    return ticks


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1e4 or abs(v) < 1e-3:
        return f"{v:.0e}"
    return f"{v:.6g}"


class Axes:
    """One panel: data limits -> pixel transform, frame, ticks, labels, legend."""

    def __init__(self, size=(640, 440), title="", xlabel="", ylabel="", xlog=False,
                 xlim=None, ylim=None, margins=(78, 48, 26, 62)):
        self.w, self.h = size[0] * _SS, size[1] * _SS
        self.title, self.xlabel, self.ylabel, self.xlog = title, xlabel, ylabel, xlog
        self.xlim, self.ylim = xlim, ylim
        self._xdata: list[float] = []
        ml, mt, mr, mb = (m * _SS for m in margins)
        self.box = (ml, mt, self.w - mr, self.h - mb)
        self.img = Image.new("RGB", (self.w, self.h), "white")
        self.draw = ImageDraw.Draw(self.img)
        self.font, self.small, self.big = _font(13), _font(11), _font(15)

    # -- transforms ------------------------------------------------------
    def _tx(self, x: float) -> float:
        lo, hi = self.xlim
        if self.xlog:
            x, lo, hi = math.log10(x), math.log10(lo), math.log10(hi)
        x0, _, x1, _ = self.box
        return x0 + (x - lo) / (hi - lo) * (x1 - x0)

    def _ty(self, y: float) -> float:
        lo, hi = self.ylim
        _, y0, _, y1 = self.box
        return y1 - (y - lo) / (hi - lo) * (y1 - y0)

    def set_limits(self, xs: list[float], ys: list[float]) -> None:
        xs = [x for x in xs if x is not None and math.isfinite(x) and (not self.xlog or x > 0)]
        self._xdata = xs
        ys = [y for y in ys if y is not None and math.isfinite(y)]
        if self.xlim is None:
            lo, hi = (min(xs), max(xs)) if xs else (0.0, 1.0)
            if self.xlog:  # a fifth of a decade of room on each side
                lo, hi = lo / 10 ** 0.2, hi * 10 ** 0.2
            else:
                pad = (hi - lo) * 0.04 or 0.5
                lo, hi = lo - pad, hi + pad
            self.xlim = (lo, hi)
        if self.ylim is None:
            lo, hi = (min(ys), max(ys)) if ys else (0.0, 1.0)
            pad = (hi - lo) * 0.06 or 0.5
            self.ylim = (lo - pad, hi + pad)

    def _log_ticks(self) -> list[float]:
        """Powers of ten in range; the data's own x values when the range
        holds fewer than two of them."""
        lo, hi = self.xlim
        ticks = [10.0 ** k for k in range(math.ceil(math.log10(lo)), math.floor(math.log10(hi)) + 1)]
        return ticks if len(ticks) >= 2 else sorted(set(self._xdata))

    # -- frame -----------------------------------------------------------
    def frame(self) -> None:
        d, (x0, y0, x1, y1) = self.draw, self.box
        grid = (228, 228, 228)
        xticks = self._log_ticks() if self.xlog else nice_ticks(*self.xlim)
        for t in xticks:
            if not (self.xlim[0] - 1e-12 <= t <= self.xlim[1] + 1e-12):
                continue
            px = self._tx(t)
            d.line([(px, y0), (px, y1)], fill=grid, width=_SS)
            d.line([(px, y1), (px, y1 + 5 * _SS)], fill="black", width=_SS)
            d.text((px, y1 + 7 * _SS), _fmt(t), fill="black", font=self.small, anchor="ma")
        for t in nice_ticks(*self.ylim):
            if not (self.ylim[0] - 1e-12 <= t <= self.ylim[1] + 1e-12):
                continue
            py = self._ty(t)
            d.line([(x0, py), (x1, py)], fill=grid, width=_SS)
            d.line([(x0 - 5 * _SS, py), (x0, py)], fill="black", width=_SS)
            d.text((x0 - 8 * _SS, py), _fmt(t), fill="black", font=self.small, anchor="rm")
        d.rectangle(self.box, outline="black", width=_SS)
        d.text(((x0 + x1) / 2, 12 * _SS), self.title, fill="black", font=self.big, anchor="ma")
        d.text(((x0 + x1) / 2, self.h - 8 * _SS), self.xlabel, fill="black", font=self.font, anchor="md")
        if self.ylabel:
            bbox = d.textbbox((0, 0), self.ylabel, font=self.font)
            label = Image.new("RGB", (bbox[2] + 4, bbox[3] + 4), "white")
            ImageDraw.Draw(label).text((2, 2), self.ylabel, fill="black", font=self.font)
            label = label.rotate(90, expand=True)
            self.img.paste(label, (6 * _SS, int((y0 + y1) / 2 - label.height / 2)))

    # -- marks -----------------------------------------------------------
    def marker(self, px: float, py: float, kind: str, color, r: float) -> None:
        r *= _SS
        d = self.draw
        if kind == "x":
            d.line([(px - r, py - r), (px + r, py + r)], fill=color, width=2 * _SS)
            d.line([(px - r, py + r), (px + r, py - r)], fill=color, width=2 * _SS)
        elif kind == "s":
            d.rectangle([px - r, py - r, px + r, py + r], fill=color)
        elif kind == "^":
            d.polygon([(px, py - r), (px - r, py + r), (px + r, py + r)], fill=color)
        else:
            d.ellipse([px - r, py - r, px + r, py + r], fill=color)

    def plot(self, s: Series, color: str) -> None:
        pts = [(self._tx(x), self._ty(y)) for x, y in zip(s.x, s.y)
               if x is not None and y is not None and math.isfinite(y) and (not self.xlog or x > 0)]
        if s.lo is not None and s.hi is not None:
            band = [(x, lo, hi) for x, lo, hi in zip(s.x, s.lo, s.hi)
                    if lo is not None and hi is not None and math.isfinite(lo) and math.isfinite(hi)
                    and (not self.xlog or x > 0)]
            if len(band) > 1:
                poly = ([(self._tx(x), self._ty(hi)) for x, _, hi in band]
                        + [(self._tx(x), self._ty(lo)) for x, lo, _ in reversed(band)])
                overlay = Image.new("RGBA", self.img.size, (0, 0, 0, 0))
                ImageDraw.Draw(overlay).polygon(poly, fill=_rgb(color) + (50,))
                self.img.paste(Image.alpha_composite(self.img.convert("RGBA"), overlay).convert("RGB"))
                self.draw = ImageDraw.Draw(self.img)
            for x, lo, hi in band:  # whiskers too, readable where bands overlap
                px = self._tx(x)
                self.draw.line([(px, self._ty(lo)), (px, self._ty(hi))], fill=_lighter(color, 0.3), width=_SS)
        if s.line and len(pts) > 1:
            self.draw.line(pts, fill=color, width=2 * _SS, joint="curve")
        for px, py in pts:
            self.marker(px, py, s.marker, color, s.size)

    def legend(self, entries: list[tuple[str, str, str]], where: str = "upper right") -> None:
        if not entries:
            return
        d, (x0, y0, x1, y1) = self.draw, self.box
        row = 17 * _SS
        width = max(d.textbbox((0, 0), name, font=self.small)[2] for name, _, _ in entries) + 30 * _SS
        height = row * len(entries) + 6 * _SS
        lx = x1 - width - 8 * _SS if "right" in where else x0 + 8 * _SS
        ly = y0 + 8 * _SS if "upper" in where else y1 - height - 8 * _SS
        d.rectangle([lx, ly, lx + width, ly + height], fill="white", outline=(120, 120, 120), width=_SS)
        for i, (name, color, marker) in enumerate(entries):
            cy = ly + 3 * _SS + row * i + row / 2
            self.marker(lx + 12 * _SS, cy, marker, color, 4)
            d.text((lx + 24 * _SS, cy), name, fill="black", font=self.small, anchor="lm")

    def image(self) -> Image.Image:
        return self.img.resize((self.w // _SS, self.h // _SS), Image.LANCZOS)


def line_plot(series: list[Series], title: str, xlabel: str, ylabel: str, *, xlog: bool = False,
              ylim=None, size=(640, 440), legend: str = "upper right") -> Image.Image:
    ax = Axes(size, title, xlabel, ylabel, xlog=xlog, ylim=ylim)
    xs = [x for s in series for x in s.x]
    ys = [v for s in series for v in s.y + (s.lo or []) + (s.hi or []) if v is not None]
    ax.set_limits(xs, ys)
    ax.frame()
    entries = []
    for i, s in enumerate(series):
        color = s.color or PALETTE[i % len(PALETTE)]
        ax.plot(s, color)
        entries.append((s.name, color, s.marker))
    ax.legend(entries, legend)
    return ax.image()


def scatter_plot(series: list[Series], title: str, xlabel: str = "", ylabel: str = "",
                 size=(560, 520), legend_entries: list[tuple[str, str, str]] | None = None) -> Image.Image:
    """Points only; ``legend_entries`` (name, colour, marker) overrides the
    one-entry-per-series legend (e.g. colour = class, marker = clean/adv)."""
    ax = Axes(size, title, xlabel, ylabel, margins=(62, 48, 26, 50))
    ax.set_limits([x for s in series for x in s.x], [y for s in series for y in s.y])
    ax.frame()
    for i, s in enumerate(series):
        s.line = False
        ax.plot(s, s.color or PALETTE[i % len(PALETTE)])
    entries = legend_entries if legend_entries is not None else [
        (s.name, s.color or PALETTE[i % len(PALETTE)], s.marker) for i, s in enumerate(series)]
    ax.legend(entries, "upper right")
    return ax.image()


def bar_plot(groups: list[str], values: dict[str, list[float]], title: str, ylabel: str, *,
             lo: dict[str, list[float]] | None = None, hi: dict[str, list[float]] | None = None,
             ylim=None, size=(640, 440)) -> Image.Image:
    """Grouped bars: one group per entry of ``groups`` (x axis), one bar per
    key of ``values`` (legend), optional error bars from ``lo``/``hi``."""
    names = list(values)
    all_v = [v for k in names for v in values[k] + (lo or {}).get(k, []) + (hi or {}).get(k, [])
             if v is not None and math.isfinite(v)]
    top = max(all_v) if all_v else 1.0
    ax = Axes(size, title, "", ylabel, ylim=ylim or (0.0, top * 1.35 if top > 0 else 1.0),
              xlim=(-0.5, len(groups) - 0.5))
    d = ax.draw
    # frame with y ticks only; group names as x tick labels
    x0, y0, x1, y1 = ax.box
    for t in nice_ticks(*ax.ylim):
        if ax.ylim[0] - 1e-12 <= t <= ax.ylim[1] + 1e-12:
            py = ax._ty(t)
            d.line([(x0, py), (x1, py)], fill=(228, 228, 228), width=_SS)
            d.line([(x0 - 5 * _SS, py), (x0, py)], fill="black", width=_SS)
            d.text((x0 - 8 * _SS, py), _fmt(t), fill="black", font=ax.small, anchor="rm")
    width = 0.8 / max(len(names), 1)
    for gi, g in enumerate(groups):
        d.text((ax._tx(gi), y1 + 7 * _SS), g, fill="black", font=ax.small, anchor="ma")
        for k, name in enumerate(names):
            v = values[name][gi]
            if v is None or not math.isfinite(v):
                continue
            color = PALETTE[k % len(PALETTE)]
            cx = gi - 0.4 + width * (k + 0.5)
            d.rectangle([ax._tx(cx - width * 0.45), ax._ty(v), ax._tx(cx + width * 0.45), ax._ty(ax.ylim[0])],
                        fill=color)
            if lo and hi and lo.get(name) and hi.get(name):
                a, b = lo[name][gi], hi[name][gi]
                if a is not None and b is not None and math.isfinite(a) and math.isfinite(b):
                    px = ax._tx(cx)
                    d.line([(px, ax._ty(a)), (px, ax._ty(b))], fill="black", width=_SS)
                    for yy in (a, b):
                        d.line([(px - 4 * _SS, ax._ty(yy)), (px + 4 * _SS, ax._ty(yy))], fill="black", width=_SS)
    d.rectangle(ax.box, outline="black", width=_SS)
    d.text(((x0 + x1) / 2, 12 * _SS), title, fill="black", font=ax.big, anchor="ma")
    ax.xlabel, ax.title = "", ""
    if ylabel:
        bbox = d.textbbox((0, 0), ylabel, font=ax.font)
        label = Image.new("RGB", (bbox[2] + 4, bbox[3] + 4), "white")
        ImageDraw.Draw(label).text((2, 2), ylabel, fill="black", font=ax.font)
        label = label.rotate(90, expand=True)
        ax.img.paste(label, (6 * _SS, int((y0 + y1) / 2 - label.height / 2)))
        ax.draw = ImageDraw.Draw(ax.img)
    ax.legend([(n, PALETTE[k % len(PALETTE)], "s") for k, n in enumerate(names)], "upper right")
    return ax.image()


def side_by_side(panels: list[Image.Image], title: str = "", columns: int | None = None) -> Image.Image:
    """Tile panels in a grid (``columns`` wide) under an optional title."""
    if not panels:
        raise ValueError("no panels")
    columns = columns or len(panels)
    rows = math.ceil(len(panels) / columns)
    w = max(p.width for p in panels)
    h = max(p.height for p in panels)
    top = 34 if title else 0
    out = Image.new("RGB", (w * columns, h * rows + top), "white")
    for i, p in enumerate(panels):
        out.paste(p, ((i % columns) * w, top + (i // columns) * h))
    if title:
        d = ImageDraw.Draw(out)
        d.text((out.width / 2, 8), title, fill="black", font=ImageFont.load_default(size=17), anchor="ma")
    return out


def save_png(image: Image.Image, path: str | Path) -> Path:
    path = Path(path)
    image.save(path, format="PNG", optimize=True)
    return path
