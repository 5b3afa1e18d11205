"""Named assets: weights and datasets with where they come from, checksum and licence.

Modelled on d2l's ``DATA_HUB`` and timm/open_clip pretrained records: every asset is a
small record; ``path(name)`` returns the verified local file or raises ``AssetMissing``
with one paragraph saying where to get it and where to put it. Nothing is downloaded
unless asked (``path(name, fetch=True)``, ``fetch(name)`` or ``dfdlab assets --fetch``):
tests and the quick profile never touch the network.

Downloads resume (HTTP ``Range``; ``huggingface_hub`` and ``gdown`` resume their own), are
checked against the sha256 before they are moved into place (the Hub's LFS sha256 for Hub
files; Google Drive publishes none, so the digest is recorded and printed), and archives
(zip, tar, 7z, multi-part 7z) extract only inside their target folder, into the layout
``dfdlab data check`` expects. ``weights_for(detector, "published")`` names each detector's
published checkpoint, as timm's ``pretrained=True`` does.

Why the download loop is written here: ``pooch.retrieve`` and
``torch.hub.download_url_to_file`` stream into a temporary file they delete when a transfer
fails, so a CLIP ViT-L/14 download (about 900 MB) that drops at 90 % starts again from zero, and they check
one full digest (several assets publish only a ``prefix…suffix`` of theirs);
``huggingface_hub``'s resuming ``http_get`` is not part of its public API. Resuming needs
only the ``Range`` request below, a ``.part`` file and the checks after it.
"""

from __future__ import annotations

import http.client
import importlib
import json
import os
import re
import shutil
import tarfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from tqdm.auto import tqdm

from .config import REHEARSAL_LABEL, data_root, home, rehearsal, rehearsal_root
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
    location: str | None = None  # an explicit path instead of DFDLAB_HOME/DFDLAB_DATA (the rehearsal registry)
    rehearsal: bool = False  # a replica file of random weights / miniature data, never the published asset
    detector: str | None = None  # the detector that loads these weights (``--weights NAME``)
    hf_repo: str | None = None  # a Hugging Face Hub dataset repository holding the files (huggingface_hub)
    hf_files: tuple[str, ...] = ()  # its files, multi-part archives in part order
    hf_sha256: tuple[str, ...] = ()  # pinned sha256 per hf file; else the Hub's LFS sha256 is the reference
    hf_revision: str | None = None  # the repository commit the files are read at (None: main)
    gdrive: str | None = None  # a public Google Drive file id (gdown)
    gdrive_folder: str | None = None  # a public Google Drive folder id (gdown); ``filename`` is taken from it
    unpack_marker: tuple[str, ...] = ()  # a dataset: entries the unpacked folder must hold (e.g. "progan")

    @property
    def fetchable(self) -> bool:
        """Whether ``dfdlab assets --fetch`` can get it without a browser (URL, the Hub, public Google Drive).

        Never for a rehearsal stand-in: a replica file is rewritten, not fetched.
        """
        return not self.rehearsal and bool(self.url or self.hf_repo or self.gdrive or self.gdrive_folder)

    @property
    def target(self) -> Path:
        if self.location is not None:
            return Path(self.location)
        base = home() / "weights" if self.kind == "weights" else data_root()
        return base / self.filename


_CNN = "PeterWang512/CNNDetection"
_NPR = "chuangchuangtan/NPR-DeepfakeDetection"
_UFD = "WisconsinAIVision/UniversalFakeDetect"
_LGRAD = "chuangchuangtan/LGrad"
#: CNNDetection's datasets on the Hugging Face Hub (its dataset/*/download_*.sh, since July 2024), read at the
#: commit that added the README after the upload (2dd6d95); the files are those of the upload.
_CNN_HF = "sywang/CNNDetection"
_CNN_HF_REVISION = "f287cf3c3e92ca2e5451ce200bab8b6f5e0175b2"

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
          load="build('ufd', head_weights=...): a bare Linear(768,1) state dict saved on cuda:0", detector="univfd"),
    Asset("npr", "weights", "NPR.pth", "NPR paper model (4-class ProGAN), repository root", _NPR,
          "see repository", url=f"https://github.com/{_NPR}/raw/main/NPR.pth",
          sha256="3939297e9399…483a53",
          load="build('npr') + load_checkpoint: {'model': {'module.*'}} or a raw state dict", detector="npr",
          notes=("only the first and last hex digits of its sha256 are published (third party)",)),
    Asset("npr-3090", "weights", "model_epoch_last_3090.pth",
          "NPR model for AIGCDetectBenchmark (also used by the authors' demo)", _NPR, "see repository",
          url=f"https://github.com/{_NPR}/raw/main/model_epoch_last_3090.pth",
          sha256="b67a9155…80f7e8a", size=5_842_385,
          load="build('npr') + load_checkpoint: raw state dict", detector="npr",
          notes=("only the first and last hex digits of its sha256 are published (third party)",)),
    Asset("npr-genimage-sdv4", "weights", "NPR_GenImage_sdv4.pth",
          "NPR trained on GenImage SD v1.4 (seed 70, crop 224, 1 epoch; NPR README, GenImage section)", _NPR,
          "see repository", sha256="9bc961e7…79015", detector="npr",
          gdrive_folder="1_mD17F94xMbJqEAsWRW1gVsZ5db6YamI",
          manual="Google Drive folder 1_mD17F94xMbJqEAsWRW1gVsZ5db6YamI (NPR README, 'Pretrained checkpoint')",
          load="build('npr') + load_checkpoint",
          notes=("only the first and last hex digits of its sha256 are published (third party)",)),
    Asset("lgrad-1class", "weights", "LGrad-1class-Trainon-Progan_horse.pth",
          "LGrad ResNet-50 on gradients, trained on ProGAN horse", _LGRAD, "see repository",
          manual="Google Drive folder 17-MAyCpMqyn4b_DFP2LekrmIgRovwoix (linked from the LGrad README)",
          load="build('lgrad') + load_checkpoint: raw ResNet-50 state dict", detector="lgrad",
          gdrive_folder="17-MAyCpMqyn4b_DFP2LekrmIgRovwoix"),
    Asset("lgrad-2class", "weights", "LGrad-2class-Trainon-Progan_chair_horse.pth",
          "LGrad ResNet-50 on gradients, trained on ProGAN chair+horse", _LGRAD, "see repository",
          manual="Google Drive folder 17-MAyCpMqyn4b_DFP2LekrmIgRovwoix (linked from the LGrad README)",
          load="build('lgrad') + load_checkpoint: raw ResNet-50 state dict", detector="lgrad",
          gdrive_folder="17-MAyCpMqyn4b_DFP2LekrmIgRovwoix"),
    Asset("lgrad-4class", "weights", "LGrad-4class-Trainon-Progan_car_cat_chair_horse.pth",
          "LGrad ResNet-50 on gradients, trained on ProGAN car+cat+chair+horse (Table 1)", _LGRAD,
          "see repository",
          manual="Google Drive folder 17-MAyCpMqyn4b_DFP2LekrmIgRovwoix (file id "
                 "1OVUTjlvkiGOggcvLhB0xEkaOf8sxT8Zr, linked from the LGrad README)",
          load="build('lgrad') + load_checkpoint: raw ResNet-50 state dict", detector="lgrad",
          gdrive_folder="17-MAyCpMqyn4b_DFP2LekrmIgRovwoix",
          notes=("the folder id is the LGrad README's; the file id is a third party's",)),
    Asset("stylegan-bedroom256-d", "weights", "karras2019stylegan-bedrooms-256x256_discriminator.pth",
          "StyleGAN (v1) LSUN-bedroom 256 discriminator, genforce PyTorch conversion: LGrad's "
          "transformation model", _LGRAD, "CC BY-NC 4.0 (StyleGAN)",
          url="https://lid-1302259812.cos.ap-nanjing.myqcloud.com/tmp/"
              "karras2019stylegan-bedrooms-256x256_discriminator.pth",
          load="dfdlab.detectors.lgrad.StyleGANDiscriminator(256), strict",
          notes=("no checksum is published: the first download's sha256 is recorded and reported",)),
    Asset("cnndetection-blur-jpeg-0.5", "weights", "blur_jpg_prob0.5.pth",
          "CNNDetection ResNet-50 trained on 20-class ProGAN with Blur+JPEG(0.5) (the paper's main model)", _CNN,
          "CC BY-NC-SA 4.0",
          manual="run weights/download_weights.sh of the CNNDetection repository (Dropbox links) and take "
                 "blur_jpg_prob0.5.pth",
          url="https://www.dropbox.com/s/2g2jagq2jn1fd0i/blur_jpg_prob0.5.pth?dl=1",  # weights/download_weights.sh
          load="build('cnndetection') + load_checkpoint: {'model': ResNet-50 state dict}", detector="cnndetection",
          notes=("no checksum is published: the first download's sha256 is recorded and reported",)),
    Asset("cnndetection-blur-jpeg-0.1", "weights", "blur_jpg_prob0.1.pth",
          "CNNDetection ResNet-50 trained on 20-class ProGAN with Blur+JPEG(0.1)", _CNN, "CC BY-NC-SA 4.0",
          manual="run weights/download_weights.sh of the CNNDetection repository (Dropbox links) and take "
                 "blur_jpg_prob0.1.pth",
          url="https://www.dropbox.com/s/h7tkpcgiwuftb6g/blur_jpg_prob0.1.pth?dl=1",  # weights/download_weights.sh
          load="build('cnndetection') + load_checkpoint: {'model': ResNet-50 state dict}", detector="cnndetection",
          notes=("no checksum is published: the first download's sha256 is recorded and reported",)),
    Asset("resnet50-imagenet", "weights", "resnet50-19c8e357.pth",
          "torchvision ImageNet ResNet-50 (the CNNDetection/LGrad initialisation)", "pytorch/vision",
          "BSD-3-Clause", url="https://download.pytorch.org/models/resnet50-19c8e357.pth",
          sha256="19c8e357…",
          load="torchvision resnet50 state dict (fc replaced by Linear(2048,1))",
          notes=("torchvision publishes the first 8 hex digits of the sha256 in the file name",)),
    Asset("forensynths-train", "dataset", "ForenSynths/train",
          "ProGAN training set, 20 LSUN classes, 720k images, 7 parts of ~10.7 GB (CNNDetection)", _CNN,
          "CC BY-NC-SA 4.0", hf_repo=_CNN_HF, hf_revision=_CNN_HF_REVISION, hf_files=tuple(f"progan_train.7z.{i:03d}" for i in range(1, 8)),
          unpack_marker=("airplane", "tvmonitor"),
          manual=f"download progan_train.7z.001…007 from https://huggingface.co/datasets/{_CNN_HF}, extract with "
                 "7z (it holds progan_train.zip), unzip, and move the class folders so that "
                 "train/<class>/{0_real,1_fake} exists (CNNDetection dataset/train/download_trainset.sh)",
          notes=("a 7z archive in 7 parts holding one zip; extraction needs py7zr (pip install py7zr)",)),
    Asset("forensynths-val", "dataset", "ForenSynths/val", "ProGAN validation set, 831 MB (CNNDetection)", _CNN,
          "CC BY-NC-SA 4.0", hf_repo=_CNN_HF, hf_revision=_CNN_HF_REVISION, hf_files=("progan_val.zip",), unpack_marker=("airplane",),
          manual=f"download progan_val.zip from https://huggingface.co/datasets/{_CNN_HF} and unzip so that "
                 "val/<class>/{0_real,1_fake} exists"),
    Asset("forensynths-test", "dataset", "ForenSynths/test",
          "CNNDetection test set: 13 generators (progan, stylegan, biggan, cyclegan, ...), 20.1 GB", _CNN,
          "CC BY-NC-SA 4.0", hf_repo=_CNN_HF, hf_revision=_CNN_HF_REVISION, hf_files=("CNN_synth_testset.zip",),
          unpack_marker=("progan", "whichfaceisreal"),
          manual=f"download CNN_synth_testset.zip from https://huggingface.co/datasets/{_CNN_HF} (or Google Drive "
                 "file 1z_fD3UKgWQyOTZIBbYSaQ-hz4AzUrLC1) and unzip so that test/<generator>/... exists"),
    Asset("univfd-diffusion", "dataset", "UnivFD/diffusion_datasets",
          "UnivFD diffusion/autoregressive test sets (guided, ldm_*, glide_*, dalle: 1k fakes each) with the shared "
          "real pools laion/0_real and imagenet/0_real", _UFD, "see repository",
          gdrive="1FXlGIRh_Ud3cScMgSVDbEWmPDmjcrm1t", unpack_marker=("laion", "guided"),
          manual="download the Google Drive file 1FXlGIRh_Ud3cScMgSVDbEWmPDmjcrm1t (UnivFD README, 'Dataset for "
                 "the diffusion models') and unzip it so that diffusion_datasets/{laion,imagenet}/0_real and "
                 "diffusion_datasets/<set>/1_fake exist",
          notes=("the archive's inner folder name is not documented; dfdlab looks for the folder holding laion/",)),
    Asset("gangen", "dataset", "GANGen-Detection",
          "GANGen-Detection: 9 GANs, NPR Table 2 (native size, no resize, no crop)", _NPR, "see repository",
          gdrive_folder="11E0Knf9J1qlv2UuTnJSOFUjIIi90czSj", unpack_marker=("AttGAN", "STGAN"),
          manual="download the Google Drive folder 11E0Knf9J1qlv2UuTnJSOFUjIIi90czSj (NPR README, Table2 Test) "
                 "and extract each .tar.gz so that GANGen-Detection/<GAN>/{0_real,1_fake} exists"),
    Asset("diffusionforensics", "dataset", "DiffusionForensics",
          "DiffusionForensics (DIRE), NPR Table 3", "ZhendongWang6/DIRE", "see repository",
          gdrive_folder="1tKsOU-6FDdstrrKLPYuZ7RpQwtOSHxUD", unpack_marker=("adm", "vqdiffusion"),
          manual="download NPR's copy, the Google Drive folder 1tKsOU-6FDdstrrKLPYuZ7RpQwtOSHxUD (NPR "
                 "download_dataset.sh; the README's Table3 link is folder 1jZE4hg6SxRvKaPYO_yyMeJN_DOcqGMEf), and "
                 "extract each .tar.gz so that DiffusionForensics/<model>/{0_real,1_fake} exists; DIRE's own "
                 "release is on Baidu / OneDrive (DIRE README)"),
    Asset("aigcdetect", "dataset", "AIGCDetectBenchmark/test",
          "AIGCDetectBenchmark test set: 16 generators (NPR README, native size, batch 1)", "Ekko-zn/AIGCDetectBenchmark",
          "see repository",
          manual="it is a split zip: download test.zip and its parts from the Google Drive folder "
                 "1BUv1MT1cm90QN3WTMHLEr8PXBsKGxKC9 (NPR download_dataset.sh), or from ModelScope "
                 "aemilia/AIGCDetectionBenchmark or Baidu (AIGCDetectBenchmark README), join them with "
                 "`zip -s- test.zip -O test_full.zip` and unzip so that AIGCDetectBenchmark/test/<generator>/ exists"),
    Asset("genimage", "dataset", "GenImage",
          "GenImage: 8 generators, <Generator>/<imagenet_...>/{train,val}/{ai,nature} (NPR README, GenImage)",
          "GenImage-Dataset/GenImage", "see repository",
          manual="download from the Google Drive folder 1jGt10bwTbhEZuGXLyvrCuxOI0cBqQ1FS or Baidu (GenImage "
                 "README; hundreds of GB in multi-part archives) and extract so that "
                 "GenImage/<Generator>/<imagenet_...>/val/{ai,nature} exists, or arrange NPR's "
                 "GenImage/test/<gen>/{0_real,1_fake}"),
]}


#: The file a replica (``dfdlab.data.replica.write_replica``) writes its asset records to.
REHEARSAL_REGISTRY = "registry.json"


def rehearsal_assets() -> dict[str, Asset]:
    """The rehearsal registry: the replica's stand-in for each asset it holds (empty outside a rehearsal).

    Each record points at one replica file or folder **explicitly** (``Asset.location``), with
    that file's own full sha256, so ``path()`` still verifies it; the published records in
    ``ASSETS`` and their checksums are never touched. The description says what the file is
    (``REHEARSAL_LABEL``) and which published asset it stands in for.
    """
    if not rehearsal():
        return {}
    root = rehearsal_root()
    registry = root / REHEARSAL_REGISTRY
    if not registry.is_file():
        raise AssetMissing(f"DFDLAB_REHEARSAL={root} holds no {REHEARSAL_REGISTRY}: write the replica first "
                           f"(`python -m dfdlab.data.replica {root}`)")
    out = {}
    for name, rec in json.loads(registry.read_text())["assets"].items():
        if name not in ASSETS:  # a replica written before an asset was renamed: rewrite it to rehearse that one
            continue
        published = ASSETS[name]
        out[name] = replace(published, location=str(root / rec["path"]), sha256=rec.get("sha256"),
                            size=rec.get("size"), url=None, rehearsal=True,
                            description=f"{REHEARSAL_LABEL}: {rec['note']}; stands in for {published.description}",
                            source=f"dfdlab.data.replica (stands in for {published.source})",
                            manual=f"rewrite the replica: `python -m dfdlab.data.replica {root}`")
    return out


def get(name: str) -> Asset:
    """The asset record; in a rehearsal, the replica's stand-in when the rehearsal registry has one."""
    stand_in = rehearsal_assets().get(name)
    if stand_in is not None:
        return stand_in
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


def fetch_command(name: str) -> str:
    """The one command that fetches an asset (``dfdlab assets --fetch NAME``)."""
    return f"dfdlab assets --fetch {name}"


def _instructions(asset: Asset) -> str:
    where = asset.target
    if asset.url:
        how = (f"run `{fetch_command(asset.name)}`, or download {asset.url} yourself "
               f"and put it at {where}")
    elif asset.hf_repo:
        how = (f"run `{fetch_command(asset.name)}` (Hugging Face dataset {asset.hf_repo}: "
               f"{', '.join(asset.hf_files)}), or by hand: {asset.manual}")
    elif asset.fetchable:
        how = (f"run `{fetch_command(asset.name)}` (public Google Drive, through gdown); if Drive refuses, "
               f"it needs a browser: {asset.manual}; put it at {where}")
    else:
        how = f"it needs a browser: {asset.manual}; put it at {where}"
    return (f"The asset '{asset.name}' ({asset.description}; from {asset.source}, licence {asset.licence}) "
            f"is not at {where}. To get it, {how}. DFDLAB_HOME (weights) and DFDLAB_DATA (datasets) "
            "move these folders.")


def available(name: str) -> bool:
    """Whether the asset is on disk (without hashing it)."""
    return get(name).target.exists()


def path(name: str, fetch: bool = False, verify: bool = True) -> Path:
    """The local path of an asset, verified; fetch it first when ``fetch`` and it can be fetched.

    URL assets download through the resuming loop below, Hugging Face Hub files through
    ``huggingface_hub``, public Google Drive files and folders through ``gdown``; datasets are
    then unpacked into the layout ``dfdlab data check`` expects (:func:`unpack`).
    """
    asset = get(name)
    target = asset.target
    if not target.exists():
        if fetch and asset.url:
            return _download(asset)
        if fetch and asset.fetchable:
            return _fetch_other(asset)
        raise AssetMissing(_instructions(asset))
    if verify and asset.kind == "weights" and target.is_file():
        digest = _verified_digest(target)
        if not _checks(asset, digest):
            raise ChecksumMismatch(
                f"{target} has sha256 {digest}, but the asset '{name}' should have {asset.sha256}. "
                f"Delete the file and fetch it again (`dfdlab assets --fetch {name}`).")
    return target


def missing(names) -> list[str]:
    """One sentence per asset of ``names`` that is not on disk: what it is, where it goes, how to get it.

    A lesson prints these and skips the section (``if missing(...)``), printing no number for it.
    """
    out = []
    for name in names:
        a = get(name)
        if not a.target.exists():
            how = f"`{fetch_command(name)}`" if a.fetchable else f"manual: {a.manual}"
            out.append(f"Skipped: the asset '{name}' ({a.description}) is not at {a.target} ({how}).")
    return out


def fetch(name: str) -> Path:
    """Download (resuming), verify and unpack an asset; for browser-only assets (Baidu, forms) raise the steps."""
    return path(name, fetch=True)


#: Each detector's published checkpoint, as timm's ``pretrained=True`` names one per model:
#: what ``dfdlab eval/predict --weights published`` loads (the paper's main model).
PUBLISHED_WEIGHTS: dict[str, str] = {
    "npr": "npr",  # NPR.pth, Table 1 (4-class ProGAN)
    "univfd": "ufd-fc",  # fc_weights.pth on CLIP ViT-L/14 (the backbone is its own asset)
    "lgrad": "lgrad-4class",  # Table 1 (4-class ProGAN)
    "cnndetection": "cnndetection-blur-jpeg-0.5",  # the paper's Blur+JPEG(0.5) model
}


def weights_for(detector: str, weights: str = "published", fetch: bool = False) -> Path:
    """The verified checkpoint file ``--weights`` names for ``detector``: ``"published"`` or an asset name.

    ``"published"`` is ``PUBLISHED_WEIGHTS[detector]``; an asset name must be a weights asset
    of that detector (``Asset.detector``). A missing file raises :class:`AssetMissing` with one
    paragraph that names the one command fetching it (or the browser steps).
    """
    if weights == "published":
        if detector not in PUBLISHED_WEIGHTS:
            raise KeyError(f"no published weights are registered for detector {detector!r}; registered: "
                           f"{', '.join(f'{d} ({a})' for d, a in PUBLISHED_WEIGHTS.items())}")
        weights = PUBLISHED_WEIGHTS[detector]
    asset = get(weights)
    if asset.kind != "weights":
        raise KeyError(f"the asset {weights!r} is a {asset.kind}, not weights")
    if asset.detector is not None and asset.detector != detector:
        raise KeyError(f"the asset {weights!r} holds {asset.detector} weights, not {detector}; "
                       f"{detector}'s: {', '.join(n for n, a in ASSETS.items() if a.detector == detector) or 'none'}")
    try:
        return path(weights, fetch=fetch)
    except AssetMissing as e:
        raise AssetMissing(f"--weights {weights} for {detector}: {e}") from None


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


# --------------------------------------------------------------------------- the Hub, Google Drive, archives


def _library(module: str, pip_name: str):
    """An optional fetching library, or ``AssetMissing`` naming the one ``pip install`` that adds it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise AssetMissing(f"fetching this asset needs the package {pip_name}: run `pip install {pip_name}` "
                           "(the tested version is pinned in requirements-lock.txt), then the same command again"
                           ) from None


def _staging(asset: Asset) -> Path:
    """Where an asset's archives are downloaded, beside its target: kept until unpacked, so a rerun resumes."""
    return asset.target.parent / f".{asset.target.name}.download"


def _hub_sha256(asset: Asset, index: int, filename: str) -> str | None:
    """The reference sha256 of one Hub file: pinned in the registry, else the LFS sha256 the Hub lists."""
    if index < len(asset.hf_sha256):
        return asset.hf_sha256[index]
    hf = _library("huggingface_hub", "huggingface_hub")
    try:
        info = hf.HfApi().get_paths_info(asset.hf_repo, [filename], repo_type="dataset", revision=asset.hf_revision)
    except (OSError, hf.errors.EntryNotFoundError) as e:
        raise AssetMissing(f"Could not read the checksum of {filename} in the Hugging Face dataset {asset.hf_repo} "
                           f"({type(e).__name__}: {e}). {_instructions(asset)}") from None
    lfs = getattr(info[0], "lfs", None) if info else None
    return getattr(lfs, "sha256", None) or (lfs.get("sha256") if isinstance(lfs, dict) else None)


def _fetch_hub_files(asset: Asset, staging: Path) -> list[Path]:
    """Each of ``asset.hf_files`` from the Hugging Face Hub into ``staging``, sha256-checked.

    ``huggingface_hub.hf_hub_download`` shows a progress bar and resumes an interrupted file
    (its ``.incomplete`` file stays under ``staging/.cache``); the finished file is compared
    with the Hub's LFS sha256 (or the registry's pin) before anything is unpacked.
    """
    hf = _library("huggingface_hub", "huggingface_hub")
    files = []
    for i, name in enumerate(asset.hf_files):
        try:
            local = Path(hf.hf_hub_download(asset.hf_repo, name, repo_type="dataset", revision=asset.hf_revision,
                                            local_dir=staging))
        except (OSError, hf.errors.EntryNotFoundError) as e:
            raise AssetMissing(f"Could not download {name} of '{asset.name}' from the Hugging Face dataset "
                               f"{asset.hf_repo} ({type(e).__name__}: {e}); run the same command again to "
                               f"resume. {_instructions(asset)}") from None
        _check_file(asset, local, _hub_sha256(asset, i, name))
        files.append(local)
    return files


def _check_file(asset: Asset, file: Path, expected: str | None) -> str:
    """sha256 of a downloaded file against ``expected`` (full or ``prefix…suffix``); a mismatch deletes it.

    No ``.sha256.json`` stamp is written beside it: multi-part readers list ``name.7z.*``.
    """
    digest = sha256sum(file)
    if expected is None:
        print(f"{asset.name}: {file.name} has no published checksum; recorded sha256 {digest}")
    elif not _checks(replace(asset, sha256=expected), digest):
        file.unlink()
        raise ChecksumMismatch(f"{file.name} of '{asset.name}' has sha256 {digest}, expected {expected}; the file "
                               "was removed, run the same command again")
    return digest


def _fetch_drive(asset: Asset, staging: Path) -> list[Path]:
    """A public Google Drive file or folder into ``staging`` through ``gdown`` (resuming, with progress bars).

    Drive refuses automatic downloads of popular large files for a while ("too many users");
    the error then prints the browser steps (``asset.manual``).
    """
    gdown = _library("gdown", "gdown")
    staging.mkdir(parents=True, exist_ok=True)
    try:
        if asset.gdrive_folder:
            got = gdown.download_folder(id=asset.gdrive_folder, output=str(staging), resume=True, quiet=False)
        else:
            part = staging / (asset.target.name + (".part" if asset.kind == "weights" else ".archive"))
            got = [gdown.download(id=asset.gdrive, output=str(part), resume=True, quiet=False)]
    except (gdown.exceptions.DownloadError, OSError) as e:
        raise AssetMissing(f"Google Drive did not hand out '{asset.name}' ({type(e).__name__}: "
                           f"{str(e).splitlines()[0] if str(e) else ''}). It needs a browser: {asset.manual}; "
                           f"put it at {asset.target}.") from None
    files = [Path(p) for p in (got or []) if p]
    if not files:
        raise AssetMissing(f"Google Drive returned nothing for '{asset.name}'. It needs a browser: {asset.manual}; "
                           f"put it at {asset.target}.")
    return files


#: Archive names ``unpack`` knows: zip, tar(.gz/.bz2/.xz), 7z and the first part of a multi-part 7z.
_MULTIPART_7Z = re.compile(r"\.7z\.0*1$")


def _is_archive(p: Path) -> bool:
    n = p.name.lower()
    return bool(_MULTIPART_7Z.search(n)) or n.endswith((".7z", ".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2",
                                                        ".tar.xz", ".archive"))


def extract_7z(archive: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Extract a 7z archive, or all parts of a multi-part one (``name.7z.001`` given), inside ``target``.

    py7zr reads the joined volumes through multivolumefile (CNNDetection's
    ``progan_train.7z.001``…``007``); members that would land outside ``target`` are refused.
    """
    py7zr = _library("py7zr", "py7zr")
    archive, target = Path(archive), Path(target).resolve()
    target.mkdir(parents=True, exist_ok=True)
    if _MULTIPART_7Z.search(archive.name):
        mv = _library("multivolumefile", "multivolumefile")
        opened = mv.open(archive.with_name(_MULTIPART_7Z.sub(".7z", archive.name)), mode="rb")
    else:
        opened = open(archive, "rb")
    with opened as f, py7zr.SevenZipFile(f) as z:
        for member in z.getnames():
            _inside(archive, target, member)
        z.extractall(path=target)
    return target


def _inside(archive: Path, target: Path, member: str) -> Path:
    dest = (target / member).resolve()
    if dest != target and target not in dest.parents:
        raise ValueError(f"{archive}: member {member!r} would extract outside {target}; refusing")
    return dest


class UnpackError(AssetMissing):
    """An unpacked archive did not hold the expected folders (the message says which and where they are)."""


def unpack(archives, target: str | os.PathLike, marker: tuple[str, ...] = (), remove_archives: bool = False) -> Path:
    """Extract ``archives`` and move the folder that holds ``marker`` to ``target`` (the layout ``check`` expects).

    zip and tar go through :func:`safe_extract`, 7z (single or multi-part) through
    :func:`extract_7z`; an archive found inside (CNNDetection's 7z holds ``progan_train.zip``)
    is extracted too. The extracted tree is searched (breadth first) for the first folder
    holding every name of ``marker`` (e.g. ``progan`` and ``whichfaceisreal`` for the test set,
    whatever the archive's top folder is called); its entries are moved into ``target``.
    ``remove_archives`` deletes each given archive (all parts of a multi-part 7z) once it is
    extracted, so the training set needs about twice its size on disk, not three times.
    """
    archives = [Path(a) for a in archives]
    target = Path(target)
    work = target.parent / f".{target.name}.unpacked"
    pending = [a for a in archives if _is_archive(a)]
    while pending:
        a = pending.pop(0)
        before = set(work.rglob("*")) if work.exists() else set()
        if _MULTIPART_7Z.search(a.name.lower()) or a.name.lower().endswith(".7z"):
            extract_7z(a, work)
        else:
            safe_extract(a, work)
        pending += sorted(p for p in set(work.rglob("*")) - before if p.is_file() and _is_archive(p))
        if work in a.parents:  # an archive that came out of another one is not data: gone once extracted
            a.unlink()
        elif remove_archives:
            parts = sorted(a.parent.glob(_MULTIPART_7Z.sub(".7z.*", a.name))) if _MULTIPART_7Z.search(a.name) else [a]
            for part in parts:
                part.unlink()
    root = _marker_root(work, marker) if marker else work
    if root is None:
        raise UnpackError(f"the unpacked archive(s) in {work} hold no folder with {', '.join(marker)}; move the "
                           f"folders by hand so that {target}/{{{','.join(marker)}}} exist")
    if not target.exists():  # one rename: a target folder exists only once it is complete
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(root, target)
    for entry in sorted(root.iterdir()) if root.exists() else []:
        dest = target / entry.name
        if dest.exists():
            raise FileExistsError(f"{dest} exists already; remove it or move {entry} by hand")
        shutil.move(str(entry), str(dest))
    shutil.rmtree(work, ignore_errors=True)
    return target



def _marker_root(work: Path, marker: tuple[str, ...], depth: int = 5) -> Path | None:
    level = [work]
    for _ in range(depth):
        for d in level:
            if all((d / m).exists() for m in marker):
                return d
        level = [c for d in level for c in sorted(d.iterdir()) if c.is_dir()]
    return None


def _fetch_other(asset: Asset) -> Path:
    """A Hub or Google Drive asset: download (resuming) into the staging folder, verify, unpack or move in place."""
    staging = _staging(asset)
    files = _fetch_hub_files(asset, staging) if asset.hf_repo else _fetch_drive(asset, staging)
    target = asset.target
    if asset.kind == "weights":
        found = [f for f in files if f.name == target.name] or [f for f in files if f.suffix in (".pth", ".pt", ".part")]
        if not found:
            raise AssetMissing(f"the Google Drive folder of '{asset.name}' holds no {target.name} (got "
                               f"{', '.join(f.name for f in files)}). {_instructions(asset)}")
        if not asset.hf_repo:
            _check_file(asset, found[0], asset.sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(found[0], target)
    else:
        if not asset.hf_repo:  # Drive publishes no checksums: record what was unpacked
            for f in files:
                _check_file(asset, f, None)
        unpack(files, target, asset.unpack_marker, remove_archives=True)
    shutil.rmtree(staging, ignore_errors=True)
    return target


def status() -> list[dict]:
    """One row per asset: name, kind, present, path, and a line of advice when missing."""
    rows = []
    for a in map(get, ASSETS):
        present = a.target.exists()
        advice = "" if present else (fetch_command(a.name) if a.fetchable else f"manual: {a.manual}")
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
