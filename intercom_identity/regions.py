"""Intercom's data-hosting regions, as the web messenger needs them.

A workspace hosted in Europe or Australia only answers its messenger on that region's API
host; the messenger is told which with ``api_base`` in ``window.intercomSettings``. The
United States host is the messenger's default, so no ``api_base`` is needed there.
"""

from __future__ import annotations

from typing import Any

DEFAULT_REGION = "us"

# The messenger's API host per region (Intercom's web install documentation and its
# messenger SDK use these). Not the REST API hosts (api.eu.intercom.io...).
MESSENGER_API_BASES = {
    "us": "https://api-iam.intercom.io",
    "eu": "https://api-iam.eu.intercom.io",
    "au": "https://api-iam.au.intercom.io",
}


def environment_region(environment: Any) -> str:
    """The region of an ``Environment`` row: ``us``, ``eu`` or ``au``.

    ``Environment.region`` arrives with the workspace migration; until then (and for any
    value this app does not know) every environment is in the default region, which is
    what the messenger assumes anyway.
    """
    region = getattr(environment, "region", DEFAULT_REGION) or DEFAULT_REGION
    return region if region in MESSENGER_API_BASES else DEFAULT_REGION


def messenger_api_base(region: str) -> str | None:
    """The ``api_base`` the messenger must be given for ``region``; None for the default region."""
    if region == DEFAULT_REGION:
        return None
    return MESSENGER_API_BASES.get(region)
