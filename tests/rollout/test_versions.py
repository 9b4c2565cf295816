"""App versions (versions.py): what may be recorded, what may be a minimum, and their order."""

from __future__ import annotations

import pytest
from django.core.management.base import CommandError

from intercom_identity.rollout.changes import (
    set_min_sending_version,
)
from intercom_identity.rollout.versions import at_least, version_key
from tests.helpers import ios, run, seen, users

pytestmark = pytest.mark.django_db


def test_version_order_is_numeric() -> None:
    assert version_key("5.10.0") > version_key("5.9.2")
    assert version_key("10") > version_key("9.9")
    assert at_least("5.2.0", "5.2.0")
    assert at_least("6", "5.2.0")
    assert not at_least("5.1.9", "5.2.0")
    assert not at_least("5.1.9", "")


def test_version_order_handles_prereleases_and_trailing_zeros() -> None:
    assert version_key("5.2.0-beta") < version_key("5.2.0") < version_key("5.2.0.1")
    assert version_key("1.0") == version_key("1.0.0") == version_key("1")
    assert version_key("5.2.0-beta.2") > version_key("5.2.0-beta.1")
    assert version_key("\xb2\u0665") == version_key("")  # never raises


@pytest.mark.parametrize("version", ["1\xb2", "2\u00b3", "v\u0665", "ü1"])
def test_non_ascii_versions_are_refused(version: str) -> None:
    (person,) = users(1)
    assert not seen(person, version, sent=True)
    with pytest.raises(ValueError, match="ASCII"):
        set_min_sending_version(ios(), version)


@pytest.mark.parametrize("typo", ["banana", "1.x", "x2", "2.0 beta"])
def test_min_version_must_be_a_release_number(typo: str) -> None:
    with pytest.raises(ValueError, match="release number"):
        set_min_sending_version(ios(), typo)
    with pytest.raises(CommandError, match="release number"):
        run("min-version", "development", "ios", typo)
    assert ios().min_sending_version == ""


def test_a_leading_v_is_ignored_in_versions() -> None:
    assert version_key("v2.0.0") == version_key("2")
    assert not at_least("0.1", "v2.0.0")
    set_min_sending_version(ios(), "v5.2.0-beta.1")
    assert ios().min_sending_version == "v5.2.0-beta.1"
