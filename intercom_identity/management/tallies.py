"""Rebuilding the adoption tallies from the activity rows, all or nothing (after a bulk import
or raw SQL: ``intercom_identity recount``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timezone as dt_timezone

from django.db import transaction
from django.db.models import Count, Q
from django.db.models.functions import TruncDate

from intercom_identity.models import ClientActivity, DailyActivity, PlatformConfig, VersionTally
from intercom_identity.rollout.activity import DAILY, LATEST


def recount(configs: Iterable[PlatformConfig] | None = None) -> int:
    """Rebuild the tallies from the activity rows (after a bulk import or raw SQL); returns rows written."""
    written = 0
    with transaction.atomic():
        for config in configs if configs is not None else PlatformConfig.objects.all():
            scope = {"environment_id": config.environment_id, "platform": config.platform}
            VersionTally.objects.filter(**scope).delete()
            latest = (
                ClientActivity.objects.filter(**scope)
                .values_list(TruncDate("last_seen_at", tzinfo=dt_timezone.utc), "version")
                .annotate(users=Count("*"), credential_users=Count("pk", filter=Q(sent_credential=True)))
                .order_by()
            )
            daily = (
                DailyActivity.objects.filter(**scope)
                .values_list("day", "version")
                .annotate(users=Count("*"), credential_users=Count("pk", filter=Q(sent_credential=True)))
                .order_by()
            )
            tallies = [
                VersionTally(**scope, kind=kind, day=day, version=version, users=users, credential_users=credential)
                for kind, rows in ((LATEST, latest), (DAILY, daily))
                for day, version, users, credential in rows
            ]
            VersionTally.objects.bulk_create(tallies, batch_size=1000)
            written += len(tallies)
    return written
