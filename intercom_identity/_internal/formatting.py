"""How numbers and moments read wherever a person sees them (the admin's pages and the
command's text output), so every page says "85.7%" and "just now" the same way.

Machine-readable output (``--json``, the JSON views) keeps the exact values instead.
"""

from __future__ import annotations

import math
from datetime import datetime

from django.utils import formats, timezone
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext

# One arrow for every "from -> to" a page shows (headings, lists, history, buttons).
ARROW = "\u2192"
BACK_ARROW = "\u2190"


def percent(ratio: float, *, round_down: bool = False) -> str:
    """``0.8571…`` -> ``"85.7%"``: always one decimal, so a column of percentages lines up.

    ``round_down`` truncates to the tenth instead of rounding: an adoption of 94.96% must not
    read "95.0%" beside a 95.0% threshold it misses.
    """
    tenths = ratio * 1000
    # round() first: 0.57 * 1000 is 569.999…, which is 57.0%, not 56.9%.
    whole = math.floor(round(tenths, 6)) if round_down else math.floor(round(tenths, 6) + 0.5)
    number = formats.number_format(whole / 10, decimal_pos=1)
    return gettext("%(number)s%%") % {"number": number}


def relative_time(moment: datetime, now: datetime | None = None) -> str:
    """``"3 days ago"``, ``"just now"`` under a minute (either way: clocks drift), ``"in 2 hours"``."""
    now = now or timezone.now()
    if abs((now - moment).total_seconds()) < 60:
        return gettext("just now")
    if moment > now:
        return gettext("in %(time)s") % {"time": timeuntil(moment, now, depth=1)}
    return gettext("%(time)s ago") % {"time": timesince(moment, now, depth=1)}


def exact_time(moment: datetime) -> str:
    """The moment in the admin's own date and time format, in the current time zone."""
    return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")
