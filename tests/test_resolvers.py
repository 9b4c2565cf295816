"""Which environment a request is served from: the ready-made resolvers and ``resolve_environment``."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import RequestFactory, override_settings

from intercom_identity import UnknownEnvironment, UnservedEnvironment, resolve_environment
from intercom_identity.conf import conf
from intercom_identity.resolvers import header_environment, host_environment
from tests.helpers import TWO_WORKSPACES

# `manage.py check` runs the model checks, which on Django 6 ask SQLite whether it supports JSON fields.
pytestmark = pytest.mark.django_db

HOSTS = {"brand-a.example.com": "development", "brand-b.example.com": "production"}
E037 = "intercom_identity.E037"


def request(**meta: Any) -> Any:
    return RequestFactory().get("/", **meta)


def ids(messages: list[Any]) -> list[str]:
    return [message.id for message in messages]


# --- the ready-made resolvers --------------------------------------------------------------------


def test_header_environment_reads_the_header() -> None:
    assert header_environment(request(HTTP_X_INTERCOM_ENVIRONMENT="development")) == "development"
    assert header_environment(request(HTTP_X_INTERCOM_ENVIRONMENT="  ")) is None
    assert header_environment(request()) is None


@override_settings(INTERCOM_IDENTITY_ENVIRONMENT_HOSTS=HOSTS, ALLOWED_HOSTS=["*"])
def test_host_environment_maps_host_names_port_and_case_ignored() -> None:
    assert host_environment(request(HTTP_HOST="brand-a.example.com")) == "development"
    assert host_environment(request(HTTP_HOST="Brand-B.Example.com:8443")) == "production"
    assert host_environment(request(HTTP_HOST="other.example.com")) is None


# --- resolve_environment -------------------------------------------------------------------------------


def test_without_a_resolver_every_request_gets_the_default() -> None:
    assert conf.ENVIRONMENT_RESOLVER is None
    assert resolve_environment(request(HTTP_X_INTERCOM_ENVIRONMENT="production")) == "development"
    assert resolve_environment(None) == "development"


@override_settings(**TWO_WORKSPACES)
def test_the_resolver_chooses_among_the_served_environments() -> None:
    assert conf.served_environments() == ("production", "development")
    assert resolve_environment(request(HTTP_X_INTERCOM_ENVIRONMENT="development")) == "development"
    assert resolve_environment(request()) == "production"  # None: the default


@override_settings(**TWO_WORKSPACES)
def test_an_unserved_environment_is_refused_not_replaced() -> None:
    with pytest.raises(UnservedEnvironment, match="'staging'") as raised:
        resolve_environment(request(HTTP_X_INTERCOM_ENVIRONMENT="staging"))
    assert isinstance(raised.value, UnknownEnvironment)  # what callers of UnknownEnvironment already catch
    long_value = "x" * 5000
    with pytest.raises(UnservedEnvironment) as raised:
        resolve_environment(request(HTTP_X_INTERCOM_ENVIRONMENT=long_value))
    assert len(str(raised.value)) < 200


def test_a_resolver_returning_no_string_is_refused() -> None:
    returns_a_number = {**TWO_WORKSPACES, "INTERCOM_IDENTITY_ENVIRONMENT_RESOLVER": lambda request: 42}
    with override_settings(**returns_a_number), pytest.raises(UnservedEnvironment):
        resolve_environment(request())


def test_the_resolver_runs_once_per_request() -> None:
    calls = []

    def counting(request: Any) -> str:
        calls.append(request)
        return "development"

    with override_settings(**{**TWO_WORKSPACES, "INTERCOM_IDENTITY_ENVIRONMENT_RESOLVER": counting}):
        asked = request()
        assert resolve_environment(asked) == resolve_environment(asked) == "development"
    assert len(calls) == 1


# --- settings and checks ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "value", "check_id"),
    [
        ("INTERCOM_IDENTITY_SERVED_ENVIRONMENTS", "production", "intercom_identity.E035"),
        ("INTERCOM_IDENTITY_SERVED_ENVIRONMENTS", ["Production!"], "intercom_identity.E035"),
        ("INTERCOM_IDENTITY_ENVIRONMENT_RESOLVER", "no.such.resolver", "intercom_identity.E036"),
        ("INTERCOM_IDENTITY_ENVIRONMENT_RESOLVER", 42, "intercom_identity.E036"),
        ("INTERCOM_IDENTITY_ENVIRONMENT_RESOLVER", lambda: "production", "intercom_identity.E036"),
        ("INTERCOM_IDENTITY_ENVIRONMENT_HOSTS", ["brand-a.example.com"], E037),
        (
            "INTERCOM_IDENTITY_ENVIRONMENT_HOSTS",
            {"https://brand-a.example.com": "production"},
            "intercom_identity.E037",
        ),
        ("INTERCOM_IDENTITY_ENVIRONMENT_HOSTS", {"brand-a.example.com": "Not A Slug"}, E037),
    ],
)
def test_malformed_settings_fail_manage_py_check(setting: str, value: object, check_id: str) -> None:
    with override_settings(**{setting: value}):
        with pytest.raises(ImproperlyConfigured):
            getattr(conf, setting.removeprefix("INTERCOM_IDENTITY_"))
        assert check_id in ids(run_checks())
        with pytest.raises(SystemCheckError, match=check_id.replace(".", r"\.")):
            call_command("check", stdout=io.StringIO(), stderr=io.StringIO())


def test_a_host_mapped_to_an_unserved_environment_is_an_error() -> None:
    hosts = {"brand-a.example.com": "staging"}
    with override_settings(INTERCOM_IDENTITY_ENVIRONMENT_HOSTS=hosts):
        messages = [m for m in run_checks() if m.id == "intercom_identity.E038"]
    assert len(messages) == 1
    assert "'brand-a.example.com'" in messages[0].msg
    assert "'staging'" in messages[0].msg


def test_a_resolver_with_nothing_to_choose_is_a_warning() -> None:
    with override_settings(INTERCOM_IDENTITY_ENVIRONMENT_RESOLVER="intercom_identity.resolvers.header_environment"):
        assert "intercom_identity.W018" in ids(run_checks())
    with override_settings(
        INTERCOM_IDENTITY_SERVED_ENVIRONMENTS=["production"],
        INTERCOM_IDENTITY_ENVIRONMENT_RESOLVER="intercom_identity.resolvers.host_environment",
    ):
        assert "intercom_identity.W018" in ids(run_checks())  # no hosts mapped
    with override_settings(**TWO_WORKSPACES):
        assert "intercom_identity.W018" not in ids(run_checks())
