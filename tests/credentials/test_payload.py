"""credentials/payload.py: the payload, what it hands out, and the one serving entry point."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.http import HttpRequest
from django.test import Client, RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext

from intercom_identity import (
    UnservedEnvironment,
    aidentity_payload,
    aserve_identity,
    compute_user_hash,
    identity_payload,
    serve_identity,
)
from intercom_identity.credentials.payload import issue
from intercom_identity.models import AppVersion, ClientActivity, CredentialMode, RolloutPhase
from intercom_identity.rollout.changes import change_mode
from tests.helpers import SECRETS, TWO_WORKSPACES, configure, openssl_hmac

pytestmark = pytest.mark.django_db


def test_issue_says_what_was_handed_out(user: Any) -> None:
    assert issue(user, "ios").handed_out is False  # phase off
    configure("development", "ios", RolloutPhase.SENDING)
    issued = issue(user, "ios")
    assert issued.handed_out is True
    assert issued.payload["user_hash"] == compute_user_hash(SECRETS[("development", "ios")], user_id=str(user.pk))
    assert (issued.config.environment, issued.config.platform) == ("development", "ios")
    assert identity_payload(user, "ios") == issued.payload


def test_a_jwt_counts_as_handed_out_and_a_credential_error_does_not(user: Any) -> None:
    config = configure("development", "ios", RolloutPhase.SENDING)
    change_mode(config, CredentialMode.JWT)
    assert issue(user, "ios").handed_out is True
    with override_settings(INTERCOM_IDENTITY_USER_ID=lambda user: None):
        issued = issue(user, "ios")
    assert issued.payload["credential_error"] is not None
    assert issued.handed_out is False


def test_serve_identity_records_what_it_handed_out(user: Any) -> None:
    configure("development", "ios", RolloutPhase.SENDING)
    payload = serve_identity(user, "ios", "2.0")
    assert payload["user_hash"] is not None
    assert ClientActivity.objects.get(user=user).version == "2.0"
    assert AppVersion.objects.get(version="2.0").first_credential_at is not None
    serve_identity(user, "android", "1.0")  # phase off: counted, not sending
    assert AppVersion.objects.get(platform="android", version="1.0").first_credential_at is None


@override_settings(INTERCOM_IDENTITY_CACHE_TTL=0)  # no process copy: every lookup is a query
def test_the_json_view_loads_the_configuration_once(user_client: Client, all_secrets: Any) -> None:
    user_client.get("/intercom/user-hash/", {"platform": "ios"})  # warm the session
    with CaptureQueriesContext(connection) as queries:
        response = user_client.get("/intercom/user-hash/", {"platform": "ios"}, headers={"X-App-Version": "2.0"})
    assert response.status_code == 200
    lookups = [q["sql"] for q in queries.captured_queries if 'FROM "intercom_identity_platformconfig"' in q["sql"]]
    assert len(lookups) == 1, lookups  # recording reuses the configuration the payload was made under


# --- the request's environment (request=) ---------------------------------------------------------


@pytest.fixture
def two_workspaces(all_secrets: Any) -> Iterator[None]:
    """Production is the default, development is served to the requests whose header asks for it."""
    configure("production", "ios", RolloutPhase.SENDING)
    with override_settings(**TWO_WORKSPACES):
        yield


def asking_for(environment: str | None) -> HttpRequest:
    headers = {"X-Intercom-Environment": environment} if environment else {}
    return RequestFactory().post("/api/login/", headers=headers)


def recorded_in(user: Any) -> set[str]:
    return set(ClientActivity.objects.filter(user=user).values_list("environment__slug", flat=True))


# The four public helpers, each called as a sync function: (helper, whether it records).
def serve(user: Any, platform: str, **kwargs: Any) -> Any:
    return serve_identity(user, platform, "2.0.0", **kwargs)


def aserve(user: Any, platform: str, **kwargs: Any) -> Any:
    return async_to_sync(aserve_identity)(user, platform, "2.0.0", **kwargs)


HELPERS: dict[str, tuple[Callable[..., Any], bool]] = {
    "serve_identity": (serve, True),
    "identity_payload": (identity_payload, False),
    "aserve_identity": (aserve, True),
    "aidentity_payload": (async_to_sync(aidentity_payload), False),
}


@pytest.fixture(params=sorted(HELPERS))
def helper(request: pytest.FixtureRequest) -> tuple[Callable[..., Any], bool]:
    return HELPERS[request.param]


@pytest.mark.parametrize("environment", ["development", None])
def test_a_request_chooses_the_environment(
    user: Any, two_workspaces: None, helper: tuple[Callable[..., Any], bool], environment: str | None
) -> None:
    """The header resolver of the request: development when it asks, the default (production) when not."""
    function, records = helper
    payload = function(user, "ios", request=asking_for(environment))
    served = environment or "production"
    assert payload["environment"] == served
    assert payload["user_hash"] == openssl_hmac(SECRETS[(served, "ios")], str(user.pk))
    assert recorded_in(user) == ({served} if records else set())


def test_an_explicit_environment_wins_over_the_request(
    user: Any, two_workspaces: None, helper: tuple[Callable[..., Any], bool]
) -> None:
    function, records = helper
    payload = function(user, "ios", environment="production", request=asking_for("development"))
    assert payload["environment"] == "production"
    assert payload["user_hash"] == openssl_hmac(SECRETS[("production", "ios")], str(user.pk))
    assert recorded_in(user) == ({"production"} if records else set())


def test_an_unserved_environment_raises_and_hands_out_nothing(
    user: Any, two_workspaces: None, helper: tuple[Callable[..., Any], bool]
) -> None:
    function, _records = helper
    with pytest.raises(UnservedEnvironment, match="'staging'"):
        function(user, "ios", request=asking_for("staging"))
    assert recorded_in(user) == set()


def test_without_a_request_it_is_the_default_environment(user: Any, two_workspaces: None) -> None:
    """The header is not read from anywhere else: a helper without ``request=`` serves the default."""
    assert identity_payload(user, "ios")["environment"] == "production"
    assert async_to_sync(aidentity_payload)(user, "ios")["environment"] == "production"
