"""Verify a credential the way Intercom does, and explain a failure. Pure: every secret it may
compare against comes in a ``VerificationContext``; diagnoses never name a secret, and every
comparison is constant-time."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from intercom_identity.constants import label as _label
from intercom_identity.credentials.hashing import IdentifiedBy, digests_match, select_identifier, sign
from intercom_identity.credentials.jwt_tokens import ALGORITHM, signed_with, unverified_parts

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise

# Reason code -> how to fix it, for people (the admin's check page; the README's table says the
# same). `Backquoted` spans are commands and field names: a page sets them as code.
REASONS: dict[str, StrPromise] = {
    "unidentified": _(
        "Enter the `user_id` or the `email` the app sends: identity verification only applies to identified users."
    ),
    "missing_credential": _("Send the `user_hash` (or `intercom_user_jwt`) the backend hands out with the identity."),
    "email_hash_with_user_id": _("Hash the `user_id`: Intercom verifies the `user_id` whenever one is sent."),
    "uppercase_hex": _("Send the hash as lowercase hex, as the backend returns it."),
    "identifier_whitespace": _("Hash exactly the identifier that is sent: do not trim or pad it."),
    "secret_whitespace": _(
        "Strip the newline or spaces around the secret where it is loaded, or use the backend's hash."
    ),
    "previous_secret": _("Deploy the current secret: this one was replaced."),
    "wrong_platform_secret": _("Use this platform's own secret: iOS, Android and web secrets differ."),
    "wrong_environment_secret": _(
        "Use the secret of the workspace the app talks to: development and production differ."
    ),
    "app_id_as_secret": _("Use the identity verification secret, not the app ID."),
    "hash_malformed": _("Send the `user_hash` exactly as the backend returns it: 64 lowercase hex characters."),
    "mismatch": _("Check which secret and identifier the app uses; compare with `manage.py intercom_identity hash`."),
    "jwt_malformed": _("Send the token exactly as the backend returned it: three base64url parts joined by dots."),
    "jwt_alg_not_hs256": _("Sign with HS256; `none` and asymmetric algorithms are refused."),
    "jwt_bad_signature": _("Sign with this platform's secret, or fetch a new token from the backend."),
    "jwt_wrong_platform_secret": _("Sign with this platform's own secret."),
    "jwt_wrong_environment_secret": _("Sign with the secret of the workspace the app talks to."),
    "jwt_previous_secret": _("Sign with the current secret: this one was replaced."),
    "jwt_expired": _("Fetch a fresh token from the backend's user-hash endpoint (it doubles as the refresh endpoint)."),
    "jwt_not_yet_valid": _("Set `nbf` no later than the time of signing, and check the signing server's clock."),
    "jwt_missing_user_id": _("Put the user's `user_id` in the token's claims."),
    "jwt_user_id_mismatch": _("Send the same `user_id` as the one inside the token."),
}


# Seconds of clock difference tolerated between the server that signed a token and this one,
# for ``exp`` and ``nbf`` alike (RFC 7519, 4.1.4 and 4.1.5: "some small leeway").
CLOCK_LEEWAY = 10


@dataclass(frozen=True)
class Diagnosis:
    reason: str
    detail: str

    @property
    def fix(self) -> str:
        """How to fix it, for people: the admin's *Fix* line, as plain text (no `code` marks)."""
        return str(REASONS.get(self.reason, "")).replace("`", "")

    def as_dict(self) -> dict[str, str]:
        return {"reason": self.reason, "detail": self.detail, "fix": self.fix}


@dataclass(frozen=True)
class Verification:
    verified: bool
    identified_by: str | None = None
    diagnosis: Diagnosis | None = None
    credential: str = "user_hash"  # which credential was checked: "user_hash" or "jwt"


@dataclass(frozen=True)
class OtherSecret:
    """A secret of another (environment, platform) pair, to recognise a mix-up."""

    environment: str
    platform: str
    secret: str = field(repr=False)


@dataclass(frozen=True)
class VerificationContext:
    """Everything a verification compares against. Secrets are left out of ``repr``."""

    environment: str
    platform: str
    secret: str = field(repr=False)
    previous_secret: str | None = field(default=None, repr=False)
    others: tuple[OtherSecret, ...] = field(default=(), repr=False)
    app_ids: tuple[str, ...] = ()


def _fail(reason: str, detail: str, *, identified_by: str | None = None, credential: str = "user_hash") -> Verification:
    return Verification(False, identified_by, Diagnosis(reason, detail), credential)


def verify_credential(
    context: VerificationContext,
    *,
    user_id: str | None = None,
    email: str | None = None,
    user_hash: str | None = None,
    token: str | None = None,
    now: float | None = None,
) -> Verification:
    """Check what an app sent. A JWT, when sent, is checked instead of the hash (Intercom prefers it)."""
    unidentified = check_identified(user_id=user_id, email=email, token=token)
    if unidentified is not None:
        return unidentified
    if token:
        return _verify_jwt(context, token, user_id=user_id, now=time.time() if now is None else now)
    selected = select_identifier(user_id=user_id, email=email)
    assert selected is not None  # noqa: S101 - check_identified made sure
    by, identifier = selected
    if not user_hash:
        return _fail(
            "missing_credential",
            gettext("A user identified by %(by)s was sent without a user_hash or intercom_user_jwt.")
            % {"by": by.value},
            identified_by=by.value,
        )
    return _verify_hash(context, by, identifier, email, user_hash)


def check_identified(*, user_id: str | None, email: str | None, token: str | None) -> Verification | None:
    """The ``unidentified`` result when nothing identifies the user (no secret needed), else None."""
    if token or select_identifier(user_id=user_id, email=email) is not None:
        return None
    return _fail(
        "unidentified", gettext("Neither a user_id nor an email was sent: identity verification does not apply.")
    )


@sensitive_variables()
def _verify_hash(
    context: VerificationContext, by: IdentifiedBy, identifier: str, email: str | None, user_hash: str
) -> Verification:
    malformed = hash_shape_problem(user_hash)
    if malformed is not None:
        return _fail("hash_malformed", malformed, identified_by=by.value)
    expected = sign(context.secret, identifier)
    # The web messenger accepts either case; the mobile SDKs compare lowercase hex.
    received = user_hash.lower() if context.platform == "web" else user_hash
    if digests_match(expected, received):
        return Verification(True, by.value)
    diagnosis = _diagnose_hash(context, by, identifier, email, user_hash)
    return Verification(False, by.value, diagnosis)


_HEX_DIGEST = re.compile(r"[0-9a-fA-F]{64}\Z")
_LOOKS_LIKE_JWT = re.compile(r"eyJ[\w-]*\.[\w-]*\.[\w-]*\Z")


def hash_shape_problem(user_hash: str) -> str | None:
    """Why ``user_hash`` cannot be a user hash at all, by its shape (it is never repeated), or None.

    An HMAC-SHA256 in hex is 64 characters 0-9/a-f: anything else is a paste or encoding mistake
    that no secret explains, so "mismatch" would send people hunting for the wrong secret.
    """
    if _HEX_DIGEST.match(user_hash):
        return None
    length = len(user_hash)
    if _LOOKS_LIKE_JWT.match(user_hash):
        return gettext("This is a JWT, not a user hash: send it as intercom_user_jwt (the token field).")
    not_hex = sum(1 for char in user_hash if char not in "0123456789abcdefABCDEF")
    if length == 44 and user_hash.endswith("="):
        shape = gettext("it looks like base64; send the digest in hex")
    elif not_hex:
        shape = gettext("%(count)d of its characters are not hex digits") % {"count": not_hex}
    else:
        shape = gettext("it is hex but not 64 characters long (truncated, or another digest than SHA-256)")
    return gettext(
        "A user hash is 64 hex characters (HMAC-SHA256); this one has %(length)d characters and %(shape)s."
    ) % {"length": length, "shape": shape}


def jwt_shape_problem(token: str) -> str:
    """Why ``token`` is not a compact JWS, by its shape (never repeating it)."""
    if _HEX_DIGEST.match(token):
        return gettext("This is a user hash (64 hex characters), not a JWT: send it as user_hash.")
    parts = token.split(".")
    if len(parts) != 3:
        return gettext(
            "A JWT is three base64url parts joined by dots (header.payload.signature); this one has %(count)d."
        ) % {"count": len(parts)}
    return gettext(
        "The token has three parts, but its header or payload is not base64url-encoded JSON (header.payload.signature)."
    )


def _any_match(received: str, candidates: Iterable[str]) -> bool:
    """Constant-time comparison with each candidate; checks them all so timing says nothing."""
    matched = False
    for candidate in candidates:
        matched |= digests_match(candidate, received)
    return matched


def _whitespace_variants(value: str) -> list[str]:
    """``value`` as a careless copy might have it: padded with or stripped of whitespace."""
    variants = {value.strip(), value + "\n", value + "\r\n", value + " ", " " + value, value + "\t"}
    variants.discard(value)
    return sorted(variants)


@sensitive_variables()
def _diagnose_hash(
    context: VerificationContext, by: IdentifiedBy, identifier: str, email: str | None, user_hash: str
) -> Diagnosis:
    received = user_hash.lower()
    secret, platform, env = context.secret, _label(context.platform), context.environment
    if user_hash != received and _any_match(received, [sign(secret, identifier)]):
        return Diagnosis(
            "uppercase_hex",
            gettext("The hash is right but in uppercase; %(platform)s needs lowercase hex.") % {"platform": platform},
        )
    if by is IdentifiedBy.USER_ID and email and _any_match(received, [sign(secret, email)]):
        return Diagnosis(
            "email_hash_with_user_id",
            gettext("The hash is of the email, but a user_id was sent: Intercom then verifies the user_id."),
        )
    if _any_match(received, [sign(secret, variant) for variant in _whitespace_variants(identifier)]):
        return Diagnosis(
            "identifier_whitespace",
            gettext("The hash is of the %(by)s with whitespace added or removed around it; hash it exactly as sent.")
            % {"by": by.value},
        )
    if _any_match(received, [sign(variant, identifier) for variant in _whitespace_variants(secret)]):
        return Diagnosis(
            "secret_whitespace",
            gettext("The hash was made with the %(platform)s secret plus surrounding whitespace or a newline.")
            % {"platform": platform},
        )
    for other in context.others:
        if _any_match(received, [sign(other.secret, identifier)]):
            return _other_secret_diagnosis(context, other, prefix="")
    if context.previous_secret and _any_match(received, [sign(context.previous_secret, identifier)]):
        return Diagnosis(
            "previous_secret",
            gettext("The hash was made with the %(platform)s secret that has since been replaced.")
            % {"platform": platform},
        )
    if _any_match(received, [sign(app_id, identifier) for app_id in context.app_ids if app_id]):
        return Diagnosis(
            "app_id_as_secret", gettext("The hash was made with the Intercom app ID as the key instead of the secret.")
        )
    return Diagnosis(
        "mismatch",
        gettext("The hash matches neither the %(platform)s secret of the %(env)s environment nor any known mistake.")
        % {"platform": platform, "env": env},
    )


def _other_secret_diagnosis(context: VerificationContext, other: OtherSecret, *, prefix: str) -> Diagnosis:
    names = {
        "other": _label(other.platform),
        "platform": _label(context.platform),
        "other_env": other.environment,
        "env": context.environment,
    }
    if other.environment == context.environment:
        detail = (
            gettext("The hash was made with the %(other)s secret; %(platform)s has its own secret.")
            if not prefix
            else gettext("The token was signed with the %(other)s secret; %(platform)s has its own secret.")
        )
        return Diagnosis(f"{prefix}wrong_platform_secret", detail % names)
    detail = (
        gettext(
            "The hash was made with the %(other_env)s environment's %(other)s secret; this is the %(env)s environment."
        )
        if not prefix
        else gettext(
            "The token was signed with the %(other_env)s environment's %(other)s secret; "
            "this is the %(env)s environment."
        )
    )
    return Diagnosis(f"{prefix}wrong_environment_secret", detail % names)


def _verify_jwt(context: VerificationContext, token: str, *, user_id: str | None, now: float) -> Verification:
    import jwt  # here, not with the module: see jwt_tokens

    def fail(reason: str, detail: str) -> Verification:
        return _fail(reason, detail, credential="jwt", identified_by="user_id" if user_id else None)

    try:
        header, claims = unverified_parts(token)
    except (jwt.InvalidTokenError, UnicodeError, ValueError, TypeError):
        return fail("jwt_malformed", jwt_shape_problem(token))
    algorithm = header.get("alg")
    if algorithm != ALGORITHM:
        return fail(
            "jwt_alg_not_hs256",
            gettext(
                "The token's algorithm is %(alg)r; only HS256 is accepted "
                "('none' and asymmetric algorithms are refused)."
            )
            % {"alg": str(algorithm)[:20]},
        )
    if not signed_with(token, context.secret):
        return _diagnose_signature(context, token, user_id)
    exp, nbf = claims.get("exp"), claims.get("nbf")
    for name, value in (("exp", exp), ("nbf", nbf)):
        if value is not None and not _is_timestamp(value):
            return fail(
                "jwt_malformed",
                gettext("The token's %(claim)s claim is not a number of seconds since 1970.") % {"claim": name},
            )
    # RFC 7519: valid from nbf (inclusive) until exp (exclusive), give or take CLOCK_LEEWAY.
    if exp is not None and exp + CLOCK_LEEWAY <= now:
        return fail("jwt_expired", gettext("The token expired %(seconds)d seconds ago.") % {"seconds": int(now - exp)})
    if nbf is not None and nbf - CLOCK_LEEWAY > now:
        return fail(
            "jwt_not_yet_valid",
            gettext("The token is not valid for another %(seconds)d seconds (its nbf).") % {"seconds": int(nbf - now)},
        )
    claimed = claims.get("user_id")
    if claimed is None or claimed == "":
        return fail("jwt_missing_user_id", gettext("The token has no user_id claim; Intercom requires one."))
    if not isinstance(claimed, str):
        return fail(
            "jwt_malformed",
            gettext("The token's user_id claim is a %(type)s; it must be a string.") % {"type": type(claimed).__name__},
        )
    if user_id not in (None, "") and str(user_id) != claimed:
        return fail("jwt_user_id_mismatch", gettext("The user_id sent differs from the user_id inside the token."))
    return Verification(True, "user_id", credential="jwt")


def _is_timestamp(value: object) -> bool:
    """A finite number of seconds in a sane range (Python's JSON accepts NaN and 10**400)."""
    # The range test also refuses NaN and infinities, which compare False with everything.
    return isinstance(value, (int, float)) and not isinstance(value, bool) and -(2**53) < value < 2**53


@sensitive_variables()
def _diagnose_signature(context: VerificationContext, token: str, user_id: str | None) -> Verification:
    identified_by = "user_id" if user_id else None
    platform = _label(context.platform)
    other = next((o for o in context.others if signed_with(token, o.secret)), None)
    if other is not None:
        diagnosis = _other_secret_diagnosis(context, other, prefix="jwt_")
    elif context.previous_secret and signed_with(token, context.previous_secret):
        diagnosis = Diagnosis(
            "jwt_previous_secret",
            gettext("The token was signed with the %(platform)s secret that has since been replaced.")
            % {"platform": platform},
        )
    else:
        diagnosis = Diagnosis(
            "jwt_bad_signature",
            gettext(
                "The signature matches neither the %(platform)s secret of the %(env)s environment "
                "nor any other known secret."
            )
            % {"platform": platform, "env": context.environment},
        )
    return Verification(False, identified_by, diagnosis, "jwt")
