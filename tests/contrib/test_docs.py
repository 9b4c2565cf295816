"""docs/login-stacks.md: every block a reader pastes runs as printed (the djoser, knox and DRF
blocks are the URLs tests/contrib/urls.py serves to tests/contrib/test_logins.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import RequestFactory
from django.utils.module_loading import import_string

from tests.helpers import DOCS, SECRETS, doc_blocks, doc_module, openssl_hmac

PAGE = "login-stacks.md"


def test_every_python_block_of_the_page_is_named_and_run() -> None:
    names = set(doc_blocks(PAGE))
    assert names == {"rest_framework", "simplejwt", "dj_rest_auth", "allauth", "djoser", "knox", "own-view"}
    text = (DOCS / PAGE).read_text(encoding="utf-8")
    assert text.count("```python") == len(names)


@pytest.mark.parametrize(("name", "setting"), [("simplejwt", "SIMPLE_JWT"), ("dj_rest_auth", "REST_AUTH")])
def test_the_settings_blocks_are_the_suite_s_settings(name: str, setting: str) -> None:
    documented = getattr(doc_module(PAGE, name), setting)
    configured = getattr(settings, setting)
    for key, path in documented.items():
        import_string(path)  # each named class exists
        if key in configured:
            assert configured[key] == path
    assert set(documented) & set(configured)


def test_the_allauth_block_is_the_suite_s_strategy() -> None:
    strategy = doc_module(PAGE, "allauth").HEADLESS_TOKEN_STRATEGY
    assert strategy == settings.HEADLESS_TOKEN_STRATEGY
    import_string("intercom_identity.contrib.allauth.IntercomJWTTokenStrategy")


@pytest.mark.django_db
def test_the_own_view_block_adds_the_payload(user: Any, all_secrets: Any) -> None:
    request = RequestFactory().post("/login/", headers={"X-Intercom-Platform": "ios", "X-App-Version": "2.0.0"})
    response_data: dict[str, Any] = {"token": "t"}
    doc_module(PAGE, "own-view", request=request, user=user, response_data=response_data)
    assert response_data["intercom"]["user_hash"] == openssl_hmac(SECRETS[("development", "ios")], str(user.pk))


@pytest.mark.django_db
@pytest.mark.urls("tests.contrib.urls")
def test_the_mobile_page_s_provider_request_answers_a_fresh_jwt(user: Any) -> None:
    """docs/mobile.md's request, as printed (the placeholder token replaced by a real one)."""
    import jwt
    from django.test import Client

    from tests.helpers import jwt_config

    jwt_config("ios")
    client = Client()
    token = client.post(
        "/api/token/", {"username": "jane", "password": "pw-jane-123"}, content_type="application/json"
    ).json()["access"]
    request_line, *header_lines = doc_blocks("mobile.md")["provider-request"].splitlines()
    method, url = request_line.split()
    headers = dict(line.split(": ", 1) for line in header_lines)
    headers["Authorization"] = headers["Authorization"].replace("<the app's API token>", token)
    assert method == "GET"
    response = client.get(url, headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert jwt.decode(body["intercom_user_jwt"], SECRETS[("development", "ios")], algorithms=["HS256"])
    assert "no-store" in response["Cache-Control"]
