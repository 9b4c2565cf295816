"""MessengerSessionMiddleware: Intercom's session cookies expire when the signed-in user changes."""

from __future__ import annotations

import json
import re
from http.cookies import SimpleCookie
from typing import Any

import pytest
from asgiref.sync import async_to_sync, iscoroutinefunction
from django.contrib.auth import get_user_model
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext

from intercom_identity._internal import configcache
from intercom_identity.messenger.cookies import MARKER_COOKIE
from intercom_identity.middleware import MessengerSessionMiddleware
from intercom_identity.models import Environment
from tests.helpers import AsyncBridge, ThreadHops, database_down

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


def signed_in_with_the_database_up(client: Client) -> HttpRequest:
    """A request of ``client``'s browser, its session read while the database is still up."""
    request = RequestFactory().post("/", HTTP_COOKIE=f"sessionid={client.cookies['sessionid'].value}")
    SessionMiddleware(lambda request: HttpResponse())(request)
    assert request.session.get("_auth_user_id")
    return request


def test_in_an_async_stack_with_the_database_down_the_app_id_last_seen_is_used() -> None:
    client = browser_of(staff("alice"))
    client.get("/")  # the page renders the messenger: this process has seen the app id
    configcache.forget()  # and has no copy of the configuration left
    request = signed_in_with_the_database_up(client)
    with connection.execute_wrapper(database_down):
        response = through("async", request, signs_out)
    assert expiries(response) == {(SESSION, "", "/"), (VISITOR, "", "/")}


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_with_the_database_down_and_the_app_id_never_seen_nothing_is_expired(
    mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The async stack reads nothing synchronously in the event loop (no SynchronousOnlyOperation):
    it logs and answers, as the sync one does."""
    request = signed_in_with_the_database_up(browser_of(staff("alice")))
    with connection.execute_wrapper(database_down):
        response = through(mode, request, signs_out)
    assert response.status_code == 200
    assert expiries(response) == set()
    assert "the environment's app id cannot be read" in caplog.text


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_served_environment_without_its_row_expires_nothing_and_answers(
    mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    """System check W017: the resolved environment has no row in the database."""
    request = signed_in_request(staff("alice"))
    with override_settings(INTERCOM_IDENTITY_ENVIRONMENT="staging"):
        response = through(mode, request, signs_out)
    assert response.status_code == 200
    assert expiries(response) == set()
    assert "the environment's app id cannot be read" in caplog.text


def test_without_session_middleware_requests_pass_through_and_the_check_says_so() -> None:
    """Once an ImproperlyConfigured on every request; now a start-up check (E033)."""
    middleware = MessengerSessionMiddleware(lambda request: HttpResponse("ok"))
    assert middleware(RequestFactory().get("/")).content == b"ok"


SESSIONS = "django.contrib.sessions.middleware.SessionMiddleware"
AUTH = "django.contrib.auth.middleware.AuthenticationMiddleware"
OURS = "intercom_identity.middleware.MessengerSessionMiddleware"
MESSAGES_MW = "django.contrib.messages.middleware.MessageMiddleware"


@pytest.mark.parametrize(
    ("middleware", "error"),
    [
        ([AUTH, OURS, MESSAGES_MW], "E033"),
        ([SESSIONS, OURS, MESSAGES_MW], "E033"),
        ([OURS, SESSIONS, AUTH, MESSAGES_MW], "E034"),
        ([SESSIONS, OURS, AUTH, MESSAGES_MW], "E034"),
    ],
)
def test_a_missing_or_misplaced_session_or_auth_middleware_fails_the_system_check(
    middleware: list[str], error: str
) -> None:
    with override_settings(MIDDLEWARE=middleware), pytest.raises(SystemCheckError, match=error):
        call_command("check")


def test_the_check_names_what_is_missing_and_where_it_goes() -> None:
    from intercom_identity.checks import check_middleware

    with override_settings(MIDDLEWARE=[SESSIONS, OURS, AUTH]):
        (message,) = check_middleware()
    assert message.id == "intercom_identity.E034"
    assert "before AuthenticationMiddleware" in message.msg
    assert "after SessionMiddleware and AuthenticationMiddleware" in (message.hint or "")


def test_the_check_is_quiet_in_a_correct_stack() -> None:
    """(Without the middleware it warns: tests/test_checks.py, W021.)"""
    from intercom_identity.checks import check_middleware

    assert check_middleware() == []
    call_command("check")


# --- sync and async ---------------------------------------------------------------------------


def test_it_is_sync_and_async_capable_without_middleware_mixin() -> None:
    from django.utils.deprecation import MiddlewareMixin

    assert MessengerSessionMiddleware.sync_capable is True
    assert MessengerSessionMiddleware.async_capable is True
    assert not issubclass(MessengerSessionMiddleware, MiddlewareMixin)

    async def async_view(request: HttpRequest) -> HttpResponse:
        return HttpResponse()

    assert iscoroutinefunction(MessengerSessionMiddleware(async_view))
    assert not iscoroutinefunction(MessengerSessionMiddleware(lambda request: HttpResponse()))


@override_settings(ROOT_URLCONF="tests.urls_async")
def test_in_an_async_stack_it_costs_no_thread_hop() -> None:
    """Django adapts a sync-only middleware with a thread hop per request; this one it awaits."""

    def hops(middleware: list[str]) -> int:
        with override_settings(MIDDLEWARE=middleware), ThreadHops() as counted:
            assert AsyncBridge().get("/async/hello/").status_code == 200
        return counted.count

    handler_alone = hops([])  # Django's own (the request signals)
    assert hops([OURS]) == handler_alone
    assert hops(["tests.test_middleware.SyncOnlyMiddleware"]) > handler_alone  # the counter sees a hop


class SyncOnlyMiddleware:
    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        return self.get_response(request)


def signed_in_request(user: Any) -> HttpRequest:
    """A request carrying ``user``'s session cookie, with its session set up."""
    client = Client()
    client.force_login(user)
    request = RequestFactory().get("/", HTTP_COOKIE=f"sessionid={client.cookies['sessionid'].value}")
    SessionMiddleware(lambda request: HttpResponse())(request)
    return request


def through(mode: str, request: HttpRequest, view: Any) -> Any:
    """``request`` through the middleware around ``view``, in a sync or an async stack."""
    if mode == "sync":
        return MessengerSessionMiddleware(view)(request)

    async def async_view(request: HttpRequest) -> Any:
        return view(request)

    return async_to_sync(MessengerSessionMiddleware(async_view))(request)


def signs_out(request: HttpRequest) -> HttpResponse:
    del request.session["_auth_user_id"]
    return HttpResponse()


def switches_to(user: Any) -> Any:
    def view(request: HttpRequest) -> HttpResponse:
        request.session["_auth_user_id"] = str(user.pk)
        return HttpResponse()

    return view


def stays(request: HttpRequest) -> HttpResponse:
    return HttpResponse()


@pytest.mark.parametrize("scenario", ["sign out", "another user", "same user"])
def test_it_behaves_identically_in_both_modes(scenario: str) -> None:
    alice, bob = staff("alice"), staff("bob")
    view = {"sign out": signs_out, "another user": switches_to(bob), "same user": stays}[scenario]
    results = [expiries(through(mode, signed_in_request(alice), view)) for mode in ("sync", "async")]
    assert results[0] == results[1]
    assert bool(results[0]) is (scenario != "same user")


@override_settings(ROOT_URLCONF="tests.urls_async")
def test_logout_through_an_async_view_expires_the_cookies() -> None:
    browser = AsyncBridge()
    browser.force_login(staff("alice"))
    for name in (SESSION, VISITOR, DEVICE):
        browser.cookies[name] = "value-set-by-intercom"
    response = browser.post("/async/logout/")
    assert response.status_code == 200
    assert expiries(response) == {(SESSION, "", "/"), (VISITOR, "", "/")}


# --- the identity the messenger was last shown with (no browser storage needed) -------------


def marker_set(response: Any) -> bool:
    return MARKER_COOKIE in response.cookies and response.cookies[MARKER_COOKIE]["max-age"] != 0


def test_a_page_for_another_identity_expires_the_previous_identitys_cookies() -> None:
    """The session changed without this middleware seeing it (signed in elsewhere, a session
    replaced): the first page that boots the messenger for bob expires alice's cookies."""
    client = browser_of(staff("alice"))
    first = client.get("/")
    assert marker_set(first)
    assert expiries(first) == set()
    client.force_login(staff("bob"))  # no request through the middleware
    for name in (SESSION, VISITOR):
        client.cookies[name] = "alice's messenger"
    switched = client.get("/")
    assert expiries(switched) == {(SESSION, "", "/"), (VISITOR, "", "/")}
    assert marker_set(switched)
    again = client.get("/")
    assert expiries(again) == set()
    assert MARKER_COOKIE not in again.cookies


def test_a_session_that_expired_unseen_expires_them_on_the_next_page() -> None:
    client = browser_of(staff("alice"))
    client.get("/")
    del client.cookies["sessionid"]  # expired in the browser: no request says so
    assert expiries(client.get("/")) == {(SESSION, "", "/"), (VISITOR, "", "/")}


def test_a_visitor_who_signs_in_keeps_them_and_pages_of_one_user_touch_nothing() -> None:
    client = browser_of()
    assert expiries(client.get("/")) == set()
    client.force_login(staff("alice"))
    assert expiries(client.get("/")) == set()
    assert expiries(client.get("/")) == set()


@pytest.mark.parametrize("value", ["forged", "A" * 32, "0" * 31, "0" * 33, "<script>"])
def test_a_marker_cookie_of_another_shape_is_ignored(value: str) -> None:
    client = browser_of(staff("alice"))
    client.cookies[MARKER_COOKIE] = value
    response = client.get("/")
    assert expiries(response) == set()
    assert response.cookies[MARKER_COOKIE].value != value  # replaced by the real marker


# --- pages that carry the credential are not cacheable --------------------------------------


def test_a_page_carrying_a_credential_is_private_no_store(all_secrets: Any) -> None:
    response = browser_of(staff("alice")).get("/")
    assert "user_hash" in response.content.decode()
    directives = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= directives


def test_a_visitors_page_stays_cacheable(all_secrets: Any) -> None:
    response = browser_of().get("/")
    assert "no-store" not in response.get("Cache-Control", "")


def test_a_page_cache_does_not_keep_a_page_carrying_a_credential(all_secrets: Any) -> None:
    from django.conf import settings

    middleware = [
        "django.middleware.cache.UpdateCacheMiddleware",
        *settings.MIDDLEWARE,
        "django.middleware.cache.FetchFromCacheMiddleware",
    ]
    with override_settings(MIDDLEWARE=middleware, CACHE_MIDDLEWARE_SECONDS=60):
        alice = browser_of(staff("alice"))
        assert "user_hash" in alice.get("/").content.decode()
        assert "user_hash" in alice.get("/").content.decode()
        bob = browser_of(staff("bob"))
        page = bob.get("/").content.decode()
    assert str(get_user_model().objects.get(username="alice").pk) not in settings_user_ids(page)


def settings_user_ids(page: str) -> set[str]:
    """The user ids in the page's ``window.intercomSettings``."""
    return {
        str(json.loads(found).get("user_id")) for found in re.findall(r"window\.intercomSettings = (\{.*?\});", page)
    }


# --- rendering the tag from an async view ----------------------------------------------------


@override_settings(ROOT_URLCONF="tests.urls_async")
def test_an_async_view_renders_the_tag_after_aprepare_messenger(all_secrets: Any) -> None:
    alice = staff("alice")
    browser = AsyncBridge()
    browser.force_login(alice)
    response = browser.get("/async/page/")
    assert response.status_code == 200
    assert settings_user_ids(response.content.decode()) == {str(alice.pk)}
    assert "no-store" in response["Cache-Control"]


@override_settings(ROOT_URLCONF="tests.urls_async")
def test_an_async_view_without_it_still_renders_the_page(
    all_secrets: Any, caplog: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)  # a blocking call must be refused here
    browser = AsyncBridge()
    browser.force_login(staff("alice"))
    response = browser.get("/async/unprepared-page/")
    assert response.status_code == 200
    assert response.content.decode() == "<p>page</p>"  # the messenger does not boot; the page renders
    assert "aprepare_messenger" in caplog.text


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
