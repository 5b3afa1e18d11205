"""Each paper's training recipe as plain data: optimiser, batch, epochs, learning-rate rule, Blur+JPEG.

Every number cites the official file it comes from. ``dfdlab.train.fit`` runs any of them;
``recipe(name, **overrides)`` returns a copy with, say, the quick profile's ``epochs`` and
``batch_size``. Besides the optimisation, a recipe says how the official trainer starts and ends:
``init`` (the weights it starts from), ``keep`` (which epoch's weights it ships) and ``val_split``
(the folder it validates on). ``Recipe.augmentation()`` is what the trainer passes to the detector's train and
val transforms (``model.transform("train", augment=recipe.augmentation())``), so
``blur_jpeg_prob`` switches CNNDetection's Blur+JPEG on or off for any detector.

Names follow the method: ``cnndetection`` (alias ``cnnspot``), ``univfd`` (alias ``ufd``),
``npr``, ``lgrad``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class Recipe:
    """How one paper trains its detector. Plain data: ``dataclasses.asdict(recipe)`` is the whole recipe.

    ``schedule`` picks the learning-rate rule: ``"early_stopping"`` (CNNDetection
    ``earlystop.py`` + ``Trainer.adjust_learning_rate``) or ``"step"`` (NPR/LGrad ``train.py``,
    ``delr_freq``). Fields that a rule does not use are ignored by it.
    """

    name: str
    optimizer: str  # "adam" | "adamw"
    lr: float
    batch_size: int  # global batch (split over the ranks under torchrun)
    epochs: int  # the official ``--niter``
    schedule: str  # "early_stopping" | "step"
    betas: tuple = (0.9, 0.999)
    weight_decay: float = 0.0
    # step decay: at the end of 0-based epoch e, ``if e % decay_every == 0 and e != 0: lr *= decay_factor``
    decay_every: int = 0
    decay_factor: float = 1.0
    # early stopping on val accuracy: patience, delta, then lr /= lr_divisor and a new stopper
    patience: int = 5
    delta: float = -0.001
    delta_after_drop: float = -0.002
    lr_divisor: float = 10.0
    min_lr: float = 1e-6
    seed: int | None = None  # None: the official code sets no seed
    blur_jpeg_prob: float = 0.0  # the paper's "Blur+JPEG(p)": see augmentation()
    # "imagenet": torchvision's ImageNet ResNet-50 (``resnet50(pretrained=True)``); "random": from
    # scratch; "openai-clip": a frozen OpenAI CLIP backbone, only the N(0, 0.02) head is new
    init: str = "random"
    # the weights the official trainer ships (``dfdlab.train.KEEP_RULES``): "last" (the last epoch)
    # or "early_stopping" (the epoch CNNDetection's EarlyStopping saved last)
    keep: str = "last"
    val_split: str = "val"  # the folder under the data root the official trainer validates on
    source: str = ""  # the official files these numbers come from

    def augmentation(self) -> dict:
        """The Blur+JPEG(``blur_jpeg_prob``) options of CNNDetection's ``data_augment`` (``data/datasets.py``).

        The paper's "Blur+JPEG(p)" models, i.e. the README's ``--blur_prob p --blur_sig 0.0,3.0
        --jpg_prob p --jpg_method cv2,pil --jpg_qual 30,100``. Keys match ``dfdlab.data.transforms.data_augment``; the
        trainer hands them to ``model.transform("train" | "val", augment=...)``, which applies
        them (the val pipeline with CNNDetection ``train.py: get_val_opt``'s fixed strengths).
        """
        p = self.blur_jpeg_prob
        return {"blur_prob": p, "blur_sig": (0.0, 3.0), "jpg_prob": p, "jpg_method": ("cv2", "pil"),
                "jpg_qual": (30, 100)}


RECIPES: dict[str, Recipe] = {
    # PeterWang512/CNNDetection train.py, earlystop.py, networks/trainer.py, options/train_options.py
    # (Adam lr 1e-4, beta1 0.9; batch 64; earlystop_epoch 5; niter default 10000: early stopping ends it;
    # README command --blur_prob 0.5 --jpg_prob 0.5).
    "cnndetection": Recipe(
        name="cnndetection", optimizer="adam", lr=1e-4, batch_size=64, epochs=10000,
        schedule="early_stopping", patience=5, delta=-0.001, delta_after_drop=-0.002,
        lr_divisor=10.0, min_lr=1e-6, seed=None, blur_jpeg_prob=0.5,
        # networks/trainer.py: resnet50(pretrained=True); earlystop.py: save_checkpoint ->
        # model_epoch_best.pth, the file the README evaluates; train.py: --val_split val
        init="imagenet", keep="early_stopping", val_split="val",
        source="PeterWang512/CNNDetection: train.py, earlystop.py, networks/trainer.py, options/train_options.py",
    ),
    # WisconsinAIVision/UniversalFakeDetect train.py + networks/trainer.py (AdamW lr 1e-4, weight_decay 0.0,
    # batch 256, niter 100; options/base_options.py: Blur+JPEG 0.5) with CNNDetection's earlystop.py, which
    # train.py imports but the repository does not ship. data/datasets.py validates on
    # datasets/test/progan (data_label 'val' -> 'test/progan'): the official run selects on a test set
    # (`dfdlab train --val-split val` selects on ForenSynths' val split instead). The copied
    # earlystop.py saves through UnivFD's save_networks('best'): a file named `best`, the stopper's
    # latest save (model_epoch_best.pth is overwritten every epoch).
    "univfd": Recipe(
        name="univfd", optimizer="adamw", lr=1e-4, weight_decay=0.0, batch_size=256, epochs=100,
        schedule="early_stopping", patience=5, delta=-0.001, delta_after_drop=-0.002,
        lr_divisor=10.0, min_lr=1e-6, seed=None, blur_jpeg_prob=0.5,
        init="openai-clip", keep="early_stopping", val_split="test/progan",
        source="WisconsinAIVision/UniversalFakeDetect: train.py, networks/trainer.py, options/train_options.py",
    ),
    # chuangchuangtan/NPR-DeepfakeDetection README command (--batch_size 32 --delr_freq 10 --lr 0.0002
    # --niter 50), train.py (decay at the end of epoch % delr_freq == 0 and != 0; seed_torch(100)),
    # networks/trainer.py (Adam on requires_grad params; lr *= 0.9). data_augment is commented out in
    # its data/datasets.py: no blur, no JPEG. train.py: resnet50(pretrained=False), then
    # save_networks('last') after the last epoch; --val_split val.
    "npr": Recipe(
        name="npr", optimizer="adam", lr=2e-4, batch_size=32, epochs=50, schedule="step",
        decay_every=10, decay_factor=0.9, seed=100, blur_jpeg_prob=0.0,
        init="random", keep="last", val_split="val",
        source="chuangchuangtan/NPR-DeepfakeDetection: README.md, train.py, networks/trainer.py",
    ),
    # chuangchuangtan/LGrad CNNDetection/train-detector.sh (batch 16, lr 5e-4, niter 100, delr_freq 10),
    # CNNDetection/train.py (same decay rule as NPR), networks/trainer.py (lr *= 0.8), the same
    # data/datasets.py as NPR (no blur, no JPEG). No seed. networks/trainer.py: resnet50(pretrained=True);
    # train.py saves model_epoch_last.pth after the last epoch.
    "lgrad": Recipe(
        name="lgrad", optimizer="adam", lr=5e-4, batch_size=16, epochs=100, schedule="step",
        decay_every=10, decay_factor=0.8, seed=None, blur_jpeg_prob=0.0,
        init="imagenet", keep="last", val_split="val",
        source="chuangchuangtan/LGrad: CNNDetection/train-detector.sh, CNNDetection/train.py, "
               "CNNDetection/networks/trainer.py",
    ),
}

#: Other names of the same recipes (the detectors' registry names).
ALIASES = {"cnnspot": "cnndetection", "ufd": "univfd"}


def canonical_name(name: str) -> str:
    """``"ufd"`` -> ``"univfd"``, ``"cnnspot"`` -> ``"cnndetection"``; other names unchanged."""
    return ALIASES.get(name, name)


def recipe(name: str, **overrides) -> Recipe:
    """A copy of ``RECIPES[name]`` (an alias works too) with ``overrides``, e.g. ``recipe("npr", epochs=2)``."""
    key = canonical_name(name)
    if key not in RECIPES:
        known = ", ".join([*RECIPES, *(f"{a} (= {c})" for a, c in ALIASES.items())])
        raise KeyError(f"unknown recipe {name!r}; choose one of {known}")
    known_fields = {f.name for f in fields(Recipe)}
    bad = sorted(set(overrides) - known_fields)
    if bad:
        raise TypeError(f"Recipe has no field(s) {bad}; fields: {sorted(known_fields)}")
    return replace(RECIPES[key], **overrides)


__all__ = ["ALIASES", "RECIPES", "Recipe", "canonical_name", "recipe"]
