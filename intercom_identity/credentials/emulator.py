"""The verification emulator: what Intercom would answer to a credential an app sends,
checked against the stored secrets (and the other ones, to name a mix-up)."""

from __future__ import annotations

import logging
from typing import Any

from django.utils.translation import gettext
from django.views.decorators.debug import sensitive_variables

from intercom_identity.credentials.verification import (
    OtherSecret,
    Verification,
    VerificationContext,
    check_identified,
    verify_credential,
)
from intercom_identity.exceptions import InvalidCredentialInput, SecretUnavailable
from intercom_identity.models import Environment, Platform, PlatformConfig
from intercom_identity.selectors import get_platform_config
from intercom_identity.validators import is_utf8_text

logger = logging.getLogger("intercom_identity.emulator")


@sensitive_variables()
def verification_context(platform: Platform | str, environment: Environment | str | None = None) -> VerificationContext:
    """What ``verify_credential`` compares against: this pair's secret, the one it replaced,
    every other stored secret (to recognise mix-ups) and the app ids.

    Raises ``SecretUnavailable`` when this pair's own secret is missing or unreadable; other
    rows that cannot be decrypted are left out (and logged), since they only refine a diagnosis.
    """
    config = get_platform_config(platform, environment)
    others = []
    for other in PlatformConfig.objects.select_related("environment").exclude(pk=config.pk):
        if not other.has_secret:
            continue
        try:
            others.append(OtherSecret(other.environment.slug, other.platform, other.secret()))
        except SecretUnavailable as exc:
            logger.warning("Left %s out of the diagnosis: %s", other, exc)
    return VerificationContext(
        environment=config.environment.slug,
        platform=config.platform,
        secret=config.secret(),
        previous_secret=_previous_secret(config),
        others=tuple(others),
        app_ids=tuple(Environment.objects.exclude(app_id="").values_list("app_id", flat=True)),
    )


def _previous_secret(config: PlatformConfig) -> str | None:
    """The replaced secret, or None when there is none or it cannot be read (it only refines diagnoses)."""
    try:
        return config.previous_secret()
    except SecretUnavailable as exc:
        logger.warning("Left the previous secret of %s out of the diagnosis: %s", config, exc)
        return None


@sensitive_variables()
def verify(
    platform: Platform | str,
    environment: Environment | str | None = None,
    *,
    user_id: str | None = None,
    email: str | None = None,
    user_hash: str | None = None,
    token: str | None = None,
) -> tuple[Verification, PlatformConfig]:
    """Verify a credential against a stored configuration; returns the result and the configuration.

    Raises ``InvalidCredentialInput`` for a value that is not UTF-8 text (a lone surrogate).
    """
    for name, value in (("user_id", user_id), ("email", email), ("user_hash", user_hash), ("token", token)):
        if value is not None and not is_utf8_text(value):
            raise InvalidCredentialInput(gettext("%(field)s is not valid UTF-8 text.") % {"field": name})
    config = get_platform_config(platform, environment)
    unidentified = check_identified(user_id=user_id, email=email, token=token)
    if unidentified is not None:
        return unidentified, config
    context = verification_context(config.platform, config.environment)
    result = verify_credential(context, user_id=user_id, email=email, user_hash=user_hash, token=token)
    return result, config


HASH_REJECTION = "Failed Identity Verification check"
JWT_REJECTION = "Failed Messenger Security check: the JWT is missing or not valid"


def emulator_response(result: Verification, *, platform: str, enforced: bool) -> tuple[int, dict[str, Any]]:
    """``(status, body)`` as Intercom's API auth server would answer, plus our diagnosis."""
    if result.verified:
        return 200, {"verified": True, "identified_by": result.identified_by}
    assert result.diagnosis is not None  # noqa: S101 - every failure carries one
    if result.diagnosis.reason == "unidentified":
        return 200, {"verified": False, "diagnosis": result.diagnosis.as_dict()}
    if not enforced:
        # Accepted today; rejected once enforcement is on.
        return 200, {"verified": False, "enforced": False, "diagnosis": result.diagnosis.as_dict()}
    if result.credential == "jwt":
        # Intercom: with Messenger Security enforced, "any requests without a valid JWT will be
        # rejected with a 400 error", on every platform; its errors come as an error list.
        return 400, {
            "type": "error.list",
            "errors": [{"code": "jwt_invalid", "message": JWT_REJECTION}],
            "diagnosis": result.diagnosis.as_dict(),
        }
    # A user hash: 401 from the mobile API, 403 from the web messenger's, with the mobile SDKs' message.
    return (
        403 if platform == "web" else 401,
        {"code": "hmac_mismatch", "message": HASH_REJECTION, "diagnosis": result.diagnosis.as_dict()},
    )
