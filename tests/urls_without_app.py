"""A URLconf without ``intercom_identity.urls``: the JSON view (and so the JWT refresh) is absent."""

from __future__ import annotations

from typing import Any

urlpatterns: list[Any] = []
