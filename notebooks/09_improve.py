# %% [markdown]
# # 09 · 改进与创新: your own detector, scored where the papers' detectors are scored
#
# **术语表 · Glossary**: one name per term for the whole course: [术语表.md](术语表.md).
#
# **简要介绍.** 小组第一次会议的总结写道"期待能够听到改进和创新"。这一课给出做改进的完整路径：
# 一个检测器就是**一个 Python 文件**（一个带 `@register` 装饰器的类、它每个划分的预处理、它的
# 训练配方和快速模型库条目），放在包外面，用 `DFDLAB_PLUGINS` 或 `dfdlab --plugin 文件.py`
# 加载，就能用于 `dfdlab train`、`dfdlab eval --suite`、快速模型库、复现账本和演示小工具，
# 不需要改 dfdlab 的任何代码。`dfdlab new-detector 名字` 会写出一个能直接运行的模板。
# 本课写一个**我们自己的实验性检测器**（不是任何论文的方法）：把 2×2 和 4×4 两种窗口的 NPR
# 残差叠在一起，送进一个小 CNN；用与 NPR 完全相同的配方、预算和训练种子训练它，在迷你基准的
# 每个测试生成器上打分，和 CNNDetection、UnivFD、NPR、LGrad 放进**同一张表**，并给出种子间的
# 波动，让大家判断差别是否大于噪声。最后列出领域里可以作为起点的想法。
#
# **English summary.** A detector is one Python file outside the package: a class with the
# interface of `dfdlab.detectors`, registered with the registry's own decorator, with its
# pipelines per split and benchmark, its recipe and its quick-zoo entry. `DFDLAB_PLUGINS` or
# `dfdlab --plugin FILE.py` makes it available to `dfdlab train`, `dfdlab eval --suite`, the zoo,
# the ledger and the demo widget, with no edit to dfdlab; `dfdlab new-detector NAME` writes a
# working template. We write our own **experiment** (not a paper's method): NPR residuals of 2×2
# and 4×4 windows stacked into a small CNN, train it with NPR's recipe, budget and seeds, score
# it on every mini-benchmark generator in one table with the four papers' detectors from the
# quick zoo, with the spread over training seeds, and end with ideas from the field.
#
# **You will learn**
# - what makes a detector a dfdlab detector, and how to load one from your own folder;
# - how to make a comparison fair by construction (same data, budget, seeds, metrics) and how the
#   table refuses an unfair one;
# - how to read a difference against the spread over training seeds;
# - where to start an idea of your own (a list from the field).
#
# **Runtime.** Quick profile (CPU, mini benchmark, one thread), with the quick zoo of lesson 07
# cached: the first run trains the new detector on three seeds and NPR on two more (measured in
# course order, README's lesson table: 2 min 7 s; the scores of lesson 07's four models are read back,
# `zoo.evaluate_quick`); a rerun finds every seed and every score cached (10 s). Without the zoo, lesson 07's training comes first (about 3 minutes). Full profile (one
# GPU): the new detector has no published checkpoint, so it is scored on the suites only when it
# was trained with NPR's paper recipe (`TRAIN_PAPER_RECIPE = True`: 50 epochs over 4-class ProGAN,
# several hours on one GPU, an estimate from the image counts, not a measurement); otherwise the
# lesson says so and skips that step. `make rehearse` runs that full path (one training step,
# then the suites) on a miniature replica in seconds.

# %%
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

import dfdlab
from dfdlab import detectors, experiments, hub, ledger, plugins, suites, widgets, zoo
from dfdlab.data import generator_sets, read_manifest
from dfdlab.detectors.univfd import univfd_subset

T_START = time.time()
# Full profile only: True trains the new detector with NPR's paper recipe (4-class ProGAN, 50 epochs: hours on
# a GPU) and scores it on the suites beside the published NPR.pth. A rehearsal trains for one step instead.
TRAIN_PAPER_RECIPE = False
# Quick profile: True trains CNNDetection, UnivFD and LGrad on every seed of the settings too (each seed costs
# their zoo training time again, printed in section 4; cached afterwards); False keeps them at the zoo's seed.
SAME_SEEDS_FOR_ALL = False
cfg = dfdlab.settings(
    quick={"data": "mini-ForenSynths (built here)", "seeds": [100, 1, 2], "test_per_class": 100,
           "train_classes": ["photos"], "epochs": 4, "batch_size": 32, "threads": 1},
    full={"data": "ForenSynths (DFDLAB_DATA)", "seeds": [100], "test_per_class": None,
          "train_classes": ["car", "cat", "chair", "horse"], "epochs": 50, "batch_size": 32, "threads": None},
    rehearsal={"epochs": 1, "batch_size": 2, "train_classes": ["horse"]},
)
if cfg.threads:  # one thread beats two contending on a shared 2-core CPU (as lesson 07)
    torch.set_num_threads(cfg.threads)
NAME = "npr_two_scale"  # our detector's registry name
BASELINE = "npr"  # the paper detector the idea extends: trained on the same seeds, with the same budget

# %% [markdown]
# ## 1 · Ideas from the field: starting points for your own presentation
#
# **中文要点**
# - 改进可以从"换表示""换特征""换数据"三个方向入手：下表每一行都是领域里已有的一个想法，以及在 dfdlab 里从哪里开始。
# - 先做小实验：在迷你基准上用和论文检测器相同的数据、预算、种子比较，再决定是否值得在 GPU 上跑完整配方。
#
# Each row is an idea published in the field (the map of lesson 07 and `docs/`), and where it
# plugs into dfdlab. All of them fit in one plugin file: the class decides what the network sees
# (`forward`) and how images reach it (`preprocessing`).
#
# | idea | from | where to start in dfdlab |
# |---|---|---|
# | NPR at several window sizes (this lesson) | NPR's l×l window (CVPR 2024) | `npr_residual_window(x, window)` |
# | NPR residual fed to a frozen foundation model | NPR + UnivFD (CVPR 2023) | `build("univfd").features` on `npr_residual(x)` |
# | LGrad with another transformation model | LGrad (CVPR 2023) | `gradient_map(D, x)` with another `D` (`dfdlab.gan`) |
# | a frequency feature beside UnivFD's probe | Frank et al. (ICML 2020): DCT spectra | `dfdlab.viz.frequency.power_spectrum`, `LinearProbe` |
# | intermediate CLIP layers, weighted | RINE (ECCV 2024) | `dfdlab.clip` blocks, `features(x)` |
# | reconstruction error as the signal | AEROBLADE (CVPR 2024), DIRE (ICCV 2023) | the mini benchmark's reconstructors (`dfdlab.gan.reconstruction`, `dfdlab.data.mini_generators`) |
# | reconstructed reals as training fakes | DRCT (ICML 2024), B-Free (CVPR 2025), DDA (NeurIPS 2025) | how the mini benchmark makes its fakes (lesson 01) |
# | crops instead of resizing | SAFE (KDD 2025) | your class's `preprocessing(split, ...)` |
# | a low-level and a semantic expert together | AIDE (ICLR 2025) | two `features` concatenated before one head |

# %% [markdown]
# ## 2 · A detector is one file
#
# **中文要点**
# - 一个文件里：一个 `Detector` 子类，用 `@register("名字")` 注册；`forward` 每张图输出一个 logit；`preprocessing` 给出训练/验证/测试的预处理；`recipe` 指定用哪篇论文的训练配方；`quick_zoo` 是快速模型库的条目（这里直接用 NPR 的预算）。
# - 文件放在包外，`plugins.load_plugin` / `DFDLAB_PLUGINS` / `dfdlab --plugin` 加载；名字和内置检测器冲突、文件导入出错，都会给出一句指明文件的错误。
#
# `dfdlab new-detector NAME --out DIR` writes the template; here `plugins.new_detector` writes it
# into a folder outside the repository, and we read it in full. It is **our experiment, not a
# paper's method**: the NPR residual (each pixel minus the top-left pixel of its block) of 2×2
# *and* 4×4 windows, six channels, into four conv layers. It reuses NPR's pipelines unchanged, so
# both see exactly the same images, and declares NPR's recipe and NPR's quick-zoo budget.

# %%
plugin_dir = Path(tempfile.mkdtemp(prefix="dfdlab_plugins_"))  # outside the package: a member's own folder
plugin_file = plugins.new_detector(NAME, plugin_dir)
print(f"# {plugin_file}\n")
print(plugin_file.read_text())

# %%
print("registered:", plugins.load_plugin(plugin_file))
print("available detectors:", ", ".join(detectors.available()))
ours = detectors.build(NAME, load_size=64, crop_size=56)
print(ours.summary())
display(pd.DataFrame([ours.describe(s) for s in ("train", "val", "test")]).set_index("split")[
    ["resize", "crop", "normalisation", "input_size", "augmentation", "protocol_source"]])
print("quick-zoo entry:", {k: v for k, v in zoo.QUICK_ZOO[NAME].items() if k not in ("plugin", "plugin_sha256")})

# %% [markdown]
# ## 3 · Train it with the quick recipe, on the same seeds as NPR
#
# **中文要点**
# - 新检测器用 NPR 的配方（Adam、学习率 2e-4、批大小 32）和 NPR 在快速模型库里的预算（4 个 epoch）训练，种子也一样；NPR 本身也在同样的种子上重训，这样两者的差别不会来自"运气"。
# - 每个种子的模型都缓存在 `DFDLAB_HOME/zoo/quick/<名字>@seed<种子>`，再次运行时直接读取。
#
# `zoo.train_quick(name, seed=s)` trains exactly as the zoo trains every detector: the mini
# benchmark's one training generator (read from its manifest), the detector's own train pipeline, selection on `val`. The
# first seed is NPR's own zoo seed (100, NPR's `train.py`), so NPR's row reuses lesson 07's
# checkpoint; the other seeds are trained here for both.

# %%
if cfg.profile == "quick":
    root = dfdlab.data.build_mini()
    train_gen = read_manifest(root).query("split == 'train'")["generator"].iloc[0]
    runs, infos = {NAME: {}, BASELINE: {}}, {NAME: {}, BASELINE: {}}
    for name in (NAME, BASELINE):
        for seed in cfg.seeds:
            model, info = zoo.train_quick(name, root, seed=seed)
            infos[name][seed] = (model, info)
            print(f"{name:14s} seed {seed:3d}: {'cached' if info['from_cache'] else 'trained'}, "
                  f"{info['train_seconds']:.0f} s of training, best epoch {info['best_epoch']} "
                  f"of {info['epochs_run']}")

# %% [markdown]
# ## 4 · One table, every detector, the same settings
#
# **中文要点**
# - 所有检测器：同一份训练数据（迷你基准唯一的训练生成器）、同一批测试图像（每个生成器 100 张真 + 100 张假，种子 0）、同一套指标（AP 与 0.5 阈值下的准确率）。
# - 预算按快速模型库的条目：论文检测器各自的配方缩到 CPU 规模；新检测器与 NPR 的配方、预算、种子完全相同。表格写明这些设置，设置不同的行会被拒绝。
#
# CNNDetection, UnivFD and LGrad come from the quick zoo (lesson 07 trains them; here they are cache
# hits) at the zoo's seed; NPR and ours over every seed of the settings (`SAME_SEEDS_FOR_ALL = True`
# trains the other three on those seeds as well, at the cost of their zoo training per seed). **Stand-ins**, as in
# lesson 07: UnivFD runs on a frozen ImageNet EfficientNet-Lite0 instead of CLIP ViT-L/14; LGrad's
# transformation model is a StyleGAN-architecture D trained against the mini DCGAN and its classifier an ImageNet
# EfficientNet-Lite0; CNNDetection's ResNet-50 starts from scratch. `plugins.fair_table` refuses
# rows whose data, test images or metrics differ.

# %%
PAPERS = ["cnndetection", "univfd", "lgrad"]
if cfg.profile == "quick":
    for name in PAPERS:
        runs[name], infos[name] = {}, {}
        for seed in cfg.seeds if SAME_SEEDS_FOR_ALL else [None]:  # None: the zoo's own seed (lesson 07's model)
            model, info = zoo.train_quick(name, root, seed=seed)
            infos[name][info["seed"]] = (model, info)
            print(f"{name:14s} seed {info['seed']:3d}: {'cached' if info['from_cache'] else 'trained'} "
                  f"({info['train_seconds']:.0f} s of training) · {info['note']}")
    all_sets = generator_sets(root / "test")
    # The same images for every detector and seed: 100 real + 100 fake per generator (seed 0, UnivFD's sampler).
    test_sets = {g: univfd_subset(ds, cfg.test_per_class, seed=0)[0] for g, ds in all_sets.items()}
    test_note = f"mini test split, {cfg.test_per_class} real + {cfg.test_per_class} fake per generator, seed 0"
    for name, by_seed in infos.items():
        for seed, (model, _info) in by_seed.items():
            # scored once per model and kept beside its weights: lesson 07's four are read back here
            runs[name][seed] = zoo.evaluate_quick(name, test_sets, seed=seed, root=root, model=model, batch_size=64)
    order = ["cnndetection", "univfd", BASELINE, "lgrad", NAME]
    settings = {n: plugins.run_settings(n, next(iter(infos[n].values()))[1], test_note) for n in order}
    table = plugins.fair_table({n: runs[n] for n in order}, settings, train_generator=train_gen)
    gen_cols = [c for c in table.columns if c.endswith(" AP") and not c.startswith("unseen")]
    shown = table[["n seeds", "seeds", *gen_cols, "unseen AP mean", "unseen AP sd", "unseen AP min",
                   "unseen AP max"]].copy()
    shown[[*gen_cols, "unseen AP mean", "unseen AP sd", "unseen AP min", "unseen AP max"]] = shown[
        [*gen_cols, "unseen AP mean", "unseen AP sd", "unseen AP min", "unseen AP max"]].round(1)
    print(f"AP (%) per test generator, mean over each detector's seeds; trained on {train_gen} "
          "(mini benchmark, quick profile, stand-ins as named above: not the papers' numbers). "
          "sd: over training seeds (one seed: no sd). Seeds: ours and NPR on every seed of the settings; "
          + ("the other detectors too." if SAME_SEEDS_FOR_ALL else
             "the other detectors at the zoo's seed (SAME_SEEDS_FOR_ALL = False)."))
    display(shown)
    print("Settings of every row (the same data, test images and metrics; each budget as its quick-zoo entry):")
    display(table[["train data", "test images", "metrics", "recipe", "epochs", "batch size", "budget",
                   "selection"]])

# %%
if cfg.profile == "quick":
    fig, ax = plt.subplots(figsize=(9, 3.6))
    for i, name in enumerate(order):
        vals = [runs[name][s].set_index("generator")["ap"].drop(["mean", train_gen]).mean() * 100
                for s in runs[name]]
        ax.scatter([i] * len(vals), vals, color="#888", zorder=3, label="one seed" if i == 0 else None)
        ax.errorbar(i, np.mean(vals), yerr=np.std(vals, ddof=1) if len(vals) > 1 else 0, fmt="o", color="#b00020",
                    capsize=6, zorder=4, label="mean ± sd over seeds" if i == 0 else None)
    ax.set_xticks(range(len(order)), [f"{n}\n({len(runs[n])} seed{'s' * (len(runs[n]) > 1)})" for n in order])
    ax.set_ylabel("mean AP (%) on the unseen generators")
    ax.set_title("each dot is one training seed (quick profile, mini benchmark, stand-ins as named)")
    ax.legend(loc="lower right")
    plt.tight_layout()
    plt.show()

# %% [markdown]
# ## 5 · Is the difference larger than the noise?
#
# **中文要点**
# - 同一个检测器换一个训练种子，未见生成器上的平均 AP 就会变；只有当两个方法的差别明显大于种子间的波动时，才能说一个比另一个好。
# - 新检测器和 NPR 用的是同一组种子，所以可以逐个种子配对比较：看配对差的平均值和它的标准误。
#
# Both were trained on the same seeds, so each seed gives one paired difference (ours − NPR, mean
# AP on the unseen generators). The sentence below is formatted from the numbers of this run,
# whichever way they come out.

# %%
if cfg.profile == "quick":
    def unseen_ap(name, seed):
        return float(runs[name][seed].set_index("generator")["ap"].drop(["mean", train_gen]).mean() * 100)

    paired = pd.DataFrame({"seed": cfg.seeds, NAME: [unseen_ap(NAME, s) for s in cfg.seeds],
                           BASELINE: [unseen_ap(BASELINE, s) for s in cfg.seeds]})
    paired["difference"] = paired[NAME] - paired[BASELINE]
    display(paired.round(1).set_index("seed"))
    d_mean, d_sd = paired["difference"].mean(), paired["difference"].std(ddof=1)
    d_se = d_sd / np.sqrt(len(paired))
    ours_mean, ours_sd = table.loc[NAME, "unseen AP mean"], table.loc[NAME, "unseen AP sd"]
    base_mean, base_sd = table.loc[BASELINE, "unseen AP mean"], table.loc[BASELINE, "unseen AP sd"]
    verdict = ("larger than twice its standard error: on this benchmark the difference is more than seed noise"
               if abs(d_mean) > 2 * d_se else
               "within twice its standard error: on this benchmark it is not distinguishable from seed noise")
    print(f"{NAME} (EXPERIMENT): mean AP on the unseen generators {ours_mean:.1f} ± {ours_sd:.1f} (sd over "
          f"{len(cfg.seeds)} seeds {cfg.seeds}); NPR {base_mean:.1f} ± {base_sd:.1f} on the same seeds. "
          f"Paired difference {d_mean:+.1f} points (sd {d_sd:.1f}, standard error {d_se:.1f}): {verdict}.")

# %% [markdown]
# ## 6 · Checks on this run
#
# **中文要点**
# - 断言表格公平：每一行同样的数据、测试图像和指标；新检测器与 NPR 的配方、预算、种子、预处理相同。
# - 断言新检测器学会了它的训练生成器（阈值来自种子扫描，留有余量）；它在未见生成器上比 NPR 好还是差，只报告，不断言方向。
#
# The threshold on the training generator's AP comes from a sweep of the template over training
# seeds on mini benchmark v2 (`benchmarks/quick_claims.py`; the comment in the cell below), with a
# margin. The cell prints the sweep beside this run: the training AP (this run: its worst seed) and
# the paired difference to NPR (this run: the mean over its seeds), which is shown, not asserted.

# %%
if cfg.profile == "quick":
    for name in order:  # the same test images for every detector: same generators, same counts
        for seed, t in runs[name].items():
            assert list(t["generator"]) == list(test_sets) + ["mean"], (name, seed)
            assert list(t["n"]) == list(runs[order[0]][next(iter(runs[order[0]]))]["n"]), (name, seed)
    for key in plugins.SHARED:
        assert table[key].nunique() == 1, key
    for key in ("recipe", "epochs", "batch size", "selection"):  # ours is trained exactly as NPR
        assert table.loc[NAME, key] == table.loc[BASELINE, key], key
    assert list(runs[NAME]) == list(runs[BASELINE]) == cfg.seeds and len(cfg.seeds) >= 3
    if SAME_SEEDS_FOR_ALL:
        assert table["seeds"].nunique() == 1, "every row must be trained on the same seeds"
    zoo_npr = {k: v for k, v in zoo.QUICK_ZOO[BASELINE].items() if k in ("build", "epochs", "batch_size", "seed")}
    assert all(zoo.QUICK_ZOO[NAME][k] == v for k, v in zoo_npr.items()), "ours must have NPR's zoo budget"
    assert ours.describe("test")["transform"] == detectors.build("npr", load_size=64, crop_size=56).describe(
        "test")["transform"], "ours and NPR must see the same test images"
    train_ap = {s: float(runs[NAME][s].set_index("generator").loc[train_gen, "ap"]) for s in cfg.seeds}
    print(f"{NAME}: AP on its training generator per seed", {s: round(v, 3) for s, v in train_ap.items()})
    # Sweep on mini v2 (benchmarks/quick_claims.py, claim improve_train_ap; seeds 0-4, one thread, the zoo's
    # budget; benchmarks/results/quick_claims_v2_04_05_07_09_t1.csv): training-generator AP 0.995-0.998; threshold
    # 0.9 (margin 0.095, wide because seed 100 of the settings is not among the swept seeds). Shown, not asserted:
    # improve_minus_npr_unseen_ap, -0.101 to +0.027 (mean -0.023).
    assert min(train_ap.values()) > 0.9, f"{NAME} did not learn its training generator: {train_ap}"
    sweep = experiments.claim_sweep(["improve_train_ap", "improve_minus_npr_unseen_ap"], this_run={
        "improve_train_ap": min(train_ap.values()), "improve_minus_npr_unseen_ap": d_mean / 100})
    if len(sweep):  # "this run": the worst seed's training AP, and the mean paired difference (AP, not points)
        print(experiments.sweep_caption(sweep))
        display(sweep.set_index("statistic")[["this run", "runs", "mean", "sd", "min", "max"]].round(3))
    assert np.isfinite(ours_sd) and np.isfinite(d_se)

# %% [markdown]
# ## 7 · Full profile: the suites
#
# **中文要点**
# - 完整配置里没有新检测器的发布权重：只有在 `TRAIN_PAPER_RECIPE = True`（用 NPR 的论文配方训练，GPU 上数小时）时，才在各论文的测试协议上给它打分，并和发布的 `NPR.pth` 放在一起；否则明确说明跳过了什么。
# - 训练用的就是 `dfdlab --plugin 文件 train` 这条命令，测试用的就是 `dfdlab.suites.run_suite`。
#
# The new detector is trained with NPR's paper recipe on 4-class ProGAN through the very command a
# member types (`dfdlab --plugin FILE train --detector NAME ...`), then scored on each suite's
# protocol beside the published NPR checkpoint. The quick profile skips this step.

# %%
SUITES = {"forensynths": None, "univfd": None}
if dfdlab.config.rehearsal():
    SUITES = {"forensynths": ["biggan"], "univfd": ["guided"]}
TRAIN_HERE = TRAIN_PAPER_RECIPE or dfdlab.config.rehearsal()  # a rehearsal runs the path the switch opens
suite_rows = []
if cfg.profile != "full":
    print("Skipped: this step runs in the full profile (DFDLAB_PROFILE=full) over the published test sets.")
elif not TRAIN_HERE:
    print(f"Skipped: {NAME} has no published checkpoint; set TRAIN_PAPER_RECIPE = True to train it with NPR's "
          "paper recipe (hours on a GPU), then it is scored on the suites " + ", ".join(SUITES) + ".")
else:
    from dfdlab.cli import main as dfdlab_main

    forensynths = dfdlab.data_root() / "ForenSynths"
    lines = hub.missing(["forensynths-train", "forensynths-val", "npr"])
    for line in lines:
        print(line)
    if lines:
        print(f"Skipped: training {NAME} needs the ForenSynths train/val sets (see above).")
    else:
        out = dfdlab.home() / "runs" / "09_improve" / NAME
        argv = ["--plugin", str(plugin_file), "train", "--detector", NAME, "--data", str(forensynths),
                "--classes", ",".join(cfg.train_classes), "--epochs", str(cfg.epochs), "--batch-size",
                str(cfg.batch_size), "--seed", str(cfg.seeds[0]), "--out", str(out), "--quiet"]
        print("dfdlab " + " ".join(argv))
        assert dfdlab_main(argv) == 0, "dfdlab train failed (see its message above)"
        full_models = {NAME: (detectors.build(NAME), out / "last.pth"),
                       BASELINE: (detectors.build("npr"), hub.path("npr"))}
        for name, (model, ckpt) in full_models.items():
            detectors.load_checkpoint(model, ckpt)
            full_models[name] = (model.to(dfdlab.device()).eval(), ckpt)
        for suite, gens in SUITES.items():
            need = [a for a in suites.get_suite(suite).assets if a in hub.ASSETS]
            if hub.missing(need):
                print(f"Skipped: suite {suite} needs {', '.join(need)} (dfdlab assets).")
                continue
            for name, (model, ckpt) in full_models.items():
                t = suites.run_suite(model, suite, dfdlab.data_root(), checkpoint=ckpt, generators=gens,
                                     progress=False)
                suite_rows += [{"suite": suite, "detector": name, "set": r["label"], "AP": round(100 * r["ap"], 1),
                                "Acc": round(100 * r["acc"], 1)} for _, r in t.iterrows()]
        if suite_rows:
            print(dfdlab.config.labelled(f"AP / Acc (%) per set: {NAME} (trained here with NPR's recipe, seed "
                                         f"{cfg.seeds[0]}) beside the published NPR.pth"))
            display(pd.DataFrame(suite_rows).pivot_table(index=["suite", "set"], columns="detector",
                                                         values=["AP", "Acc"]))

# %% [markdown]
# ## 8 · The ledger, the demo widget and the command line
#
# **中文要点**
# - 这张表记入复现账本（放在迷你基准部分，永远不会出现在论文数字那一栏）；演示小工具也会列出并打分新检测器。
# - 自己的想法：`dfdlab new-detector 我的名字`，改文件，然后用 `--plugin` 训练和测试。
#
# The table goes to the reproduction ledger with each row's seeds, and the demo widget of lesson 07
# scores an image with every detector, ours included (it reads the zoo's checkpoints).

# %%
if cfg.profile == "quick":
    long = pd.concat([pd.DataFrame(t.to_dict("list")).assign(detector=n, seed=s, sampling=test_note,
                                                              budget=settings[n]["budget"])
                      for n in order for s, t in runs[n].items()], ignore_index=True)
    ledger.record(long[["detector", "seed", "generator", "n", "ap", "acc", "r_acc", "f_acc", "sampling", "budget"]],
                  "09_improve_table", f"Lesson 09: {NAME} (EXPERIMENT, not a paper) beside the quick zoo, "
                  f"trained on {train_gen} (mini benchmark, stand-ins as named in lesson 07)", data="mini benchmark")
    demo = widgets.Demo(root=root, detector_names=order)
    picked = demo.picker.options[1][1]  # the first test image of the menu
    demo.show_path(picked)
    print(f"demo widget on {Path(picked).name}:",
          {n: (None if p is None else round(p, 3)) for n, p in demo.scores.items()})
print("Your own detector, from the command line:\n  dfdlab new-detector my_idea --out my_plugins\n"
      "  dfdlab --plugin my_plugins/my_idea.py train --detector my_idea --data ROOT --out runs/my_idea\n"
      "  DFDLAB_PLUGINS=my_plugins dfdlab eval --suite forensynths --detector my_idea "
      "--checkpoint runs/my_idea/last.pth --data DATA")
print(f"lesson time: {time.time() - T_START:.0f} s")

# %% [markdown]
# ## 练习 · Exercises
#
# 1. **换窗口 · Other windows.** 把文件里的 `windows=(2, 4)` 改成 `(2,)`：这就是"NPR 残差 + 小 CNN"。
#    和 NPR（同样的残差，ResNet 截到 layer2）比，差别大于种子波动吗？
#    Set `windows=(2,)` in the file: "NPR residual + a small CNN". Is its difference from NPR (the same
#    residual, a truncated ResNet-50) larger than the spread over seeds?
# 2. **更多种子 · More seeds.** 把 `seeds` 加到 5 个。标准误怎么变？第 5 节的结论变了吗？
#    Use five seeds. How does the standard error change? Does section 5's verdict change?
# 3. **不公平的表 · An unfair table.** 给新检测器的测试集换一个采样种子，再调用 `plugins.fair_table`。
#    它说了什么？为什么不同的测试图像会让比较失去意义？
#    Score the new detector on a test subset drawn with another seed and call `plugins.fair_table`.
#    What does it say, and why do different test images make the comparison meaningless?
# 4. **你自己的想法 · Your own idea.** 从第 1 节的表里选一个想法，用 `dfdlab new-detector` 写成插件，
#    保持同样的配方和预算，在下次小组会上展示它的表格和种子波动。
#    Pick an idea from section 1's table, write it as a plugin with `dfdlab new-detector`, keep the
#    recipe and budget, and present its table with the spread over seeds at the next meeting.
# 5. **鲁棒性 · Robustness.** 用 `dfdlab.evaluate.robustness`（第 07 课）在 JPEG 和模糊下比较新检测器和 NPR。
#    Compare ours and NPR under JPEG and blur with `dfdlab.evaluate.robustness` (lesson 07).
