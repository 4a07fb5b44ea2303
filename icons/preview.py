#!/usr/bin/env python3
"""Lay the committed icons out on panels so they can be judged by eye.

    python3 icons/preview.py      writes icons/preview/contact-sheet.png (not committed)

Top: every tray state (a column each) on a light (#f3f3f3), a mid (#808080) and a dark
(#1e1e1e) panel: a row of the 16, 22, 24 and 32 px icons at 1:1, then each size magnified 4x
nearest-neighbour so single pixels can be judged. Beside the dark panel: the app icon from 16 to
128 px at 1:1 and 16, 24, 32 px at 4x, on light and on dark. Bottom: 512 and 256 px on light and
dark. Standard library only; it reads the PNGs make-icons.py wrote, so run that first.
"""

import importlib.util
import sys
from pathlib import Path

ICONS = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("make_icons", ICONS / "make-icons.py")
make_icons = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_icons)

PANELS = (("light", (0xF3, 0xF3, 0xF3)), ("mid", (0x80, 0x80, 0x80)), ("dark", (0x1E, 0x1E, 0x1E)))
TRAY_SIZES = (16, 22, 24, 32)
ZOOM = 4
GAP = 12
SHEET_BG = (0x2A, 0x2A, 0x2E)
LABEL = (0xE8, 0xE8, 0xE8)

# 3x5 pixel font, rows top to bottom, enough for the labels
FONT = {
    "a": ".#. #.# ### #.# #.#", "b": "##. #.# ##. #.# ##.", "c": ".## #.. #.. #.. .##",
    "d": "##. #.# #.# #.# ##.", "e": "### #.. ##. #.. ###", "f": "### #.. ##. #.. #..",
    "g": ".## #.. #.# #.# .##", "h": "#.# #.# ### #.# #.#", "i": "### .#. .#. .#. ###",
    "k": "#.# #.# ##. #.# #.#", "l": "#.. #.. #.. #.. ###", "m": "#.# ### ### #.# #.#",
    "n": "##. #.# #.# #.# #.#", "o": ".#. #.# #.# #.# .#.", "p": "##. #.# ##. #.. #..",
    "r": "##. #.# ##. #.# #.#", "s": ".## #.. .#. ..# ##.", "t": "### .#. .#. .#. .#.",
    "u": "#.# #.# #.# #.# ###", "v": "#.# #.# #.# #.# .#.", "w": "#.# #.# ### ### #.#",
    "x": "#.# #.# .#. #.# #.#", "y": "#.# #.# .#. .#. .#.", "z": "### ..# .#. #.. ###",
    "0": "### #.# #.# #.# ###", "1": ".#. ##. .#. .#. ###", "2": "##. ..# .#. #.. ###",
    "3": "##. ..# .#. ..# ##.", "4": "#.# #.# ### ..# ..#", "5": "### #.. ##. ..# ##.",
    "6": ".## #.. ### #.# ###", "7": "### ..# .#. .#. .#.", "8": "### #.# ### #.# ###",
    "9": "### #.# ### ..# ##.", "-": "... ... ### ... ...", ":": "... .#. ... .#. ...",
    " ": "... ... ... ... ...",
}


class Sheet:
    def __init__(self, width, height, bg):
        self.w, self.h = width, height
        self.px = bytearray(bytes(bg) * (width * height))

    def rect(self, x, y, w, h, colour):
        for yy in range(max(y, 0), min(y + h, self.h)):
            i = (yy * self.w + x) * 3
            self.px[i:i + w * 3] = bytes(colour) * w

    def text(self, x, y, s, colour=LABEL, scale=2):
        for ch in s:
            bits = FONT.get(ch, FONT[" "]).replace(" ", "")
            for k, b in enumerate(bits):
                if b == "#":
                    self.rect(x + (k % 3) * scale, y + (k // 3) * scale, scale, scale, colour)
            x += 4 * scale

    def icon(self, x, y, image, zoom=1):
        """Composite an RGBA image (w, h, bytes) over the sheet, magnified nearest-neighbour."""
        w, h, rgba = image
        for sy in range(h):
            for sx in range(w):
                i = (sy * w + sx) * 4
                a = rgba[i + 3]
                if not a:
                    continue
                for dy in range(zoom):
                    for dx in range(zoom):
                        j = ((y + sy * zoom + dy) * self.w + x + sx * zoom + dx) * 3
                        for c in range(3):
                            self.px[j + c] = (rgba[i + c] * a + self.px[j + c] * (255 - a) + 127) // 255

    def png(self):
        rgba = bytearray()
        for i in range(0, len(self.px), 3):
            rgba += self.px[i:i + 3] + b"\xff"
        return make_icons.png_encode(self.w, self.h, bytes(rgba))


def load(rel):
    path = ICONS / rel
    if not path.is_file():
        sys.exit(f"icons/{rel} is missing: run python3 icons/make-icons.py first")
    return make_icons.png_decode(path.read_bytes())


def tray_panel(sheet, x, y, panel, tray):
    """One panel: a column per state; its four sizes at 1:1, then each magnified."""
    name, colour = panel
    ink = (0x20, 0x20, 0x20) if sum(colour) > 384 else LABEL
    sheet.rect(x, y, PANEL_W, PANEL_H, colour)
    sheet.text(x + 8, y + 8, f"{name} panel", ink)
    for k, state in enumerate(make_icons.STATES):
        cx = x + 8 + k * COLUMN_W
        sheet.text(cx, y + 28, state, ink)
        ix = cx
        for n in TRAY_SIZES:
            sheet.icon(ix, y + 44 + max(TRAY_SIZES) - n, tray[state, n])
            ix += n + 4
        iy = y + 44 + max(TRAY_SIZES) + GAP
        for n in TRAY_SIZES:
            sheet.icon(cx, iy, tray[state, n], ZOOM)
            iy += n * ZOOM + 8


def app_strip(sheet, x, y, w, h, colour, app):
    """The small app icons at 1:1, then 16, 24 and 32 px magnified."""
    sheet.rect(x, y, w, h, colour)
    ix = x + GAP
    for n in APP_SMALL:
        sheet.icon(ix, y + h - GAP - n, app[n])
        ix += n + GAP
    for n in APP_ZOOMED:
        sheet.icon(ix, y + h - GAP - n * ZOOM, app[n], ZOOM)
        ix += n * ZOOM + GAP


COLUMN_W = max(TRAY_SIZES) * ZOOM + GAP
PANEL_W = 8 + COLUMN_W * 5
PANEL_H = 44 + max(TRAY_SIZES) + GAP + sum(n * ZOOM + 8 for n in TRAY_SIZES)
APP_SMALL = (16, 24, 32, 48, 64, 128)
APP_ZOOMED = (16, 24, 32)


def main():
    tray = {(s, n): load(f"tray/{s}-{n}.png") for s in make_icons.STATES for n in TRAY_SIZES}
    app = {n: load(f"app/{n}x{n}.png") for n in make_icons.APP_SIZES}

    strip_h = max(128, max(APP_ZOOMED) * ZOOM) + 2 * GAP
    big_h = 512 + 2 * GAP
    width = GAP + 2 * (PANEL_W + GAP)
    height = GAP + 2 * (PANEL_H + GAP) + big_h + GAP
    sheet = Sheet(width, height, SHEET_BG)
    light, mid, dark = PANELS

    # tray: light and mid side by side, dark below light
    tray_panel(sheet, GAP, GAP, light, tray)
    tray_panel(sheet, GAP * 2 + PANEL_W, GAP, mid, tray)
    y = GAP * 2 + PANEL_H
    tray_panel(sheet, GAP, y, dark, tray)

    # app icon: the small sizes beside the dark tray panel, the large ones below
    x = GAP * 2 + PANEL_W
    sheet.text(x + 8, y + 8, "app icon", LABEL)
    app_strip(sheet, x, y + 28, PANEL_W, strip_h, light[1], app)
    app_strip(sheet, x, y + 28 + strip_h + GAP, PANEL_W, strip_h, dark[1], app)
    y += PANEL_H + GAP
    x = GAP
    for _, colour in (light, dark):
        sheet.rect(x, y, big_h, big_h, colour)
        sheet.icon(x + GAP, y + GAP, app[512])
        x += big_h + GAP
    for k, (_, colour) in enumerate((light, dark)):
        sheet.rect(x, y + k * big_h // 2, 256 + 2 * GAP, big_h // 2, colour)
        sheet.icon(x + GAP, y + k * big_h // 2 + (big_h // 2 - 256) // 2, app[256])

    out = ICONS / "preview" / "contact-sheet.png"
    out.parent.mkdir(exist_ok=True)
    out.write_bytes(sheet.png())
    print(f"wrote {out.relative_to(ICONS.parent)} ({width}x{height})")


if __name__ == "__main__":
    main()
