"""docs/rate-limits.md: every example runs as printed, and does what the page says."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client, RequestFactory, override_settings

from intercom_identity._internal import ratelimit
from tests.helpers import fenced_blocks

pytestmark = pytest.mark.django_db

PAGE = "rate-limits.md"


def settings_of(block: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(compile(block, PAGE, "exec"), namespace)  # noqa: S102 - the page's own example
    return {name: value for name, value in namespace.items() if name.startswith("INTERCOM_IDENTITY_")}


def test_the_page_has_the_examples_this_file_runs() -> None:
    assert len(fenced_blocks(PAGE, "python")) == 4
    assert len(fenced_blocks(PAGE, "json")) == 1


def test_the_429_body_is_the_one_the_page_shows(user_client: Client, all_secrets: Any) -> None:
    (shown,) = fenced_blocks(PAGE, "json")
    with override_settings(INTERCOM_IDENTITY_HASH_RATE_LIMIT=1):
        user_client.get("/intercom/user-hash/", {"platform": "ios"})
        body = user_client.get("/intercom/user-hash/", {"platform": "ios"}).json()
    assert body.keys() == json.loads(shown).keys()
    assert body["error"] == json.loads(shown)["error"]


def test_one_trusted_proxy_example() -> None:
    block = fenced_blocks(PAGE, "python")[0]
    with override_settings(**settings_of(block)):
        call_command("check")  # valid: no E031
        request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.9")
        assert ratelimit.client_address(request) == ("203.0.113.9", None)


def test_header_name_example() -> None:
    block = fenced_blocks(PAGE, "python")[1]
    with override_settings(**settings_of(block)):
        call_command("check")
        request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_REAL_IP="203.0.113.9")
        assert ratelimit.client_address(request) == ("203.0.113.9", None)


def test_fail_closed_example() -> None:
    block = fenced_blocks(PAGE, "python")[2]
    assert settings_of(block) == {"INTERCOM_IDENTITY_RATE_LIMIT_FAIL_CLOSED": True}
    with override_settings(**settings_of(block)):
        call_command("check")


def test_the_helper_example_limits_a_sites_own_view() -> None:
    namespace: dict[str, Any] = {}
    exec(compile(fenced_blocks(PAGE, "python")[3], PAGE, "exec"), namespace)  # noqa: S102
    view = namespace["my_login"]
    codes = [view(RequestFactory().post("/", REMOTE_ADDR="10.0.0.1")).status_code for _ in range(21)]
    assert codes == [200] * 20 + [429]
    assert view(RequestFactory().post("/", REMOTE_ADDR="10.0.0.2")).status_code == 200
