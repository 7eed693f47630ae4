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
