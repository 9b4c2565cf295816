"""Setting an environment's Intercom app ID without the admin (``set-app-id``), and check W007."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError
from django.template import Context, Template
from django.test import RequestFactory, override_settings

from intercom_identity.checks import check_web_app_id
from intercom_identity.exceptions import InvalidAppId
from intercom_identity.models import AuditEvent, Environment, RolloutPhase
from intercom_identity.rollout.changes import set_app_id
from tests.conftest import configure

pytestmark = pytest.mark.django_db


def run(*args: str, stdin: str | None = None) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    kwargs: dict[str, Any] = {"stdout": out, "stderr": err}
    if stdin is not None:
        kwargs["stdin"] = io.StringIO(stdin)
    call_command("intercom_identity", *args, **kwargs)
    return out.getvalue(), err.getvalue()


def rendered_app_id() -> str:
    """The app_id the template tag boots the messenger with, for an anonymous visitor."""
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    html = Template("{% load intercom_identity %}{% intercom_settings %}").render(Context({"request": request}))
    return str(json.loads(html.split(" = ", 1)[1].rsplit(";</script>", 1)[0])["app_id"])


def test_the_command_sets_the_app_id_the_tag_boots_with() -> None:
    assert rendered_app_id() == ""
    out, _ = run("set-app-id", "development", "abc12def")
    assert out.strip() == "Development / test: app ID none -> abc12def."
    assert Environment.objects.get(slug="development").app_id == "abc12def"
    assert rendered_app_id() == "abc12def"  # the configuration copies heard of the change


def test_a_change_is_audited_with_no_platform_and_shown_in_the_history() -> None:
    run("set-app-id", "production", "prod1234", "--reason", "workspace created")
    run("set-app-id", "production", "prod5678")
    first, second = AuditEvent.objects.order_by("id")
    assert (first.environment, first.platform, first.kind) == ("production", "", AuditEvent.Kind.APP_ID)
    assert (first.from_value, first.to_value, first.reason) == ("", "prod1234", "workspace created")
    assert (second.from_value, second.to_value) == ("prod1234", "prod5678")
    assert first.adoption_ratio is None
    history, _ = run("history")
    assert ": production app_id prod1234 -> prod5678, adoption -" in history
    assert ": production app_id - -> prod1234, adoption - (workspace created)" in history
    events = json.loads(run("history", "--json")[0])
    assert events[0]["kind"] == "app_id"
    assert events[0]["platform"] == ""


def test_setting_the_same_app_id_again_changes_and_audits_nothing() -> None:
    run("set-app-id", "development", "abc12def")
    out, _ = run("set-app-id", "development", "abc12def")
    assert out.strip() == "Development / test: app ID abc12def -> abc12def."
    assert AuditEvent.objects.count() == 1


def test_an_empty_app_id_clears_it() -> None:
    run("set-app-id", "development", "abc12def")
    out, _ = run("set-app-id", "development", "")
    assert out.strip() == "Development / test: app ID abc12def -> none."
    assert Environment.objects.get(slug="development").app_id == ""


@pytest.mark.parametrize(
    "value",
    [" abc12def", "abc12def\n", "abc 12def", '"abc12def"', "https://app.intercom.com/a/apps/abc12def", "a" * 65, "é1"],
)
def test_paste_mistakes_are_refused_and_nothing_is_stored(value: str) -> None:
    with pytest.raises(CommandError, match="app ID has"):
        run("set-app-id", "development", value)
    assert Environment.objects.get(slug="development").app_id == ""
    assert not AuditEvent.objects.exists()


def test_the_function_refuses_with_its_own_error() -> None:
    environment = Environment.objects.get(slug="development")
    with pytest.raises(InvalidAppId):
        set_app_id(environment, "abc 123")
    assert isinstance(InvalidAppId("x"), ValueError)


def test_the_function_returns_the_previous_app_id_and_refreshes_the_instance() -> None:
    environment = Environment.objects.get(slug="development")
    assert set_app_id(environment, "first1") == ""
    assert set_app_id(environment, "second2") == "first1"
    assert environment.app_id == "second2"


def test_an_unknown_environment_is_a_command_error() -> None:
    with pytest.raises(CommandError, match="staging"):
        run("set-app-id", "staging", "abc12def")


def test_set_secret_says_what_to_do_next_while_the_phase_is_off() -> None:
    out, err = run("set-secret", "development", "web", stdin="next-step-secret-00112233445566778899")
    assert len(out.strip()) == 8  # stdout is the fingerprint alone
    assert "phase 'off'" in err
    assert "intercom_identity phase development web sending" in err
    configure("development", "web", RolloutPhase.SENDING)
    _, err = run("set-secret", "development", "web", stdin="next-step-secret-99887766554433221100")
    assert err == ""


# --- W007 -------------------------------------------------------------------------------


def ids(messages: list[Any]) -> list[str]:
    return [message.id for message in messages]


def test_w005_when_the_current_environment_sends_to_the_web_without_an_app_id() -> None:
    assert check_web_app_id(databases=["default"]) == []  # web is off
    configure("development", "web", RolloutPhase.SENDING)
    messages = check_web_app_id(databases=["default"])
    assert ids(messages) == ["intercom_identity.W007"]
    assert "development" in messages[0].msg
    assert "'sending'" in messages[0].msg
    assert "set-app-id" in (messages[0].hint or "")
    assert check_web_app_id() == []  # only with --database: it reads rows
    set_app_id(Environment.objects.get(slug="development"), "abc12def")
    assert check_web_app_id(databases=["default"]) == []


def test_w005_only_for_the_web_and_the_current_environment() -> None:
    configure("development", "ios", RolloutPhase.SENDING)
    configure("production", "web", RolloutPhase.SENDING)
    assert check_web_app_id(databases=["default"]) == []
    with override_settings(INTERCOM_IDENTITY_ENVIRONMENT="production"):
        assert ids(check_web_app_id(databases=["default"])) == ["intercom_identity.W007"]
    with override_settings(INTERCOM_IDENTITY_ENVIRONMENT="staging"):  # no such row: the views say so
        assert check_web_app_id(databases=["default"]) == []


@override_settings(SILENCED_SYSTEM_CHECKS=["intercom_identity.W004"])  # on PostgreSQL: LocMemCache, DEBUG off
def test_w005_through_manage_py_check() -> None:
    configure("development", "web", RolloutPhase.ENFORCED)
    with pytest.raises(SystemCheckError, match=r"intercom_identity\.W007"):
        call_command("check", "--database", "default", "--fail-level", "WARNING", stdout=io.StringIO())
    call_command("intercom_identity", "set-app-id", "development", "abc12def", stdout=io.StringIO())
    call_command("check", "--database", "default", "--fail-level", "WARNING", stdout=io.StringIO())
