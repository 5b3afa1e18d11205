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
from ..toydata import COLOURS, SHAPES, Composition, composition_batch, draw, split_compositions

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

    ``index`` points into ``self.compositions``. Deterministic given ``seed``.
    """

    def __init__(self, compositions: list[Composition], n_per_composition: int, seed: int = 0, size: int = 32):
        rng = np.random.default_rng(seed)
        self.compositions = list(compositions)
        self.labels = np.repeat(np.arange(len(self.compositions)), n_per_composition)
        self.images = torch.from_numpy(np.stack([draw(self.compositions[i], rng, size) for i in self.labels]))
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
