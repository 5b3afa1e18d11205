"""NPR: Neighboring Pixel Relationships (Tan et al., CVPR 2024).

"Rethinking the Up-Sampling Operations in CNN-based Generative Network for Generalizable
Deepfake Detection". The idea in one line: generators up-sample, and up-sampling makes
the pixels of each small block depend on each other; the residual between an image and
its own nearest-neighbour down/up-sampled copy exposes those local relations, and a
small ResNet trained on that residual generalises across generators.

Mirrors the official ``networks/resnet.py`` of chuangchuangtan/NPR-DeepfakeDetection:

    NPR   = x - up2(down2(x))          # on the ImageNet-normalised tensor   -> npr_residual
    logit = fc1(avgpool(layer2(layer1(maxpool(relu(bn1(conv1(NPR * 2/3))))))))

The network is ResNet-50 truncated after ``layer2`` with a 3x3 stride-2 stem and a
512 -> 1 head called ``fc1``; it is trained from scratch. State-dict keys and their order
equal the official checkpoints' (146 entries, 1,447,897 elements), so ``NPR.pth`` and
``model_epoch_last_3090.pth`` load strictly with ``dfdlab.detectors.load_checkpoint``.

Where this module goes beyond the official code it says so:
- odd heights/widths are trimmed (last row/column dropped) as the official README patch
  does; the official forward would raise a size-mismatch error instead;
- ``residual_scale`` (default 2/3, as the code) can be set to 1.0 ("paper_scale": the
  paper's equations have no 2/3 factor); dropping 2/3 breaks the official weights, which
  were trained with it, so only use it for models you train yourself;
- ``representation="rgb"`` feeds the normalised image itself instead of NPR, the same
  network otherwise: the ablation of lesson 05;
- ``npr_residual_window`` is the general l x l-window form (reference pixel chosen inside
  each window; the official class keeps unused ``unfoldSize=2, unfoldIndex=0`` attributes
  for it); for ``window=2, anchor=0`` it equals ``npr_residual`` exactly.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.resnet import Bottleneck

from dfdlab.data import transforms as T

from .base import Detector, Preprocessing, register
from .cnndetection import augment_words

#: The factor the official forward multiplies NPR by before ``conv1`` (``NPR*2.0/3.0``).
OFFICIAL_RESIDUAL_SCALE = 2.0 / 3.0

#: Fingerprint of the official checkpoints' state dicts (``NPR.pth``, ``model_epoch_last_3090.pth``).
OFFICIAL_STATE_ENTRIES = 146
OFFICIAL_STATE_ELEMENTS = 1_447_897

#: The test pipeline per benchmark: NPR ``test.py`` (``DetectionTests``) and its README
#: (AIGCDetectBenchmark; GenImage tiles small images with ``translate_duplicate`` instead of a resize).
DETECTION_TESTS: dict[str, dict[str, bool]] = {
    "forensynths": dict(no_resize=False, no_crop=True),  # Table 1: 256x256 after resize
    "gangen": dict(no_resize=True, no_crop=True),  # Table 2: native size
    "diffusionforensics": dict(no_resize=False, no_crop=True),  # Table 3
    "univfd": dict(no_resize=False, no_crop=True),  # Table 4
    "aigcdetect": dict(no_resize=True, no_crop=True),  # README: native size, batch_size 1 (+ odd-size trim)
    "genimage": dict(no_resize=True, no_crop=False, translate_duplicate=True),  # README: tile, CenterCrop(224)
}


def trim_to_even(x: torch.Tensor) -> torch.Tensor:
    """Drop the last row if H is odd and the last column if W is odd.

    The official README's patch for odd-sized test images (AIGCDetectBenchmark, batch
    size 1): ``if w%2==1: x=x[:,:,:-1,:]; if h%2==1: x=x[:,:,:,:-1]`` (its ``w`` is the
    tensor's dim 2, i.e. the height). Not in the official ``forward``, which raises a
    size-mismatch error on odd sizes. Even sizes pass through untouched.
    """
    h, w = x.shape[-2:]
    return x[..., : h - h % 2, : w - w % 2]


def nearest_down_up(x: torch.Tensor, factor: float = 0.5) -> torch.Tensor:
    """``interpolate(interpolate(x, factor), 1/factor)``, both nearest: ``ResNet.interpolate``.

    Official ``networks/resnet.py``: two ``F.interpolate(..., mode='nearest',
    recompute_scale_factor=True)`` calls. With factor 0.5 the down-sampling keeps the
    top-left pixel of every 2x2 block and the up-sampling copies it back into the whole
    block, so ``out[..., 2i+a, 2j+b] == x[..., 2i, 2j]`` for a, b in {0, 1}.
    Needs even H and W (see ``trim_to_even``).
    """
    down = F.interpolate(x, scale_factor=factor, mode="nearest", recompute_scale_factor=True)
    return F.interpolate(down, scale_factor=1 / factor, mode="nearest", recompute_scale_factor=True)


def npr_residual(x: torch.Tensor, trim_odd: bool = True) -> torch.Tensor:
    """NPR = x - up2(down2(x)), the Neighboring Pixel Relationships of each 2x2 block.

    Official ``networks/resnet.py`` ``forward``: ``NPR = x - self.interpolate(x, 0.5)``,
    computed on the ImageNet-normalised tensor ``x`` of shape [N, C, H, W] (NPR is
    linear, so the mean cancels and only the per-channel 1/std survives). Every pixel
    becomes its difference to the top-left pixel of its 2x2 block, hence NPR is exactly
    zero at every (even, even) position.

    ``trim_odd=True`` first applies the README's odd-size patch (``trim_to_even``), so the
    output is [N, C, H - H%2, W - W%2]; with ``trim_odd=False`` odd sizes raise as in the
    official code.
    """
    if x.dim() != 4:
        raise ValueError(f"npr_residual expects an [N, C, H, W] tensor, got shape {tuple(x.shape)}")
    if trim_odd:
        x = trim_to_even(x)
    elif x.shape[-2] % 2 or x.shape[-1] % 2:
        raise ValueError(
            f"npr_residual needs even H and W, got {tuple(x.shape[-2:])}; pass trim_odd=True "
            "to drop the last row/column as the official README patch does"
        )
    return x - nearest_down_up(x, 0.5)


def npr_residual_window(x: torch.Tensor, window: int = 2, anchor: int = 0) -> torch.Tensor:
    """General form: each pixel minus the reference pixel of its ``window`` x ``window`` block.

    The paper describes NPR as the relations among the pixels of a local l x l window;
    the official class carries (unused) ``unfoldSize=2, unfoldIndex=0`` for this, and its
    forward hard-codes l=2 with the top-left reference. ``anchor`` indexes the reference
    pixel in row-major order inside the window (0 = top-left). H and W are trimmed down to
    multiples of ``window``. ``npr_residual_window(x, 2, 0) == npr_residual(x)``; an
    independent implementation (reshape instead of interpolate), used as a cross-check.
    """
    if window < 2 or not 0 <= anchor < window * window:
        raise ValueError(f"need window >= 2 and 0 <= anchor < window**2, got window={window}, anchor={anchor}")
    n, c, h, w = x.shape
    h, w = h - h % window, w - w % window
    blocks = x[..., :h, :w].reshape(n, c, h // window, window, w // window, window)
    ref = blocks[:, :, :, anchor // window, :, anchor % window]  # [N, C, H/l, W/l]
    return (blocks - ref[:, :, :, None, :, None]).reshape(n, c, h, w)


@register("npr")
class NPR(Detector):
    """The official NPR network: truncated ResNet-50 on the NPR residual (``build("npr")``).

    Args:
        residual_scale: factor on the representation before ``conv1``; the official code
            uses 2/3 (``NPR*2.0/3.0``). 1.0 is the paper-equation form; official weights
            need 2/3.
        paper_scale: shorthand for ``residual_scale=1.0``.
        representation: ``"npr"`` (the method) or ``"rgb"`` (ablation: the normalised
            image itself goes into the same network).
        trim_odd: drop the last row/column of odd-sized inputs (README patch).
        load_size, crop_size: sizes of ``transform(split)`` (``dfdlab.data.transforms.npr_*``);
            the quick profile shrinks them, e.g. 64/56 for the 64x64 mini benchmark.
        no_resize, no_crop: the default test pipeline (``benchmark=None``); a benchmark's
            own setting comes from ``DETECTION_TESTS``.
    """

    paper = "Tan et al., CVPR 2024 (NPR: Rethinking the Up-Sampling Operations in CNN-based Generative Network)"
    paper_method = "NPR"
    recipe = "npr"
    test_settings = DETECTION_TESTS
    #: NPR ``train.py`` and ``test.py`` call ``seed_torch(100)``, which sets ``cudnn.enabled=False``:
    #: on CUDA ``forward`` runs without cuDNN too (training: ``dfdlab.train.seed_run`` turns it off
    #: globally, as the backward pass needs). ``True`` lets cuDNN pick its kernels.
    cudnn: bool = False

    def __init__(
        self,
        residual_scale: float = OFFICIAL_RESIDUAL_SCALE,
        paper_scale: bool = False,
        representation: str = "npr",
        trim_odd: bool = True,
        load_size: int = 256,
        crop_size: int = 224,
        no_resize: bool = False,
        no_crop: bool = True,
        layers: tuple[int, int] = (3, 4),
    ):
        super().__init__()
        if representation not in ("npr", "rgb"):
            raise ValueError(f"representation must be 'npr' or 'rgb', got {representation!r}")
        self.residual_scale = 1.0 if paper_scale else float(residual_scale)
        self.representation = representation
        self.trim_odd = trim_odd
        self.sizes = dict(load_size=load_size, crop_size=crop_size, no_resize=no_resize, no_crop=no_crop)

        # Module creation order = the official ResNet.__init__ (so a seeded init draws
        # the same random numbers): conv1, bn1, relu, maxpool, layer1, layer2, avgpool, fc1.
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(64, layers[0])
        self.layer2 = self._make_layer(128, layers[1], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc1 = nn.Linear(512, 1)  # official: Linear(512, num_classes=1), default init
        self.reset_parameters_official()

    def _make_layer(self, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        """torchvision-v1.5 Bottleneck stack (stride on the 3x3), as ``ResNet._make_layer``."""
        downsample = None
        if stride != 1 or self.inplanes != planes * Bottleneck.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * Bottleneck.expansion, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes * Bottleneck.expansion),
            )
        stack = [Bottleneck(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * Bottleneck.expansion
        stack += [Bottleneck(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*stack)

    def reset_parameters_official(self) -> None:
        """Official init: kaiming_normal (fan_out, relu) on convs, BN weight 1 / bias 0.

        ``fc1`` keeps PyTorch's default Linear init (the official loop skips Linear);
        ``zero_init_residual`` is False in the official trainer.
        """
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    # ------------------------------------------------------------------ forward

    def representation_of(self, x: torch.Tensor) -> torch.Tensor:
        """What enters ``conv1`` before scaling: NPR (the method) or the image (ablation)."""
        if self.representation == "npr":
            return npr_residual(x, trim_odd=self.trim_odd)
        return trim_to_even(x) if self.trim_odd else x

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The 512-d average-pooled ``layer2`` output (what ``fc1`` sees)."""
        h = self.conv1(self.representation_of(x) * self.residual_scale)
        h = self.maxpool(self.relu(self.bn1(h)))
        h = self.layer2(self.layer1(h))
        return torch.flatten(self.avgpool(h), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One logit per image, shape [N]; ``sigmoid > 0.5`` means fake (without cuDNN on CUDA, see ``cudnn``)."""
        if x.is_cuda and not self.cudnn:
            with torch.backends.cudnn.flags(enabled=False):
                return self.fc1(self.features(x)).reshape(-1)
        return self.fc1(self.features(x)).reshape(-1)

    # ------------------------------------------------------------------ data / checkpoints

    def summary(self) -> str:
        what = "NPR residual" if self.representation == "npr" else "RGB image (ablation: no NPR)"
        return f"NPR: ResNet-50 up to layer2 on the {what}, x{self.residual_scale:.3g} before conv1"

    def preprocessing(self, split: str, benchmark: str | None, augment: Mapping | None) -> Preprocessing:
        """NPR ``data/datasets.py`` (train), ``train.py`` ``val_opt`` (val), ``test.py`` (test).

        Train: Resize((load, load)) -> RandomCrop(crop) -> flip -> ToTensor -> ImageNet
        Normalize, no blur/JPEG unless ``augment`` asks. Val: Resize -> CenterCrop(crop).
        Test: Resize((load, load)) unless ``no_resize``, CenterCrop(crop) unless ``no_crop``,
        per benchmark from ``DETECTION_TESTS`` (Table 1: resize, no crop).
        """
        load, crop = self.sizes["load_size"], self.sizes["crop_size"]
        resize, norm = f"Resize(({load},{load})) bilinear", "ImageNet mean/std"
        if split == "train":
            return Preprocessing(T.npr_train(load, crop, augment=augment), resize,
                                 f"RandomCrop({crop}) + horizontal flip", norm, f"{crop}x{crop}",
                                 augment_words(augment or {}), "NPR data/datasets.py (isTrain)")
        if split == "val":
            return Preprocessing(T.npr_val(load, crop, augment=augment), resize, f"CenterCrop({crop})", norm,
                                 f"{crop}x{crop}", augment_words(T.val_augment_options(**augment)) if augment
                                 else "none", "NPR train.py val_opt + data/datasets.py")
        cfg = dict(DETECTION_TESTS[benchmark]) if benchmark is not None else {
            "no_resize": self.sizes["no_resize"], "no_crop": self.sizes["no_crop"]}
        size = f"{crop}x{crop}" if not cfg["no_crop"] else ("native" if cfg["no_resize"] else f"{load}x{load}")
        if cfg["no_resize"] and self.trim_odd:
            size += " (odd sizes trimmed to even)"
        where = f" DetectionTests[{benchmark!r}]" if benchmark is not None else ""
        native = f"translate_duplicate to >= {crop} (tiles, no resize)" if cfg.get("translate_duplicate") \
            else "none (native size)"
        return Preprocessing(T.npr_test(load, crop, **cfg),
                             native if cfg["no_resize"] else resize,
                             "none" if cfg["no_crop"] else f"CenterCrop({crop})", norm, size, "none",
                             f"NPR test.py{where} (no_resize={cfg['no_resize']}, no_crop={cfg['no_crop']})")

    @classmethod
    def convert_state_dict(cls, sd: Mapping[str, torch.Tensor]) -> "OrderedDict[str, torch.Tensor]":
        """Official NPR checkpoints -> this module's keys (identical names; order kept).

        Accepts the raw ``state_dict()`` of ``model_epoch_last_3090.pth``, the
        ``{'model': {'module.*': ...}}`` of ``NPR.pth`` (DDP-saved; the first-commit
        ``eval_test8gan.py`` unwraps and strips ``module.``), and any mix of the two, so it
        also works when called directly, not only through ``load_checkpoint``.
        """
        if "model" in sd and isinstance(sd["model"], Mapping):
            sd = sd["model"]
        return OrderedDict((k[len("module."):] if k.startswith("module.") else k, v) for k, v in sd.items())


def official_fingerprint(state_dict: Mapping[str, torch.Tensor]) -> tuple[int, int]:
    """``(entries, elements)`` of a state dict; the official checkpoints give (146, 1447897)."""
    return len(state_dict), sum(v.numel() for v in state_dict.values())


__all__ = [
    "DETECTION_TESTS",
    "NPR",
    "OFFICIAL_RESIDUAL_SCALE",
    "OFFICIAL_STATE_ELEMENTS",
    "OFFICIAL_STATE_ENTRIES",
    "nearest_down_up",
    "npr_residual",
    "npr_residual_window",
    "official_fingerprint",
    "trim_to_even",
]
