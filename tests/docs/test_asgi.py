"""docs/asgi.md: every Python block runs exactly as printed, and does what the page says."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.management import call_command
from django.http import HttpResponse
from django.test import AsyncRequestFactory, override_settings
from django.urls import resolve

from intercom_identity import UnservedEnvironment, compute_user_hash, views
from intercom_identity.checks import check_middleware
from tests.helpers import SECRETS, TWO_WORKSPACES, AsyncBridge, fenced_blocks

pytestmark = pytest.mark.django_db

PAGE = Path(__file__).resolve().parent.parent.parent / "docs" / "asgi.md"
BLOCKS = fenced_blocks("asgi.md", "python")


def block(containing: str) -> dict[str, Any]:
    """Run the one Python block of the page that contains ``containing``; its names."""
    (source,) = [text for text in BLOCKS if containing in text]
    namespace: dict[str, Any] = {"__name__": "docs_asgi_example"}
    exec(compile(source, str(PAGE), "exec"), namespace)  # noqa: S102 - the documentation's own example
    return namespace


def urlconf(**patterns: Any) -> types.ModuleType:
    """A URLconf module serving ``patterns`` (path -> view) and the app's async views."""
    from django.urls import include, path

    module = types.ModuleType("docs_asgi_urls")
    module.urlpatterns = [  # type: ignore[attr-defined]
        path("intercom/", include("intercom_identity.urls_async")),
        *(path(route, view) for route, view in patterns.items()),
    ]
    sys.modules[module.__name__] = module
    return module


def test_every_python_block_is_tested() -> None:
    assert len(BLOCKS) == 5
    for marker in ("urls_async", "MIDDLEWARE = [", "aserve_identity", "aprepare_messenger", '"pool"'):
        assert sum(marker in text for text in BLOCKS) >= 1, marker


def test_the_urlconf_routes_to_the_async_views() -> None:
    names = block('include("intercom_identity.urls_async")')
    module = types.ModuleType("docs_asgi_project_urls")
    module.urlpatterns = names["urlpatterns"]  # type: ignore[attr-defined]
    assert resolve("/intercom/user-hash/", module).func.__name__ == views.auser_hash.__name__
    assert resolve("/intercom/verify/", module).func.__name__ == views.averify_credential.__name__


def test_the_middleware_order_passes_the_checks() -> None:
    names = block("MIDDLEWARE = [")
    with override_settings(MIDDLEWARE=names["MIDDLEWARE"]):
        assert check_middleware() == []
        call_command("check")


def test_the_async_login_view_hands_out_the_identity(all_secrets: Any) -> None:
    login = block("aserve_identity")["login"]
    user = get_user_model().objects.create_user("jane", "jane@example.com", "pw-jane-123")
    body = {"username": "jane", "password": "pw-jane-123", "platform": "ios"}
    request = AsyncRequestFactory().post("/login/", json.dumps(body), content_type="application/json")
    SessionMiddleware(lambda request: HttpResponse()).process_request(request)
    response = async_to_sync(login)(request)
    assert response.status_code == 200
    identity = json.loads(response.content)["intercom"]
    assert identity["user_hash"] == compute_user_hash(SECRETS[("development", "ios")], user_id=str(user.pk))
    assert request.session["_auth_user_id"] == str(user.pk)
    wrong = AsyncRequestFactory().post(
        "/login/", json.dumps({**body, "password": "nope"}), content_type="application/json"
    )
    SessionMiddleware(lambda request: HttpResponse()).process_request(wrong)
    assert async_to_sync(login)(wrong).status_code == 401


@override_settings(**TWO_WORKSPACES)  # production by default; development for the header that asks
@pytest.mark.parametrize(("asked", "status"), [("development", 200), ("staging", 400)])
def test_the_async_login_view_serves_the_requests_environment(all_secrets: Any, asked: str, status: int) -> None:
    login = block("aserve_identity")["login"]
    user = get_user_model().objects.create_user("jane", "jane@example.com", "pw-jane-123")
    body = {"username": "jane", "password": "pw-jane-123", "platform": "ios"}
    request = AsyncRequestFactory().post(
        "/login/", json.dumps(body), content_type="application/json", headers={"X-Intercom-Environment": asked}
    )
    SessionMiddleware(lambda request: HttpResponse()).process_request(request)
    response = async_to_sync(login)(request)
    assert response.status_code == status
    answer = json.loads(response.content)
    if status == 200:
        assert answer["intercom"]["environment"] == "development"
        expected = compute_user_hash(SECRETS[("development", "ios")], user_id=str(user.pk))
        assert answer["intercom"]["user_hash"] == expected
    else:
        assert answer == {"error": "unknown_environment", "detail": str(UnservedEnvironment("staging"))}


def test_the_async_page_renders_the_tag(all_secrets: Any, settings: Any) -> None:
    page = block("aprepare_messenger")["page"]
    settings.ROOT_URLCONF = urlconf(**{"page/": page})
    settings.TEMPLATES = [
        {
            **settings.TEMPLATES[0],
            "APP_DIRS": False,
            "OPTIONS": {
                **settings.TEMPLATES[0]["OPTIONS"],
                "loaders": [
                    (
                        "django.template.loaders.locmem.Loader",
                        {"page.html": "{% load intercom_identity %}<main>{% intercom_messenger %}</main>"},
                    )
                ],
            },
        }
    ]
    from intercom_identity.models import Environment

    Environment.objects.filter(slug="development").update(app_id="abc123")
    user = get_user_model().objects.create_user("jane", "jane@example.com", "pw-jane-123")
    browser = AsyncBridge()
    browser.force_login(user)
    response = browser.get("/page/")
    assert response.status_code == 200
    html = response.content.decode()
    assert compute_user_hash(SECRETS[("development", "web")], user_id=str(user.pk)) in html
    assert "no-store" in response["Cache-Control"]


def test_the_pool_settings_are_what_djangos_pool_accepts() -> None:
    from psycopg_pool import ConnectionPool

    database = block('"pool"')["DATABASES"]["default"]
    assert database["CONN_MAX_AGE"] == 0  # Django refuses a pool with persistent connections
    pool = ConnectionPool(conninfo="", open=False, **database["OPTIONS"]["pool"])  # not opened: no connection
    assert pool.max_size == 4
