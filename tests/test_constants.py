"""Intercom's regions and the messenger's api_base for each."""

from __future__ import annotations

from intercom_identity.constants import MESSENGER_API_BASES, REST_API_BASES, environment_region, messenger_api_base
from intercom_identity.models import Environment, Region


def test_environment_region_is_the_field_and_unknown_values_are_the_default() -> None:
    assert [environment_region(Environment(region=value)) for value in ("us", "eu", "au")] == ["us", "eu", "au"]
    assert environment_region(Environment(region="")) == "us"
    assert environment_region(Environment(region="mars")) == "us"
    assert set(MESSENGER_API_BASES) == set(REST_API_BASES) == set(Region.values)
    assert messenger_api_base("us") is None
    assert set(MESSENGER_API_BASES) == {"us", "eu", "au"}
    assert messenger_api_base("eu") == "https://api-iam.eu.intercom.io"
    assert messenger_api_base("au") == "https://api-iam.au.intercom.io"
