#!/usr/bin/env python3
"""Render a `tmux capture-pane -p -e` capture (text with SGR colours) to a PNG.

Usage: tmux capture-pane -p -e -t PANE | python3 assets/screenshot.py OUT.png
Needs Pillow (pip install pillow) and the DejaVu Sans Mono font (Debian: fonts-dejavu-core).
"""
import re
import sys

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"
SIZE = 14
BG = (24, 26, 33)
FG = (208, 208, 208)
PALETTE = [
    (40, 42, 54), (230, 80, 80), (80, 200, 120), (230, 200, 90),
    (90, 140, 230), (200, 120, 220), (90, 200, 220), (208, 208, 208),
    (110, 110, 120), (255, 110, 110), (120, 230, 150), (255, 230, 120),
    (130, 170, 255), (230, 150, 250), (130, 230, 250), (255, 255, 255),
]


def xterm256(n):
    if n < 16:
        return PALETTE[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    g = 8 + (n - 232) * 10
    return (g, g, g)


def apply_sgr(params, st):
    codes = [int(p) if p else 0 for p in params.split(";")] if params else [0]
    i = 0
    while i < len(codes):
        c = codes[i]
        if c == 0:
            st.update(fg=FG, bg=None, bold=False, reverse=False, dim=False)
        elif c == 1:
            st["bold"] = True
        elif c == 2:
            st["dim"] = True
        elif c == 7:
            st["reverse"] = True
        elif c in (22,):
            st["bold"] = st["dim"] = False
        elif c == 27:
            st["reverse"] = False
        elif 30 <= c <= 37:
            st["fg"] = PALETTE[c - 30]
        elif 90 <= c <= 97:
            st["fg"] = PALETTE[c - 90 + 8]
        elif c == 39:
            st["fg"] = FG
        elif 40 <= c <= 47:
            st["bg"] = PALETTE[c - 40]
        elif c == 49:
            st["bg"] = None
        elif c in (38, 48) and i + 2 < len(codes) and codes[i + 1] == 5:
            st["fg" if c == 38 else "bg"] = xterm256(codes[i + 2])
            i += 2
        elif c in (38, 48) and i + 4 < len(codes) and codes[i + 1] == 2:
            st["fg" if c == 38 else "bg"] = tuple(codes[i + 2:i + 5])
            i += 4
        i += 1


def main():
    out = sys.argv[1]
    lines = sys.stdin.read().split("\n")
    font = ImageFont.truetype(FONT, SIZE)
    bold = ImageFont.truetype(BOLD, SIZE)
    cw = font.getbbox("M")[2]
    ch = SIZE + 4
    cols = max(len(re.sub(r"\x1b\[[0-9;]*m", "", l)) for l in lines)
    img = Image.new("RGB", (cols * cw + 16, len(lines) * ch + 16), BG)
    draw = ImageDraw.Draw(img)
    st = dict(fg=FG, bg=None, bold=False, reverse=False, dim=False)
    for row, line in enumerate(lines):
        col = 0
        for part in re.split(r"(\x1b\[[0-9;]*m)", line):
            m = re.fullmatch(r"\x1b\[([0-9;]*)m", part)
            if m:
                apply_sgr(m.group(1), st)
                continue
            for chx in part:
                fg, bg = st["fg"], st["bg"]
                if st["dim"]:
                    fg = tuple(v * 6 // 10 for v in fg)
                if st["reverse"]:
                    fg, bg = (bg or BG), fg
                x, y = 8 + col * cw, 8 + row * ch
                if bg:
                    draw.rectangle([x, y, x + cw, y + ch], fill=bg)
                draw.text((x, y + 1), chx, font=bold if st["bold"] else font, fill=fg)
                col += 1
    img.save(out)


if __name__ == "__main__":
    main()
