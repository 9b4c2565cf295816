"""The per-process configuration copies: no query when warm, every change seen, nothing stale served.

The suite runs each test in a transaction that never commits, and the app shares nothing
a transaction has not committed; ``committed()`` runs set-up as if it had committed.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.signals import request_finished
from django.db import connection, transaction
from django.template import Context, Template
from django.test import Client, RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext

from intercom_identity import identity_payload
from intercom_identity._internal import configcache
from intercom_identity._internal.configcache import get_serving_config
from intercom_identity._internal.key_rotation import rotate_encryption
from intercom_identity.checks import check_settings, check_shared_cache
from intercom_identity.models import Environment, PlatformConfig, RolloutPhase
from intercom_identity.rollout.changes import change_phase, clear_secret, store_secret
from tests.helpers import CLOSED_REDIS, SECRETS, configure
from tests.localservices import REDIS as REDIS_SERVER
from tests.localservices import reachable, redis_cache

URL = "/intercom/user-hash/"
NEW_SECRET = "dev-ios-rotated-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
REDIS = redis_cache("suite")


def hash_of(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


@pytest.fixture
def ios(committed: Callable[..., Any]) -> PlatformConfig:
    config: PlatformConfig = committed(configure, "development", "ios", RolloutPhase.SENDING)
    return config


def queries_of(client: Client, params: dict[str, str], **headers: str) -> list[str]:
    with CaptureQueriesContext(connection) as context:
        response = client.get(URL, params, headers=headers)
    assert response.status_code in (200, 400), response.content
    # Parameters differ between requests (the session expiry is compared with "now").
    return [re.sub(r"'[^']*'|\b\d+\b", "?", query["sql"]) for query in context.captured_queries]


# --- no query when warm ---------------------------------------------------------------


@pytest.mark.django_db
def test_a_warm_request_makes_no_query_beyond_authentication(ios: PlatformConfig, user: Any) -> None:
    client = Client()
    client.force_login(user)
    client.get(URL, {"platform": "ios"})  # warms this process's copy
    # The same view stopped right after authentication (no platform named): what auth costs.
    authentication = queries_of(client, {})
    served = queries_of(client, {"platform": "ios"})
    assert served == authentication
    assert authentication, "session authentication reads the session and the user"
    assert not any("intercom_identity" in sql for sql in served)
    assert client.get(URL, {"platform": "ios"}).json()["user_hash"] == hash_of(
        SECRETS[("development", "ios")], str(user.pk)
    )


@pytest.mark.django_db
def test_a_warm_request_that_reports_a_recorded_version_makes_no_query_either(
    ios: PlatformConfig, user: Any, committed: Callable[..., Any]
) -> None:
    client = Client()
    client.force_login(user)
    committed(client.get, URL, {"platform": "ios"}, headers={"X-App-Version": "5.2.0"})  # recorded once
    assert queries_of(client, {"platform": "ios"}, X_App_Version="5.2.0") == queries_of(client, {})


@pytest.mark.django_db
def test_a_cold_process_loads_the_configuration_once(ios: PlatformConfig, user: Any) -> None:
    client = Client()
    client.force_login(user)
    cold = queries_of(client, {"platform": "ios"})
    warm = queries_of(client, {"platform": "ios"})
    assert len(cold) == len(warm) + 1
    assert "intercom_identity_platformconfig" in cold[-1]


@pytest.mark.django_db
def test_the_template_tag_renders_warm_without_a_query(committed: Callable[..., Any], user: Any) -> None:
    committed(Environment.objects.filter(slug="development").update, app_id="abc123")
    committed(configure, "development", "web", RolloutPhase.SENDING)
    request = RequestFactory().get("/")
    request.user = user
    template = Template("{% load intercom_identity %}{% intercom_settings %}")
    committed(template.render, Context({"request": request, "user": user}))  # records the page, once
    with CaptureQueriesContext(connection) as context:
        html = template.render(Context({"request": request, "user": user}))
    assert context.captured_queries == []
    assert hash_of(SECRETS[("development", "web")], str(user.pk)) in html


@pytest.mark.django_db
@override_settings(INTERCOM_IDENTITY_CACHE_TTL=0)
def test_cache_ttl_zero_loads_the_configuration_every_time(ios: PlatformConfig, user: Any) -> None:
    client = Client()
    client.force_login(user)
    client.get(URL, {"platform": "ios"})
    assert len(queries_of(client, {"platform": "ios"})) == len(queries_of(client, {})) + 1


# --- every change is seen -------------------------------------------------------------


@pytest.mark.django_db
def test_committed_changes_are_served_at_once_in_the_process_that_made_them(
    ios: PlatformConfig, user: Any, committed: Callable[..., Any]
) -> None:
    assert identity_payload(user, "ios")["phase"] == "sending"  # a warm copy
    committed(store_secret, ios, NEW_SECRET)
    assert identity_payload(user, "ios")["user_hash"] == hash_of(NEW_SECRET, str(user.pk))
    committed(change_phase, ios, RolloutPhase.OFF)
    assert identity_payload(user, "ios")["user_hash"] is None
    committed(Environment.objects.get(slug="development").save)  # any row change counts
    assert identity_payload(user, "ios")["phase"] == "off"


@pytest.mark.django_db
def test_a_change_committed_by_another_process_is_served_within_the_check_interval(
    ios: PlatformConfig, user: Any, clock: list[float]
) -> None:
    assert identity_payload(user, "ios")["phase"] == "sending"
    # Another process changes the row and, on commit, bumps the shared version.
    PlatformConfig.objects.filter(pk=ios.pk).update(phase=RolloutPhase.OFF)
    clock[0] += configcache.VERSION_CHECK_INTERVAL * 1.01
    assert identity_payload(user, "ios")["phase"] == "sending", "no bump yet: the copy is still trusted"
    cache.set(configcache.VERSION_KEY, "bumped-by-another-process")
    clock[0] += configcache.VERSION_CHECK_INTERVAL * 0.5
    assert identity_payload(user, "ios")["phase"] == "sending", "the version was read less than an interval ago"
    clock[0] += configcache.VERSION_CHECK_INTERVAL * 0.6
    assert identity_payload(user, "ios")["phase"] == "off"


@pytest.mark.django_db
def test_the_version_is_read_at_most_once_per_interval(
    ios: PlatformConfig, user: Any, clock: list[float], monkeypatch: Any
) -> None:
    identity_payload(user, "ios")  # creates the versions not bumped yet (a first read adds them)
    reads = []
    real_get = cache.get
    # LocMemCache's get_many() calls get() for each key: both versions are counted.
    monkeypatch.setattr(cache, "get", lambda key, *args, **kw: reads.append(key) or real_get(key, *args, **kw))
    clock[0] += configcache.VERSION_CHECK_INTERVAL * 1.01
    for _ in range(50):
        identity_payload(user, "ios")
    clock[0] += configcache.VERSION_CHECK_INTERVAL * 1.01
    identity_payload(user, "ios")
    assert reads.count(configcache.VERSION_KEY) == 2
    assert reads.count(configcache.environment_version_key("development")) == 2


@pytest.mark.django_db
def test_cache_ttl_bounds_how_long_an_unannounced_change_goes_unseen(
    ios: PlatformConfig, user: Any, clock: list[float], settings: Any
) -> None:
    settings.INTERCOM_IDENTITY_CACHE_TTL = 30
    assert identity_payload(user, "ios")["phase"] == "sending"
    PlatformConfig.objects.filter(pk=ios.pk).update(phase=RolloutPhase.OFF)  # raw SQL: nobody is told
    clock[0] += 29
    assert identity_payload(user, "ios")["phase"] == "sending"
    clock[0] += 1
    assert identity_payload(user, "ios")["phase"] == "off"


@pytest.mark.django_db
@pytest.mark.parametrize("change", ["clear_secret", "rotate_encryption"])
def test_queryset_updates_of_the_services_announce_themselves(
    change: str, user: Any, committed: Callable[..., Any]
) -> None:
    config = committed(configure, "development", "android")  # phase off: its secret may be cleared
    get_serving_config("android")
    # Clearing a secret concerns one environment; re-encrypting with a new key, all of them.
    key = configcache.environment_version_key("development") if change == "clear_secret" else configcache.VERSION_KEY
    version = cache.get(key)
    committed(clear_secret, config) if change == "clear_secret" else committed(rotate_encryption)
    assert cache.get(key) != version


@pytest.mark.django_db
def test_a_change_of_settings_drops_the_copies(ios: PlatformConfig, user: Any) -> None:
    assert identity_payload(user, "ios")["user_hash"] == hash_of(SECRETS[("development", "ios")], str(user.pk))
    with override_settings(INTERCOM_IDENTITY_SECRETS={"development": {"ios": NEW_SECRET}}):
        assert identity_payload(user, "ios")["user_hash"] == hash_of(NEW_SECRET, str(user.pk))
    assert identity_payload(user, "ios")["user_hash"] == hash_of(SECRETS[("development", "ios")], str(user.pk))


# --- nothing stale or uncommitted is served --------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_is_never_served(user: Any) -> None:
    Environment.objects.get_or_create(slug="development", defaults={"label": "Development / test"})
    config = configure("development", "ios", RolloutPhase.SENDING)  # really committed
    assert identity_payload(user, "ios")["phase"] == "sending"
    seen_inside = []

    def change_then_fail() -> None:
        with transaction.atomic():
            change_phase(config, RolloutPhase.OFF)
            seen_inside.append(identity_payload(user, "ios")["phase"])
            raise RuntimeError("the change is rolled back")

    with pytest.raises(RuntimeError):
        change_then_fail()
    assert seen_inside == ["off"], "the changing thread sees its own change"
    assert identity_payload(user, "ios")["phase"] == "sending"
    assert identity_payload(user, "ios")["phase"] == "sending"  # and no copy of the rolled-back state was kept


@pytest.mark.django_db(transaction=True)
def test_after_a_rolled_back_request_the_next_atomic_request_is_served_from_the_copy(user: Any) -> None:
    """With ATOMIC_REQUESTS every view runs in a transaction: the end of the request that rolled
    back a change must clear the flag, or the thread would never use its copies again."""
    Environment.objects.get_or_create(slug="development", defaults={"label": "Development / test"})
    config = configure("development", "ios", RolloutPhase.SENDING)

    def request_that_fails() -> None:
        with transaction.atomic():
            change_phase(config, RolloutPhase.OFF)
            raise RuntimeError("the view failed")

    with pytest.raises(RuntimeError):
        request_that_fails()
    request_finished.send(sender=None)
    with transaction.atomic():  # the next request, atomic too
        assert identity_payload(user, "ios")["phase"] == "sending"
        with CaptureQueriesContext(connection) as context:
            assert identity_payload(user, "ios")["phase"] == "sending"
    assert context.captured_queries == []


@pytest.mark.django_db
def test_copies_made_before_a_cache_outage_are_not_served_after_it(
    ios: PlatformConfig, user: Any, clock: list[float], monkeypatch: Any
) -> None:
    assert identity_payload(user, "ios")["phase"] == "sending"
    version = cache.get(configcache.VERSION_KEY)
    with monkeypatch.context() as outage:
        # The cache goes down; meanwhile a change is committed elsewhere, and its bump is lost.
        outage.setattr(cache, "get", lambda *args, **kwargs: (_ for _ in ()).throw(ConnectionError("down")))
        clock[0] += configcache.VERSION_CHECK_INTERVAL * 1.01
        PlatformConfig.objects.filter(pk=ios.pk).update(phase=RolloutPhase.OFF)
        assert identity_payload(user, "ios")["phase"] == "off"  # read from the database
    assert cache.get(configcache.VERSION_KEY) == version  # the cache is back, with the version from before
    clock[0] += configcache.VERSION_CHECK_INTERVAL * 1.01
    assert identity_payload(user, "ios")["phase"] == "off", "the copy from before the outage is gone"


@pytest.mark.django_db
def test_an_unreadable_cache_means_the_configuration_is_read_from_the_database(
    ios: PlatformConfig, user: Any, caplog: Any, committed: Callable[..., Any], monkeypatch: Any
) -> None:
    with override_settings(CACHES=CLOSED_REDIS), caplog.at_level(logging.WARNING, "intercom_identity"):
        client = Client()
        client.force_login(user)
        assert len(queries_of(client, {"platform": "ios"})) == len(queries_of(client, {})) + 1
        committed(change_phase, ios, RolloutPhase.OFF)  # the bump fails: logged, the change is served anyway
        assert client.get(URL, {"platform": "ios"}).json()["phase"] == "off"
    warnings = [r for r in caplog.records if r.name.startswith("intercom_identity")]
    assert len(warnings) == 1, "the outage is logged once, not once per request (tests/_internal/test_outages.py)"
    assert "the cache is unavailable" in warnings[0].getMessage()


@pytest.mark.django_db
def test_the_copy_keeps_the_secret_out_of_repr(ios: PlatformConfig) -> None:
    config = get_serving_config("ios")
    assert config.secret() == SECRETS[("development", "ios")]
    assert SECRETS[("development", "ios")] not in repr(config)
    assert "phase='sending'" in repr(config)


@pytest.mark.skipif(not reachable(REDIS_SERVER, timeout=0.5), reason="Redis is not running")
@pytest.mark.django_db
def test_the_version_is_shared_through_redis(ios: PlatformConfig, user: Any, committed: Callable[..., Any]) -> None:
    with override_settings(CACHES=REDIS):
        cache.clear()
        assert identity_payload(user, "ios")["phase"] == "sending"
        key = configcache.environment_version_key("development")  # a phase change concerns its environment
        before = cache.get(key)
        committed(change_phase, ios, RolloutPhase.OFF)
        assert cache.get(key) not in (None, before)
        assert identity_payload(user, "ios")["phase"] == "off"
        cache.clear()


# --- settings and checks ----------------------------------------------------------------


@pytest.mark.parametrize("value", [-1, "60", True, 1.5])
def test_a_malformed_cache_ttl_is_an_error(value: object) -> None:
    with override_settings(INTERCOM_IDENTITY_CACHE_TTL=value):
        assert [m.id for m in check_settings()] == ["intercom_identity.E016"]


def test_locmem_in_a_multi_process_deployment_is_a_warning(monkeypatch: Any) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    with override_settings(CACHES=LOCMEM, INTERCOM_IDENTITY_CACHE_TTL=45):
        (message,) = check_shared_cache()
    assert message.id == "intercom_identity.W004"
    assert "WEB_CONCURRENCY is 4" in message.msg
    assert "INTERCOM_IDENTITY_CACHE_TTL (45 s)" in message.msg


def test_debug_off_with_a_database_server_counts_as_multi_process(monkeypatch: Any) -> None:
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.setitem(settings.DATABASES["default"], "ENGINE", "django.db.backends.postgresql")
    with override_settings(CACHES=LOCMEM, DEBUG=False):
        (message,) = check_shared_cache()
    assert "DEBUG is off with a database server" in message.msg


def test_a_shared_cache_or_a_single_process_is_fine(monkeypatch: Any) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    with override_settings(CACHES=REDIS):
        assert check_shared_cache() == []
    monkeypatch.delenv("WEB_CONCURRENCY")
    with override_settings(CACHES=LOCMEM, DEBUG=True):
        assert check_shared_cache() == []


# --- one copy per environment, invalidated independently ------------------------------------


@pytest.fixture
def both(committed: Callable[..., Any]) -> tuple[PlatformConfig, PlatformConfig]:
    development = committed(configure, "development", "ios", RolloutPhase.SENDING)
    production = committed(configure, "production", "ios", RolloutPhase.SENDING)
    return development, production


@pytest.mark.django_db
def test_a_phase_change_in_one_environment_leaves_the_others_copy_warm(
    both: tuple[PlatformConfig, PlatformConfig], user: Any, committed: Callable[..., Any], clock: list[float]
) -> None:
    development, _production = both
    warm = {env: get_serving_config("ios", env) for env in ("development", "production")}
    committed(change_phase, development, RolloutPhase.OFF)
    clock[0] += configcache.VERSION_CHECK_INTERVAL * 1.01  # the usual bound: every process has read the versions
    with CaptureQueriesContext(connection) as untouched:
        assert get_serving_config("ios", "production") is warm["production"]
    assert untouched.captured_queries == []
    assert get_serving_config("ios", "development").phase == "off"
    assert identity_payload(user, "ios", environment="production")["phase"] == "sending"


@pytest.mark.django_db
def test_another_process_bumping_one_environment_is_seen_within_the_bound_there_only(
    both: tuple[PlatformConfig, PlatformConfig], user: Any, clock: list[float]
) -> None:
    development, production = both
    get_serving_config("ios", "development")
    warm_production = get_serving_config("ios", "production")
    # Another process changes development and, on commit, bumps development's version.
    PlatformConfig.objects.filter(pk=development.pk).update(phase=RolloutPhase.OFF)
    cache.set(configcache.environment_version_key("development"), "bumped-by-another-process")
    assert identity_payload(user, "ios", environment="development")["phase"] == "sending", "read < interval ago"
    clock[0] += configcache.VERSION_CHECK_INTERVAL * 1.01
    assert identity_payload(user, "ios", environment="development")["phase"] == "off"
    assert get_serving_config("ios", "production") is warm_production
    assert production.phase == RolloutPhase.SENDING


@pytest.mark.django_db
def test_an_environment_row_change_drops_every_copy(
    both: tuple[PlatformConfig, PlatformConfig], committed: Callable[..., Any]
) -> None:
    """An environment's slug or app ID may change what any copy says: every environment reloads."""
    warm = get_serving_config("ios", "production")
    environment = Environment.objects.get(slug="development")
    environment.app_id = "abc12def"
    committed(environment.save)
    assert get_serving_config("ios", "production") is not warm
