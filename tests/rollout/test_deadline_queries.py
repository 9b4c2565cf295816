"""The deadline's rows cost a fixed number of queries per production platform, whatever the number of users
(adoption reads the tallies): the overview, ``status`` and W019 stay as cheap at a million users."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from intercom_identity.models import RolloutPhase
from intercom_identity.rollout.deadline import deadline_standing
from tests.helpers import configure, make_ready

pytestmark = pytest.mark.django_db


def queries() -> int:
    with CaptureQueriesContext(connection) as captured:
        standing = deadline_standing()
    assert standing is not None
    return len(captured)


def test_the_queries_do_not_grow_with_the_users(today: Callable[[str], None]) -> None:
    for platform in ("ios", "android", "web"):
        configure("production", platform, RolloutPhase.SENDING)
    make_ready("production", "ios", users=2)
    few = queries()
    make_ready("production", "ios", users=40, version="2.1")
    make_ready("production", "android", users=40)
    many = queries()
    assert many == few
