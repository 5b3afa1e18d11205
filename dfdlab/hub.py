"""Named assets: weights and datasets with where they come from, checksum and licence.

Modelled on d2l's ``DATA_HUB`` and timm/open_clip pretrained records: every asset is a
small record; ``path(name)`` returns the verified local file or raises ``AssetMissing``
with one paragraph saying where to get it and where to put it. Nothing is downloaded
unless asked (``path(name, fetch=True)``, ``fetch(name)`` or ``dfdlab assets --fetch``):
tests and the quick profile never touch the network.

Downloads resume (HTTP ``Range``), are checked against the sha256 before they are moved
into place, and archives extract only inside their target folder.

Why the download loop is written here: ``pooch.retrieve`` and
``torch.hub.download_url_to_file`` stream into a temporary file they delete when a transfer
fails, so a CLIP ViT-L/14 download (about 900 MB) that drops at 90 % starts again from zero, and they check
one full digest (several assets publish only a ``prefix…suffix`` of theirs);
``huggingface_hub``'s resuming ``http_get`` is not part of its public API. Resuming needs
only the ``Range`` request below, a ``.part`` file and the checks after it.
"""

from __future__ import annotations

import http.client
import json
import os
import tarfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from .config import data_root, home
from .files import atomic_write_text, sha256sum


class AssetMissing(FileNotFoundError):
    """An asset is not on disk (and could not, or was not asked to, be fetched)."""


class ChecksumMismatch(ValueError):
    """A file's sha256 differs from the registry's."""


@dataclass(frozen=True)
class Asset:
    name: str
    kind: str  # "weights" or "dataset"
    filename: str  # file under DFDLAB_HOME/weights, or folder under DFDLAB_DATA
    description: str
    source: str  # where it is published (repository, paper)
    licence: str
    url: str | None = None  # direct download; None when a browser is needed
    sha256: str | None = None  # full hex digest, or "prefix…suffix" when only that is published
    size: int | None = None
    manual: str = ""  # steps for assets behind Google Drive / Baidu / a form
    load: str = ""  # how dfdlab loads it
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def target(self) -> Path:
        base = home() / "weights" if self.kind == "weights" else data_root()
        return base / self.filename


_CNN = "PeterWang512/CNNDetection"
_NPR = "chuangchuangtan/NPR-DeepfakeDetection"
_UFD = "WisconsinAIVision/UniversalFakeDetect"
_LGRAD = "chuangchuangtan/LGrad"

ASSETS: dict[str, Asset] = {a.name: a for a in [
    Asset("clip-vit-l-14-openai", "weights", "ViT-L-14.pt",
          "OpenAI CLIP ViT-L/14 (224 px), the frozen UnivFD backbone (TorchScript archive)",
          "openai/CLIP", "MIT",
          url="https://openaipublic.azureedge.net/clip/models/"
              "b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836/ViT-L-14.pt",
          sha256="b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836",
          load="dfdlab.clip.pretrained (OpenAI format, QuickGELU, fp32)"),
    Asset("ufd-fc", "weights", "ufd_fc_weights.pth",
          "UnivFD linear head on CLIP ViT-L/14 features (pretrained_weights/fc_weights.pth)",
          _UFD, "MIT",
          url=f"https://github.com/{_UFD}/raw/main/pretrained_weights/fc_weights.pth",
          sha256="477100745713bcc957beb2b40859536859b6483fd6301b3b9293151b194c7847", size=4083,
          load="build('ufd', head_weights=...): a bare Linear(768,1) state dict saved on cuda:0"),
    Asset("npr", "weights", "NPR.pth", "NPR paper model (4-class ProGAN), repository root", _NPR,
          "see repository", url=f"https://github.com/{_NPR}/raw/main/NPR.pth",
          sha256="3939297e9399…483a53",
          load="build('npr') + load_checkpoint: {'model': {'module.*'}} or a raw state dict",
          notes=("only the first and last hex digits of its sha256 are published (third party)",)),
    Asset("npr-3090", "weights", "model_epoch_last_3090.pth",
          "NPR model for AIGCDetectBenchmark (also used by the authors' demo)", _NPR, "see repository",
          url=f"https://github.com/{_NPR}/raw/main/model_epoch_last_3090.pth",
          sha256="b67a9155…80f7e8a", size=5_842_385,
          load="build('npr') + load_checkpoint: raw state dict",
          notes=("only the first and last hex digits of its sha256 are published (third party)",)),
    Asset("lgrad-1class", "weights", "LGrad-1class-Trainon-Progan_horse.pth",
          "LGrad ResNet-50 on gradients, trained on ProGAN horse", _LGRAD, "see repository",
          manual="Google Drive folder 17-MAyCpMqyn4b_DFP2LekrmIgRovwoix (linked from the LGrad README)",
          load="build('lgrad') + load_checkpoint: raw ResNet-50 state dict"),
    Asset("lgrad-2class", "weights", "LGrad-2class-Trainon-Progan_chair_horse.pth",
          "LGrad ResNet-50 on gradients, trained on ProGAN chair+horse", _LGRAD, "see repository",
          manual="Google Drive folder 17-MAyCpMqyn4b_DFP2LekrmIgRovwoix (linked from the LGrad README)",
          load="build('lgrad') + load_checkpoint: raw ResNet-50 state dict"),
    Asset("lgrad-4class", "weights", "LGrad-4class-Trainon-Progan_car_cat_chair_horse.pth",
          "LGrad ResNet-50 on gradients, trained on ProGAN car+cat+chair+horse (Table 1)", _LGRAD,
          "see repository",
          manual="Google Drive folder 17-MAyCpMqyn4b_DFP2LekrmIgRovwoix (file id "
                 "1OVUTjlvkiGOggcvLhB0xEkaOf8sxT8Zr, linked from the LGrad README)",
          load="build('lgrad') + load_checkpoint: raw ResNet-50 state dict"),
    Asset("stylegan-bedroom256-d", "weights", "karras2019stylegan-bedrooms-256x256_discriminator.pth",
          "StyleGAN (v1) LSUN-bedroom 256 discriminator, genforce PyTorch conversion: LGrad's "
          "transformation model", _LGRAD, "CC BY-NC 4.0 (StyleGAN)",
          url="https://lid-1302259812.cos.ap-nanjing.myqcloud.com/tmp/"
              "karras2019stylegan-bedrooms-256x256_discriminator.pth",
          load="dfdlab.detectors.lgrad.StyleGANDiscriminator(256), strict",
          notes=("no checksum is published: the first download's sha256 is recorded and reported",)),
    Asset("resnet50-imagenet", "weights", "resnet50-19c8e357.pth",
          "torchvision ImageNet ResNet-50 (the CNNDetection/LGrad initialisation)", "pytorch/vision",
          "BSD-3-Clause", url="https://download.pytorch.org/models/resnet50-19c8e357.pth",
          sha256="19c8e357…",
          load="torchvision resnet50 state dict (fc replaced by Linear(2048,1))",
          notes=("torchvision publishes the first 8 hex digits of the sha256 in the file name",)),
    Asset("forensynths-train", "dataset", "ForenSynths/train",
          "ProGAN training set, 20 LSUN classes, 720k images (CNNDetection)", _CNN, "CC BY-NC-SA 4.0",
          manual="download progan_train.7z.001…007 from the Hugging Face dataset sywang/CNNDetection, "
                 "extract with 7z, and move the class folders so that train/<class>/{0_real,1_fake} exists"),
    Asset("forensynths-val", "dataset", "ForenSynths/val", "ProGAN validation set (CNNDetection)", _CNN,
          "CC BY-NC-SA 4.0",
          manual="download progan_val.zip from the Hugging Face dataset sywang/CNNDetection and unzip "
                 "so that val/<class>/{0_real,1_fake} exists"),
    Asset("forensynths-test", "dataset", "ForenSynths/test",
          "CNNDetection test set: 13 generators (progan, stylegan, biggan, cyclegan, ...), ~19 GB", _CNN,
          "CC BY-NC-SA 4.0",
          manual="download CNN_synth_testset.zip from the Hugging Face dataset sywang/CNNDetection and "
                 "unzip so that test/<generator>/... exists"),
    Asset("univfd-diffusion", "dataset", "UnivFD/diffusion_datasets",
          "UnivFD diffusion/autoregressive test sets (guided, ldm_*, glide_*, dalle), 1k real + 1k fake each",
          _UFD, "see repository",
          manual="download the Google Drive folder 1FXlGIRh_Ud3cScMgSVDbEWmPDmjcrm1t (UnivFD README) and "
                 "unzip so that diffusion_datasets/<set>/{0_real,1_fake} exists"),
    Asset("gangen", "dataset", "GANGen-Detection",
          "GANGen-Detection: 9 GANs, NPR Table 2 (native size, no resize, no crop)", _NPR, "see repository",
          manual="follow the GANGen-Detection links (Google Drive / Baidu) in the NPR README"),
    Asset("diffusionforensics", "dataset", "DiffusionForensics",
          "DiffusionForensics (DIRE), NPR Table 3", "ZhendongWang6/DIRE", "see repository",
          manual="follow the DiffusionForensics links in the DIRE README (Baidu / OneDrive)"),
]}


def get(name: str) -> Asset:
    try:
        return ASSETS[name]
    except KeyError:
        raise KeyError(f"unknown asset {name!r}; known: {', '.join(ASSETS)}") from None


def _checks(asset: Asset, digest: str) -> bool:
    """Compare with the registry: a full digest, or ``prefix…suffix`` when only that is published."""
    if asset.sha256 is None:
        return True
    if "…" in asset.sha256:
        head, tail = asset.sha256.split("…")
        return digest.startswith(head) and digest.endswith(tail)
    return digest == asset.sha256


def _verified_digest(path: Path) -> str:
    """sha256 of a file, remembered beside it (keyed by size and mtime) to avoid re-hashing GBs."""
    stamp = path.with_name(path.name + ".sha256.json")
    st = path.stat()
    if stamp.exists():
        try:
            rec = json.loads(stamp.read_text())
            if rec.get("size") == st.st_size and rec.get("mtime_ns") == st.st_mtime_ns:
                return rec["sha256"]
        except (ValueError, KeyError):
            pass  # an unreadable stamp is recomputed
    digest = sha256sum(path)
    atomic_write_text(stamp, json.dumps({"sha256": digest, "size": st.st_size, "mtime_ns": st.st_mtime_ns}))
    return digest


def _instructions(asset: Asset) -> str:
    where = asset.target
    if asset.url:
        how = (f"run `dfdlab assets --fetch {asset.name}`, or download {asset.url} yourself "
               f"and put it at {where}")
    else:
        how = f"it needs a browser: {asset.manual}; put it at {where}"
    return (f"The asset '{asset.name}' ({asset.description}; from {asset.source}, licence {asset.licence}) "
            f"is not at {where}. To get it, {how}. DFDLAB_HOME (weights) and DFDLAB_DATA (datasets) "
            "move these folders.")


def available(name: str) -> bool:
    """Whether the asset is on disk (without hashing it)."""
    return get(name).target.exists()


def path(name: str, fetch: bool = False, verify: bool = True) -> Path:
    """The local path of an asset, verified; fetch it first when ``fetch`` and it has a URL."""
    asset = get(name)
    target = asset.target
    if not target.exists():
        if fetch and asset.url:
            return _download(asset)
        raise AssetMissing(_instructions(asset))
    if verify and asset.kind == "weights" and target.is_file():
        digest = _verified_digest(target)
        if not _checks(asset, digest):
            raise ChecksumMismatch(
                f"{target} has sha256 {digest}, but the asset '{name}' should have {asset.sha256}. "
                f"Delete the file and fetch it again (`dfdlab assets --fetch {name}`).")
    return target


def fetch(name: str) -> Path:
    """Download (resuming) and verify an asset; for browser-only assets, print the steps and raise."""
    return path(name, fetch=True)


def _open(asset: Asset, start: int):
    """The HTTP response for ``asset.url`` from byte ``start`` (``Range``), or ``None`` when ``start`` is the end."""
    req = urllib.request.Request(asset.url, headers={"Range": f"bytes={start}-"} if start else {})
    try:
        return urllib.request.urlopen(req, timeout=60)
    except urllib.error.HTTPError as e:
        if e.code == 416 and start:  # "range not satisfiable": the .part file is already whole
            return None
        raise AssetMissing(f"Could not download '{asset.name}' from {asset.url} (HTTP {e.code} {e.reason}). "
                           f"{_instructions(asset)}") from None
    except (urllib.error.URLError, OSError) as e:
        raise AssetMissing(f"Could not download '{asset.name}' from {asset.url} ({e}). "
                           f"{_instructions(asset)}") from None


def _resumed_at(resp, start: int) -> int:
    """Where the body of ``resp`` starts: ``start`` for a 206 answer from that byte, else 0 (start over)."""
    if not start or resp.status != 206:
        return 0  # the server ignored the range
    content_range = resp.headers.get("Content-Range", f"bytes {start}-")
    return start if content_range.startswith(f"bytes {start}-") else 0


def _download(asset: Asset, chunk: int = 1 << 20) -> Path:
    target = asset.target
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    done = part.stat().st_size if part.exists() else 0
    resp = _open(asset, done)
    if resp is not None:
        with resp:
            done = _resumed_at(resp, done)
            length = int(resp.headers.get("Content-Length", -1))  # -1: not announced
            got, error = 0, None
            with open(part, "ab" if done else "wb") as f, tqdm(total=(length + done) if length >= 0 else asset.size,
                                                              initial=done, unit="B", unit_scale=True,
                                                              desc=asset.filename) as bar:
                try:
                    for block in iter(lambda: resp.read(chunk), b""):
                        f.write(block)
                        got += len(block)
                        bar.update(len(block))
                except (http.client.HTTPException, OSError) as e:
                    error = f"{type(e).__name__}: {e}"
            if error is not None or got < length:  # a dropped connection: the .part stays, to resume from
                raise AssetMissing(
                    f"The download of '{asset.name}' from {asset.url} stopped after {done + got:,} bytes "
                    f"({error or 'the connection closed early'}); run the same command again to resume from "
                    f"there (the partial file is {part}).")
    digest = sha256sum(part)
    if not _checks(asset, digest):
        part.unlink()
        raise ChecksumMismatch(f"the download of '{asset.name}' has sha256 {digest}, expected {asset.sha256}; "
                               "the partial file was removed, try again")
    os.replace(part, target)
    if asset.sha256 is None:
        print(f"{asset.name}: no published checksum; recorded sha256 {digest}")
    return target


def safe_extract(archive: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Extract a zip or tar archive, refusing any member that would land outside ``target``."""
    archive, target = Path(archive), Path(target).resolve()
    target.mkdir(parents=True, exist_ok=True)

    def inside(member: str) -> Path:
        dest = (target / member).resolve()
        if dest != target and target not in dest.parents:
            raise ValueError(f"{archive}: member {member!r} would extract outside {target}; refusing")
        return dest

    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            for m in z.namelist():
                inside(m)
            z.extractall(target)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as t:
            for m in t.getmembers():
                inside(m.name)
                if m.issym() or m.islnk():
                    inside(str(Path(m.name).parent / m.linkname))
            t.extractall(target, filter="data")
    else:
        raise ValueError(f"{archive} is neither a zip nor a tar archive")
    return target


def status() -> list[dict]:
    """One row per asset: name, kind, present, path, and a line of advice when missing."""
    rows = []
    for a in ASSETS.values():
        present = a.target.exists()
        advice = "" if present else (f"dfdlab assets --fetch {a.name}" if a.url else f"manual: {a.manual}")
        rows.append({"name": a.name, "kind": a.kind, "present": present, "path": str(a.target),
                     "advice": advice})
    return rows


def table() -> str:
    """A plain-text table of ``status()`` for the terminal."""
    rows = status()
    w = max(len(r["name"]) for r in rows)
    lines = [f"{'asset':<{w}}  {'kind':<8} {'here':<5} path / what to do"]
    for r in rows:
        mark = "yes" if r["present"] else "no"
        lines.append(f"{r['name']:<{w}}  {r['kind']:<8} {mark:<5} {r['path']}")
        if r["advice"]:
            lines.append(f"{'':<{w}}  {'':<8} {'':<5} -> {r['advice']}")
    return "\n".join(lines)
