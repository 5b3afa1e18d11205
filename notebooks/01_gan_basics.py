# %% [markdown]
# # 01 · GAN basics and the mini benchmark
#
# **术语表 · Glossary**: one name per term for the whole course: [术语表.md](术语表.md).
#
# ## 简要介绍
# 本课从零讲解生成对抗网络（GAN）：极小极大目标与非饱和损失、DCGAN 结构，并在 CPU 上现场训练一个小 DCGAN（损失曲线与样本网格）。随后说明为什么**上采样层会留下痕迹**：转置卷积核重叠不均匀产生棋盘格，最近邻/双线性插值产生复制与平滑的周期结构，并在高通残差的平均频谱中看到这些痕迹。最后展示 dfdlab 如何用自己训练的生成器（四种上采样方式的 DCGAN、自编码器、仅上采样伪造）构建后续各课使用的**迷你基准**（mini-ForenSynths），并给出构建时间与规模。
#
# ## Summary
# We build a GAN from the objective up: the minimax game and the non-saturating loss, the DCGAN
# architecture, and a short live training run on the CPU (loss curves, sample grids). Then we
# look at *why up-sampling leaves traces*: uneven kernel overlap in transposed convolutions
# (checkerboards), copies from nearest-neighbour and smoothing from bilinear up-sampling, and how
# all of this shows up in the average spectrum of high-pass residuals. Finally we show how the lab
# turns its own small generators (DCGANs with four up-sampling layers, an autoencoder, and
# up-sampling-only fakes) into the **mini benchmark** every later lesson trains and tests on.
#
# **What you will learn**
# - the GAN objective (minimax, non-saturating) and the DCGAN recipe, in code (`dfdlab.gan`);
# - why up-sampling layers leave periodic traces, and how to see them in the frequency domain (`dfdlab.viz.frequency`);
# - how the mini benchmark is built, split and laid out (`dfdlab.data.build_mini`).
#
# **Runtime.** quick (CPU, 2 cores): about a minute, plus the mini build if it is not cached yet
# (a few minutes, once; the tests build it first). full (GPU): a few minutes; the longer GAN
# training is the only difference.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import clear_output, display

import dfdlab
from dfdlab import gan
from dfdlab.data import mini
from dfdlab.viz import frequency
from dfdlab.viz.grids import show_grid

cfg = dfdlab.settings(
    quick={"train_iters": 120, "batch_size": 32, "ngf": 16, "n_crops": 512, "plot_every": 40, "threads": 1},
    full={"train_iters": 3000, "batch_size": 64, "ngf": 64, "n_crops": 8192, "plot_every": 250, "threads": 0},
)
if cfg.threads:
    torch.set_num_threads(cfg.threads)  # tiny models: one thread is faster than two on a busy 2-core CPU
dfdlab.seed_everything(0)

# %% [markdown]
# ## 1. The GAN objective
#
# A generator $G$ maps noise $z \sim p_z$ to images; a discriminator $D$ outputs the probability
# that its input is real. Goodfellow et al. (2014, Eq. 1) write the game as
#
# $$\min_G \max_D \; V(D,G) = \mathbb{E}_{x\sim p_\text{data}}[\log D(x)] + \mathbb{E}_{z\sim p_z}[\log(1-D(G(z)))].$$
#
# For a fixed $G$ the best $D$ is $D^*(x)=p_\text{data}(x)/(p_\text{data}(x)+p_g(x))$, and then the
# game minimises the Jensen–Shannon divergence between $p_\text{data}$ and $p_g$.
#
# Early in training $D$ rejects fakes easily, $D(G(z))\approx 0$, where $\log(1-D(G(z)))$ is flat:
# the generator gets almost no gradient. The same paper (Sec. 3) therefore trains $G$ to
# **maximise $\log D(G(z))$** instead, the *non-saturating* loss
#
# $$\mathcal{L}_G = -\mathbb{E}_z[\log D(G(z))], \qquad \mathcal{L}_D = -\mathbb{E}_x[\log D(x)] - \mathbb{E}_z[\log(1-D(G(z)))].$$
#
# With logits $\ell$ ($D=\sigma(\ell)$) these are binary cross-entropies: `dfdlab.gan.discriminator_loss`,
# `generator_loss_nonsaturating`, `generator_loss_minimax`. The gradients tell the story:

# %%
logits = torch.linspace(-8, 4, 200, requires_grad=True)
g_ns, = torch.autograd.grad(gan.generator_loss_nonsaturating(logits) * len(logits), logits)
g_mm, = torch.autograd.grad(gan.generator_loss_minimax(logits) * len(logits), logits)
d = torch.sigmoid(logits).detach()
fig, ax = plt.subplots(figsize=(5, 3))
ax.semilogy(d, g_mm.abs(), label="minimax  log(1 - D(G(z)))")
ax.semilogy(d, g_ns.abs(), label="non-saturating  -log D(G(z))")
ax.set_xlabel("D(G(z))")
ax.set_ylabel("|dL_G / d logit|")
ax.legend(fontsize=8)
plt.show()
at = torch.argmin((d - 0.01).abs())
ratio_ns_mm = float(g_ns[at].abs() / g_mm[at].abs())
print(f"when D(G(z)) = 0.01 the non-saturating gradient is {ratio_ns_mm:.0f}x larger")
assert ratio_ns_mm > 50

# %% [markdown]
# ## 2. DCGAN
#
# DCGAN (Radford et al., ICLR 2016) fixed a recipe that made GANs train reliably: no pooling
# (strided convolutions in $D$, **stride-2 up-sampling** in $G$), BatchNorm, ReLU in $G$ (Tanh at the
# output), LeakyReLU(0.2) in $D$, weights $\mathcal{N}(0, 0.02)$, Adam with lr $2\cdot10^{-4}$ and
# $\beta_1=0.5$. Our `dfdlab.gan.Generator` keeps all of that and makes the **up-sampling layer a
# parameter**: `"transposed"` (DCGAN's own `ConvTranspose2d(k=4, s=2)`), `"nearest"` and
# `"bilinear"` (interpolate ×2, then a 3×3 conv) and `"pixelshuffle"` (3×3 conv to 4× channels,
# then rearrange). That single choice is what later lessons' detectors will (or will not) pick up.

# %%
rows = []
for up in gan.UPSAMPLERS:
    G = gan.Generator(ngf=cfg.ngf, upsample=up)
    rows.append({"upsample": up, "x2 layer": str(G.net[3]).replace("\n", " ")[:70],
                 "G parameters": sum(p.numel() for p in G.parameters())})
display(pd.DataFrame(rows))
print(gan.Discriminator(ndf=cfg.ngf))

# %% [markdown]
# ## 3. Training a DCGAN on the CPU
#
# We train the transposed-convolution DCGAN on random 64×64 crops of the bundled photographs
# (the *train* photos of the mini benchmark). `train_gan` runs one $D$ step and one $G$ step per
# iteration and calls back after each step; we redraw the loss curves every few steps.

# %%
photos = mini.load_photos()
crops, sources = mini.random_crops(photos["train"], cfg.n_crops, seed=0)
images = mini.to_tensor(crops)
print(f"{len(crops)} real crops from {len(set(sources))} train photos:", sorted(set(sources)))
show_grid(crops[:12], ncols=12, size=1.0, suptitle="real training crops")
plt.show()

G = gan.Generator(ngf=cfg.ngf, upsample="transposed")
D = gan.Discriminator(ndf=cfg.ngf)
history = []

def live_plot(step, rec):
    history.append(rec)
    if step % cfg.plot_every == 0 or step == cfg.train_iters:
        clear_output(wait=True)
        h = pd.DataFrame(history)
        fig, ax = plt.subplots(1, 2, figsize=(9, 2.6))
        h.plot(x="iter", y=["loss_D", "loss_G"], ax=ax[0], title=f"losses (step {step})")
        h.plot(x="iter", y=["D_real", "D_fake"], ax=ax[1], title="D(x) and D(G(z))")
        plt.show()

t0 = time.perf_counter()
run = gan.train_gan(G, D, images, iters=cfg.train_iters, batch_size=cfg.batch_size, seed=0,
                    sample_every=cfg.train_iters // 3, n_samples=12, callback=live_plot, progress=False)
train_seconds = time.perf_counter() - t0
print(f"{cfg.train_iters} iterations in {train_seconds:.1f} s")
for step, s in run.samples.items():
    show_grid(s, ncols=12, size=1.0, suptitle=f"samples after {step} iterations (fixed z)")
    plt.show()
h = pd.DataFrame(run.history)
assert np.isfinite(h[["loss_D", "loss_G"]].values).all()

# %% [markdown]
# After a hundred steps the samples are colour blobs and textures, not photographs, but they are
# already **GAN outputs**: every pixel went through four ×2 up-sampling layers. That is all the
# detectors in this course need, and it is why the lab can build its own benchmark on a CPU.
#
# ## 4. Why up-sampling leaves traces
#
# **Transposed convolution.** A stride-$s$ transposed convolution stamps a $k\times k$ kernel at
# every $s$-th output pixel. If $k$ is not divisible by $s$, output pixels receive different
# numbers of taps: a **checkerboard** (Odena et al., Distill 2016). With DCGAN's $k=4, s=2$ the
# counts are even in the interior, but each of the four output *phases* (even/odd row × column) is
# computed by its own 2×2 sub-kernel, so unless training makes the four sub-kernels agree, the
# output still alternates with period 2.

# %%
frequency.plot_checkerboard()
plt.show()
torch.manual_seed(0)
layer = torch.nn.ConvTranspose2d(1, 1, 4, 2, 1, bias=False)
with torch.no_grad():
    out = layer(torch.ones(1, 1, 8, 8))[0, 0, 2:-2, 2:-2]
phase_means = [[float(out[a::2, b::2].mean()) for b in (0, 1)] for a in (0, 1)]
print("constant input through a random k=4, s=2 transposed conv; mean per output phase:", np.round(phase_means, 3))
sub = layer.weight[0, 0].detach()
# with padding 1, even output rows/columns take the odd kernel taps and vice versa
sub_sums = [[float(sub[1 - a::2, 1 - b::2].sum()) for b in (0, 1)] for a in (0, 1)]
print("sum of the 2x2 sub-kernel behind each phase:               ", np.round(sub_sums, 3))
assert np.allclose(phase_means, sub_sums, atol=1e-6)  # four phases, four different filters: period-2 pattern

# %% [markdown]
# **Nearest and bilinear.** Nearest-neighbour ×2 copies each pixel into a 2×2 block; bilinear
# interpolates between neighbours. Either way the value at an odd position is a *function of its
# neighbours*. This is exactly what NPR (lesson 05) measures: $x - \mathrm{up}(\mathrm{down}(x))$ is zero
# wherever a pixel is a copy.

# %%
x = images[:1]
down = torch.nn.functional.avg_pool2d(x, 2)
ups = {"nearest": torch.nn.functional.interpolate(down, scale_factor=2, mode="nearest"),
       "bilinear": torch.nn.functional.interpolate(down, scale_factor=2, mode="bilinear", align_corners=False)}
def npr_like(t):  # x - nearest(x[::2, ::2]): the copy-residual NPR uses
    return t - torch.nn.functional.interpolate(t[..., ::2, ::2], scale_factor=2, mode="nearest")
panels = [x[0], ups["nearest"][0], ups["bilinear"][0], npr_like(x)[0].abs().mean(0),
          npr_like(ups["nearest"])[0].abs().mean(0), npr_like(ups["bilinear"])[0].abs().mean(0)]
show_grid(panels, ["real crop", "nearest x2", "bilinear x2", "|NPR| real", "|NPR| nearest", "|NPR| bilinear"], ncols=6, size=1.6)
plt.show()
print("mean |NPR|: real %.4f, nearest %.4f, bilinear %.4f" % tuple(float(npr_like(t).abs().mean()) for t in (x, ups["nearest"], ups["bilinear"])))
assert float(npr_like(ups["nearest"]).abs().max()) == 0.0

# %% [markdown]
# ## 5. The mini benchmark
#
# `dfdlab.data.build_mini()` trains four DCGANs (one per up-sampling layer) on the real *train*
# crops, fits an autoencoder (whose decoder uses $k=3, s=2$ transposed convolutions) and an
# up-sampling-only model (area down ×2, nearest up ×2, a small conv stack), and writes:
#
# ```
# <root>/train/photos/{0_real,1_fake}    real train crops | dcgan_transposed   (the train family, like ProGAN)
# <root>/val/photos/{0_real,1_fake}      real val crops   | dcgan_transposed
# <root>/test/<generator>/{0_real,1_fake}  real test crops | each of the six generators
# <root>/models/<generator>.pth          the trained generators (dfdlab.gan.load_pair)
# <root>/manifest.csv, build_info.json
# ```
#
# Real crops are down-sampled with LANCZOS, so they carry no up-sampling traces. Photos are split
# **by source**: the test photos never feed training (`source` column of the manifest). The build is
# deterministic from its seed and cached under `DFDLAB_HOME`; the tests build it first, so here it
# is a cache hit.

# %%
t0 = time.perf_counter()
root = dfdlab.data.build_mini()
lookup_seconds = time.perf_counter() - t0
info = mini.build_info(root)
man = pd.read_csv(root / "manifest.csv")
print(root)
print(f"build_mini() returned in {lookup_seconds:.2f} s (cache); the build itself took {info['seconds']} s "
      f"with {info.get('workers', 1)} worker process(es): {info['n_images']} images, {info['bytes'] / 1e6:.1f} MB on disk")
print("per-stage seconds:", {k: round(v) for k, v in info["timings"].items()})
display(man.pivot_table(index=["split", "generator"], columns="label", values="path", aggfunc="count")
          .rename(columns={0: "real", 1: "fake"}))
display(man[man.label == 0].groupby("split").source.unique().apply(sorted).to_frame("source photos"))
photo_rows = man[man.source != "latent"]  # GAN samples come from latents, not photos
assert not set(photo_rows[photo_rows.split == "train"].source) & set(photo_rows[photo_rows.split == "test"].source)

# %%
from PIL import Image

panels, titles = [], []
for gen in mini.GENERATORS:
    files = sorted((root / "test" / gen / "1_fake").glob("*.png"))[:4]
    panels += [Image.open(f).convert("RGB") for f in files]
    titles += [gen] + [""] * 3
show_grid(panels, titles, ncols=8, size=1.2, suptitle="fakes from the six test generators")
plt.show()
G_mini, D_mini = gan.load_pair(root / "models" / "dcgan_nearest.pth")
print("reloaded", G_mini.upsample, "generator; its loss history has", len(gan.load_history(root / "models" / "dcgan_nearest.pth")), "steps")

# %% [markdown]
# ## 6. Spectra of real crops and of each family
#
# We take a high-pass residual (grey image minus its 3×3 local mean), Fourier-transform it and
# average $\log|\mathcal{F}|$ over the test images of each generator (`frequency.average_spectrum`).
# Up-sampling by 2 puts energy at the frequencies $k\cdot N/2$ (and $k\cdot N/4$, $k\cdot N/8$ for the
# earlier ×2 stages): bright points on a grid. Real crops show a smooth spectrum.

# %%
spectra, rows = {}, []
from sklearn.metrics import average_precision_score

real_all = frequency.as_tensor(root / "test" / mini.TRAIN_GENERATOR / "0_real")
spectra["real"] = frequency.average_spectrum(real_all)
for gen in mini.GENERATORS:
    real = frequency.as_tensor(root / "test" / gen / "0_real")
    fake = frequency.as_tensor(root / "test" / gen / "1_fake")
    spectra[gen] = frequency.average_spectrum(fake)
    r_real, r_fake = frequency.upsampling_energy_ratio(real), frequency.upsampling_energy_ratio(fake)
    y = np.r_[np.zeros(len(r_real)), np.ones(len(r_fake))]
    rows.append({"generator": gen, "up-sampling": mini.GENERATORS[gen][1],
                 "peak/rest energy, real (x)": 10 ** r_real.mean(), "peak/rest energy, fake (x)": 10 ** r_fake.mean(),
                 "fake / real": 10 ** (r_fake.mean() - r_real.mean()),
                 "AP of this one number": average_precision_score(y, np.r_[r_real, r_fake]),
                 "spectrum distance to real": frequency.spectrum_distance(spectra[gen], spectra["real"])})
frequency.plot_spectra(spectra, ncols=7, size=2.0)
plt.show()
frequency.plot_spectra(spectra, ncols=7, size=2.0, relative_to="real", suptitle="difference to the real spectrum")
plt.show()
table = pd.DataFrame(rows).set_index("generator").round(3)
display(table)

# %% [markdown]
# The "peak/rest energy" columns are geometric means over images of the residual power at the
# up-sampling frequencies divided by the power elsewhere (`frequency.upsampling_energy_ratio`, period 8).
# The AP column scores real vs fake test images by that single number (no training at all).

# %%
ratio = table.loc["dcgan_transposed", "fake / real"]
print(f"transposed-conv fakes carry {ratio:.1f}x the real crops' relative energy at the up-sampling frequencies")
assert ratio > 3, ratio
assert table["AP of this one number"].max() > 0.9
# the families differ from one another, not only from the real crops
half = len(real_all) // 2
real_vs_real = frequency.spectrum_distance(frequency.average_spectrum(real_all[:half]), frequency.average_spectrum(real_all[half:]))
pairs = {(a, b): frequency.spectrum_distance(spectra[a], spectra[b]) for a in mini.GENERATORS for b in mini.GENERATORS if a < b}
print(f"spectrum distance real/real {real_vs_real:.3f}; closest pair of families {min(pairs, key=pairs.get)}: {min(pairs.values()):.3f}")
assert min(pairs.values()) > 3 * real_vs_real

# %% [markdown]
# **What to take away.** The transposed-convolution and pixel-shuffle families are easy for a
# spectral feature; nearest and up-sampling-only fakes are much harder, because copying pixels
# *removes* energy at $N/2$ instead of adding a peak. A detector trained only on `dcgan_transposed`
# (the train family) may therefore generalise unevenly across the test columns: that is the
# cross-generator question lessons 04–07 ask with UnivFD, NPR and LGrad.
#
# Stand-in note: all fakes here are from **our own small generators** (stand-ins for ProGAN,
# StyleGAN, … of the ForenSynths benchmark); the numbers describe this mini benchmark only.
#
# ## 练习 (Exercises)
# 1. Train the generator with `gan.generator_loss_minimax` instead of the non-saturating loss (copy
#    `train_gan`'s loop): how do `D_fake` and the samples behave in the first 100 steps?
# 2. Train a `"nearest"` and a `"bilinear"` generator for the same number of steps and compare their
#    average spectra with `frequency.plot_spectra`. Where does the energy go?
# 3. Change `kernel_overlap(k, s)` to $k=5, s=2$ and $k=6, s=3$. Which settings give an even overlap?
# 4. Compute `frequency.upsampling_energy_ratio(..., period=2)` instead of 8. Which families lose
#    their separability, and why (think about which ×2 stage each period sees)?
# 5. Build a second mini benchmark with `dfdlab.data.build_mini(seed=1)` and check that its
#    `sha256` column differs from seed 0 but a rebuild with seed 0 is identical.
