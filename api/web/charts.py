"""Charts as inline SVG, drawn on the server: horizontal bars with a text label and value on each (readable
without colour, announced by screen readers through <title> and the table that accompanies every chart)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from html import escape

BAR_HEIGHT = 22
GAP = 8
LABEL_WIDTH = 150
WIDTH = 560


def bar_chart(title: str, rows: Sequence[tuple[str, float | Decimal | int]], *, unit: str = "") -> str:
    """One horizontal bar per row, scaled to the largest value; a funnel when rows follow the stage order."""
    largest = max((float(v) for _, v in rows), default=0.0) or 1.0
    height = max(len(rows), 1) * (BAR_HEIGHT + GAP) + GAP
    span = WIDTH - LABEL_WIDTH - 90
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'preserveAspectRatio="xMinYMin meet" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value) in enumerate(rows):
        y = GAP + i * (BAR_HEIGHT + GAP)
        width = max(float(value) / largest * span, 1.0 if float(value) > 0 else 0.0)
        shown = f"{value:.1f}" if isinstance(value, float) else str(value)
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + BAR_HEIGHT * 0.7:.0f}" text-anchor="end" class="chart-label">'
            f"{escape(label)}</text>"
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{width:.1f}" height="{BAR_HEIGHT}" class="chart-bar"/>'
            f'<text x="{LABEL_WIDTH + width + 6:.1f}" y="{y + BAR_HEIGHT * 0.7:.0f}" class="chart-value">'
            f"{escape(shown)}{escape(unit)}</text>"
        )
    if not rows:
        parts.append(f'<text x="10" y="{BAR_HEIGHT}" class="chart-label">—</text>')
    parts.append("</svg>")
    return "".join(parts)


STRIP_ROW = 30
STRIP_LABEL = 150
STRIP_HEAD = 22


def strip_chart(title: str, columns: Sequence[str], rows: Sequence[tuple[str, Sequence[int]]]) -> str:
    """Small multiples: one row per series (a stage), one column per period (a week), each cell a bar scaled to the
    largest count with the count written under it; no colour carries meaning, so it reads in grey and in print."""
    largest = max((n for _, values in rows for n in values), default=0) or 1
    cell = (WIDTH - STRIP_LABEL) / max(len(columns), 1)
    height = STRIP_HEAD + max(len(rows), 1) * STRIP_ROW + GAP
    parts = [
        f'<svg class="chart strip" role="img" viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'preserveAspectRatio="xMinYMin meet" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for j, column in enumerate(columns):
        x = STRIP_LABEL + j * cell + cell / 2
        parts.append(f'<text x="{x:.1f}" y="14" text-anchor="middle" class="chart-label">{escape(column)}</text>')
    for i, (label, values) in enumerate(rows):
        top = STRIP_HEAD + i * STRIP_ROW
        base = top + STRIP_ROW - 12
        parts.append(
            f'<text x="{STRIP_LABEL - 6}" y="{base:.0f}" text-anchor="end" class="chart-label">{escape(label)}</text>'
        )
        for j, n in enumerate(values):
            bar = (STRIP_ROW - 14) * n / largest
            x = STRIP_LABEL + j * cell
            parts.append(
                f'<rect x="{x + cell * 0.2:.1f}" y="{base - bar:.1f}" width="{cell * 0.35:.1f}" height="{bar:.1f}" '
                f'class="chart-bar"/><text x="{x + cell * 0.6:.1f}" y="{base:.0f}" class="chart-value">{n}</text>'
            )
    if not rows:
        parts.append(f'<text x="10" y="{STRIP_HEAD + BAR_HEIGHT}" class="chart-label">—</text>')
    parts.append("</svg>")
    return "".join(parts)
