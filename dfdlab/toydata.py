"""Toy data of lessons 02 and 03: drawn shapes and their captions.

Each image holds one coloured shape in one quadrant, and its caption says which
(``"a red circle at the top left"``). 4 shapes x 5 colours x 4 positions = 80
compositions; 16 are held out of training so that lesson 03's zero-shot test asks
for new *combinations* of attribute values it has seen. Lesson 02 uses the shape
alone as a 4-class label (``shapes_dataset``), lesson 03 the caption
(``dfdlab.clip.tiny.Shapes``).

This module imports nothing from ``dfdlab``: both ``dfdlab.attention`` and
``dfdlab.clip.tiny`` build on it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch

SHAPES = ("circle", "square", "triangle", "cross")
COLOURS = {"red": (0.9, 0.15, 0.15), "green": (0.15, 0.8, 0.2), "blue": (0.2, 0.35, 0.95),
           "yellow": (0.95, 0.85, 0.1), "purple": (0.65, 0.2, 0.85)}
POSITIONS = ("top left", "top right", "bottom left", "bottom right")


@dataclass(frozen=True)
class Composition:
    shape: str
    colour: str
    position: str

    @property
    def caption(self) -> str:
        return caption(self.shape, self.colour, self.position)


def caption(shape: str, colour: str, position: str) -> str:
    """The caption of one composition, e.g. ``"a red circle at the top left"``."""
    return f"a {colour} {shape} at the {position}"


def all_compositions() -> list[Composition]:
    """All 4 x 5 x 4 = 80 (shape, colour, position) triples, in a fixed order."""
    return [Composition(s, c, p) for s, c, p in itertools.product(SHAPES, COLOURS, POSITIONS)]


def is_held_out(comp: Composition) -> bool:
    """Held-out rule: ``(shape + 2 colour + 3 position) % 5 == 0`` on the indices.

    It picks 16 of the 80 triples, exactly one colour per (shape, position) and at most one
    triple per (shape, colour) and per (colour, position), so every pair of attribute
    values is still seen in training: the test asks for new *combinations* only.
    """
    s, c, p = SHAPES.index(comp.shape), list(COLOURS).index(comp.colour), POSITIONS.index(comp.position)
    return (s + 2 * c + 3 * p) % 5 == 0


def split_compositions() -> tuple[list[Composition], list[Composition]]:
    """``(train, held_out)``: 64 and 16 compositions."""
    comps = all_compositions()
    return [c for c in comps if not is_held_out(c)], [c for c in comps if is_held_out(c)]


def _shape_mask(shape: str, yy: np.ndarray, xx: np.ndarray, cy: float, cx: float, r: float) -> np.ndarray:
    dy, dx = yy - cy, xx - cx
    if shape == "circle":
        return dy ** 2 + dx ** 2 <= r ** 2
    if shape == "square":
        return (np.abs(dy) <= 0.8 * r) & (np.abs(dx) <= 0.8 * r)
    if shape == "triangle":  # apex up: inside when below the two slanted edges and above the base
        return (dy <= 0.8 * r) & (dy >= -r + 2 * np.abs(dx))
    if shape == "cross":
        w = 0.33 * r
        return ((np.abs(dy) <= w) & (np.abs(dx) <= r)) | ((np.abs(dx) <= w) & (np.abs(dy) <= r))
    raise ValueError(f"unknown shape {shape!r}; shapes: {SHAPES}")


#: The training distribution's background brightness range and pixel noise.
BACKGROUND, NOISE = (0.05, 0.2), 0.03
#: A distribution shift for lesson 03: a brighter, noisier background than any training image.
SHIFTED = {"background": (0.45, 0.6), "noise": 0.12}


def draw(comp: Composition, rng: np.random.Generator, size: int = 32,
         background: tuple[float, float] = BACKGROUND, noise: float = NOISE) -> np.ndarray:
    """One image ``[3, size, size]`` in [0, 1]: a noisy dark background and the shape, with a
    random size, a random offset inside its quadrant and a slightly jittered colour.
    ``background`` (brightness range) and ``noise`` (std) change the drawing's distribution
    (``SHIFTED``) without changing what the caption says."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    half = size / 2
    r = rng.uniform(0.22, 0.32) * half * 1.0
    top, left = comp.position.startswith("top"), comp.position.endswith("left")
    cy = (0 if top else half) + half / 2 + rng.uniform(-1, 1) * (half / 2 - r)
    cx = (0 if left else half) + half / 2 + rng.uniform(-1, 1) * (half / 2 - r)
    img = np.full((3, size, size), rng.uniform(*background), dtype=np.float32)
    img += rng.normal(0, noise, img.shape).astype(np.float32)
    colour = np.clip(np.array(COLOURS[comp.colour]) + rng.normal(0, 0.05, 3), 0, 1).astype(np.float32)
    mask = _shape_mask(comp.shape, yy, xx, cy, cx, r)
    img[:, mask] = colour[:, None]
    return np.clip(img, 0, 1)


def shapes_dataset(n: int, seed: int = 0, size: int = 32):
    """``(images [n,3,size,size], labels [n])``: one random shape per image (the 4 classes of
    ``SHAPES``) in a random colour and quadrant: lesson 02's ViT task."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(SHAPES), n)
    comps = [Composition(SHAPES[s], rng.choice(list(COLOURS)), rng.choice(POSITIONS)) for s in labels]
    images = np.stack([draw(c, rng, size) for c in comps])
    return torch.from_numpy(images), torch.from_numpy(labels)


def composition_batch(compositions: list[Composition], rng: np.random.Generator, size: int = 32):
    """A training batch with one fresh image of *every* composition, in random order.

    CLIP's loss treats the other items of a batch as negatives; two items with the same
    caption would be false negatives. With one image per composition there are none.
    """
    order = rng.permutation(len(compositions))
    images = torch.from_numpy(np.stack([draw(compositions[i], rng, size) for i in order]))
    return images, torch.as_tensor(order)


# --------------------------------------------------------------------------- digit reversal (lesson 02)

#: Token ids of the reversal task: padding, begin and end of sequence, then the digits 0-9.
PAD, BOS, EOS = 0, 1, 2
DIGIT_OFFSET = 3
SEQ_VOCAB = ("<pad>", "<bos>", "<eos>", *"0123456789")


def reversal_dataset(n: int, min_len: int = 3, max_len: int = 8, seed: int = 0):
    """``(src [n, max_len+1], tgt [n, max_len+2])``: random digit strings and their reversal.

    ``src`` = digits, ``<eos>``, padding; ``tgt`` = ``<bos>``, the reversed digits, ``<eos>``,
    padding. The decoder reads ``tgt[:, :-1]`` and is trained to predict ``tgt[:, 1:]`` (teacher
    forcing). Lengths are uniform in ``[min_len, max_len]``, so batches need padding masks.
    """
    rng = np.random.default_rng(seed)
    src = np.full((n, max_len + 1), PAD, dtype=np.int64)
    tgt = np.full((n, max_len + 2), PAD, dtype=np.int64)
    for i, length in enumerate(rng.integers(min_len, max_len + 1, n)):
        digits = rng.integers(0, 10, length) + DIGIT_OFFSET
        src[i, :length], src[i, length] = digits, EOS
        tgt[i, 0], tgt[i, 1: length + 1], tgt[i, length + 1] = BOS, digits[::-1], EOS
    return torch.from_numpy(src), torch.from_numpy(tgt)


def decode_digits(tokens) -> str:
    """Token ids -> the digit string up to the first ``<eos>`` (``<bos>`` and padding dropped)."""
    out = []
    for t in (int(t) for t in tokens):
        if t == EOS:
            break
        if t >= DIGIT_OFFSET:
            out.append(SEQ_VOCAB[t])
    return "".join(out)
