"""The admin's forms: a configuration's editable fields (new secret, minimum version), the
reason posted with a change, and the "Check a credential" page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from intercom_identity.conf import conf
from intercom_identity.exceptions import MinimumContradictsEvidence
from intercom_identity.models import Environment, Platform, PlatformConfig
from intercom_identity.rollout.changes import check_secret_choice, contradicted_versions, shortened
from intercom_identity.validators import (
    MAX_CREDENTIAL_FIELD_LENGTH,
    clean_audit_reason,
    clean_min_version,
)

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def _sent_field(
    label: StrOrPromise, help_text: StrOrPromise, *, strip: bool, css: str = "vTextField"
) -> forms.CharField:
    """A value the app sends, pasted as is: no autocompletion, no spelling marks."""
    attrs = {"class": css, "autocomplete": "off", "spellcheck": "false"}
    return forms.CharField(
        label=label,
        required=False,
        strip=strip,
        max_length=MAX_CREDENTIAL_FIELD_LENGTH,
        widget=forms.TextInput(attrs=attrs),
        help_text=help_text,
    )


class CheckCredentialForm(forms.Form):
    """What an app sends to Intercom, laid out like the admin's own forms."""

    environment = forms.ModelChoiceField(
        label=_("Environment"),
        queryset=Environment.objects.all(),
        to_field_name="slug",
        initial=lambda: conf.ENVIRONMENT,
        empty_label=None,
    )
    platform = forms.ChoiceField(label=_("Platform"), choices=Platform.choices)
    # Identifiers are kept as typed (whitespace around one is a diagnosis); credentials are
    # stripped: a pasted trailing newline is the form's artefact, not the app's.
    user_id = _sent_field(
        _("User ID"), _("The user_id the app sends; Intercom verifies it whenever one is sent."), strip=False
    )
    email = _sent_field(
        _("Email"), _("The email the app sends; it identifies the user only when no user_id is sent."), strip=False
    )
    user_hash = _sent_field(
        _("User hash"), _("The user_hash: 64 hexadecimal characters."), strip=True, css="vTextField intercom-hash"
    )
    intercom_user_jwt = forms.CharField(
        label=_("Intercom user JWT"),
        required=False,
        max_length=MAX_CREDENTIAL_FIELD_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "class": "vLargeTextField", "spellcheck": "false"}),
        help_text=_("The intercom_user_jwt, for an app that sends a JWT instead of the hash (checked first)."),
    )

    fieldsets = [
        (None, {"fields": ["environment", "platform"]}),
        (_("What the app sends"), {"fields": ["user_id", "email", "user_hash", "intercom_user_jwt"]}),
    ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            not data.get("user_hash")
            and not data.get("intercom_user_jwt")
            and (data.get("user_id") or data.get("email"))
        ):
            raise ValidationError(_("Paste the user_hash or the JWT the app sends."))
        return data


class AuditReasonForm(forms.Form):
    """The reason posted with a change, checked by the audit trail's own rule before anything changes."""

    # A plain Field: CharField would answer a NUL with its own message before the rule is asked.
    reason = forms.Field(required=False)

    def clean_reason(self) -> str:
        try:
            return clean_audit_reason(str(self.cleaned_data["reason"] or "").strip())
        except ValueError as exc:
            raise ValidationError(str(exc), code="invalid_reason") from None


def write_only_field(label: Any, help_text: Any) -> forms.CharField:
    """A field for a value that is stored encrypted and never shown again: a password input that
    is never filled back in, taken exactly as pasted (validation says what is wrong with it)."""
    return forms.CharField(
        label=label,
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=help_text,
    )


class PlatformConfigForm(forms.ModelForm):  # type: ignore[type-arg]
    new_secret = write_only_field(
        _("New secret"),
        _(
            "Paste the identity verification secret from Intercom's settings for this platform to set "
            "or replace it. Leave empty to keep the current one. It is stored encrypted and never shown."
        ),
    )

    force_min_version = forms.BooleanField(
        label=_("Set the minimum anyway"),
        required=False,
        help_text=_(
            "Only when users of versions it covers were seen without the credential: the change is "
            "recorded as forced, with the reason below."
        ),
    )
    min_version_reason = forms.CharField(
        label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text=_("Why; audited.")
    )

    class Meta:
        model = PlatformConfig
        fields = ["min_sending_version"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Remembered for the history entry, which is written after the changes are saved.
        self.previous_fingerprint = self.instance.secret_fingerprint
        self.initial_min_version = self.instance.min_sending_version
        if self.instance.pk and self.instance.managed_by_settings:
            self.fields.pop("new_secret", None)  # the secret lives in settings: nothing to type here

    def clean_min_sending_version(self) -> str:
        version: str = self.cleaned_data["min_sending_version"]
        try:
            return clean_min_version(version) if version.strip() else ""
        except ValueError as exc:
            raise ValidationError(str(exc), code="invalid_version") from None

    def clean_min_version_reason(self) -> str:
        try:
            return clean_audit_reason(str(self.cleaned_data.get("min_version_reason") or "").strip())
        except ValueError as exc:
            raise ValidationError(str(exc), code="invalid_reason") from None

    def clean(self) -> dict[str, Any]:
        """A minimum that contradicts what was seen is refused, naming the versions, unless forced with a reason."""
        cleaned: dict[str, Any] = super().clean() or {}
        if "min_sending_version" not in self.changed_data or "min_sending_version" not in cleaned:
            return cleaned
        contradicted = contradicted_versions(self.instance, cleaned["min_sending_version"])
        if contradicted and not cleaned.get("force_min_version"):
            self.add_error(
                "min_sending_version",
                ValidationError(
                    str(
                        MinimumContradictsEvidence(
                            self.instance, cleaned["min_sending_version"], shortened(contradicted)
                        )
                    )
                    + " "
                    + str(_("Tick “Set the minimum anyway” and write a reason to set it all the same.")),
                    code="contradicts_evidence",
                ),
            )
        elif cleaned.get("force_min_version") and not cleaned.get("min_version_reason"):
            self.add_error(
                "min_version_reason", ValidationError(_("A forced change needs a written reason."), code="required")
            )
        return cleaned

    @method_decorator(sensitive_variables())
    def clean_new_secret(self) -> str:
        secret: str = self.cleaned_data["new_secret"]
        if secret:
            try:
                check_secret_choice(self.instance, secret)  # the rules store_secret applies
            except ValueError as exc:
                raise ValidationError(str(exc), code=getattr(exc, "mistake", "invalid_secret")) from None
        return secret
