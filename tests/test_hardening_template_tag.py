"""``{% intercom_settings %}`` never breaks a page on an extra value JSON cannot encode (nested
too deeply), and never renders a key that rewires the object in a browser (``__proto__``...)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from intercom_identity.models import Environment, RolloutPhase
from tests.conftest import configure
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
