"""``login_payload``: the one function every login integration calls."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import OperationalError
from django.test import RequestFactory

from intercom_identity.contrib import login_payload
from tests import leakguard

pytestmark = pytest.mark.django_db


def request(**headers: str) -> Any:
    return RequestFactory().post("/login/", headers=headers)


def test_no_platform_adds_nothing_and_records_nothing(user: Any, all_secrets: Any) -> None:
    assert login_payload(request(**{"X-App-Version": "2.0.0"}), user) is None


def test_no_user_is_the_json_view_s_401_body(all_secrets: Any) -> None:
    from django.contrib.auth.models import AnonymousUser

    from intercom_identity.models import ClientActivity

    for nobody in (None, AnonymousUser()):
        assert login_payload(request(**{"X-Intercom-Platform": "ios"}), nobody) == {
            "error": "not_authenticated",
            "detail": "Sign in to get an Intercom identity.",
        }
    assert not ClientActivity.objects.exists()


def test_the_database_down_is_the_json_view_s_503_code(
    user: Any, all_secrets: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("the database is down")

    monkeypatch.setattr("intercom_identity.contrib.serve_identity", down)
    assert login_payload(request(**{"X-Intercom-Platform": "ios"}), user) == {
        "error": "database_unavailable",
        "detail": "Intercom identity is temporarily unavailable.",
    }


def test_a_bug_is_logged_and_never_blocks_the_login(
    user: Any, all_secrets: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def bug(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("oops")

    monkeypatch.setattr("intercom_identity.contrib.serve_identity", bug)
    assert login_payload(request(**{"X-Intercom-Platform": "ios"}), user) == {
        "error": "intercom_unavailable",
        "detail": "Intercom identity is temporarily unavailable.",
    }
    assert any("KeyError" in text for _, text in leakguard.recorded)
