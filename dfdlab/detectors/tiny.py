"""``TinyDetector``: a 3-conv CNN (~3k parameters) for the trainer's tests and CPU demos; no paper's model.

Not registered, so ``dfdlab.detectors.available()`` lists only the papers' detectors;
``dfdlab train --detector tiny`` (and ``python -m dfdlab.train --detector tiny``) build it
directly. Its pipelines are CNNDetection's in miniature (``data/datasets.py``): a square
resize instead of resize + crop, the Blur+JPEG of ``augment`` on train and val, a flip on
train.
"""

from __future__ import annotations

from collections.abc import Mapping

from torch import nn
from torchvision import transforms as T

from ..data.transforms import DataAugment, val_augment_options
from .base import Detector, Preprocessing
from .cnndetection import augment_words


class TinyDetector(Detector):
    """conv-BN-ReLU-pool, conv-ReLU-pool, conv-ReLU, global average pool, dropout, one logit."""

    name = "tiny"
    paper = "none: a toy CNN for testing dfdlab.train"
    recipe = "npr"

    def __init__(self, size: int = 32):
        super().__init__()
        self.size = size
        self.net = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
            nn.Dropout(0.1), nn.Linear(16, 1),
        )

    def forward(self, x):
        return self.net(x).reshape(-1)

    def summary(self) -> str:
        return f"tiny: a 3-conv toy CNN on {self.size}x{self.size} inputs (no paper's model)"

    def preprocessing(self, split: str, benchmark: str | None, augment: Mapping | None) -> Preprocessing:
        """Resize to ``size``², then (train) ``augment``'s Blur+JPEG and a flip, or (val) its fixed-strength form.

        No Blur+JPEG step when ``augment`` asks for none (probabilities 0), so those runs
        draw no random numbers for it. ``benchmark`` changes nothing here.
        """
        aug = dict(augment or {})
        if not (aug.get("blur_prob", 0) or aug.get("jpg_prob", 0)) or split == "test":
            aug = {}
        if split == "val" and aug:
            aug = val_augment_options(**aug)  # CNNDetection train.py get_val_opt
        steps = [T.Resize((self.size, self.size)), *([DataAugment(**aug)] if aug else [])]
        if split == "train":
            steps.append(T.RandomHorizontalFlip())
        tf = T.Compose([*steps, T.ToTensor(), T.Normalize([0.5] * 3, [0.5] * 3)])
        return Preprocessing(tf, f"Resize(({self.size},{self.size}))", "none" + (" + flip" if split == "train" else ""),
                             "mean/std 0.5", f"{self.size}x{self.size}", augment_words(aug),
                             "CNNDetection data/datasets.py in miniature")

__all__ = ["TinyDetector"]
