"""``{% intercom_messenger %}``: settings, Intercom's loader and the session script, with the nonce."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Iterator
from copy import deepcopy
from typing import Any

import django
import pytest
from django.conf import settings
from django.conf import settings as django_settings
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.template import RequestContext, Template
from django.test import Client, RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext

from intercom_identity import compute_user_hash
from intercom_identity._internal import configcache
from intercom_identity.messenger.tag import SESSION_SCRIPT, identity_marker
from intercom_identity.models import Environment, RolloutPhase
from tests import jwt_independent
from tests.helpers import (
    NONCE_IN_POLICY,
    SECRETS,
    SETTINGS_RE,
    configure,
    database_down,
    elements,
    jwt_config,
    nested,
    parts,
    sources,
)
from tests.helpers import render as render_template

pytestmark = pytest.mark.django_db

TEST_SECRET_KEY = django_settings.SECRET_KEY


def render(user: Any, source: str = "{% intercom_messenger %}", **context: Any) -> str:
    return render_template(user, source, **context)


def independent_marker(identified_by: str, identifier: str, secret_key: str = TEST_SECRET_KEY) -> str:
    """Django's salted_hmac (SHA-256), recomputed here with the standard library."""
    key = hashlib.sha256(("intercom_identity.loader.identity_marker" + secret_key).encode()).digest()
    return hmac.new(key, f"{identified_by}:{identifier}".encode(), hashlib.sha256).hexdigest()[:32]


@pytest.fixture
def app_id(db: None) -> str:
    Environment.objects.filter(slug="development").update(app_id="abc123")
    return "abc123"


@pytest.fixture
def region(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Give the development environment a region, with or without the model field for it."""

    def set_region(value: str) -> None:
        if any(field.name == "region" for field in Environment._meta.get_fields()):
            Environment.objects.filter(slug="development").update(region=value)
        else:
            monkeypatch.setattr(Environment, "region", value, raising=False)
        configcache.forget()

    return set_region


# --- what it renders ---------------------------------------------------------------------------


def test_renders_the_settings_then_the_session_script(user: Any, app_id: str) -> None:
    configure("development", "web", RolloutPhase.SENDING)
    html = render(user, "{% intercom_messenger name='Jane' %}")
    settings, config = parts(html)
    assert settings == {
        "name": "Jane",
        "app_id": app_id,
        "user_id": str(user.pk),
        "email": user.email,
        "user_hash": compute_user_hash(SECRETS[("development", "web")], user_id=str(user.pk)),
    }
    assert config["appId"] == app_id
    assert config["cookies"] == ["intercom-session-abc123", "intercom-id-abc123"]
    assert config["cookieDomain"] is None
    assert config["refresh"] is None  # a user hash does not expire
    # Intercom's loader is in the session script: the widget for this app id, loaded after the page.
    assert sources(html) == [(None, "/static/intercom_identity/messenger.js")]
    script = SESSION_SCRIPT.read_text("utf-8")
    assert '"https://widget.intercom.io/widget/" + encodeURIComponent(config.appId)' in script
    assert 'addEventListener("load", load, false)' in script
    # In order: the settings, the script (defining the boot function), the bootstrap calling it.
    assert html.index("intercomSettings") < html.index("messenger.js") < html.index("intercomIdentityBoot(")


def test_what_stays_inline_is_at_most_2_kb_for_a_signed_in_user(user: Any, app_id: str) -> None:
    """The session script is a static file (cacheable); per page only the settings
    and the bootstrap are inline."""
    configure("development", "web", RolloutPhase.SENDING)
    html = render(user, "{% intercom_messenger %}", csp_nonce="n" * 22)
    inline = "".join(body for _nonce, body in elements(html))
    assert len(html.encode()) <= 2048, len(html.encode())
    assert len(inline.encode()) <= 1024
    assert "function" not in inline  # no script logic inline


def test_the_session_script_is_the_staticfiles_url(user: Any, app_id: str) -> None:
    """A hashed name from the manifest storage reaches the page (long-cacheable)."""
    configure("development", "web", RolloutPhase.SENDING)
    with override_settings(STATIC_URL="https://cdn.example.com/s/"):
        html = render(user, "{% intercom_messenger %}", csp_nonce="abc")
    assert sources(html) == [("abc", "https://cdn.example.com/s/intercom_identity/messenger.js")]


def test_settings_are_those_of_intercom_settings(user: Any, app_id: str) -> None:
    configure("development", "web", RolloutPhase.SENDING)
    ((_nonce, plain),) = elements(render(user, "{% intercom_settings name='Jane' alignment='left' %}"))
    settings, _config = parts(render(user, "{% intercom_messenger name='Jane' alignment='left' %}"))
    assert json.loads(SETTINGS_RE.match(plain).group(1)) == settings  # type: ignore[union-attr]


def test_no_script_for_an_environment_without_an_app_id(user: Any) -> None:
    Environment.objects.filter(slug="development").update(app_id="")
    configure("development", "web", RolloutPhase.SENDING)
    assert render(user) == ""
    assert render(AnonymousUser()) == ""


@override_settings(INTERCOM_IDENTITY_ENVIRONMENT="staging")
def test_no_script_for_an_unknown_environment(user: Any) -> None:
    assert render(user) == ""


def test_every_element_carries_the_nonce_of_the_context(user: Any, app_id: str) -> None:
    html = render(user, csp_nonce="ctx-nonce")
    assert [nonce for nonce, _body in elements(html) + sources(html)] == ["ctx-nonce"] * 3


def test_every_element_carries_the_nonce_of_the_request_escaped(user: Any, app_id: str) -> None:
    html = render(user, request_attrs={"csp_nonce": 'n0nce"><x'})
    assert [nonce for nonce, _body in elements(html) + sources(html)] == ["n0nce&quot;&gt;&lt;x"] * 3


def test_no_nonce_attribute_without_a_nonce(user: Any, app_id: str) -> None:
    assert "nonce=" not in render(user)


def test_the_session_script_defines_the_boot_function_the_bootstrap_calls(user: Any, app_id: str) -> None:
    body = elements(render(user))[1][1]
    assert body.startswith("window.intercomIdentityBoot(")
    assert "window.intercomIdentityBoot = function (config) {" in SESSION_SCRIPT.read_text("utf-8")


XSS = "</script><script>alert(1)</script><!--"


def test_nothing_breaks_out_of_the_elements(user: Any, app_id: str) -> None:
    configure("development", "web", RolloutPhase.SENDING)
    user.email = XSS + "@example.com"
    user.save()
    html = render(user, "{% intercom_messenger name=name %}", name=XSS)
    assert html.count("</script>") == 3  # the settings, the session script, the bootstrap
    assert "<!--" not in html
    settings, _config = parts(html)
    assert settings["name"] == XSS
    assert settings["email"] == XSS + "@example.com"


# --- the identity marker -------------------------------------------------------------------------


def test_the_marker_is_an_hmac_of_the_identity_not_the_identity(user: Any, app_id: str) -> None:
    configure("development", "web", RolloutPhase.SENDING)
    _settings, config = parts(render(user))
    marker = config["marker"]
    assert marker == independent_marker("user_id", str(user.pk))
    assert re.fullmatch(r"[0-9a-f]{32}", marker)
    assert str(user.pk) not in marker
    assert user.email not in json.dumps(config)


def test_the_marker_differs_between_users_and_keys(user: Any, django_user_model: Any) -> None:
    other = django_user_model.objects.create_user("bob", "bob@example.com", "pw")
    assert identity_marker(user) != identity_marker(other)
    assert identity_marker(user) == identity_marker(user)
    with override_settings(SECRET_KEY="another-secret-key-for-this-test-only"):
        assert identity_marker(user) == independent_marker(
            "user_id", str(user.pk), "another-secret-key-for-this-test-only"
        )


def no_user_id(user: Any) -> None:
    return None


@override_settings(INTERCOM_IDENTITY_USER_ID="tests.messenger.test_tag.no_user_id")
def test_without_user_id_the_marker_is_of_the_email(user: Any) -> None:
    assert identity_marker(user) == independent_marker("email", user.email)


def test_a_visitor_has_no_marker(app_id: str) -> None:
    _settings, config = parts(render(AnonymousUser()))
    assert config["marker"] == ""


def test_a_page_that_boots_without_identity_has_no_marker(user: Any, app_id: str) -> None:
    configure("development", "web", RolloutPhase.SENDING)
    with override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=["1LT2pD6uQ7dsJ3s7W8vS4lq0cE_FJhb0Z9Xk2f2Wc5o="]):
        settings, config = parts(render(user))  # the secret cannot be decrypted
    assert settings == {"app_id": app_id}
    assert config["marker"] == ""


# --- JWT refresh -----------------------------------------------------------------------------------


@override_settings(INTERCOM_IDENTITY_JWT_EXPIRY=600)
def test_in_jwt_mode_the_script_is_told_where_and_when_to_refresh(user: Any, app_id: str) -> None:
    jwt_config("web")
    before = time.time()
    settings, config = parts(render(user))
    _header, claims = jwt_independent.decode(settings["intercom_user_jwt"], SECRETS[("development", "web")])
    assert config["refresh"]["url"] == "/intercom/user-hash/?platform=web"
    assert config["refresh"]["lifetime"] == 600
    assert before - 1 <= config["refresh"]["now"] <= time.time() + 1
    assert claims["exp"] - config["refresh"]["now"] == pytest.approx(600, abs=1.5)
    assert config["marker"] == independent_marker("user_id", str(user.pk))


def test_no_refresh_for_a_visitor_in_jwt_mode(app_id: str) -> None:
    jwt_config("web")
    _settings, config = parts(render(AnonymousUser()))
    assert config["refresh"] is None


@override_settings(ROOT_URLCONF="tests.urls_without_app")
def test_no_refresh_without_the_json_view_and_a_warning(user: Any, app_id: str, caplog: Any) -> None:
    jwt_config("web")
    settings, config = parts(render(user))
    assert "intercom_user_jwt" in settings
    assert config["refresh"] is None
    assert any("include intercom_identity.urls" in r.getMessage() for r in caplog.records)


# --- the region ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "api_base"),
    [("us", None), ("eu", "https://api-iam.eu.intercom.io"), ("au", "https://api-iam.au.intercom.io")],
)
def test_the_regions_api_base_is_in_the_settings(
    user: Any, app_id: str, region: Callable[[str], None], value: str, api_base: str | None
) -> None:
    region(value)
    settings, _config = parts(render(user))
    assert settings.get("api_base") == api_base


def test_the_environments_api_base_wins_over_the_templates(
    user: Any, app_id: str, region: Callable[[str], None]
) -> None:
    region("eu")
    settings, _config = parts(render(user, "{% intercom_messenger api_base='https://elsewhere.example' %}"))
    assert settings["api_base"] == "https://api-iam.eu.intercom.io"


# --- faults and cost -------------------------------------------------------------------------------


def test_with_the_database_down_it_boots_with_the_last_app_id_and_region(
    user: Any, app_id: str, region: Callable[[str], None]
) -> None:
    region("eu")
    configure("development", "web", RolloutPhase.SENDING)
    assert parts(render(user))[0]["user_hash"]  # a render that worked
    configcache.forget()
    with connection.execute_wrapper(database_down):
        settings, config = parts(render(user))
    assert settings == {"app_id": app_id, "api_base": "https://api-iam.eu.intercom.io"}
    assert config["marker"] == ""


def test_renders_warm_without_a_query(committed: Callable[..., Any], user: Any) -> None:
    committed(Environment.objects.filter(slug="development").update, app_id="abc123")
    committed(configure, "development", "web", RolloutPhase.SENDING)
    committed(render, user)  # records the page (its first render this hour), remembered once committed
    with CaptureQueriesContext(connection) as context:
        settings, _config = parts(render(user))
    assert context.captured_queries == []
    assert settings["user_hash"] == compute_user_hash(SECRETS[("development", "web")], user_id=str(user.pk))


# Never a broken page on an extra value JSON cannot encode (nested too deeply), and never a key that
# rewires the object in a browser (__proto__...).
@pytest.mark.parametrize("key", ["__proto__", "constructor", "prototype"])
def test_the_messenger_tag_refuses_object_rewiring_keys(user: Any, sending_app_id: str, key: str) -> None:
    html = render(user, f"{{% intercom_messenger {key}=evil size='s' %}}", evil={"user_id": "attacker"})
    settings, _config = parts(html)
    assert key not in settings
    assert "attacker" not in html
    assert settings["user_id"] == str(user.pk)
    assert settings["size"] == "s"


def test_the_messenger_tag_drops_a_nested_proto_key_and_a_value_nested_too_deeply(
    user: Any, sending_app_id: str
) -> None:
    company = {"id": "acme", "__proto__": {"plan": "free-for-life"}}
    html = render(
        user, "{% intercom_messenger company=company deep=deep size='s' %}", company=company, deep=nested(100_000)
    )
    settings, _config = parts(html)
    assert "__proto__" not in html
    assert "company" not in settings
    assert "deep" not in settings
    assert settings["size"] == "s"


def test_the_messenger_tag_with_a_user_id_callable_that_raises_renders_nothing(user: Any, sending_app_id: str) -> None:
    """A misconfiguration: the messenger does not boot (as with ``intercom_settings``), the page renders."""

    def broken(user: Any) -> None:
        raise AttributeError("'User' object has no attribute 'profile'")

    with override_settings(INTERCOM_IDENTITY_USER_ID=broken):
        assert render(user, "{% intercom_messenger %}").strip() == ""


def test_the_messenger_tag_never_marks_a_repr_as_the_identity(user: Any, sending_app_id: str) -> None:
    """A ``USER_ID`` callable returning bytes gives no identity: no marker of ``"b'42'"`` either."""
    with override_settings(INTERCOM_IDENTITY_USER_ID=lambda user: b"42", INTERCOM_IDENTITY_USER_EMAIL=lambda u: None):
        settings, config = parts(render(user, "{% intercom_messenger %}"))
    assert settings == {"app_id": sending_app_id}
    assert config["marker"] == ""


# Content Security Policy: the tag's script carries the response's nonce (the demo's policy: tests/demo/test_csp.py).
#
# Django 6.0 brought its own CSP (``ContentSecurityPolicyMiddleware``, the ``csp`` context processor); its nonce
# is lazy and *falsy until first read*, so a tag testing it for truth would leave it off.
# ``tests/browser/test_csp.py`` shows the same in Chromium.
NEEDS_DJANGO_6 = pytest.mark.skipif(
    django.VERSION < (6, 0),
    reason=f"Django's own CSP is new in Django 6.0; this is Django {django.get_version()}",
)


def templates_with_csp_processor() -> list[dict[str, Any]]:
    templates = deepcopy(settings.TEMPLATES)
    templates[0]["OPTIONS"]["context_processors"].append("django.template.context_processors.csp")
    return templates


@NEEDS_DJANGO_6
@pytest.mark.django_db
def test_the_tag_puts_djangos_nonce_on_its_script(client: Client) -> None:
    from django.utils.csp import CSP

    Environment.objects.filter(slug="development").update(app_id="abc12def")
    with override_settings(SECURE_CSP={"script-src": [CSP.NONCE]}, TEMPLATES=templates_with_csp_processor()):
        response = client.get("/")
    policy = response.headers["Content-Security-Policy"]
    nonce = NONCE_IN_POLICY.search(policy)
    assert nonce, policy
    html = response.content.decode()
    tag = html[html.index("<script") : html.index("window.intercomSettings")]
    assert tag == f'<script nonce="{nonce[1]}">'


@NEEDS_DJANGO_6
@pytest.mark.django_db
def test_the_nonce_is_read_although_it_is_falsy_until_then() -> None:
    """The case the tag used to get wrong: Django's LazyNonce is false until something reads it."""
    from django.utils.csp import LazyNonce

    lazy = LazyNonce()
    assert not lazy
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    html = Template("{% load intercom_identity %}{% intercom_settings %}").render(
        RequestContext(request, {"csp_nonce": lazy})
    )
    assert html.startswith(f'<script nonce="{lazy}">')


# --- repeat renders (the kept, nonce-free parts) ---------------------------------------------------


def test_a_repeat_render_is_the_same_page_with_the_new_nonce(user: Any, app_id: str) -> None:
    configure("development", "web", RolloutPhase.SENDING)
    first = render(user, "{% intercom_messenger name='Jane' %}", csp_nonce="one")
    again = render(user, "{% intercom_messenger name='Jane' %}", csp_nonce="two")
    assert again == first.replace('nonce="one"', 'nonce="two"')
    assert parts(render(user, "{% intercom_messenger name='Joe' %}"))[0]["name"] == "Joe"  # another extra


def test_a_changed_email_or_secret_is_rendered_afresh(user: Any, app_id: str) -> None:
    configure("development", "web", RolloutPhase.SENDING)
    before, _ = parts(render(user))
    user.email = "changed@example.com"
    user.save()
    assert parts(render(user))[0]["email"] == "changed@example.com"
    configure("development", "web", secret="another-web-secret-0123456789abcdef0123")
    after, _ = parts(render(user))
    assert after["user_hash"] == compute_user_hash("another-web-secret-0123456789abcdef0123", user_id=str(user.pk))
    assert after["user_hash"] != before["user_hash"]


def test_a_jwt_is_never_kept(user: Any, app_id: str) -> None:
    from intercom_identity.messenger import tag

    jwt_config("web")
    first, _ = parts(render(user))
    assert "intercom_user_jwt" in first
    assert not tag._rendered


def test_a_kept_render_still_tells_the_middleware_what_the_page_carries(
    user: Any, app_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The marker and the credential the middleware acts on (private, no-store; the marker
    cookie) are put on the request by a kept render too, under ``aprepare_messenger``'s
    configuration as under the tag's own."""
    from intercom_identity.messenger import tag

    configure("development", "web", RolloutPhase.SENDING)
    # One copy of the configuration throughout (inside the test's transaction each read makes one).
    config = configcache.get_serving_config("web", "development")
    monkeypatch.setattr(tag, "get_serving_config", lambda *args, **kwargs: config)

    def page(prepared: bool) -> Any:
        request = RequestFactory().get("/")
        request.user = user
        if prepared:
            setattr(request, tag.CONFIG_ATTRIBUTE, config)
        html = tag.messenger_html(request, {})
        assert parts(str(html))[0]["user_hash"]
        return tag.rendered_messenger(request)

    first = page(prepared=False)
    assert tag._rendered
    monkeypatch.setattr(tag, "_render", None)  # from here on, only what was kept
    for prepared in (False, True):
        assert page(prepared) == first == tag.Rendered(identity_marker(user), credential=True)


# --- several workspaces: the environment chosen per request ---------------------------------------------


# --- several workspaces: the environment chosen per request ----------------------------------

BRANDS = {
    "INTERCOM_IDENTITY_ENVIRONMENT": "production",
    "INTERCOM_IDENTITY_SERVED_ENVIRONMENTS": ["development"],
    "INTERCOM_IDENTITY_ENVIRONMENT_RESOLVER": "intercom_identity.resolvers.host_environment",
    "INTERCOM_IDENTITY_ENVIRONMENT_HOSTS": {"brand-a.example.com": "development", "brand-b.example.com": "production"},
    "ALLOWED_HOSTS": [".example.com"],
}


@pytest.fixture
def brands(db: None) -> Iterator[None]:
    """Two brands, each its own workspace (app ID) and web secret, both sending."""
    for slug, app in (("development", "brandaaa1"), ("production", "brandbbb2")):
        Environment.objects.filter(slug=slug).update(app_id=app)
        configure(slug, "web", RolloutPhase.SENDING)
    with override_settings(**BRANDS):
        yield


@pytest.mark.parametrize(
    ("host", "env", "app"),
    [
        ("brand-a.example.com", "development", "brandaaa1"),
        ("brand-b.example.com:8443", "production", "brandbbb2"),
        ("www.example.com", "production", "brandbbb2"),  # not mapped: the default
    ],
)
def test_the_tag_boots_the_workspace_of_the_host(user: Any, brands: None, host: str, env: str, app: str) -> None:
    settings, config = parts(render(user, request_meta={"HTTP_HOST": host}))
    assert settings["app_id"] == config["appId"] == app
    assert settings["user_hash"] == compute_user_hash(SECRETS[(env, "web")], user_id=str(user.pk))
    assert config["cookies"]
    assert all(app in name for name in config["cookies"])


def test_an_unserved_environment_gets_no_messenger_logged_once(
    user: Any, brands: None, caplog: pytest.LogCaptureFixture
) -> None:
    hosts = {**BRANDS["INTERCOM_IDENTITY_ENVIRONMENT_HOSTS"], "brand-c.example.com": "staging"}  # type: ignore[dict-item]
    with override_settings(INTERCOM_IDENTITY_ENVIRONMENT_HOSTS=hosts):
        for source in ("{% intercom_messenger %}", "{% intercom_settings %}", "{% intercom_messenger %}"):
            assert render(user, source, request_meta={"HTTP_HOST": "brand-c.example.com"}) == ""
    logged = [record for record in caplog.records if "does not serve" in record.getMessage()]
    assert len(logged) == 1
    assert "'staging'" in logged[0].getMessage()
