"""The generators of the mini benchmark v2: a registry, the seeded script that trains them, the shipped weights.

Each generator is a :class:`dfdlab.gan.reconstruction.Reconstructor` trained to reconstruct
the real *train* crops. They differ in the up-sampling layer of the decoder (the trace NPR,
CVPR 2024 Sec. 3, builds on) and, so that "an unseen generator" is more than a swapped layer,
in the latent factor, depth, width, activation and pixel loss as well:

===================  ============  ======  =========================================================
generator            family        factor  decoder
===================  ============  ======  =========================================================
ae_nearest_f4        nearest       4       nearest + conv, as ProGAN  <- the TRAIN generator
ae_nearest_f2        nearest       2       another architecture, same up-sampler (deeper, ReLU, L2)
ldm_kl_f4            latent_diff.  4       KL-VAE, 4 latent channels, SiLU (LDM's first stage)
ae_transposed_f4     transposed    4       ConvTranspose2d(k4, s2), ReLU, L2
ae_transposed_f2     transposed    2       narrower, deeper, SiLU
ae_bilinear_f4       bilinear      4       bilinear + conv, SiLU
ae_bilinear_f2       bilinear      2       narrower, deeper, L2
ae_pixelshuffle_f4   pixelshuffle  4       conv + PixelShuffle(2), L2
ae_pixelshuffle_f2   pixelshuffle  2       narrower, deeper, ReLU
===================  ============  ======  =========================================================

All are trained with :func:`dfdlab.gan.reconstruction.reconstruction_loss` including its
detail term (``DETAIL_WEIGHT``): it forces each decoder to synthesise fine texture through its
up-sampling layers instead of answering with blur.

Training them costs more than the build's budget (minutes each on one core), so they are
trained once by this module's script, seeded, and shipped with the package as fp16 state
dicts (``mini_generators.pt``, its sha256 is part of the mini benchmark's cache key)::

    python -m dfdlab.data.train_mini_generators           # all, into dfdlab/data/mini_generators.pt
    python -m dfdlab.data.train_mini_generators --only ae_nearest_f4 --out /tmp/g.pt

The training crops are ``random_crops`` of the bundled *train* photos (seed 1 of the mini
builder), so no test photo is ever seen by a generator.

One GAN stays a family of its own (:data:`MINI_GANS`): a DCGAN trained adversarially on the same
train crops and shipped in the same file. Its samples are not re-syntheses of a real crop (a GAN
has no input image), so only their per-channel mean and high-pass energy are matched to a real
test crop. Its discriminator is LGrad's quick transformation model (``dfdlab.zoo``, a stand-in
for the StyleGAN LSUN-bedroom D: a discriminator trained on the same kind of photos).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from ..gan.dcgan import Discriminator, Generator
from ..gan.reconstruction import Reconstructor, fit_reconstructor
from ..gan.train import train_discriminator, train_gan

#: generator -> family, up-sampler, Reconstructor settings, pixel loss, seed
MINI_GENERATORS: dict[str, dict] = {
    "ae_nearest_f4": dict(family="nearest", net=dict(upsample="nearest", stages=2), pixel="l1", seed=1),
    "ae_nearest_f2": dict(family="nearest", net=dict(upsample="nearest", stages=1, depth=2, activation="relu"),
                          pixel="l2", seed=2),
    "ldm_kl_f4": dict(family="latent_diffusion", net=dict(upsample="nearest", stages=2, z_channels=4, kl=True, depth=2,
                                                          activation="silu"), pixel="l1", seed=3),
    "ae_transposed_f4": dict(family="transposed", net=dict(upsample="transposed", stages=2, activation="relu"),
                             pixel="l2", seed=4),
    "ae_transposed_f2": dict(family="transposed", net=dict(upsample="transposed", stages=1, nf=24, z_channels=6, depth=2,
                                                           activation="silu"), pixel="l1", seed=5),
    "ae_bilinear_f4": dict(family="bilinear", net=dict(upsample="bilinear", stages=2, activation="silu"), pixel="l1",
                           seed=6),
    "ae_bilinear_f2": dict(family="bilinear", net=dict(upsample="bilinear", stages=1, nf=24, depth=2), pixel="l2", seed=7),
    "ae_pixelshuffle_f4": dict(family="pixelshuffle", net=dict(upsample="pixelshuffle", stages=2), pixel="l2", seed=8),
    "ae_pixelshuffle_f2": dict(family="pixelshuffle", net=dict(upsample="pixelshuffle", stages=1, nf=24, depth=2,
                                                               activation="relu"), pixel="l1", seed=9),
}
#: GAN -> family, up-sampler, Generator settings, discriminator width, iterations, batch size, seed
MINI_GANS: dict[str, dict] = {
    "dcgan_transposed": dict(family="gan", net=dict(nz=64, ngf=32, upsample="transposed"), ndf=32, iters=4000,
                             batch_size=32, seed=10),
}
TRAIN_GENERATOR = "ae_nearest_f4"
#: iterations of :func:`dfdlab.gan.reconstruction.fit_reconstructor` per generator
ITERS = 700
#: weight of the detail term of the loss (``reconstruction_loss(detail_weight=...)``), the same for all
DETAIL_WEIGHT = 8.0
WEIGHTS = Path(__file__).with_name("mini_generators.pt")

#: LGrad's quick transformation model (``dfdlab.zoo``): StyleGAN's discriminator architecture
#: (:class:`dfdlab.detectors.lgrad.StyleGANDiscriminator`, genforce layout) at 64 px with fewer
#: feature maps, trained alone (:func:`dfdlab.gan.train.train_discriminator`, StyleGAN's D
#: optimiser: Adam lr 1e-3, betas (0, 0.99)) to tell the train crops from the shipped DCGAN's
#: samples. A stand-in for the paper's StyleGAN LSUN-bedroom D: a StyleGAN D trained on photos
#: against a GAN, never on the train generator's fakes. Its own file: the mini benchmark's cache
#: key does not depend on it.
STYLEGAN_D: dict = dict(resolution=64, fmaps_base=2048, fmaps_max=128, against="dcgan_transposed",
                        iters=300, batch_size=16, lr=1e-3, betas=(0.0, 0.99), seed=11)
STYLEGAN_D_WEIGHTS = Path(__file__).with_name("mini_stylegan_d.pt")


def upsampler(name: str) -> str:
    """The decoder's up-sampling layer of generator ``name`` (the manifest's ``upsample`` column)."""
    return {**MINI_GENERATORS, **MINI_GANS}[name]["net"]["upsample"]


def family(name: str) -> str:
    """The manifest's ``family`` column of generator ``name``."""
    return {**MINI_GENERATORS, **MINI_GANS}[name]["family"]


def build_generator(name: str) -> Reconstructor:
    if name not in MINI_GENERATORS:
        raise KeyError(f"unknown mini generator {name!r}; known: {', '.join(MINI_GENERATORS)}")
    return Reconstructor(**MINI_GENERATORS[name]["net"])


def train_generator(name: str, crops: torch.Tensor, iters: int = ITERS, progress: bool = True) -> tuple[dict, list]:
    """Train generator ``name`` on ``crops`` ([N, 3, 64, 64] in [-1, 1]); returns (fp16 state dict, loss history)."""
    spec = MINI_GENERATORS[name]
    torch.manual_seed(spec["seed"])
    model = build_generator(name)
    history = fit_reconstructor(model, crops, iters=iters, seed=1000 + spec["seed"], pixel=spec["pixel"],
                                detail_weight=DETAIL_WEIGHT, progress=progress, desc=name)
    return {k: v.half() for k, v in model.state_dict().items()}, history


def train_gan_pair(name: str, crops: torch.Tensor, progress: bool = True) -> tuple[dict, list]:
    """Train GAN ``name`` of :data:`MINI_GANS` on ``crops``; returns ({'G', 'D', 'config'} with fp16 state dicts, history)."""
    spec = MINI_GANS[name]
    torch.manual_seed(spec["seed"])
    G, D = Generator(**spec["net"]), Discriminator(ndf=spec["ndf"])
    run = train_gan(G, D, crops, iters=spec["iters"], batch_size=spec["batch_size"], seed=1000 + spec["seed"],
                    progress=progress, desc=name)
    half = lambda m: {k: v.half() if v.is_floating_point() else v for k, v in m.state_dict().items()}  # noqa: E731
    return {"G": half(G), "D": half(D), "config": {"G": G.config(), "D": D.config()}}, run.history


def train_stylegan_d(crops: torch.Tensor, progress: bool = True) -> tuple[dict, list]:
    """Train :data:`STYLEGAN_D` on ``crops``; returns ({'D': fp16 state dict, 'config'}, history)."""
    from ..detectors.lgrad import StyleGANDiscriminator

    spec = STYLEGAN_D
    config = {k: spec[k] for k in ("resolution", "fmaps_base", "fmaps_max")}
    torch.manual_seed(spec["seed"])
    D = StyleGANDiscriminator(**config)
    G, _ = load_gans(names=[spec["against"]])[spec["against"]]
    history = train_discriminator(D, G, crops, iters=spec["iters"], batch_size=spec["batch_size"], lr=spec["lr"],
                                  betas=spec["betas"], seed=1000 + spec["seed"], progress=progress, desc="stylegan_d")
    sd = {k: v.half() if v.is_floating_point() else v for k, v in D.state_dict().items()}
    return {"D": sd, "config": config, "spec": dict(spec)}, history


def load_stylegan_d(path: Path = STYLEGAN_D_WEIGHTS):
    """LGrad's quick transformation model (:data:`STYLEGAN_D`), float32, eval mode, loaded strictly."""
    from ..detectors.lgrad import StyleGANDiscriminator

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: LGrad's quick transformation model ships with dfdlab; "
                                f"reinstall it, or train it with `python -m dfdlab.data.train_mini_generators "
                                f"--only stylegan_d`")
    blob = torch.load(path, map_location="cpu", weights_only=True)
    D = StyleGANDiscriminator(**blob["config"])
    D.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in blob["D"].items()}, strict=True)
    return D.eval()


def weights_sha256(path: Path = WEIGHTS) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_generators(path: Path = WEIGHTS, names=None) -> dict[str, Reconstructor]:
    """``{name: Reconstructor in eval mode, float32}`` from the shipped weights, loaded strictly."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: the mini benchmark v2's generator weights ship with dfdlab; "
                                f"reinstall it, or train them with `python -m dfdlab.data.train_mini_generators`")
    blob = torch.load(path, map_location="cpu", weights_only=True)
    out = {}
    for name in names or MINI_GENERATORS:
        if name not in blob["state_dicts"]:
            raise KeyError(f"{path} holds no weights for generator {name!r} (has {sorted(blob['state_dicts'])})")
        model = build_generator(name)
        model.load_state_dict({k: v.float() for k, v in blob["state_dicts"][name].items()}, strict=True)
        out[name] = model.eval()
    return out


def load_gans(path: Path = WEIGHTS, names=None) -> dict[str, tuple[Generator, Discriminator]]:
    """``{name: (G, D)}`` of :data:`MINI_GANS` from the shipped weights, float32, eval mode, loaded strictly."""
    blob = torch.load(Path(path), map_location="cpu", weights_only=True)
    out = {}
    for name in names or MINI_GANS:
        entry = blob.get("gans", {}).get(name)
        if entry is None:
            raise KeyError(f"{path} holds no GAN {name!r}; train it with "
                           f"`python -m dfdlab.data.train_mini_generators --only {name}`")
        G, D = Generator(**entry["config"]["G"]), Discriminator(**entry["config"]["D"])
        for m, key in ((G, "G"), (D, "D")):
            m.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in entry[key].items()}, strict=True)
        out[name] = (G.eval(), D.eval())
    return out
