"""Pretrained CLIP through open_clip: by name and tag, or from a local file.

Lesson 03 (``notebooks/03_clip.ipynb``) explains this module; the UnivFD detector
(``dfdlab.detectors.univfd``) builds on it.

What UnivFD needs (Ojha et al., CVPR 2023; official ``models/clip_models.py``): OpenAI
CLIP ViT-L/14 in **fp32**, in **eval** mode, built from OpenAI's ``ViT-L-14.pt`` (a
TorchScript archive) exactly as the official code does with ``clip.load("ViT-L/14",
device="cpu", jit=False)`` (read the archive's state dict, build a plain model,
``.float()``), and the feature ``ln_post(x[:, 0, :]) @ proj`` (768-d, **not** L2-normalised).

Three things must be right to reproduce OpenAI's numbers:

1. **QuickGELU.** OpenAI trained CLIP with ``x * sigmoid(1.702 * x)`` (``QuickGELU`` in
   ``openai/CLIP clip/model.py``), a cheap approximation of GELU. open_clip's plain
   ``ViT-L-14`` config uses the exact ``nn.GELU``; with OpenAI weights that gives slightly
   different features (errors of ~1e-2 that grow through 24 blocks). OpenAI weights are
   therefore always built with ``quick_gelu=True`` (open_clip's ``ViT-L-14-quickgelu``).
   A plain fp32 state dict (``torch.save(model.state_dict())`` of an openai/CLIP model loaded on
   the CPU) carries no trace of OpenAI: its keys are also open_clip's. Such a file is refused
   unless the caller says which it is (``format=`` or ``quick_gelu=``); UnivFD, always OpenAI
   CLIP, says ``quick_gelu=True``.
2. **fp32.** OpenAI stores most weights in fp16 (``convert_weights`` in ``clip/model.py``);
   the official UnivFD code runs ``model.float()``; so do we.
3. **The right token.** ``encode_image`` is the class token after ``ln_post`` and after the
   projection ``proj``; ``image_features(model, x, projected=False)`` gives the 1024-d
   token before the projection.

Public names: ``load_clip``, ``load_visual``, ``image_features``, ``read_state_dict``,
``openai_state_dict``, ``WeightsMissing``, ``OPENAI_ASSETS``.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import torch
from torch import nn

from .. import _compat, hub  # noqa: F401  (_compat: the torchvision shim, open_clip imports torchvision)
from ..checkpoints import CheckpointError, load_state_dict_strict, read_checkpoint, unwrap_state_dict
from ..config import home

#: (open_clip model name, pretrained tag) -> dfdlab.hub asset name.
OPENAI_ASSETS = {("ViT-L-14", "openai"): "clip-vit-l-14-openai",
                 ("ViT-L-14-quickgelu", "openai"): "clip-vit-l-14-openai"}

#: OpenAI preprocessing constants (``clip/clip.py::_transform``), also ``open_clip.OPENAI_DATASET_MEAN/STD``.
OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)

#: Entries of OpenAI's TorchScript state dicts that are not parameters (``clip/model.py::build_model`` drops them).
_OPENAI_EXTRA_KEYS = ("input_resolution", "context_length", "vocab_size")

FORMATS = ("auto", "openai", "open_clip")


class WeightsMissing(hub.AssetMissing):
    """CLIP weights are not on disk; the message says where to get them and where to put them."""


# --------------------------------------------------------------------------- reading files

def is_torchscript_archive(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a TorchScript archive (``torch.jit.save``), like OpenAI's ``ViT-L-14.pt``.

    A TorchScript zip holds compiled code (``<archive>/code/``) or ``constants.pkl``; a
    ``torch.save`` state dict holds neither.
    """
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
    return any("/code/" in n or n.endswith("/constants.pkl") for n in names)


def read_state_dict(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], str]:
    """Read CLIP weights from a file: ``(state_dict, kind)``, ``kind`` in {"torchscript", "state_dict"}.

    - A TorchScript archive (OpenAI's released ``*.pt``) is opened with ``torch.jit.load``
      on the CPU and only its ``state_dict()`` is kept, as OpenAI's ``clip.load(jit=False)``
      and open_clip's ``load_openai_model`` do. (TorchScript archives cannot be read with
      ``weights_only=True``; ``torch.jit.load`` runs no pickled Python.)
    - Anything else goes through dfdlab's one checkpoint reader (``dfdlab.checkpoints``:
      ``torch.load(weights_only=True)`` or safetensors; the wrappers ``{'state_dict': ...}``
      / ``{'model': ...}`` of training checkpoints unwrapped, a DDP ``module.`` prefix
      stripped; an unreadable file raises ``CheckpointError`` naming it).
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsMissing(f"No CLIP weights at {path}: the file does not exist. Pass the path of "
                             "OpenAI's ViT-L-14.pt (or an open_clip checkpoint), or fetch the OpenAI "
                             "weights with `dfdlab assets --fetch clip-vit-l-14-openai`.")
    if is_torchscript_archive(path):
        archive = torch.jit.load(str(path), map_location="cpu")
        return {k: v.detach().clone() for k, v in archive.state_dict().items()}, "torchscript"
    sd = unwrap_state_dict(read_checkpoint(path), source=f"CLIP weights {path}")
    if not sd:
        raise CheckpointError(f"CLIP weights {path} hold an empty state dict")
    return dict(sd), "state_dict"


def looks_like_openai(state_dict: dict[str, torch.Tensor]) -> bool:
    """OpenAI's format: the extra entries of its TorchScript models, or fp16 weights.

    OpenAI's released weights are half precision (``clip/model.py::convert_weights``);
    open_clip checkpoints are fp32 (or bf16) and never carry ``input_resolution``.
    """
    if any(k in state_dict for k in _OPENAI_EXTRA_KEYS):
        return True
    w = state_dict.get("visual.conv1.weight")
    return w is not None and w.dtype == torch.float16


def openai_architecture(state_dict: dict[str, torch.Tensor]) -> dict:
    """The CLIP ViT hyper-parameters a state dict in OpenAI layout implies.

    Mirrors the shape reading of ``openai/CLIP clip/model.py::build_model`` (ViT branch).
    """
    sd = state_dict
    if "visual.proj" not in sd:
        raise ValueError("not a CLIP ViT state dict (no 'visual.proj'); ResNet CLIPs are not supported here")
    patch = sd["visual.conv1.weight"].shape[-1]
    grid = round((sd["visual.positional_embedding"].shape[0] - 1) ** 0.5)
    return {
        "embed_dim": sd["text_projection"].shape[1],
        "vision_width": sd["visual.conv1.weight"].shape[0],
        "vision_layers": len({k.split(".")[3] for k in sd if k.startswith("visual.transformer.resblocks.")}),
        "patch_size": patch,
        "image_size": patch * grid,
        "text_width": sd["ln_final.weight"].shape[0],
        "text_layers": len({k.split(".")[2] for k in sd if k.startswith("transformer.resblocks.")}),
        "context_length": sd["positional_embedding"].shape[0],
        "vocab_size": sd["token_embedding.weight"].shape[0],
    }


def _config_architecture(name: str) -> dict | None:
    import open_clip

    cfg = open_clip.get_model_config(name)
    if cfg is None or "vision_cfg" not in cfg or "text_cfg" not in cfg:
        return None
    v, t = cfg["vision_cfg"], cfg["text_cfg"]
    if not isinstance(v.get("layers"), int) or "timm_model_name" in v or "hf_model_name" in t:
        return None
    return {"embed_dim": cfg["embed_dim"], "vision_width": v.get("width", 768), "vision_layers": v["layers"],
            "patch_size": v.get("patch_size", 16), "image_size": v.get("image_size", 224),
            "text_width": t.get("width", 512), "text_layers": t.get("layers", 12),
            "context_length": t.get("context_length", 77), "vocab_size": t.get("vocab_size", 49408)}


def _check_architecture(name: str, arch: dict, path) -> None:
    """Refuse a file whose shapes do not fit the named model, and say which names would fit."""
    import open_clip

    want = _config_architecture(name)
    if want is None:
        raise ValueError(f"unknown or unsupported open_clip model name {name!r} for an OpenAI-format file")
    if want == arch:
        return
    fits = [n for n in open_clip.list_models() if _config_architecture(n) == arch]
    diff = {k: (arch[k], want[k]) for k in arch if arch[k] != want[k]}
    raise CheckpointError(f"{path} does not hold a {name}: (file, {name}) differ in {diff}. "
                     f"Models with this file's shapes: {', '.join(fits[:6]) or 'none known to open_clip'}")


# --------------------------------------------------------------------------- building models

def _base_name(name: str) -> str:
    return name[: -len("-quickgelu")] if name.endswith("-quickgelu") else name


def _new_model(name: str, quick_gelu: bool) -> nn.Module:
    """An open_clip model with random weights in fp32 (nothing is downloaded)."""
    import open_clip

    # quick_gelu as a model kwarg overrides the config either way (open_clip: highest priority)
    return open_clip.create_model(_base_name(name), pretrained=None, quick_gelu=quick_gelu,
                                  precision="fp32", device="cpu")


def _new_model_plain(name: str, quick_gelu: bool | None) -> nn.Module:
    import open_clip

    if quick_gelu is None:
        return open_clip.create_model(name, pretrained=None, precision="fp32", device="cpu")
    return _new_model(name, quick_gelu)


def uses_quick_gelu(model: nn.Module) -> bool:
    """Whether the first vision MLP uses QuickGELU (OpenAI's ``x * sigmoid(1.702 x)``)."""
    from open_clip.transformer import QuickGELU

    return any(isinstance(m, QuickGELU) for m in model.modules())


def clip_preprocess(image_size: int = 224):
    """OpenAI's CLIP preprocessing (``clip/clip.py::_transform``): resize the shorter side to
    ``image_size`` (bicubic), centre crop, RGB, ToTensor, CLIP mean/std.

    UnivFD's *test* pipeline differs (native centre crop, no resize; official ``validate.py``):
    use ``dfdlab.data.transforms.univfd_test`` for the detector.
    """
    import open_clip

    return open_clip.image_transform(image_size, is_train=False, mean=OPENAI_MEAN, std=OPENAI_STD)


def load_clip(name: str = "ViT-L-14", weights: str | os.PathLike | None = None,
              pretrained_tag: str | None = None, *, format: str = "auto", quick_gelu: bool | None = None,
              fetch: bool = False, device: str | torch.device = "cpu"):
    """Build an open_clip CLIP model with weights; returns ``(model, preprocess)``.

    The model is in fp32 and eval mode, with ``requires_grad`` left on (freeze it yourself).

    Args:
        name: open_clip architecture, e.g. ``"ViT-L-14"`` (``"ViT-L-14-quickgelu"`` is the same
            architecture with QuickGELU).
        weights: a local file: OpenAI's TorchScript archive (``ViT-L-14.pt``), an OpenAI state
            dict, or an open_clip checkpoint (``.pt``/``.bin``/``.safetensors``); or ``"random"``
            for random weights (tests, shapes).
        pretrained_tag: instead of ``weights``, an open_clip tag. ``("ViT-L-14", "openai")``
            goes through the asset registry (``dfdlab.hub``, asset ``clip-vit-l-14-openai``);
            other tags are downloaded by open_clip into ``DFDLAB_HOME/open_clip`` when ``fetch``.
        format: ``"auto"`` (TorchScript archive, ``input_resolution`` entries or fp16 weights
            mean OpenAI; a file without any of them, for an architecture whose config uses the
            exact GELU, is ambiguous and refused unless ``quick_gelu`` is given), ``"openai"``
            or ``"open_clip"``.
        quick_gelu: ``None`` = QuickGELU for OpenAI weights, the named config's activation
            otherwise. Forcing ``False`` on OpenAI weights reproduces a common mistake.
        fetch: allow a download (never in tests or the quick profile).

    Raises:
        WeightsMissing (a ``dfdlab.hub.AssetMissing``): the weights are not on disk; the
        message says how to get them.
    """
    if format not in FORMATS:
        raise ValueError(f"format={format!r}; use one of {FORMATS}")
    if weights is None and pretrained_tag is None:
        raise ValueError("load_clip needs weights=PATH, pretrained_tag='openai' (through dfdlab.hub) "
                         "or weights='random'")
    if weights is not None and pretrained_tag is not None:
        raise ValueError("pass either weights or pretrained_tag, not both")

    if isinstance(weights, str) and weights == "random":
        model = _new_model_plain(name, quick_gelu)
    elif weights is not None:
        model = _load_file(name, Path(weights), format, quick_gelu)
    elif (name, pretrained_tag) in OPENAI_ASSETS:
        asset = OPENAI_ASSETS[(name, pretrained_tag)]
        try:
            path = hub.path(asset, fetch=fetch)
        except WeightsMissing:
            raise
        except hub.AssetMissing as e:
            raise WeightsMissing(str(e)) from None
        if hub.get(asset).rehearsal:  # the replica's small random CLIP: its own shapes, not ViT-L/14's
            model = rehearsal_clip(path)
        else:
            model = _load_file(name, path, "openai", quick_gelu)
    else:
        model = _load_open_clip_tag(name, pretrained_tag, fetch)
    model = model.float().eval().to(device)
    return model, clip_preprocess(model.visual.image_size[0] if isinstance(model.visual.image_size, tuple)
                                  else model.visual.image_size)


def load_visual(name: str = "ViT-L-14", weights=None, pretrained_tag=None, **kw) -> nn.Module:
    """The image tower of ``load_clip(...)`` (``model.visual``): fp32, eval; ``visual(x)`` is ``encode_image(x)``."""
    model, _ = load_clip(name, weights, pretrained_tag, **kw)
    return model.visual


def config_uses_quick_gelu(name: str) -> bool:
    """Whether open_clip's config ``name`` builds QuickGELU (``"ViT-L-14-quickgelu"``: yes; ``"ViT-L-14"``: no)."""
    import open_clip

    cfg = open_clip.get_model_config(name)
    return bool(cfg and cfg.get("quick_gelu", False))


def _load_file(name: str, path: Path, format: str, quick_gelu: bool | None) -> nn.Module:
    sd, kind = read_state_dict(path)
    is_openai = format == "openai" or (format == "auto" and (kind == "torchscript" or looks_like_openai(sd)))
    if is_openai:
        return build_from_openai_state_dict(name, sd, quick_gelu=True if quick_gelu is None else quick_gelu,
                                            source=path)
    if format == "auto" and quick_gelu is None and not config_uses_quick_gelu(name):
        # OpenAI's key layout is open_clip's: an fp32 file without OpenAI's extra entries could be either
        raise CheckpointError(
            f"{path} is an fp32 CLIP state dict in the key layout OpenAI and open_clip share, so it does not say "
            f"which activation its weights were trained with. Pass format='openai' for OpenAI CLIP weights (e.g. "
            f"torch.save(model.state_dict()) from openai/CLIP: QuickGELU), format='open_clip' for weights trained "
            f"with open_clip's {name} config (exact GELU), or quick_gelu=True/False.")
    model = _new_model_plain(name, quick_gelu)
    if "logit_scale" in sd and sd["logit_scale"].ndim != model.logit_scale.ndim:
        sd["logit_scale"] = sd["logit_scale"].reshape(model.logit_scale.shape)
    load_state_dict_strict(model, sd, source=f"CLIP weights {path}")
    return model


def rehearsal_clip(path: str | os.PathLike) -> nn.Module:
    """The rehearsal registry's stand-in for OpenAI's ViT-L/14 (``dfdlab.data.replica``).

    A small CLIP of random weights in OpenAI key layout (fp16, a plain state dict), whose
    architecture open_clip's ``build_model_from_openai_state_dict`` infers from the shapes
    (QuickGELU; 768-d projection, so UnivFD's ``Linear(768, 1)`` fits). Only a rehearsal reads
    it: a published file always goes through the named, shape-checked path.
    """
    from open_clip.model import build_model_from_openai_state_dict

    sd, _ = read_state_dict(path)
    return build_model_from_openai_state_dict(sd, quick_gelu=True, cast_dtype=None)


def build_from_openai_state_dict(name: str, state_dict: dict, quick_gelu: bool = True, source="<state dict>"):
    """OpenAI weights -> an fp32 open_clip model of architecture ``name`` (strict).

    Follows ``openai/CLIP clip/model.py::build_model`` + ``model.float()`` (UnivFD's
    ``clip.load(..., jit=False)`` on the CPU): drop the non-parameter entries, check the
    shapes against the named architecture, load every tensor (fp16 values are cast to fp32).
    Unlike open_clip's ``build_model_from_openai_state_dict`` the architecture comes from
    ``name``, so a wrong file is an error rather than a different model.
    """
    sd = dict(state_dict)
    extra = {k: sd.pop(k) for k in _OPENAI_EXTRA_KEYS if k in sd}
    arch = openai_architecture(sd)
    _check_architecture(_base_name(name), arch, source)
    if "input_resolution" in extra and int(extra["input_resolution"]) != arch["image_size"]:
        raise ValueError(f"{source}: input_resolution {int(extra['input_resolution'])} disagrees with the "
                         f"positional embedding ({arch['image_size']} px)")
    model = _new_model(name, quick_gelu)
    load_state_dict_strict(model, sd, source=f"CLIP weights {source}")
    return model


def _load_open_clip_tag(name: str, tag: str, fetch: bool) -> nn.Module:
    import open_clip

    tags = open_clip.list_pretrained_tags_by_model(name)
    if tag not in tags:
        raise ValueError(f"open_clip has no pretrained tag {tag!r} for {name}; it has: {', '.join(tags) or 'none'}")
    if not fetch:
        raise WeightsMissing(
            f"The open_clip weights {name}/{tag} are not registered in dfdlab.hub, and downloading was not "
            f"allowed. Call load_clip({name!r}, pretrained_tag={tag!r}, fetch=True) to let open_clip download "
            f"them into {home() / 'open_clip'}, or download the checkpoint yourself and pass weights=PATH.")
    return open_clip.create_model(name, pretrained=tag, precision="fp32", device="cpu",
                                  cache_dir=str(home() / "open_clip"))


# --------------------------------------------------------------------------- features

def vision_tower(model: nn.Module) -> nn.Module:
    """``model.visual`` for a CLIP model, the model itself for a vision tower."""
    return model.visual if hasattr(model, "visual") else model


@torch.no_grad()
def image_features(model: nn.Module, x: torch.Tensor, projected: bool = True) -> torch.Tensor:
    """CLIP image features, written out as OpenAI's ``VisionTransformer.forward`` (``clip/model.py``).

    ``projected=True``: ``ln_post(x[:, 0, :]) @ proj``, identical to ``encode_image`` (768-d for
    ViT-L/14; UnivFD's feature, official ``models/clip_models.py``; not L2-normalised).
    ``projected=False``: ``ln_post(x[:, 0, :])``, the class token before the projection (1024-d).
    ``model`` is a CLIP model or its ``.visual``; ``x`` is a preprocessed batch ``[N, 3, H, W]``.
    Runs under ``torch.no_grad`` (a frozen backbone).
    """
    v = vision_tower(model)
    if getattr(v, "attn_pool", None) is not None or getattr(v, "pool_type", "tok") != "tok" \
            or getattr(v, "final_ln_after_pool", False):
        raise ValueError("image_features follows OpenAI's ViT (class-token pooling, ln_post, proj); "
                         "this vision tower is configured differently")
    t = v.conv1(x)                                   # [N, width, grid, grid]: patchify + linear embedding
    t = t.flatten(2).transpose(1, 2)                 # [N, grid*grid, width]
    cls = v.class_embedding.to(t.dtype).expand(t.shape[0], 1, -1)
    t = torch.cat([cls, t], dim=1) + v.positional_embedding.to(t.dtype)
    t = v.ln_pre(t)
    if getattr(v.transformer, "batch_first", True):
        t = v.transformer(t)
    else:
        t = v.transformer(t.transpose(0, 1)).transpose(0, 1)
    feat = v.ln_post(t[:, 0, :])
    return feat @ v.proj if projected else feat


# --------------------------------------------------------------------------- writing OpenAI's format

_OPENAI_HALF_SUFFIXES = ("in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias",
                         "c_fc.weight", "c_fc.bias", "c_proj.weight", "c_proj.bias", "conv1.weight")


def openai_state_dict(model: nn.Module, half: bool = True, extras: bool = True) -> dict[str, torch.Tensor]:
    """An open_clip ``CLIP`` model's weights in OpenAI's layout (what ``ViT-L-14.pt`` holds).

    The key names are already OpenAI's; ``half`` casts what ``clip/model.py::convert_weights``
    casts (convolution, linear and attention projections, ``proj`` and ``text_projection``)
    to fp16; ``extras`` adds the ``input_resolution`` / ``context_length`` / ``vocab_size``
    entries OpenAI's TorchScript models carry. Used by the tests to write OpenAI-format files.
    """
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if half:
        for k in sd:
            if k.endswith(_OPENAI_HALF_SUFFIXES) or k in ("visual.proj", "text_projection"):
                sd[k] = sd[k].half()
    if extras:
        size = model.visual.image_size
        sd["input_resolution"] = torch.tensor(size[0] if isinstance(size, tuple) else size)
        sd["context_length"] = torch.tensor(model.context_length)
        sd["vocab_size"] = torch.tensor(model.vocab_size)
    return sd
