"""Pure rules of Intercom identity verification: which identifier is signed and how.

Nothing here touches the database or settings (Django only lends ``sensitive_variables``,
which keeps the secret out of error reports), so the rules can be tested and reasoned about
on their own. Everything else in the app calls into this module rather
than re-implementing a piece of it.
"""

from __future__ import annotations

import hashlib
import hmac
from enum import Enum

from django.views.decorators.debug import sensitive_variables

__all__ = [
    "IdentifiedBy",
    "compute_user_hash",
    "digests_match",
    "fingerprint",
    "select_identifier",
    "sign",
]


class IdentifiedBy(str, Enum):
    """Which user attribute Intercom identifies (and verifies) the user by."""

    USER_ID = "user_id"
    EMAIL = "email"


def _given(value: object | None) -> bool:
    """Only None and "" mean "not given": ``0`` is a real id."""
    return value is not None and value != ""


def _signed_value(user_id: object | None, email: str | None) -> str | None:
    """The rule itself: the user_id when given, else the email when given, else nothing."""
    if _given(user_id):
        return user_id if type(user_id) is str else str(user_id)
    return email if _given(email) else None


def select_identifier(*, user_id: object | None = None, email: str | None = None) -> tuple[IdentifiedBy, str] | None:
    """Return the identifier Intercom expects the hash of, or None for a visitor.

    Intercom verifies the ``user_id`` whenever one is sent; the email is only used when
    there is no user_id (a hash of the email is rejected when a user_id is also sent).
    ``0`` is a real id, so only ``None`` and ``""`` count as "no user_id". The value is
    used exactly as given: stripping or case-folding would sign something the app does
    not send.
    """
    value = _signed_value(user_id, email)
    if value is None:
        return None
    return (IdentifiedBy.USER_ID if _given(user_id) else IdentifiedBy.EMAIL), value


_hmac_new, _sha256 = hmac.new, hashlib.sha256  # bound once: compute_user_hash is the hot path


def _hmac_hex(secret: str | bytes, message: str) -> str:
    key = secret.encode() if isinstance(secret, str) else secret  # str.encode() is UTF-8
    return _hmac_new(key, message.encode(), _sha256).hexdigest()


@sensitive_variables()
def sign(secret: str | bytes, message: str) -> str:
    """Lowercase hex HMAC-SHA256 of the UTF-8 ``message``: what ``openssl dgst -sha256 -hmac`` prints."""
    return _hmac_hex(secret, message)


def compute_user_hash(secret: str | bytes, *, user_id: object | None = None, email: str | None = None) -> str | None:
    """The ``user_hash`` Intercom expects for this user, or None when there is no identifier.

    The hot path, so it is not wrapped in ``sensitive_variables`` (the wrapper alone costs a
    third of the HMAC): on an exception (an id whose ``str()`` fails, an email with a lone
    surrogate) it drops the secret from its frame before the exception leaves, so error
    reports cannot show it. Mark your own function that holds the secret, as the app does.
    """
    try:
        message = _signed_value(user_id, email)  # what select_identifier selects, without its tuple
        if message is None:
            return None
        key = secret.encode() if isinstance(secret, str) else secret  # _hmac_hex, inlined: a call is 5%
        return _hmac_new(key, message.encode(), _sha256).hexdigest()
    except BaseException:
        secret = key = b""  # a traceback keeps this frame: let it hold nothing secret (zero cost until here)
        raise


def digests_match(expected: str, received: str) -> bool:
    """Compare two hex digests in constant time (``==`` would leak how many leading characters match)."""
    return hmac.compare_digest(expected.encode("utf-8"), received.encode("utf-8"))


@sensitive_variables()
def fingerprint(secret: str) -> str:
    """First 8 hex characters of SHA-256 of the secret: enough to tell secrets apart, useless to an attacker."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:8]
