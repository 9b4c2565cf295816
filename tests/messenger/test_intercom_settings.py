"""``{% intercom_settings %}`` (messenger/intercom_settings.py): the settings object of each visitor."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template import Context, Template
from django.test import override_settings

from intercom_identity import compute_user_hash
from intercom_identity.messenger.intercom_settings import script_safe_json
from intercom_identity.models import Environment, RolloutPhase
from tests.helpers import SCRIPT_RE, SECRETS, configure, nested, render, settings_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def app_id(db: None) -> str:
    Environment.objects.filter(slug="development").update(app_id="abc123")
    return "abc123"


def test_identified_user_gets_web_hash(user: Any, app_id: str) -> None:
    configure("development", "web", RolloutPhase.SENDING)
    configure("development", "ios", RolloutPhase.SENDING)
    assert settings_of(render(user)) == {
        "app_id": app_id,
        "user_id": str(user.pk),
        "email": user.email,
        "user_hash": compute_user_hash(SECRETS[("development", "web")], user_id=str(user.pk)),
    }


def test_phase_off_boots_with_identity_but_no_hash(user: Any, app_id: str) -> None:
    configure("development", "web")
    assert settings_of(render(user)) == {"app_id": app_id, "user_id": str(user.pk), "email": user.email}


def test_anonymous_visitor_gets_no_identity(app_id: str) -> None:
    configure("development", "web", RolloutPhase.ENFORCED)
    assert settings_of(render(AnonymousUser())) == {"app_id": app_id}


def test_no_request_in_context_renders_anonymous(app_id: str) -> None:
    html = Template("{% load intercom_identity %}{% intercom_settings %}").render(Context({}))
    assert settings_of(html) == {"app_id": app_id}


@override_settings(INTERCOM_IDENTITY_ENVIRONMENT="production")
def test_uses_the_current_environment(user: Any) -> None:
    Environment.objects.filter(slug="production").update(app_id="prod999")
    configure("development", "web", RolloutPhase.SENDING)
    configure("production", "web", RolloutPhase.ENFORCED)
    got = settings_of(render(user))
    assert got["app_id"] == "prod999"
    assert got["user_hash"] == compute_user_hash(SECRETS[("production", "web")], user_id=str(user.pk))


XSS = "</script><script>alert(1)</script><!--"


def test_email_cannot_break_out_of_the_script(user: Any, app_id: str) -> None:
    configure("development", "web", RolloutPhase.SENDING)
    user.email = XSS + "@example.com"
    user.save()
    html = render(user)
    assert html.count("<script") == 1
    assert html.count("</script>") == 1
    assert "<!--" not in html
    assert settings_of(html)["email"] == XSS + "@example.com"


def test_extra_settings_are_escaped_too(user: Any, app_id: str) -> None:
    html = render(user, "{% intercom_settings name=name hide_default_launcher=True alignment='left' %}", name=XSS)
    assert html.count("</script>") == 1
    got = settings_of(html)
    assert got["name"] == XSS
    assert got["hide_default_launcher"] is True
    assert got["alignment"] == "left"


def test_extra_settings_cannot_override_identity(user: Any, app_id: str) -> None:
    configure("development", "web", RolloutPhase.SENDING)
    got = settings_of(render(user, "{% intercom_settings user_hash='forged' user_id='1' app_id='x' %}"))
    assert got["user_hash"] == compute_user_hash(SECRETS[("development", "web")], user_id=str(user.pk))
    assert got["user_id"] == str(user.pk)
    assert got["app_id"] == app_id


def test_csp_nonce_from_request(user: Any, app_id: str) -> None:
    match = SCRIPT_RE.match(render(user, request_attrs={"csp_nonce": 'n0nce"><x'}))
    assert match
    assert match.group(1) == "n0nce&quot;&gt;&lt;x"


def test_csp_nonce_from_context(user: Any, app_id: str) -> None:
    match = SCRIPT_RE.match(render(user, csp_nonce="ctx-nonce"))
    assert match
    assert match.group(1) == "ctx-nonce"


def test_no_nonce_attribute_without_nonce(user: Any, app_id: str) -> None:
    assert "nonce" not in render(user)


def test_undecryptable_secret_boots_without_identity_and_logs(user: Any, app_id: str, caplog: Any) -> None:
    configure("development", "web", RolloutPhase.SENDING)
    with override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=["1LT2pD6uQ7dsJ3s7W8vS4lq0cE_FJhb0Z9Xk2f2Wc5o="]):
        html = render(user)
    assert settings_of(html) == {"app_id": app_id}
    assert any(r.levelname == "ERROR" and "cannot be decrypted" in r.getMessage() for r in caplog.records)


@override_settings(INTERCOM_IDENTITY_ENVIRONMENT="staging")
def test_unknown_environment_renders_nothing(user: Any, caplog: Any) -> None:
    assert render(user) == ""
    assert any(r.levelname == "ERROR" for r in caplog.records)


@pytest.mark.parametrize("char", ["<", ">", "&", "\u2028", "\u2029"])
def test_script_safe_json_escapes(char: str) -> None:
    text = script_safe_json({"k": f"a{char}b"})
    assert char not in text
    assert json.loads(text) == {"k": f"a{char}b"}


def test_demo_page_renders_the_tag(user_client: Any, app_id: str) -> None:
    configure("development", "web", RolloutPhase.SENDING)
    html = user_client.get("/").content.decode()
    assert "window.intercomSettings = " in html
    assert compute_user_hash(SECRETS[("development", "web")], user_id=str(user_client.session["_auth_user_id"])) in html


def test_unencodable_extra_is_dropped_and_logged(user: Any, app_id: str, caplog: Any) -> None:
    got = settings_of(render(user, "{% intercom_settings thing=thing ok=1 %}", thing=object()))
    assert "thing" not in got
    assert got["ok"] == 1
    assert any("dropped thing" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("keys", [["typo-key"], ["yq4Zp6L7m0f8lJ1gqS1-tX0vTn3pQ0v3mWJQ2Dk1s8A=", "typo-key"]])
def test_malformed_key_boots_without_identity(user: Any, app_id: str, keys: list[str]) -> None:
    configure("development", "web", RolloutPhase.SENDING)
    with override_settings(INTERCOM_IDENTITY_ENCRYPTION_KEYS=keys):
        assert settings_of(render(user)) == {"app_id": app_id}


# Never a broken page on an extra value JSON cannot encode (nested too deeply), and never a key that
# rewires the object in a browser (__proto__...).
def test_a_value_nested_too_deeply_is_dropped_and_logged(user: Any, sending_app_id: str, caplog: Any) -> None:
    with caplog.at_level(logging.ERROR, logger="intercom_identity"):
        html = render(user, "{% intercom_settings deep=deep alignment='left' %}", deep=nested(100_000))
    settings = settings_of(html)
    assert "deep" not in settings
    assert settings["alignment"] == "left"
    assert settings["user_id"] == str(user.pk)
    assert any("deep" in record.getMessage() for record in caplog.records if record.levelno == logging.ERROR)


@pytest.mark.parametrize("key", ["__proto__", "constructor", "prototype"])
def test_object_rewiring_keys_are_refused(user: Any, sending_app_id: str, caplog: Any, key: str) -> None:
    with caplog.at_level(logging.WARNING, logger="intercom_identity"):
        html = render(user, f"{{% intercom_settings {key}=evil %}}", evil={"user_id": "attacker"})
    assert key not in html
    assert settings_of(html)["user_id"] == str(user.pk)
    assert any(key in record.getMessage() for record in caplog.records)


def test_proto_keys_are_refused_for_an_anonymous_visitor(sending_app_id: str) -> None:
    from django.contrib.auth.models import AnonymousUser

    html = render(AnonymousUser(), "{% intercom_settings __proto__=evil %}", evil={"user_id": "attacker"})
    assert "__proto__" not in html
    assert "attacker" not in html
    assert settings_of(html) == {"app_id": sending_app_id}


def test_a_nested_proto_key_drops_the_value(user: Any, sending_app_id: str, caplog: Any) -> None:
    """In an object literal a ``"__proto__":`` key sets the prototype at any depth, not only at the top."""
    company = {"id": "acme", "__proto__": {"plan": "free-for-life"}}
    with caplog.at_level(logging.ERROR, logger="intercom_identity"):
        html = render(user, "{% intercom_settings company=company size='s' %}", company=company)
    assert "__proto__" not in html
    assert "company" not in settings_of(html)
    assert settings_of(html)["size"] == "s"
    assert any("company" in record.getMessage() for record in caplog.records)
