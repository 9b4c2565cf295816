"""A small inline SVG line chart for the adoption trend (no scripts, no external files)."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH, HEIGHT, PAD = 240, 60, 4


def trend_svg(ratios: Sequence[float | None], threshold: float, *, label: str) -> SafeString:
    """Daily adoption ratios (None: nobody active that day) as a line, with the threshold dashed.

    Days without activity break the line rather than pretending to be zero.
    """
    count = max(len(ratios), 2)

    def x(index: int) -> float:
        return PAD + index * (WIDTH - 2 * PAD) / (count - 1)

    def y(ratio: float) -> float:
        return HEIGHT - PAD - ratio * (HEIGHT - 2 * PAD)

    segments: list[list[str]] = [[]]
    for index, ratio in enumerate(ratios):
        if ratio is None:
            if segments[-1]:
                segments.append([])
            continue
        segments[-1].append(f"{x(index):.1f},{y(ratio):.1f}")
    lines = format_html_join(
        "",
        '<polyline points="{}" fill="none" stroke="#417690" stroke-width="2"/>',
        ((" ".join(points),) for points in segments if points),
    )
    dots = format_html_join(
        "",
        '<circle cx="{}" cy="{}" r="2" fill="#417690"/>',
        ((points[0].split(",")[0], points[0].split(",")[1]) for points in segments if len(points) == 1),
    )
    return format_html(
        '<svg class="intercom-trend" role="img" aria-label="{}" width="{}" height="{}" viewBox="0 0 {} {}" '
        'xmlns="http://www.w3.org/2000/svg">'
        '<rect x="0" y="0" width="{}" height="{}" fill="none" stroke="#ccc"/>'
        '<line class="threshold" x1="{}" y1="{}" x2="{}" y2="{}" stroke="#ba2121" stroke-dasharray="4 3"/>'
        "{}{}</svg>",
        label,
        WIDTH,
        HEIGHT,
        WIDTH,
        HEIGHT,
        WIDTH,
        HEIGHT,
        PAD,
        f"{y(threshold):.1f}",
        WIDTH - PAD,
        f"{y(threshold):.1f}",
        lines,
        dots,
    )
