"""Environments (Intercom workspaces) and, per platform, their secret and rollout phase."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from . import crypto
from .conf import ENVIRONMENT_SLUG_RE, conf
from .exceptions import MissingSecret
from .hashing import fingerprint, validate_secret
from .permissions import MANAGE_PRODUCTION
from .platforms import LABELS


class Platform(models.TextChoices):
    IOS = "ios", LABELS["ios"]
    ANDROID = "android", LABELS["android"]
    WEB = "web", LABELS["web"]


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
            (MANAGE_PRODUCTION, _("Can change secrets and phases of production environments")),
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
    ``secret()`` decrypts it on demand, unless ``INTERCOM_IDENTITY_SECRETS`` supplies the
    pair's secret. A phase other than ``off`` needs one or the other: ``rollout`` enforces it,
    and system check E014 reports a row that lost it.
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
    min_sending_version = models.CharField(
        _("minimum sending version"),
        max_length=64,
        blank=True,
        help_text=_(
            "App versions from this one on count as sending the credential, even before one of their "
            "requests has been seen receiving it (e.g. '5.2.0'). Leave empty to count only what is observed."
        ),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("platform configuration")
        ordering = ["environment", "platform"]
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "platform"], name="intercom_identity_one_config_per_platform"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.environment} / {self.get_platform_display()}"

    @property
    def managed_by_settings(self) -> bool:
        """Whether INTERCOM_IDENTITY_SECRETS supplies this pair's secret (it then wins over a stored one)."""
        return conf.secret_from_settings(self.environment.slug, self.platform) is not None

    @property
    def has_secret(self) -> bool:
        return bool(self.encrypted_secret) or self.managed_by_settings

    @property
    @sensitive_variables()
    def fingerprint(self) -> str:
        """The fingerprint of the secret in use (from settings or stored), "" when there is none."""
        supplied = conf.secret_from_settings(self.environment.slug, self.platform)
        return fingerprint(supplied) if supplied is not None else self.secret_fingerprint

    @sensitive_variables()
    def set_secret(self, secret: str) -> None:
        """Validate, encrypt and remember a new secret (the caller saves the row)."""
        validate_secret(secret)
        new_fingerprint = fingerprint(secret)
        if self.encrypted_secret and new_fingerprint != self.secret_fingerprint:
            self.encrypted_previous_secret = self.encrypted_secret
        self.encrypted_secret = crypto.encrypt(secret)
        self.secret_fingerprint = new_fingerprint
        self.secret_set_at = timezone.now()

    @sensitive_variables()
    def secret(self) -> str:
        """The secret in use: from settings, else decrypted; raises ``MissingSecret`` or ``SecretDecryptionError``."""
        supplied = conf.secret_from_settings(self.environment.slug, self.platform)
        if supplied is not None:
            return supplied
        if not self.encrypted_secret:
            raise MissingSecret(f"No Intercom secret is stored for {self}.")
        return crypto.decrypt(self.encrypted_secret)

    @sensitive_variables()
    def previous_secret(self) -> str | None:
        """The replaced secret (for diagnosis only), or None when there is none."""
        return crypto.decrypt(self.encrypted_previous_secret) if self.encrypted_previous_secret else None


class AppVersion(models.Model):
    """An app version seen on one platform in one environment, and since when it sends the credential."""

    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="app_versions")
    platform = models.CharField(max_length=16, choices=Platform.choices)
    version = models.CharField(max_length=64)
    first_seen_at = models.DateTimeField()
    first_credential_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When a request of this version was first handed a credential.")
    )
    # Who reported it first: each user may introduce only a few versions a day
    # (INTERCOM_IDENTITY_MAX_NEW_VERSIONS_PER_USER). Cleared when the user is forgotten.
    first_reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "platform", "version"], name="intercom_identity_one_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.platform} {self.version}"


class Activity(models.Model):
    """What the activity rows share: whose activity, where, on which app version."""

    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="+")
    platform = models.CharField(max_length=16, choices=Platform.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    version = models.CharField(max_length=64)

    class Meta:
        abstract = True


class ClientActivity(Activity):
    """The latest app version each user was seen with, per environment and platform (one row each)."""

    sent_credential = models.BooleanField(
        default=False, help_text=_("Whether the user was handed a credential on this version (since moving to it).")
    )
    last_seen_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = _("client activity")
        constraints = [
            models.UniqueConstraint(fields=["environment", "platform", "user"], name="intercom_identity_one_activity"),
        ]

    def __str__(self) -> str:
        return f"user {self.user_id} on {self.platform} {self.version}"


class DailyActivity(Activity):
    """The version each user was last seen with on each day."""

    day = models.DateField()

    class Meta:
        verbose_name_plural = _("daily activity")
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "platform", "user", "day"], name="intercom_identity_one_day"
            ),
        ]
        # Retention walks the old days in this order, a batch at a time (retention.prune_activity).
        indexes = [models.Index(fields=["day", "id"], name="intercom_identity_daily_day")]

    def __str__(self) -> str:
        return f"user {self.user_id} on {self.platform} {self.version} ({self.day})"


class VersionTally(models.Model):
    """Exact user counts per (day, version), kept in step with the activity rows.

    ``LATEST`` counts users whose latest activity (``ClientActivity``) is on ``day`` with
    ``version``, and in ``credential_users`` those of them handed the credential on it (the
    evidence that the version sends); ``DAILY`` counts users active on ``day`` whose last
    version that day was ``version`` (``DailyActivity``). Adoption sums at most days x
    versions rows instead of scanning one row per user, so it stays fast at millions of users.
    """

    class Kind(models.TextChoices):
        LATEST = "latest", _("Latest activity")
        DAILY = "daily", _("Daily activity")

    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="+")
    platform = models.CharField(max_length=16, choices=Platform.choices)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    day = models.DateField()
    version = models.CharField(max_length=64)
    users = models.IntegerField(default=0)
    credential_users = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "platform", "kind", "day", "version"], name="intercom_identity_one_tally"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.platform} {self.version} {self.day}: {self.users}"


class AuditEvent(models.Model):
    """One change of a phase, credential mode, secret (by fingerprint) or minimum version.

    Written by ``rollout`` whatever made the change (admin, command, code), and read-only
    everywhere. Never holds secret material.
    """

    class Kind(models.TextChoices):
        PHASE = "phase", _("Phase")
        CREDENTIAL_MODE = "credential_mode", _("Credential mode")
        SECRET = "secret", _("Secret (fingerprint)")
        MIN_VERSION = "min_sending_version", _("Minimum sending version")

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, help_text=_("Who, as text: kept if the user is deleted."))
    environment = models.CharField(max_length=50)
    platform = models.CharField(max_length=16, choices=Platform.choices)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    from_value = models.CharField(max_length=64, blank=True)
    to_value = models.CharField(max_length=64, blank=True)
    adoption_ratio = models.FloatField(null=True, blank=True)
    reason = models.TextField(blank=True)
    forced = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["environment", "platform", "-created_at"], name="intercom_identity_audit")]

    def __str__(self) -> str:
        return f"{self.environment}/{self.platform} {self.kind}: {self.from_value or '-'} -> {self.to_value or '-'}"
