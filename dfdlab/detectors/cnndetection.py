"""CNNDetection ("CNN-generated images are surprisingly easy to spot... for now", Wang et al., CVPR 2020).

The baseline every later paper builds on: a torchvision ResNet-50 whose
1000-way ``fc`` is replaced by ``Linear(2048, 1)`` with weights drawn from N(0, 0.02)
(official ``networks/trainer.py``: ``resnet50(pretrained=True)``, ``model.fc =
nn.Linear(2048, 1)``, ``init.normal_(fc.weight, 0.0, init_gain=0.02)``), trained from
ImageNet weights with Blur+JPEG augmentation. The modules sit directly on the detector
(``conv1``, ``layer1``..``layer4``, ``fc``) so the state dict has the official key names
and official ``{'model', 'optimizer', 'total_steps'}`` files load strictly.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn
from torchvision.models import resnet50

from dfdlab import hub
from dfdlab.checkpoints import load_checkpoint
from dfdlab.data import transforms as T

from .base import Detector, Preprocessing, register


def replace_fc_binary(resnet: nn.Module, init_gain: float = 0.02) -> nn.Linear:
    """The CNNDetection head: ``fc = Linear(2048, 1)``, weight ~ N(0, init_gain) (``networks/trainer.py``).

    The bias keeps PyTorch's default Linear init, as in the official code.
    """
    fc = nn.Linear(resnet.fc.in_features, 1)
    nn.init.normal_(fc.weight.data, 0.0, init_gain)
    resnet.fc = fc
    return fc


def imagenet_resnet50(pretrained: bool) -> nn.Module:
    """torchvision ResNet-50; with ``pretrained`` the ImageNet weights ``resnet50-19c8e357.pth`` (hub "resnet50-imagenet").

    Never downloads: a missing file raises ``dfdlab.hub.AssetMissing`` with instructions.
    """
    net = resnet50(weights=None)
    if pretrained:
        # hub.path raises AssetMissing (one paragraph) when the file is absent
        load_checkpoint(net, hub.path("resnet50-imagenet"))
    return net


@register("cnndetection", aliases=("cnnspot",))
class CNNDetection(Detector):
    """ResNet-50 with a one-logit head (CNNDetection). ``forward(x) -> [N]`` logits.

    Args:
        pretrained: start from the ImageNet weights (needs hub asset "resnet50-imagenet";
            the official trainer does this, and so does ``dfdlab train`` through
            ``dfdlab.train.build_for_training``). Default False: random init, no file needed
            (evaluating a checkpoint, the quick profile).
        init_gain: std of the fc weight init (official ``--init_gain 0.02``).
        load_size, crop_size: transform sizes (official 256 / 224; the quick profile shrinks them).
        blur_prob, blur_sig, jpg_prob, jpg_method, jpg_qual: the default training augmentation
            (``transform("train", augment=...)`` overrides it); the defaults are the paper's
            "Blur+JPEG(0.5)" setting.
        no_crop: test without the CenterCrop (official ``--no_crop``; then batch size 1 for
            images of different sizes, which ``dfdlab.evaluate.predict`` handles).
        no_resize: test without resizing (official ``eval.py`` default True).
    """

    name = "cnndetection"
    paper = "Wang et al., CVPR 2020: CNN-generated images are surprisingly easy to spot... for now (CNNDetection)"
    paper_method = "CNNDetection"
    recipe = "cnndetection"

    def __init__(
        self,
        pretrained: bool = False,
        init_gain: float = 0.02,
        load_size: int = 256,
        crop_size: int = 224,
        blur_prob: float = 0.5,
        blur_sig: tuple = (0.0, 3.0),
        jpg_prob: float = 0.5,
        jpg_method: tuple = ("cv2", "pil"),
        jpg_qual: tuple = (30, 100),
        no_crop: bool = False,
        no_resize: bool = True,
    ):
        super().__init__()
        net = imagenet_resnet50(pretrained)
        replace_fc_binary(net, init_gain)
        # Adopt the torchvision modules so the keys are the official ones (conv1.weight, ..., fc.bias).
        for key in ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "fc"):
            setattr(self, key, getattr(net, key))
        self.pretrained = pretrained
        self.load_size, self.crop_size = load_size, crop_size
        self.no_crop, self.no_resize = no_crop, no_resize
        self.augment = dict(blur_prob=blur_prob, blur_sig=tuple(blur_sig), jpg_prob=jpg_prob,
                            jpg_method=tuple(jpg_method), jpg_qual=tuple(jpg_qual))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The 2048-d global-average-pooled ResNet-50 feature (torchvision ``_forward_impl`` up to ``fc``)."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x)).squeeze(1)

    def summary(self) -> str:
        init = "ImageNet initialisation" if self.pretrained else "from scratch (the paper starts from ImageNet)"
        return f"CNNDetection: ResNet-50 + Linear(2048, 1), {init}"

    def preprocessing(self, split: str, benchmark: str | None, augment: Mapping | None) -> Preprocessing:
        """CNNDetection ``data/datasets.py`` (train), ``train.py: get_val_opt`` (val), ``eval.py`` (test).

        Train: shorter side -> load_size, Blur+JPEG, RandomCrop(crop_size), flip. Val: the same
        resize, ``data_augment`` at validation strength (mid sigma, PIL JPEG at mid quality, the
        train probabilities), CenterCrop. Test: ``no_resize=True``, CenterCrop(crop_size) unless
        ``no_crop``; the same for every benchmark (``eval.py`` sets nothing per test set).
        """
        augment = dict(self.augment if augment is None else augment)
        resize = f"shorter side to {self.load_size} (bilinear)"
        norm = "ImageNet mean/std"
        if split == "train":
            return Preprocessing(T.cnndetection_train(self.load_size, self.crop_size, **augment), resize,
                                 f"RandomCrop({self.crop_size}) + horizontal flip", norm,
                                 f"{self.crop_size}x{self.crop_size}", augment_words(augment),
                                 "CNNDetection data/datasets.py (binary_dataset, isTrain)")
        if split == "val":
            return Preprocessing(T.cnndetection_val(self.load_size, self.crop_size, **augment), resize,
                                 f"CenterCrop({self.crop_size})", norm, f"{self.crop_size}x{self.crop_size}",
                                 augment_words(T.val_augment_options(**augment)),
                                 "CNNDetection train.py get_val_opt + data/datasets.py")
        tf = T.cnndetection_test(self.load_size, self.crop_size, no_resize=self.no_resize, no_crop=self.no_crop)
        size = "native" if self.no_crop else f"{self.crop_size}x{self.crop_size}"
        if self.no_crop and not self.no_resize:
            size = f"shorter side {self.load_size}"
        return Preprocessing(tf, "none (native)" if self.no_resize else resize,
                             "none" if self.no_crop else f"CenterCrop({self.crop_size})", norm, size, "none",
                             f"CNNDetection eval.py (no_resize={self.no_resize}, no_crop={self.no_crop})")


def augment_words(augment: Mapping) -> str:
    """``data_augment`` options in words, e.g. "blur p=0.5 sigma (0.0, 3.0); JPEG p=0.5 cv2/pil q (30, 100)"."""
    if not (augment.get("blur_prob", 0) or augment.get("jpg_prob", 0)):
        return "none"
    return (f"blur p={augment['blur_prob']} sigma {tuple(augment['blur_sig'])}; JPEG p={augment['jpg_prob']} "
            f"{'/'.join(augment['jpg_method'])} q {tuple(augment['jpg_qual'])}")
