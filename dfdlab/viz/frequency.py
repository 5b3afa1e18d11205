"""The frequency view: spectra of high-pass residuals and the transposed-convolution checkerboard.

Up-sampling layers leave periodic traces: a x2 layer makes the output depend on the
pixel's *phase* (even/odd row and column), which shows up as peaks at the frequencies
``k * N / 2`` of the spectrum (Odena et al., Distill 2016; Zhang et al., "Detecting and
Simulating Artifacts in GAN Fake Images", WIFS 2019; Frank et al., ICML 2020). Content
dominates the raw spectrum, so we look at a high-pass *residual* first (image minus a
3x3 local mean), as the detection literature does, then average ``log |FFT|`` over images.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Mapping

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image


def as_tensor(images) -> torch.Tensor:
    """A ``[N,3,H,W]`` float tensor in [-1, 1] from a tensor, a list of PIL images / arrays / paths, or a folder."""
    if isinstance(images, torch.Tensor):
        return images.detach().float().cpu()
    if isinstance(images, (str, Path)):
        images = sorted(p for p in Path(images).iterdir() if p.suffix.lower() in {".png", ".jpg", ".jpeg"})
    arrs = []
    for im in images:
        if isinstance(im, (str, Path)):
            with Image.open(im) as f:
                im = f.convert("RGB")
        arrs.append(np.asarray(im.convert("RGB") if isinstance(im, Image.Image) else im, dtype=np.float32))
    x = torch.from_numpy(np.stack(arrs)).permute(0, 3, 1, 2)
    return x / 127.5 - 1.0


def highpass_residual(x: torch.Tensor) -> torch.Tensor:
    """Grey-level residual ``g - mean3x3(g)`` (``[N,H,W]``) of images ``[N,3,H,W]``; reflect padding."""
    x = as_tensor(x)
    g = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).unsqueeze(1)
    blur = F.avg_pool2d(F.pad(g, (1, 1, 1, 1), mode="reflect"), 3, stride=1)
    return (g - blur)[:, 0]


def power_spectrum(x) -> torch.Tensor:
    """``|FFT2(residual)|^2`` per image, DC at the centre (``fftshift``), ``[N,H,W]``."""
    r = highpass_residual(x)
    return torch.fft.fftshift(torch.fft.fft2(r).abs().pow(2), dim=(-2, -1))


def average_spectrum(images, eps: float = 1e-8) -> np.ndarray:
    """Mean over images of ``log10 |FFT2(high-pass residual)|`` (DC centred), ``[H, W]``."""
    p = power_spectrum(images)
    return (0.5 * torch.log10(p + eps)).mean(0).numpy()


def peak_mask(h: int, w: int, period: int = 2) -> np.ndarray:
    """Boolean ``[h,w]`` (fftshifted) at the frequencies ``k*N/period``, DC excluded: where x2 up-sampling puts energy."""
    fy, fx = np.meshgrid(np.fft.fftshift(np.fft.fftfreq(h)) * h, np.fft.fftshift(np.fft.fftfreq(w)) * w, indexing="ij")
    m = (np.mod(fy, h // period) == 0) & (np.mod(fx, w // period) == 0)
    m[h // 2, w // 2] = False
    return m


def upsampling_energy_ratio(images, period: int = 8) -> np.ndarray:
    """Per image: log10(mean residual power at the up-sampling peaks / mean power elsewhere).

    ``period=2`` looks only at the last x2 stage (frequencies N/2); ``period=8`` also at
    the earlier stages (N/4, N/8) of a generator that up-samples x2 several times. A
    real photo crop has no reason to put more energy there (ratio ~ 0 in log10).
    """
    p = power_spectrum(images)
    m = torch.from_numpy(peak_mask(p.shape[-2], p.shape[-1], period))
    rest = ~m
    rest[p.shape[-2] // 2, p.shape[-1] // 2] = False
    return torch.log10(p[:, m].mean(1) / p[:, rest].mean(1)).numpy()


def spectrum_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Root-mean-square difference of two average log spectra (log10 units)."""
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def plot_spectra(spectra: Mapping[str, np.ndarray], ncols: int = 4, size: float = 2.6, relative_to: str | None = None,
                 suptitle: str = "average log|FFT| of high-pass residuals"):
    """One panel per generator. ``relative_to`` (e.g. ``"real"``) plots differences to that spectrum."""
    names = list(spectra)
    nrows = -(-len(names) // ncols)
    fig, axes = plt.subplots(nrows, min(ncols, len(names)), figsize=(size * min(ncols, len(names)), size * nrows),
                             squeeze=False)
    ref = spectra[relative_to] if relative_to else None
    for ax, name in zip(axes.flat[: len(names)], names, strict=True):  # the grid may have spare panels
        s = spectra[name] - ref if ref is not None and name != relative_to else spectra[name]
        ax.imshow(s, cmap="RdBu_r" if ref is not None and name != relative_to else "magma")
        ax.set_title(name if ref is None or name == relative_to else f"{name} - {relative_to}", fontsize=8)
    for ax in axes.flat:
        ax.axis("off")
    fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def kernel_overlap(kernel: int = 3, stride: int = 2, size: int = 8, layers: int = 1) -> np.ndarray:
    """How many kernel taps reach each output pixel of ``layers`` stacked transposed convs.

    A constant input and an all-ones kernel through ``conv_transpose2d`` count the
    contributions per output pixel (Odena et al. 2016, "Overlap & Artifacts"). When the
    kernel size is not divisible by the stride the counts alternate: a checkerboard.
    Borders are cropped so only the interior pattern remains.
    """
    x = torch.ones(1, 1, size, size, dtype=torch.float64)
    w = torch.ones(1, 1, kernel, kernel, dtype=torch.float64)
    for _ in range(layers):
        x = F.conv_transpose2d(x, w, stride=stride)
    crop = kernel * layers * stride
    return x[0, 0, crop:-crop, crop:-crop].numpy() if x.shape[-1] > 2 * crop + 2 else x[0, 0].numpy()


def plot_checkerboard(configs: Iterable[tuple[int, int, int]] = ((3, 2, 1), (4, 2, 1), (3, 2, 2), (4, 2, 2)),
                      size: float = 2.6):
    """Overlap counts for ``(kernel, stride, layers)`` settings (see :func:`kernel_overlap`)."""
    configs = list(configs)
    fig, axes = plt.subplots(1, len(configs), figsize=(size * len(configs), size), squeeze=False)
    for ax, (k, s, n) in zip(axes.flat, configs, strict=True):
        c = kernel_overlap(k, s, size=12, layers=n)
        c = c[:12, :12]
        ax.imshow(c, cmap="viridis", interpolation="nearest")
        ax.set_title(f"k={k}, s={s}, {n} layer{'s' * (n > 1)}\ncounts {int(c.min())}..{int(c.max())}", fontsize=8)
        ax.axis("off")
    fig.suptitle("transposed convolution: kernel taps per output pixel")
    fig.tight_layout()
    return fig
