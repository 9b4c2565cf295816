"""Benchmarks: what the app adds on top of a bare HMAC, measured in one process.

Run with ``make bench`` (or ``.venv/bin/python bench/hashing.py``). Every figure is a
ratio against the baseline (a bare ``hmac.new(...).hexdigest()``) measured in the same
run, so results from different machines compare.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django

django.setup()

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from intercom_identity import compute_user_hash, identity_payload
from intercom_identity.models import RolloutPhase
from intercom_identity.rollout import change_phase, store_secret
from intercom_identity.services import get_platform_config

SECRET = "bench-secret-0123456789abcdef0123456789abcdef"
USER_ID = "1234567"


def per_call(stmt: object, number: int) -> float:
    """Best of five runs, in microseconds per call."""
    return min(timeit.repeat(stmt, number=number, repeat=5)) / number * 1e6  # type: ignore[arg-type]


def main() -> None:
    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", "bench@example.com", "pw")
    config = get_platform_config("ios", "development")
    store_secret(config, SECRET)
    change_phase(config, RolloutPhase.SENDING)
    client = Client()
    client.force_login(user)

    key = SECRET.encode()
    rows = [
        (
            "bare hmac.new(...).hexdigest() (baseline)",
            lambda: hmac.new(key, USER_ID.encode(), hashlib.sha256).hexdigest(),
            200_000,
        ),
        ("compute_user_hash(secret, user_id=...)", lambda: compute_user_hash(SECRET, user_id=USER_ID), 200_000),
        ("Fernet decrypt of the stored secret", lambda: config.secret(), 20_000),
        ("User.objects.get(pk=...) (reference ORM query)", lambda: get_user_model().objects.get(pk=user.pk), 2_000),
        ("identity_payload(user, 'ios') (1 query + decrypt)", lambda: identity_payload(user, "ios"), 2_000),
        (
            "GET /intercom/user-hash/?platform=ios (test client)",
            lambda: client.get("/intercom/user-hash/?platform=ios"),
            500,
        ),
    ]
    baseline = None
    print(f"{'what':<55}{'us/call':>10}{'x baseline':>12}")
    for label, stmt, number in rows:
        micros = per_call(stmt, number)
        baseline = baseline or micros
        print(f"{label:<55}{micros:>10.2f}{micros / baseline:>12.1f}")


if __name__ == "__main__":
    main()
