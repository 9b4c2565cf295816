"""MessengerSessionMiddleware: Intercom's session cookies expire when the signed-in user changes."""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext

from intercom_identity._internal import configcache
from intercom_identity.middleware import MessengerSessionMiddleware
from intercom_identity.models import Environment
from tests.helpers import database_down

pytestmark = pytest.mark.django_db

APP_ID = "abc123"
SESSION, VISITOR, DEVICE = f"intercom-session-{APP_ID}", f"intercom-id-{APP_ID}", f"intercom-device-id-{APP_ID}"
HOSTS = ["testserver", "app.eu.example.com", "127.0.0.1", "[::1]"]
EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT"


@pytest.fixture(autouse=True)
def app_id(db: None) -> str:
    Environment.objects.filter(slug="development").update(app_id=APP_ID)
    return APP_ID


def staff(username: str) -> Any:
    return get_user_model().objects.create_user(username, f"{username}@example.com", "pw", is_staff=True)


def browser_of(user: Any | None = None, host: str = "testserver") -> Client:
    """A client holding the messenger's three cookies, like a browser Intercom has run in."""
    client = Client(HTTP_HOST=host)
    if user is not None:
        client.force_login(user)
    for name in (SESSION, VISITOR, DEVICE):
        client.cookies[name] = "value-set-by-intercom"
    return client


def set_cookie_headers(response: Any) -> list[str]:
    """The Set-Cookie header values the WSGI handler sends for ``response``."""
    return [morsel.output(header="").strip() for morsel in response.cookies.values()]


def expiries(response: Any) -> set[tuple[str, str, str]]:
    """(name, domain, path) of every messenger cookie the response expires ('' = host-only)."""
    found = set()
    for header in set_cookie_headers(response):
        morsel = next(iter(SimpleCookie(header).values()))
        if morsel.key.startswith("intercom-"):
            assert morsel.value == ""
            assert morsel["max-age"] == "0"
            assert morsel["expires"] == EPOCH
            found.add((morsel.key, morsel["domain"], morsel["path"]))
    return found


def log_out(client: Client) -> Any:
    return client.post("/admin/logout/")


# --- a change of user expires the session and visitor cookies ------------------------------


def test_logout_expires_the_session_and_visitor_cookies_host_only() -> None:
    client = browser_of(staff("alice"))
    response = log_out(client)
    assert response.status_code == 200
    assert expiries(response) == {(SESSION, "", "/"), (VISITOR, "", "/")}
    assert DEVICE not in " ".join(set_cookie_headers(response))


@override_settings(ALLOWED_HOSTS=HOSTS)
def test_logout_expires_them_on_the_host_and_each_parent_domain() -> None:
    response = log_out(browser_of(staff("alice"), host="app.eu.example.com"))
    expected = {(name, domain, "/") for name in (SESSION, VISITOR) for domain in ("", *PARENTS)}
    assert expiries(response) == expected
    assert DEVICE not in " ".join(set_cookie_headers(response))


PARENTS = ("app.eu.example.com", "eu.example.com", "example.com")


@override_settings(ALLOWED_HOSTS=HOSTS, INTERCOM_IDENTITY_COOKIE_DOMAIN=".example.com")
def test_the_configured_cookie_domain_is_the_only_one() -> None:
    response = log_out(browser_of(staff("alice"), host="app.eu.example.com"))
    assert expiries(response) == {(SESSION, ".example.com", "/"), (VISITOR, ".example.com", "/")}


def test_a_login_as_another_user_expires_them() -> None:
    staff("bob")
    client = browser_of(staff("alice"))
    response = client.post("/admin/login/?next=/admin/", {"username": "bob", "password": "pw"})
    assert response.status_code == 302  # bob is signed in
    assert client.session["_auth_user_id"] == str(get_user_model().objects.get(username="bob").pk)
    assert expiries(response) == {(SESSION, "", "/"), (VISITOR, "", "/")}


def test_a_session_flushed_because_the_password_changed_elsewhere_expires_them() -> None:
    alice = staff("alice")
    client = browser_of(alice)
    alice.set_password("changed-elsewhere")
    alice.save()
    response = client.get("/")  # Django finds the session's password hash stale and flushes it
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert expiries(response) == {(SESSION, "", "/"), (VISITOR, "", "/")}


@override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
def test_over_https_the_expiry_is_secure() -> None:
    client = browser_of(staff("alice"))
    response = client.post("/admin/logout/", headers={"X-Forwarded-Proto": "https"})
    assert all("Secure" in header for header in set_cookie_headers(response) if header.startswith("intercom-"))
    assert expiries(response) == {(SESSION, "", "/"), (VISITOR, "", "/")}


# --- no change of user, no cookie ----------------------------------------------------------


def test_a_page_view_by_the_same_user_touches_no_cookie() -> None:
    client = browser_of(staff("alice"))
    response = client.get("/")
    assert response.status_code == 200
    assert expiries(response) == set()
    assert not any(header.startswith("intercom-") for header in set_cookie_headers(response))


def test_a_login_as_the_same_user_again_touches_no_cookie() -> None:
    client = browser_of(staff("alice"))
    response = client.post("/admin/login/?next=/admin/", {"username": "alice", "password": "pw"})
    assert response.status_code == 302
    assert expiries(response) == set()


def test_anonymous_traffic_touches_no_cookie() -> None:
    client = browser_of()
    for response in (client.get("/"), client.get("/admin/login/"), log_out(client)):
        assert expiries(response) == set()


def test_a_visitor_who_signs_in_keeps_the_visitor_session() -> None:
    """Intercom merges a visitor's conversations into the user's when they sign in."""
    staff("alice")
    client = browser_of()
    client.get("/admin/login/")  # the login page starts a session (CSRF)
    response = client.post("/admin/login/?next=/admin/", {"username": "alice", "password": "pw"})
    assert response.status_code == 302
    assert expiries(response) == set()


def test_reading_the_session_does_not_make_responses_vary_on_cookie() -> None:
    """A view that never touches the session must not get ``Vary: Cookie`` because of us."""
    client = browser_of(staff("alice"))
    request = RequestFactory().get("/", HTTP_COOKIE=f"sessionid={client.cookies['sessionid'].value}")

    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse("no session used")

    response = SessionMiddleware(MessengerSessionMiddleware(view))(request)
    assert "Cookie" not in response.get("Vary", "")


def test_a_page_view_costs_no_extra_query() -> None:
    client = browser_of(staff("alice"))
    client.get("/")  # warm

    def queries(middleware: list[str]) -> int:
        with override_settings(MIDDLEWARE=middleware):
            fresh = Client()
            fresh.cookies = client.cookies
            with CaptureQueriesContext(connection) as context:
                assert fresh.get("/").status_code == 200
        return len(context.captured_queries)

    from django.conf import settings

    without = [name for name in settings.MIDDLEWARE if not name.endswith("MessengerSessionMiddleware")]
    assert queries(list(settings.MIDDLEWARE)) == queries(without)


# --- failures --------------------------------------------------------------------------------


def test_without_an_app_id_nothing_is_expired() -> None:
    Environment.objects.filter(slug="development").update(app_id="")
    assert expiries(log_out(browser_of(staff("alice")))) == set()


def test_with_the_database_down_the_app_id_last_seen_is_used() -> None:
    client = browser_of(staff("alice"))
    client.get("/")  # the page renders the messenger: this process has seen the app id
    configcache.forget()  # and has no copy of the configuration left
    request = RequestFactory().post("/", HTTP_COOKIE=f"sessionid={client.cookies['sessionid'].value}")
    SessionMiddleware(lambda request: HttpResponse())(request)
    assert request.session.get("_auth_user_id")  # read before the database goes down

    def sign_out(request: HttpRequest) -> HttpResponse:
        del request.session["_auth_user_id"]
        return HttpResponse("signed out")

    with connection.execute_wrapper(database_down):
        response = MessengerSessionMiddleware(sign_out)(request)
    assert expiries(response) == {(SESSION, "", "/"), (VISITOR, "", "/")}


def test_without_session_middleware_it_says_what_is_missing() -> None:
    middleware = MessengerSessionMiddleware(lambda request: HttpResponse())
    with pytest.raises(ImproperlyConfigured, match="SessionMiddleware before it"):
        middleware(RequestFactory().get("/"))


@pytest.mark.parametrize("value", ["https://example.com", "example.com:443", "exa mple.com", "", 42, "a..b"])
def test_a_malformed_cookie_domain_fails_the_system_check(value: object) -> None:
    with override_settings(INTERCOM_IDENTITY_COOKIE_DOMAIN=value), pytest.raises(SystemCheckError, match="E017"):
        call_command("check")


@pytest.mark.parametrize("value", [".example.com", "example.com", "localhost", None])
def test_a_well_formed_cookie_domain_passes_the_system_check(value: object) -> None:
    with override_settings(INTERCOM_IDENTITY_COOKIE_DOMAIN=value):
        call_command("check")


def test_with_the_session_store_down_the_view_still_answers(user_client: Client) -> None:
    """The session is read where the view's own error handling can answer (a 503 JSON)."""
    with connection.execute_wrapper(database_down):
        response = user_client.get("/intercom/user-hash/", {"platform": "web"})
    assert response.status_code == 503
    assert response.json()["error"] == "database_unavailable"


# --- several workspaces: the cookies of the workspace the request is served from --------------


def test_the_cookies_expired_are_those_of_the_hosts_workspace() -> None:
    Environment.objects.filter(slug="production").update(app_id="brandbbb2")
    brands = {
        "INTERCOM_IDENTITY_SERVED_ENVIRONMENTS": ["production"],
        "INTERCOM_IDENTITY_ENVIRONMENT_RESOLVER": "intercom_identity.resolvers.host_environment",
        "INTERCOM_IDENTITY_ENVIRONMENT_HOSTS": {"brand-b.example.com": "production"},
        "ALLOWED_HOSTS": [".example.com", "testserver"],
    }
    with override_settings(**brands):
        brand_b = log_out(browser_of(staff("alice"), host="brand-b.example.com"))
        default = log_out(browser_of(staff("bob")))
    assert {name for name, _domain, _path in expiries(brand_b)} == {
        "intercom-session-brandbbb2",
        "intercom-id-brandbbb2",
    }
    assert {name for name, _domain, _path in expiries(default)} == {SESSION, VISITOR}


def test_an_unserved_environment_expires_nothing_and_answers() -> None:
    unserved = {
        "INTERCOM_IDENTITY_ENVIRONMENT_RESOLVER": "intercom_identity.resolvers.header_environment",
    }
    with override_settings(**unserved):
        client = browser_of(staff("alice"))
        response = client.post("/admin/logout/", headers={"X-Intercom-Environment": "staging"})
    assert response.status_code == 200
    assert expiries(response) == set()
