"""An exception reporter filter that hides sensitive values even when DEBUG is on.

Django's ``SafeExceptionReporterFilter`` honours ``sensitive_variables`` and
``sensitive_post_parameters`` only with DEBUG off, so the DEBUG technical 500 page shows
the secret-holding locals this app marks. Point ``DEFAULT_EXCEPTION_REPORTER_FILTER`` at
this class (the demo does) to hide them in development too.
"""

from __future__ import annotations

from typing import Any

from django.views.debug import SafeExceptionReporterFilter


class AlwaysSafeExceptionReporterFilter(SafeExceptionReporterFilter):
    def is_active(self, request: Any) -> bool:
        return True
