"""DCGAN generator and discriminator whose up-sampling layer is a parameter.

Architecture after Radford et al., "Unsupervised Representation Learning with Deep
Convolutional GANs" (ICLR 2016), Fig. 1 and Sec. 3, as in the PyTorch DCGAN example
(``pytorch/examples/dcgan/main.py``): a latent ``z`` is projected to a 4x4 map, then four
stride-2 up-sampling blocks (BatchNorm + ReLU, Tanh at the end) reach 64x64; the
discriminator mirrors it with stride-2 convolutions, BatchNorm and LeakyReLU(0.2).

The only thing that changes between our generator *families* is the up-sampling layer,
which is exactly what NPR (Tan et al., CVPR 2024, Sec. 3) and the spectral-artefact
literature (Odena et al., "Deconvolution and Checkerboard Artifacts", Distill 2016)
point at:

- ``"transposed"``: ``ConvTranspose2d(k=4, s=2, p=1)`` (DCGAN/ProGAN-era; uneven kernel
  overlap -> checkerboard);
- ``"nearest"``: nearest-neighbour x2 then a 3x3 conv (copies each pixel into a 2x2 block);
- ``"bilinear"``: bilinear x2 then a 3x3 conv (smooth interpolation, weaker traces);
- ``"pixelshuffle"``: a 3x3 conv to 4x the channels then ``PixelShuffle(2)`` (sub-pixel
  convolution, Shi et al. 2016; each output phase has its own filter).
"""

from __future__ import annotations

import torch
from torch import nn

UPSAMPLERS = ("transposed", "nearest", "bilinear", "pixelshuffle")


def upsample_block(cin: int, cout: int, mode: str, bias: bool = False) -> nn.Module:
    """One x2 up-sampling layer from ``cin`` to ``cout`` channels (no norm/activation).

    ``bias=False`` where a BatchNorm follows (the DCGAN); the mini benchmark's
    reconstructors (``dfdlab.gan.reconstruction``) have no norm and keep the bias.
    """
    if mode == "transposed":
        return nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=bias)
    if mode == "nearest":
        return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(cin, cout, 3, 1, 1, bias=bias))
    if mode == "bilinear":
        return nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                             nn.Conv2d(cin, cout, 3, 1, 1, bias=bias))
    if mode == "pixelshuffle":
        return nn.Sequential(nn.Conv2d(cin, cout * 4, 3, 1, 1, bias=bias), nn.PixelShuffle(2))
    raise ValueError(f"upsample={mode!r} is not one of {UPSAMPLERS}")


def dcgan_init(m: nn.Module) -> None:
    """Weights N(0, 0.02), BatchNorm weight N(1, 0.02) and bias 0 (DCGAN paper Sec. 4)."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


class Generator(nn.Module):
    """DCGAN generator: ``z [N, nz]`` -> image ``[N, 3, 64, 64]`` in [-1, 1].

    ``upsample`` picks the x2 layer of each of the four up-sampling stages (4->8->16->32->64).
    The first projection ``ConvTranspose2d(nz, 8*ngf, 4, 1, 0)`` on a 1x1 input is a dense
    layer (no kernel overlap), identical in every family.
    """

    def __init__(self, nz: int = 64, ngf: int = 32, upsample: str = "transposed", nc: int = 3):
        super().__init__()
        if upsample not in UPSAMPLERS:
            raise ValueError(f"upsample={upsample!r} is not one of {UPSAMPLERS}")
        self.nz, self.ngf, self.upsample, self.nc = nz, ngf, upsample, nc
        ch = [ngf * 8, ngf * 4, ngf * 2, ngf]
        layers: list[nn.Module] = [nn.ConvTranspose2d(nz, ch[0], 4, 1, 0, bias=False), nn.BatchNorm2d(ch[0]), nn.ReLU(True)]
        for cin, cout in zip(ch[:-1], ch[1:], strict=True):
            layers += [upsample_block(cin, cout, upsample), nn.BatchNorm2d(cout), nn.ReLU(True)]
        layers += [upsample_block(ch[-1], nc, upsample), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(z.shape[0], self.nz, 1, 1))

    def config(self) -> dict:
        return {"nz": self.nz, "ngf": self.ngf, "upsample": self.upsample, "nc": self.nc}


class Discriminator(nn.Module):
    """DCGAN discriminator: image ``[N, 3, 64, 64]`` -> one logit per image ``[N]``."""

    def __init__(self, ndf: int = 32, nc: int = 3):
        super().__init__()
        self.ndf, self.nc = ndf, nc
        self.net = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),
        )
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()

    def config(self) -> dict:
        return {"ndf": self.ndf, "nc": self.nc}
