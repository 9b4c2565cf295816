"""Messenger Security JWTs: HS256 tokens signed with a platform's secret, made with PyJWT.

Pure functions over plain values (no database, no settings), like ``hashing``.
"""

from __future__ import annotations

import binascii
import time
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from django.views.decorators.debug import sensitive_variables

if TYPE_CHECKING:
    from jwt.algorithms import HMACAlgorithm

# PyJWT is imported where a token is made or read, not with this module: importing it imports
# cryptography's asymmetric algorithms and X.509 too (about 2 MiB a process), which a site
# whose platforms all use the hash never needs (docs/performance.md, "A worker's memory").

ALGORITHM = "HS256"


@cache
def _hs256() -> HMACAlgorithm:
    from jwt.algorithms import HMACAlgorithm

    return HMACAlgorithm(HMACAlgorithm.SHA256)


@sensitive_variables()
def make_user_jwt(
    secret: str, *, user_id: str, claims: Mapping[str, Any] | None = None, expires_in: int, now: float | None = None
) -> tuple[str, int]:
    """A compact JWS carrying ``user_id``, ``exp`` and ``claims``; returns ``(token, exp)``.

    Claims whose value is None are left out: Intercom treats a present claim as a value.
    """
    exp = int(now if now is not None else time.time()) + expires_in
    payload = {key: value for key, value in (claims or {}).items() if value is not None}
    payload.update(user_id=user_id, exp=exp)
    import jwt

    return jwt.encode(payload, secret, algorithm=ALGORITHM), exp


def unverified_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(header, claims)`` without checking the signature; ``jwt.DecodeError`` when malformed."""
    import jwt

    if token.count(".") != 2:
        raise jwt.DecodeError("A compact JWS has three dot-separated parts.")
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    if not isinstance(claims, dict):
        raise jwt.DecodeError("The claims are not a JSON object.")
    return header, claims


@sensitive_variables()
def signed_with(token: str, secret: str) -> bool:
    """Whether ``token``'s HS256 signature was made with ``secret`` (constant-time comparison).

    Uses PyJWT's HMAC primitive directly so several candidate keys can be tried (for
    diagnosis) without PyJWT's per-call key-length warnings.
    """
    from jwt.utils import base64url_decode

    signing_input, _, signature = token.rpartition(".")
    try:
        raw_signature = base64url_decode(signature)
    except (binascii.Error, ValueError):
        return False
    hs256 = _hs256()
    key = hs256.prepare_key(secret)
    return bool(hs256.verify(signing_input.encode("ascii", "replace"), key, raw_signature))
