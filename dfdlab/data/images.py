"""Robust image decoding: ``load_rgb(path)`` returns a PIL RGB image or raises ``ImageError``.

The official repositories decode with ``PIL.Image.open(path).convert('RGB')`` under
``ImageFile.LOAD_TRUNCATED_IMAGES = True`` (CNNDetection ``data/datasets.py``, copied into NPR and LGrad). ``load_rgb`` gives the same
pixels for every image those code paths handle, and a clear, catchable error naming the file
for the rest. What happens to each kind of difficult input:

================  ==========================================================================
input             behaviour
================  ==========================================================================
missing           ``ImageError(reason="missing")``
directory         ``ImageError(reason="not_a_file")``
empty (0 bytes)   ``ImageError(reason="empty")``
not an image      ``ImageError(reason="not_image")`` (Pillow cannot identify it)
corrupt           ``ImageError(reason="corrupt")`` (header or data Pillow cannot decode)
truncated         (or a damaged data stream Pillow reports as such)
                  loaded as the official code loads it (``LOAD_TRUNCATED_IMAGES``: the missing
                  part is filled), with a logged warning naming the file;
                  ``truncated="raise"`` gives ``ImageError(reason="truncated")`` instead
huge              more than ``max_pixels`` (Pillow's ``MAX_IMAGE_PIXELS``, ~89 MP) ->
                  ``ImageError(reason="too_large")`` before any pixel is decoded
tiny              a side below ``min_side`` (``MIN_SIDE`` = 8 px) -> ``ImageError(reason="too_small")``;
                  ``min_side=1`` accepts anything non-empty
odd-sized         loaded unchanged (NPR's model needs even sizes; its detector trims)
grayscale, 1-bit  ``convert('RGB')``: the gray value in all three channels (official)
CMYK              ``convert('RGB')`` (Pillow's CMYK->RGB, as the official code)
palette / alpha   default ``background=None``: ``convert('RGB')`` drops alpha and keeps the
                  colour under transparent pixels (official). ``background=(255, 255, 255)``
                  composites over that colour instead (what a viewer shows)
16-bit            ``I;16`` grayscale is scaled to 8 bit (``round(v / 257)``). **Deviation:**
                  Pillow's own ``convert('RGB')`` clips 16-bit values at 255 (a white image);
                  no official benchmark holds 16-bit files. 16-bit RGB PNGs are decoded by
                  Pillow to 8 bit (high byte) already. 32-bit ``I`` / float ``F`` are scaled
                  from their 16-bit / [0, 1] range, clipped.
EXIF-rotated      default ``exif_transpose=False``: the stored pixel grid, as the official
                  loaders (they never apply the EXIF orientation). ``exif_transpose=True``
                  turns the image upright (``ImageOps.exif_transpose``)
================  ==========================================================================

Multi-frame files (GIF, TIFF) give their first frame, as Pillow does.
"""

from __future__ import annotations

import logging
import os
import struct
import threading
import warnings
from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

log = logging.getLogger(__name__)

#: Images with a side shorter than this are rejected (configurable per call).
MIN_SIDE = 8
#: Pixel limit (width * height); Pillow's decompression-bomb limit, ~89.5 million pixels.
MAX_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485

# Guards the two Pillow globals we change for one file at a time (re-entrant: nested use).
_GLOBALS_LOCK = threading.RLock()


class ImageError(ValueError):
    """An image file that cannot be used. ``.path`` names the file, ``.reason`` says why.

    Reasons: "missing", "not_a_file", "unreadable", "empty", "not_image", "corrupt",
    "truncated", "too_large", "too_small".
    """

    def __init__(self, path, reason: str, detail: str):
        self.path = str(path)
        self.reason = reason
        self.detail = detail
        super().__init__(f"{self.path}: {detail}")

    def __reduce__(self):  # picklable across DataLoader worker processes
        return (type(self), (self.path, self.reason, self.detail))


@contextmanager
def _pillow_pixel_limit_lifted():
    """Pillow refuses images above 2x ``MAX_IMAGE_PIXELS`` on its own; lift that for one file."""
    with _GLOBALS_LOCK:
        previous = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = previous


def _open_and_load(path: Path) -> Image.Image:
    """``Image.open`` + ``load`` without the decompression-bomb warning (we check the size ourselves)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        im = Image.open(path)
    try:
        im.load()
    except BaseException:
        im.close()
        raise
    return im


def _check_size(im: Image.Image, path: Path, min_side: int, max_pixels: int | None) -> None:
    w, h = im.size
    if max_pixels is not None and w * h > max_pixels:
        raise ImageError(path, "too_large", f"{w}x{h} = {w * h:,} pixels is more than the limit of {max_pixels:,} "
                         "(a possible decompression bomb); pass max_pixels=... to load_rgb to allow it")
    if min(w, h) < min_side:
        raise ImageError(path, "too_small", f"{w}x{h} pixels is smaller than the minimum side of {min_side} px; "
                         "pass min_side=1 to load_rgb to accept it")


def _sixteen_bit_to_rgb(im: Image.Image) -> Image.Image:
    """Scale 16-bit / 32-bit / float single-channel images to 8 bit, then to RGB."""
    arr = np.asarray(im)
    if im.mode == "F":
        arr = np.clip(arr.astype(np.float64), 0.0, 1.0) * 255.0 if arr.size and arr.max() <= 1.0 else np.clip(arr, 0, 255)
        gray = np.rint(arr).astype(np.uint8)
    else:  # I;16*, I: 16-bit range
        gray = np.rint(np.clip(arr.astype(np.float64), 0, 65535) / 257.0).astype(np.uint8)
    return Image.fromarray(gray, mode="L").convert("RGB")


def _to_rgb(im: Image.Image, background) -> Image.Image:
    if im.mode.startswith("I;16") or im.mode in ("I", "F"):
        return _sixteen_bit_to_rgb(im)
    if background is not None:
        has_alpha = im.mode in ("RGBA", "LA", "La", "RGBa", "PA") or (im.mode == "P" and "transparency" in im.info)
        if has_alpha:
            rgba = im.convert("RGBA")
            base = Image.new("RGBA", rgba.size, tuple(background) + (255,))
            return Image.alpha_composite(base, rgba).convert("RGB")
    return im.convert("RGB")


def load_rgb(
    path: str | os.PathLike,
    *,
    exif_transpose: bool = False,
    background: tuple[int, int, int] | None = None,
    truncated: str = "load",
    min_side: int = MIN_SIDE,
    max_pixels: int | None = MAX_PIXELS,
) -> Image.Image:
    """Decode ``path`` to a fully loaded PIL RGB image, or raise :class:`ImageError` naming it.

    Defaults reproduce the official ``Image.open(path).convert('RGB')`` with
    ``LOAD_TRUNCATED_IMAGES=True`` (see the module docstring for every case).

    Args:
        exif_transpose: turn EXIF-rotated photos upright (the official code does not).
        background: composite images with alpha over this colour instead of dropping alpha.
        truncated: "load" (official: fill the missing part, log a warning) or "raise".
        min_side: reject images with a side shorter than this.
        max_pixels: reject images with more pixels than this (``None``: no limit).
    """
    path = Path(path)
    if truncated not in ("load", "raise"):
        raise ValueError(f"truncated must be 'load' or 'raise', got {truncated!r}")
    _check_file(path)
    with _decode(path, truncated, min_side, max_pixels) as im:
        if exif_transpose:
            im = ImageOps.exif_transpose(im)
        return _to_rgb(im, background)


def _check_file(path: Path) -> None:
    """Missing, not a regular file, or empty: named before Pillow sees it."""
    if not path.exists():
        raise ImageError(path, "missing", "no such file")
    if not path.is_file():
        raise ImageError(path, "not_a_file", "is a directory or special file, not an image file")
    if path.stat().st_size == 0:
        raise ImageError(path, "empty", "the file is empty (0 bytes)")


def _decode(path: Path, truncated: str, min_side: int, max_pixels: int | None) -> Image.Image:
    """Header size check, then the full decode; every Pillow failure becomes an :class:`ImageError`."""
    pillow_limit = Image.MAX_IMAGE_PIXELS
    lift = max_pixels is None or (pillow_limit is not None and max_pixels > pillow_limit)
    try:
        with _pillow_pixel_limit_lifted() if lift else nullcontext():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                header = Image.open(path)  # reads the header only
            with header:
                _check_size(header, path, min_side, max_pixels)
        try:
            with _pillow_pixel_limit_lifted() if lift else nullcontext():
                return _open_and_load(path)
        except OSError as err:
            if "truncated" not in str(err).lower() and "broken data stream" not in str(err).lower():
                raise
            if truncated == "raise":
                raise ImageError(path, "truncated", f"the image data is truncated or damaged ({err})") from err
            return _load_truncated(path, lift)
    except ImageError:
        raise
    except UnidentifiedImageError as err:
        raise ImageError(path, "not_image", "not an image file Pillow can identify "
                         f"(extension {path.suffix or 'none'}); remove it or convert it to PNG/JPEG") from err
    except PermissionError as err:
        raise ImageError(path, "unreadable", f"no permission to read the file ({err})") from err
    except Image.DecompressionBombError as err:
        raise ImageError(path, "too_large", f"{err}; pass max_pixels=... to load_rgb to allow it") from err
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error) as err:
        raise ImageError(path, "corrupt", f"the image data cannot be decoded ({type(err).__name__}: {err}); "
                         "the file is damaged, re-download or re-encode it") from err


def _load_truncated(path: Path, lift: bool) -> Image.Image:
    """The official code sets LOAD_TRUNCATED_IMAGES globally; we set it only for this file."""
    with _GLOBALS_LOCK:
        previous = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = True
        try:
            with _pillow_pixel_limit_lifted() if lift else nullcontext():
                im = _open_and_load(path)
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = previous
    log.warning("%s: truncated or damaged image data, loaded with the missing part filled "
                "(LOAD_TRUNCATED_IMAGES, as the official code)", path)
    return im


__all__ = ["load_rgb", "ImageError", "MIN_SIDE", "MAX_PIXELS"]
