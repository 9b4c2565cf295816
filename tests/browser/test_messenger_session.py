"""The messenger's whole session in a real browser: JWT refresh, shutdown on sign-out and on a
switch of user, the loader under a strict CSP.

A recording ``window.Intercom`` is installed before the page's scripts run (as the real widget
would be on a page where it already booted), so every call the tag's script makes is seen.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.test import Client

from intercom_identity.models import CredentialMode, Environment, RolloutPhase
from intercom_identity.rollout.changes import change_mode
from tests import jwt_independent
from tests.helpers import SECRETS, configure

pytestmark = pytest.mark.django_db(transaction=True)

APP_ID = "demo_app"
WEB_SECRET = SECRETS[("development", "web")]

RECORDER = """
window.__calls = [];
window.Intercom = function () {
  window.__calls.push({ args: Array.prototype.slice.call(arguments), at: Date.now() / 1000 });
};
"""

# Stands in for https://widget.intercom.io/widget/<app_id>: replays the stub's queue into the
# same record, and says whether it ran with the page's nonce.
FAKE_WIDGET = """
(function () {
  var queued = (window.Intercom && window.Intercom.q) || [];
  window.__widgetNonce = document.currentScript ? document.currentScript.nonce : null;
  window.__calls = queued.map(function (args) { return { args: Array.prototype.slice.call(args), at: 0 }; });
  window.Intercom = function () {
    window.__calls.push({ args: Array.prototype.slice.call(arguments), at: Date.now() / 1000 });
  };
})();
"""

VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__violations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@pytest.fixture
def messenger_page(page: Any) -> Any:
    """The page, with Intercom's widget URL answered locally (no network here)."""
    page.route(
        "https://widget.intercom.io/**",
        lambda route: route.fulfill(status=200, content_type="application/javascript", body=FAKE_WIDGET),
    )
    return page


@pytest.fixture
def recording(messenger_page: Any) -> Any:
    messenger_page.add_init_script(RECORDER)
    return messenger_page


@pytest.fixture
def web_jwt(db: None, settings: Any) -> None:
    settings.INTERCOM_IDENTITY_JWT_EXPIRY = 6
    Environment.objects.filter(slug="development").update(app_id=APP_ID)
    change_mode(configure("development", "web", RolloutPhase.SENDING), CredentialMode.JWT)


@pytest.fixture
def web_hash(db: None) -> None:
    Environment.objects.filter(slug="development").update(app_id=APP_ID)
    configure("development", "web", RolloutPhase.SENDING)


def sign_in(page: Any, live_server: Any, user: Any) -> None:
    """Give the browser a session of ``user`` (made with the test client's login)."""
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def calls(page: Any, method: str | None = None) -> list[dict[str, Any]]:
    recorded: list[dict[str, Any]] = page.evaluate("() => window.__calls")
    return [call for call in recorded if method is None or call["args"][0] == method]


def wait_for_call(page: Any, method: str, timeout: float) -> dict[str, Any]:
    page.wait_for_function(
        "(method) => window.__calls.some((call) => call.args[0] === method)", arg=method, timeout=timeout * 1000
    )
    return calls(page, method)[0]


def messenger_cookies(page: Any) -> set[str]:
    return {cookie["name"] for cookie in page.context.cookies() if cookie["name"].startswith("intercom-")}


def test_jwt_is_refreshed_before_it_expires(recording: Any, live_server: Any, web_jwt: None) -> None:
    user = get_user_model().objects.create_user("jane", "jane@example.com", "pw")
    sign_in(recording, live_server, user)
    recording.goto(live_server.url + "/")
    first = recording.evaluate("() => window.intercomSettings.intercom_user_jwt")
    _header, first_claims = jwt_independent.decode(first, WEB_SECRET)
    assert [call["args"][0] for call in calls(recording)] == ["reattach_activator", "update"]

    with recording.expect_response(lambda response: "/intercom/user-hash/" in response.url) as fetched:
        refreshed = wait_for_call_after(recording, "update", 1, timeout=8)
    assert fetched.value.status == 200
    fresh = refreshed["args"][1]["intercom_user_jwt"]
    header, claims = jwt_independent.decode(fresh, WEB_SECRET)  # a valid HS256 token of the web secret
    assert header["alg"] == "HS256"
    assert claims["user_id"] == str(user.pk)
    assert claims["exp"] > first_claims["exp"]
    assert refreshed["at"] < first_claims["exp"]  # before the first one expired
    assert refreshed["args"][1] == {"intercom_user_jwt": fresh}  # nothing else is updated


def wait_for_call_after(page: Any, method: str, seen: int, timeout: float) -> dict[str, Any]:
    """The call of ``method`` that comes after the ``seen`` ones already recorded."""
    page.wait_for_function(
        "([method, seen]) => window.__calls.filter((call) => call.args[0] === method).length > seen",
        arg=[method, seen],
        timeout=timeout * 1000,
    )
    return calls(page, method)[seen]


def test_signed_out_on_the_server_the_refresh_shuts_the_messenger_down(
    recording: Any, live_server: Any, web_jwt: None
) -> None:
    user = get_user_model().objects.create_user("jane", "jane@example.com", "pw")
    sign_in(recording, live_server, user)
    recording.goto(live_server.url + "/")
    marker = recording.evaluate(f"() => localStorage.getItem('intercom-identity-{APP_ID}')")
    assert len(marker) == 32
    Session.objects.all().delete()  # signed out elsewhere: the session is gone on the server
    with recording.expect_response(lambda response: "/intercom/user-hash/" in response.url) as fetched:
        wait_for_call(recording, "shutdown", timeout=8)
    assert fetched.value.status == 401
    assert [call["args"][0] for call in calls(recording)] == ["reattach_activator", "update", "shutdown"]
    assert recording.evaluate(f"() => localStorage.getItem('intercom-identity-{APP_ID}')") == ""


def test_a_refresh_that_finds_another_user_signed_in_shuts_down(
    recording: Any, live_server: Any, web_jwt: None, settings: Any
) -> None:
    """Someone else signed in in another tab: their token must not go to this page's messenger."""
    settings.INTERCOM_IDENTITY_JWT_EXPIRY = 2
    model = get_user_model()
    alice = model.objects.create_user("alice", "alice@example.com", "pw")
    bob = model.objects.create_user("bob", "bob@example.com", "pw")
    sign_in(recording, live_server, alice)
    recording.goto(live_server.url + "/")
    sign_in(recording, live_server, bob)  # the browser's session is now Bob's
    with recording.expect_response(lambda response: "/intercom/user-hash/" in response.url) as fetched:
        wait_for_call(recording, "shutdown", timeout=4)
    assert fetched.value.status == 200
    assert [call["args"][0] for call in calls(recording)] == ["reattach_activator", "update", "shutdown"]


def test_signing_in_as_b_after_a_shuts_a_down_before_b_boots(recording: Any, live_server: Any, web_hash: None) -> None:
    model = get_user_model()
    alice = model.objects.create_user("alice", "alice@example.com", "pw")
    bob = model.objects.create_user("bob", "bob@example.com", "bob-pw-123", is_staff=True)
    sign_in(recording, live_server, alice)
    recording.goto(live_server.url + "/")
    assert recording.evaluate("() => window.intercomSettings.user_id") == str(alice.pk)
    assert [call["args"][0] for call in calls(recording)] == ["reattach_activator", "update"]
    # What Intercom's widget keeps for Alice in this browser.
    recording.context.add_cookies(
        [
            {"name": f"intercom-{kind}-{APP_ID}", "value": "alice", "url": live_server.url}
            for kind in ("session", "id", "device-id")
        ]
    )

    recording.goto(live_server.url + "/admin/login/?next=/")
    recording.fill("#id_username", "bob")
    recording.fill("#id_password", "bob-pw-123")
    with recording.expect_navigation(url=live_server.url + "/"):
        recording.click("input[type=submit]")
    # The login response expired Alice's session and visitor cookies, not the device id.
    assert messenger_cookies(recording) == {f"intercom-device-id-{APP_ID}"}
    shutdown, boot = calls(recording)
    assert shutdown["args"] == ["shutdown"]
    assert boot["args"][0] == "boot"
    assert boot["args"][1]["user_id"] == str(bob.pk)
    assert boot["args"][1]["user_hash"]

    # Bob signs out with the demo's button: back to a visitor, after a shutdown.
    with recording.expect_navigation(url=live_server.url + "/"):
        recording.click("button[type=submit]")
    shutdown, boot = calls(recording)
    assert shutdown["args"] == ["shutdown"]
    assert boot["args"] == ["boot", {"app_id": APP_ID}]


def test_with_the_queue_stub_a_switch_expires_the_cookies_and_queues_shutdown_before_boot(
    messenger_page: Any, live_server: Any, web_hash: None
) -> None:
    """No widget yet: the script installs Intercom's stub, and the widget replays its queue."""
    model = get_user_model()
    alice = model.objects.create_user("alice", "alice@example.com", "pw")
    bob = model.objects.create_user("bob", "bob@example.com", "pw")
    sign_in(messenger_page, live_server, alice)
    messenger_page.goto(live_server.url + "/")
    messenger_page.wait_for_function("() => window.__widgetNonce !== undefined")
    assert calls(messenger_page) == []  # the widget boots from intercomSettings by itself
    messenger_page.context.add_cookies(
        [
            {"name": f"intercom-{kind}-{APP_ID}", "value": "alice", "url": live_server.url}
            for kind in ("session", "id", "device-id")
        ]
    )
    # Bob's session replaces Alice's without a request the server could see it in.
    sign_in(messenger_page, live_server, bob)
    messenger_page.goto(live_server.url + "/")
    messenger_page.wait_for_function("() => window.__widgetNonce !== undefined")
    shutdown, boot = calls(messenger_page)
    assert shutdown["args"] == ["shutdown"]
    assert boot["args"][0] == "boot"
    assert boot["args"][1]["user_id"] == str(bob.pk)
    # Expired by the script before the widget loaded: it cannot resume Alice's session.
    assert messenger_cookies(messenger_page) == {f"intercom-device-id-{APP_ID}"}


def test_no_csp_violation_under_a_strict_policy(
    messenger_page: Any, live_server: Any, web_jwt: None, settings: Any
) -> None:
    """Intercom's stub and widget load path, and the JWT refresh, with only nonced scripts allowed."""
    settings.ROOT_URLCONF = "tests.browser.csp_urls"
    settings.INTERCOM_IDENTITY_JWT_EXPIRY = 2
    console: list[str] = []
    messenger_page.on("console", lambda message: console.append(message.text))
    messenger_page.add_init_script(VIOLATIONS)
    user = get_user_model().objects.create_user("jane", "jane@example.com", "pw")
    sign_in(messenger_page, live_server, user)
    response = messenger_page.goto(live_server.url + "/csp/")
    assert "script-src 'nonce-" in response.headers["content-security-policy"]
    # The widget, added by the loader once the page has loaded, ran with the page's nonce...
    messenger_page.wait_for_function("() => window.__widgetNonce !== undefined")
    assert messenger_page.evaluate("() => window.__widgetNonce")
    # ... and the refresh (a same-origin fetch) reached it.
    refreshed = wait_for_call(messenger_page, "update", timeout=4)
    jwt_independent.decode(refreshed["args"][1]["intercom_user_jwt"], WEB_SECRET)
    assert messenger_page.evaluate("() => window.__violations") == []
    assert not [text for text in console if "Content Security Policy" in text]


# Browser storage blocked (site data disabled): every localStorage access throws, as it does then.
NO_STORAGE = """
Object.defineProperty(window, "localStorage", {
  get: function () { throw new DOMException("storage is disabled", "SecurityError"); },
});
"""


def test_with_storage_disabled_the_server_alone_expires_the_previous_identitys_cookies(
    messenger_page: Any, live_server: Any, web_hash: None
) -> None:
    """The script cannot remember who the messenger last booted as; the marker cookie can."""
    messenger_page.add_init_script(NO_STORAGE)
    model = get_user_model()
    alice = model.objects.create_user("alice", "alice@example.com", "pw")
    bob = model.objects.create_user("bob", "bob@example.com", "pw")
    sign_in(messenger_page, live_server, alice)
    messenger_page.goto(live_server.url + "/")
    assert messenger_page.evaluate(
        "() => { try { localStorage.length; return true; } catch (e) { return false; } }"
    ) is (False)
    messenger_page.context.add_cookies(
        [
            {"name": f"intercom-{kind}-{APP_ID}", "value": "alice", "url": live_server.url}
            for kind in ("session", "id", "device-id")
        ]
    )
    # Bob's session replaces Alice's without a request the server could see it in.
    sign_in(messenger_page, live_server, bob)
    response = messenger_page.goto(live_server.url + "/")
    expired = [
        header["value"]
        for header in response.headers_array()
        if header["name"].lower() == "set-cookie" and header["value"].startswith("intercom-")
    ]
    assert {value.split("=", 1)[0] for value in expired} == {f"intercom-session-{APP_ID}", f"intercom-id-{APP_ID}"}
    assert messenger_page.evaluate("() => window.intercomSettings.user_id") == str(bob.pk)
    assert messenger_cookies(messenger_page) == {f"intercom-device-id-{APP_ID}"}
    # Bob's next page: nothing more to expire.
    again = messenger_page.goto(live_server.url + "/")
    assert not [h for h in again.headers_array() if h["name"].lower() == "set-cookie" and "intercom-" in h["value"]]
