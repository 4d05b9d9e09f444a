"""Bar chart (PNG) of a closed vote's result, sent with the group announcement.

No pyplot: each call builds its own `Figure` on an Agg canvas, so renders do not share global
state and can run in worker threads. Fonts are the DejaVu Sans files shipped with matplotlib
(full Vietnamese coverage), passed explicitly to every text so a changed rcParams or a system
font config cannot swap in a font without the diacritics.
"""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import matplotlib
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from bot.i18n import _
from bot.render.model import ResultSheet, format_count, format_share

_FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
REGULAR = FontProperties(fname=_FONT_DIR / "DejaVuSans.ttf")
BOLD = FontProperties(fname=_FONT_DIR / "DejaVuSans-Bold.ttf")

WIDTH_IN = 12.0
DPI = 100  # -> 1200 px wide
COLOR_REACHED = "#c0392b"
COLOR_TIE = "#e69f00"
COLOR_OTHER = "#8fa3b8"
COLOR_OUTSIDE = "#e8a09a"  # reached the threshold, beyond the number that may be proposed
COLOR_THRESHOLD = "#333333"
NAME_WRAP = 38  # characters per line of a unit name
NAME_LINES = 3  # at most, then an ellipsis


def _font(base: FontProperties, size: float) -> FontProperties:
    font = base.copy()
    font.set_size(size)
    return font


def _wrap(text: str, width: int, max_lines: int | None = None) -> list[str]:
    lines = textwrap.wrap(text, width=width, break_long_words=True, break_on_hyphens=False) or [""]
    if max_lines and len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: max(1, width - 1)].rstrip() + "…"
    return lines


def render_chart(sheet: ResultSheet) -> bytes:
    """PNG bytes, 1200 px wide; height grows with the number of candidates."""
    rows = list(sheet.rows)
    names = ["\n".join(_wrap(row.name, NAME_WRAP, NAME_LINES)) for row in rows]
    max_lines = max((name.count("\n") + 1 for name in names), default=1)
    row_h = {1: 0.42, 2: 0.52}.get(max_lines, 0.64)

    title_lines = _wrap(sheet.question, 62, 3)
    turnout = _("Turnout: {returned}/{issued} ballots returned; valid: {valid}; invalid: {invalid}").format(
        returned=format_count(sheet.returned),
        issued=format_count(sheet.issued),
        valid=format_count(sheet.valid),
        invalid=format_count(sheet.invalid),
    )
    subtitle_lines = _wrap(sheet.kind_label, 95, 2) + _wrap(turnout, 95, 2)
    status = _status_line(sheet)
    status_lines = _wrap(status, 110, 3) if status else []

    top_in = 0.35 + 0.34 * len(title_lines) + 0.26 * len(subtitle_lines) + 0.25
    bottom_in = 1.25 + 0.24 * len(status_lines)
    axes_in = max(1.2, row_h * max(len(rows), 1) + 0.3)
    height_in = top_in + axes_in + bottom_in

    fig = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    left = 0.35
    ax = fig.add_axes((left, bottom_in / height_in, 0.93 - left, axes_in / height_in))

    y = 0.35
    for line in title_lines:
        fig.text(0.5, 1 - y / height_in, line, ha="center", va="center", fontproperties=_font(BOLD, 16))
        y += 0.34
    for line in subtitle_lines:
        fig.text(0.5, 1 - y / height_in, line, ha="center", va="center", fontproperties=_font(REGULAR, 11.5),
                 color="#444444")
        y += 0.26

    ties, outside = set(sheet.ties), set(sheet.outside_cap)
    colors = [COLOR_TIE if row.name in ties else COLOR_REACHED if row.reached
              else COLOR_OUTSIDE if row.name in outside else COLOR_OTHER for row in rows]
    positions = list(range(len(rows)))
    votes = [row.votes for row in rows]
    ax.barh(positions, votes, height=0.62, color=colors, zorder=2)
    ax.set_yticks(positions, labels=names)
    for label in ax.get_yticklabels():
        label.set_fontproperties(_font(REGULAR, 10.5))
    ax.set_ylim(len(rows) - 0.5, -0.5) if rows else ax.set_ylim(0.5, -0.5)

    threshold = sheet.threshold_line
    top_value = max([sheet.base_count, *votes, threshold or 0, 1])
    ax.set_xlim(0, top_value * 1.22)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for label in ax.get_xticklabels():
        label.set_fontproperties(_font(REGULAR, 10))
    ax.set_xlabel(_("Votes"), fontproperties=_font(REGULAR, 11))
    ax.grid(axis="x", color="#e3e3e3", zorder=0)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)

    label_font = _font(REGULAR, 10)
    pad = top_value * 0.012
    for pos, row in zip(positions, rows, strict=False):
        ax.text(
            row.votes + pad, pos, f"{format_count(row.votes)} ({format_share(row.share)})",
            va="center", ha="left", fontproperties=_font(BOLD, 10) if row.reached else label_font, zorder=5,
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.0, "alpha": 0.85},
        )
    if not rows:
        ax.text(0.5, 0.5, _("No candidates"), transform=ax.transAxes, ha="center", va="center",
                fontproperties=_font(REGULAR, 12))

    handles: list[Artist] = [Patch(color=COLOR_REACHED, label=_("Reached the threshold")),
                             Patch(color=COLOR_OTHER, label=_("Not reached"))]
    if outside:
        handles.append(Patch(color=COLOR_OUTSIDE, label=_("Reached, beyond the number proposed")))
    if ties:
        handles.append(Patch(color=COLOR_TIE, label=_("Tied at the cut-off")))
    if threshold is not None:
        ax.axvline(threshold, color=COLOR_THRESHOLD, linestyle=(0, (5, 4)), linewidth=1.6, zorder=4)
        legend = (_("Minimum to pass: {votes} votes") if sheet.min_votes is not None
                  else _("Threshold: {votes} votes"))
        handles.append(Line2D([], [], color=COLOR_THRESHOLD, linestyle=(0, (5, 4)), linewidth=1.6,
                              label=legend.format(votes=format_count(threshold))))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False,
               bbox_to_anchor=(0.5, (0.3 + 0.24 * len(status_lines)) / height_in), prop=_font(REGULAR, 10.5))

    y = 0.22 + 0.24 * (len(status_lines) - 1)
    for line in status_lines:
        fig.text(0.5, y / height_in, line, ha="center", va="center", fontproperties=_font(BOLD, 11),
                 color=COLOR_REACHED if not (sheet.quorum_met and sheet.valid_result) else "#333333")
        y -= 0.24

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    return buf.getvalue()


def _status_line(sheet: ResultSheet) -> str:
    if not sheet.quorum_met:
        return _("Quorum not met: the result is not valid.")
    if not sheet.valid_result:
        return _("The result of the vote is not valid.")
    if sheet.ties:
        return _("Tie at the cut-off between: {names}. A runoff among these units is needed.").format(
            names="; ".join(sheet.ties))
    if not sheet.reached:
        return _("No unit reached the threshold.")
    return ""
