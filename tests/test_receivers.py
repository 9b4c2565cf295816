"""receivers.py: every signal receiver, connected once from ``AppConfig.ready()``, and the one reset
of what the process remembers."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.signals import request_finished, request_started
from django.db import connection
from django.db.backends.signals import connection_created
from django.db.models.signals import post_delete, post_save, pre_delete
from django.dispatch import Signal
from django.test import override_settings
from django.test.signals import setting_changed

from intercom_identity import receivers
from intercom_identity._internal import outages
from intercom_identity._internal.configcache import get_serving_config
from intercom_identity.conf import conf
from intercom_identity.messenger import tag
from intercom_identity.models import Environment, PlatformConfig
from intercom_identity.rollout import activity
from tests.helpers import database_down

SIGNALS: dict[str, Signal] = {
    "intercom_identity.PlatformConfig.saved": post_save,
    "intercom_identity.PlatformConfig.deleted": post_delete,
    "intercom_identity.Environment.saved": post_save,
    "intercom_identity.Environment.deleted": post_delete,
    "intercom_identity.user_deleted": pre_delete,
    "intercom_identity.request_started": request_started,
    "intercom_identity.request_finished": request_finished,
    "intercom_identity.connection_created": connection_created,
    "intercom_identity.setting_changed": setting_changed,
}


def connected_uids(signal: Signal) -> set[str]:
    """The app's dispatch uids among ``signal``'s receivers (Django keys each by ``(uid, sender)``)."""
    return {key[0] for key, *_rest in signal.receivers if isinstance(key[0], str)}


def test_ready_connected_every_receiver_once() -> None:
    for uid, signal in SIGNALS.items():
        assert uid in connected_uids(signal), uid
    counts = {name: len(signal.receivers) for name, signal in SIGNALS.items()}
    receivers.connect()  # again: the dispatch uids keep it to one each
    assert {name: len(signal.receivers) for name, signal in SIGNALS.items()} == counts


# --- a saved or deleted row drops the copies it concerns ----------------------------------------------


@pytest.fixture
def changes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str | None]]:
    """Every ``config_changed(using, environment)`` the receivers call."""
    seen: list[tuple[str, str | None]] = []
    monkeypatch.setattr(receivers.configcache, "config_changed", lambda using, env: seen.append((using, env)))
    return seen


@pytest.mark.django_db
def test_a_saved_configuration_concerns_its_environment_only(changes: list[tuple[str, str | None]]) -> None:
    config = PlatformConfig.objects.select_related("environment").get(environment__slug="production", platform="ios")
    config.save()
    assert changes == [("default", "production")]


@pytest.mark.django_db
def test_a_configuration_without_its_environment_loaded_concerns_everything(
    changes: list[tuple[str, str | None]], django_assert_num_queries: Any
) -> None:
    config = PlatformConfig.objects.get(environment__slug="production", platform="ios")
    with django_assert_num_queries(1):  # the UPDATE: no query to learn the environment
        config.save()
    assert changes == [("default", None)]


@pytest.mark.django_db
def test_an_environment_row_concerns_everything(changes: list[tuple[str, str | None]]) -> None:
    staging = Environment.objects.create(slug="staging", label="Staging")
    changes.clear()  # its platform rows were created with it
    staging.label = "Staging 2"
    staging.save()
    staging.delete()
    assert changes[0] == ("default", None)
    assert changes[-1] == ("default", None)


@pytest.mark.django_db
def test_a_saved_configuration_is_served_at_once() -> None:
    config = PlatformConfig.objects.select_related("environment").get(environment__slug="development", platform="ios")
    assert get_serving_config("ios", "development").credential_mode == "user_hash"
    config.credential_mode = "jwt"
    config.save()
    assert get_serving_config("ios", "development").credential_mode == "jwt"


@pytest.mark.django_db
def test_a_deleted_user_is_forgotten_before_the_cascade(monkeypatch: pytest.MonkeyPatch) -> None:
    forgotten: list[Any] = []
    monkeypatch.setattr(activity, "forget_user", forgotten.append)
    person = get_user_model().objects.create_user("gone", "gone@example.com", "pw")
    person.delete()
    assert [user.username for user in forgotten] == ["gone"]


# --- settings and the reset ----------------------------------------------------------------------------


def test_a_changed_setting_is_read_afresh() -> None:
    assert conf.ENVIRONMENT == "development"
    with override_settings(INTERCOM_IDENTITY_ENVIRONMENT="production"):
        assert conf.ENVIRONMENT == "production"
    assert conf.ENVIRONMENT == "development"


def test_a_changed_static_url_moves_the_session_script() -> None:
    before = tag.session_script_url()
    with override_settings(STATIC_URL="/assets/"):
        assert tag.session_script_url() == "/assets/intercom_identity/messenger.js"
    assert tag.session_script_url() == before


@pytest.mark.django_db
def test_forget_process_state_forgets_copies_and_outages() -> None:
    kept = get_serving_config("web", "development")
    assert get_serving_config("web", "development") is kept  # this process's copy
    outages.DATABASE.failed(ConnectionError("refused"), "answered without it")
    assert outages.DATABASE.down
    assert tag.current_workspace("development") is not None  # seen: the fallback with the database down
    receivers.forget_process_state()
    assert not outages.DATABASE.down
    with connection.execute_wrapper(database_down):
        assert tag.current_workspace("development") is None  # nothing to fall back on any more
    assert get_serving_config("web", "development") is not kept
