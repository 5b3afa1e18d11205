# %% [markdown]
# # 00 · Setup: the lab, its two profiles, and how detectors are scored
#
# **术语表 · Glossary**: one name per term for the whole course: [术语表.md](术语表.md).
#
# **简要介绍**：本节检查运行环境（`dfdlab.doctor()`），介绍两种配置（quick：CPU 几分钟、内置小数据集；
# full：论文设置、GPU、公开数据和权重），说明 ForenSynths 数据集的目录结构，并用一个小例子讲清楚
# 论文里的评价指标：AP、阈值 0.5 下的准确率、最佳阈值准确率（oracle），以及为什么一个检测器可以
# AP = 1.0 而准确率只有 0.5。
#
# **Summary.** This lesson checks your environment, introduces the two profiles, shows the
# folder layout every benchmark uses, and explains the metrics the papers print: average
# precision (AP), accuracy at the fixed threshold 0.5 (with its real/fake halves) and the
# best-threshold ("oracle") accuracy, and why a detector can have AP 1.0 and accuracy 0.5.
#
# **You will learn**: what `dfdlab doctor` reports and what to do about a missing asset ·
# how `DFDLAB_PROFILE`, `DFDLAB_HOME` and `DFDLAB_DATA` steer every lesson · the
# `{0_real,1_fake}` layout · AP vs accuracy vs oracle accuracy.
#
# **Runtime**: CPU (quick) < 1 minute · GPU (full) < 1 minute.

# %% [markdown]
# ## 1 · The environment
#
# **中文要点**
# - `dfdlab.doctor()` 不联网，列出 Python、torch、CPU/GPU、线程数，以及每个权重和数据集在不在。
# - quick 配置下缺权重是正常的：每一行都写了在家里怎样取得它（`dfdlab assets --fetch NAME`）。
#
# `doctor()` never needs the network. Missing weights are normal in the quick profile: each line says how to get one.

# %%
import dfdlab

report = dfdlab.doctor()

# %% [markdown]
# ## 2 · Two profiles, one code path
#
# **中文要点**
# - 每课开头都把两种设置并排写出：quick（CPU、内置迷你数据集、几分钟）和 full（论文设置、GPU、公开数据和权重）。
# - 配置只改变尺寸、轮数和数据/权重的来源，从不改变方法；用 `DFDLAB_PROFILE=full` 切换。
#
# Every lesson starts like the cell below: both settings side by side, the active one picked
# from `DFDLAB_PROFILE`. The profile changes sizes, epochs and the data/weights source, never
# the method. Run `DFDLAB_PROFILE=full make lab` at home with a GPU and the published data.

# %%
cfg = dfdlab.settings(
    quick={"image_size": 64, "epochs": 3, "data": "mini-ForenSynths (built here)"},
    full={"image_size": 256, "epochs": 50, "data": "ForenSynths (DFDLAB_DATA)"},
)
print("\nactive profile:", cfg.profile, "| DFDLAB_HOME =", dfdlab.home(), "| DFDLAB_DATA =", dfdlab.data_root())

# %% [markdown]
# ## 3 · The benchmark layout
#
# **中文要点**
# - 三篇论文都沿用 CNNDetection 的 ForenSynths 目录结构：`0_real` 是真图（标签 0），`1_fake` 是假图（标签 1）。
# - 一个生成器下有多个类别（如 ProGAN 的 20 个 LSUN 类）时合并计算，每个生成器只出一个 AP。
# - `check_layout` 在评测之前找出缺文件夹、多余文件这类错误，并指出是哪一个文件。
#
# CNNDetection's ForenSynths fixed the layout all three papers use, and `torchvision`'s
# `ImageFolder` turns its sorted folder names into labels: `0_real` → 0, `1_fake` → 1.
#
# ```
# <root>/train/<class>/{0_real,1_fake}/*.png      e.g. train/horse/1_fake/...
# <root>/val/<class>/{0_real,1_fake}/*.png
# <root>/test/<generator>/[<class>/]{0_real,1_fake}/*.png   e.g. test/stylegan/bedroom/0_real/...
# ```
#
# A test generator with several classes (ProGAN's 20 LSUN classes, StyleGAN's bedroom/car/cat)
# is **pooled**: one AP per generator. Below we write a tiny tree with two deliberate mistakes
# and let `check_layout` find them.

# %%
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

root = Path(tempfile.mkdtemp()) / "toy"
rng = np.random.default_rng(0)
def write(folder, n):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(folder / f"{i:03d}.png")

write(root / "train/horse/0_real", 4)
write(root / "train/horse/1_fake", 4)
write(root / "test/progan/horse/0_real", 3)
write(root / "test/progan/horse/1_fake", 3)
write(root / "test/stylegan/0_real", 3)                  # mistake 1: no 1_fake folder
(root / "test/stylegan/notes.txt").write_text("stray")   # mistake 2: a stray file

layout = dfdlab.data.check_layout(root)
print(layout)
assert not layout.ok  # both mistakes are reported

# %% [markdown]
# ## 4 · The metrics, on a toy detector
#
# **中文要点**
# - AP 只看分数的**排序**；准确率还要求分数落在 0.5 的正确一侧（严格的 `>`）；r_acc / f_acc 是真图、假图各自的准确率。
# - oracle 准确率是看过标签之后选的最佳阈值，只是上界。
# - 一个排序完美但"胆小"的检测器可以 AP = 1.0、准确率只有 0.5：论文表格里未见过的生成器正是这种情形。
# - 多个生成器的平均是**不加权**的：小测试集和大测试集一样重。
#
# All three papers score with the same few lines of CNNDetection's `validate.py`:
# `y_score = sigmoid(logit)`; **AP** = `sklearn.metrics.average_precision_score(y_true, y_score)`;
# **acc** = `accuracy_score(y_true, y_score > 0.5)` with a *strict* `>`; `r_acc`/`f_acc` are the
# accuracies on the real and fake halves. AP only looks at the **ranking** of the scores; accuracy
# also needs them to sit on the right side of 0.5. `acc_oracle` picks the best threshold *after*
# seeing the labels, which is why it is only an upper bound (SIDBench calls it "oracle").
#
# Our toy detector ranks perfectly, but it is shy: every fake scores between 0.30 and 0.45.

# %%
import matplotlib.pyplot as plt

from dfdlab.evaluate import metrics

rng = np.random.default_rng(1)
y_true = np.r_[np.zeros(200), np.ones(200)]
y_score = np.r_[rng.uniform(0.02, 0.28, 200), rng.uniform(0.30, 0.45, 200)]
m = metrics(y_true, y_score)
print({k: round(float(v), 3) for k, v in m.items()})

thresholds = np.linspace(0, 1, 201)
acc_at = [((y_score > t) == y_true).mean() for t in thresholds]
fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.6))
bins = np.linspace(0, 1, 81)
a1.hist(y_score[y_true == 0], bins=bins, alpha=.7, label="real (0_real)")
a1.hist(y_score[y_true == 1], bins=bins, alpha=.7, label="fake (1_fake)")
a1.axvline(0.5, color="k", ls="--", label="threshold 0.5")
a1.set_xlabel("sigmoid(logit)")
a1.set_title("scores of a shy but perfect ranker")
a1.legend()
a2.plot(thresholds, acc_at, label="accuracy at threshold t")
a2.axhline(m["ap"], color="C2", ls=":", label=f"AP = {m['ap']:.2f} (threshold-free)")
a2.axvline(0.5, color="k", ls="--")
a2.scatter([0.5], [m["acc"]], color="C3", zorder=3, label=f"acc at 0.5 = {m['acc']:.2f}")
a2.scatter([thresholds[int(np.argmax(acc_at))]], [max(acc_at)], color="C1", zorder=3,
           label=f"oracle acc = {m['acc_oracle']:.2f}")
a2.set_xlabel("threshold t")
a2.set_ylim(0.4, 1.05)
a2.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# AP is 1.0 because every fake outranks every real; accuracy at 0.5 is 0.5 because every image
# is called real (`r_acc` = 1, `f_acc` = 0). This is exactly the pattern the papers' tables show
# for unseen generators: high AP with low accuracy means the detector still *ranks* the new
# fakes above the reals but its threshold is calibrated for the training generator. NPR's and
# UnivFD's tables print both numbers for this reason.

# %%
assert m["ap"] == 1.0 and m["auc"] == 1.0, m
assert m["acc"] == 0.5 and m["r_acc"] == 1.0 and m["f_acc"] == 0.0, m
assert m["acc_oracle"] == 1.0, m
# The threshold is strict: a score of exactly 0.5 counts as real.
assert metrics(np.array([0, 1]), np.array([0.5, 0.5]))["acc"] == 0.5

# %% [markdown]
# ### The mean over generators is unweighted
#
# The papers average the per-generator numbers, so a generator with 200 test images weighs as
# much as one with 8,000. `dfdlab.evaluate.evaluate` returns one row per generator plus this mean.

# %%
import pandas as pd

sizes = {"big generator": 2000, "small generator": 100}
rows = []
for name, n in sizes.items():
    y = np.r_[np.zeros(n), np.ones(n)]
    s = np.r_[rng.uniform(0, .6, n), rng.uniform(.4, 1, n)] if n > 500 else np.r_[rng.uniform(0, .5, n), rng.uniform(.2, .7, n)]
    rows.append({"generator": name, "n": 2 * n, **{k: metrics(y, s)[k] for k in ("ap", "acc")}})
table = pd.DataFrame(rows)
mean = {"generator": "mean (unweighted)", "n": table.n.sum(), "ap": table.ap.mean(), "acc": table.acc.mean()}
table = pd.concat([table, pd.DataFrame([mean])], ignore_index=True)
pooled_acc = (table.acc[:2] * table.n[:2]).sum() / table.n[:2].sum()
print(table.round(3).to_string(index=False))
print(f"pooled accuracy over all images would be {pooled_acc:.3f}, not the papers' {mean['acc']:.3f}")
assert abs(mean["acc"] - pooled_acc) > 0.01

# %% [markdown]
# ## 练习 · Exercises
#
# 1. 把玩具检测器的假图分数移到 0.55–0.7，AP、acc、acc_oracle 哪些变了？AP 为什么不变？ · Move the shy
#    detector's fakes to 0.55–0.7 in the toy example. Which of AP, acc and acc_oracle change, and why does
#    AP not?
# 2. 让一张真图的分数高于所有假图，AP 下降多少？0.5 阈值下的准确率下降多少？ · Make the toy detector rank one
#    real image above all fakes. How much does AP drop? How much does accuracy at 0.5 drop?
# 3. `dfdlab assets` 列出每个公开权重的位置。选一篇论文，写下在家复现它的 Table 1 要运行的三条命令。 ·
#    `dfdlab assets` lists where every published checkpoint belongs. Pick one paper and write down the
#    three commands you would run at home to reproduce its Table 1.
# 4. 为什么把所有测试图合在一起算一个准确率会偏向图片最多的生成器？ForenSynths 里哪些生成器的图最多？ · Why
#    would pooling all test images into one accuracy favour the generators with the most images? Which
#    generators of ForenSynths have the most?
