"""An exception while a secret is in hand: Django's error report (what mail_admins sends) hides it."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from django.core.signals import got_request_exception
from django.test import Client
from django.urls import reverse
from django.views.debug import ExceptionReporter

from intercom_identity import compute_user_hash
from intercom_identity.credentials import hashing
from intercom_identity.models import PlatformConfig, RolloutPhase
from tests import leakguard
from tests.helpers import SECRETS, configure  # module level: a test's own locals appear in reports

pytestmark = pytest.mark.django_db

NEW_SECRET = "report-secret-1a2b3c4d5e6f708192a3b4c5d6e7f8"


def test_admin_secret_save_failure_report_hides_the_secret(admin_user: Any, monkeypatch: Any) -> None:
    config = PlatformConfig.objects.get(environment__slug="production", platform="ios")
    reports: list[str] = []

    def on_exception(sender: Any, request: Any, **kwargs: Any) -> None:
        reporter = ExceptionReporter(request, *sys.exc_info())
        reports.extend([reporter.get_traceback_html(), reporter.get_traceback_text()])

    def broken_save(self: PlatformConfig, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(PlatformConfig, "save", broken_save)
    got_request_exception.connect(on_exception)
    try:
        client = Client(raise_request_exception=False)
        client.force_login(admin_user)
        url = reverse("admin:intercom_identity_platformconfig_change", args=[config.pk])
        response = client.post(url, {"new_secret": NEW_SECRET})
    finally:
        got_request_exception.disconnect(on_exception)
    assert response.status_code == 500
    assert len(reports) == 2
    assert "database went away" in reports[0]
    assert "set_secret" in reports[0] or "store_secret" in reports[0]  # the secret-holding frames are in it
    for report in reports:
        leakguard.record("error report", report)
        assert NEW_SECRET not in report


def test_debug_technical_500_page_hides_the_secret(admin_user: Any, monkeypatch: Any, settings: Any) -> None:
    """With DEBUG on, Django's own filter is inactive; the app's filter (set in settings) is not."""
    settings.DEBUG = True
    config = PlatformConfig.objects.get(environment__slug="development", platform="ios")

    def broken_save(self: PlatformConfig, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(PlatformConfig, "save", broken_save)
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    url = reverse("admin:intercom_identity_platformconfig_change", args=[config.pk])
    response = client.post(url, {"new_secret": NEW_SECRET})
    assert response.status_code == 500
    page = response.content.decode()
    assert "database went away" in page
    assert "Traceback" in page  # it is the technical page, with its frames
    assert NEW_SECRET not in page


def test_a_failing_hash_reports_without_the_secret(user: Any, monkeypatch: Any) -> None:
    """``compute_user_hash`` is unmarked (the hot path): its marked caller hides its frame too."""
    configure("development", "ios", RolloutPhase.SENDING)

    def broken_hmac(key: bytes, message: bytes, digestmod: Any) -> Any:
        raise RuntimeError("hmac went away")

    monkeypatch.setattr(hashing, "_hmac_new", broken_hmac)
    client = Client(raise_request_exception=False)
    client.force_login(user)
    reports: list[str] = []

    def on_exception(sender: Any, request: Any, **kwargs: Any) -> None:
        reporter = ExceptionReporter(request, *sys.exc_info())
        reports.extend([reporter.get_traceback_html(), reporter.get_traceback_text()])

    got_request_exception.connect(on_exception)
    try:
        response = client.get("/intercom/user-hash/", {"platform": "ios"})
    finally:
        got_request_exception.disconnect(on_exception)
    assert response.status_code == 500
    assert len(reports) == 2
    assert "compute_user_hash" in reports[1]
    assert "hmac went away" in reports[1]
    for report in reports:
        leakguard.record("error report", report)
        assert SECRETS[("development", "ios")] not in report


def test_a_failing_hash_called_from_unmarked_code_reports_without_the_secret() -> None:
    """Called directly (no marked caller), compute_user_hash still keeps its secret out of the report."""
    try:
        compute_user_hash(SECRETS[("development", "ios")], email="lone \ud800 surrogate")
    except UnicodeEncodeError:
        reporter = ExceptionReporter(None, *sys.exc_info())
        reports = [reporter.get_traceback_html(), reporter.get_traceback_text()]
    else:
        pytest.fail("a lone surrogate cannot be encoded")
    assert "compute_user_hash" in reports[1]
    for report in reports:
        leakguard.record("error report", report)
        assert SECRETS[("development", "ios")] not in report
