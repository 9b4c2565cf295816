"""admin/pages/charts.py: the adoption trend chart."""

from __future__ import annotations


def test_trend_chart_draws_measured_days_only() -> None:
    from intercom_identity.admin.pages.charts import trend_svg

    svg = str(trend_svg([None, 0.5, None, 1.0], 0.95, label="<iOS> & co"))
    assert svg.count("<circle") == 2
    assert svg.count("<polyline") == 1
    assert "&lt;iOS&gt; &amp; co" in svg
    assert "<iOS>" not in svg
    empty = str(trend_svg([None, None], 0.95, label="x"))
    assert "<polyline" not in empty
    assert "<circle" not in empty
