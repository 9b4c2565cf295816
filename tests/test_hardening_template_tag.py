"""``{% intercom_settings %}`` and ``{% intercom_messenger %}`` never break a page on an extra value
JSON cannot encode (nested too deeply), and never render a key that rewires the object in a
browser (``__proto__``...)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.test import override_settings

from intercom_identity.models import Environment, RolloutPhase
from tests.conftest import configure
from tests.test_messenger_tag import parts
from tests.test_templatetags import render, settings_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def app_id(db: None) -> str:
    Environment.objects.filter(slug="development").update(app_id="abc123")
    configure("development", "web", RolloutPhase.SENDING)
    return "abc123"


def nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def test_a_value_nested_too_deeply_is_dropped_and_logged(user: Any, app_id: str, caplog: Any) -> None:
    with caplog.at_level(logging.ERROR, logger="intercom_identity"):
        html = render(user, "{% intercom_settings deep=deep alignment='left' %}", deep=nested(100_000))
    settings = settings_of(html)
    assert "deep" not in settings
    assert settings["alignment"] == "left"
    assert settings["user_id"] == str(user.pk)
    assert any("deep" in record.getMessage() for record in caplog.records if record.levelno == logging.ERROR)


@pytest.mark.parametrize("key", ["__proto__", "constructor", "prototype"])
def test_object_rewiring_keys_are_refused(user: Any, app_id: str, caplog: Any, key: str) -> None:
    with caplog.at_level(logging.WARNING, logger="intercom_identity"):
        html = render(user, f"{{% intercom_settings {key}=evil %}}", evil={"user_id": "attacker"})
    assert key not in html
    assert settings_of(html)["user_id"] == str(user.pk)
    assert any(key in record.getMessage() for record in caplog.records)


def test_proto_keys_are_refused_for_an_anonymous_visitor(app_id: str) -> None:
    from django.contrib.auth.models import AnonymousUser

    html = render(AnonymousUser(), "{% intercom_settings __proto__=evil %}", evil={"user_id": "attacker"})
    assert "__proto__" not in html
    assert "attacker" not in html
    assert settings_of(html) == {"app_id": app_id}


def test_a_nested_proto_key_drops_the_value(user: Any, app_id: str, caplog: Any) -> None:
    """In an object literal a ``"__proto__":`` key sets the prototype at any depth, not only at the top."""
    company = {"id": "acme", "__proto__": {"plan": "free-for-life"}}
    with caplog.at_level(logging.ERROR, logger="intercom_identity"):
        html = render(user, "{% intercom_settings company=company size='s' %}", company=company)
    assert "__proto__" not in html
    assert "company" not in settings_of(html)
    assert settings_of(html)["size"] == "s"
    assert any("company" in record.getMessage() for record in caplog.records)


# --- {% intercom_messenger %} (issue 18) builds its settings the same way: the same refusals ----


@pytest.mark.parametrize("key", ["__proto__", "constructor", "prototype"])
def test_the_messenger_tag_refuses_object_rewiring_keys(user: Any, app_id: str, key: str) -> None:
    html = render(user, f"{{% intercom_messenger {key}=evil size='s' %}}", evil={"user_id": "attacker"})
    settings, _config = parts(html)
    assert key not in settings
    assert "attacker" not in html
    assert settings["user_id"] == str(user.pk)
    assert settings["size"] == "s"


def test_the_messenger_tag_drops_a_nested_proto_key_and_a_value_nested_too_deeply(user: Any, app_id: str) -> None:
    company = {"id": "acme", "__proto__": {"plan": "free-for-life"}}
    html = render(
        user, "{% intercom_messenger company=company deep=deep size='s' %}", company=company, deep=nested(100_000)
    )
    settings, _config = parts(html)
    assert "__proto__" not in html
    assert "company" not in settings
    assert "deep" not in settings
    assert settings["size"] == "s"


def test_the_messenger_tag_with_a_user_id_callable_that_raises_renders_nothing(user: Any, app_id: str) -> None:
    """A misconfiguration: the messenger does not boot (as with ``intercom_settings``), the page renders."""

    def broken(user: Any) -> None:
        raise AttributeError("'User' object has no attribute 'profile'")

    with override_settings(INTERCOM_IDENTITY_USER_ID=broken):
        assert render(user, "{% intercom_messenger %}").strip() == ""


def test_the_messenger_tag_never_marks_a_repr_as_the_identity(user: Any, app_id: str) -> None:
    """A ``USER_ID`` callable returning bytes gives no identity: no marker of ``"b'42'"`` either."""
    with override_settings(INTERCOM_IDENTITY_USER_ID=lambda user: b"42", INTERCOM_IDENTITY_USER_EMAIL=lambda u: None):
        settings, config = parts(render(user, "{% intercom_messenger %}"))
    assert settings == {"app_id": app_id}
    assert config["marker"] == ""
