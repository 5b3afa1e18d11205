"""Each paper pipeline equals the torchvision composition its official repository writes.

The reference pipelines below are composed here the way the official files compose them
(CNNDetection / NPR / LGrad ``data/datasets.py``, UnivFD ``validate.py`` and
``data/datasets.py``, LGrad ``img2gad_pytorch/gen_imggrad.py``), on real photos of odd sizes.
"""

from __future__ import annotations

import pickle
import random
from io import BytesIO

import numpy as np
import pytest
import torch

import dfdlab  # noqa: F401  (the torchvision compatibility shim must load first)

# isort: split
import torchvision.transforms as transforms
import torchvision.transforms.functional as TF
from PIL import Image
from scipy.ndimage import gaussian_filter

from dfdlab.data import transforms as T
from dfdlab.detectors.npr import DETECTION_TESTS

IMNET = dict(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
CLIP = dict(mean=[0.48145466, 0.4578275, 0.40821073], std=[0.26862954, 0.26130258, 0.27577711])
ident = transforms.Lambda(lambda img: img)


pytestmark = pytest.mark.usefixtures("one_torch_thread")




# --- the official helpers, as written in CNNDetection data/datasets.py ---------------------------


def official_gaussian_blur(img, sigma):
    gaussian_filter(img[:, :, 0], output=img[:, :, 0], sigma=sigma)
    gaussian_filter(img[:, :, 1], output=img[:, :, 1], sigma=sigma)
    gaussian_filter(img[:, :, 2], output=img[:, :, 2], sigma=sigma)


def official_cv2_jpg(img, q):
    import cv2

    _, enc = cv2.imencode(".jpg", img[:, :, ::-1], [int(cv2.IMWRITE_JPEG_QUALITY), q])
    return cv2.imdecode(enc, 1)[:, :, ::-1]


def official_pil_jpg(img, q):
    out = BytesIO()
    Image.fromarray(img).save(out, format="jpeg", quality=q)
    return np.array(Image.open(out))


def official_data_augment(img, blur_prob, blur_sig, jpg_prob, jpg_method, jpg_qual):
    img = np.array(img)
    if random.random() < blur_prob:
        sig = blur_sig[0] if len(blur_sig) == 1 else random.random() * (blur_sig[1] - blur_sig[0]) + blur_sig[0]
        official_gaussian_blur(img, sig)
    if random.random() < jpg_prob:
        method = jpg_method[0] if len(jpg_method) == 1 else random.choice(jpg_method)
        qual = jpg_qual[0] if len(jpg_qual) == 1 else random.choice(jpg_qual)
        img = {"cv2": official_cv2_jpg, "pil": official_pil_jpg}[method](img, qual)
    return Image.fromarray(img)


def official_custom_resize(img, load_size):
    return TF.resize(img, load_size, interpolation=Image.BILINEAR)


def _same(a: torch.Tensor, b: torch.Tensor, what: str) -> None:
    assert a.shape == b.shape, (what, a.shape, b.shape)
    assert torch.equal(a, b), (what, (a - b).abs().max().item())


def test_test_pipelines_equal_the_official_compositions(photos):
    for name, img in photos.items():
        w, h = img.size
        ufd_native = transforms.Compose([transforms.CenterCrop(224), transforms.ToTensor(), transforms.Normalize(**CLIP)])
        _same(T.univfd_test()(img), ufd_native(img), f"univfd_test {name}")
        ufd_old = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
                                      transforms.Normalize(**CLIP)])
        _same(T.univfd_test(resize=256)(img), ufd_old(img), f"univfd_test(resize) {name}")

        # CNNDetection eval.py: no_resize, data_augment with probability 0 (identity), CenterCrop
        cnn_eval = transforms.Compose([ident, transforms.Lambda(lambda im: official_data_augment(im, 0, [0], 0, ["pil"], [75])),
                                       transforms.CenterCrop(224), ident, transforms.ToTensor(),
                                       transforms.Normalize(**IMNET)])
        _same(T.cnndetection_test()(img), cnn_eval(img), f"cnndetection_test {name}")
        cnn_resized = transforms.Compose([transforms.Lambda(lambda im: official_custom_resize(im, 256)),
                                          transforms.CenterCrop(224), transforms.ToTensor(), transforms.Normalize(**IMNET)])
        _same(T.cnndetection_test(no_resize=False)(img), cnn_resized(img), f"cnndetection_test resized {name}")

        # NPR test.py, every benchmark setting
        settings = {(s["no_resize"], s["no_crop"]): s for s in DETECTION_TESTS.values()}.values()
        for s in list(settings) + [dict(no_resize=False, no_crop=False)]:
            bench = str(s)
            npr = transforms.Compose([ident if s["no_resize"] else transforms.Resize((256, 256)),
                                      ident if s["no_crop"] else transforms.CenterCrop(224), ident,
                                      transforms.ToTensor(), transforms.Normalize(**IMNET)])
            out = T.npr_test(**s)(img)
            _same(out, npr(img), f"npr_test {bench} {name}")
            if not s["no_crop"]:
                assert out.shape[1:] == (224, 224)
            else:
                assert out.shape[1:] == ((h, w) if s["no_resize"] else (256, 256))
        npr_val = transforms.Compose([transforms.Resize((256, 256)), transforms.CenterCrop(224), transforms.ToTensor(),
                                      transforms.Normalize(**IMNET)])
        _same(T.npr_val()(img), npr_val(img), f"npr_val {name}")
        _same(T.get("lgrad", "val")(img), npr_val(img), f"lgrad_val {name}")
        # LGrad eval_test8gan.py: no_resize + no_crop
        lgrad = transforms.Compose([ident, ident, ident, transforms.ToTensor(), transforms.Normalize(**IMNET)])
        _same(T.lgrad_test()(img), lgrad(img), f"lgrad_test {name}")

        # LGrad gen_imggrad.py processimg
        processimg = transforms.Compose([transforms.Resize((256, 256)), transforms.ToTensor(),
                                         transforms.Normalize(mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5])])
        x = T.lgrad_discriminator_input()(img)
        _same(x, processimg(img), f"lgrad_discriminator_input {name}")
        assert x.min() >= -1 and x.max() <= 1
        # TF run_img2grad: PIL default filter (BICUBIC on Pillow >= 7), uint8 * 2/255 - 1
        tf_x = torch.from_numpy(np.asarray(img.resize((256, 256)), dtype=np.float32).transpose(2, 0, 1) * (2 / 255) - 1)
        torch.testing.assert_close(T.lgrad_discriminator_input(filter="pil-default")(img), tf_x, rtol=0, atol=1e-6)
        assert not torch.allclose(T.lgrad_discriminator_input(filter="pil-default")(img), x, atol=1e-3)

    # sizes are parameters (the quick profile), and the odd photo really is odd
    assert photos["astronaut_odd"].size == (511, 301)
    assert T.npr_test(load_size=64, crop_size=56, no_crop=False)(photos["astronaut_odd"]).shape == (3, 56, 56)
    assert T.univfd_test(crop_size=32)(photos["astronaut_odd"]).shape == (3, 32, 32)
    # UnivFD's native crop zero-pads small images (torchvision CenterCrop)
    small = photos["chelsea_odd"].resize((101, 99))
    padded = T.univfd_test()(small)
    assert padded.shape == (3, 224, 224)
    torch.testing.assert_close(padded[:, 0, 0], -torch.tensor(CLIP["mean"]) / torch.tensor(CLIP["std"]))


def test_train_pipelines_equal_the_official_compositions_under_the_same_seeds(photos):
    img = photos["chelsea_odd"].crop((0, 0, 183, 131))  # odd, small: resized up to 256 first
    opts = dict(blur_prob=0.5, blur_sig=[0.0, 3.0], jpg_prob=0.5, jpg_method=["cv2", "pil"], jpg_qual=list(range(30, 101)))
    val_opts = dict(blur_prob=0.5, blur_sig=[1.5], jpg_prob=0.5, jpg_method=["pil"], jpg_qual=[65])
    assert T.val_augment_options() == dict(blur_prob=0.5, blur_sig=(1.5,), jpg_prob=0.5, jpg_method=("pil",), jpg_qual=[65])
    cases = {
        "cnndetection_train": (T.cnndetection_train(), transforms.Compose([
            transforms.Lambda(lambda im: official_custom_resize(im, 256)),
            transforms.Lambda(lambda im: official_data_augment(im, **opts)),
            transforms.RandomCrop(224), transforms.RandomHorizontalFlip(), transforms.ToTensor(),
            transforms.Normalize(**IMNET)])),
        "cnndetection_val": (T.cnndetection_val(), transforms.Compose([
            transforms.Lambda(lambda im: official_custom_resize(im, 256)),
            transforms.Lambda(lambda im: official_data_augment(im, **val_opts)),
            transforms.CenterCrop(224), ident, transforms.ToTensor(), transforms.Normalize(**IMNET)])),
        "univfd_train": (T.univfd_train(), transforms.Compose([
            transforms.Lambda(lambda im: official_custom_resize(im, 256)),
            transforms.Lambda(lambda im: official_data_augment(im, **opts)),
            transforms.RandomCrop(224), transforms.RandomHorizontalFlip(), transforms.ToTensor(),
            transforms.Normalize(**CLIP)])),
        "npr_train": (T.npr_train(), transforms.Compose([
            transforms.Resize((256, 256)), transforms.RandomCrop(224), transforms.RandomHorizontalFlip(),
            transforms.ToTensor(), transforms.Normalize(**IMNET)])),
        "lgrad_train": (T.get("lgrad", train=True), transforms.Compose([
            transforms.Resize((256, 256)), transforms.RandomCrop(224), transforms.RandomHorizontalFlip(),
            transforms.ToTensor(), transforms.Normalize(**IMNET)])),
    }
    for name, (ours, official) in cases.items():
        outs = []
        for seed in range(4):
            random.seed(seed)
            torch.manual_seed(seed)
            a = ours(img)
            random.seed(seed)
            torch.manual_seed(seed)
            b = official(img)
            _same(a, b, f"{name} seed {seed}")
            outs.append(a)
        # the pipeline is random at all (so equality above is not trivial)
        assert any(not torch.equal(outs[0], o) for o in outs[1:]), name
    # all pipelines are picklable (DataLoader workers under spawn)
    for builders in T.PIPELINES.values():
        for build in builders:
            pickle.loads(pickle.dumps(build()))
    pickle.loads(pickle.dumps(T.lgrad_discriminator_input(filter="pil-default")))


def test_data_augment_blurs_in_place_on_uint8_and_draws_jpeg_with_python_random(photos):
    img = photos["astronaut_odd"].crop((0, 0, 161, 97))
    arr = np.asarray(img)

    # blur: scipy per channel with output= the uint8 array itself
    expected = arr.copy()
    for c in range(3):
        gaussian_filter(expected[:, :, c], output=expected[:, :, c], sigma=2.0)
    blurred = np.asarray(T.data_augment(img, blur_prob=1.0, blur_sig=(2.0,), jpg_prob=0.0))
    np.testing.assert_array_equal(blurred, expected)
    # ... which is not a float blur rounded once (the uint8 intermediate matters)
    float_blur = np.stack([gaussian_filter(arr[:, :, c].astype(np.float64), sigma=2.0) for c in range(3)], -1)
    assert (np.rint(float_blur).astype(np.uint8) != expected).mean() > 0.05
    # sigma drawn from random() * (s1 - s0) + s0
    random.seed(3)
    random.random()
    sigma = random.random() * 3.0
    expected = arr.copy()
    T.gaussian_blur_uint8_(expected, sigma)
    random.seed(3)
    np.testing.assert_array_equal(np.asarray(T.data_augment(img, 1.0, (0.0, 3.0), 0.0)), expected)

    # JPEG: method and quality drawn with python random (two probability draws, then choice, choice)
    methods = set()
    for seed in range(8):
        random.seed(seed)
        random.random()  # blur draw
        assert random.random() < 1.0
        method = random.choice(["cv2", "pil"])
        quality = random.choice(range(30, 101))
        expected = {"cv2": official_cv2_jpg, "pil": official_pil_jpg}[method](arr.copy(), quality)
        random.seed(seed)
        got = np.asarray(T.data_augment(img, blur_prob=0.0, jpg_prob=1.0))
        np.testing.assert_array_equal(got, expected)
        methods.add(method)
        # the quality draw matters: one quality step off gives other pixels
        assert not np.array_equal(got, official_pil_jpg(arr.copy(), quality + 1 if quality < 100 else 99))
    assert methods == {"cv2", "pil"}
    # NB: with the pinned OpenCV and Pillow (both libjpeg-turbo 3.x, 4:2:0, same tables) the cv2
    # and PIL round trips give identical pixels here, so the method draw shows only in the RNG stream.
    # blur happens before JPEG
    expected = arr.copy()
    T.gaussian_blur_uint8_(expected, 1.5)
    expected = official_pil_jpg(expected, 65)
    np.testing.assert_array_equal(np.asarray(T.data_augment(img, 1.0, (1.5,), 1.0, ("pil",), (65,))), expected)
    # a random.Random instance works too and leaves the global stream alone
    state = random.getstate()
    T.data_augment(img, 1.0, (0.0, 3.0), 1.0, rng=random.Random(0))
    assert random.getstate() == state


def test_robustness_perturbations_match_univfd_validate(photos):
    img = photos["coffee"].crop((0, 0, 201, 133))
    # validate.py png2jpg
    out = BytesIO()
    img.save(out, format="jpeg", quality=40)
    np.testing.assert_array_equal(np.asarray(T.jpeg(img, 40)), np.array(Image.open(out)))
    np.testing.assert_array_equal(np.asarray(T.jpeg(img, 40, method="cv2")), official_cv2_jpg(np.array(img), 40))
    # validate.py gaussian_blur
    arr = np.array(img)
    official_gaussian_blur(arr, 3)
    np.testing.assert_array_equal(np.asarray(T.gaussian_blur(img, 3)), arr)
    np.testing.assert_array_equal(np.asarray(T.gaussian_blur(img, 0)), np.asarray(img))
    # univfd_test's robustness knobs act before the crop, blur first
    x = T.univfd_test(gaussian_sigma=2, jpeg_quality=50)(img)
    ref = transforms.Compose([transforms.CenterCrop(224), transforms.ToTensor(), transforms.Normalize(**CLIP)])
    _same(x, ref(T.jpeg(T.gaussian_blur(img, 2), 50)), "univfd_test robustness")
    with pytest.raises(ValueError, match="method"):
        T.jpeg(img, 50, method="webp")
    with pytest.raises(KeyError, match="unknown pipeline"):
        T.get("nope")


def _seeded_equal(ours, official, img, what, seeds=range(6)) -> list[torch.Tensor]:
    """``ours(img) == official(img)`` with Python's ``random`` and torch seeded alike, for several seeds."""
    outs = []
    for seed in seeds:
        random.seed(seed)
        torch.manual_seed(seed)
        a = ours(img)
        random.seed(seed)
        torch.manual_seed(seed)
        _same(a, official(img), f"{what} seed {seed}")
        outs.append(a)
    return outs


def test_detector_val_transforms_equal_the_official_validation_compositions(photos, tmp_path):
    """``detector.transform("val")``: the validation during training of each official ``train.py``.

    CNNDetection / UnivFD ``get_val_opt``: ``no_resize=False`` (shorter side to 256),
    ``data_augment`` at the train probabilities with sigma 1.5 and PIL JPEG q 65, CenterCrop(224),
    no flip. NPR / LGrad ``get_val_opt``: Resize((256, 256)), CenterCrop(224); for LGrad the crop
    acts on the gradient PNG, i.e. inside ``forward`` under ``evaluating("val")``.
    """
    import json

    import open_clip

    from dfdlab import recipes
    from dfdlab.detectors import build

    img = photos["chelsea_odd"].crop((0, 0, 301, 233))
    val_opts = dict(blur_prob=0.5, blur_sig=[1.5], jpg_prob=0.5, jpg_method=["pil"], jpg_qual=[65])

    def official_cnn_val(stats):
        return transforms.Compose([
            transforms.Lambda(lambda im: official_custom_resize(im, 256)),
            transforms.Lambda(lambda im: official_data_augment(im, **val_opts)),
            transforms.CenterCrop(224), ident, transforms.ToTensor(), transforms.Normalize(**stats)])

    cnn = build("cnndetection")
    outs = _seeded_equal(cnn.transform("val", augment=recipes.recipe("cnndetection").augmentation()),
                         official_cnn_val(IMNET), img, "cnndetection val")
    assert any(not torch.equal(outs[0], o) for o in outs[1:])  # blur/JPEG at p 0.5: random, as the official
    _seeded_equal(cnn.transform("val"), official_cnn_val(IMNET), img, "cnndetection val (detector default)")

    # UnivFD with CLIP statistics: a tiny open_clip ViT stands in for ViT-L/14 (same pipeline)
    cfg = {"embed_dim": 16, "vision_cfg": {"image_size": 32, "layers": 1, "width": 64, "patch_size": 8},
           "text_cfg": {"context_length": 8, "vocab_size": 49408, "width": 32, "heads": 1, "layers": 1}}
    (tmp_path / "dfdlab-val-vit.json").write_text(json.dumps(cfg))
    open_clip.add_model_config(tmp_path / "dfdlab-val-vit.json")
    ufd = build("univfd", backbone="dfdlab-val-vit", clip_weights="random")
    outs = _seeded_equal(ufd.transform("val", augment=recipes.recipe("univfd").augmentation()),
                         official_cnn_val(CLIP), img, "univfd val")
    assert any(not torch.equal(outs[0], o) for o in outs[1:])

    npr_val = transforms.Compose([transforms.Resize((256, 256)), transforms.CenterCrop(224), ident,
                                  transforms.ToTensor(), transforms.Normalize(**IMNET)])
    _seeded_equal(build("npr").transform("val", augment=recipes.recipe("npr").augmentation()), npr_val, img,
                  "npr val")

    # LGrad: the transform feeds D (gen_imggrad.py); the gradient PNG is centre-cropped in forward
    D = torch.nn.Sequential(torch.nn.Conv2d(3, 1, 4, 4), torch.nn.Flatten(), torch.nn.LazyLinear(1))
    D(torch.zeros(1, 3, 256, 256))
    lgrad = build("lgrad", discriminator=D, image_size=256).eval()
    processimg = transforms.Compose([transforms.Resize((256, 256)), transforms.ToTensor(),
                                     transforms.Normalize(mean=[0.5] * 3, std=[0.5] * 3)])
    _same(lgrad.transform("val")(img), processimg(img), "lgrad val: D input")
    g = torch.randint(0, 256, (2, 3, 256, 256), dtype=torch.uint8)  # two gradient PNGs
    pngs = [Image.fromarray(gi.permute(1, 2, 0).numpy()) for gi in g]
    with lgrad.evaluating("val"):
        got = lgrad.classifier_input(g)
    torch.testing.assert_close(got, torch.stack([npr_val(p) for p in pngs]), rtol=0, atol=1e-6)
    full = transforms.Compose([transforms.ToTensor(), transforms.Normalize(**IMNET)])  # eval_test8gan.py
    torch.testing.assert_close(lgrad.classifier_input(g), torch.stack([full(p) for p in pngs]), rtol=0, atol=1e-6)
    assert lgrad.describe("val")["crop"].startswith("CenterCrop(224)")
