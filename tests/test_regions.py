"""Intercom's regions and the messenger's api_base for each."""

from __future__ import annotations

from intercom_identity.regions import MESSENGER_API_BASES, environment_region, messenger_api_base


def test_environment_region_before_and_after_the_field_exists() -> None:
    class Before:
        pass

    class After:
        def __init__(self, region: str) -> None:
            self.region = region

    assert environment_region(Before()) == "us"
    assert [environment_region(After(value)) for value in ("us", "eu", "au")] == ["us", "eu", "au"]
    assert environment_region(After("")) == "us"
    assert environment_region(After("mars")) == "us"
    assert messenger_api_base("us") is None
    assert set(MESSENGER_API_BASES) == {"us", "eu", "au"}
    assert messenger_api_base("eu") == "https://api-iam.eu.intercom.io"
    assert messenger_api_base("au") == "https://api-iam.au.intercom.io"
