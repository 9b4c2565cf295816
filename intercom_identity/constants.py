"""The fixed vocabulary: the three platforms Intercom identifies users on, and Intercom's
data-hosting regions with the hosts each one answers on. Plain data, importable before the app
registry is ready."""

from __future__ import annotations

from typing import Any

# The codename of the permission that production changes need (declared on ``models.Environment``).
MANAGE_PRODUCTION = "manage_production"

LABELS = {"ios": "iOS", "android": "Android", "web": "Web"}
NAMES = tuple(LABELS)


def label(platform: str) -> str:
    """``"iOS"`` for ``"ios"``; an unknown name is returned as it is."""
    return LABELS.get(platform, platform)


# Regions: a workspace hosted in Europe or Australia answers only on that region's hosts, its REST API
# and its messenger API (``api_base`` in ``window.intercomSettings``; the United States is the default).
DEFAULT_REGION = "us"

# The REST API's base URL per region (Intercom's API documentation).
REST_API_BASES = {
    "us": "https://api.intercom.io",
    "eu": "https://api.eu.intercom.io",
    "au": "https://api.au.intercom.io",
}

# The messenger's API host per region (Intercom's web install documentation and its
# messenger SDK use these). Not the REST API hosts above.
MESSENGER_API_BASES = {
    "us": "https://api-iam.intercom.io",
    "eu": "https://api-iam.eu.intercom.io",
    "au": "https://api-iam.au.intercom.io",
}


def environment_region(environment: Any) -> str:
    """The region of an ``Environment`` row: ``us``, ``eu`` or ``au``; a value this app does not
    know (raw SQL) is the default region, which is what the messenger assumes anyway."""
    region = environment.region or DEFAULT_REGION
    return region if region in MESSENGER_API_BASES else DEFAULT_REGION


def messenger_api_base(region: str) -> str | None:
    """The ``api_base`` the messenger must be given for ``region``; None for the default region."""
    if region == DEFAULT_REGION:
        return None
    return MESSENGER_API_BASES.get(region)
