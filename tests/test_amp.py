"""Mixed-precision evaluation (``predict(amp=...)``, ``dfdlab eval --amp``) keeps the fp32 decisions.

On a subset of the mini benchmark (the cached quick build), for the quick-sized NPR, LGrad
(stand-in DCGAN D) and CNNDetection models: max |p_amp - p_fp32| and the number of
decisions (p > 0.5) that flip. The models are seeded random initialisations whose final
linear layer is rescaled so that the fp32 logits of the subset have median 0 and standard
deviation 2, as a trained model's spread: half the decisions each way and many near the
threshold, so the comparison is not vacuous.
"""

from __future__ import annotations

import dfdlab  # noqa: F401  (compat shim before torchvision)

# isort: split
import numpy as np
import pytest
import torch

from dfdlab import evaluate
from dfdlab.data import ForenSynths
from dfdlab.detectors import build
from dfdlab.zoo import QUICK_ZOO

pytestmark = pytest.mark.usefixtures("one_torch_thread")

#: images per class in the subset
N_PER_CLASS = 12
#: Largest |p_amp - p_fp32| allowed (bf16 keeps 8 bits of mantissa). LGrad's quick classifier
#: (the EfficientNet-Lite0 stand-in) runs on gradient images whose features vary little, so the
#: rescaled head amplifies the bf16 error more there. Measured on 12 + 12 images of the mini
#: benchmark v2's ae_transposed_f4 (photo content; v1's grey DCGAN textures gave NPR 6e-3):
#: NPR 2.2e-2 (its residual of detailed photos is larger), LGrad 1.0e-1 (the zoo's D and 2x map; 1 flip of 24,
#: 7 within |dp| of 0.5), CNNDetection 7e-3.
MAX_DP = {"npr": 0.05, "lgrad": 0.2, "cnndetection": 0.03}


def _quick_model(name: str):
    kw = dict(QUICK_ZOO[name]["build"])
    torch.manual_seed(0)
    if name == "lgrad":  # the quick zoo's transformation model (the shipped 64 px StyleGAN-architecture D)
        from dfdlab.data.mini_generators import load_stylegan_d

        kw["discriminator"] = load_stylegan_d()
    return build(name, **kw).eval()


def _spread_logits(model, ds) -> None:
    """Rescale the last ``Linear(*, 1)`` so the fp32 logits on ``ds`` have median 0 and std 2."""
    fc = [m for m in model.modules() if isinstance(m, torch.nn.Linear) and m.out_features == 1][-1]
    p = evaluate.predict(model, ds, batch_size=8, device="cpu", progress=False).y_score
    logit = np.log(p / (1 - p))
    k = 2.0 / max(float(logit.std()), 1e-6)
    with torch.no_grad():
        fc.weight.mul_(k)
        fc.bias.sub_(float(np.median(logit))).mul_(k)


def _subset(mini_root, model):
    ds = ForenSynths(mini_root / "test" / "ae_transposed_f4", transform=model.transform(train=False))
    ys = np.array([y for _, y in ds.samples])
    idx = [int(i) for c in (0, 1) for i in np.flatnonzero(ys == c)[:N_PER_CLASS]]
    return torch.utils.data.Subset(ds, idx)


def test_amp_dtype_per_device():
    assert evaluate.amp_dtype(False, "cpu") is None and evaluate.amp_dtype("fp32", "cpu") is None
    assert evaluate.amp_dtype(True, "cpu") is torch.bfloat16
    assert evaluate.amp_dtype(True, "cuda") is torch.float16
    assert evaluate.amp_dtype("bf16", "cuda") is torch.bfloat16
    assert evaluate.precision_name(True, "cpu") == "bf16 autocast" and evaluate.precision_name(False, "cpu") == "fp32"
    with pytest.raises(ValueError, match="amp="):
        evaluate.amp_dtype("int8", "cpu")


@pytest.mark.parametrize("name", ["npr", "lgrad", "cnndetection"])
def test_amp_keeps_probabilities_and_decisions(name, mini_root):
    model = _quick_model(name)
    ds = _subset(mini_root, model)
    _spread_logits(model, ds)
    fp32 = evaluate.predict(model, ds, batch_size=8, device="cpu", progress=False)
    amp = evaluate.predict(model, ds, batch_size=8, device="cpu", progress=False, amp=True)
    assert list(amp.y_true) == list(fp32.y_true) and len(fp32.y_score) == 2 * N_PER_CLASS
    # Not vacuous: the fp32 scores differ across images, and amp really ran in 16 bits.
    assert np.ptp(fp32.y_score) > 0.5 and 0 < int((fp32.y_score > 0.5).sum()) < len(fp32.y_score), fp32.y_score
    dp = np.abs(amp.y_score - fp32.y_score)
    assert dp.max() > 0, "amp=True gave bit-identical scores: autocast did not run"
    flips = int(((amp.y_score > 0.5) != (fp32.y_score > 0.5)).sum())
    # A flip needs a fp32 score within max |dp| of the threshold.
    near = int((np.abs(fp32.y_score - 0.5) < dp.max()).sum())
    print(f"{name}: max |dp| {dp.max():.2e}, flipped decisions {flips} of {len(dp)} ({near} within |dp| of 0.5)")
    assert dp.max() < MAX_DP[name]
    assert flips <= near and flips <= 1


def test_lgrad_gradient_stays_float32_under_autocast():
    from dfdlab.detectors.lgrad import gradient_map

    m = _quick_model("lgrad")
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    ref = gradient_map(m.discriminator, x, quantize=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = gradient_map(m.discriminator, x.contiguous(memory_format=torch.channels_last), quantize=True)
    assert torch.equal(got, ref)


def test_evaluate_records_precision(mini_root):
    model = _quick_model("npr")
    ds = _subset(mini_root, model)
    t = evaluate.evaluate(model, {"ae_transposed_f4": ds}, batch_size=8, device="cpu", progress=False, amp=True)
    assert t.attrs["precision"] == "bf16 autocast"
    t = evaluate.evaluate(model, {"ae_transposed_f4": ds}, batch_size=8, device="cpu", progress=False)
    assert t.attrs["precision"] == "fp32"


def test_cli_eval_amp_runs_and_says_so(mini_root, tmp_path, capsys):
    import shutil

    from dfdlab.cli import main

    for cls in ("0_real", "1_fake"):
        dst = tmp_path / "test" / "ae_transposed_f4" / cls
        dst.mkdir(parents=True)
        for f in sorted((mini_root / "test" / "ae_transposed_f4" / cls).iterdir())[:3]:
            shutil.copy(f, dst / f.name)
    csv = tmp_path / "t.csv"
    code = main(["eval", "--detector", "npr", "--allow-untrained", "--set", "load_size=64", "--set", "crop_size=56",
                 "--data", str(tmp_path / "test"), "--device", "cpu", "--amp", "--quiet", "--csv", str(csv)])
    out = capsys.readouterr().out
    assert code == 0 and "bf16 autocast" in out
    assert "bf16 autocast" in csv.read_text()
