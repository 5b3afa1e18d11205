"""On-disk cache of frozen-backbone features, and training a linear head on them.

UnivFD never trains its backbone (``--fix_backbone``): only ``fc`` learns. The official
``train.py`` still pushes every image through CLIP ViT-L/14 in every epoch. When the input
pipeline is deterministic, the features are the same every epoch, so we compute them once
and keep them on disk:

    DFDLAB_HOME/features/<backbone>/<key>.pt

``key`` is the sha256 of everything that determines the features: the backbone's name,
the sha256 of its weights, the preprocessing (the transform's ``repr``), and the image
list with each file's size and modification time (or its sha256 with
``content_hash=True``). Change any of them and the cache misses; files are written
atomically (``dfdlab.files.atomic_torch_save``), so an interrupted run never leaves a
half-written cache.

Deviation from the official training, stated where it is used: the cache holds features
of the **deterministic** (test-style) pipeline. The official linear probe sees a new
Blur+JPEG(0.5)/RandomCrop/flip draw every epoch; randomly augmented inputs cannot be
cached (``extract_features`` refuses such a transform). ``benchmarks/ufd_feature_cache.py``
checks that, on the same deterministic inputs, the cached head equals the official-way head.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from .checkpoints import read_checkpoint
from .config import home
from .data.folders import ImageList
from .data.skipping import BadImage, collate_skip_bad, report_skipped, skip_bad
from .files import atomic_torch_save, sha256sum

log = logging.getLogger(__name__)

CACHE_VERSION = 2  # 2: skipped files stored as BadImage fields (path, label, reason, message)

#: Class names that make a transform random (its output cannot be cached).
_RANDOM_STEPS = re.compile(r"\b(Random\w+|DataAugment|ColorJitter|AutoAugment|RandAugment|TrivialAugment\w*)\(")


@dataclass
class FeatureSet:
    """Features of a list of images: ``features [N, D]`` (float32), ``labels [N]`` (0 real, 1 fake)."""

    features: torch.Tensor
    labels: torch.Tensor
    paths: list[str]
    skipped: list[BadImage] = field(default_factory=list)  # images that could not be read
    key: str = ""
    meta: dict = field(default_factory=dict)
    from_cache: bool = False

    def __len__(self) -> int:
        return len(self.labels)

    def dataset(self) -> torch.utils.data.TensorDataset:
        """``(feature, label)`` pairs, e.g. for ``dfdlab.train.fit`` on a ``LinearProbe``."""
        return torch.utils.data.TensorDataset(self.features, self.labels.float())

    @staticmethod
    def concat(sets: Sequence["FeatureSet"]) -> "FeatureSet":
        return FeatureSet(torch.cat([s.features for s in sets]), torch.cat([s.labels for s in sets]),
                          [p for s in sets for p in s.paths], [x for s in sets for x in s.skipped])


# --------------------------------------------------------------------------- the key


def describe_transform(transform: Callable) -> str:
    """The preprocessing as text for the cache key: ``repr`` without memory addresses."""
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(transform))


def check_deterministic(description: str) -> None:
    """Refuse random augmentations: their features differ each epoch and cannot be cached."""
    hit = _RANDOM_STEPS.search(description)
    if hit:
        raise ValueError(f"the transform contains the random step {hit.group(1)}; features of randomly augmented "
                         "images cannot be cached. Cache the deterministic test pipeline (model.transform(False)) "
                         "or run the backbone every epoch (dfdlab.train.fit).")


def _file_fingerprint(path: Path, content_hash: bool) -> list:
    st = path.stat()
    return [str(path), st.st_size, sha256sum(path) if content_hash else st.st_mtime_ns]


def cache_key(model, preprocessing: str, items: Sequence[tuple[str, int]], content_hash: bool = False) -> tuple[str, dict]:
    """sha256 over (backbone name, weights sha256, preprocessing, image list + file size/mtime or sha256)."""
    meta = {
        "version": CACHE_VERSION,
        "backbone": model.backbone_name,
        "weights_sha256": model.weights_digest(),
        "preprocessing": preprocessing,
        "n_images": len(items),
        "content_hash": bool(content_hash),
    }
    h = hashlib.sha256(json.dumps(meta, sort_keys=True).encode())
    for path, label in items:
        h.update(json.dumps([*_file_fingerprint(Path(path), content_hash), int(label)]).encode())
    return h.hexdigest(), meta


def cache_path(backbone: str, key: str) -> Path:
    return home() / "features" / re.sub(r"[^\w.-]", "_", backbone) / f"{key}.pt"


# --------------------------------------------------------------------------- extraction


def _items_of(source) -> list[tuple[str, int]]:
    """(path, label) pairs from a ForenSynths-like dataset (``.samples``) or a list of pairs."""
    samples = getattr(source, "samples", source)
    items = [(str(p), int(y)) for p, y in samples]
    if not items:
        raise ValueError(f"no images to extract features from ({source!r} is empty)")
    return items


@torch.no_grad()
def compute_features(model, items: Sequence[tuple[str, int]], transform: Callable, batch_size: int = 64,
                     device=None, progress: bool = True, desc: str = "features") -> FeatureSet:
    """Run ``model.features`` over the images (no cache).

    Unreadable images are skipped and listed as ``dfdlab.data.BadImage`` records in
    ``.skipped`` (``dfdlab.data.skipping``); an error in the transform or the model propagates.
    """
    device = torch.device(device or next(model.parameters()).device)
    loader = DataLoader(skip_bad(ImageList(items, transform)), batch_size=batch_size, shuffle=False,
                        collate_fn=collate_skip_bad)
    feats, labels, paths, skipped = [], [], [], []
    for batch in tqdm(loader, desc=desc, disable=not progress, leave=False):
        skipped.extend(batch.bad)
        if batch.x is None:
            continue
        feats.append(model.features(batch.x.to(device)).float().cpu())
        labels.extend(batch.y.tolist())
        paths.extend(batch.extra[0])
    report_skipped(skipped, stacklevel=3)
    if not feats:
        raise ValueError(f"none of the {len(items)} images could be read (first: {skipped[0]})")
    return FeatureSet(torch.cat(feats), torch.tensor(labels, dtype=torch.long), paths, skipped)


def extract_features(model, source, transform: Callable | None = None, batch_size: int = 64, device=None,
                     cache: bool = True, content_hash: bool = False, progress: bool = True,
                     desc: str | None = None) -> FeatureSet:
    """Features of every image in ``source``, read from the on-disk cache when present.

    Args:
        model: a ``dfdlab.detectors.univfd.UnivFD`` (anything with ``features``, ``backbone_name``
            and ``weights_digest()``).
        source: a ForenSynths dataset (its ``.samples``; its own transform is not used) or a
            list of ``(path, label)``.
        transform: PIL -> tensor; default ``model.transform(train=False)`` (UnivFD's test pipeline).
            Must be deterministic.
        cache: read/write ``DFDLAB_HOME/features``; ``False`` always recomputes and writes nothing.
        content_hash: key on each file's sha256 instead of size + mtime (slower, survives copies).
    """
    items = _items_of(source)
    transform = transform or model.transform(False)
    preprocessing = describe_transform(transform)
    check_deterministic(preprocessing)
    desc = desc or f"{model.backbone_name} features"
    if not cache:
        return compute_features(model, items, transform, batch_size, device, progress, desc)
    key, meta = cache_key(model, preprocessing, items, content_hash)
    path = cache_path(model.backbone_name, key)
    if path.exists():
        blob = read_checkpoint(path)  # weights only, a damaged file named
        log.info("feature cache hit: %s", path)
        return FeatureSet(blob["features"], blob["labels"], list(blob["paths"]),
                          [BadImage(*b) for b in blob["skipped"]], key, dict(blob["meta"]), from_cache=True)
    fs = compute_features(model, items, transform, batch_size, device, progress, desc)
    fs.key, fs.meta = key, meta
    atomic_torch_save({"features": fs.features, "labels": fs.labels, "paths": fs.paths,
                       "skipped": [list(s) for s in fs.skipped], "meta": meta}, path)
    return fs


# --------------------------------------------------------------------------- the linear probe on features


class LinearProbe(nn.Module):
    """UnivFD's head alone, ``logit = fc(feature)``, for training on cached features.

    Its state dict is ``{'fc.weight', 'fc.bias'}``, the same as a ``UnivFD`` checkpoint, so a
    probe trained here loads into ``build("ufd", head_weights=...)``.
    """

    def __init__(self, dim: int = 768, init_std: float = 0.02):
        super().__init__()
        self.fc = nn.Linear(dim, 1)
        nn.init.normal_(self.fc.weight, 0.0, init_std)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.fc(features).reshape(-1)


def train_linear_head(head: nn.Module, epoch_batches: Callable[[int], Iterable[tuple[torch.Tensor, torch.Tensor]]],
                      epochs: int, lr: float = 1e-4, weight_decay: float = 0.0, progress: bool = True) -> list[float]:
    """Train ``head`` (features -> logits) with UnivFD's optimiser for a fixed number of epochs.

    AdamW(lr 1e-4, betas (0.9, 0.999), weight_decay 0), BCEWithLogits (official ``train.py`` /
    ``models/trainer.py``). ``epoch_batches(epoch)`` yields ``(features, labels)`` batches:
    from the cache, or from running the backbone (the official way); both give the same
    head. Early stopping and model selection belong to ``dfdlab.train.fit``; this loop is
    the inner part they share. Returns the mean loss per epoch.
    """
    opt = torch.optim.AdamW([p for p in head.parameters() if p.requires_grad], lr=lr,
                            betas=(0.9, 0.999), weight_decay=weight_decay)
    loss_fn = nn.BCEWithLogitsLoss()
    losses = []
    head.train()
    for epoch in tqdm(range(epochs), desc="linear probe", disable=not progress, leave=False):
        total, n = 0.0, 0
        for feats, y in epoch_batches(epoch):
            loss = loss_fn(head(feats), y.float())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total, n = total + loss.item() * len(y), n + len(y)
        losses.append(total / max(n, 1))
    head.eval()
    return losses


def epoch_order(n: int, epoch: int, seed: int = 0) -> torch.Tensor:
    """The shuffled sample order of one epoch (a fixed function of seed and epoch)."""
    g = torch.Generator().manual_seed(seed * 100_003 + epoch)
    return torch.randperm(n, generator=g)


def cached_batches(fs: FeatureSet, batch_size: int = 256, seed: int = 0):
    """``epoch_batches`` over cached features, shuffled per epoch by ``epoch_order``."""

    def batches(epoch: int):
        order = epoch_order(len(fs), epoch, seed)
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            yield fs.features[idx], fs.labels[idx]

    return batches
