"""The rates as a PNG, for e-mailed reports (the web page draws its own with ECharts).

matplotlib with the Agg backend (no display). Chinese labels need a CJK font: Noto
Sans CJK (Debian's fonts-noto-cjk) when it is installed; otherwise the labels fall
back to the codes and English, so the image never shows empty boxes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display, safe in threads of a worker

from matplotlib import font_manager  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from reports.figures import RATES, FigureRow  # noqa: E402

FONT_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
)
RATE_LABELS = {
    "sign_rate": ("签收率", "signed on time"),
    "on_time_rate": ("按时办结率", "replied on time"),
    "resolution_rate": ("解决率", "resolved"),
    "satisfaction_rate": ("满意率", "satisfied"),
}


@cache
def cjk_font() -> str | None:
    """The family name of an installed CJK font, registered with matplotlib, or None."""
    for path in FONT_FILES:
        if Path(path).exists():
            font_manager.fontManager.addfont(path)
            return font_manager.FontProperties(fname=path).get_name()
    for entry in font_manager.fontManager.ttflist:
        if "CJK" in entry.name:
            return str(entry.name)
    return None


def rates_png(rows: Sequence[FigureRow], *, title: str = "", top: int = 15) -> bytes:
    """A grouped horizontal bar chart of the four rates of up to ``top`` groups (by
    received tasks), as PNG bytes. Groups without a rate show no bar for it."""
    font = cjk_font()
    chosen = sorted(rows, key=lambda r: -r.counts.get("received", 0))[:top]
    chosen.reverse()  # barh draws bottom-up: the busiest group on top
    # rc_context, not rcParams: a worker's threads may draw at once.
    with matplotlib.rc_context({"font.family": [font, "sans-serif"] if font else "sans-serif"}):
        fig = Figure(figsize=(9, 1.2 + 0.55 * max(len(chosen), 1)), dpi=100)
        ax = fig.add_subplot()
        names = [r.label if font else r.key for r in chosen]
        height = 0.8 / len(RATES)
        for i, name in enumerate(RATES):
            values = [(r.rate(name) or 0.0) * 100 for r in chosen]
            offsets = [j + i * height for j in range(len(chosen))]
            ax.barh(offsets, values, height=height, label=RATE_LABELS[name][0 if font else 1])
        ax.set_yticks([j + 0.4 - height / 2 for j in range(len(chosen))], names)
        ax.set_xlim(0, 100)
        ax.set_xlabel("%")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
        if title:
            ax.set_title(title if font else title.encode("ascii", "replace").decode())
        fig.tight_layout()
        out = io.BytesIO()
        fig.savefig(out, format="png")
    return out.getvalue()
