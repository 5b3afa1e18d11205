"""EXPERIMENT, not a paper's method: the NPR residual at two window sizes, into a small CNN.

A dfdlab detector plugin: one file, outside the package, that ``dfdlab`` loads with
``DFDLAB_PLUGINS=/path/to/this_file.py`` or ``dfdlab --plugin this_file.py ...`` (``dfdlab.plugins``).
``dfdlab new-detector NAME`` wrote it from the template; edit it freely.

The idea to try: NPR (Tan et al., CVPR 2024, official ``networks/resnet.py``) looks at each pixel
minus the top-left pixel of its 2x2 block, the trace of a x2 up-sampling. Some generators
up-sample by x4 in one step, or twice by x2; their trace spans 4x4 blocks. This detector stacks the
residual of 2x2 windows and of 4x4 windows (``npr_residual_window``, the paper's l x l form) into
six channels and classifies them with a small CNN, instead of NPR's truncated ResNet-50.

What makes it a dfdlab detector (the interface of ``dfdlab.detectors.Detector``):
- ``@register("npr_two_scale")``: the registry's decorator; ``dfdlab train --detector npr_two_scale``;
- ``forward(x) -> [N]`` logits (``sigmoid > 0.5`` means fake);
- ``preprocessing(split, benchmark, augment)``: NPR's own pipelines (``dfdlab.data.transforms.npr_*``,
  per benchmark from ``DETECTION_TESTS``), so it sees exactly the images NPR sees;
- ``recipe = "npr"``: NPR's training recipe (``dfdlab.recipes.RECIPES["npr"]``);
- ``quick_zoo``: its quick-zoo entry, NPR's budget (epochs, batch size, sizes, seed) so that
  ``dfdlab.zoo.train_quick("npr_two_scale")`` trains it exactly as the zoo trains NPR.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from dfdlab.data import transforms as T
from dfdlab.detectors import Detector, Preprocessing, register
from dfdlab.detectors.cnndetection import augment_words
from dfdlab.detectors.npr import DETECTION_TESTS, OFFICIAL_RESIDUAL_SCALE, npr_residual_window
from dfdlab.zoo import QUICK_ZOO


def conv_bn_relu(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


@register("npr_two_scale")
class NPRTwoScale(Detector):
    """EXPERIMENT: NPR residuals of 2x2 and 4x4 windows (6 channels) -> 4 conv layers -> one logit.

    Args:
        windows: the window sizes whose residuals are stacked (NPR itself is ``(2,)``).
        width: channels of the first conv layer (doubled twice).
        load_size, crop_size, no_resize, no_crop: NPR's pipeline sizes (``dfdlab.detectors.npr.NPR``).
    """

    paper = "EXPERIMENT (not a paper): NPR residuals at two window sizes + a small CNN"
    paper_method = ""  # no paper table holds it
    recipe = "npr"
    test_settings = DETECTION_TESTS
    quick_zoo = {**QUICK_ZOO["npr"], "init": "random",
                 "note": "EXPERIMENT (not a paper): NPR at two window sizes + a small CNN, with NPR's zoo budget"}

    def __init__(self, windows: tuple = (2, 4), width: int = 16, load_size: int = 256, crop_size: int = 224,
                 no_resize: bool = False, no_crop: bool = True):
        super().__init__()
        self.windows = tuple(int(w) for w in windows)
        self.sizes = dict(load_size=load_size, crop_size=crop_size, no_resize=no_resize, no_crop=no_crop)
        self.net = nn.Sequential(
            conv_bn_relu(3 * len(self.windows), width, 1), conv_bn_relu(width, 2 * width, 2),
            conv_bn_relu(2 * width, 2 * width, 2), conv_bn_relu(2 * width, 4 * width, 2),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(4 * width, 1)

    def residuals(self, x: torch.Tensor) -> torch.Tensor:
        """Each window's NPR residual, stacked on the channels (H, W trimmed to a multiple of the largest window)."""
        m = max(self.windows)
        x = x[..., : x.shape[-2] - x.shape[-2] % m, : x.shape[-1] - x.shape[-1] % m]
        return torch.cat([npr_residual_window(x, w) for w in self.windows], dim=1) * OFFICIAL_RESIDUAL_SCALE

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.residuals(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x)).reshape(-1)

    def summary(self) -> str:
        return (f"EXPERIMENT: NPR residuals of {' and '.join(f'{w}x{w}' for w in self.windows)} windows "
                f"-> a 4-layer CNN ({sum(p.numel() for p in self.parameters()):,} parameters); not a paper's model")

    def preprocessing(self, split: str, benchmark: str | None, augment: Mapping | None) -> Preprocessing:
        """NPR's pipelines unchanged: ``npr_train`` / ``npr_val`` / ``npr_test`` with ``DETECTION_TESTS[benchmark]``."""
        load, crop = self.sizes["load_size"], self.sizes["crop_size"]
        resize, norm, size = f"Resize(({load},{load})) bilinear", "ImageNet mean/std", f"{crop}x{crop}"
        if split == "train":
            return Preprocessing(T.npr_train(load, crop, augment=augment), resize, f"RandomCrop({crop}) + flip",
                                 norm, size, augment_words(augment or {}), "NPR data/datasets.py (isTrain)")
        if split == "val":
            return Preprocessing(T.npr_val(load, crop, augment=augment), resize, f"CenterCrop({crop})", norm, size,
                                 augment_words(T.val_augment_options(**augment)) if augment else "none",
                                 "NPR train.py val_opt")
        cfg = dict(DETECTION_TESTS[benchmark]) if benchmark is not None else {
            "no_resize": self.sizes["no_resize"], "no_crop": self.sizes["no_crop"]}
        size = f"{crop}x{crop}" if not cfg["no_crop"] else ("native" if cfg["no_resize"] else f"{load}x{load}")
        return Preprocessing(T.npr_test(load, crop, **cfg), "none (native size)" if cfg["no_resize"] else resize,
                             "none" if cfg["no_crop"] else f"CenterCrop({crop})", norm, size, "none",
                             f"NPR test.py (no_resize={cfg['no_resize']}, no_crop={cfg['no_crop']})")
