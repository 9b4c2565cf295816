"""The demo project without intercom_identity: the baseline of ``bench/memory.py``.

The demo's settings, minus the app in ``INSTALLED_APPS``, its middleware, its URLs (``bench.memory_urls``
serves a bare signed-in page and a bare JSON view instead) and its exception reporter filter.
"""

from __future__ import annotations

from project.settings import *  # noqa: F403
from project.settings import INSTALLED_APPS, MIDDLEWARE

INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "intercom_identity"]
MIDDLEWARE = [name for name in MIDDLEWARE if not name.startswith("intercom_identity.")]
ROOT_URLCONF = "bench.memory_urls"
DEFAULT_EXCEPTION_REPORTER_FILTER = "django.views.debug.SafeExceptionReporterFilter"
