# %% [markdown]
# # 05 · NPR: the traces up-sampling leaves in neighbouring pixels (Tan et al., CVPR 2024)
#
# **术语表 · Glossary**: one name per term for the whole course: [术语表.md](术语表.md).
#
# Tan, Zhao, Wei, Gu, Liu, Wei. *Rethinking the Up-Sampling Operations in CNN-based Generative
# Network for Generalizable Deepfake Detection.* CVPR 2024. Official code:
# `chuangchuangtan/NPR-DeepfakeDetection`.
#
# **简要介绍**：几乎所有生成网络（GAN、扩散模型的解码器）都要经过上采样，把小特征图放大成图像。
# 上采样让每个 2×2 小块里的像素彼此"相关"——它们来自同一个低分辨率值。NPR（Neighboring Pixel
# Relationships，邻近像素关系）把图像减去它自己"最近邻缩小再放大"的版本：
# `NPR = x − up2(down2(x))`，也就是每个像素减去所在 2×2 小块左上角的像素。真实照片的这个残差
# 就是普通的高频细节；生成图像的残差带着以 2 为周期的规律。作者只用一个很小的 ResNet
# （ResNet-50 截到 layer2）在 NPR 上从头训练，只在 ProGAN 上训练就能泛化到其它生成器。
# 本节：逐行对照官方代码实现 NPR；用 4×4 的数字例子说明上采样为什么会让小块内像素相关；
# 看真实图像和迷你基准各个生成器的 NPR 图；用快速模型库（quick zoo）里的 NPR——它只见过训练生成器
# `ae_nearest_f4`（最近邻 + 卷积上采样，和 ProGAN 一样）——在全部测试生成器上测试；
# 和"同一网络直接输入 RGB"的消融实验对比；测 JPEG/模糊鲁棒性；full 配置下用官方权重复现论文表 1。
#
# **Summary.** Generators up-sample, and up-sampling ties together the pixels of each small
# block. NPR subtracts from an image its own nearest-neighbour down/up-sampled copy (each
# pixel minus the top-left pixel of its 2×2 block) and trains a small ResNet from scratch on
# that residual. We implement it line by line against the official code, work a 4×4 example
# with numbers, look at NPR maps of real and fake images, take the quick zoo's NPR (trained on
# the mini benchmark's one training generator, `ae_nearest_f4`: nearest-neighbour + convolution
# up-sampling, as ProGAN) and test it on every test generator, compare it with the zoo's same
# network on plain RGB, measure the robustness to JPEG and blur, and (full profile) reproduce
# Table 1 with the published weights.
#
# **You will learn**: the NPR operator and why it is zero at every (even, even) pixel · why
# up-sampling correlates the pixels of a 2×2 block · the official network and its quirks
# (the `2/3` factor, the odd-size trim, key names) · how far a detector trained on one
# generator generalises to generators with other up-sampling layers, and which ones it
# should not be expected to catch · why blur and JPEG break NPR, and how to tell a robustness effect
# from the spread of training seeds.
#
# **Runtime**: CPU (quick): 2 min 37 s the first time at one thread (it trains the
# zoo's NPR and its RGB ablation; lessons 07, 08 and 09 then load the NPR checkpoint from the cache),
# 1 min 26 s once they are cached, most of it the robustness grid of section 8 (17,600
# perturbed images), which reruns every time (measured in course order, README's lesson table). GPU (full), per step: Table 1 with the published
# `NPR.pth` (section 1b, about 62k test images at 256×256) about 5–10 minutes, most of it decoding
# and resizing images; the NPR maps (sections 4–5) seconds; the cross-generator table and the
# robustness grid with the published model (sections 6, 8) about 10 and 20 minutes. Retraining
# with the paper's recipe is off by default (`TRAIN_PAPER_RECIPE = False` in the settings cell): the
# NPR and RGB trainings of 50 epochs over 4-class ProGAN (144k images) take several hours each on
# one GPU. These GPU figures are estimates from the image counts, not measurements; `make rehearse`
# runs every full-profile step on a miniature replica in seconds.

# %% [markdown]
# ## 1 · Settings
#
# **中文要点**
# - 快速配置不再自己训练 NPR：用快速模型库（`dfdlab.zoo.QUICK_ZOO["npr"]`）的 NPR 和它的 RGB 消融 `npr_rgb`，第 07、09 课用的是同一个缓存的检查点。
# - 下面快速配置里的 `load_size`/`crop_size`/`epochs`/`batch_size` 只是把模型库的设置列出来（64、随机裁 56×56、4 轮、batch 32），第 6 节 assert 二者一致。
# - 完整配置用论文的尺寸、发布的数据和权重；只有 `TRAIN_PAPER_RECIPE = True` 时才按论文配方训练 50 轮。
#
# The quick profile trains nothing of its own: it takes the quick model zoo's NPR
# (`dfdlab.zoo.train_quick("npr")`, entry `QUICK_ZOO["npr"]`) and its RGB ablation
# (`train_quick("npr_rgb")`), at the entries' own seed. Lessons 07 and 09 load the same cached
# checkpoint, so whichever lesson runs first trains it and the others read it from
# `DFDLAB_HOME/zoo`. The quick column below only restates the zoo's settings (`load_size` 64, so
# the Resize is a no-op and the up-sampling traces stay intact; random 56×56 training crops; 4
# epochs; batch 32); section 6 asserts that the zoo trained with them. Each test generator is
# scored on a subset at the full 64×64 (no crop, as Table 1). The full profile uses the paper's
# sizes and the published data and weights; it trains (50 epochs, the paper's recipe) only when
# `TRAIN_PAPER_RECIPE = True`.

# %%
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

import dfdlab
from dfdlab import experiments, zoo
from dfdlab.data import ForenSynths, generator_sets
from dfdlab.data import transforms as T
from dfdlab.detectors import build, load_checkpoint
from dfdlab.detectors.npr import npr_residual, official_fingerprint
from dfdlab.evaluate import evaluate, paper_style, paper_table, wide

T0 = time.time()
# Full profile only: True retrains NPR and the RGB ablation with the paper's recipe (hours on a GPU);
# False (default) evaluates the published NPR.pth and skips what only a training run can give.
TRAIN_PAPER_RECIPE = False
cfg = dfdlab.settings(
    # quick: load/crop/epochs/batch are the quick zoo's NPR entry (zoo.QUICK_ZOO["npr"]), asserted in section 6
    quick={"data": "mini-ForenSynths", "train_classes": ["photos"], "load_size": 64, "crop_size": 56,
           "epochs": 4, "batch_size": 32, "n_test": 50, "n_robust": 100,
           "table1_generators": None},
    full={"data": "ForenSynths", "train_classes": ["car", "cat", "chair", "horse"], "load_size": 256,
          "crop_size": 224, "epochs": 50, "batch_size": 32, "n_test": None, "n_robust": 500,
          "table1_generators": None},
    rehearsal={"n_test": 1, "n_robust": 1, "train_classes": ["horse"], "table1_generators": ["progan", "biggan"]},
)
TRAIN_HERE = cfg.profile == "quick" or TRAIN_PAPER_RECIPE  # quick: the zoo's models; full: trains only when asked

# %%
# Where the data lives: the mini benchmark is built here (cached), ForenSynths comes from DFDLAB_DATA.
TABLE1 = ["progan", "stylegan", "stylegan2", "biggan", "cyclegan", "stargan", "gaugan", "deepfake"]
if cfg.data == "mini-ForenSynths":
    mini = dfdlab.data.build_mini()
    train_root, val_root, test_root = mini / "train", mini / "val", mini / "test"
    test_names = None  # every generator of the mini benchmark
    manifest = dfdlab.data.read_manifest(mini)
    family = manifest[manifest["label"] == 1].groupby("generator")["family"].first().to_dict()  # the fakes' family
    train_generator = manifest.loc[manifest["split"] == "train", "generator"].iloc[0]
else:
    needed = ["forensynths-test"] + (["forensynths-train", "forensynths-val"] if TRAIN_HERE else [])
    for line in dfdlab.hub.missing(needed):
        print(line)
    have = {n: dfdlab.hub.available(n) for n in ("forensynths-train", "forensynths-val", "forensynths-test")}
    train_root, val_root, test_root = (dfdlab.hub.get(n).target if have[n] else None
                                       for n in ("forensynths-train", "forensynths-val", "forensynths-test"))
    test_names = cfg.table1_generators or TABLE1
    family, train_generator = {g: g for g in test_names}, "progan"
HAVE_TEST = test_root is not None  # the full profile without the test set skips every section that reads it
BENCH = "mini benchmark" if cfg.data == "mini-ForenSynths" else "ForenSynths"  # named in every table's caption
print("train:", train_root, cfg.train_classes, "| trained generator:", train_generator)

# %% [markdown]
# ## 1b · Full profile first: Table 1 with the published weights
#
# **中文要点**
# - 完整配置先用发布的 `NPR.pth` 按表 1 的协议（Resize 256×256、不裁剪、8 个 GAN 的全部图片）打分，与论文数字并排。
# - Issue #4 指出发布的权重在 BigGAN/GauGAN/Deepfake 上与论文不完全一致，预期会有差别。
#
# `NPR.pth` (the paper's model) on the ForenSynths test set with the Table-1 protocol
# (`dfdlab.suites`: Resize (256, 256), no crop, every image of the 8 GANs, as NPR's `test.py`),
# next to the published numbers. Issue #4 reports that the released weights do not reproduce
# BigGAN/GauGAN/Deepfake exactly (e.g. BigGAN 84.4/87.8 vs 87.5/94.5), so expect differences there.
# The quick profile has no published weights and skips this step.

# %%
from dfdlab import suites
from dfdlab.evaluate import compare_with_paper

published_model = None
if cfg.profile != "full":
    print("Skipped: this step runs in the full profile (DFDLAB_PROFILE=full) with the published NPR.pth and the "
          "ForenSynths test set.")
elif not dfdlab.hub.missing(["npr", "forensynths-test"]):
    published_model = load_checkpoint(build("npr"), dfdlab.hub.path("npr")).eval().to(dfdlab.device())
    table1 = suites.run_suite(published_model, "forensynths", dfdlab.data_root(), checkpoint=dfdlab.hub.path("npr"),
                              generators=cfg.table1_generators, progress=False)
    print(suites.suite_note(table1))
    print(dfdlab.config.labelled("NPR.pth beside NPR Table 1 (AP/acc in %)"))
    display(compare_with_paper(table1.assign(generator=table1["paper_key"]), "npr_table1", method="NPR"))
else:
    for line in dfdlab.hub.missing(["npr", "forensynths-test"]):
        print(line)

# %% [markdown]
# ## 2 · 核心创新点 (the key ideas)
#
# **中文要点**
# - 不看某一个生成器的"指纹"，而看所有生成器共有的**上采样**：上采样让每个 2×2 块里的像素来自同一个低分辨率值。
# - NPR = x − up₂(down₂(x))：每个像素减去所在 2×2 块左上角的像素，去掉图像内容，只留下邻近像素之间的关系。
# - 一个很小的网络（ResNet-50 截到 layer2，140 万参数）从头训练，只用 4 类 ProGAN 训练就能泛化。
#
# 1. **Look at the up-sampling, not at one generator's fingerprint.** GANs and diffusion decoders all
#    enlarge feature maps with up-sampling layers (transposed convolution, nearest/bilinear + conv,
#    pixel shuffle). Up-sampling computes the pixels of each small output block from the *same*
#    low-resolution value, so neighbouring pixels are tied together in a way camera images are not.
# 2. **NPR = x − up₂(down₂(x))**: with nearest neighbour, `down₂` keeps the top-left pixel of each
#    2×2 block and `up₂` copies it back, so NPR is each pixel minus its block's top-left pixel: the
#    *relation* between neighbours, with the image content (low frequencies) removed.
# 3. **A small network, trained from scratch**: ResNet-50 cut after `layer2` (1.4 M parameters)
#    with a 3×3 stride-2 stem; no ImageNet weights (NPR is not a natural image).
# 4. **Generalisation from one source**: trained on 4 ProGAN classes only, it scores 92.5 % mean
#    accuracy / 96.1 % mean AP on 8 ForenSynths generators (Table 1, published numbers below).
#
# What the paper reports (published numbers, not measured here):

# %%
published = paper_table("npr_table1")
print(published.attrs["title"])
published.pivot(index="method", columns="label", values="ap").loc[:, list(published["label"].unique())]

# %% [markdown]
# ## 3 · 网络框架 (architecture) and the official code
#
# **中文要点**
# - 官方前向：NPR → ×2/3 → 3×3 步长 2 的 conv1 → layer1 → layer2 → 平均池化 → fc1（512→1）；没有 layer3/layer4，也没有 7×7 stem。
# - 三个必须照抄的细节：残差在 ImageNet 归一化之后计算；conv1 之前乘 2/3（论文公式里没有）；奇数尺寸要先去掉最后一行/列。
#
# The official forward (`networks/resnet.py` of chuangchuangtan/NPR-DeepfakeDetection), read
# top to bottom: `NPR = x − interpolate(x, 0.5)`; `conv1(NPR * 2/3)` → BN → ReLU → max-pool →
# `layer1` (3 Bottlenecks, 256 ch) → `layer2` (4 Bottlenecks, 512 ch) → average pool → `fc1`
# (512 → 1). There is no `layer3`/`layer4` and no 7×7 stem. Three details a reimplementation
# must copy: the residual is taken on the **ImageNet-normalised** tensor; it is multiplied by
# **2/3** before `conv1` (the paper's equations have no such factor; the official weights need it);
# odd heights/widths crash the official forward, the README's patch drops the last row/column.

# %%
from dfdlab.viz.diagram import draw_pipeline

draw_pipeline([
    ("image x\nImageNet-normalised", "input"),
    ("NPR = x − up₂(down₂(x))\n(nearest, 2×2)", "fixed"),
    ("× 2/3", "fixed"),
    ("conv1 3×3 s2\nBN·ReLU·maxpool", "trained"),
    ("layer1\n3 Bottlenecks", "trained"),
    ("layer2\n4 Bottlenecks", "trained"),
    ("avgpool\nfc1 512→1", "trained"),
    ("logit\nσ > 0.5 = fake", "output"),
], title="NPR detector (official networks/resnet.py)")
plt.show()

net = build("npr")
entries, elements = official_fingerprint(net.state_dict())
print(f"state dict: {entries} entries, {elements:,} elements (official checkpoints: 146, 1,447,897)")
print("first keys:", list(net.state_dict())[:3], "... last:", list(net.state_dict())[-2:])
assert (entries, elements) == (146, 1_447_897)

# %% [markdown]
# ### Paper-to-code map
#
# **中文要点**
# - 论文和官方代码的每一步都对应 dfdlab 里一个有名字的函数；"code only" 表示只在官方代码里、论文里没有的细节。
#
# | paper / official code | dfdlab |
# |---|---|
# | NPR = x − up(down(x)), nearest, factor 2 (paper Sec. 3; `resnet.py` `forward`) | `dfdlab.detectors.npr.npr_residual` |
# | `ResNet.interpolate(img, 0.5)`: two `F.interpolate(..., 'nearest', recompute_scale_factor=True)` | `npr.nearest_down_up` |
# | relations inside an l×l window w.r.t. one reference pixel (paper; unused `unfoldSize/unfoldIndex` in the code) | `npr.npr_residual_window(x, window, anchor)` |
# | README patch for odd sizes (drop last row/column) | `npr.trim_to_even` |
# | `conv1(NPR*2.0/3.0)` (code only) | `NPR(residual_scale=2/3)`; `paper_scale=True` gives 1.0 |
# | ResNet-50 truncated after `layer2`, `fc1` 512→1 | `dfdlab.detectors.build("npr")` (`NPR`) |
# | kaiming-normal (fan_out) convs, BN 1/0, default `fc1` | `NPR.reset_parameters_official` |
# | train: Resize((256,256)) → RandomCrop 224 → flip, no blur/JPEG (`data/datasets.py`) | `dfdlab.data.transforms.npr_train` |
# | test: `no_resize`/`no_crop` per table (`test.py`) | `transforms.npr_test`; `build("npr", no_resize=..., no_crop=...)` |
# | Adam 2e-4, batch 32, ×0.9 every 10 epochs, 50 epochs, seed 100 (README, `train.py`) | `dfdlab.train.recipe("npr")` |
# | sigmoid > 0.5, sklearn AP, unweighted mean (`validate.py`) | `dfdlab.evaluate.metrics` / `evaluate` |
# | `NPR.pth` = `{'model': {'module.*'}}`, `model_epoch_last_3090.pth` = raw | `dfdlab.detectors.load_checkpoint` |

# %% [markdown]
# ## 4 · Why up-sampling correlates the pixels of a 2×2 block (a worked 4×4 example)
#
# **中文要点**
# - 用一个 2×2 的小特征图，分别做最近邻和转置卷积上采样到 4×4，再算 NPR——每个数都能手算验证。
# - 最近邻：NPR 恰好为 0；转置卷积：每个块里 NPR 都是块左上角像素的固定倍数，周期为 2。
# - 相机照片每个像素独立采样，没有这种固定比例；assert 检查整张照片与"上采样后的照片"的相关性差别。
#
# Take a 2×2 low-resolution feature map `z` and up-sample it to 4×4 in two ways a generator
# does: nearest neighbour, and a stride-2 transposed convolution with a 2×2 kernel `w`
# (each input value is "stamped" into one output block: `out[2i+a, 2j+b] = w[a,b] · z[i,j]`).
# Then compute NPR. Every number below can be checked by hand.

# %%
z = torch.tensor([[10., 20.], [30., 40.]])
w = torch.tensor([[1.0, 0.5], [0.25, 0.75]])
as4d = lambda t: t[None, None]

up_nearest = F.interpolate(as4d(z), scale_factor=2, mode="nearest")[0, 0]
up_transposed = F.conv_transpose2d(as4d(z), as4d(w), stride=2)[0, 0]
for name, img in [("nearest x2", up_nearest), ("transposed conv k2 s2", up_transposed)]:
    print(f"{name}:\n{img.numpy()}\nNPR:\n{npr_residual(as4d(img))[0, 0].numpy()}\n")

# %% [markdown]
# - **Nearest**: all four pixels of a block are one low-resolution value, so NPR is exactly 0.
# - **Transposed convolution**: in block (i, j) the pixels are `w[a,b]·z[i,j]`, so
#   NPR at offset (a, b) is `(w[a,b] − w[0,0]) · z[i,j]`: −0.5·z at (0, 1), −0.75·z at (1, 0),
#   −0.25·z at (1, 1). In *every* block NPR is the same fixed multiple of the block's top-left
#   pixel: the four pixels are perfectly correlated, and the pattern repeats with period 2.
# - **A camera image** samples the scene independently at every pixel: NPR is just the local
#   gradient of the content, with no fixed ratio and no period 2. Below: the ratio
#   NPR(0,1) / top-left pixel for every block of a real photo crop, and the correlation between
#   a block's top-left pixel and its NPR over a whole photo vs the same photo re-up-sampled.

# %%
from skimage import data as skdata


def anchor_corr(img):
    # correlation, over all 2x2 blocks, between the top-left pixel and NPR at offset (0,1)
    r = npr_residual(as4d(img))[0, 0]
    return float(np.corrcoef(img[0::2, 0::2].flatten(), r[0::2, 1::2].flatten())[0, 1])

photo = torch.tensor(skdata.camera()[200:204, 240:244], dtype=torch.float32)  # a real 4x4 crop
print("real photo, 4x4 crop (uint8 values):\n", photo.numpy().astype(int))
print("its NPR:\n", npr_residual(as4d(photo))[0, 0].numpy().astype(int))
ratio = lambda img: (npr_residual(as4d(img))[0, 0][0::2, 1::2] / img[0::2, 0::2]).flatten()
print("NPR(0,1) / top-left, per block: photo", ratio(photo).numpy().round(3), "| transposed", ratio(up_transposed).numpy())

# Over a whole 128x128 photo vs the same photo down-sampled and re-up-sampled by the transposed conv:
big = torch.tensor(skdata.camera()[:128, :128], dtype=torch.float32)
big_up = F.conv_transpose2d(as4d(big[::2, ::2]), as4d(w), stride=2)[0, 0]
print(f"corr(top-left pixel, NPR(0,1)) over 4096 blocks: photo {anchor_corr(big):+.2f}, "
      f"up-sampled {anchor_corr(big_up):+.2f}")
assert torch.equal(npr_residual(as4d(up_nearest)), torch.zeros(1, 1, 4, 4))
assert torch.allclose(ratio(up_transposed), torch.full((4,), -0.5))
assert abs(anchor_corr(big)) < 0.5 and anchor_corr(big_up) < -0.99

# %% [markdown]
# Real generators follow the up-sampling by more convolutions, so the relation is blurred,
# but the 2-periodic structure survives. A simple way to see it in real data: NPR energy
# measured on the 2×2 grid ("aligned") versus on the grid shifted by one pixel. For a camera
# image both are alike (ratio ≈ 1); for an up-sampled image the grid where the blocks were
# stamped is special.
#
# ## 5 · NPR maps: real crops vs each generator of the mini benchmark
#
# **中文要点**
# - 上排是真实裁块和每个生成器的一张假图，下排是同一尺度下的 |NPR| 图。
# - 表格比较 2×2 网格对齐与错开一个像素时的 NPR 能量：真实图像比值约为 1，上采样过的图像偏离 1。

# %%
if HAVE_TEST:
    test_sets_pil = generator_sets(test_root)  # PIL images, for looking at them
    if test_names is not None:
        test_sets_pil = {g: s for g, s in test_sets_pil.items() if g in test_names}
    to_tensor = T.npr_test(load_size=cfg.load_size, crop_size=cfg.crop_size, no_resize=False, no_crop=True)

    def first(ds, label, k=1):
        # the first k readable files of a label (published folders hold a few corrupt files: named, skipped)
        out = []
        for p, y in ds.samples:
            if y != label or len(out) == k:
                continue
            try:
                dfdlab.data.load_rgb(p)
            except dfdlab.data.ImageError as err:
                print(f"skipped: {err}")
                continue
            out.append(p)
        return out

    gens = list(test_sets_pil)
    paths = [first(test_sets_pil[gens[0]], 0)[0]] + [first(test_sets_pil[g], 1)[0] for g in gens]
    names = ["real"] + gens
    xs = torch.stack([to_tensor(dfdlab.data.load_rgb(p)) for p in paths])
    maps = npr_residual(xs).abs().mean(1)  # |NPR| averaged over RGB
    fig, axes = plt.subplots(2, len(names), figsize=(1.9 * len(names), 4.1))
    vmax = float(maps.quantile(0.99))
    for i, n in enumerate(names):
        axes[0, i].imshow(dfdlab.data.load_rgb(paths[i]))
        axes[0, i].set_title(n, fontsize=8)
        axes[1, i].imshow(maps[i], cmap="magma", vmin=0, vmax=vmax, interpolation="nearest")
        for a in axes[:, i]:
            a.axis("off")
    axes[1, 0].set_title("|NPR| (same scale)", fontsize=8)
    plt.tight_layout()
    plt.show()
else:
    print("Skipped: the NPR maps need the ForenSynths test set (see above).")


# %%
def shifted_ratio(x):
    # mean |NPR| on the 2x2 grid / mean |NPR| on the grid shifted by one pixel (both axes)
    return float(npr_residual(x).abs().mean() / npr_residual(x[..., 1:-1, 1:-1]).abs().mean())

def npr_profile(ds, label, n=64):
    x = torch.stack([to_tensor(dfdlab.data.load_rgb(p)) for p in first(ds, label, n)])
    r = npr_residual(x).abs()
    return {"|NPR| (0,1)": float(r[..., 0::2, 1::2].mean()), "|NPR| (1,0)": float(r[..., 1::2, 0::2].mean()),
            "|NPR| (1,1)": float(r[..., 1::2, 1::2].mean()), "aligned / shifted": shifted_ratio(x)}

if HAVE_TEST:
    rows = {"real": {"family": "real", **npr_profile(test_sets_pil[gens[0]], 0)}}  # the first generator's test reals
    rows.update({g: {"family": family.get(g, ""), **npr_profile(test_sets_pil[g], 1)} for g in gens})
    profile_table = pd.DataFrame(rows).T
    recon = {}
    if cfg.data == "mini-ForenSynths":
        # How close each re-synthesis comes to its source crop: the mini benchmark's shipped reconstructors run
        # again on 64 real test crops (the GAN has no source crop, so no entry). "latent / pixels": the size of
        # the code the decoder up-samples from, over the 3 x 64 x 64 values of the image.
        from dfdlab.data.mini_generators import MINI_GENERATORS, load_generators
        from dfdlab.gan.reconstruction import resynthesise

        src = torch.stack([torch.from_numpy(np.asarray(dfdlab.data.load_rgb(p), dtype=np.float32)).permute(2, 0, 1)
                           for p in first(test_sets_pil[train_generator], 0, 64)]) / 127.5 - 1
        with torch.no_grad():
            for g, G in load_generators(names=[g for g in gens if g in MINI_GENERATORS]).items():
                mse = ((resynthesise(G, src) - src) / 2).pow(2).mean((1, 2, 3))  # pixel values in [0, 1]
                f = 2 ** G.settings["stages"]
                recon[g] = {"factor": f, "latent / pixels": G.settings["z_channels"] / (3 * f * f),
                            "PSNR to source (dB)": float((-10 * mse.log10()).mean())}
        profile_table = profile_table.join(pd.DataFrame(recon).T)
    print(dfdlab.config.labelled(f"{BENCH}: NPR energy per offset, the aligned/shifted ratio"
                                 + (" and how close each re-synthesis is to its source" if recon else "")))
    display(profile_table.infer_objects().round(3))
    ratio = profile_table["aligned / shifted"].astype(float)
    print(f"aligned/shifted ratio: real crops {ratio['real']:.3f}, the training generator {train_generator} "
          f"{ratio[train_generator]:.3f}; lowest {ratio.idxmin()} {ratio.min():.3f}, highest {ratio.idxmax()} "
          f"{ratio.max():.3f}.")
    for f in sorted({r["factor"] for r in recon.values()}):
        group = [g for g in recon if recon[g]["factor"] == f]
        psnr = [recon[g]["PSNR to source (dB)"] for g in group]
        print(f"latent factor {f} ({', '.join(group)}): PSNR to the source {min(psnr):.1f}-{max(psnr):.1f} dB, "
              f"aligned/shifted {ratio[group].min():.3f}-{ratio[group].max():.3f}.")

# %% [markdown]
# **中文要点**
# - 真实裁块的 aligned/shifted 比值接近 1；上采样过的图像偏离 1（上面打印的数字）。
# - NPR 应该能抓到：与训练生成器同样"最近邻 + 卷积"上采样、把 2×2 块印在同一网格上的解码器（另一个最近邻解码器、`ldm_kl_f4` 的 KL-VAE）；转置卷积和像素重排也留下周期为 2 的痕迹，但和训练时的不一样，不一定能抓到。
# - 不该指望它抓到：双线性上采样（痕迹很平滑）和 **f2** 生成器（只上采样一次、潜变量很大，几乎完美地重建原图，见 PSNR 列）；`dcgan_transposed` 是采样出来的 GAN 图像，不是重建。
#
# The real crops have an aligned/shifted ratio near 1: a camera image has no preferred 2×2 grid
# (the mini benchmark's reals are down-sampled crops of photos, PIL Lanczos, so they carry no
# up-sampling trace by construction). Up-sampled images depart from 1: below 1 when the stamped
# blocks are internally smooth, above 1 when the up-sampling kernel makes the block's pixels
# differ in a fixed pattern.
#
# **What NPR should and should not detect here.** The 4×4 example shows the ideal case: nearest
# up-sampling of a 2×2 block makes NPR exactly 0. The training generator `ae_nearest_f4` up-samples
# the same way (nearest + convolution, as ProGAN), but convolutions follow each up-sampling, so
# its NPR is not zero; the 2×2 grid stays special, and that is what the ratio above measures.
# Expect NPR to carry over to the generators whose decoders stamp blocks on the same grid in a
# similar way: the other nearest decoder and the KL-VAE (`ldm_kl_f4`, also nearest + conv), and,
# less surely, transposed convolutions and pixel shuffle, whose 2-periodic patterns differ from
# the training one. Do not expect much where the trace is faint: bilinear up-sampling spreads each
# low-resolution value smoothly over its neighbours, and the **factor-2** generators (one
# up-sampling stage, a latent of a large fraction of the image's size) reconstruct their source
# crop almost perfectly (the PSNR column), so little separates their fakes from the reals.
# The DCGAN (`dcgan_transposed`) is a different kind of fake (a sample, not a re-synthesis),
# up-sampled by transposed convolutions and histogram-matched to a real crop.
# Section 6 measures how far these expectations hold.
#
# ## 6 · NPR trained on one generator, tested on all
#
# **中文要点**
# - 快速配置：NPR 来自快速模型库（`zoo.train_quick("npr", mini)`，用模型库自己的种子 100），第 07 课直接从缓存读取同一个模型；下面 assert 模型库的设置与第 1 节列出的一致。
# - 论文的配方（Adam 2e-4、batch 32、每 10 轮 ×0.9、种子 100），快速配置只缩短轮数；按**验证集**准确率（验证集 = 训练生成器）选检查点，训练时从不看测试生成器。
# - 下面的表都是**迷你基准**上的数字：生成器是我们自己的小模型（ForenSynths 中 GAN 的替代品）。
#
# The recipe is the paper's (`dfdlab.train.recipe("npr")`: Adam 2e-4, β (0.9, 0.999), batch 32,
# lr × 0.9 after epochs 10, 20, 30, 40, seed 100); the quick zoo only shortens it. Training
# keeps the checkpoint with the best *validation* accuracy (validation = the training
# generator); the test generators are never looked at during training. In the quick profile the
# model is the quick zoo's NPR at the entry's own seed (`dfdlab.zoo.train_quick("npr", mini)`,
# no `seed=`): trained here on a cache miss, loaded on a hit, and the very checkpoint that
# lesson 07 ranks and lesson 09 compares against. The claim sweep (`benchmarks/quick_claims.py`)
# trains the same entry with other seeds. The full profile trains only with
# `TRAIN_PAPER_RECIPE = True` (`dfdlab.experiments.train_npr`, 50 epochs); otherwise the sections
# below use the published `NPR.pth` (section 1b) and skip the RGB ablation, which has no published
# checkpoint.

# %%
runs = dfdlab.home() / "runs" / "05_npr" / (Path(train_root).parent.name + f"_{cfg.profile}")

def train_variant(representation):
    # full profile only: seed_torch(100) before the model is built, as train.py, then the paper's recipe
    return experiments.train_npr(representation, train_root, val_root, cfg.train_classes, cfg.load_size,
                                 cfg.crop_size, cfg.epochs, cfg.batch_size, runs / representation)

def zoo_model(name):
    # quick profile: the quick zoo's entry at its own seed (cached; lessons 07 and 09 share it)
    model, info = zoo.train_quick(name, mini)
    assert (info["build"]["load_size"], info["build"]["crop_size"], info["epochs"], info["batch_size"]) == (
        cfg.load_size, cfg.crop_size, cfg.epochs, cfg.batch_size), info
    print(f"quick zoo {name!r} ({'from the cache' if info['from_cache'] else 'trained now'}; "
          f"{info['train_seconds']} s when trained): seed {info['seed']}, kept epoch {info['best_epoch']} of "
          f"{info['epochs_run']} ({info['keep']} val accuracy; val = the training generator)")
    return model, info

if cfg.profile == "quick":
    npr_model, npr_info = zoo_model("npr")
elif TRAIN_HERE:
    t = time.time()
    npr_model, npr_fit = train_variant("npr")
    print(f"trained NPR in {time.time() - t:.0f} s on {len(ForenSynths(Path(train_root) / cfg.train_classes[0]))} "
          f"images/class-folder; best epoch {npr_fit.best_epoch}")
    print(dfdlab.config.labelled(f"training history ({BENCH}; val = the training generator)"))
    display(npr_fit.history.round(4))
else:
    npr_model = published_model if HAVE_TEST else None
    print("Not trained here (TRAIN_PAPER_RECIPE = False): the sections below use the published NPR.pth."
          if npr_model is not None else "Skipped: no model to test (no published NPR.pth or test set, and no training).")


# %%
def test_sets(model, n):
    # n images per label, a fixed random choice (the quick profile scores a subset)
    return experiments.test_subsets(model, test_root, n, test_names)

def with_family(table):
    t = paper_style(table)[["generator", "n", "ap", "acc", "r_acc", "f_acc"]].copy()
    t.insert(1, "family", t["generator"].map(lambda g: family.get(g, "")))
    t.insert(2, "seen in training", t["generator"] == train_generator)
    return t

if npr_model is not None and HAVE_TEST:
    t = time.time()
    npr_table = evaluate(npr_model, test_sets(npr_model, cfg.n_test), progress=False)
    print(dfdlab.config.labelled(f"{BENCH}: scored in {time.time() - t:.0f} s. NPR trained on {train_generator}; "
                                 "AP/acc in %:"))
    display(with_family(npr_table).assign(**{  # section 5's trace measures beside the scores
        "aligned / shifted": lambda t: t["generator"].map(ratio).round(3),
        **({"PSNR to source (dB)": lambda t: t["generator"].map(profile_table["PSNR to source (dB)"]).round(1)}
           if recon else {})}))
    unseen = [g for g in npr_table["generator"] if g not in ("mean", train_generator)]
    ap_npr = npr_table.set_index("generator")["ap"]
    ranked = ap_npr[unseen].sort_values(ascending=False)
    print(f"NPR AP: {ap_npr[train_generator]:.3f} on its training generator; on the {len(unseen)} unseen ones "
          f"mean {ranked.mean():.3f}, >= 0.9 on {int((ranked >= 0.9).sum())}; from best to worst: "
          + ", ".join(f"{g} {v:.3f}" for g, v in ranked.items()) + ".")
    if recon:
        f2 = [g for g in unseen if g in recon and recon[g]["factor"] == 2]
        f4 = [g for g in unseen if g in recon and recon[g]["factor"] > 2]
        print(f"mean AP on the unseen factor-2 generators {ap_npr[f2].mean():.3f}, on the unseen factor-4 ones "
              f"{ap_npr[f4].mean():.3f}; rank correlation over the unseen generators between AP and "
              f"|1 - aligned/shifted|: {ap_npr[unseen].corr((1 - ratio[unseen]).abs(), method='spearman'):+.2f}.")

# %% [markdown]
# **中文要点**
# - 对照第 5 节的预期读上面的数字：f4 与 f2 两组的平均 AP、AP 与 aligned/shifted 偏离 1 的程度的秩相关。
# - 同一族不等于同样好抓：`ae_nearest_f2` 和训练生成器用同一种上采样层，但它只上采样一次、几乎完美重建，痕迹很弱。
#
# Read the lines above against section 5's expectations: the mean AP of the factor-4 and the
# factor-2 generators, and the rank correlation between a generator's AP and how far its
# aligned/shifted ratio is from 1. A family is not a guarantee: `ae_nearest_f2` shares the training
# generator's up-sampling layer, but it up-samples once from a large latent and reconstructs its
# source crop closely, so its trace is faint; "seen family" and "easy to detect" are separate
# questions, and the table's PSNR column is part of the answer.
#
# ## 7 · Ablation: the same network on plain RGB
#
# **中文要点**
# - 只改输入：同一网络、同一初始化、同一种子和配方，直接输入归一化后的 RGB 图像而不是 NPR。
# - 如果 NPR 的论断成立，RGB 模型同样能拟合训练生成器，但在未见过的生成器上更差——它会去记训练生成器自己的颜色和纹理。
#
# Everything stays the same (network, initialisation, seed, recipe, data, sizes) except the
# input: `build("npr", representation="rgb")` feeds the normalised image itself instead of NPR.
# If NPR's claim holds, the RGB model fits the training generator as well but generalises worse,
# because it can learn the training generator's own colours and textures instead of the
# up-sampling relation.

# %%
rgb_table = None
if TRAIN_HERE and HAVE_TEST:
    t = time.time()
    if cfg.profile == "quick":
        rgb_model, rgb_info = zoo_model("npr_rgb")  # the zoo's ablation entry: NPR's entry with representation="rgb"
        assert {k: v for k, v in rgb_info["build"].items() if k != "representation"} == npr_info["build"], rgb_info
        assert (rgb_info["seed"], rgb_info["epochs"], rgb_info["batch_size"]) == (
            npr_info["seed"], npr_info["epochs"], npr_info["batch_size"]), rgb_info
    else:
        rgb_model, rgb_fit = train_variant("rgb")
    rgb_table = evaluate(rgb_model, test_sets(rgb_model, cfg.n_test), progress=False)
    print(f"RGB ablation ready and scored in {time.time() - t:.0f} s")
    cmp = pd.DataFrame({
        "family": npr_table["generator"].map(lambda g: family.get(g, "")).to_numpy(),
        "AP NPR": (npr_table["ap"] * 100).round(1).to_numpy(),
        "AP RGB": (rgb_table["ap"] * 100).round(1).to_numpy(),
        "acc NPR": (npr_table["acc"] * 100).round(1).to_numpy(),
        "acc RGB": (rgb_table["acc"] * 100).round(1).to_numpy(),
    }, index=npr_table["generator"])
    by_gen = {"NPR": npr_table.set_index("generator"), "RGB": rgb_table.set_index("generator")}
    cmp.loc["mean of unseen"] = ["", *[round(100 * by_gen[m].loc[unseen, c].mean(), 1)
                                       for c, m in (("ap", "NPR"), ("ap", "RGB"), ("acc", "NPR"), ("acc", "RGB"))]]
    print(dfdlab.config.labelled(f"{BENCH}: NPR vs the same network on RGB, trained on {train_generator} (%)"))
    display(cmp)
    gap = (by_gen["NPR"].loc[unseen, "ap"] - by_gen["RGB"].loc[unseen, "ap"]).dropna()  # (NaN: a one-class subset)
    print(f"RGB ablation: AP {by_gen['RGB'].loc[train_generator, 'ap']:.3f} on the training generator (NPR "
          f"{by_gen['NPR'].loc[train_generator, 'ap']:.3f}); mean unseen AP NPR - RGB {gap.mean():+.3f}, NPR higher "
          f"on {int((gap > 0).sum())} of {len(unseen)} unseen generators"
          + (f" (largest gap {gap.idxmax()} {gap.max():+.3f}, smallest {gap.idxmin()} {gap.min():+.3f})." if len(gap)
             else "."))
else:
    print("Skipped: the RGB ablation needs the test set (see above)." if TRAIN_HERE else
          "Skipped: the RGB ablation has no published checkpoint; it needs TRAIN_PAPER_RECIPE = True "
          "(a 50-epoch training).")

# %%
from dfdlab.viz.curves import metric_bars

if rgb_table is not None:
    metric_bars({"NPR": npr_table, "RGB (ablation)": rgb_table}, metrics=("ap",),
                title=dfdlab.config.labelled(f"{BENCH}: AP per generator, trained on {train_generator}"))
    plt.show()

# %% [markdown]
# ## 8 · Robustness: JPEG and blur
#
# **中文要点**
# - NPR 依赖相邻像素的精确数值；JPEG（8×8 DCT 量化）和模糊（邻域平均）都会重新计算像素，从而破坏它。作者确认 NPR 训练时没有用模糊/JPEG 增强（issue #9）。
# - 在迷你基准 v2 上，扫描的每个种子都是：模糊 σ ≥ 2 让平均 AP 接近随机水平；JPEG 在每个质量（连 95 也是）都降低平均 AP。降多少、是否随质量单调变化随种子而变，所以只断言"至少降这么多"。
#
# NPR lives in the exact values of neighbouring pixels, so anything that re-computes pixels
# from their neighbours destroys it: JPEG quantises 8×8 DCT blocks, blur averages neighbours.
# The authors confirm that NPR was trained without blur/JPEG augmentation (issue #9). Each test
# image is perturbed (PIL JPEG / scipy Gaussian blur, as UnivFD's `validate.py`), then given the
# model's test transform (`dfdlab.experiments.npr_robustness`, which the claim sweep
# `benchmarks/quick_claims.py` runs too): JPEG 95/90/50/30 and blur σ 1/2/4, on
# `cfg.n_robust` reals and as many fakes per generator. The "mean" column averages over all
# test generators, including those the model ranks below chance on clean images: a
# perturbation that wipes the trace out pulls those cells *up* towards 0.5, so read the
# training generator's column beside the mean.

# %%
if npr_model is not None and HAVE_TEST:
    t = time.time()
    robust = experiments.npr_robustness(npr_model, test_root, cfg.n_robust, test_names)
    print(f"{BENCH}: robustness grid in {time.time() - t:.0f} s ({cfg.n_robust} images per class per generator)")
    grid_ap = wide(robust, "ap")
    from dfdlab.viz.curves import heatmap

    heatmap(grid_ap, title=dfdlab.config.labelled(f"NPR on the {BENCH}: AP (%) under perturbations"))
    plt.show()
    mean_ap = experiments.mean_ap_by_condition(robust)
    jpeg_cost = {q: mean_ap["clean"] - mean_ap[f"JPEG {q}"] for q in experiments.JPEG_QUALITIES}
    q_min, q_max = min(jpeg_cost, key=jpeg_cost.get), max(jpeg_cost, key=jpeg_cost.get)
    print(f"In this run ({BENCH}) the clean mean AP is {mean_ap['clean']:.3f}; JPEG costs "
          + ", ".join(f"{jpeg_cost[q]:.3f} at quality {q}" for q in experiments.JPEG_QUALITIES)
          + f" (least at quality {q_min}, most at {q_max}: the damage is "
          + ("monotone" if list(jpeg_cost.values()) == sorted(jpeg_cost.values()) else "not monotone")
          + " in the quality). Blur σ " + ", ".join(f"{s}: mean AP {mean_ap[f'blur σ{s}']:.3f}"
                                                    for s in experiments.BLUR_SIGMAS) + ".")
    own = robust[robust["generator"] == train_generator].set_index("condition")["ap"]
    print(f"On the training generator {train_generator} alone: clean AP {own['clean']:.3f}, "
          + ", ".join(f"{c} {own[c]:.3f}" for c in own.index if c != "clean") + ".")
    display((grid_ap * 100).round(1))

# %% [markdown]
# **中文要点**
# - 一次运行只是一个训练种子；下面的扫描表给出种子之间的波动（本课用模型库自己的种子 100，不在扫描的种子里）。
# - 模糊和 JPEG 都在重新计算像素：NPR 读的是相邻像素之间最细小的差别，它们最先被抹掉。
#
# One run is one training seed. The committed sweep (`benchmarks/quick_claims.py`: the zoo's NPR
# and RGB entries retrained with other seeds, the same code and settings; this lesson's own seed,
# the zoo's 100, is not one of them) shows how far these numbers move from seed to seed. On the
# mini benchmark v2 both perturbations hurt in every swept run. Blur of σ 2 or more leaves the
# mean AP near chance: averaging neighbours erases the relation NPR reads. JPEG costs mean AP at
# every quality tried, 95 included: it re-computes every pixel from quantised 8×8 DCT blocks, and
# the up-sampling trace lives in the smallest differences between neighbours. How much it costs,
# and whether the cost grows as the quality drops, varies with the seed (the sweep's min and max
# below), so the lesson asserts a floor for the JPEG cost, not its shape. The paper's JPEG
# weakness (NPR-DeepfakeDetection issue #9) is a statement about the full 224-px setting, which
# the full profile measures.

# %%
if cfg.profile == "quick":  # the committed sweep is of the quick profile's settings
    unseen_ap = {n: t.set_index("generator")["ap"][unseen].mean() for n, t in (("npr", npr_table), ("rgb", rgb_table))}
    SWEPT = {"npr_fits_train_family": npr_table.set_index("generator")["ap"][train_generator],
             "npr_unseen_ap90": float((npr_table.set_index("generator")["ap"][unseen] >= 0.9).sum()),
             "npr_unseen_mean_ap": unseen_ap["npr"], "npr_beats_rgb": unseen_ap["npr"] - unseen_ap["rgb"],
             "npr_jpeg95_cost": jpeg_cost[95], "npr_jpeg90_cost": jpeg_cost[90], "npr_jpeg50_cost": jpeg_cost[50],
             "npr_jpeg30_cost": jpeg_cost[30], "npr_blur1_ap": mean_ap["blur σ1"], "npr_blur2_ap": mean_ap["blur σ2"],
             "npr_blur4_ap": mean_ap["blur σ4"]}
    sweep = experiments.claim_sweep(list(SWEPT), this_run=SWEPT)
    if len(sweep):
        print("mini benchmark " + experiments.sweep_caption(sweep))
        display(sweep.set_index("statistic")[["this run", "mean", "sd", "min", "max"]].round(3))
        j = sweep.set_index("claim")
        print("Over the sweep JPEG costs " + ", ".join(
            f"{j.loc[f'npr_jpeg{q}_cost', 'min']:+.3f} to {j.loc[f'npr_jpeg{q}_cost', 'max']:+.3f} at quality {q}"
            for q in experiments.JPEG_QUALITIES) + " mean AP; blur σ 2 and 4 leave a mean AP of at most "
            f"{max(j.loc['npr_blur2_ap', 'max'], j.loc['npr_blur4_ap', 'max']):.3f}; NPR reaches AP >= 0.9 on "
            f"{j.loc['npr_unseen_ap90', 'min']:.0f} to {j.loc['npr_unseen_ap90', 'max']:.0f} of the {len(unseen)} "
            f"unseen generators, and beats the RGB ablation on the mean unseen AP by "
            f"{j.loc['npr_beats_rgb', 'min']:+.3f} to {j.loc['npr_beats_rgb', 'max']:+.3f}.")
    else:
        print("no committed sweep for these claims here (run benchmarks/quick_claims.py)")

# %% [markdown]
# ## 9 · Full profile: Table 1 with the published weights
#
# **中文要点**
# - 完整配置已在第 1b 节最先给发布的 `NPR.pth` 打分。
#
# The full profile scores the published `NPR.pth` first, in section 1b, before anything else runs.

# %% [markdown]
# ## 10 · Checks on the quick results
#
# **中文要点**
# - 把本课的论断写成 assert：拟合训练生成器、在未见过的生成器上平均 AP 高于随机、胜过 RGB 消融、JPEG 至少降低这么多平均 AP、模糊 σ ≥ 2 后接近随机。
# - 阈值来自多种子扫描（`benchmarks/quick_claims.py`），都低于扫描中的最差值（上界则高于最大值），余量写在注释里。
# - "在大多数未见过的生成器上 AP ≥ 0.9" 扫描不支持（有的种子一个都没有），只展示不断言。
#
# The lesson's claims, as asserts on the numbers measured above, with thresholds below the
# committed sweep's worst run (upper bounds above its maximum). "AP >= 0.9 on most unseen
# generators" is not among them: the sweep has seeds with none, so section 8 shows that count.

# %%
if cfg.profile == "quick":  # the claims of the quick run; the full profile compares with the paper (section 1b)
    # Thresholds below the committed sweep's minimum (upper bounds above its maximum): benchmarks/quick_claims.py,
    # the zoo's NPR and npr_rgb retrained with seeds 0-4, 1 thread, mini benchmark v2 (table in section 8).
    TRAIN_AP = 0.95   # sweep min 0.971 (margin +0.021)
    UNSEEN_AP = 0.65  # sweep min 0.704 (margin +0.054)
    RGB_GAP = 0.0     # NPR - RGB mean unseen AP, sweep min +0.042 (margin +0.042)
    JPEG_COST = 0.05  # clean - JPEG mean AP, sweep min 0.111/0.112/0.087/0.084 at q 95/90/50/30 (margin +0.034 at q 30)
    BLUR_AP = 0.65    # upper bound, sweep max 0.620 at σ 2, 0.613 at σ 4 (margin +0.030)
    ap = npr_table.set_index("generator")["ap"]
    ap_rgb = rgb_table.set_index("generator")["ap"]
    print("mini benchmark, NPR AP on unseen generators:", ap[unseen].round(3).to_dict())
    print(f"mini benchmark, mean AP on unseen generators: NPR {ap[unseen].mean():.3f}  RGB {ap_rgb[unseen].mean():.3f}")
    # Fits the training generator.
    assert ap[train_generator] > TRAIN_AP, ap[train_generator]
    # Generalises: mean AP on the unseen generators above UNSEEN_AP (chance is 0.5).
    assert ap[unseen].mean() > UNSEEN_AP, ap[unseen]
    # NPR beats the same network on plain RGB on the mean AP over unseen generators.
    assert ap[unseen].mean() - ap_rgb[unseen].mean() > RGB_GAP, (ap[unseen].mean(), ap_rgb[unseen].mean())
    # JPEG sensitivity: every quality tried costs more than JPEG_COST of the mean AP.
    assert all(jpeg_cost[q] > JPEG_COST for q in experiments.JPEG_QUALITIES), jpeg_cost
    # Blur sensitivity: blur of σ >= 2 leaves a mean AP near chance (below BLUR_AP).
    assert all(mean_ap[f"blur σ{s}"] < BLUR_AP for s in (2, 4)), mean_ap
print(f"lesson ran in {time.time() - T0:.0f} s")

# %% [markdown]
# ## 练习 · Exercises
#
# **中文要点**
# - 五道题分别检验：2/3 因子、参考像素的选择、换一个训练生成器、用 JPEG 增强修补弱点、奇数尺寸。
#
# 1. **2/3 因子 · The 2/3 factor.** 用 `build("npr", paper_scale=True)`（不乘 2/3）再训练一次，结果变了吗？为什么从头训练时 `conv1` 后面的 BatchNorm 让这个尺度几乎无关紧要，而加载官方权重时却不是？
#    Train once more with `build("npr", paper_scale=True)` (no 2/3). Does the
#    result change? Why does BatchNorm after `conv1` make the scale almost irrelevant when training
#    from scratch, but not when loading the official weights?
# 2. **换一个参考像素 · Another reference pixel.** 在 4×4 例子里把 `npr_residual` 换成 `npr_residual_window(x, 2, anchor=3)`（右下角像素）。哪些 NPR 值变了，哪些仍然为 0？
#    Replace `npr_residual` by `npr_residual_window(x, 2, anchor=3)`
#    (bottom-right pixel) in the 4×4 example. Which NPR values change, which stay zero?
# 3. **换一个训练生成器 · Train on another generator.** 用 `dfdlab.data.mini_generators.load_generators()` 和 `dfdlab.gan.reconstruction.resynthesise` 把 `train/photos/0_real` 的真图用另一个生成器（例如 `ae_transposed_f4`）重建，放进一个新的 `train/photos/1_fake`（验证集同理），再用 `experiments.train_npr` 训练。哪些生成器变难了？第 5 节的 aligned/shifted 比值能预测吗？
#    Re-synthesise the real crops of `train/photos/0_real` with another generator (e.g.
#    `ae_transposed_f4`: `dfdlab.data.mini_generators.load_generators()` and
#    `dfdlab.gan.reconstruction.resynthesise`) into a new `train/photos/1_fake` (and the same for
#    `val/`), and train with `experiments.train_npr`. Which generators become hard, and does the
#    aligned/shifted ratio of section 5 predict it?
# 4. **修补 JPEG 弱点？· Fix the JPEG weakness?** 在 `npr_train` 的裁剪之前插入 `T.data_augment`（JPEG 概率 0.5，质量 30–100）再训练。干净图像的 AP 和 JPEG 50 下的 AP 各怎样变化？
#    Train with `T.data_augment` (JPEG probability 0.5, quality 30–100)
#    inserted before the crop in `npr_train`. What happens to the clean AP, and to JPEG 50?
# 5. **奇数尺寸 · Odd sizes.** 用 `build("npr", no_resize=True)` 在奇数尺寸的图像上评测，检查 `trim_to_even` 恰好去掉一行/一列。官方的前向会怎样？
#    Evaluate with `build("npr", no_resize=True)` on images of odd size and check
#    that `trim_to_even` drops exactly one row/column. What would the official forward do?
