"""Each paper's exact train / validation / test preprocessing, as named torchvision pipelines.

Every pipeline below is a ``torchvision.transforms.Compose`` (v1) built in the same order as
the official repository builds it, with the sizes as parameters (the quick profile shrinks
``load_size`` / ``crop_size``; the defaults are the papers'). The official files: CNNDetection
``data/datasets.py`` + ``train.py: get_val_opt`` + ``eval.py``; UnivFD ``data/datasets.py`` +
``validate.py``; NPR ``data/datasets.py`` + ``test.py``; LGrad ``img2gad_pytorch/gen_imggrad.py`` +
``CNNDetection/eval_test8gan.py``:

==========================  =====================================================================
pipeline                    official composition (input: PIL RGB image)
==========================  =====================================================================
``cnndetection_train``      custom_resize (shorter side, bilinear) -> data_augment (Blur+JPEG)
                            -> RandomCrop -> RandomHorizontalFlip -> ToTensor -> ImageNet Normalize
``cnndetection_val``        custom_resize -> data_augment (sigma fixed, PIL JPEG at mid quality)
                            -> CenterCrop -> ToTensor -> Normalize
``cnndetection_test``       (``no_resize=True``) -> CenterCrop (unless ``no_crop``) -> ToTensor -> Normalize
``univfd_train``/``_val``   as CNNDetection, CLIP Normalize, Blur+JPEG(0.5) by default
``univfd_test``             native CenterCrop(224) (zero-pads small images) -> ToTensor -> CLIP Normalize
``npr_train``               Resize((256,256)) -> RandomCrop -> RandomHorizontalFlip -> ToTensor -> Normalize
                            (no data_augment: it is commented out in the official code)
``npr_val``                 Resize((256,256)) -> CenterCrop -> ToTensor -> Normalize
``npr_test``                Resize((256,256)) unless ``no_resize`` -> CenterCrop unless ``no_crop``
                            -> ToTensor -> Normalize (the settings per benchmark live with the
                            detector: ``dfdlab.detectors.npr.DETECTION_TESTS``)
``lgrad_discriminator_input``  Resize((256,256)) bilinear -> ToTensor -> Normalize(0.5, 0.5): [-1, 1]
``lgrad_train/val/test``    the NPR blob on gradient PNGs; test uses no_resize + no_crop
==========================  =====================================================================

The random parts (``data_augment``, ``RandomCrop``, ``RandomHorizontalFlip``) draw from
Python's ``random`` (data_augment, as the official code) and torch's RNG (torchvision), so
``dfdlab.seed_everything`` makes them reproducible. All callables here are picklable classes
(no lambdas), so DataLoader workers work under every start method.

Robustness perturbations for evaluation grids (PIL -> PIL): ``jpeg(img, quality, method)``
and ``gaussian_blur(img, sigma)``.
"""

from __future__ import annotations

import functools
import math
import random
import re
from io import BytesIO
from typing import Callable, Sequence

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter
from torchvision import transforms as T
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as TF

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: OpenAI CLIP statistics, as in UnivFD ``validate.py`` / ``data/datasets.py`` (``MEAN['clip']``).
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
#: the StyleGAN discriminator's input range [-1, 1] (LGrad ``gen_imggrad.py``).
HALF_MEAN = (0.5, 0.5, 0.5)
HALF_STD = (0.5, 0.5, 0.5)

STATS = {"imagenet": (IMAGENET_MEAN, IMAGENET_STD), "clip": (CLIP_MEAN, CLIP_STD), "half": (HALF_MEAN, HALF_STD)}

#: ``rz_dict`` of the CNNDetection options (``--rz_interp``).
INTERPOLATIONS = {
    "bilinear": InterpolationMode.BILINEAR,
    "bicubic": InterpolationMode.BICUBIC,
    "lanczos": InterpolationMode.LANCZOS,
    "nearest": InterpolationMode.NEAREST,
}

#: The paper setting "Blur+JPEG(0.5)" of CNNDetection, also UnivFD's ``base_options`` defaults.
BLUR_JPEG_05 = dict(blur_prob=0.5, blur_sig=(0.0, 3.0), jpg_prob=0.5, jpg_method=("cv2", "pil"), jpg_qual=(30, 100))



# --------------------------------------------------------------------------------------
# Python-``random`` samplers exactly as CNNDetection ``data/datasets.py`` draws them
# --------------------------------------------------------------------------------------


def sample_continuous(s: Sequence[float], rng=random) -> float:
    """CNNDetection ``sample_continuous``: one value is returned as is (no draw); two are a range."""
    if len(s) == 1:
        return s[0]
    if len(s) == 2:
        return rng.random() * (s[1] - s[0]) + s[0]
    raise ValueError(f"a sigma range needs 1 or 2 values, got {list(s)}")


def sample_discrete(s: Sequence, rng=random):
    """CNNDetection ``sample_discrete``: one value is returned as is (no draw), else ``random.choice``."""
    if len(s) == 1:
        return s[0]
    return rng.choice(s)


def quality_choices(jpg_qual) -> list[int]:
    """The JPEG quality list as the CNNDetection option parser builds it: ``30,100`` -> 30..100."""
    if isinstance(jpg_qual, int):
        return [jpg_qual]
    q = [int(v) for v in jpg_qual]
    if len(q) == 2:
        return list(range(q[0], q[1] + 1))
    return q


# --------------------------------------------------------------------------------------
# Blur and JPEG on uint8 arrays (CNNDetection data/datasets.py)
# --------------------------------------------------------------------------------------


def gaussian_blur_uint8_(arr: np.ndarray, sigma: float) -> np.ndarray:
    """Blur an HxWx3 uint8 array **in place**, channel by channel (CNNDetection ``gaussian_blur``).

    ``scipy.ndimage.gaussian_filter(arr[..., c], output=arr[..., c], sigma=sigma)`` with scipy's
    defaults (mode 'reflect', truncate 4). Because the output is the uint8 array itself, the
    intermediate per-axis result is stored (truncated) as uint8, exactly as in the official code.
    """
    for c in range(3):
        gaussian_filter(arr[:, :, c], output=arr[:, :, c], sigma=sigma)
    return arr


def cv2_jpeg(arr: np.ndarray, quality: int) -> np.ndarray:
    """CNNDetection ``cv2_jpg``: RGB->BGR, ``cv2.imencode('.jpg', q)``, ``imdecode(.., 1)``, BGR->RGB."""
    import cv2

    ok, enc = cv2.imencode(".jpg", np.ascontiguousarray(arr[:, :, ::-1]), [int(cv2.IMWRITE_JPEG_QUALITY), int(quality)])
    if not ok:
        raise ValueError(f"OpenCV could not JPEG-encode an array of shape {arr.shape}")
    return cv2.imdecode(enc, 1)[:, :, ::-1]


def pil_jpeg(arr: np.ndarray, quality: int) -> np.ndarray:
    """CNNDetection ``pil_jpg``: ``Image.save(format='jpeg', quality=q)`` into memory and decode again."""
    buf = BytesIO()
    Image.fromarray(arr).save(buf, format="jpeg", quality=int(quality))
    buf.seek(0)
    with Image.open(buf) as im:
        return np.array(im)


JPEG_METHODS = {"cv2": cv2_jpeg, "pil": pil_jpeg}


def data_augment(
    img: Image.Image,
    blur_prob: float = 0.5,
    blur_sig: Sequence[float] = (0.0, 3.0),
    jpg_prob: float = 0.5,
    jpg_method: Sequence[str] = ("cv2", "pil"),
    jpg_qual=(30, 100),
    rng=random,
) -> Image.Image:
    """CNNDetection's Blur+JPEG augmentation (``data/datasets.py: data_augment``), blur before JPEG.

    ``if random() < blur_prob``: sigma = ``sample_continuous(blur_sig)``, in-place uint8 blur;
    then ``if random() < jpg_prob``: method = ``choice(jpg_method)``, quality =
    ``choice(range(q0, q1 + 1))``, JPEG round trip with cv2 or PIL. Both probability draws
    happen on every call, as in the official code. ``rng`` is Python's ``random`` module
    (the official choice) or a ``random.Random`` instance. A grayscale array is repeated to
    three channels first (as UnivFD's copy does).
    """
    arr = np.array(img)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if rng.random() < blur_prob:
        gaussian_blur_uint8_(arr, sample_continuous(blur_sig, rng))
    if rng.random() < jpg_prob:
        method = sample_discrete(list(jpg_method), rng)
        quality = sample_discrete(quality_choices(jpg_qual), rng)
        if method not in JPEG_METHODS:
            raise ValueError(f"jpg_method must be among {sorted(JPEG_METHODS)}, got {method!r}")
        arr = JPEG_METHODS[method](arr, quality)
    return Image.fromarray(arr)


class DataAugment:
    """Picklable ``data_augment`` with fixed options (a step of the train/val pipelines)."""

    def __init__(self, blur_prob=0.5, blur_sig=(0.0, 3.0), jpg_prob=0.5, jpg_method=("cv2", "pil"), jpg_qual=(30, 100)):
        self.blur_prob, self.blur_sig, self.jpg_prob = blur_prob, tuple(blur_sig), jpg_prob
        self.jpg_method, self.jpg_qual = tuple(jpg_method), jpg_qual

    def __call__(self, img: Image.Image) -> Image.Image:
        return data_augment(img, self.blur_prob, self.blur_sig, self.jpg_prob, self.jpg_method, self.jpg_qual)

    def __repr__(self) -> str:
        return (f"DataAugment(blur_prob={self.blur_prob}, blur_sig={self.blur_sig}, jpg_prob={self.jpg_prob}, "
                f"jpg_method={self.jpg_method}, jpg_qual={self.jpg_qual})")


def val_augment_options(blur_prob=0.5, blur_sig=(0.0, 3.0), jpg_prob=0.5, jpg_method=("cv2", "pil"), jpg_qual=(30, 100)) -> dict:
    """CNNDetection ``train.py: get_val_opt``: same probabilities, mid sigma, PIL only, mid quality.

    The official comment says it "assumes prob 0 or 1"; with 0.5 the validation set is
    still randomly blurred/compressed, which we keep.
    """
    sig = tuple(blur_sig)
    if len(sig) == 2:
        sig = ((sig[0] + sig[1]) / 2,)
    q = quality_choices(jpg_qual)
    if len(q) != 1:
        q = [int((q[0] + q[-1]) / 2)]
    return dict(blur_prob=blur_prob, blur_sig=sig, jpg_prob=jpg_prob, jpg_method=("pil",), jpg_qual=q)


# --------------------------------------------------------------------------------------
# Resizes
# --------------------------------------------------------------------------------------


class CustomResize:
    """CNNDetection / UnivFD ``custom_resize``: ``TF.resize(img, load_size)``, an **int** size.

    The shorter side goes to ``load_size`` and the aspect ratio is kept (PIL bilinear by
    default; ``interp`` may list several names, one is drawn with ``random.choice`` as
    ``--rz_interp`` does).
    """

    def __init__(self, load_size: int = 256, interp: str | Sequence[str] = "bilinear"):
        self.load_size = int(load_size)
        self.interp = (interp,) if isinstance(interp, str) else tuple(interp)
        unknown = [i for i in self.interp if i not in INTERPOLATIONS]
        if unknown:
            raise ValueError(f"interpolation must be among {sorted(INTERPOLATIONS)}, got {unknown}")

    def __call__(self, img: Image.Image) -> Image.Image:
        return TF.resize(img, self.load_size, interpolation=INTERPOLATIONS[sample_discrete(self.interp)])

    def __repr__(self) -> str:
        return f"CustomResize(load_size={self.load_size}, interp={self.interp})"


def custom_resize(img: Image.Image, load_size: int = 256, interp: str = "bilinear") -> Image.Image:
    """Function form of :class:`CustomResize` (shorter side to ``load_size``)."""
    return CustomResize(load_size, interp)(img)


def square_resize(load_size: int = 256) -> T.Resize:
    """NPR / LGrad ``transforms.Resize((loadSize, loadSize))``: square, bilinear, aspect ratio lost."""
    return T.Resize((int(load_size), int(load_size)))


class PILDefaultResize:
    """``PIL.Image.resize((w, h))`` with Pillow's default filter (LGrad's TF ``run_img2grad`` path).

    Pillow >= 7 defaults to BICUBIC (older Pillow used NEAREST).
    """

    def __init__(self, size: int = 256):
        self.size = int(size)

    def __call__(self, img: Image.Image) -> Image.Image:
        return img.resize((self.size, self.size))

    def __repr__(self) -> str:
        return f"PILDefaultResize(size={self.size})"


class Uint8ToMinusOneOne:
    """LGrad TF path (``img2gad/run_img2grad``): ``x = uint8 * (2 / 255) - 1`` in CHW float32."""

    def __call__(self, img: Image.Image):
        import torch

        arr = np.asarray(img, dtype=np.uint8)
        x = torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1))).to(torch.float32)
        return x * (2.0 / 255.0) - 1.0

    def __repr__(self) -> str:
        return "Uint8ToMinusOneOne()"


class TranslateDuplicate:
    """NPR README (GenImage): tile an image smaller than ``size`` until both sides reach it, instead of a resize.

    When the shorter side is below ``size``, the image is pasted side by side on a canvas of
    ``width * ceil(size / width)`` by ``height * ceil(size / height)``, starting at the top-left
    corner; otherwise it is returned unchanged. The pixels stay native (no interpolation), so
    the up-sampling traces NPR looks for are kept.
    """

    def __init__(self, size: int = 224):
        self.size = int(size)

    def __call__(self, img: Image.Image) -> Image.Image:
        w, h = img.size
        if min(w, h) >= self.size:
            return img
        canvas = Image.new("RGB", (w * math.ceil(self.size / w), h * math.ceil(self.size / h)))
        for left in range(0, canvas.width, w):
            for top in range(0, canvas.height, h):
                canvas.paste(img, (left, top))
        return canvas

    def __repr__(self) -> str:
        return f"TranslateDuplicate({self.size})"


class Identity:
    """The official ``transforms.Lambda(lambda img: img)`` placeholder, picklable."""

    def __call__(self, img):
        return img

    def __repr__(self) -> str:
        return "Identity()"


def _normalize(stats: str) -> T.Normalize:
    if stats not in STATS:
        raise ValueError(f"stats must be one of {sorted(STATS)}, got {stats!r}")
    mean, std = STATS[stats]
    return T.Normalize(mean=list(mean), std=list(std))


# --------------------------------------------------------------------------------------
# CNNDetection (Wang et al. 2020) and UnivFD (Ojha et al. 2023): data/datasets.py
# --------------------------------------------------------------------------------------


def cnndetection_train(
    load_size: int = 256,
    crop_size: int = 224,
    blur_prob: float = 0.5,
    blur_sig=(0.0, 3.0),
    jpg_prob: float = 0.5,
    jpg_method=("cv2", "pil"),
    jpg_qual=(30, 100),
    no_flip: bool = False,
    interp="bilinear",
    stats: str = "imagenet",
) -> T.Compose:
    """CNNDetection ``binary_dataset`` (train): custom_resize -> data_augment -> RandomCrop -> flip -> ToTensor -> Normalize.

    Defaults are the paper's "Blur+JPEG(0.5)" model (``blur_jpg_prob0.5.pth``); the repo's own
    option defaults are probability 0 (pass ``blur_prob=0, jpg_prob=0`` for "no aug").
    """
    return T.Compose([
        CustomResize(load_size, interp),
        DataAugment(blur_prob, blur_sig, jpg_prob, jpg_method, jpg_qual),
        T.RandomCrop(crop_size),
        Identity() if no_flip else T.RandomHorizontalFlip(),
        T.ToTensor(),
        _normalize(stats),
    ])


def cnndetection_val(
    load_size: int = 256,
    crop_size: int = 224,
    blur_prob: float = 0.5,
    blur_sig=(0.0, 3.0),
    jpg_prob: float = 0.5,
    jpg_method=("cv2", "pil"),
    jpg_qual=(30, 100),
    interp="bilinear",
    stats: str = "imagenet",
) -> T.Compose:
    """CNNDetection validation during training (``get_val_opt``): resize, fixed-strength augment, CenterCrop."""
    return T.Compose([
        CustomResize(load_size, interp),
        DataAugment(**val_augment_options(blur_prob, blur_sig, jpg_prob, jpg_method, jpg_qual)),
        T.CenterCrop(crop_size),
        T.ToTensor(),
        _normalize(stats),
    ])


def cnndetection_test(
    load_size: int = 256,
    crop_size: int = 224,
    no_resize: bool = True,
    no_crop: bool = False,
    interp="bilinear",
    stats: str = "imagenet",
) -> T.Compose:
    """CNNDetection ``eval.py`` (``no_resize=True``; CenterCrop 224 unless ``no_crop``).

    The official test composition keeps a ``data_augment`` step with probability 0: it is the
    identity on the pixels (it only consumes two ``random()`` draws), so it is left out here.
    """
    return T.Compose([
        Identity() if no_resize else CustomResize(load_size, interp),
        Identity() if no_crop else T.CenterCrop(crop_size),
        T.ToTensor(),
        _normalize(stats),
    ])


def univfd_train(load_size: int = 256, crop_size: int = 224, stats: str = "clip", **augment) -> T.Compose:
    """UnivFD ``data/datasets.py`` (train): the CNNDetection train pipeline with CLIP statistics.

    ``base_options`` defaults: Blur+JPEG(0.5) (blur_prob 0.5, sigma 0-3, jpg_prob 0.5, cv2/pil,
    q 30-100). ``stats="imagenet"`` for the ``Imagenet:*`` architectures.
    """
    return cnndetection_train(load_size, crop_size, stats=stats, **augment)


def univfd_val(load_size: int = 256, crop_size: int = 224, stats: str = "clip", **augment) -> T.Compose:
    """UnivFD validation during training: as :func:`cnndetection_val` with CLIP statistics."""
    return cnndetection_val(load_size, crop_size, stats=stats, **augment)


def univfd_test(
    crop_size: int = 224,
    resize: int | None = None,
    stats: str = "clip",
    gaussian_sigma: float | None = None,
    jpeg_quality: int | None = None,
) -> T.Compose:
    """UnivFD ``validate.py`` (HEAD): CenterCrop(224) on the **native** image -> ToTensor -> CLIP Normalize.

    No resize: torchvision zero-pads images smaller than the crop. ``resize=256`` gives the
    variant before commit 3bf7228 (2023-08-18), which put ``Resize(256)`` first. The
    robustness knobs ``--gaussian_sigma`` then ``--jpeg_quality`` act before the crop.
    """
    steps: list[Callable] = []
    if gaussian_sigma is not None:
        steps.append(functools.partial(gaussian_blur, sigma=gaussian_sigma))
    if jpeg_quality is not None:
        steps.append(functools.partial(jpeg, quality=jpeg_quality, method="pil"))
    if resize is not None:
        steps.append(T.Resize(int(resize)))
    steps += [T.CenterCrop(crop_size), T.ToTensor(), _normalize(stats)]
    return T.Compose(steps)


# --------------------------------------------------------------------------------------
# NPR (Tan et al. 2024) and the LGrad classifier: the same data/datasets.py blob
# --------------------------------------------------------------------------------------


def _optional_augment(augment: dict | None, validation: bool = False) -> list[Callable]:
    """``[DataAugment]`` when ``augment`` asks for blur or JPEG, else ``[]`` (NPR/LGrad train without it)."""
    if not augment or not (augment.get("blur_prob", 0) or augment.get("jpg_prob", 0)):
        return []
    return [DataAugment(**(val_augment_options(**augment) if validation else augment))]


def npr_train(load_size: int = 256, crop_size: int = 224, no_flip: bool = False,
              augment: dict | None = None) -> T.Compose:
    """NPR ``data/datasets.py`` (train): Resize((256,256)) -> RandomCrop -> flip -> ToTensor -> ImageNet Normalize.

    ``data_augment`` is commented out in the official code: no blur, no JPEG (the authors
    confirm it in NPR-DeepfakeDetection issue #9). ``augment`` (``data_augment`` options)
    puts it back where CNNDetection has it, after the resize, for experiments.
    """
    return T.Compose([
        square_resize(load_size),
        *_optional_augment(augment),
        T.RandomCrop(crop_size),
        Identity() if no_flip else T.RandomHorizontalFlip(),
        T.ToTensor(),
        _normalize("imagenet"),
    ])


def npr_val(load_size: int = 256, crop_size: int = 224, augment: dict | None = None) -> T.Compose:
    """NPR validation during training (``train.py``: ``val_opt``): Resize((256,256)) -> CenterCrop -> ToTensor -> Normalize.

    With ``augment``, CNNDetection's validation-strength ``data_augment`` after the resize.
    """
    return T.Compose([
        square_resize(load_size),
        *_optional_augment(augment, validation=True),
        T.CenterCrop(crop_size),
        T.ToTensor(),
        _normalize("imagenet"),
    ])


def npr_test(load_size: int = 256, crop_size: int = 224, no_resize: bool = False, no_crop: bool = True,
             translate_duplicate: bool = False) -> T.Compose:
    """NPR ``test.py``: Resize((256,256)) unless ``no_resize``, CenterCrop unless ``no_crop``.

    Defaults are the ForenSynths (Table 1) setting; ``dfdlab.detectors.npr.DETECTION_TESTS``
    holds the others, e.g. ``npr_test(**DETECTION_TESTS["gangen"])``. With ``no_resize`` odd sizes reach the
    model, which needs even H and W (the README trim lives in the detector). ``translate_duplicate``
    replaces the resize by :class:`TranslateDuplicate` to ``crop_size`` (NPR README, GenImage).
    """
    return T.Compose([
        TranslateDuplicate(crop_size) if translate_duplicate else Identity() if no_resize else square_resize(load_size),
        Identity() if no_crop else T.CenterCrop(crop_size),
        T.ToTensor(),
        _normalize("imagenet"),
    ])


def lgrad_discriminator_input(size: int = 256, filter: str = "bilinear") -> T.Compose:
    """The StyleGAN discriminator's input for LGrad's img2grad, x in [-1, 1].

    ``filter="bilinear"`` (PyTorch ``gen_imggrad.py``): Resize((256,256)) -> ToTensor ->
    Normalize(0.5, 0.5). ``filter="pil-default"`` (TF ``run_img2grad``): ``img.resize((256,256))``
    with Pillow's default filter, then ``uint8 * 2/255 - 1``.
    """
    if filter == "bilinear":
        return T.Compose([square_resize(size), T.ToTensor(), _normalize("half")])
    if filter == "pil-default":
        return T.Compose([PILDefaultResize(size), Uint8ToMinusOneOne()])
    raise ValueError(f"filter must be 'bilinear' (PyTorch path) or 'pil-default' (TF path), got {filter!r}")


def lgrad_train(load_size: int = 256, crop_size: int = 224, no_flip: bool = False,
                augment: dict | None = None) -> T.Compose:
    """LGrad classifier training on gradient PNGs: the NPR blob (Resize((256,256)), no-op on 256² maps)."""
    return npr_train(load_size, crop_size, no_flip, augment)


def lgrad_val(load_size: int = 256, crop_size: int = 224, augment: dict | None = None) -> T.Compose:
    """LGrad validation during training: Resize((256,256)) -> CenterCrop 224."""
    return npr_val(load_size, crop_size, augment)


def lgrad_test(load_size: int = 256, crop_size: int = 224, no_resize: bool = True, no_crop: bool = True) -> T.Compose:
    """LGrad ``eval_test8gan.py``: ``no_resize`` and ``no_crop``, the full 256×256 gradient image."""
    return npr_test(load_size, crop_size, no_resize, no_crop)


# --------------------------------------------------------------------------------------
# Robustness perturbations (PIL -> PIL)
# --------------------------------------------------------------------------------------


def jpeg(img: Image.Image, quality: int, method: str = "pil") -> Image.Image:
    """JPEG round trip at ``quality`` with PIL (UnivFD ``png2jpg``) or OpenCV (CNNDetection ``cv2_jpg``)."""
    if method not in JPEG_METHODS:
        raise ValueError(f"method must be among {sorted(JPEG_METHODS)}, got {method!r}")
    return Image.fromarray(JPEG_METHODS[method](np.array(img.convert("RGB")), quality))


def gaussian_blur(img: Image.Image, sigma: float) -> Image.Image:
    """Gaussian blur as UnivFD ``validate.py: gaussian_blur`` (scipy per channel, in place on uint8)."""
    arr = np.array(img.convert("RGB"))
    if sigma > 0:
        gaussian_blur_uint8_(arr, sigma)
    return Image.fromarray(arr)


def transform_repr(transform: Callable) -> str:
    """A pipeline as one line of text: its ``repr`` without memory addresses or line breaks."""
    return re.sub(r" at 0x[0-9a-fA-F]+", "", re.sub(r"\s+", " ", repr(transform))).strip()


# --------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------

#: method -> (train builder, validation builder, test builder)
PIPELINES: dict[str, tuple[Callable[..., T.Compose], Callable[..., T.Compose], Callable[..., T.Compose]]] = {
    "cnndetection": (cnndetection_train, cnndetection_val, cnndetection_test),
    "univfd": (univfd_train, univfd_val, univfd_test),
    "npr": (npr_train, npr_val, npr_test),
    "lgrad": (lgrad_train, lgrad_val, lgrad_test),
}
#: the detectors' other names (``dfdlab.detectors`` accepts them too)
ALIASES = {"cnnspot": "cnndetection", "ufd": "univfd"}


def get(name: str, split: str | bool = "test", *, train: bool | None = None, **kw) -> T.Compose:
    """A paper pipeline by name: ``get("npr", "train", load_size=64, crop_size=56)``.

    ``split`` is "train", "val" or "test"; ``train=True/False`` (or ``split=True/False``)
    means "train"/"test". ``"cnnspot"`` and ``"ufd"`` name CNNDetection and UnivFD.
    """
    name = ALIASES.get(name, name)
    if name not in PIPELINES:
        raise KeyError(f"unknown pipeline {name!r}; known: {sorted(PIPELINES)}")
    if train is not None:
        split = bool(train)
    if isinstance(split, bool):
        split = "train" if split else "test"
    index = {"train": 0, "val": 1, "test": 2}.get(split)
    if index is None:
        raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")
    return PIPELINES[name][index](**kw)


__all__ = [
    "IMAGENET_MEAN", "IMAGENET_STD", "CLIP_MEAN", "CLIP_STD", "STATS", "BLUR_JPEG_05",
    "data_augment", "DataAugment", "val_augment_options", "gaussian_blur_uint8_", "cv2_jpeg", "pil_jpeg",
    "sample_continuous", "sample_discrete", "quality_choices",
    "CustomResize", "custom_resize", "square_resize", "PILDefaultResize", "Uint8ToMinusOneOne", "Identity",
    "TranslateDuplicate",
    "cnndetection_train", "cnndetection_val", "cnndetection_test", "univfd_train", "univfd_val", "univfd_test",
    "npr_train", "npr_val", "npr_test", "lgrad_discriminator_input", "lgrad_train", "lgrad_val", "lgrad_test",
    "jpeg", "gaussian_blur", "transform_repr", "PIPELINES", "ALIASES", "get",
]
