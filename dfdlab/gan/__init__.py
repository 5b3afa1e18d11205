"""Small generators for the lessons and the mini benchmark.

- :mod:`dfdlab.gan.dcgan`: DCGAN ``Generator`` / ``Discriminator`` with ``upsample=`` in
  ``{"transposed", "nearest", "bilinear", "pixelshuffle"}``.
- :mod:`dfdlab.gan.train`: ``train_gan`` (non-saturating loss, Adam 2e-4, beta1 0.5),
  ``train_discriminator`` (D alone against a frozen G),
  ``sample``, ``save_pair`` / ``load_pair``.
- :mod:`dfdlab.gan.autoencoder`: ``AutoEncoder`` and ``UpsampleOnly`` fake families.
"""

from .autoencoder import AutoEncoder, UpsampleOnly, fit_reconstruction, reconstruct
from .dcgan import UPSAMPLERS, Discriminator, Generator, upsample_block
from .train import (
                    GANRun,
                    discriminator_loss,
                    generator_loss_minimax,
                    generator_loss_nonsaturating,
                    load_history,
                    load_pair,
                    sample,
                    save_pair,
                    train_discriminator,
                    train_gan,
)

__all__ = ["Generator", "Discriminator", "UPSAMPLERS", "upsample_block", "train_gan", "train_discriminator", "sample", "save_pair", "load_pair",
           "load_history", "GANRun", "discriminator_loss", "generator_loss_nonsaturating", "generator_loss_minimax",
           "AutoEncoder", "UpsampleOnly", "fit_reconstruction", "reconstruct"]
