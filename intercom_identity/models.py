"""Environments (Intercom workspaces) and, per platform, their secret and rollout phase."""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from . import crypto
from .conf import ENVIRONMENT_SLUG_RE
from .exceptions import MissingSecret
from .hashing import fingerprint, validate_secret


class Platform(models.TextChoices):
    IOS = "ios", "iOS"
    ANDROID = "android", "Android"
    WEB = "web", "Web"


class RolloutPhase(models.TextChoices):
    """Where a (environment, platform) pair is in the enforcement rollout.

    OFF: no hash is handed out. SENDING: hashes are handed out but Intercom does not
    enforce them yet. ENFORCED: Intercom rejects users without a valid hash, so the app
    must never run without a secret.
    """

    OFF = "off", _("Off")
    SENDING = "sending", _("Sending (not enforced)")
    ENFORCED = "enforced", _("Enforced")

    @property
    def needs_secret(self) -> bool:
        return self is not RolloutPhase.OFF


class CredentialMode(models.TextChoices):
    """What the app hands out: the (deprecated) user hash or a signed JWT (Messenger Security)."""

    USER_HASH = "user_hash", _("User hash (HMAC)")
    JWT = "jwt", _("JWT (Messenger Security)")


class Environment(models.Model):
    """One Intercom workspace, e.g. "development" (the test workspace) or "production"."""

    slug = models.SlugField(
        unique=True,
        validators=[
            RegexValidator(
                ENVIRONMENT_SLUG_RE,
                _("Use lowercase letters and digits, separated by single '-' or '_' (e.g. 'staging-eu')."),
            )
        ],
        help_text=_("Matched against the INTERCOM_IDENTITY_ENVIRONMENT setting."),
    )
    label = models.CharField(max_length=100)
    app_id = models.CharField(
        _("Intercom app ID"),
        max_length=64,
        blank=True,
        help_text=_("The workspace's app ID (not a secret): it boots the web messenger."),
    )
    is_production = models.BooleanField(
        default=False,
        help_text=_("Changes to a production environment need the 'manage production' permission."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_production", "slug"]
        permissions = [
            ("manage_production", _("Can change secrets and phases of production environments")),
        ]

    def __str__(self) -> str:
        return self.label or self.slug

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Saving an environment makes sure it has one configuration row per platform."""
        super().save(*args, **kwargs)
        existing = set(self.platforms.values_list("platform", flat=True))
        PlatformConfig.objects.bulk_create(
            PlatformConfig(environment=self, platform=platform) for platform in Platform if platform not in existing
        )


class PlatformConfig(models.Model):
    """The secret and rollout phase of one platform in one environment.

    The secret is stored only encrypted (``encrypted_secret``) next to a short fingerprint;
    ``secret()`` decrypts it on demand. The database refuses a phase other than ``off``
    without a secret.
    """

    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="platforms")
    platform = models.CharField(max_length=16, choices=Platform.choices)
    phase = models.CharField(max_length=16, choices=RolloutPhase.choices, default=RolloutPhase.OFF)
    credential_mode = models.CharField(max_length=16, choices=CredentialMode.choices, default=CredentialMode.USER_HASH)
    encrypted_secret = models.TextField(blank=True, editable=False)
    # The secret this one replaced, kept encrypted only to diagnose apps still using it.
    encrypted_previous_secret = models.TextField(blank=True, editable=False)
    secret_fingerprint = models.CharField(_("secret fingerprint"), max_length=8, blank=True, editable=False)
    secret_set_at = models.DateTimeField(_("secret set at"), null=True, blank=True, editable=False)
    phase_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("platform configuration")
        ordering = ["environment", "platform"]
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "platform"], name="intercom_identity_one_config_per_platform"
            ),
            models.CheckConstraint(
                condition=Q(phase=RolloutPhase.OFF) | ~Q(encrypted_secret=""),
                name="intercom_identity_phase_needs_secret",
                violation_error_message=_("A phase other than 'off' needs a stored secret."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.environment} / {self.get_platform_display()}"

    @property
    def has_secret(self) -> bool:
        return bool(self.encrypted_secret)

    @sensitive_variables("secret")
    def set_secret(self, secret: str) -> None:
        """Validate, encrypt and remember a new secret (the caller saves the row)."""
        validate_secret(secret)
        new_fingerprint = fingerprint(secret)
        if self.encrypted_secret and new_fingerprint != self.secret_fingerprint:
            self.encrypted_previous_secret = self.encrypted_secret
        self.encrypted_secret = crypto.encrypt(secret)
        self.secret_fingerprint = new_fingerprint
        self.secret_set_at = timezone.now()

    def secret(self) -> str:
        """The decrypted secret; raises ``MissingSecret`` or ``SecretDecryptionError``."""
        if not self.encrypted_secret:
            raise MissingSecret(f"No Intercom secret is stored for {self}.")
        return crypto.decrypt(self.encrypted_secret)

    def previous_secret(self) -> str | None:
        """The replaced secret (for diagnosis only), or None when there is none."""
        return crypto.decrypt(self.encrypted_previous_secret) if self.encrypted_previous_secret else None
