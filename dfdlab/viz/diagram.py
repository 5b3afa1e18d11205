"""Architecture diagrams drawn with matplotlib (the lessons' 网络框架 figures)."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

#: Colours by role, so every lesson's diagram reads the same way.
ROLE_COLOURS = {
    "input": "#dfe7f2",
    "fixed": "#e6e6e6",  # a fixed operation or frozen network (no gradient)
    "trained": "#f8d9a0",  # trained parameters
    "output": "#cde8c8",
}


def draw_pipeline(blocks: Sequence[tuple[str, str]], title: str = "", ax=None, width: float = 2.3):
    """Draw a left-to-right chain of labelled boxes.

    ``blocks`` holds ``(label, role)`` pairs; role is one of ``ROLE_COLOURS``'s keys.
    Labels may contain ``\\n``. Returns the matplotlib Axes.
    """
    n = len(blocks)
    if ax is None:
        _, ax = plt.subplots(figsize=(max(6.0, 1.05 * width * n), 2.4))
    gap = 0.45
    for i, (label, role) in enumerate(blocks):
        if role not in ROLE_COLOURS:
            raise ValueError(f"role {role!r} is not one of {sorted(ROLE_COLOURS)}")
        x = i * (width + gap)
        box = FancyBboxPatch((x, 0), width, 1.2, boxstyle="round,pad=0.04,rounding_size=0.12",
                             fc=ROLE_COLOURS[role], ec="#333333", lw=1.2)
        ax.add_patch(box)
        ax.text(x + width / 2, 0.6, label, ha="center", va="center", fontsize=9, wrap=True)
        if i:
            ax.add_patch(FancyArrowPatch((x - gap + 0.03, 0.6), (x - 0.03, 0.6),
                                         arrowstyle="-|>", mutation_scale=14, lw=1.3, color="#333333"))
    used = sorted({role for _, role in blocks}, key=list(ROLE_COLOURS).index)
    for j, role in enumerate(used):
        ax.add_patch(FancyBboxPatch((j * 1.9, -0.75), 0.35, 0.3, boxstyle="round,pad=0.02",
                                    fc=ROLE_COLOURS[role], ec="#333333", lw=0.8))
        ax.text(j * 1.9 + 0.45, -0.6, role, va="center", fontsize=8)
    ax.set_xlim(-0.2, n * (width + gap))
    ax.set_ylim(-0.95, 1.45)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=11)
    return ax
