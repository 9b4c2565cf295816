"""No admin changelist of the app filters on a field that holds or derives from secret material.

Filtering ``?encrypted_previous_secret__regex=^g...`` and counting the rows recovers a whole
ciphertext in a few thousand requests. The fields are found here by name, independently of the
app's own rule, so a new ``encrypted_*`` field (an API token...) is covered the day it is added.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import models
from django.test import Client
from django.urls import reverse

from intercom_identity._internal.sensitive import is_sensitive_field
from intercom_identity.admin import AppModelAdmin
from intercom_identity.models import PlatformConfig, RolloutPhase
from tests.helpers import AUDIT, configure, staff_client

pytestmark = pytest.mark.django_db

APP = "intercom_identity"


def sensitive_fields() -> list[tuple[type[models.Model], str]]:
    """Every field of the app's models that holds a secret or is derived from one, by its name."""
    found = [
        (model, field.name)
        for model in apps.get_app_config(APP).get_models()
        for field in model._meta.concrete_fields
        if field.name.startswith("encrypted_") or field.name.endswith("_fingerprint")
    ]
    assert tuple(name for model, name in found if model._meta.model_name == "platformconfig") == (
        "encrypted_secret",
        "encrypted_previous_secret",
        "secret_fingerprint",
    )
    # An environment's Intercom API token, encrypted, and its fingerprint.
    assert tuple(name for model, name in found if model._meta.model_name == "environment") == (
        "encrypted_api_token",
        "api_token_fingerprint",
    )
    return found


def app_admins() -> list[admin.ModelAdmin]:  # type: ignore[type-arg]
    return [model_admin for model, model_admin in admin.site._registry.items() if model._meta.app_label == APP]


def paths_to(source: type[models.Model], target: type[models.Model], depth: int = 2) -> Iterator[str]:
    """Lookup prefixes from ``source`` to ``target``: "" for the model itself, then through relations."""
    if source is target:
        yield ""
    if depth == 0:
        return
    for field in source._meta.get_fields():
        if field.is_relation and field.related_model is not None and not getattr(field, "hidden", False):
            for rest in paths_to(field.related_model, target, depth - 1):  # type: ignore[arg-type]
                yield f"{field.name}__{rest}"


def sensitive_lookups() -> list[tuple[str, str]]:
    cases = []
    for model_admin in app_admins():
        for model, name in sensitive_fields():
            for prefix in paths_to(model_admin.model, model):
                for suffix in ("", "__regex", "__startswith", "__gt"):
                    cases.append((model_admin.model._meta.model_name, f"{prefix}{name}{suffix}"))
    return cases


CASES = sensitive_lookups()


@pytest.fixture
def viewer() -> Client:
    configure("development", "ios", RolloutPhase.SENDING)
    configure("development", "ios", secret="second-dev-ios-secret-00112233445566778899aa")  # keeps a previous one
    return staff_client("viewer", "view_platformconfig", "view_environment", "view_auditevent")


def test_every_admin_of_the_app_is_covered() -> None:
    names = {model_admin.model._meta.model_name for model_admin in app_admins()}
    assert {"platformconfig", "environment", "auditevent"} <= names
    covered = {model_name for model_name, _lookup in CASES}
    assert {"platformconfig", "environment"} <= covered  # directly, and through environment.platforms
    lookups = {lookup for _model_name, lookup in CASES}
    assert {"encrypted_api_token__startswith", "api_token_fingerprint", "environment__encrypted_api_token"} <= lookups
    assert "environment__api_token_fingerprint__regex" in lookups


def test_every_admin_of_the_app_has_the_one_base() -> None:
    """One rule for every admin (filters, selections, write-only POSTs), whatever its mixins."""
    assert all(isinstance(model_admin, AppModelAdmin) for model_admin in app_admins())


def test_the_rule_and_the_enumeration_agree() -> None:
    """Every field found by name is sensitive by the app's rule, and no other field of the app's models is."""
    by_name = set(sensitive_fields())
    by_rule = {
        (model, field.name)
        for model in apps.get_app_config(APP).get_models()
        for field in model._meta.concrete_fields
        if is_sensitive_field(field)
    }
    assert by_rule == by_name


@pytest.mark.parametrize(("model_name", "lookup"), CASES, ids=[f"{m}:{lookup}" for m, lookup in CASES])
def test_sensitive_lookup_is_refused(viewer: Client, model_name: str, lookup: str) -> None:
    url = reverse(f"admin:{APP}_{model_name}_changelist")
    response = viewer.get(url, {lookup: "^g"})
    assert response.status_code == 400, (url, lookup, response.status_code)
    model_admin = next(m for m in app_admins() if m.model._meta.model_name == model_name)
    assert model_admin.lookup_allowed(lookup, "^g", response.wsgi_request) is False


@pytest.mark.parametrize(
    ("model_name", "lookup", "value"),
    [
        ("platformconfig", "phase__exact", "sending"),
        ("platformconfig", "environment__id__exact", "1"),
        ("auditevent", "kind__exact", "phase"),
        ("environment", "is_production__exact", "1"),
        ("environment", "region__exact", "us"),
    ],
)
def test_ordinary_filters_still_work(viewer: Client, model_name: str, lookup: str, value: str) -> None:
    response = viewer.get(reverse(f"admin:{APP}_{model_name}_changelist"), {lookup: value})
    assert response.status_code == 200


def test_the_rule_catches_fields_added_later() -> None:
    """Encrypted API tokens came after the rule: it knows them by name alone."""
    future = models.TextField()
    future.set_attributes_from_name("encrypted_api_token")
    assert is_sensitive_field(future)
    plain = models.TextField()
    plain.set_attributes_from_name("label")
    assert not is_sensitive_field(plain)


@pytest.fixture
def root() -> Client:
    configure("development", "ios", RolloutPhase.SENDING)
    client = Client(raise_request_exception=False)
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw"))
    return client


# Tampered admin requests get a 400 or a message, never a 500. PostgreSQL refuses a NUL byte in any
# query parameter, so a changelist filter value holding one was a 500 there; a posted action selection
# with an id that is no number was a 500 everywhere.
@pytest.mark.parametrize(
    ("model", "lookup"),
    [
        ("platformconfig", "phase__exact"),
        ("platformconfig", "environment__id__exact"),
        ("auditevent", "environment"),
        ("auditevent", "kind__exact"),
        ("environment", "is_production__exact"),
    ],
)
def test_a_nul_in_a_filter_value_is_a_400(root: Client, model: str, lookup: str) -> None:
    response = root.get(reverse(f"admin:intercom_identity_{model}_changelist"), {lookup: "a\x00b"})
    assert response.status_code == 400


@pytest.mark.parametrize("selected", ["x", "1\x00", "1.5", ""])
def test_an_action_on_ids_that_are_no_ids_changes_nothing(root: Client, selected: str) -> None:
    response = root.post(
        reverse("admin:intercom_identity_platformconfig_changelist"),
        {"action": "move_to_off", "_selected_action": [selected]},
        follow=True,
    )
    assert response.status_code == 200
    assert PlatformConfig.objects.get(environment__slug="development", platform="ios").phase == RolloutPhase.SENDING


@pytest.mark.parametrize(
    "query",
    [
        "created_at__year=99999999999999999999",
        "created_at__year=2026&created_at__month=1&created_at__day=99999999999999999999",
        "created_at__year=2026&created_at__month=99999999999999999999",
        "created_at__year=9999",  # the year after it is out of range
        "created_at__year=9999&created_at__month=12&created_at__day=31",
    ],
)
def test_a_date_no_datetime_holds_is_a_400(viewer: Client, query: str) -> None:
    viewer.raise_request_exception = False
    response = viewer.get(f"{AUDIT}?{query}")
    assert response.status_code == 400


def test_an_ordinary_date_filter_still_works(viewer: Client) -> None:
    assert viewer.get(f"{AUDIT}?created_at__year=2026&created_at__month=2&created_at__day=28").status_code == 200


FORGED = "forged\r\n2026-01-01 00:00:00 CRITICAL Everything is fine\x1b[2J\x1b]0;title\x07"


def formatted(record: logging.LogRecord) -> str:
    return logging.Formatter("%(levelname)s %(name)s %(message)s").format(record)


def test_a_crafted_lookup_name_logs_no_control_character(viewer: Client, caplog: Any) -> None:
    """A staff member following a link whose refused lookup name holds CR/LF and ANSI escapes:
    the 400 is logged (Django's "Filtering by ... not allowed", at ERROR) as one escaped line."""
    viewer.raise_request_exception = False
    caplog.set_level(logging.INFO)
    changelist = reverse("admin:intercom_identity_platformconfig_changelist")
    url = f"{changelist}?{quote('environment__label__' + FORGED)}=1"
    assert viewer.get(url).status_code == 400
    records = [record for record in caplog.records if record.name.startswith("django.")]
    assert records, "the refusal is logged"
    for record in records:
        text = formatted(record)
        message = text.partition("\n")[0]
        assert "\r" not in text
        assert "\x1b" not in text
        assert "\x07" not in text
        assert "\\r\\n2026-01-01" in message
        assert not any(line.startswith("2026-01-01") for line in text.splitlines())


def test_another_apps_admin_records_are_left_as_they_are(admin_client: Client, caplog: Any) -> None:
    admin_client.raise_request_exception = False
    name = quote("groups__name__x\r\ny")
    response = admin_client.get(f"/admin/auth/user/?{name}=1")
    assert response.status_code == 400
    assert any("\r\n" in record.getMessage() for record in caplog.records)
