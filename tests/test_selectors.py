"""selectors.py: names parsed into choices, and the rows an environment and a platform designate."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.test import override_settings

from intercom_identity.exceptions import UnknownEnvironment, UnknownPlatform
from intercom_identity.models import CredentialMode, Environment, Platform, PlatformConfig, RolloutPhase
from intercom_identity.selectors import (
    environment_slug,
    get_environment,
    get_platform_config,
    locked_config,
    parse_mode,
    parse_phase,
    parse_platform,
)


def test_names_become_their_choices() -> None:
    assert parse_platform("android") is Platform.ANDROID
    assert parse_mode("jwt") is CredentialMode.JWT
    assert parse_phase("enforced") is RolloutPhase.ENFORCED
    assert parse_platform(Platform.WEB) is Platform.WEB  # already parsed


def test_an_unknown_platform_lists_the_platforms_and_is_a_value_error() -> None:
    with pytest.raises(UnknownPlatform, match=r"^Unknown platform 'tv'; expected one of: ios, android, web\.$"):
        parse_platform("tv")
    assert issubclass(UnknownPlatform, ValueError)


@pytest.mark.parametrize(
    ("parse", "what", "expected"),
    [(parse_mode, "credential mode", "user_hash, jwt"), (parse_phase, "phase", "off, sending, enforced")],
)
def test_an_unknown_mode_or_phase_lists_the_choices(parse: Any, what: str, expected: str) -> None:
    with pytest.raises(ValueError, match=rf"^Unknown {what} 'x'; expected one of: {expected}\.$"):
        parse("x")


def test_the_message_repeats_at_most_40_characters_of_the_input() -> None:
    with pytest.raises(UnknownPlatform) as raised:
        parse_platform("i" * 39 + "XY" + "z" * 1000)
    assert "i" * 39 + "X'" in str(raised.value)
    assert "Y" not in str(raised.value)


@override_settings(INTERCOM_IDENTITY_ENVIRONMENT="production")
def test_no_environment_means_the_current_setting() -> None:
    assert environment_slug() == "production"
    assert environment_slug("development") == "development"
    assert environment_slug(Environment(slug="staging")) == "staging"


@pytest.mark.django_db
def test_get_environment_by_row_slug_or_setting() -> None:
    development = Environment.objects.get(slug="development")
    assert get_environment(development) is development
    assert get_environment("production").slug == "production"
    assert get_environment().slug == "development"  # the test settings' environment


@pytest.mark.django_db
def test_an_unknown_environment_says_where_to_fix_it() -> None:
    with pytest.raises(UnknownEnvironment, match="No Intercom environment 'staging' exists; create it in the admin"):
        get_environment("staging")
    with pytest.raises(UnknownEnvironment, match="'staging'"):
        get_platform_config("ios", "staging")


@pytest.mark.django_db
def test_a_platform_config_by_slug_is_one_query(django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(1):
        config = get_platform_config("web", "production")
        assert (config.environment.slug, config.platform) == ("production", "web")


@pytest.mark.django_db
def test_a_missing_row_is_created_in_phase_off() -> None:
    """An environment inserted without save() (SQL, bulk_create) has no rows: the first read makes one."""
    Environment.objects.bulk_create([Environment(slug="staging", label="Staging")])
    assert not PlatformConfig.objects.filter(environment__slug="staging").exists()
    config = get_platform_config("android", "staging")
    assert (config.pk is not None, config.phase) == (True, RolloutPhase.OFF)
    assert get_platform_config("android", Environment.objects.get(slug="staging")).pk == config.pk


@pytest.mark.django_db
def test_locked_config_reads_the_row_as_it_is_now() -> None:
    config = get_platform_config("ios", "development")
    PlatformConfig.objects.filter(pk=config.pk).update(phase=RolloutPhase.SENDING)
    with transaction.atomic():
        locked = locked_config(config)
    assert (locked.pk, locked.phase, locked.environment.slug) == (config.pk, RolloutPhase.SENDING, "development")
    assert config.phase == RolloutPhase.OFF  # the caller's copy is left as it was
