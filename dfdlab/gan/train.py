"""GAN training loop (non-saturating loss), sample grids and checkpoints.

The objective is Goodfellow et al., "Generative Adversarial Nets" (NeurIPS 2014), Eq. 1::

    min_G max_D  E_x[log D(x)] + E_z[log(1 - D(G(z)))]

with the generator trained on the *non-saturating* loss ``-E_z[log D(G(z))]`` that the
same paper recommends (Sec. 3) because ``log(1 - D(G(z)))`` has vanishing gradients early
in training. Optimiser as in DCGAN (Radford et al. 2016, Sec. 4): Adam, lr 2e-4, beta1 0.5.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..checkpoints import CheckpointError, load_state_dict_strict, read_checkpoint
from ..files import atomic_torch_save
from .dcgan import Discriminator, Generator


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """``-log D(x) - log(1 - D(G(z)))`` (Goodfellow 2014, Eq. 1, the D side), as BCE with logits."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """``-log D(G(z))``: the non-saturating generator loss (Goodfellow 2014, Sec. 3)."""
    return F.softplus(-fake_logits).mean()


def generator_loss_minimax(fake_logits: torch.Tensor) -> torch.Tensor:
    """``log(1 - D(G(z)))``: the generator side of the minimax game (saturates early)."""
    return -F.softplus(fake_logits).mean()


def adversarial_step(G: Generator, D: Discriminator, images: torch.Tensor, opt_d: torch.optim.Optimizer,
                     opt_g: torch.optim.Optimizer, gen: torch.Generator, batch_size: int) -> dict:
    """One D update on a real and a fake batch, then one G update on the non-saturating loss.

    The order of the PyTorch DCGAN example (``examples/dcgan/main.py``); the batch indices and
    latents come from ``gen``. Returns the step's ``loss_D``, ``loss_G`` and the mean
    ``D_real``/``D_fake`` probabilities.
    """
    real = images[torch.randint(0, images.shape[0], (batch_size,), generator=gen)]
    fake = G(torch.randn(batch_size, G.nz, generator=gen))
    real_logits, fake_logits = D(real), D(fake.detach())
    loss_d = discriminator_loss(real_logits, fake_logits)
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()
    loss_g = generator_loss_nonsaturating(D(fake))
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    return {"loss_D": loss_d.item(), "loss_G": loss_g.item(),
            "D_real": torch.sigmoid(real_logits.detach()).mean().item(),
            "D_fake": torch.sigmoid(fake_logits.detach()).mean().item()}


@dataclass
class GANRun:
    """What :func:`train_gan` returns: per-iteration losses and sample grids at checkpoints."""

    history: list = field(default_factory=list)   # dicts: iter, loss_D, loss_G, D_real, D_fake
    samples: dict = field(default_factory=dict)   # iteration -> [k, 3, 64, 64] tensor in [-1, 1]
    seconds: float = 0.0


def train_gan(G: Generator, D: Discriminator, images: torch.Tensor, iters: int = 300,
              batch_size: int = 64, lr: float = 2e-4, beta1: float = 0.5, seed: int = 0,
              sample_every: int | None = None, n_samples: int = 16, progress: bool = True,
              callback: Callable[[int, dict], None] | None = None,
              checkpoint: str | Path | None = None, desc: str = "GAN") -> GANRun:
    """Train ``G`` and ``D`` on ``images`` (``[N, 3, H, W]`` in [-1, 1]) for ``iters`` steps.

    Each step is :func:`adversarial_step` (one D update, then one G update with the
    non-saturating loss, as in the PyTorch DCGAN example). Batches are drawn with a
    seeded ``torch.Generator``, so a run is reproducible. ``callback(step, record)`` is
    called after each step (e.g. a live loss plot). If ``checkpoint`` is given, the pair is
    saved there at the end (:func:`save_pair`).
    """
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=(beta1, 0.999))
    opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=(beta1, 0.999))
    fixed_z = torch.randn(n_samples, G.nz, generator=gen)
    run = GANRun()
    G.train()
    D.train()
    t0 = time.perf_counter()
    bar = tqdm(range(1, iters + 1), desc=desc, disable=not progress, leave=False)
    for step in bar:
        rec = {"iter": step, **adversarial_step(G, D, images, opt_d, opt_g, gen, batch_size)}
        run.history.append(rec)
        if progress and step % 20 == 0:
            bar.set_postfix(loss_D=f"{rec['loss_D']:.2f}", loss_G=f"{rec['loss_G']:.2f}")
        if sample_every and (step % sample_every == 0 or step == iters):
            run.samples[step] = sample(G, z=fixed_z)
            G.train()
        if callback is not None:
            callback(step, rec)
    run.seconds = time.perf_counter() - t0
    G.eval()
    D.eval()
    if checkpoint is not None:
        save_pair(checkpoint, G, D, history=run.history)
    return run


def train_discriminator(D: torch.nn.Module, G: Generator, images: torch.Tensor, iters: int, batch_size: int,
                        lr: float, betas: tuple[float, float], seed: int = 0, progress: bool = True,
                        desc: str = "D") -> list[dict]:
    """Train ``D`` alone to tell ``images`` from a frozen ``G``'s samples (the D side of Eq. 1).

    One step: ``batch_size`` reals (indices from a seeded ``torch.Generator``) and
    ``batch_size`` samples of ``G`` in eval mode with fresh latents, then
    :func:`discriminator_loss` and one Adam step (``lr``, ``betas``; StyleGAN's D uses 1e-3 and
    (0, 0.99)). Returns the per-step ``loss_D``, ``D_real`` and ``D_fake`` (probabilities).
    ``D`` ends in eval mode; ``G`` is never updated.
    """
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    G.eval()  # samples under no_grad below: G gets no gradient and is never stepped
    opt = torch.optim.Adam(D.parameters(), lr=lr, betas=betas)
    history = []
    D.train()
    for step in tqdm(range(1, iters + 1), desc=desc, disable=not progress, leave=False):
        real = images[torch.randint(0, images.shape[0], (batch_size,), generator=gen)]
        with torch.no_grad():
            fake = G(torch.randn(batch_size, G.nz, generator=gen))
        real_logits, fake_logits = D(real).flatten(), D(fake).flatten()
        loss = discriminator_loss(real_logits, fake_logits)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        history.append({"iter": step, "loss_D": loss.item(), "D_real": torch.sigmoid(real_logits.detach()).mean().item(),
                        "D_fake": torch.sigmoid(fake_logits.detach()).mean().item()})
    D.eval()
    return history


@torch.no_grad()
def sample(G: Generator, n: int = 16, seed: int = 0, z: torch.Tensor | None = None, batch_size: int = 256) -> torch.Tensor:
    """``n`` images ``[n, 3, 64, 64]`` in [-1, 1] from ``G`` in eval mode (BatchNorm running stats).

    Eval mode makes every image independent of the others in its batch, so a sample is a
    function of its own latent only (and a rebuild gives the same bytes).
    """
    G.eval()
    if z is None:
        z = torch.randn(n, G.nz, generator=torch.Generator().manual_seed(seed))
    return torch.cat([G(z[i:i + batch_size]) for i in range(0, z.shape[0], batch_size)])


def save_pair(path: str | Path, G: Generator, D: Discriminator, history: list | None = None, **extra) -> Path:
    """Atomically save ``{'G', 'D', 'config', 'history'}`` (state dicts plus constructor args)."""
    obj = {"G": G.state_dict(), "D": D.state_dict(),
           "config": {"G": G.config(), "D": D.config(), **extra}, "history": list(history or [])}
    return atomic_torch_save(obj, path)


def load_pair(path: str | Path) -> tuple[Generator, Discriminator]:
    """Rebuild ``(G, D)`` from a :func:`save_pair` file, strictly, with ``weights_only=True``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no GAN checkpoint at {path}; build the mini benchmark with dfdlab.data.build_mini() "
                                f"or train one with dfdlab.gan.train_gan(..., checkpoint=path)")
    obj = read_checkpoint(path)
    missing = {"G", "D", "config"} - set(obj if isinstance(obj, dict) else ())
    if missing:
        raise CheckpointError(f"{path} is not a dfdlab GAN checkpoint: keys {sorted(missing)} are missing")
    G = load_state_dict_strict(Generator(**obj["config"]["G"]), obj["G"], source=f"checkpoint {path} ['G']")
    D = load_state_dict_strict(Discriminator(**obj["config"]["D"]), obj["D"], source=f"checkpoint {path} ['D']")
    return G.eval(), D.eval()


def load_history(path: str | Path) -> list:
    """The loss history stored in a :func:`save_pair` checkpoint."""
    return read_checkpoint(path)["history"]
