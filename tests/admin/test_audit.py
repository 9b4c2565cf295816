"""The audit trail in the admin (admin/audit.py): read-only, with labels in its headings."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from intercom_identity.models import AuditEvent, RolloutPhase
from tests.helpers import (
    AUDIT,
    configure,
)

pytestmark = pytest.mark.django_db


def test_audit_headings_use_labels_and_one_arrow(admin_client: Client) -> None:
    configure("development", "ios", RolloutPhase.SENDING)
    event = AuditEvent.objects.get(kind="phase")
    detail = admin_client.get(reverse("admin:intercom_identity_auditevent_change", args=[event.pk])).content.decode()
    heading = "Development / test / iOS: Phase: Off → Sending (not enforced)"
    assert f"<h2>{heading}</h2>" in detail
    assert "development/ios" not in detail
    assert "-&gt;" not in detail
    listing = admin_client.get(AUDIT).content.decode()
    assert "Phase: Off → Sending (not enforced)" in listing
    assert "-&gt;" not in listing


def test_audit_is_read_only_in_the_admin(admin_client: Client) -> None:
    configure("development", "ios", RolloutPhase.SENDING)
    event = AuditEvent.objects.first()
    assert event is not None
    assert admin_client.get(reverse("admin:intercom_identity_auditevent_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:intercom_identity_auditevent_add")).status_code == 403
    change = reverse("admin:intercom_identity_auditevent_change", args=[event.pk])
    assert admin_client.get(change).status_code == 200  # a read-only view
    assert admin_client.post(change, {"reason": "rewritten"}).status_code == 403
    assert (
        admin_client.post(
            reverse("admin:intercom_identity_auditevent_delete", args=[event.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    changelist = admin_client.post(
        reverse("admin:intercom_identity_auditevent_changelist"),
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )
    assert changelist.status_code in (200, 302)
    assert AuditEvent.objects.get(pk=event.pk).reason == event.reason
