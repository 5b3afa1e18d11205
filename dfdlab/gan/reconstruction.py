"""Reconstructors: the generators of the content-matched mini benchmark (``build_mini(version=2)``).

A fake of the mini benchmark v2 is a real crop re-synthesised through a trained
autoencoder: the encoder maps the crop to a latent ``f`` times smaller, the decoder brings it
back through ``log2 f`` up-sampling stages. A fake and its real then show the same content,
colour and size and differ by what the decoder does, its up-sampling layer above all: the
simulated-artefact idea of AutoGAN (Zhang, Karaman and Chang, WIFS 2019) and the
reconstruction-based training data of DRCT (ICML 2024), B-Free (CVPR 2025) and DDA
(NeurIPS 2025), see the course's 大总结.

- :class:`Reconstructor`: conv encoder, ``stages`` stride-2 convolutions down; decoder with
  ``stages`` x2 up-sampling layers of one kind (``dfdlab.gan.dcgan.upsample_block``:
  transposed convolution, nearest + conv as ProGAN, bilinear + conv, pixel shuffle), each
  followed by ``depth - 1`` 3x3 convolutions; ``kl=True`` makes it a KL-regularised VAE
  (the first stage of latent diffusion, Rombach et al., CVPR 2022, Sec. 3.1) whose decoder,
  as LDM's, up-samples with nearest + conv.
- :func:`reconstruction_loss`: L1 or L2 on pixels, L1 on the image gradients, and a
  detail term: the local high-pass energy of the output must match the real's. A pixel loss
  alone lets a decoder answer "blur" where it cannot place the detail, and then every fake
  differs from its real by blur, a trace no real generator is trained to leave; with the
  detail term the decoder must synthesise fine texture, and it can only do so through its
  up-sampling layers, as a GAN's generator does.
- :func:`fit_reconstructor`: Adam with a one-cycle schedule on random 32x32 patches of the
  training crops (the networks are fully convolutional, so a patch costs a quarter of a crop).
- :func:`resynthesise`: the fakes: ``decoder(encoder(x))`` (the latent mean for a VAE), with
  each image's per-channel mean and high-pass energy moved back to its real's, so neither a
  colour cast nor overall smoothness is what a detector can learn.
"""

from __future__ import annotations

import time
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .dcgan import UPSAMPLERS, upsample_block

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "lrelu": lambda: nn.LeakyReLU(0.2),
    "relu": nn.ReLU,
    "silu": nn.SiLU,
}


class Reconstructor(nn.Module):
    """Autoencoder for RGB in [-1, 1] with a latent ``2**stages`` times smaller; the decoder's up-sampler is a parameter.

    Args:
        upsample: one of ``dfdlab.gan.dcgan.UPSAMPLERS``.
        stages: number of x2 stages (latent factor ``f = 2**stages``).
        nf: channels at full resolution (doubled at every stage down).
        z_channels: latent channels.
        kl: a VAE: the encoder gives mean and log-variance, training samples the latent,
            :meth:`forward` in eval mode uses the mean; ``self.kl_loss`` holds the last KL term.
        depth: convolutions per stage (1: the up-sampling layer alone).
        activation: ``"lrelu"``, ``"relu"`` or ``"silu"``.
    """

    def __init__(self, upsample: str, stages: int = 2, nf: int = 32, z_channels: int = 8, kl: bool = False,
                 depth: int = 1, activation: str = "lrelu"):
        super().__init__()
        if upsample not in UPSAMPLERS:
            raise ValueError(f"upsample={upsample!r} is not one of {UPSAMPLERS}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation={activation!r} is not one of {sorted(ACTIVATIONS)}")
        self.settings = dict(upsample=upsample, stages=stages, nf=nf, z_channels=z_channels, kl=kl, depth=depth,
                             activation=activation)
        act = ACTIVATIONS[activation]
        enc: list[nn.Module] = [nn.Conv2d(3, nf, 3, 1, 1), act()]
        c = nf
        for _ in range(stages):
            enc += [nn.Conv2d(c, 2 * c, 4, 2, 1), act()]
            c *= 2
            for _ in range(depth - 1):
                enc += [nn.Conv2d(c, c, 3, 1, 1), act()]
        enc.append(nn.Conv2d(c, 2 * z_channels if kl else z_channels, 3, 1, 1))
        self.encoder = nn.Sequential(*enc)
        dec: list[nn.Module] = [nn.Conv2d(z_channels, c, 3, 1, 1), act()]
        for _ in range(stages):
            dec += [upsample_block(c, c // 2, upsample, bias=True), act()]
            c //= 2
            for _ in range(depth - 1):
                dec += [nn.Conv2d(c, c, 3, 1, 1), act()]
        dec.append(nn.Conv2d(c, 3, 3, 1, 1))
        self.decoder = nn.Sequential(*dec)
        self.kl_loss = torch.zeros(())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.encoder(x)
        if self.settings["kl"]:
            mu, logvar = h.chunk(2, 1)
            self.kl_loss = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).mean()
            h = mu + (0.5 * logvar).exp() * torch.randn_like(mu) if self.training else mu
        return self.decoder(h)


def _gradients(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return t[..., 1:, :] - t[..., :-1, :], t[..., :, 1:] - t[..., :, :-1]


def highpass(x: torch.Tensor) -> torch.Tensor:
    """``x`` minus its 3x3 binomial blur (reflect padding), per channel."""
    k = torch.tensor([1.0, 2.0, 1.0], dtype=x.dtype, device=x.device)
    k = (k[:, None] * k[None]) / 16
    c = x.shape[1]
    return x - F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), k.expand(c, 1, 3, 3).contiguous(), groups=c)


def detail_energy(x: torch.Tensor, window: int = 4) -> torch.Tensor:
    """Root of the high-pass energy in each ``window`` x ``window`` cell: how much fine detail is where."""
    return F.avg_pool2d(highpass(x).pow(2), window).add(1e-6).sqrt()


def reconstruction_loss(y: torch.Tensor, x: torch.Tensor, pixel: str = "l1", gradient_weight: float = 0.5,
                        detail_weight: float = 0.0) -> torch.Tensor:
    """Pixel loss (``"l1"``, or ``"l2"`` scaled x4 to a similar size), L1 between the images' finite differences,
    and ``detail_weight`` times L1 between their :func:`detail_energy` maps."""
    if pixel not in ("l1", "l2"):
        raise ValueError(f"pixel={pixel!r} is not 'l1' or 'l2'")
    loss = F.l1_loss(y, x) if pixel == "l1" else 4 * F.mse_loss(y, x)
    (yy, yx), (xy, xx) = _gradients(y), _gradients(x)
    loss = loss + gradient_weight * (F.l1_loss(yy, xy) + F.l1_loss(yx, xx))
    if detail_weight:
        loss = loss + detail_weight * F.l1_loss(detail_energy(y), detail_energy(x))
    return loss


def fit_reconstructor(model: Reconstructor, images: torch.Tensor, iters: int, seed: int, pixel: str = "l1",
                      detail_weight: float = 0.0, patch: int = 32, batch_size: int = 32, lr: float = 2e-3, kl_weight: float = 1e-4,
                      progress: bool = True, desc: str = "fit") -> list[dict]:
    """Train ``model(x) ~ x`` on random ``patch``-sized crops of ``images`` ([N, 3, H, W] in [-1, 1]).

    Batches and patch positions come from a generator seeded with ``seed``; the caller seeds
    the initial weights. Returns the loss history (every 50 iterations and the last).
    """
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=iters, pct_start=0.1)
    n, _, h, w = images.shape
    history, t0 = [], time.perf_counter()
    model.train()
    for step in tqdm(range(1, iters + 1), desc=desc, disable=not progress, leave=False):
        idx = torch.randint(0, n, (batch_size,), generator=gen)
        oy, ox = torch.randint(0, h - patch + 1, (1,), generator=gen).item(), torch.randint(0, w - patch + 1, (1,), generator=gen).item()
        x = images[idx, :, oy:oy + patch, ox:ox + patch]
        y = model(x)
        loss = reconstruction_loss(y, x, pixel, detail_weight=detail_weight) + (kl_weight * model.kl_loss if model.settings["kl"] else 0.0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % 50 == 0 or step == iters:
            history.append({"iter": step, "loss": float(loss), "seconds": round(time.perf_counter() - t0, 2)})
    model.eval()
    return history


@torch.no_grad()
def resynthesise(model: nn.Module, images: torch.Tensor, batch_size: int = 128, match: bool = True) -> torch.Tensor:
    """The fakes of ``images`` ([N, 3, H, W] in [-1, 1]): the model's reconstructions, clamped to [-1, 1].

    ``match``: move two global statistics of each reconstruction back to its input's, so that
    neither is a signal (``dfdlab.data.shortcuts`` measures what is left): the per-channel
    mean (a short-trained decoder's colour cast) and the high-pass energy (a reconstruction is
    smoother than its real; the high-pass part of the reconstruction itself is scaled, so
    what is added is the decoder's own detail, traces included, not the real's).
    """
    model.eval()
    y = torch.cat([model(images[i:i + batch_size]) for i in range(0, images.shape[0], batch_size)])
    return match_statistics(y, images) if match else y.clamp(-1, 1)


def match_histograms(y: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """``y`` with each image's per-channel value distribution replaced by ``reference``'s (exact histogram matching).

    Each channel's values keep their order (a monotone remap, so spatial patterns such as an
    up-sampler's periodic traces survive) and take the sorted values of the reference channel.
    For fakes without a source image (GAN samples), whose colours would otherwise be a signal.
    """
    n, c = y.shape[:2]
    flat, ref = y.reshape(n, c, -1), reference.reshape(n, c, -1)
    out = torch.empty_like(flat)
    out.scatter_(2, flat.argsort(dim=2, stable=True), ref.sort(dim=2, stable=True).values)
    return out.reshape(y.shape)


def match_statistics(y: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """``y`` with each image's per-channel mean and high-pass energy moved to ``reference``'s, clamped to [-1, 1].

    The high-pass part of ``y`` itself is scaled, so what is added is ``y``'s own detail
    (the generator's traces included), never the reference's.
    """
    y = y - y.mean((2, 3), keepdim=True) + reference.mean((2, 3), keepdim=True)
    hy = highpass(y)
    gain = (highpass(reference).pow(2).mean((1, 2, 3), keepdim=True)
            / hy.pow(2).mean((1, 2, 3), keepdim=True).clamp_min(1e-8)).sqrt()
    return (y + (gain - 1) * hy).clamp(-1, 1)
