"""dfdlab.gan: generators per up-sampling layer, GAN losses, training loop, checkpoints, checkerboard."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dfdlab.checkpoints import CheckpointError
from dfdlab.gan import (
    UPSAMPLERS,
    AutoEncoder,
    Discriminator,
    Generator,
    UpsampleOnly,
    discriminator_loss,
    generator_loss_minimax,
    generator_loss_nonsaturating,
    load_pair,
    sample,
    train_gan,
)
from dfdlab.viz.frequency import kernel_overlap, peak_mask, upsampling_energy_ratio

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_generators_shapes_and_upsampling_layers():
    z = torch.randn(4, 64)
    for up in UPSAMPLERS:
        G = Generator(nz=64, ngf=8, upsample=up)
        x = G(z)
        assert x.shape == (4, 3, 64, 64) and x.abs().max() <= 1
        kinds = {type(m).__name__ for m in G.modules()}
        expect = {"transposed": "ConvTranspose2d", "nearest": "Upsample", "bilinear": "Upsample",
                  "pixelshuffle": "PixelShuffle"}[up]
        assert expect in kinds
    assert Discriminator(ndf=8)(torch.zeros(3, 3, 64, 64)).shape == (3,)
    with pytest.raises(ValueError, match="upsample"):
        Generator(upsample="cubic")


def test_losses_match_bce_definitions():
    real, fake = torch.randn(16), torch.randn(16)
    bce = F.binary_cross_entropy_with_logits
    assert torch.allclose(discriminator_loss(real, fake), bce(real, torch.ones(16)) + bce(fake, torch.zeros(16)))
    assert torch.allclose(generator_loss_nonsaturating(fake), -torch.log(torch.sigmoid(fake)).mean(), atol=1e-6)
    assert torch.allclose(generator_loss_minimax(fake), torch.log(1 - torch.sigmoid(fake)).mean(), atol=1e-6)
    # the reason for the non-saturating loss: when D rejects a fake (logit -6), its gradient is far larger
    f = torch.tensor([-6.0], requires_grad=True)
    g_ns, = torch.autograd.grad(generator_loss_nonsaturating(f), f)
    g_mm, = torch.autograd.grad(generator_loss_minimax(f), f)
    assert abs(g_ns.item()) > 100 * abs(g_mm.item())


def test_training_checkpoint_roundtrip(tmp_path):
    torch.manual_seed(0)
    images = torch.rand(64, 3, 64, 64) * 2 - 1
    G, D = Generator(ngf=8, upsample="nearest"), Discriminator(ndf=8)
    run = train_gan(G, D, images, iters=6, batch_size=8, seed=1, sample_every=3, n_samples=4, progress=False,
                    checkpoint=tmp_path / "g.pth")
    assert [r["iter"] for r in run.history] == list(range(1, 7)) and set(run.samples) == {3, 6}
    assert all(np.isfinite(r["loss_D"]) and np.isfinite(r["loss_G"]) for r in run.history)
    G2, D2 = load_pair(tmp_path / "g.pth")
    assert G2.upsample == "nearest"
    assert torch.equal(sample(G, n=5, seed=3), sample(G2, n=5, seed=3))
    x = torch.rand(2, 3, 64, 64)
    assert torch.equal(D.eval()(x), D2(x))
    torch.save({"x": 1}, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match="not a dfdlab GAN checkpoint"):
        load_pair(tmp_path / "bad.pth")
    with pytest.raises(FileNotFoundError, match="build_mini"):
        load_pair(tmp_path / "missing.pth")
    # strict loading: a checkpoint whose config disagrees with its weights fails loudly
    obj = torch.load(tmp_path / "g.pth", weights_only=True)
    obj["config"]["G"]["ngf"] = 16
    torch.save(obj, tmp_path / "wrong.pth")
    with pytest.raises(CheckpointError, match="shape mismatches"):
        load_pair(tmp_path / "wrong.pth")


def test_kernel_overlap_checkerboard_by_hand():
    # k=3, s=2: a tap pattern 1,2 per axis -> products 1, 2, 4 (Odena et al. 2016)
    c = kernel_overlap(3, 2, size=10)
    assert set(np.unique(c)) == {1.0, 2.0, 4.0}
    assert c[0, 0] * c[1, 1] == c[0, 1] * c[1, 0]  # separable: (row count) x (column count)
    # k=4, s=2: the kernel size is divisible by the stride -> even overlap (4 taps) in the interior
    assert np.all(kernel_overlap(4, 2, size=10) == 4)


def test_upsampling_only_fakes_and_autoencoder():
    torch.manual_seed(0)
    x = torch.rand(4, 3, 64, 64) * 2 - 1
    up = UpsampleOnly()
    for p in up.refine.parameters():
        torch.nn.init.zeros_(p)
    y = up(x)
    # with an empty conv stack the fake is a nearest copy: every 2x2 block is constant
    assert torch.equal(y[..., 0::2, 0::2], y[..., 1::2, 1::2])
    # ... a 2x2 box after zero insertion: its response is 0 at N/2, so those frequencies are emptied
    # (noise has the same power there as elsewhere, log ratio ~ 0)
    assert upsampling_energy_ratio(y, period=2).max() < -0.5 and abs(upsampling_energy_ratio(x, period=2)).max() < 0.5
    assert AutoEncoder(nf=8)(x).shape == x.shape
    assert peak_mask(64, 64, 2).sum() == 3
