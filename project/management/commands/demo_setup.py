"""Prepare the demo: a superuser, an app id and development secrets (idempotent)."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from intercom_identity.models import Environment, Platform, RolloutPhase
from intercom_identity.rollout import change_phase, store_secret
from intercom_identity.services import get_platform_config

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
        self.stdout.write(
            f"Demo ready. Admin: http://127.0.0.1:8000/admin/ username '{USERNAME}', password '{PASSWORD}' (demo only)."
        )
