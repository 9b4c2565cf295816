"""A small inline SVG line chart for the adoption trend (no scripts, no external files)."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH, HEIGHT, PAD = 240, 60, 4


def trend_svg(ratios: Sequence[float | None], threshold: float, *, label: str) -> SafeString:
    """Daily adoption ratios as a line with a dot per measured day, and the threshold dashed.

    Days without activity (None) have no dot; the line joins the days around them.
    """
    count = max(len(ratios), 2)

    def x(index: int) -> str:
        return f"{PAD + index * (WIDTH - 2 * PAD) / (count - 1):.1f}"

    def y(ratio: float) -> str:
        return f"{HEIGHT - PAD - ratio * (HEIGHT - 2 * PAD):.1f}"

    points = [(x(index), y(ratio)) for index, ratio in enumerate(ratios) if ratio is not None]
    line = (
        format_html(
            '<polyline points="{}" fill="none" stroke="#417690" stroke-width="1.5"/>',
            " ".join(f"{px},{py}" for px, py in points),
        )
        if len(points) > 1
        else ""
    )
    dots = format_html_join("", '<circle cx="{}" cy="{}" r="2.5" fill="#417690"/>', points)
    return format_html(
        '<svg class="intercom-trend" role="img" aria-label="{}" width="{}" height="{}" viewBox="0 0 {} {}" '
        'xmlns="http://www.w3.org/2000/svg"><title>{}</title>'
        '<rect x="0" y="0" width="{}" height="{}" fill="none" stroke="#ccc"/>'
        '<line class="threshold" x1="{}" y1="{}" x2="{}" y2="{}" stroke="#ba2121" stroke-dasharray="4 3"/>'
        "{}{}</svg>",
        label,
        WIDTH,
        HEIGHT,
        WIDTH,
        HEIGHT,
        label,
        WIDTH,
        HEIGHT,
        PAD,
        y(threshold),
        WIDTH - PAD,
        y(threshold),
        line,
        dots,
    )
