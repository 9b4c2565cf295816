"""A JWT maker and checker written from RFC 7515 with the standard library only, so tests
check the app's tokens (made with PyJWT) independently of the code that made them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make(claims: dict[str, Any], key: str, *, alg: str = "HS256", header: dict[str, Any] | None = None) -> str:
    head = b64url(json.dumps(header or {"alg": alg, "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims).encode())
    if alg == "none":
        return f"{head}.{body}."
    signature = hmac.new(key.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(signature)}"


def decode(token: str, key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(header, claims)`` after checking the HS256 signature with ``key``; AssertionError otherwise."""
    head, body, signature = token.split(".")
    expected = hmac.new(key.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    assert hmac.compare_digest(expected, unb64url(signature)), "signature does not match the key"
    return json.loads(unb64url(head)), json.loads(unb64url(body))
