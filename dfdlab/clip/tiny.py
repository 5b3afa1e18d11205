"""A tiny CLIP, trained from scratch on a CPU in about a minute (lesson 03).

CLIP (Radford et al., 2021, "Learning Transferable Visual Models From Natural Language
Supervision") encodes images and texts separately into one shared space and trains both
encoders so that matching pairs have the highest cosine similarity within a batch.
Everything here mirrors that recipe at toy scale:

- **Data** (``Shapes``, drawn by ``dfdlab.toydata``): procedurally drawn 32x32 images of one coloured shape in one
  quadrant, captioned ``"a red circle at the top left"``. 4 shapes x 5 colours x 4
  positions = 80 compositions; 16 are **held out** of training (every shape, colour and
  position, and every pair of them, still appears in training), so zero-shot accuracy on
  them measures composition, not memory.
- **Image encoder**: a ViT (``dfdlab.attention.TinyViT``), class token -> linear projection.
- **Text encoder**: a causal Transformer over a 19-token vocabulary; the feature at the
  end-of-text token -> linear projection (as CLIP's ``encode_text``).
- **Loss** (``clip_loss``): the symmetric InfoNCE of the paper's Figure 3 pseudocode, with
  the learnable temperature ``logit_scale`` initialised to ``log(1/0.07)`` and clamped so that
  ``exp(logit_scale) <= 100`` (§2.5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ..attention import TinyViT, TransformerBlock, causal_mask, torch_threads
from ..toydata import (
    COLOURS,
    POSITIONS,
    SHAPES,
    SHIFTED,
    Composition,
    all_compositions,
    caption,
    composition_batch,
    draw,
    split_compositions,
)

#: Control tokens (padding, start and end of text), then every word a caption can use.
CONTROL_TOKENS = ("<pad>", "<sot>", "<eot>")
WORDS = ("a", "at", "the", *SHAPES, *COLOURS, "top", "bottom", "left", "right")
VOCAB = {w: i for i, w in enumerate(CONTROL_TOKENS + WORDS)}
CONTEXT_LENGTH = 10  # <sot> a red circle at the top left <eot> = 9 tokens, padded to 10


def tokenize(texts: list[str] | str, context_length: int = CONTEXT_LENGTH) -> torch.Tensor:
    """Word-level tokenizer: ``<sot> words <eot> <pad>...`` -> ``[N, context_length]`` long.

    CLIP uses a byte-pair encoding of 49408 tokens with the same ``<sot>``/``<eot>`` framing;
    a word list is enough for this language. An unknown word is an error naming it.
    """
    if isinstance(texts, str):
        texts = [texts]
    out = torch.zeros(len(texts), context_length, dtype=torch.long)
    for i, t in enumerate(texts):
        words = t.lower().replace(",", " ").split()
        unknown = [w for w in words if w not in VOCAB]
        if unknown:
            raise ValueError(f"caption {t!r} has words outside the tiny vocabulary: {unknown}")
        ids = [VOCAB["<sot>"], *(VOCAB[w] for w in words), VOCAB["<eot>"]]
        if len(ids) > context_length:
            raise ValueError(f"caption {t!r} is longer than {context_length - 2} words")
        out[i, : len(ids)] = torch.tensor(ids)
    return out


class Shapes(torch.utils.data.Dataset):
    """``n_per_composition`` drawn images of each composition: items ``(image, tokens, index)``.

    ``index`` points into ``self.compositions``. Deterministic given ``seed``. ``drawing``
    (``background``, ``noise``) goes to ``dfdlab.toydata.draw``, e.g. ``**toydata.SHIFTED``.
    """

    def __init__(self, compositions: list[Composition], n_per_composition: int, seed: int = 0, size: int = 32,
                 **drawing):
        rng = np.random.default_rng(seed)
        self.compositions = list(compositions)
        self.labels = np.repeat(np.arange(len(self.compositions)), n_per_composition)
        self.images = torch.from_numpy(np.stack([draw(self.compositions[i], rng, size, **drawing)
                                                 for i in self.labels]))
        self.tokens = tokenize([c.caption for c in self.compositions])

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        j = int(self.labels[i])
        return self.images[i], self.tokens[j], j


# --------------------------------------------------------------------------- model

class TextEncoder(nn.Module):
    """CLIP's text tower in miniature (``encode_text`` in ``openai/CLIP clip/model.py``):
    token + position embeddings -> causal Transformer -> LayerNorm -> the ``<eot>`` token."""

    def __init__(self, vocab_size: int = len(VOCAB), context_length: int = CONTEXT_LENGTH, dim: int = 64,
                 depth: int = 2, heads: int = 4):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab_size, dim)
        self.positional_embedding = nn.Parameter(0.01 * torch.randn(context_length, dim))
        self.blocks = nn.ModuleList(TransformerBlock(dim, heads) for _ in range(depth))
        self.ln_final = nn.LayerNorm(dim)
        self.register_buffer("mask", causal_mask(context_length), persistent=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.token_embedding(tokens) + self.positional_embedding
        for block in self.blocks:
            x = block(x, self.mask)
        x = self.ln_final(x)
        eot = (tokens == VOCAB["<eot>"]).int().argmax(dim=1)  # CLIP takes the highest token id; ours is <eot>
        return x[torch.arange(len(tokens)), eot]


class TinyCLIP(nn.Module):
    """Image encoder + text encoder + projections into one ``embed_dim`` space + ``logit_scale``.

    ``logit_scale`` is the log of the inverse temperature, initialised to ``log(1/0.07)``
    (CLIP §2.5 / ``clip/model.py``); ``forward`` returns the ``[N, N]`` image-text logits.
    """

    def __init__(self, image_size: int = 32, patch: int = 4, width: int = 64, depth: int = 2, heads: int = 4,
                 embed_dim: int = 32):
        super().__init__()
        self.visual = TinyViT(image_size, patch, width, depth, heads, num_classes=0)
        self.text = TextEncoder(dim=width, depth=depth, heads=heads)
        self.visual_projection = nn.Linear(width, embed_dim, bias=False)
        self.text_projection = nn.Linear(width, embed_dim, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def encode_image(self, images: torch.Tensor, normalize: bool = True) -> torch.Tensor:
        z = self.visual_projection(self.visual(images))
        return F.normalize(z, dim=-1) if normalize else z

    def encode_text(self, tokens: torch.Tensor, normalize: bool = True) -> torch.Tensor:
        z = self.text_projection(self.text(tokens))
        return F.normalize(z, dim=-1) if normalize else z

    def forward(self, images: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        return similarity_logits(self.encode_image(images), self.encode_text(tokens), self.logit_scale)


def similarity_logits(image_emb: torch.Tensor, text_emb: torch.Tensor, logit_scale: torch.Tensor) -> torch.Tensor:
    """``logits[i, j] = exp(t) * <I_i, T_j>`` for L2-normalised embeddings (CLIP Fig. 3:
    ``logits = np.dot(I_e, T_e.T) * np.exp(t)``)."""
    return logit_scale.exp() * image_emb @ text_emb.t()


def clip_loss(logits: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE (CLIP Fig. 3): the mean of the cross-entropy over rows (each image
    picks its caption among the batch's captions) and over columns (each caption picks its
    image). Item i's positive is column i."""
    labels = torch.arange(logits.shape[0], device=logits.device)
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2


def clamp_logit_scale(model: TinyCLIP, max_scale: float = 100.0) -> None:
    """Keep ``exp(logit_scale)`` in ``[1, 100]`` (CLIP §2.5: "clipped to prevent scaling the logits
    by more than 100"; open_clip clamps ``logit_scale`` to ``[0, log 100]`` after each step)."""
    with torch.no_grad():
        model.logit_scale.clamp_(0, math.log(max_scale))


@dataclass
class TrainResult:
    model: TinyCLIP
    history: list[dict]


def train_tiny_clip(steps: int = 600, lr: float = 2e-3, weight_decay: float = 0.05, seed: int = 0,
                    width: int = 64, depth: int = 2, heads: int = 4, embed_dim: int = 32, image_size: int = 32,
                    log_every: int = 25, progress: bool = True, threads: int = 1) -> TrainResult:
    """Train ``TinyCLIP`` on fresh batches of the 64 training compositions (``composition_batch``).

    AdamW with a linear warm-up (5 %) and a cosine decay, as CLIP; ``logit_scale`` clamped
    after every step. ``history`` holds step, loss, temperature ``exp(logit_scale)`` and the
    in-batch image->text accuracy every ``log_every`` steps. ``threads``: intra-op threads
    while training (one is fastest for a model this small, see ``torch_threads``).
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    train, _ = split_compositions()
    tokens = tokenize([c.caption for c in train])
    model = TinyCLIP(image_size, 4, width, depth, heads, embed_dim)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    warm = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, steps - warm))))
    history = []
    model.train()
    with torch_threads(threads):
        for step in tqdm(range(steps), desc="tiny CLIP", disable=not progress):
            images, order = composition_batch(train, rng, image_size)
            logits = model(images, tokens[order])
            loss = clip_loss(logits)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            clamp_logit_scale(model)
            if step % log_every == 0 or step == steps - 1:
                acc = (logits.argmax(1) == torch.arange(len(order))).float().mean().item()
                history.append({"step": step, "loss": loss.item(), "batch_acc": acc,
                                "inverse_temperature": model.logit_scale.exp().item()})
    model.eval()
    return TrainResult(model, history)


@torch.no_grad()
def zero_shot(model: TinyCLIP, images: torch.Tensor, candidates: list[Composition]) -> torch.Tensor:
    """Zero-shot classification (CLIP §3.1.2): embed every candidate caption, pick the most
    similar one for each image. Returns the index into ``candidates`` for each image."""
    text = model.encode_text(tokenize([c.caption for c in candidates]))
    return (model.encode_image(images) @ text.t()).argmax(dim=1)


# --------------------------------------------------------------------------- prompts, probes, shifts

@torch.no_grad()
def class_embeddings(model: TinyCLIP, prompts_per_class: list[list[str]]) -> torch.Tensor:
    """One text embedding per class from its prompts: the mean of the prompts' L2-normalised
    embeddings, normalised again (CLIP §3.1.4: "we construct the ensemble over the embedding space
    instead of probability space", so one cached vector per class serves every prompt).
    Returns ``[C, embed_dim]``."""
    return torch.stack([F.normalize(model.encode_text(tokenize(ps)).mean(0), dim=-1) for ps in prompts_per_class])


@torch.no_grad()
def classify(model: TinyCLIP, images: torch.Tensor, class_emb: torch.Tensor) -> torch.Tensor:
    """Zero-shot prediction: the class whose embedding is most similar to each image's."""
    return (model.encode_image(images) @ class_emb.t()).argmax(dim=1)


def shape_prompts(template: str = "full") -> dict[str, list[list[str]]]:
    """Prompt sets for classifying the *shape* only (4 classes), CLIP §3.1.4 in miniature.

    ``"bare"``: the label alone, ``"a circle"`` (like ImageNet's bare class names, a text the
    text encoder never saw in training); ``"single"``: one context per prompt set, each of the
    20 (colour, position) contexts as its own set (keys ``"red, top left"``, ...); ``"ensemble"``:
    all 20 contexts averaged. Returns ``{name: prompts per shape}``.
    """
    contexts = [(c, p) for c in COLOURS for p in POSITIONS]
    out = {"bare": [[f"a {s}"] for s in SHAPES]}
    out.update({f"{c}, {p}": [[caption(s, c, p)] for s in SHAPES] for c, p in contexts})
    out["ensemble"] = [[caption(s, c, p) for c, p in contexts] for s in SHAPES]
    return out


def prompt_accuracies(model: TinyCLIP, data: Shapes) -> dict[str, float]:
    """Shape accuracy of every prompt set of ``shape_prompts`` on ``data`` (any compositions):
    ``bare``, ``ensemble``, each single context, and their ``single mean/min/max``."""
    truth = torch.as_tensor([SHAPES.index(data.compositions[j].shape) for j in data.labels])
    with torch.no_grad():
        img = model.encode_image(data.images)  # once: only the text side changes between prompt sets
    acc = {name: ((img @ class_embeddings(model, p).t()).argmax(1) == truth).float().mean().item()
           for name, p in shape_prompts().items()}
    singles = [v for k, v in acc.items() if k not in ("bare", "ensemble")]
    acc.update({"single mean": float(np.mean(singles)), "single min": min(singles), "single max": max(singles)})
    return acc


@torch.no_grad()
def image_embeddings(model: TinyCLIP, images: torch.Tensor) -> np.ndarray:
    """Frozen, L2-normalised image embeddings as a numpy array (the features a linear probe reads)."""
    return model.encode_image(images).numpy()


def linear_probe(model: TinyCLIP, data: Shapes, C: float = 10.0, seed: int = 0):
    """A logistic-regression probe on the frozen image embeddings of ``data`` (labels: its
    composition index), as CLIP §3.2 (L-BFGS logistic regression on frozen features) and
    UnivFD's linear head on frozen CLIP features. Returns the fitted scikit-learn model."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=3000, random_state=seed).fit(image_embeddings(model, data.images),
                                                                       data.labels)


def zero_shot_vs_probe(model: TinyCLIP, shots=(1, 2, 4, 8, 16), test_per_composition: int = 10,
                       seed: int = 0) -> dict:
    """CLIP Fig. 6 in miniature on the 80-way task (every composition a class): zero-shot accuracy
    against k-shot linear probes on the same frozen features, and both again under the
    distribution shifts of ``dfdlab.toydata.SHIFTED`` (``noise``: the noise alone; ``shifted``: a
    bright noisy background). Probes train on k clean images per composition, held-out ones
    included (a probe needs labels of every class; zero-shot needs none).

    Returns ``{"zero-shot": {condition: acc}, "probe": {k: {condition: acc}}}``.
    """
    comps = all_compositions()
    conditions = {"clean": {}, "noise": {"noise": SHIFTED["noise"]}, "shifted": SHIFTED}
    tests = {name: Shapes(comps, test_per_composition, seed=seed + 1000, **kw) for name, kw in conditions.items()}
    feats = {name: image_embeddings(model, d.images) for name, d in tests.items()}
    out = {"zero-shot": {name: float((zero_shot(model, d.images, comps).numpy() == d.labels).mean())
                         for name, d in tests.items()}, "probe": {}}
    for k in shots:
        probe = linear_probe(model, Shapes(comps, k, seed=seed + 2000 + k), seed=seed)
        out["probe"][k] = {name: float((probe.predict(feats[name]) == d.labels).mean()) for name, d in tests.items()}
    return out
