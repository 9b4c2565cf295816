"""management/tallies.py: recounting the tallies (function and command)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from intercom_identity.management.tallies import recount
from intercom_identity.models import PlatformConfig, VersionTally
from intercom_identity.rollout.adoption import adoption
from tests.helpers import seen

pytestmark = pytest.mark.django_db


def ios() -> PlatformConfig:
    return PlatformConfig.objects.select_related("environment").get(environment__slug="development", platform="ios")


def active(count: int) -> list[Any]:
    model = get_user_model()
    people = [model.objects.create_user(f"m{n}", f"m{n}@example.com", "pw") for n in range(count)]
    for n, person in enumerate(people):
        seen(person, "2.0" if n % 2 else "1.0", sent=bool(n % 2))
    return people


def test_recount_rebuilds_tallies_lost_to_raw_sql() -> None:
    active(4)
    expected = adoption(ios()).as_dict()
    VersionTally.objects.all().delete()  # as a bulk import or raw SQL would leave them
    assert adoption(ios()).active_users == 0
    assert recount() == VersionTally.objects.count() > 0
    assert adoption(ios()).as_dict() == expected


def test_recount_command() -> None:
    active(3)
    expected = adoption(ios()).as_dict()
    VersionTally.objects.update(users=0)
    out = io.StringIO()
    call_command("intercom_identity", "recount", stdout=out)
    written = VersionTally.objects.count()
    assert out.getvalue().strip() == f"Recounted the adoption tallies: {written} tally row(s) written."
    assert adoption(ios()).as_dict() == expected
