"""Prepare the demo: a superuser, an app id and development secrets (idempotent)."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from intercom_identity._internal.configcache import get_serving_config
from intercom_identity.models import ClientActivity, Environment, Platform, RolloutPhase
from intercom_identity.rollout.activity import record, record_client
from intercom_identity.rollout.changes import change_phase, store_secret
from intercom_identity.selectors import get_platform_config

USERNAME = "admin"
PASSWORD = "admin"


class Command(BaseCommand):
    help = "Create the demo superuser and store demo development secrets (phase 'sending')."

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        if not User.objects.filter(username=USERNAME).exists():
            User.objects.create_superuser(USERNAME, "admin@example.com", PASSWORD)
        development = Environment.objects.get(slug="development")
        if not development.app_id:
            development.app_id = "demo_app"
            development.save()
        for platform in Platform:
            config = get_platform_config(platform, development)
            if not config.has_secret:
                # Random per install: a demo secret must never look like a real one worth reusing.
                store_secret(config, "demo-" + secrets.token_hex(20))
            if config.phase == RolloutPhase.OFF:
                change_phase(config, RolloutPhase.SENDING)
        self._sample_activity(development)
        # Where `make run` serves (HOST and PORT, as the Makefile passes them to runserver).
        host, port = os.environ.get("HOST") or "127.0.0.1", os.environ.get("PORT") or "8000"
        self.stdout.write(
            f"Demo ready. Admin: http://{host}:{port}/admin/ username '{USERNAME}', password '{PASSWORD}' (demo only)."
        )

    @transaction.atomic  # one commit instead of hundreds
    def _sample_activity(self, development: Environment) -> None:
        """Thirty days of demo app users moving from 1.x (no credential) to 2.x (sends it),
        so the overview page has an adoption trend to draw. Only on an empty demo database."""
        if ClientActivity.objects.exists():
            return
        User = get_user_model()
        now = timezone.now()
        for n in range(20):
            user, _created = User.objects.get_or_create(username=f"demo-app-user-{n}")
            for platform in (Platform.IOS, Platform.ANDROID):
                for day in range(30, -1, -5):
                    # User n upgrades on day n * 1.8 of the rollout: by today 17 of 20 have (85%).
                    upgraded = (30 - day) > n * 1.8
                    version = "2.0.0" if upgraded else "1.4.2"
                    moment = now - timedelta(days=day, hours=n % 12)
                    if upgraded:  # the JSON view handed 2.0.0 a credential (as serve_identity records it)
                        config = get_serving_config(platform, development.slug)
                        record(config, user, version, sent_credential=True, now=moment)
                    else:  # 1.4.2 only logs in
                        record_client(user, platform, version, environment=development.slug, now=moment)
