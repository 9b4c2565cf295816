"""``tests.contrib.urls`` as an ASGI project includes the app (``tests.urls_async``: the async
views), with the same login libraries' URLs (the DRF twin, sync, run by the ASGI handler)."""

from __future__ import annotations

from tests.contrib.urls import login_urlpatterns
from tests.urls_async import urlpatterns as async_urlpatterns

urlpatterns = [*async_urlpatterns, *login_urlpatterns]
