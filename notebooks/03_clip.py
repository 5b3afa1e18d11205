# %% [markdown]
# # 03 · CLIP: two encoders, one space, one contrastive loss
#
# Radford, Kim, Hallacy, Ramesh, Goh, Agarwal, Sastry, Askell, Mishkin, Clark, Krueger, Sutskever.
# *Learning Transferable Visual Models From Natural Language Supervision.* ICML 2021.
# Official code: `openai/CLIP`; the open re-implementation we use: `mlfoundations/open_clip`.
#
# **简要介绍**：CLIP 把图片和文字**分别**编码成同一个空间里的向量：一个图像编码器（ViT），一个文本编码器
# （Transformer）。训练时，一个 batch 里有 N 对（图片，描述），目标是让每张图片和它自己的描述最相似、和
# 另外 N−1 个描述都不相似（反过来对每个描述也一样），这就是对称的 InfoNCE 对比损失，带一个可学习的温度。
# 学好之后，不用再训练就能做"零样本"分类：把每个类别写成一句话，看图片和哪句话最相似。本节在 CPU 上
# 从零训练一个很小的 CLIP（程序画出的"颜色 × 形状 × 位置"图片和描述），专门留出一些从没见过的组合来测试
# 零样本准确率，并画出相似度矩阵和嵌入空间；再看提示词设计和提示词集成（prompt design /
# ensembling）、线性探针和零样本的比较、分布偏移下的稳健性，以及 UnivFD 为什么选 CLIP。最后介绍如何用
# open_clip 加载 OpenAI 的 ViT-L/14（UnivFD 用的就是它）：为什么必须用 QuickGELU、为什么用 fp32、投影前后的
# 特征有什么区别。
#
# **Summary.** CLIP encodes images and texts *separately* into one shared space and learns both
# encoders with a symmetric contrastive (InfoNCE) loss over a batch of N image–caption pairs. Once
# trained, it classifies "zero-shot": write each class as a sentence and pick the most similar one.
# We derive the loss, train a tiny CLIP from scratch on drawn images ("a red circle at the top
# left") on the CPU, and test it on compositions it never saw; we compare prompts and prompt
# ensembles, zero-shot against linear probes on the same frozen features, and both under a
# distribution shift, which is the case for UnivFD's choice of CLIP; then we load OpenAI's ViT-L/14, the
# frozen backbone of UnivFD (lesson 04), and explain the three details that decide whether its
# features match the paper's: QuickGELU, fp32 and the post-projection [CLS] token.
#
# **You will learn**: the two towers and the shared embedding space · the symmetric InfoNCE loss
# and the learnable temperature · zero-shot classification with prompts · compositional
# generalisation, measured honestly on held-out combinations · prompt design and ensembling ·
# linear probe vs zero-shot · robustness under distribution shift and why UnivFD freezes CLIP ·
# loading OpenAI/open_clip checkpoints correctly.
#
# **Runtime**: CPU (quick) about 1 minute of CPU time with `OMP_NUM_THREADS=1` (measured 59 s; 2.4
# minutes wall clock on 2 cores shared with other jobs); training the tiny CLIP takes most of it · GPU
# (full) about 5 minutes (plus the 890 MB ViT-L/14 download once).
#
# **术语表 · Glossary**: one name per term for the whole course: [术语表.md](术语表.md).

# %%
import inspect
import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from IPython.display import display
from sklearn.decomposition import PCA

import dfdlab
from dfdlab import experiments, hub, toydata
from dfdlab.clip import pretrained, tiny
from dfdlab.viz.diagram import draw_pipeline

cfg = dfdlab.settings(
    quick={"steps": 400, "lr": 2e-3, "width": 64, "depth": 2, "test_per_composition": 20,
           "probe_shots": (1, 2, 4, 8, 16), "probe_test_per_composition": 10, "pretrained_section": False},
    full={"steps": 3000, "lr": 2e-3, "width": 64, "depth": 2, "test_per_composition": 100,
          "probe_shots": (1, 2, 4, 8, 16, 32), "probe_test_per_composition": 50, "pretrained_section": True},
)
dfdlab.seed_everything(0)

# %% [markdown]
# ## 1 · 核心创新点 · Key ideas
#
# **中文要点**：
# - 用自然语言当标签：4 亿对网上的（图片，文字），任何一句话能说出的概念都可以当类别。
# - 对比学习而不是生成文字：只问"这一批 N 句描述里哪一句属于这张图"，比逐词预测描述高效得多。
# - 两个编码器各自独立，只在共享空间的余弦相似度里见面，所以图像编码器单独拿出来就是通用的特征提取器（UnivFD 正是这样用的）。
#
# 1. **Natural language as the label.** 400 M (image, text) pairs from the web instead of a fixed
#    label set: any concept a sentence can name becomes a class.
# 2. **Contrastive, not generative.** Predicting the exact caption is hard and wasteful; CLIP only
#    asks *which* of the N captions in the batch belongs to each image. (The paper reports this is
#    about 4× more efficient than predicting bag-of-words captions, §2.3.)
# 3. **Two separate encoders, one space.** Images and texts never see each other inside the
#    network; they meet only in the cosine similarity of their embeddings. That is why the image
#    tower alone is a general-purpose feature extractor, which UnivFD exploits.
# 4. **Zero-shot transfer.** A classifier is built from prompts ("a photo of a {label}"), no training.
#
# ## 2 · 网络框架 · Architecture
#
# **中文要点**：
# - 图像塔：ViT（第 02 课），取 [CLS] token，线性投影，L2 归一化。
# - 文本塔：带因果 mask 的 Transformer，取 `<eot>` token，线性投影，L2 归一化。
# - 两组向量的点积乘以可学习的温度 exp(t)，得到 N×N 的相似度矩阵，再做对称的交叉熵。

# %%
fig, axes = plt.subplots(2, 1, figsize=(12, 4.6))
draw_pipeline([("image", "input"), ("image encoder\nViT", "trained"), ("[CLS] -> linear\nprojection", "trained"),
               ("L2 normalise\nI_e", "fixed"), ("exp(t) I_e T_e^T\nN x N logits", "output")],
              title="image tower", ax=axes[0])
draw_pipeline([("caption\ntokens", "input"), ("text encoder\ncausal Transformer", "trained"),
               ("<eot> -> linear\nprojection", "trained"), ("L2 normalise\nT_e", "fixed"),
               ("symmetric\ncross-entropy", "output")], title="text tower", ax=axes[1])
plt.tight_layout()
plt.show()

# %% [markdown]
# | paper statement (CLIP) | dfdlab function |
# |---|---|
# | Fig. 3: `I_e = l2_normalize(np.dot(I_f, W_i))`, `T_e = ...` | `TinyCLIP.encode_image`, `TinyCLIP.encode_text` |
# | Fig. 3: `logits = np.dot(I_e, T_e.T) * np.exp(t)` | `dfdlab.clip.tiny.similarity_logits` |
# | Fig. 3: `loss = (loss_i + loss_t) / 2` (cross-entropy over rows and columns) | `dfdlab.clip.tiny.clip_loss` |
# | §2.5: temperature initialised to 0.07, clipped so logits are scaled by at most 100 | `TinyCLIP.logit_scale`, `clamp_logit_scale` |
# | §2.4: text = the `[EOS]` token's activation of a causally masked Transformer | `dfdlab.clip.tiny.TextEncoder` |
# | §3.1.2: zero-shot classifier from the class captions | `dfdlab.clip.tiny.zero_shot` |
# | OpenAI's `encode_image` = `ln_post(x[:, 0, :]) @ proj` (ViT) | `dfdlab.clip.pretrained.image_features` |
# | OpenAI weights use QuickGELU `x * sigmoid(1.702 x)` | `dfdlab.clip.pretrained.load_clip` |
# | §3.1.4: prompt design and ensembling, averaged in embedding space | `dfdlab.clip.tiny.shape_prompts`, `class_embeddings`, `prompt_accuracies` |
# | §3.2: linear probe (logistic regression on frozen features); Fig. 6 zero-shot vs k-shot | `dfdlab.clip.tiny.linear_probe`, `zero_shot_vs_probe` |
# | §3.3: robustness to natural distribution shift (toy stand-in: `toydata.SHIFTED`) | `dfdlab.clip.tiny.zero_shot_vs_probe` |
#
# ## 3 · The data: shapes × colours × positions, with held-out compositions
#
# **中文要点**：
# - 4 种形状 × 5 种颜色 × 4 个位置 = 80 句描述，例如 "a red circle at the top left"。
# - 留出 16 个组合不参加训练：它们的每个词、每两个词的搭配都在训练里出现过，只有这三个词的组合没见过。
# - 所以在留出组合上的零样本准确率测的是"组合能力"，不是记忆。
#
# 4 shapes × 5 colours × 4 positions = 80 captions such as *"a red circle at the top left"*. We hold
# out 16 of them (`dfdlab.toydata.is_held_out`): every word, and even every *pair* of words, of a held-out caption
# appears in training, but never the triple. If the model understands "purple", "triangle" and
# "bottom right" separately, it can recognise a purple triangle at the bottom right it never saw.

# %%
train_comps, held_comps = toydata.split_compositions()
all_comps = toydata.all_compositions()
print(f"{len(train_comps)} training compositions, {len(held_comps)} held out; vocabulary {len(tiny.VOCAB)} tokens")
print("held out:", "; ".join(c.caption for c in held_comps[:6]), "; ...")

rng = np.random.default_rng(0)
fig, axes = plt.subplots(2, 8, figsize=(14, 4))
for ax, comp in zip(axes.flat, [train_comps[i] for i in rng.choice(64, 8, replace=False)] + held_comps[:8],
                     strict=True):
    ax.imshow(toydata.draw(comp, rng).transpose(1, 2, 0))
    ax.axis("off")
    ax.set_title(comp.caption.replace(" at the ", "\n"), fontsize=8,
                 color="crimson" if toydata.is_held_out(comp) else "black")
plt.suptitle("top: training compositions · bottom (red): held out, never seen in training")
plt.show()
print("tokens of the first caption:", tiny.tokenize(all_comps[0].caption)[0].tolist())

# %% [markdown]
# ## 4 · The contrastive loss, derived
#
# **中文要点**：
# - 一个 batch 有 N 对（图片，描述）；对每张图，N 句描述就是 N 个类别，正确的是它自己那一句：按行做交叉熵。
# - 对每句描述也按列做一次交叉熵，两者取平均，就是对称的 InfoNCE 损失。
# - 温度 exp(t) 决定 softmax 有多"尖"；CLIP 从 1/0.07 开始学习它，最大限制为 100。
#
# A batch holds N pairs (image *i*, caption *i*). The encoders give unit vectors `I_i` and `T_j`,
# and the logits are scaled cosine similarities
#
# $$\ell_{ij} = e^{t}\,\langle I_i, T_j\rangle .$$
#
# **Image → text.** For image *i*, the N captions are N classes and the right class is *i*:
# a softmax over row *i* and a cross-entropy,
# $\;L_I = -\frac{1}{N}\sum_i \log \frac{e^{\ell_{ii}}}{\sum_j e^{\ell_{ij}}}.$
#
# **Text → image.** The same over column *j*: $\;L_T = -\frac{1}{N}\sum_j \log
# \frac{e^{\ell_{jj}}}{\sum_i e^{\ell_{ij}}}.$ The loss is $L = (L_I + L_T)/2$: this is InfoNCE,
# a lower bound on the mutual information between the two views, used in both directions.
#
# **Temperature.** $e^t$ sets how peaked the softmax is. Cosines live in [−1, 1], so without a
# scale even a perfect match has probability at most $e^{1}/(e^{1} + (N-1)e^{-1})$, about 0.11 for
# N = 64. CLIP *learns* $t$, starting at $\log(1/0.07)$ ($e^t \approx 14.3$), and clips $e^t$ at
# 100 for stability. At initialisation all logits are about equal, so the loss starts at
# $\log N$ (4.16 for our N = 64).
#
# **Batch = one image of every training composition.** The other items of a batch are the
# negatives. Two items with the same caption would be *false* negatives, so each of our batches
# holds one freshly drawn image of each of the 64 training compositions (`composition_batch`).

# %%
print(inspect.getsource(tiny.similarity_logits))
print(inspect.getsource(tiny.clip_loss))

# check against the equations above, written with explicit log-softmaxes
torch.manual_seed(0)
I_e, T_e = F.normalize(torch.randn(8, 16), dim=-1), F.normalize(torch.randn(8, 16), dim=-1)  # as in Fig. 3
t = torch.tensor(math.log(1 / 0.07))
logits = tiny.similarity_logits(I_e, T_e, t)
L_I = -logits.log_softmax(dim=1).diag().mean()
L_T = -logits.log_softmax(dim=0).diag().mean()
print(f"clip_loss {tiny.clip_loss(logits).item():.6f} = (L_I + L_T)/2 {((L_I + L_T) / 2).item():.6f}")
assert abs(tiny.clip_loss(logits).item() - ((L_I + L_T) / 2).item()) < 1e-6

# %% [markdown]
# ## 5 · Train the tiny CLIP
#
# **中文要点**：
# - 图像塔是第 02 课的小 ViT，文本塔是一个 19 个词的因果 Transformer，两者投影到 32 维空间。
# - 每个 batch 恰好包含 64 个训练组合各一张新画的图，避免同一描述出现两次（假负例）。
# - 损失从 log 64（随机水平）开始下降，温度 exp(t) 随训练变大。
#
# Image tower: the ViT of lesson 02 (32×32 images, 4×4 patches, [CLS]). Text tower: a causal
# Transformer over the 19-token vocabulary, read at the `<eot>` token (as CLIP). Both project into
# a 32-d space. AdamW with warm-up and cosine decay; `logit_scale` clamped after every step.

# %%
result = tiny.train_tiny_clip(steps=cfg.steps, lr=cfg.lr, width=cfg.width, depth=cfg.depth, seed=0)
model = result.model
hist = pd.DataFrame(result.history)
print(f"{sum(p.numel() for p in model.parameters()):,} parameters")

fig, axes = plt.subplots(1, 3, figsize=(13, 3))
axes[0].plot(hist.step, hist.loss)
axes[0].axhline(np.log(64), ls="--", c="gray", label="log 64 (chance)")
axes[0].set(xlabel="step", ylabel="symmetric InfoNCE")
axes[0].legend()
axes[1].plot(hist.step, hist.batch_acc)
axes[1].set(xlabel="step", ylabel="in-batch image->text accuracy")
axes[2].plot(hist.step, hist.inverse_temperature)
axes[2].set(xlabel="step", ylabel="exp(logit_scale)")
plt.tight_layout()
plt.show()
print(hist.iloc[[0, len(hist) // 2, -1]].round(3).to_string(index=False))

# %% [markdown]
# ## 6 · The image–text similarity matrix
#
# **中文要点**：
# - 16 个留出组合各画一张新图，和 16 句留出描述两两计算余弦相似度。
# - 好的模型对角线最亮：每张图和它自己的描述最相似，尽管训练时从没见过这个组合。
#
# One new image of each held-out composition against the 16 held-out captions. A good model has a
# bright diagonal: each image is most similar to its own caption, which it never saw in training.

# %%
probe = tiny.Shapes(held_comps, 1, seed=99)
with torch.no_grad():
    sims = model.encode_image(probe.images) @ model.encode_text(tiny.tokenize([c.caption for c in held_comps])).T
fig, ax = plt.subplots(figsize=(8, 7))
im = ax.imshow(sims, cmap="viridis")
ax.set_xticks(range(16), [c.caption[2:].replace(" at the", ",") for c in held_comps], rotation=90, fontsize=7)
ax.set_yticks(range(16), [c.caption[2:].replace(" at the", ",") for c in held_comps], fontsize=7)
ax.set(xlabel="caption (held out)", ylabel="image (held-out composition)", title="cosine similarity")
plt.colorbar(im, fraction=0.046)
plt.tight_layout()
plt.show()
print(f"diagonal is the row maximum for {(sims.argmax(1) == torch.arange(16)).sum().item()} of 16 images")


# %% [markdown]
# ## 7 · Zero-shot accuracy on held-out compositions
#
# **中文要点**：
# - 每张测试图在全部 80 句描述中选最相似的一句（随机水平 1/80 = 1.25%）。
# - 分别统计形状、颜色、位置各自是否选对，并和训练组合的新图比较。
#
# For each test image, the model picks the most similar caption among **all 80** (chance 1/80 =
# 1.25 %). We also score each attribute of the chosen caption separately, and the training
# compositions on new images for comparison.

# %%
def zero_shot_table(comps, seed):
    data = tiny.Shapes(comps, cfg.test_per_composition, seed=seed)
    pred = tiny.zero_shot(model, data.images, all_comps)
    true = [data.compositions[j] for j in data.labels]
    chosen = [all_comps[i] for i in pred.tolist()]
    return {"top-1 (80 captions)": np.mean([c == t for c, t in zip(chosen, true, strict=True)]),
            "shape": np.mean([c.shape == t.shape for c, t in zip(chosen, true, strict=True)]),
            "colour": np.mean([c.colour == t.colour for c, t in zip(chosen, true, strict=True)]),
            "position": np.mean([c.position == t.position for c, t in zip(chosen, true, strict=True)])}

table = pd.DataFrame({"held-out compositions": zero_shot_table(held_comps, seed=123),
                      "training compositions (new images)": zero_shot_table(train_comps, seed=456),
                      "chance": {"top-1 (80 captions)": 1 / 80, "shape": 1 / 4, "colour": 1 / 5,
                                 "position": 1 / 4}}).T
print(f"{cfg.test_per_composition} new images per composition")
print(table.to_string(float_format=lambda v: f"{v:.1%}"))
held_acc = table.loc["held-out compositions", "top-1 (80 captions)"]
print(f"\nheld-out top-1 = {held_acc:.1%} = {held_acc * 80:.0f}x chance")

# %%
assert held_acc >= 3 / 80, f"zero-shot accuracy on held-out compositions {held_acc:.1%} is below 3x chance"

# %% [markdown]
# ## 8 · The embedding space
#
# **中文要点**：
# - 把图片向量（点）和描述向量（星）用 PCA 投到二维，按颜色和位置着色。
# - 模型分开的属性会变成空间里的方向和簇；大 CLIP 里图片和文字常常各占一块（"模态间隙"）。
#
# PCA of the image embeddings (dots) and the caption embeddings (stars), coloured by the
# shape's colour and by position. Attributes that the model separates become directions and
# clusters of the space, and each caption should sit among its images. (Large CLIPs often keep
# images and texts in two separate regions, the "modality gap": the loss only sees *relative*
# similarities, so nothing forces the two clouds to overlap.)

# %%
emb_data = tiny.Shapes(all_comps, 6, seed=7)
with torch.no_grad():
    img_emb = model.encode_image(emb_data.images).numpy()
    txt_emb = model.encode_text(tiny.tokenize([c.caption for c in all_comps])).numpy()
pca = PCA(2).fit(np.concatenate([img_emb, txt_emb]))
pi, pt = pca.transform(img_emb), pca.transform(txt_emb)
img_comps = [all_comps[j] for j in emb_data.labels]
colour_of = {n: np.array(rgb) for n, rgb in toydata.COLOURS.items()}
pos_cmap = dict(zip(toydata.POSITIONS, ["tab:blue", "tab:orange", "tab:green", "tab:red"], strict=True))
fig, axes = plt.subplots(1, 2, figsize=(13, 5.5))
for ax, key, title in ((axes[0], "colour", "coloured by colour"), (axes[1], "position", "coloured by position")):
    col_i = [colour_of[c.colour] if key == "colour" else pos_cmap[c.position] for c in img_comps]
    col_t = [colour_of[c.colour] if key == "colour" else pos_cmap[c.position] for c in all_comps]
    ax.scatter(pi[:, 0], pi[:, 1], c=col_i, s=10, alpha=0.6)
    ax.scatter(pt[:, 0], pt[:, 1], c=col_t, marker="*", s=160, edgecolors="black")
    ax.set(title=f"PCA of image (dots) and caption (stars) embeddings, {title}")
for p, c in pos_cmap.items():
    axes[1].scatter([], [], c=c, label=p)
axes[1].legend(fontsize=8)
plt.tight_layout()
plt.show()
print(f"explained variance of the 2 components: {pca.explained_variance_ratio_.sum():.0%}")

# %% [markdown]
# ## 9 · Prompt design and prompt ensembling (CLIP §3.1.4)
#
# **中文要点**：
# - 零样本分类时，类别要写成一句话（prompt）。只写类别名（"a circle"）是文本编码器训练时没见过的句子，效果差。
# - 把类别名放进和训练描述一样的句式里（prompt design），准确率会变；CLIP 在 ImageNet 上用 "A photo of a {label}." 提高了 1.3%。
# - 把很多个句式的文本向量取平均（prompt ensembling，在嵌入空间里平均），CLIP 在 ImageNet 上又提高了 3.5%。
#
# CLIP's text encoder saw whole sentences in training, never a bare class name. The paper found that
# wrapping the label in a sentence helps ("just using this prompt improves accuracy on ImageNet by
# 1.3%", for "A photo of a {label}."), and that averaging the text embeddings of many such sentences
# helps again (80 prompts: "an additional 3.5%", almost 5% together). The ensemble is built "over the
# embedding space instead of probability space": one averaged vector per class, computed once
# (`dfdlab.clip.tiny.class_embeddings`).
#
# Our version: classify the **shape** alone (4 classes, chance 25 %) with three kinds of prompts:
# the bare label `"a circle"`; one caption-shaped prompt such as `"a red circle at the top left"` (each
# of the 20 colour × position contexts in turn); and the ensemble of all 20 contexts.

# %%
prompt_data = tiny.Shapes(all_comps, cfg.probe_test_per_composition, seed=321)
prompt_acc = tiny.prompt_accuracies(model, prompt_data)
singles = pd.Series({k: v for k, v in prompt_acc.items()
                     if k not in ("bare", "ensemble", "single mean", "single min", "single max")})
fig, ax = plt.subplots(figsize=(10, 3))
ax.bar(range(len(singles)), singles.values, color="#9ecae1", label="one caption-shaped prompt (context)")
ax.axhline(prompt_acc["bare"], c="crimson", ls="--", label=f"bare label 'a circle' ({prompt_acc['bare']:.1%})")
ax.axhline(prompt_acc["ensemble"], c="black", label=f"ensemble of the 20 ({prompt_acc['ensemble']:.1%})")
ax.axhline(0.25, c="gray", ls=":", label="chance")
ax.set_xticks(range(len(singles)), singles.index, rotation=90, fontsize=7)
ax.set(ylabel="shape accuracy", title=f"zero-shot shape classification, {len(prompt_data)} images of all 80 compositions")
ax.legend(fontsize=7, loc="lower right")
plt.show()
print(f"shape accuracy: bare label {prompt_acc['bare']:.1%}; one caption-shaped prompt {prompt_acc['single min']:.1%} "
      f"to {prompt_acc['single max']:.1%} (mean {prompt_acc['single mean']:.1%}); ensemble {prompt_acc['ensemble']:.1%}")
print(inspect.getsource(tiny.class_embeddings))

# %% [markdown]
# ## 10 · Linear probe vs zero-shot, and a distribution shift (CLIP §3.2, §3.3)
#
# **中文要点**：
# - 线性探针（linear probe）：冻结图像编码器，只在它的特征上训练一个逻辑回归。UnivFD 就是这么做的。
# - CLIP 论文图 6：零样本 CLIP 的平均准确率相当于同一特征上用每类 4 张图训练的线性探针。我们在 80 类任务上画同样的曲线。
# - 分布偏移：CLIP 在 ImageNet 的各种偏移版本上比有监督模型稳健，这来自它 4 亿对多样的训练数据；我们的小 CLIP 只见过一种画法，换背景就失效。
#
# A **linear probe** freezes the image encoder and fits a logistic regression on its features (CLIP §3.2
# uses L-BFGS logistic regression; UnivFD's head is the same idea with a real/fake label). It needs
# labelled images of every class; zero-shot needs none. CLIP's Figure 6: "zero-shot CLIP matches the
# average performance of a 4-shot linear classifier trained on the same feature space". Here: the
# 80-way task (every composition a class, held-out ones included), zero-shot against k-shot probes.
#
# **Distribution shift** (§3.3): the same compositions drawn differently. `noise`: 4× the pixel noise;
# `shifted`: a bright background (brightness 0.45–0.6 instead of 0.05–0.2) and the same noise
# (`dfdlab.toydata.SHIFTED`). Both are stand-ins for the paper's ImageNet variants (sketches,
# renditions, ...), at toy scale.

# %%
probe = tiny.zero_shot_vs_probe(model, cfg.probe_shots, cfg.probe_test_per_composition, seed=0)
curve = pd.DataFrame(probe["probe"]).T
curve.index.name = "shots per class"
fig, axes = plt.subplots(1, 2, figsize=(12, 3.4))
for cond, style in (("clean", "o-"), ("noise", "s--"), ("shifted", "^:")):
    line = axes[0].plot(curve.index, curve[cond], style, label=f"linear probe, {cond}")[0]
    axes[0].axhline(probe["zero-shot"][cond], color=line.get_color(), lw=1, label=f"zero-shot, {cond}")
axes[0].axhline(1 / 80, c="gray", ls=":", label="chance (1/80)")
axes[0].set(xscale="log", xticks=list(curve.index), xticklabels=list(curve.index), xlabel="labelled images per class",
            ylabel="80-way accuracy", title="zero-shot vs k-shot linear probe (same frozen features)")
axes[0].legend(fontsize=7, ncol=2)
shifted_img = tiny.Shapes(all_comps[:4], 1, seed=5, **toydata.SHIFTED).images
clean_img = tiny.Shapes(all_comps[:4], 1, seed=5).images
axes[1].imshow(np.concatenate([np.concatenate(list(clean_img.permute(0, 2, 3, 1).numpy()), 1),
                               np.concatenate(list(shifted_img.permute(0, 2, 3, 1).clip(0, 1).numpy()), 1)], 0))
axes[1].set(title="clean (top) and shifted (bottom) drawings of the same captions")
axes[1].axis("off")
plt.tight_layout()
plt.show()
table = pd.DataFrame({"zero-shot": probe["zero-shot"], **{f"{k}-shot probe": v for k, v in probe["probe"].items()}}).T
print(table.to_string(float_format=lambda v: f"{v:.1%}"))
matched = [k for k, v in probe["probe"].items() if v["clean"] >= probe["zero-shot"]["clean"]]
print(f"\nzero-shot {probe['zero-shot']['clean']:.1%} on clean images; the smallest probe that matches it: "
      f"{f'{matched[0]} shots per class' if matched else 'none of ' + str(list(probe['probe']))}. "
      f"Noise costs zero-shot {probe['zero-shot']['clean'] - probe['zero-shot']['noise']:+.1%} and the "
      f"{max(probe['probe'])}-shot probe {probe['probe'][max(probe['probe'])]['clean'] - probe['probe'][max(probe['probe'])]['noise']:+.1%}; "
      f"on the bright background zero-shot scores {probe['zero-shot']['shifted']:.1%} (chance {1 / 80:.1%}).")

# %% [markdown]
# **The claims and their spread.** `benchmarks/quick_claims.py` retrained the tiny CLIP with 5 seeds
# on 1 and 2 threads and measured sections 7, 9 and 10 each time; the table puts this run beside it.

# %%
SWEPT = {"clip_heldout_top1": held_acc,
         "clip_prompt_context_gain": prompt_acc["single mean"] - prompt_acc["bare"],
         "clip_ensemble_gain": prompt_acc["ensemble"] - prompt_acc["single mean"],
         "clip_zero_shot_minus_1shot": probe["zero-shot"]["clean"] - probe["probe"][1]["clean"],
         "clip_16shot_minus_zero_shot": probe["probe"][16]["clean"] - probe["zero-shot"]["clean"],
         "clip_zero_shot_noise_drop": probe["zero-shot"]["clean"] - probe["zero-shot"]["noise"],
         "clip_probe_noise_drop": probe["probe"][16]["clean"] - probe["probe"][16]["noise"],
         "clip_zero_shot_shifted": probe["zero-shot"]["shifted"]}
# the lesson's asserts: each sits below the sweep's minimum (above its maximum for an upper bound)
# ("16-shot probe beats zero-shot" is shown, not asserted: one seed of the sweep gave -0.009)
ASSERTS = {"clip_heldout_top1": (">", 3 / 80), "clip_zero_shot_minus_1shot": (">", 0.02),
           "clip_zero_shot_shifted": ("<", 0.06)}
sweep = experiments.claim_sweep(list(SWEPT), this_run=SWEPT)
if len(sweep):
    print(experiments.sweep_caption(sweep))
    sweep["assert"] = sweep["claim"].map(lambda c: f"{ASSERTS[c][0]} {ASSERTS[c][1]:.3f}" if c in ASSERTS else "shown")
    sweep["margin"] = [(r["min"] - ASSERTS[r["claim"]][1] if ASSERTS[r["claim"]][0] == ">" else ASSERTS[r["claim"]][1] - r["max"])
                       if r["claim"] in ASSERTS else np.nan for _, r in sweep.iterrows()]
    display(sweep.set_index("statistic")[["this run", "mean", "sd", "min", "max", "assert", "margin"]].round(3))
    j = sweep.set_index("claim")
    print(f"Over the sweep, a caption-shaped prompt beats the bare label by {j.loc['clip_prompt_context_gain', 'min']:+.3f} "
          f"to {j.loc['clip_prompt_context_gain', 'max']:+.3f} shape accuracy, and the ensemble beats the mean single prompt "
          f"by {j.loc['clip_ensemble_gain', 'min']:+.3f} to {j.loc['clip_ensemble_gain', 'max']:+.3f}: "
          "small effects at this scale, shown and not asserted. Noise costs zero-shot "
          f"{j.loc['clip_zero_shot_noise_drop', 'min']:+.3f} to {j.loc['clip_zero_shot_noise_drop', 'max']:+.3f} and the "
          f"16-shot probe {j.loc['clip_probe_noise_drop', 'min']:+.3f} to {j.loc['clip_probe_noise_drop', 'max']:+.3f}.")
else:
    print("no committed sweep for these claims here (run benchmarks/quick_claims.py)")
for claim, (side, bound) in ASSERTS.items():
    value = SWEPT[claim]
    assert value > bound if side == ">" else value < bound, f"{claim} = {value:.3f}, the lesson asserts {side} {bound}"

# %% [markdown]
# ## 11 · Why UnivFD picks CLIP
#
# **中文要点**：
# - UnivFD 的观察：端到端训练的真/假分类器只学会了训练用的那个生成器的痕迹，"假"以外的都当成"真"。
# - 所以它不训练特征，只用一个没为这个任务训练过、见过海量多样图片的特征空间（CLIP ViT-L/14），上面放最近邻或线性探针。
# - 论文比较了 ImageNet 预训练的骨干网络和 CLIP，CLIP 的特征泛化到没见过的生成器最好（第 04 课）。
#
# Three facts from this lesson carry over to lesson 04:
# 1. **A frozen feature space + a linear probe** is a classifier that needs few labels (section 10):
#    UnivFD's detector is exactly a logistic regression (or nearest neighbour) on frozen CLIP ViT-L/14
#    features, trained on real vs ProGAN images.
# 2. **Features not trained for the task** cannot over-fit to it. UnivFD's argument is that a real/fake
#    classifier trained end to end learns the artefacts of its training generator, and every image
#    without them lands in "real"; CLIP's features were learned from 400 M image–caption pairs for a
#    different goal, so they keep information about images that no detector training removed.
# 3. **Robustness comes from the data, not from the loss.** Our tiny CLIP was trained with CLIP's loss
#    but on one way of drawing, and a new background breaks it (section 10). CLIP's robustness to
#    distribution shift (§3.3) comes with its broad training data; that breadth is what UnivFD buys by
#    freezing CLIP instead of an ImageNet classifier, and lesson 04 compares the two backbones.
#
# ## 12 · Pretrained CLIP: OpenAI ViT-L/14 through open_clip
#
# **中文要点**：
# - UnivFD 冻结 OpenAI 的 CLIP ViT-L/14，每张图读出一个向量；要和论文一致，三个细节缺一不可。
# - QuickGELU：OpenAI 训练时用的激活函数，和 open_clip 默认的 GELU 不同，24 层累积下来特征就变了。
# - fp32，以及取投影之后的 768 维 [CLS] 向量（而不是投影前的 1024 维）。
#
# UnivFD (lesson 04) freezes OpenAI's CLIP ViT-L/14 and reads one vector per image. Three details
# decide whether our vector equals the one the paper's linear head was trained on
# (`dfdlab.clip.pretrained`; UnivFD `models/clip_models.py`; `docs/univfd.md`):
#
# 1. **QuickGELU.** OpenAI trained CLIP with `QuickGELU(x) = x · sigmoid(1.702 x)`, a fast
#    approximation of GELU, in every MLP. open_clip's plain `ViT-L-14` config uses the exact
#    `nn.GELU` (its LAION models were trained with it). Loading OpenAI weights into the GELU
#    network gives a *different* network: the small difference below is applied 24 times in the
#    image tower and compounds. `load_clip` therefore builds OpenAI weights with `quick_gelu=True`
#    (open_clip's `ViT-L-14-quickgelu`); the unit tests show the GELU variant disagreeing.
# 2. **fp32.** OpenAI ships most weights in fp16; the official UnivFD code calls `model.float()`
#    and runs on fp32. So does `load_clip` (fp16 values cast exactly to fp32).
# 3. **The right vector.** `encode_image(x) = ln_post(x[:, 0, :]) @ proj`: the [CLS] token after
#    the final LayerNorm and the 1024→768 projection, **not** L2-normalised.
#    `image_features(model, x, projected=False)` gives the 1024-d token before `proj`.
#
# Loading: `load_clip("ViT-L-14", pretrained_tag="openai")` asks the asset registry
# (`dfdlab.hub`, asset `clip-vit-l-14-openai`) for OpenAI's `ViT-L-14.pt`;
# `load_clip("ViT-L-14", weights=PATH)` reads a TorchScript archive, an OpenAI state dict or an
# open_clip checkpoint (strict: every tensor must fit).

# %%
xs = torch.linspace(-4, 4, 801)
quick_gelu = xs * torch.sigmoid(1.702 * xs)
gap = (quick_gelu - F.gelu(xs)).abs()
fig, axes = plt.subplots(1, 2, figsize=(10, 3))
axes[0].plot(xs, F.gelu(xs), label="GELU (open_clip ViT-L-14)")
axes[0].plot(xs, quick_gelu, "--", label="QuickGELU (OpenAI)")
axes[0].legend()
axes[0].set(xlabel="x")
axes[1].plot(xs, gap)
axes[1].set(xlabel="x", ylabel="|QuickGELU - GELU|")
plt.tight_layout()
plt.show()
print(f"largest gap {gap.max():.4f} at x = {xs[gap.argmax()]:.2f}: per activation, in all 24 MLPs of the image tower")
print(inspect.signature(pretrained.load_clip), "->", "(model, preprocess)")
print(inspect.signature(pretrained.image_features))

# %% [markdown]
# ### Zero-shot on the bundled photographs (full profile, needs the OpenAI weights)
#
# Seven photographs shipped with scikit-image and matplotlib, ten prompts `"a photo of {label}"`.
# ViT-L/14 runs at about 1 image/s on a CPU, so this section belongs to the full profile.

# %%
if not cfg.pretrained_section:
    print("Skipped: the pretrained ViT-L/14 section runs in the full profile only (OpenAI's ViT-L-14.pt, 890 MB).")
elif not hub.available("clip-vit-l-14-openai"):
    print("Skipped: OpenAI's CLIP ViT-L/14 weights are absent; get them with `dfdlab assets --fetch clip-vit-l-14-openai`.")
else:
    import open_clip
    from matplotlib import cbook
    from PIL import Image
    from skimage import data as skdata

    clip_model, preprocess = pretrained.load_clip("ViT-L-14", pretrained_tag="openai", device=dfdlab.device())
    photos = {name: Image.fromarray(getattr(skdata, name)()).convert("RGB")
              for name in ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "horse")}
    with cbook.get_sample_data("grace_hopper.jpg") as f:
        photos["grace_hopper"] = Image.open(f).convert("RGB")
    truth = {"astronaut": "an astronaut", "coffee": "a cup of coffee", "chelsea": "a cat",
             "rocket": "a rocket", "hubble_deep_field": "galaxies in deep space",
             "horse": "the silhouette of a horse", "grace_hopper": "a woman in a military uniform"}
    labels = sorted(set(truth.values()) | {"a dog", "a car", "a bowl of soup"})
    tokenizer = open_clip.get_tokenizer("ViT-L-14")
    dev = dfdlab.device()
    with torch.no_grad():
        text = F.normalize(clip_model.encode_text(tokenizer([f"a photo of {label}" for label in labels]).to(dev)), dim=-1)
        images = torch.stack([preprocess(im) for im in photos.values()]).to(dev)
        feats = pretrained.image_features(clip_model, images)          # 768-d, as UnivFD
        probs = (100.0 * F.normalize(feats, dim=-1) @ text.T).softmax(-1).cpu()
    rows = [{"photo": n, "prediction": labels[p.argmax()], "p": p.max().item(), "correct": labels[p.argmax()] == truth[n]}
            for n, p in zip(photos, probs, strict=True)]
    zs = pd.DataFrame(rows)
    print(zs.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    print(f"zero-shot top-1: {zs.correct.mean():.0%} of {len(zs)} photos (chance {1 / len(labels):.0%})")
    print(f"image feature: {tuple(feats.shape)}, norm {feats.norm(dim=-1).mean():.2f} (not L2-normalised)")
    if dfdlab.config.rehearsal():  # the replica's small random CLIP: the pipeline ran, the accuracy means nothing
        print(dfdlab.config.labelled("zero-shot accuracy not checked"))
    else:
        assert zs.correct.mean() >= 0.75

# %% [markdown]
# ## 练习 · Exercises
#
# 1. 把温度固定为 `exp(t) = 1`（`logit_scale` 设为 0 并从优化器中去掉）重新训练，损失的下限和留出组合准确率怎么变？为什么？ ·
#    Freeze the temperature at `exp(t) = 1` (set `logit_scale` to 0 and exclude it from the optimiser) and
#    retrain. What happens to the loss floor and the held-out accuracy? Why?
# 2. 在一个 batch 里放两张同一组合的图（假负例），手写这个 batch 并比较损失曲线。CLIP 的网络数据为什么很少出现这种情况？ ·
#    Put two images of the *same* composition in one batch (false negatives). Write the batch by hand and
#    compare the loss curve. How does CLIP's web-scale data make this rare?
# 3. 改成留出"两个词的搭配"（例如训练中从不出现紫色三角形），零样本组合还行吗？哪个属性先失败？ · Hold out
#    *pairs* instead of triples: e.g. never show a purple triangle anywhere. Does zero-shot composition still
#    work? Which attribute fails first?
# 4. 把文本编码器换成词袋（token 嵌入求和，没有注意力），哪些描述分不开了？ · Replace the text encoder by a
#    bag of words (sum of token embeddings, no attention). Which captions can it no longer tell apart?
#    (Hint: none here, but think of "a red circle left of a blue square".)
# 5. 第 9 节：在概率空间里集成（对 20 个 prompt 的 softmax 概率取平均）而不是在嵌入空间里，结果一样吗？哪种更省计算？ ·
#    Section 9: ensemble in probability space (average the softmax over the 20 prompts) instead of the
#    embedding space. Same accuracy? Which is cheaper when there are 1000 classes and 80 prompts?
# 6. 第 10 节：把一部分"偏移"图片（亮背景）加进线性探针的训练数据，偏移条件下的准确率能恢复多少？零样本呢？ ·
#    Section 10: add some shifted (bright-background) images to the probe's training data. How much of the
#    shifted accuracy comes back for the probe, and can zero-shot gain anything without retraining CLIP?
# 7. 用 ViT-L/14 的权重：比较 `image_features(model, x, projected=False)`（1024 维）和投影后的 768 维向量作为
#    迷你基准上线性探针的输入；再用 `quick_gelu=False` 加载，看 768 维特征移动了多少。 · With the ViT-L/14
#    weights: compare `image_features(model, x, projected=False)` (1024-d) and the 768-d projected vector as
#    inputs to a linear probe on the mini benchmark (UnivFD used the projected one). Also load the weights
#    with `quick_gelu=False` and measure how far the 768-d features move.
