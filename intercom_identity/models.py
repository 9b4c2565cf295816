"""Environments (Intercom workspaces) and, per platform, their secret and rollout phase."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from intercom_identity._internal import crypto
from intercom_identity._internal.write_only import Columns, WriteOnly
from intercom_identity.conf import conf
from intercom_identity.constants import LABELS, MANAGE_PRODUCTION
from intercom_identity.exceptions import MissingSecret
from intercom_identity.validators import (
    ENVIRONMENT_SLUG_RE,
    MAX_APP_ID_LENGTH,
    MAX_AUDIT_VALUE_LENGTH,
    MAX_ENVIRONMENT_SLUG_LENGTH,
    MAX_INTERCOM_ID_LENGTH,
    MAX_SECRET_NAME_LENGTH,
    MAX_VERSION_LENGTH,
    validate_secret,
)


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


class Region(models.TextChoices):
    """Where an Intercom workspace is hosted: it decides the REST API's URL."""

    US = "us", _("US (api.intercom.io)")
    EU = "eu", _("EU (api.eu.intercom.io)")
    AU = "au", _("Australia (api.au.intercom.io)")


class Environment(models.Model):
    """One Intercom workspace, e.g. "development" (the test workspace) or "production"."""

    # Derived from the API token, so never filtered on (``sensitive``); ``encrypted_*`` fields go without saying.
    SENSITIVE_FIELDS: ClassVar[tuple[str, ...]] = ("api_token_fingerprint",)
    # Where the stored token lives: reading, writing and clearing it follow from these names.
    API_TOKEN_COLUMNS: ClassVar[Columns] = Columns("encrypted_api_token", "api_token_fingerprint", "api_token_set_at")

    slug = models.SlugField(
        _("slug"),
        max_length=MAX_ENVIRONMENT_SLUG_LENGTH,
        unique=True,
        validators=[
            RegexValidator(
                ENVIRONMENT_SLUG_RE,
                _("Use lowercase letters and digits, separated by single '-' or '_' (e.g. 'staging-eu')."),
            )
        ],
        help_text=_("Matched against the INTERCOM_IDENTITY_ENVIRONMENT setting."),
    )
    label = models.CharField(_("label"), max_length=100)
    app_id = models.CharField(
        _("Intercom app ID"),
        max_length=MAX_APP_ID_LENGTH,
        blank=True,
        help_text=_("The workspace's app ID (not a secret): it boots the web messenger."),
    )
    is_production = models.BooleanField(
        _("is production"),
        default=False,
        help_text=_("Changes to a production environment need the 'manage production' permission."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    # Workspace truth: where the workspace's REST API is, and a read-only access token for it.
    region = models.CharField(
        _("Intercom region"),
        max_length=2,
        choices=Region.choices,
        default=Region.US,
        help_text=_("Where the workspace is hosted; it decides the REST API's URL."),
    )
    encrypted_api_token = models.TextField(blank=True, editable=False)
    api_token_fingerprint = models.CharField(_("API token fingerprint"), max_length=8, blank=True, editable=False)
    api_token_set_at = models.DateTimeField(_("API token set at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("environment")
        verbose_name_plural = _("environments")
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

    # --- workspace truth: the Intercom access token (write-only, like the secrets) ----------

    def _api_token(self) -> WriteOnly:
        return self.API_TOKEN_COLUMNS.read(self, conf.api_token_from_settings(self.slug))

    @property
    def api_token_managed_by_settings(self) -> bool:
        """Whether INTERCOM_IDENTITY_API_TOKENS supplies this environment's token (it then wins)."""
        return self._api_token().managed_by_settings

    @property
    def has_api_token(self) -> bool:
        return self._api_token().present

    @property
    def api_token_in_use_fingerprint(self) -> str:
        """The fingerprint of the token in use (from settings or stored), "" when there is none."""
        return self._api_token().fingerprint

    def api_token(self) -> str | None:
        """The token in use: from settings, else decrypted (``SecretDecryptionError``); None when there is none."""
        return self._api_token().value()


class PlatformConfig(models.Model):
    """The secret and rollout phase of one platform in one environment.

    The secret is stored only encrypted (``encrypted_secret``) next to a short fingerprint;
    ``secret()`` decrypts it on demand, unless ``INTERCOM_IDENTITY_SECRETS`` supplies the
    pair's secret. A phase other than ``off`` needs one or the other: ``rollout`` enforces it,
    and system check E014 reports a row that lost it.
    """

    # Derived from the secret, so never filtered on (``sensitive``); ``encrypted_*`` fields go without saying.
    SENSITIVE_FIELDS: ClassVar[tuple[str, ...]] = ("secret_fingerprint",)
    # Where the stored secret lives: reading, writing and clearing it follow from these names.
    SECRET_COLUMNS: ClassVar[Columns] = Columns("encrypted_secret", "secret_fingerprint", "secret_set_at")

    environment = models.ForeignKey(
        Environment, on_delete=models.CASCADE, related_name="platforms", verbose_name=_("environment")
    )
    platform = models.CharField(_("platform"), max_length=16, choices=Platform.choices)
    phase = models.CharField(_("phase"), max_length=16, choices=RolloutPhase.choices, default=RolloutPhase.OFF)
    credential_mode = models.CharField(
        _("credential mode"), max_length=16, choices=CredentialMode.choices, default=CredentialMode.USER_HASH
    )
    encrypted_secret = models.TextField(blank=True, editable=False)
    # The secret this one replaced, kept encrypted only to diagnose apps still using it.
    encrypted_previous_secret = models.TextField(blank=True, editable=False)
    secret_fingerprint = models.CharField(_("secret fingerprint"), max_length=8, blank=True, editable=False)
    secret_set_at = models.DateTimeField(_("secret set at"), null=True, blank=True, editable=False)
    phase_changed_at = models.DateTimeField(_("phase changed at"), null=True, blank=True, editable=False)
    # Secrets made through Intercom's API (create-secret, rotate-secret): Intercom's id of the one in use,
    # of the one it replaced (until retire-secret deletes it), and of a creation under way (see workspace.secrets).
    intercom_secret_id = models.CharField(
        _("Intercom secret id"), max_length=MAX_INTERCOM_ID_LENGTH, blank=True, editable=False
    )
    intercom_secret_created_at = models.DateTimeField(
        _("created in Intercom at"), null=True, blank=True, editable=False
    )
    previous_intercom_secret_id = models.CharField(
        _("previous Intercom secret id"), max_length=MAX_INTERCOM_ID_LENGTH, blank=True, editable=False
    )
    pending_secret_name = models.CharField(
        _("secret being created in Intercom"), max_length=MAX_SECRET_NAME_LENGTH, blank=True, editable=False
    )
    # Since when the credential has been handed out without a break (phase sending or enforced):
    # what the web's soak and the declared minimum's check measure from. None while ``off``.
    sending_since = models.DateTimeField(_("sending since"), null=True, blank=True, editable=False)
    min_sending_version = models.CharField(
        _("minimum sending version"),
        max_length=MAX_VERSION_LENGTH,
        blank=True,
        help_text=_(
            "App versions from this one on count as sending the credential, even before one of their "
            "requests has been seen receiving it (e.g. '5.2.0'). Leave empty to count only what is observed."
        ),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("platform configuration")
        verbose_name_plural = _("platform configurations")
        ordering = ["environment", "platform"]
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "platform"], name="intercom_identity_one_config_per_platform"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.environment} / {self.get_platform_display()}"

    def _secret(self) -> WriteOnly:
        return self.SECRET_COLUMNS.read(self, conf.secret_from_settings(self.environment.slug, self.platform))

    @property
    def managed_by_settings(self) -> bool:
        """Whether INTERCOM_IDENTITY_SECRETS supplies this pair's secret (it then wins over a stored one)."""
        return self._secret().managed_by_settings

    @property
    def has_secret(self) -> bool:
        return self._secret().present

    @property
    def fingerprint(self) -> str:
        """The fingerprint of the secret in use (from settings or stored), "" when there is none."""
        return self._secret().fingerprint

    @sensitive_variables()
    def set_secret(self, secret: str) -> None:
        """Validate, encrypt and remember a new secret (the caller saves the row)."""
        written = self.SECRET_COLUMNS.written(secret, validate_secret)
        if self.encrypted_secret and written[self.SECRET_COLUMNS.fingerprint] != self.secret_fingerprint:
            self.encrypted_previous_secret = self.encrypted_secret
        for name, value in written.items():
            setattr(self, name, value)

    @sensitive_variables()
    def secret(self) -> str:
        """The secret in use: from settings, else decrypted; raises ``MissingSecret`` or ``SecretDecryptionError``."""
        secret = self._secret().value()
        if secret is None:
            raise MissingSecret(gettext("No Intercom secret is stored for %(config)s.") % {"config": self})
        return secret

    @sensitive_variables()
    def previous_secret(self) -> str | None:
        """The replaced secret (for diagnosis only), or None when there is none."""
        return crypto.decrypt(self.encrypted_previous_secret) if self.encrypted_previous_secret else None


class IdentityVerificationOverview(PlatformConfig):
    """The admin index's entry for the *Identity verification* overview (no table of its own).

    Django's admin index lists models only; the overview, the page the rollout revolves around,
    belongs there under the app, so this proxy carries it. It has no permissions of its own:
    its admin defers to the platform configurations' view permission.
    """

    class Meta:
        proxy = True
        default_permissions = ()
        verbose_name = _("identity verification overview")
        verbose_name_plural = _("identity verification")


class AppVersion(models.Model):
    """An app version seen on one platform in one environment, and since when it sends the credential."""

    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="app_versions")
    platform = models.CharField(max_length=16, choices=Platform.choices)
    version = models.CharField(max_length=MAX_VERSION_LENGTH)
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
    version = models.CharField(max_length=MAX_VERSION_LENGTH)

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
    sent_credential = models.BooleanField(
        default=False, help_text=_("Whether the user was handed a credential on this version that day.")
    )

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
    version that day was ``version`` (``DailyActivity``), and in ``credential_users`` those of
    them handed the credential on it that day (the web's trend counts them, user by user).
    Adoption sums at most days x versions rows instead of scanning one row per user, so it
    stays fast at millions of users.
    """

    class Kind(models.TextChoices):
        LATEST = "latest", _("Latest activity")
        DAILY = "daily", _("Daily activity")

    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="+")
    platform = models.CharField(max_length=16, choices=Platform.choices)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    day = models.DateField()
    version = models.CharField(max_length=MAX_VERSION_LENGTH)
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
    """One change of a phase, credential mode, secret (by fingerprint), minimum version, app ID or
    environment API token (by fingerprint).

    Written by ``rollout`` whatever made the change (admin, command, code), and read-only
    everywhere. Never holds secret material.
    """

    class Kind(models.TextChoices):
        PHASE = "phase", _("Phase")
        CREDENTIAL_MODE = "credential_mode", _("Credential mode")
        SECRET = "secret", _("Secret (fingerprint)")
        MIN_VERSION = "min_sending_version", _("Minimum sending version")
        API_TOKEN = "api_token", _("Intercom API token (fingerprint)")
        APP_ID = "app_id", _("Intercom app ID")
        INTERCOM_SECRET = "intercom_secret", _("Secret in Intercom (id)")
        IS_PRODUCTION = "is_production", _("Production flag")

    created_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("user"),
    )
    actor_label = models.CharField(_("who"), max_length=150, help_text=_("Who, as text: kept if the user is deleted."))
    environment = models.CharField(_("environment"), max_length=MAX_ENVIRONMENT_SLUG_LENGTH)
    # Empty for a change of the whole environment (its app ID, its Intercom API token).
    platform = models.CharField(_("platform"), max_length=16, choices=Platform.choices, blank=True)
    kind = models.CharField(_("what changed"), max_length=32, choices=Kind.choices)
    from_value = models.CharField(_("from"), max_length=MAX_AUDIT_VALUE_LENGTH, blank=True)
    to_value = models.CharField(_("to"), max_length=MAX_AUDIT_VALUE_LENGTH, blank=True)
    adoption_ratio = models.FloatField(
        _("adoption"),
        null=True,
        blank=True,
        help_text=_("The share of active users on credential-sending app versions at that moment."),
    )
    reason = models.TextField(_("reason"), blank=True)
    forced = models.BooleanField(
        _("forced"), default=False, help_text=_("Whether the change overrode the adoption guard.")
    )

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["environment", "platform", "-created_at"], name="intercom_identity_audit")]

    def __str__(self) -> str:
        """Labels, not slugs: "Production / iOS: Phase: Sending (not enforced) → Enforced"."""
        return gettext("%(configuration)s: %(change)s") % {
            "configuration": self.configuration_label,
            "change": self.change_summary(),
        }

    @property
    def configuration_label(self) -> str:
        """ "Production / iOS", or "Production" for a change of the whole environment."""
        if not self.platform:
            return self.environment_label
        return f"{self.environment_label} / {self.get_platform_display()}"

    @property
    def environment_label(self) -> str:
        """The environment's label (its slug once the environment is gone: the event outlives it).

        The admin's queryset annotates it (``environment_name``), saving a query per row."""
        label = getattr(self, "environment_name", None)
        if label is None:
            label = Environment.objects.filter(slug=self.environment).values_list("label", flat=True).first()
        return label or self.environment

    def change_summary(self) -> str:
        return change_summary(self.kind, self.from_value, self.to_value)


def change_summary(kind: str, previous: str, new: str) -> str:
    """ "Phase: Sending (not enforced) → Enforced", "Secret (fingerprint): none → 1a2b3c4d": one
    wording for the audit trail, the admin's history and headings."""
    return gettext("%(what)s: %(previous)s → %(new)s") % {
        "what": AuditEvent.Kind(kind).label if kind in AuditEvent.Kind.values else kind,
        "previous": value_label(kind, previous),
        "new": value_label(kind, new),
    }


def value_label(kind: str, value: str) -> str:
    """A recorded value as people read it: a phase's or mode's label, "none" for nothing."""
    if not value:
        return pgettext("no value", "none")
    if kind == AuditEvent.Kind.PHASE and value in RolloutPhase.values:
        return str(RolloutPhase(value).label)
    if kind == AuditEvent.Kind.CREDENTIAL_MODE and value in CredentialMode.values:
        return str(CredentialMode(value).label)
    if kind == AuditEvent.Kind.IS_PRODUCTION and value in PRODUCTION_FLAG_LABELS:
        return str(PRODUCTION_FLAG_LABELS[value])
    return value


# How an ``is_production`` change is recorded (``from_value``/``to_value``) and read.
PRODUCTION_FLAG_LABELS = {"on": _("production"), "off": _("not production")}


class WorkspaceSnapshot(models.Model):
    """What Intercom reported of an environment's workspace at the last successful sync,
    and how the last attempt went. Read by the admin and the system check, which never call
    Intercom themselves."""

    environment = models.OneToOneField(
        Environment, on_delete=models.CASCADE, primary_key=True, related_name="workspace_snapshot"
    )
    fetched_at = models.DateTimeField(_("last successful sync"), null=True, blank=True)
    identity_verification = models.BooleanField(null=True, help_text=_("Whether Intercom enforces it."))
    app_id_code = models.CharField(_("Intercom app id"), max_length=MAX_APP_ID_LENGTH, blank=True)
    app_name = models.CharField(_("workspace name"), max_length=255, blank=True)
    region = models.CharField(_("region reported"), max_length=16, blank=True)
    attempted_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    error = models.CharField(_("why the last attempt failed"), max_length=500, blank=True)
    # The workspace's messenger secrets (metadata: id, name, platforms, created_at) at the last sync
    # that could list them (Intercom's Preview API); null: never listed.
    intercom_secrets = models.JSONField(_("secrets in Intercom"), null=True, blank=True)
    secrets_error = models.CharField(_("why the secrets could not be listed"), max_length=500, blank=True)

    def __str__(self) -> str:
        return f"Intercom workspace of {self.environment}"


class WorkspaceEvent(models.Model):
    """One entry of the workspace's activity log that matters here (identity verification,
    messenger secrets, security settings), kept once per Intercom id."""

    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="workspace_events")
    intercom_id = models.CharField(max_length=MAX_INTERCOM_ID_LENGTH)
    activity_type = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    performed_by = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    fetched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "intercom_id"], name="intercom_identity_one_workspace_event"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.environment}: {self.activity_type} ({self.created_at:%Y-%m-%d %H:%M})"
