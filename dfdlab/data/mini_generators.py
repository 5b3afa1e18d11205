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
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from ..gan.reconstruction import Reconstructor, fit_reconstructor

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
TRAIN_GENERATOR = "ae_nearest_f4"
#: iterations of :func:`dfdlab.gan.reconstruction.fit_reconstructor` per generator
ITERS = 700
#: weight of the detail term of the loss (``reconstruction_loss(detail_weight=...)``), the same for all
DETAIL_WEIGHT = 8.0
WEIGHTS = Path(__file__).with_name("mini_generators.pt")


def upsampler(name: str) -> str:
    """The decoder's up-sampling layer of generator ``name`` (the manifest's ``upsample`` column)."""
    return MINI_GENERATORS[name]["net"]["upsample"]


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
