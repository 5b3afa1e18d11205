"""Try it yourself: an ipywidgets demo that scores one image with every detector and shows its traces.

``dfdlab.widgets.demo()`` (lesson 07 shows it too): upload an image or pick one from the
mini benchmark, then see side by side

* each registered detector's fake probability, from the quick zoo's checkpoints
  (``dfdlab.zoo.train_quick``: every detector trained on the mini benchmark, as lesson
  07 does). A detector that has not been trained here is listed as **untrained, with no
  score**: run lesson 07 (or ``dfdlab.zoo.train_quick(name)``) first;
* the NPR residual ``x - up(down(x))`` (``dfdlab.detectors.npr.npr_residual``);
* LGrad's gradient map ``∂ sum D(x) / ∂x`` (``dfdlab.detectors.lgrad.gradient_map``), with
  the official StyleGAN bedroom discriminator when its asset is present, else the mini
  benchmark's own DCGAN discriminator (a **stand-in**, said in the panel title);
* the spectrum of the high-pass residual (``dfdlab.viz.frequency.power_spectrum``).

A file that cannot be decoded gets a one-line message naming it (``dfdlab.data.ImageError``),
never a traceback. Everything the widget shows is also kept on the object (``scores``,
``panels``, ``message``) so tests and notebooks can read it.
"""

from __future__ import annotations

import html
import re
import tempfile
from pathlib import Path

import ipywidgets
import numpy as np
import torch
from torchvision.transforms import functional as TF

from . import detectors, hub
from .config import home
from .data import mini
from .data.images import ImageError, load_rgb
from .data.mini_generators import STYLEGAN_D_WEIGHTS, load_stylegan_d
from .data.skipping import BadImage
from .data.transforms import IMAGENET_MEAN, IMAGENET_STD, lgrad_discriminator_input
from .detectors.lgrad import gradient_map, load_stylegan_discriminator
from .detectors.npr import npr_residual

#: How a picked/uploaded image is shown in the panels (longer side, for speed).
PANEL_SIZE = 256


def cached_mini_root() -> Path | None:
    """The mini benchmark's folder if it is already built in ``DFDLAB_HOME`` (never builds it)."""
    root = home() / "mini" / mini.config_hash(mini.mini_config())
    return root if mini.is_complete(root) else None


def mini_choices(root: Path | None, per_folder: int = 3) -> list[tuple[str, str]]:
    """``(label, path)`` for a few test images of each generator (real and fake) of the mini benchmark."""
    if root is None:
        return []
    out = []
    for gen in sorted(p for p in (Path(root) / "test").iterdir() if p.is_dir()):
        for lab in ("0_real", "1_fake"):
            for p in sorted((gen / lab).glob("*.png"))[:per_folder]:
                out.append((f"{gen.name} / {lab} / {p.name}", str(p)))
    return out


def _panel_image(img):
    w, h = img.size
    scale = PANEL_SIZE / max(w, h)
    return img if scale >= 1 else img.resize((max(1, round(w * scale)), max(1, round(h * scale))))


def npr_panel(img) -> np.ndarray:
    """``|npr_residual|`` averaged over channels, of the ImageNet-normalised image (NPR's input)."""
    x = TF.normalize(TF.to_tensor(img), IMAGENET_MEAN, IMAGENET_STD)[None]
    return npr_residual(x)[0].abs().mean(0).numpy()


def gradient_discriminator(root: Path | None):
    """``(D, size, title)``: the official LGrad transformation model if present, else the quick zoo's (stand-in)."""
    if hub.available("stylegan-bedroom256-d"):
        return (load_stylegan_discriminator(hub.path("stylegan-bedroom256-d")), 256,
                "gradient map (StyleGAN bedroom D, LGrad's)")
    if STYLEGAN_D_WEIGHTS.is_file():
        D = load_stylegan_d()
        return D, D.resolution, "gradient map (STAND-IN D: the mini StyleGAN-architecture D, the quick zoo's)"
    return None, 0, "gradient map: no discriminator (needs the asset stylegan-bedroom256-d or dfdlab's mini_stylegan_d.pt)"


def gradient_panel(img, D, size: int) -> np.ndarray:
    """LGrad's image -> gradient step at ``size`` (Resize((size,size)) -> [-1,1] -> ∂ sum D / ∂x, min-max to [0,255])."""
    x = lgrad_discriminator_input(size)(img)[None]
    g = gradient_map(D, x, quantize=True)[0]
    return g.permute(1, 2, 0).numpy()


def spectrum_panel(img) -> np.ndarray:
    """``log10 |FFT2(high-pass residual)|`` (DC centred) of the image."""
    from .viz.frequency import power_spectrum

    x = torch.from_numpy(np.asarray(img, dtype=np.float32)).permute(2, 0, 1)[None] / 127.5 - 1.0
    return (0.5 * torch.log10(power_spectrum(x) + 1e-8))[0].numpy()


class Demo:
    """The widget and its state. ``Demo().widget`` is what ``demo()`` displays.

    Attributes for programmatic use: ``upload`` (FileUpload), ``picker`` (Dropdown),
    ``message_box`` / ``scores_box`` (HTML), ``views`` (Output); after each image:
    ``message`` (str), ``scores`` ({detector: probability or None}), ``status``
    ({detector: text}), ``panels`` ({title: array}), ``figure``.
    """

    def __init__(self, root: str | Path | None = None, detector_names: list[str] | None = None,
                 per_folder: int = 3):
        from .zoo import QUICK_ZOO

        self.root = Path(root) if root is not None else cached_mini_root()
        self.names = list(detector_names) if detector_names is not None else detectors.available()
        self._models: dict = {}
        self._zoo_notes = {k: v.get("note", "") for k, v in QUICK_ZOO.items()}
        self.message, self.scores, self.status, self.panels, self.figure = "", {}, {}, {}, None
        self.skipped: list[BadImage] = []  # the last file that could not be read, as a BadImage
        choices = mini_choices(self.root, per_folder)
        hint = "pick a mini-benchmark image" if choices else "mini benchmark not built: dfdlab.data.build_mini()"
        self.upload = ipywidgets.FileUpload(accept="image/*", multiple=False, description="Upload image")
        self.picker = ipywidgets.Dropdown(options=[(f"({hint})", "")] + choices, value="", description="or pick",
                                          layout=ipywidgets.Layout(width="420px"))
        self.message_box = ipywidgets.HTML()
        self.scores_box = ipywidgets.HTML()
        self.views = ipywidgets.Output()
        self.widget = ipywidgets.VBox([ipywidgets.HBox([self.upload, self.picker]), self.message_box,
                                       self.scores_box, self.views])
        self.upload.observe(self._on_upload, names="value")
        self.picker.observe(self._on_pick, names="value")
        if not choices:
            self._say("The mini benchmark is not built in DFDLAB_HOME yet; upload an image, or build it with "
                      "<code>dfdlab.data.build_mini()</code> (a few CPU minutes) and call <code>demo()</code> again.")

    # ------------------------------------------------------------------ events
    def _on_upload(self, change):
        files = change["new"]
        if not files:
            return
        f = files[0]
        self.show_bytes(f.get("name", "upload"), bytes(f["content"]))

    def _on_pick(self, change):
        if change["new"]:
            self.show_path(change["new"])

    # ------------------------------------------------------------------ main entry points
    def show_bytes(self, name: str, data: bytes) -> bool:
        """Score and show an uploaded file (its bytes); ``False`` with a message when it is not an image."""
        suffix = Path(name).suffix or ".img"
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"upload{suffix}"
            path.write_bytes(data)
            try:
                img = load_rgb(path)
            except ImageError as e:
                return self._broken(name, e)
        return self._show(img, name)

    def show_path(self, path: str | Path) -> bool:
        """Score and show an image file."""
        try:
            img = load_rgb(path)
        except ImageError as e:
            return self._broken(Path(path).name, e)
        return self._show(img, str(path))

    # ------------------------------------------------------------------ internals
    def _say(self, text: str, error: bool = False):
        self.message = html.unescape(re.sub(r"<[^>]+>", "", text))
        color = "#b00020" if error else "#333"
        self.message_box.value = f"<p style='color:{color}'>{text}</p>"

    def _broken(self, name: str, err: ImageError) -> bool:
        bad = BadImage.from_error(err)  # the record train/evaluate keep for a skipped file
        self.skipped = [bad]
        self._say(f"Could not read <b>{html.escape(name)}</b> as an image: {html.escape(bad.detail)}. "
                  "Upload a PNG, JPEG, WebP, BMP or TIFF file.", error=True)
        self.scores, self.status, self.panels, self.figure = {}, {}, {}, None
        self.scores_box.value = ""
        self.views.clear_output()
        return False

    def _model(self, name: str):
        if name not in self._models:
            from .zoo import load_quick, quick_info

            # the zoo's models trained on the benchmark this demo shows (the default mini benchmark, or ``root``)
            rec = quick_info(name, root=self.root)
            self._models[name] = (load_quick(name, root=self.root), rec) if rec is not None else (None, None)
        return self._models[name]

    def _score_all(self, img):
        self.scores, self.status = {}, {}
        for name in self.names:
            model, rec = self._model(name)
            if model is None:
                self.scores[name] = None
                self.status[name] = ("untrained: no score. Train it first (run lesson 07, or "
                                     f"dfdlab.zoo.train_quick('{name}'))")
                continue
            with torch.no_grad():
                x = model.transform(train=False)(img)[None]
                self.scores[name] = float(torch.sigmoid(model(x).reshape(-1)[0].float()))
            self.status[name] = (f"trained on the mini benchmark (quick profile; {rec.get('note', '')}; "
                                 f"checkpoint sha256 {rec.get('checkpoint_sha256', '')[:12]})")

    def _render_scores(self):
        rows = []
        for name in self.names:
            p = self.scores.get(name)
            score = "&mdash;" if p is None else f"{p:.3f}"
            verdict = "" if p is None else ("fake" if p > 0.5 else "real")
            rows.append(f"<tr><td><b>{html.escape(name)}</b></td><td>{score}</td><td>{verdict}</td>"
                        f"<td>{html.escape(self.status.get(name, ''))}</td></tr>")
        self.scores_box.value = ("<table><tr><th>detector</th><th>P(fake)</th><th>verdict</th><th>model</th></tr>"
                                 + "".join(rows) + "</table><p><i>Quick-profile detectors trained on the mini "
                                 "benchmark: a classroom demo, not the papers' models.</i></p>")

    def _show(self, img, name: str) -> bool:
        import matplotlib.pyplot as plt

        self.skipped = []
        self._say(f"<b>{html.escape(Path(name).name)}</b>: {img.size[0]}x{img.size[1]} pixels")
        self._score_all(img)
        self._render_scores()
        small = _panel_image(img)
        D, size, gtitle = gradient_discriminator(self.root)
        self.panels = {"image": np.asarray(small), "NPR residual |x - up(down(x))|": npr_panel(small),
                       gtitle: gradient_panel(small, D, size) if D is not None else None,
                       "spectrum of the high-pass residual": spectrum_panel(small)}
        fig, axes = plt.subplots(1, 4, figsize=(14, 3.6))
        for ax, (title, arr) in zip(axes, self.panels.items(), strict=True):
            ax.set_title(title, fontsize=9)
            ax.axis("off")
            if arr is None:
                ax.text(0.5, 0.5, "not available", ha="center", va="center")
            elif arr.ndim == 2:
                ax.imshow(arr, cmap="magma" if "spectrum" in title else "gray")
            else:
                ax.imshow(arr.astype(np.uint8))
        fig.tight_layout()
        self.figure = fig
        self.views.clear_output(wait=True)
        if _in_kernel():
            from IPython.display import display

            with self.views:
                display(fig)
        plt.close(fig)
        return True


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None


def demo(root: str | Path | None = None, detector_names: list[str] | None = None, display: bool = True) -> Demo:
    """Build the demo (and display it in a notebook); returns the ``Demo`` for programmatic use."""
    d = Demo(root, detector_names)
    if display and _in_kernel():
        from IPython.display import display as _display

        _display(d.widget)
    return d


__all__ = ["Demo", "PANEL_SIZE", "cached_mini_root", "demo", "gradient_discriminator", "gradient_panel",
           "mini_choices", "npr_panel", "spectrum_panel"]
