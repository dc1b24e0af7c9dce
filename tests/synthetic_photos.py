"""Synthetic photos of handwritten digits for the preprocessing tests: MNIST-like pen strokes as
dark ink on paper, off-centre, under uneven light with a soft shadow, sensor noise, JPEG."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

# each digit as pen strokes, polylines in a unit box (x right, y down)
STROKES = {
    0: [[(.5, .05), (.2, .2), (.12, .5), (.2, .8), (.5, .95), (.8, .8), (.88, .5), (.8, .2),
         (.5, .05)]],
    1: [[(.35, .2), (.55, .05), (.55, .95)]],
    2: [[(.15, .25), (.35, .07), (.65, .07), (.82, .28), (.7, .52), (.15, .93), (.88, .93)]],
    3: [[(.15, .12), (.5, .05), (.8, .2), (.75, .42), (.45, .5), (.8, .6), (.85, .8),
         (.55, .95), (.15, .88)]],
    4: [[(.65, .95), (.65, .05), (.12, .68), (.9, .68)]],
    5: [[(.82, .07), (.25, .07), (.2, .45), (.55, .4), (.82, .58), (.8, .82), (.5, .95),
         (.15, .87)]],
    6: [[(.75, .07), (.4, .25), (.2, .6), (.3, .9), (.6, .93), (.8, .72), (.65, .52),
         (.35, .52), (.22, .65)]],
    7: [[(.12, .08), (.88, .08), (.45, .95)]],
    8: [[(.5, .5), (.2, .3), (.35, .07), (.65, .07), (.8, .3), (.5, .5), (.18, .72), (.35, .95),
         (.65, .95), (.82, .72), (.5, .5)]],
    9: [[(.8, .45), (.55, .55), (.25, .45), (.25, .2), (.5, .05), (.78, .18), (.8, .45),
         (.7, .95)]],
}


def render_digit(digit: int, size: int = 160, width: float = 0.11) -> np.ndarray:
    """Ink coverage in [0, 1] (1 = ink) of `digit` drawn with a round pen, (size, size)."""
    scale = 4  # drawn large, then reduced: anti-aliased edges
    canvas = Image.new("L", (size * scale, size * scale), 0)
    draw = ImageDraw.Draw(canvas)
    pen = max(1, round(width * size * scale))
    margin = 0.12 * size * scale
    box = size * scale - 2 * margin
    for line in STROKES[digit]:
        points = [(margin + x * box, margin + y * box) for x, y in line]
        draw.line(points, fill=255, width=pen, joint="curve")
        for x, y in points:  # round caps
            draw.ellipse([x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2], fill=255)
    small = canvas.resize((size, size), Image.Resampling.BOX)
    return np.asarray(small, np.float32) / 255


def photo(digit: int, seed: int, shape: tuple[int, int] = (300, 400), quality: int = 70,
          shadow: bool = True) -> np.ndarray:
    """A grey uint8 'photo' (H, W) of `digit` drawn with STROKES, see `photo_of`."""
    rng = np.random.default_rng(seed)
    size = int(rng.uniform(0.35, 0.6) * min(shape))
    return photo_of(render_digit(digit, size, width=rng.uniform(0.08, 0.14)), rng, shape,
                    quality, shadow)


def photo_of(ink: np.ndarray, rng: np.random.Generator, shape: tuple[int, int] = (300, 400),
             quality: int = 70, shadow: bool = True) -> np.ndarray:
    """A grey uint8 'photo' (H, W) of ink coverage `ink` (in [0, 1]) in dark ink on paper: at a
    random place, light falling off across the page, a soft shadow, noise, a JPEG round trip."""
    h, w = shape
    size = ink.shape[0]
    top, left = int(rng.uniform(0, h - size)), int(rng.uniform(0, w - size))
    coverage = np.zeros(shape, np.float32)
    coverage[top:top + size, left:left + size] = ink
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * x / w + np.sin(angle) * y / h)
    light = 215 + 35 * (ramp - ramp.mean()) / max(np.ptp(ramp), 1e-6)
    if shadow:  # a large soft shadow, as of a hand or a phone, across part of the page
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        r = rng.uniform(0.3, 0.6) * max(h, w)
        light *= 1 - 0.3 * np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * r * r))
    paper = light * (1 - 0.75 * coverage) + rng.normal(0, 4, shape)
    image = Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8))
    image = image.filter(ImageFilter.GaussianBlur(0.6))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("L"))
