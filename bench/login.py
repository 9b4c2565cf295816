"""Benchmark 8: the login integrations and the JWT provider endpoint, against their baselines.

Usage::

    .venv/bin/python bench/login.py [--quick] [--requests 2000] [--rounds 7] [--hasher md5|pbkdf2]

In one process, with the test suite's settings (``tests.settings``: SimpleJWT, DRF, the contrib
integrations; the leak guard's recording middleware and log handler taken out) on a SQLite
database in memory and the local-memory cache, the rate limit off, through Django's test ``Client`` (the whole
middleware stack). One user; iOS hands out user hashes and Android JWTs, both "sending".

1. **SimpleJWT login**: ``POST /api/token/`` with SimpleJWT's own serializer (baseline) against
   ``intercom_identity.contrib.simplejwt.TokenObtainPairSerializer`` with
   ``X-Intercom-Platform`` (a hash platform, then a JWT platform) and ``X-App-Version``. The
   password hasher is the suite's MD5 by default, which makes the login as cheap as it gets, so
   the ratio is the strictest; ``--hasher pbkdf2`` measures with Django's default hasher.
2. **The JWT provider call**: ``GET /api/intercom/identity/?platform=android`` with a SimpleJWT
   bearer token (``IntercomIdentityView``), against a bare DRF ``APIView`` with the same
   authentication answering ``{"user_id": pk}`` (baseline). The user is already recorded
   this hour (the warm path: no database write).

Rounds alternate the measured and the baseline requests; each figure is the best round.
Targets: the login with the integration at most 1.5x the login without it (MD5); the provider
call at most 2.0x the bare authenticated view.
"""

from __future__ import annotations

import argparse
import os
import sys
import timeit
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Row, print_table, start

LOGIN_TARGET = 1.5
PROVIDER_TARGET = 2.0
PASSWORD = "bench-password-1"
SECRETS = {
    "ios": "bench-ios-0123456789abcdef0123456789abcdef0123",
    "android": "bench-android-0123456789abcdef0123456789abcd",
}

urlpatterns: list[Any] = []  # filled in main(): this module is the URLconf


def configure_environment(hasher: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    os.environ["DATABASE_URL"] = "sqlite://:memory:"
    from django.conf import settings

    settings.ROOT_URLCONF = "__main__"
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.startswith("tests.")]
    settings.LOGGING = {"version": 1, "disable_existing_loggers": False}
    settings.DEBUG = False
    settings.INTERCOM_IDENTITY_HASH_RATE_LIMIT = 0  # thousands of calls a minute from one user: no limit
    # SimpleJWT's default 5-minute access tokens would expire during a long run.
    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, "ACCESS_TOKEN_LIFETIME": timedelta(hours=12)}
    if hasher == "pbkdf2":
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]


def best_of(timers: list[Callable[[], Any]], number: int, rounds: int) -> list[float]:
    """Microseconds per call of each, the best of ``rounds`` alternating rounds (after a warm-up)."""
    for timer in timers:
        timeit.Timer(timer).timeit(max(1, number // 10))
    best = [float("inf")] * len(timers)
    for _ in range(rounds):
        for index, timer in enumerate(timers):
            best[index] = min(best[index], timeit.Timer(timer).timeit(number) / number * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny run (a check that it works, not a measurement)")
    parser.add_argument("--requests", type=int, default=2_000, help="requests per round and endpoint")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--hasher", choices=["md5", "pbkdf2"], default="md5")
    args = parser.parse_args()
    number = 20 if args.quick else args.requests
    rounds = 2 if args.quick else args.rounds
    if args.hasher == "pbkdf2" and not args.quick:
        number = max(1, number // 20)  # a PBKDF2 login takes tens of milliseconds

    configure_environment(args.hasher)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client
    from django.urls import path
    from rest_framework.response import Response
    from rest_framework.views import APIView
    from rest_framework_simplejwt.serializers import TokenObtainPairSerializer as SimpleJWTSerializer
    from rest_framework_simplejwt.views import TokenObtainPairView

    from intercom_identity.contrib.rest_framework import IntercomIdentityView
    from intercom_identity.models import ClientActivity, CredentialMode, RolloutPhase
    from intercom_identity.rollout.changes import change_mode, change_phase, store_secret
    from intercom_identity.selectors import get_platform_config

    class BareView(APIView):
        """The baseline of the provider call: the same DRF authentication, nothing else."""

        def get(self, request: Any) -> Response:
            return Response({"user_id": request.user.pk})

    urlpatterns.extend(
        [
            path(
                "plain/token/",
                TokenObtainPairView.as_view(serializer_class=SimpleJWTSerializer),
            ),
            path("api/token/", TokenObtainPairView.as_view()),
            path("bare/", BareView.as_view()),
            path("api/intercom/identity/", IntercomIdentityView.as_view()),
        ]
    )

    start(f"bench/login.py: login integrations and the JWT provider endpoint (benchmark 8, {args.hasher} hasher)")
    call_command("migrate", verbosity=0)
    for platform, secret in SECRETS.items():
        config = get_platform_config(platform, "development")
        store_secret(config, secret)
        change_phase(config, RolloutPhase.SENDING, force=True, reason="benchmark")
    change_mode(get_platform_config("android", "development"), CredentialMode.JWT)
    user = get_user_model().objects.create_user("bench", "bench@example.com", PASSWORD)

    client = Client()
    credentials = {"username": "bench", "password": PASSWORD}
    app = {"X-App-Version": "2.0.0"}

    def login(url: str, **headers: str) -> Callable[[], Any]:
        def call() -> Any:
            response = client.post(url, credentials, content_type="application/json", headers={**app, **headers})
            if response.status_code != 200:
                raise SystemExit(f"error: {url} answered {response.status_code}")
            return response

        return call

    plain, with_hash, with_jwt = (
        login("/plain/token/"),
        login("/api/token/", X_Intercom_Platform="ios"),
        login("/api/token/", X_Intercom_Platform="android"),
    )
    if "intercom" in plain().json() or plain().json().keys() != {"refresh", "access"}:
        raise SystemExit("error: the baseline login is not SimpleJWT's own")
    if not with_hash().json()["intercom"]["user_hash"] or not with_jwt().json()["intercom"]["intercom_user_jwt"]:
        raise SystemExit("error: the integrated login carries no credential")

    bearer = {"Authorization": f"Bearer {plain().json()['access']}"}

    def get(url: str) -> Callable[[], Any]:
        def call() -> Any:
            response = client.get(url, headers={**bearer, **app})
            if response.status_code != 200:
                raise SystemExit(f"error: {url} answered {response.status_code}")
            return response

        return call

    bare, provider = get("/bare/"), get("/api/intercom/identity/?platform=android")
    if bare().json() != {"user_id": user.pk} or not provider().json()["intercom_user_jwt"]:
        raise SystemExit("error: the provider call or its baseline answered something else")
    recorded = ClientActivity.objects.get(user=user, platform="android").last_seen_at

    login_times = best_of([plain, with_hash, with_jwt], number, rounds)
    provider_times = best_of([bare, provider], number, rounds)
    if ClientActivity.objects.get(user=user, platform="android").last_seen_at != recorded:
        raise SystemExit("error: the warm provider calls wrote to the database")

    hash_ratio, jwt_ratio = login_times[1] / login_times[0], login_times[2] / login_times[0]
    provider_ratio = provider_times[1] / provider_times[0]
    target = f"<= {LOGIN_TARGET}x" if args.hasher == "md5" else ""
    print_table(
        f"SimpleJWT login, best of {rounds} alternating rounds of {number:,} requests",
        [
            Row("POST /api/token/, SimpleJWT's serializer (baseline)", f"{login_times[0]:.0f} us/req", 1.0),
            Row(
                "POST /api/token/ + intercom, hash platform",
                f"{login_times[1]:.0f} us/req",
                hash_ratio,
                target,
                hash_ratio <= LOGIN_TARGET if target else None,
            ),
            Row(
                "POST /api/token/ + intercom, JWT platform",
                f"{login_times[2]:.0f} us/req",
                jwt_ratio,
                target,
                jwt_ratio <= LOGIN_TARGET if target else None,
            ),
        ],
        figure_header="time",
    )
    print_table(
        f"the JWT provider call, best of {rounds} alternating rounds of {number:,} requests (warm: no write)",
        [
            Row("GET bare DRF APIView, JWTAuthentication (baseline)", f"{provider_times[0]:.0f} us/req", 1.0),
            Row(
                "GET IntercomIdentityView ?platform=android (fresh JWT)",
                f"{provider_times[1]:.0f} us/req",
                provider_ratio,
                f"<= {PROVIDER_TARGET}x",
                provider_ratio <= PROVIDER_TARGET,
            ),
        ],
        figure_header="time",
    )
    print(
        f"login: {hash_ratio:.3f}x (hash platform), {jwt_ratio:.3f}x (JWT platform) SimpleJWT's own login "
        f"({args.hasher} hasher); provider call: {provider_ratio:.3f}x a bare authenticated DRF view "
        f"(target <= {PROVIDER_TARGET}x: {'PASS' if provider_ratio <= PROVIDER_TARGET else 'MISS'})."
    )


if __name__ == "__main__":
    main()
