"""Two non-GAN fake families for the mini benchmark: an autoencoder and up-sampling-only fakes.

- :class:`AutoEncoder`: a conv encoder (64 -> 8) and a decoder of three
  ``ConvTranspose2d(k=3, s=2)`` layers. Kernel 3 with stride 2 overlaps unevenly (counts
  1 and 2 alternate), a different checkerboard than the DCGAN's k=4/s=2. Fakes are
  reconstructions of real crops, as face-swap / "Deepfake" pipelines decode an encoded face
  (the ForenSynths "deepfake" column).
- :class:`UpsampleOnly`: a real crop down-sampled x2 (area) and brought back by nearest x2
  plus a small conv stack: only the up-sampling step is "generated", as NPR (Sec. 3) argues is
  the common trace of generators.

Both are fitted with a pixel loss by :func:`fit_reconstruction` (Adam, seeded batches).
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .dcgan import dcgan_init


class AutoEncoder(nn.Module):
    """Conv autoencoder for 64x64 RGB in [-1, 1]: 3 stride-2 convs down, 3 transposed convs up."""

    def __init__(self, nf: int = 32, kernel: int = 3):
        super().__init__()
        self.nf, self.kernel = nf, kernel
        self.encoder = nn.Sequential(
            nn.Conv2d(3, nf, 4, 2, 1), nn.LeakyReLU(0.2, True),
            nn.Conv2d(nf, nf * 2, 4, 2, 1), nn.LeakyReLU(0.2, True),
            nn.Conv2d(nf * 2, nf * 4, 4, 2, 1), nn.LeakyReLU(0.2, True))
        pad, outpad = (kernel - 1) // 2, 1 - (kernel % 2 == 0)  # k=3 -> p=1, op=1; k=4 -> p=1, op=0
        up = lambda cin, cout: nn.ConvTranspose2d(cin, cout, kernel, 2, pad, output_padding=outpad)  # noqa: E731
        self.decoder = nn.Sequential(
            up(nf * 4, nf * 2), nn.ReLU(True), up(nf * 2, nf), nn.ReLU(True), up(nf, 3), nn.Tanh())
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


class UpsampleOnly(nn.Module):
    """Area down-sampling x``factor``, nearest up-sampling x``factor``, then a residual conv stack."""

    def __init__(self, factor: int = 2, nf: int = 16, layers: int = 3):
        super().__init__()
        self.factor = factor
        convs: list[nn.Module] = []
        cin = 3
        for _ in range(layers - 1):
            convs += [nn.Conv2d(cin, nf, 3, 1, 1), nn.ReLU(True)]
            cin = nf
        convs += [nn.Conv2d(cin, 3, 3, 1, 1)]
        self.refine = nn.Sequential(*convs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        low = F.avg_pool2d(x, self.factor)
        up = F.interpolate(low, scale_factor=self.factor, mode="nearest")
        return (up + self.refine(up)).clamp(-1, 1)


def fit_reconstruction(model: nn.Module, images: torch.Tensor, iters: int = 200, batch_size: int = 32,
                       lr: float = 1e-3, seed: int = 0, progress: bool = True, desc: str = "fit") -> list:
    """Fit ``model(x) ~ x`` with an L1 loss on ``images`` ([N,3,H,W] in [-1,1]); returns loss history."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999))
    model.train()
    history = []
    t0 = time.perf_counter()
    for step in tqdm(range(1, iters + 1), desc=desc, disable=not progress, leave=False):
        x = images[torch.randint(0, images.shape[0], (batch_size,), generator=gen)]
        loss = F.l1_loss(model(x), x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        history.append({"iter": step, "loss": loss.item(), "seconds": time.perf_counter() - t0})
    model.eval()
    return history


@torch.no_grad()
def reconstruct(model: nn.Module, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """``model(images)`` in eval mode, batched."""
    model.eval()
    return torch.cat([model(images[i:i + batch_size]) for i in range(0, images.shape[0], batch_size)])
