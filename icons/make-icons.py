#!/usr/bin/env python3
"""Draw every Tether icon from code and write them as 8-bit RGBA PNGs.

    python3 icons/make-icons.py           regenerate the icons in place
    python3 icons/make-icons.py --check   draw in memory; exit 1 if a committed icon differs

Standard library only. Every shape is a signed-distance function in pixel units (negative inside).
A pixel well inside or outside a shape is decided by one distance; a pixel near an edge is covered
by 4x4 sub-samples, each with an analytic ramp, so edges are anti-aliased. There is no randomness
and no clock, so the same bytes come out every run.
"""

import argparse
import math
import struct
import sys
import zlib
from pathlib import Path

ICONS = Path(__file__).resolve().parent

# --------------------------------------------------------------------------------------------
# Palette
# --------------------------------------------------------------------------------------------


def rgb(hex_colour, alpha=1.0):
    """'#rrggbb' -> (r, g, b, a) in 0..1."""
    h = hex_colour.lstrip("#")
    return (int(h[0:2], 16) / 255, int(h[2:4], 16) / 255, int(h[4:6], 16) / 255, alpha)


TILE_TOP = rgb("#14808a")  # deep teal, top-left of the tile
TILE_BOTTOM = rgb("#2f2f86")  # indigo, bottom-right of the tile
STOPPED_TOP = rgb("#5b6472")  # the tile with the gateway stopped: slate
STOPPED_BOTTOM = rgb("#3b4150")
GLYPH = rgb("#ffffff")
SHADOW = rgb("#0b1030", 0.35)  # under the glyph, large sizes only
HALO = rgb("#10131c", 0.85)  # rim of a tray badge: its outline on light panels
TRAY_RIM = rgb("#ffffff", 0.2)  # inner edge of a tray tile: its outline on dark panels

RUNNING = rgb("#2fbf71")  # green: check on a disc
STARTING = rgb("#f4b740")  # amber: open arc
STOPPED = rgb("#c9ced6")  # light grey: hollow ring
FAILED = rgb("#e5484d")  # red: "!" on a disc
BREAKER = rgb("#f76b15")  # orange: pause bars on a rounded square

# --------------------------------------------------------------------------------------------
# Shapes: signed distance in pixels, negative inside. bbox = (x0, y0, x1, y1) holds the inside.
# --------------------------------------------------------------------------------------------


def _len(x, y):
    return math.sqrt(x * x + y * y)


class Circle:
    def __init__(self, cx, cy, r):
        self.cx, self.cy, self.r = cx, cy, r
        self.bbox = (cx - r, cy - r, cx + r, cy + r)

    def d(self, x, y):
        return _len(x - self.cx, y - self.cy) - self.r


class Capsule:
    """A straight stroke from a to b, width w, round caps."""

    def __init__(self, ax, ay, bx, by, w):
        self.ax, self.ay, self.r = ax, ay, w / 2
        self.dx, self.dy = bx - ax, by - ay
        self.l2 = self.dx * self.dx + self.dy * self.dy or 1e-12
        r = self.r
        self.bbox = (min(ax, bx) - r, min(ay, by) - r, max(ax, bx) + r, max(ay, by) + r)

    def d(self, x, y):
        px, py = x - self.ax, y - self.ay
        h = (px * self.dx + py * self.dy) / self.l2
        h = 0.0 if h < 0 else 1.0 if h > 1 else h
        return _len(px - self.dx * h, py - self.dy * h) - self.r


def Polyline(points, w):
    """A stroke through points, width w, round joins and caps."""
    return Union(*(Capsule(*a, *b, w) for a, b in zip(points, points[1:])))


class RoundRect:
    def __init__(self, cx, cy, hw, hh, r):
        self.cx, self.cy, self.hw, self.hh, self.r = cx, cy, hw, hh, r
        self.bbox = (cx - hw, cy - hh, cx + hw, cy + hh)

    def d(self, x, y):
        qx = abs(x - self.cx) - self.hw + self.r
        qy = abs(y - self.cy) - self.hh + self.r
        outside = _len(max(qx, 0.0), max(qy, 0.0))
        return outside + min(max(qx, qy), 0.0) - self.r


class Squircle:
    """A square of half-side `half` with flat sides and superelliptic corners (|x|^4 + |y|^4 = r^4)
    of size r: the corner curvature rises gradually instead of jumping as a circular arc's does."""

    def __init__(self, cx, cy, half, r):
        self.cx, self.cy, self.inner, self.r = cx, cy, half - r, r
        self.bbox = (cx - half, cy - half, cx + half, cy + half)

    def d(self, x, y):
        qx = abs(x - self.cx) - self.inner
        qy = abs(y - self.cy) - self.inner
        if qx <= 0 or qy <= 0:
            return max(qx, qy) - self.r
        x2, y2 = qx * qx, qy * qy
        n4 = math.sqrt(math.sqrt(x2 * x2 + y2 * y2))
        grad = math.sqrt(x2 * x2 * x2 + y2 * y2 * y2) / (n4 * n4 * n4)
        return (n4 - self.r) / grad


class Arc:
    """A stroke of width w along a circle, round caps. `toward` is the unit direction of the
    arc's middle, `half` the half aperture in degrees."""

    def __init__(self, cx, cy, r, w, toward, half):
        self.cx, self.cy, self.r, self.hw = cx, cy, r, w / 2
        self.ux, self.uy = toward
        self.sin, self.cos = math.sin(math.radians(half)), math.cos(math.radians(half))
        e = r + w / 2
        self.bbox = (cx - e, cy - e, cx + e, cy + e)

    def d(self, x, y):
        x, y = x - self.cx, y - self.cy
        # frame where the arc's middle points along +v
        v = x * self.ux + y * self.uy
        u = abs(x * self.uy - y * self.ux)
        if self.cos * u > self.sin * v:
            return _len(u - self.sin * self.r, v - self.cos * self.r) - self.hw
        return abs(_len(u, v) - self.r) - self.hw


class Union:
    def __init__(self, *shapes):
        self.shapes = shapes
        b = [s.bbox for s in shapes]
        self.bbox = (min(x[0] for x in b), min(x[1] for x in b), max(x[2] for x in b), max(x[3] for x in b))

    def d(self, x, y):
        return min(s.d(x, y) for s in self.shapes)


class Grow:
    """The shape made thicker by r on every side (r < 0 makes it thinner)."""

    def __init__(self, shape, r):
        self.shape, self.r = shape, r
        x0, y0, x1, y1 = shape.bbox
        self.bbox = (x0 - r, y0 - r, x1 + r, y1 + r)

    def d(self, x, y):
        return self.shape.d(x, y) - self.r


class Shell:
    """A band of width w centred on the shape's edge."""

    def __init__(self, shape, w):
        self.shape, self.hw = shape, w / 2
        x0, y0, x1, y1 = shape.bbox
        self.bbox = (x0 - w, y0 - w, x1 + w, y1 + w)

    def d(self, x, y):
        return abs(self.shape.d(x, y)) - self.hw


# --------------------------------------------------------------------------------------------
# Raster: premultiplied RGBA floats, source-over compositing in sRGB
# --------------------------------------------------------------------------------------------

SUB = [(i + 0.5) / 4 - 0.5 for i in range(4)]


def coverage(shape, x, y):
    d = shape.d(x, y)
    if d >= 0.75:
        return 0.0
    if d <= -0.75:
        return 1.0
    total = 0.0
    for oy in SUB:
        for ox in SUB:
            c = 0.5 - 4.0 * shape.d(x + ox, y + oy)
            total += 0.0 if c <= 0.0 else 1.0 if c >= 1.0 else c
    return total / 16


def linear_gradient(x0, y0, c0, x1, y1, c1):
    """Paint that runs from c0 at (x0, y0) to c1 at (x1, y1)."""
    dx, dy = x1 - x0, y1 - y0
    l2 = dx * dx + dy * dy

    def paint(x, y):
        t = ((x - x0) * dx + (y - y0) * dy) / l2
        t = 0.0 if t < 0 else 1.0 if t > 1 else t
        return tuple(a + (b - a) * t for a, b in zip(c0, c1))

    return paint


class Canvas:
    def __init__(self, size):
        self.size = size
        self.px = [0.0] * (size * size * 4)

    def _span(self, shape, grow):
        x0, y0, x1, y1 = shape.bbox
        n = self.size
        clip = lambda v: 0 if v < 0 else n if v > n else v  # noqa: E731
        return (clip(math.floor(x0 - grow)), clip(math.floor(y0 - grow)),
                clip(math.ceil(x1 + grow)), clip(math.ceil(y1 + grow)))

    def fill(self, shape, paint, soft=0.0):
        """Paint the shape. soft > 0 blurs its edge over that many pixels (shadows)."""
        x0, y0, x1, y1 = self._span(shape, 1 + soft)
        px, n = self.px, self.size
        solid = None if callable(paint) else paint
        for y in range(y0, y1):
            for x in range(x0, x1):
                if soft:
                    c = 0.5 - shape.d(x + 0.5, y + 0.5) / soft
                    cov = 0.0 if c <= 0 else 1.0 if c >= 1 else c
                else:
                    cov = coverage(shape, x + 0.5, y + 0.5)
                if cov <= 0.0:
                    continue
                r, g, b, a = solid or paint(x + 0.5, y + 0.5)
                a *= cov
                i = (y * n + x) * 4
                k = 1.0 - a
                px[i] = r * a + px[i] * k
                px[i + 1] = g * a + px[i + 1] * k
                px[i + 2] = b * a + px[i + 2] * k
                px[i + 3] = a + px[i + 3] * k

    def erase(self, shape):
        """Clear the shape back to transparent (anti-aliased)."""
        x0, y0, x1, y1 = self._span(shape, 1)
        px, n = self.px, self.size
        for y in range(y0, y1):
            for x in range(x0, x1):
                cov = coverage(shape, x + 0.5, y + 0.5)
                if cov > 0.0:
                    i = (y * n + x) * 4
                    k = 1.0 - cov
                    for c in range(4):
                        px[i + c] *= k

    def rgba8(self):
        out = bytearray(len(self.px))
        px = self.px
        for i in range(0, len(px), 4):
            a = px[i + 3]
            if a <= 0.5 / 255:
                continue
            a = min(a, 1.0)
            for c in range(3):
                v = int(px[i + c] / a * 255 + 0.5)
                out[i + c] = 255 if v > 255 else v
            out[i + 3] = int(a * 255 + 0.5)
        return bytes(out)


# --------------------------------------------------------------------------------------------
# PNG
# --------------------------------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_encode(width, height, rgba):
    stride = width * 4
    raw = b"".join(b"\x00" + rgba[y * stride:(y + 1) * stride] for y in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA, no interlace
    return PNG_SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def png_decode(data):
    """(width, height, rgba bytes) of an 8-bit RGBA or RGB PNG, not interlaced."""
    if data[:8] != PNG_SIGNATURE:
        raise ValueError("not a PNG")
    pos, idat, header = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in (2, 6) or interlace:
        raise ValueError(f"unsupported PNG (depth {depth}, colour type {colour}, interlace {interlace})")
    bpp = 4 if colour == 6 else 3
    raw, stride = zlib.decompress(b"".join(idat)), width * bpp
    prev, rows, pos = bytearray(stride), [], 0
    for _ in range(height):
        kind, line = raw[pos], bytearray(raw[pos + 1:pos + 1 + stride])
        pos += 1 + stride
        for i in range(stride if kind else 0):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    pixels = b"".join(rows)
    if bpp == 3:
        pixels = b"".join(pixels[i:i + 3] + b"\xff" for i in range(0, len(pixels), 3))
    return width, height, pixels


# --------------------------------------------------------------------------------------------
# The glyph: an anchor ring, a tether with a heartbeat in it, and the live node it holds
# --------------------------------------------------------------------------------------------


def tile_margin(size):
    """Transparent space around the app tile: none at 16 px, where every pixel counts."""
    if size <= 16:
        return 0.0
    if size <= 32:
        return 1.0
    return size / 16


def tile(size, margin=0.0):
    """The rounded-square tile every icon sits on."""
    half = size / 2 - margin
    return Squircle(size / 2, size / 2, half, half * 0.6)


def tile_paint(size, top=None, bottom=None):
    """Teal at the top-left fading to indigo at the bottom-right."""
    return linear_gradient(0, 0, top or TILE_TOP, size, size, bottom or TILE_BOTTOM)


class GlyphGrid:
    """The app glyph at one size, in pixels: the line it sits on (y), the heartbeat's stroke,
    the anchor ring (centre x, radius to the middle of its stroke, stroke), the heartbeat's
    points (x, offset from y) and the node (centre x, radius)."""

    def __init__(self, y, stroke, ring, beat, node):
        self.y, self.stroke, self.ring, self.beat, self.node = y, stroke, ring, beat, node

    def scaled(self, k):
        return GlyphGrid(self.y * k, self.stroke * k, tuple(v * k for v in self.ring),
                         [(x * k, dy * k) for x, dy in self.beat], (self.node[0] * k, self.node[1] * k))


# The master drawing on a 512 grid, used from 128 px up.
GLYPH_MASTER = GlyphGrid(y=256, stroke=26, ring=(133, 37, 28),
                         beat=[(183, 0), (214, 0), (240, -86), (278, 84), (302, 0), (334, 0)],
                         node=(378, 46))

# Smaller sizes are drawn for their pixel grid: whole-pixel strokes whose horizontal runs sit
# between pixel rows, ring and node a little larger than scaling gives, and a heartbeat whose
# legs still part at 16 px.
GLYPH_HINTED = {
    16: GlyphGrid(y=8, stroke=1.25, ring=(4, 2.25, 1.5),
                  beat=[(6, 0), (7, 0), (8, -3), (9, 3), (10, 0), (10.5, 0)], node=(12.5, 2.25)),
    24: GlyphGrid(y=12, stroke=2, ring=(6.25, 2.25, 2.25),
                  beat=[(9.5, 0), (10.5, 0), (12, -4), (14, 4), (15, 0), (16, 0)], node=(18, 2.5)),
    32: GlyphGrid(y=16, stroke=2, ring=(8.5, 2.75, 2.25),
                  beat=[(12, 0), (13.5, 0), (15, -5.5), (17.5, 5.5), (19, 0), (21, 0)], node=(23.5, 3)),
    48: GlyphGrid(y=23.5, stroke=3, ring=(12.5, 3.5, 3.5),
                  beat=[(17, 0), (20, 0), (22.5, -8), (26, 8), (28.5, 0), (31, 0)], node=(35.5, 4.5)),
    64: GlyphGrid(y=32, stroke=4, ring=(16.5, 4.5, 4.5),
                  beat=[(23, 0), (27, 0), (30, -11), (35, 11), (38, 0), (42, 0)], node=(47.5, 6)),
}


def app_glyph(size):
    """The white glyph of an app icon of this size: the anchor ring, the tether with a
    heartbeat in it, the live node it holds."""
    g = GLYPH_HINTED.get(size) or GLYPH_MASTER.scaled(size / 512)
    ring = Shell(Circle(g.ring[0], g.y, g.ring[1]), g.ring[2])
    beat = Polyline([(x, g.y + dy) for x, dy in g.beat], g.stroke)
    node = Circle(g.node[0], g.y, g.node[1])
    return Union(ring, beat, node)


def app_icon(size):
    c = Canvas(size)
    c.fill(tile(size, tile_margin(size)), tile_paint(size))
    glyph = app_glyph(size)
    if size >= 64:
        c.fill(glyph, SHADOW, soft=size / 40)
    c.fill(glyph, GLYPH)
    return c


# --------------------------------------------------------------------------------------------
# Tray icons: the tile holds the anchor ring; the node on its tether is the state badge, in the
# bottom-right corner, ringed by a dark halo that also parts it from the tile
# --------------------------------------------------------------------------------------------

TRAY_SIZES = (16, 22, 24, 32, 64)
STATES = ("running", "starting", "stopped", "failed", "breaker-open")


class TrayGrid:
    """Where things go on a tray icon of one size, chosen per size so marks land on pixels.

    c: badge centre (x = y); r: badge radius; halo: dark rim around the badge; mark: stroke of
    the white mark inside a badge, chosen so that c - mark / 2 is a pixel edge and the mark
    covers whole pixel columns; anchor: (centre, radius, stroke) of the ring on the tile."""

    def __init__(self, c, r, halo, mark, anchor):
        self.c, self.r, self.halo, self.mark, self.anchor = c, r, halo, mark, anchor


def snap(v):
    """v moved to the nearest pixel edge."""
    return math.floor(v + 0.5)


TRAY_GRID = {
    16: TrayGrid(c=11, r=5, halo=1, mark=2, anchor=(4, 2.25, 1.5)),
    22: TrayGrid(c=15, r=6, halo=1, mark=2, anchor=(5.5, 3, 2)),
    24: TrayGrid(c=16.5, r=6.5, halo=1, mark=3, anchor=(6, 3.25, 2)),
    32: TrayGrid(c=21.5, r=9.5, halo=1.5, mark=3, anchor=(8, 4.25, 2.5)),
    64: TrayGrid(c=43, r=19, halo=3, mark=6, anchor=(16, 8.5, 5)),
}


def tray_base(size, state):
    """The tile with its anchor ring, the badge's place cleared; returns (canvas, grid).

    The app glyph folded into a corner: the anchor ring stays, the heartbeat goes (it would be
    mush at 16 px, and a heartbeat would claim "alive" in every state), the node becomes the
    badge."""
    g = TRAY_GRID[size]
    c = Canvas(size)
    shape = tile(size)
    if state == "stopped":
        c.fill(shape, tile_paint(size, STOPPED_TOP, STOPPED_BOTTOM))
    else:
        c.fill(shape, tile_paint(size))
    c.fill(Shell(Grow(shape, -0.5), 1), TRAY_RIM)
    a, ar, aw = g.anchor
    c.fill(Shell(Circle(a, a, ar), aw), GLYPH)
    c.erase(Circle(g.c, g.c, g.r + g.halo))
    return c, g


def badge_disc(c, g, colour):
    disc = Circle(g.c, g.c, g.r)
    c.fill(Grow(disc, g.halo), HALO)
    c.fill(disc, colour)


def tray_running(size):
    """A green disc with a white check."""
    c, g = tray_base(size, "running")
    badge_disc(c, g, RUNNING)
    k, x, y = g.r / 4.5, g.c, g.c
    check = Polyline([(x - 2.3 * k, y + 0.1 * k), (x - 0.7 * k, y + 1.7 * k), (x + 2.3 * k, y - 1.5 * k)],
                     max(1.5, g.mark * 0.9))
    c.fill(check, GLYPH)
    return c


def tray_starting(size):
    """An amber arc, open at the top right, on the dark node: the spinner of a start."""
    c, g = tray_base(size, "starting")
    c.fill(Circle(g.c, g.c, g.r + g.halo), HALO)
    w = max(1.5, g.r * 0.4)
    s = math.sqrt(0.5)
    c.fill(Arc(g.c, g.c, g.r - w / 2, w, (-s, s), 125), STARTING)
    return c


def tray_stopped(size):
    """A grey hollow ring on the dark node, on a slate tile."""
    c, g = tray_base(size, "stopped")
    c.fill(Circle(g.c, g.c, g.r + g.halo), HALO)
    w = max(1.5, g.r * 0.4)
    c.fill(Shell(Circle(g.c, g.c, g.r - w / 2), w), STOPPED)
    return c


def tray_failed(size):
    """A red disc with a white exclamation mark."""
    c, g = tray_base(size, "failed")
    badge_disc(c, g, FAILED)
    x, w = g.c, g.mark
    # in whole pixel rows, top to bottom: the bar, a gap, the point (as tall as it is wide)
    height = round(g.r * 1.5)
    gap = max(1, round(w / 3))
    bar_top = snap(g.c - height / 2)
    bar_bottom = bar_top + height - w - gap
    point_top = bar_bottom + gap
    point_bottom = point_top + w
    bar = RoundRect(x, (bar_top + bar_bottom) / 2, w / 2, (bar_bottom - bar_top) / 2, w * 0.3)
    point = RoundRect(x, (point_top + point_bottom) / 2, w / 2, w / 2, w * 0.3)
    c.fill(Union(bar, point), GLYPH)
    return c


def tray_breaker_open(size):
    """An orange rounded square with white pause bars: restarts held back."""
    c, g = tray_base(size, "breaker-open")
    square = RoundRect(g.c, g.c, g.r, g.r, g.r * 0.3)
    c.fill(Grow(square, g.halo), HALO)
    c.fill(square, BREAKER)
    # two bars a bar's width apart: with the mark's width on the grid, so are their edges
    w = g.mark
    top, bottom = snap(g.c - g.r * 0.5), snap(g.c + g.r * 0.5)

    def bar(x):
        return RoundRect(x, (top + bottom) / 2, w / 2, (bottom - top) / 2, w * 0.2)

    c.fill(Union(bar(g.c - w), bar(g.c + w)), GLYPH)
    return c


TRAY = {
    "running": tray_running,
    "starting": tray_starting,
    "stopped": tray_stopped,
    "failed": tray_failed,
    "breaker-open": tray_breaker_open,
}

# --------------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------------

APP_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
BUNDLE = {"icon.png": 512, "32x32.png": 32, "128x128.png": 128, "128x128@2x.png": 256}


def render_all():
    """{path relative to icons/: PNG bytes} for every icon."""
    out, app = {}, {}
    for n in APP_SIZES:
        app[n] = png_encode(n, n, app_icon(n).rgba8())
        out[f"app/{n}x{n}.png"] = app[n]
    for name, n in BUNDLE.items():
        out[name] = app[n]
    for state in STATES:
        for n in TRAY_SIZES:
            out[f"tray/{state}-{n}.png"] = png_encode(n, n, TRAY[state](n).rgba8())
    return out


def same_image(a, b):
    """Equal bytes, or equal pixels (another zlib may compress the same pixels differently)."""
    if a == b:
        return True
    try:
        return png_decode(a) == png_decode(b)
    except (ValueError, zlib.error, struct.error, TypeError):
        return False


def main():
    ap = argparse.ArgumentParser(description="Draw Tether's icons into icons/.")
    ap.add_argument("--check", action="store_true",
                    help="draw in memory; exit 1 if a committed icon differs, is missing or is stray")
    args = ap.parse_args()
    rendered = render_all()
    if args.check:
        problems = []
        for rel, data in rendered.items():
            path = ICONS / rel
            if not path.is_file():
                problems.append(f"icons/{rel} is missing")
            elif not same_image(path.read_bytes(), data):
                problems.append(f"icons/{rel} differs from what make-icons.py draws")
        for folder in ("app", "tray"):
            for path in sorted((ICONS / folder).glob("*.png")):
                if f"{folder}/{path.name}" not in rendered:
                    problems.append(f"icons/{folder}/{path.name} is not drawn by make-icons.py")
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print("run: python3 icons/make-icons.py (and delete what it does not draw)", file=sys.stderr)
            return 1
        print(f"{len(rendered)} icons match")
        return 0
    for rel, data in rendered.items():
        path = ICONS / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)
    print(f"wrote {len(rendered)} icons under icons/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
