"""``TinyDetector``: a 3-conv CNN (~3k parameters) for the trainer's tests and CPU demos; no paper's model.

Not registered, so ``dfdlab.detectors.available()`` lists only the papers' detectors;
``dfdlab train --detector tiny`` (and ``python -m dfdlab.train --detector tiny``) build it
directly. Its pipelines are CNNDetection's in miniature (``data/datasets.py``): a square
resize instead of resize + crop, the Blur+JPEG of ``augment`` on train and val, a flip on
train.
"""

from __future__ import annotations

from torch import nn
from torchvision import transforms as T

from ..data.transforms import DataAugment, val_augment_options
from .base import Detector


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

    def transform(self, split="test", *, benchmark=None, augment: dict | None = None, train: bool | None = None):
        """Resize to ``size``², then (train) ``augment``'s Blur+JPEG and a flip, or (val) its fixed-strength form.

        ``transform(train=True)`` / ``transform(True)`` are the bool form of ``"train"``/``"test"``;
        ``benchmark`` is accepted for the common interface and changes nothing here.
        """
        if train is not None or isinstance(split, bool):
            split = "train" if (train if train is not None else split) else "test"
        steps = [T.Resize((self.size, self.size))]
        if augment and (augment.get("blur_prob", 0) > 0 or augment.get("jpg_prob", 0) > 0):
            if split == "train":
                steps.append(DataAugment(**augment))
            elif split == "val":
                steps.append(DataAugment(**val_augment_options(**augment)))
        if split == "train":
            steps.append(T.RandomHorizontalFlip())
        return T.Compose([*steps, T.ToTensor(), T.Normalize([0.5] * 3, [0.5] * 3)])


__all__ = ["TinyDetector"]
