"""Property-based fuzzing of every endpoint through the Django test client.

Arbitrary methods, query strings (including invalid UTF-8), headers and bodies (JSON of any
shape, non-JSON, invalid UTF-8, very large): never a 5xx, always a JSON body, and every error
carries a documented code. ``make test`` runs a quick pass; ``make fuzz`` runs
``FUZZ_EXAMPLES`` (10,000) examples per endpoint and prints how many ran.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
from django.test import Client, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intercom_identity.models import RolloutPhase
from tests.helpers import configure

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
DOCUMENTED_ERRORS = {
    "method_not_allowed",
    "not_authenticated",
    "missing_platform",
    "unknown_platform",
    "secret_unavailable",
    "secret_missing",
    "environment_not_configured",
    "database_unavailable",
    "rate_limited",
    "invalid_json",
    "invalid_body",
    "invalid_field",
    "body_too_large",
    "not_found",
    "invalid_credentials",
    "intercom_unavailable",
    "misconfigured",
    "bad_request",
}
# The app's endpoints answer at both spellings of their URL (with and without the slash).
# /api/intercom/identity/: the JSON view's DRF twin (intercom_identity.contrib.rest_framework), served
# by tests/contrib/urls.py (the demo's URLs plus the login libraries').
ENDPOINTS = [
    "/intercom/user-hash/",
    "/intercom/verify/",
    "/api/login/",
    "/intercom/user-hash",
    "/intercom/verify",
    "/api/intercom/identity/",
]
counts: dict[str, int] = {}

# Every text field may hold lone surrogates: JSON carries them as "\ud800" escapes, and they are
# what Python cannot encode as UTF-8 (a database driver, a hasher, the error page). Drawn on their
# own too, since among all code points a surrogate would rarely come up.
surrogates = st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3)
text = st.one_of(
    st.text(max_size=40),
    surrogates,
    st.tuples(st.text(max_size=10), surrogates, st.text(max_size=10)).map("".join),
)
methods = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
FIELD_NAMES = ["platform", "user_id", "email", "user_hash", "intercom_user_jwt", "username", "password", "intercom"]
fields = st.sampled_from(FIELD_NAMES)
# Values that get a body past the first checks (a known platform, the test user's login), so a
# surrogate in one text field reaches the code behind them rather than an early 400.
plausible = st.sampled_from(["ios", "android", "web", "42", "jane", "pw-jane-123", "jane+beta@example.com"])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=12,
)
json_objects = st.dictionaries(
    fields | text, json_values | st.sampled_from(["ios", "android", "web", "42"]), max_size=6
)
# Every text field of every endpoint at once, each present or not, each plausible or any text:
# arbitrary dictionaries rarely hold all three of a login's fields as strings.
shaped_objects = st.fixed_dictionaries(
    {}, optional={name: plausible | text for name in FIELD_NAMES if name != "intercom"} | {"intercom": st.booleans()}
)
bodies = st.one_of(
    json_objects.map(lambda value: json.dumps(value).encode()),
    shaped_objects.map(lambda value: json.dumps(value).encode()),
    # The same objects with their text raw: a surrogate is then bytes that are not UTF-8.
    json_objects.map(lambda value: json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=200),  # mostly invalid UTF-8 and not JSON
    st.integers(min_value=1, max_value=3).map(lambda n: b"[" * (10_000 * n)),  # deep nesting
    st.just(b'{"platform": "ios", "user_id": "' + b"9" * 3_000_000 + b'"}'),  # over the upload limit
)


def quote_raw(value: str) -> str:
    """Percent-encoded UTF-8, a lone surrogate included (as the bytes Python would write for it)."""
    return quote_from_bytes(value.encode("utf-8", "surrogatepass"))


queries = st.one_of(
    st.dictionaries(st.sampled_from(["platform", "x", "platform[]"]) | text, text, max_size=3).map(
        lambda params: "&".join(f"{quote_raw(k)}={quote_raw(v)}" for k, v in params.items())
    ),
    st.binary(max_size=40).map(lambda raw: "platform=" + quote_from_bytes(raw)),
)
headers = st.dictionaries(
    st.sampled_from(["X-App-Version", "Authorization", "Content-Type", "Accept"]),
    st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=80),
    max_size=3,
)


@pytest.fixture
def fuzz_client(db: None, user: Any) -> Client:
    for platform in ("ios", "android", "web"):
        configure("development", platform, RolloutPhase.SENDING)
    client = Client()
    client.force_login(user)
    return client


def check(response: Any, endpoint: str) -> None:
    assert response.status_code < 500, (endpoint, response.status_code, response.content[:300])
    if response.request["REQUEST_METHOD"] == "HEAD":
        return
    assert response["Content-Type"] == "application/json", (endpoint, response.status_code, response.content[:300])
    body = json.loads(response.content)
    if response.status_code < 400:
        return
    if body.get("type") == "error.list":  # an emulator JWT rejection, in Intercom's error list
        assert response.status_code == 400, body
        assert [error["code"] for error in body["errors"]] == ["jwt_invalid"], body
    elif "code" not in body:  # emulator hash rejections use Intercom's {"code", "message"}
        assert body["error"] in DOCUMENTED_ERRORS, body
        assert isinstance(body["detail"], str)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.urls("tests.contrib.urls")
@override_settings(INTERCOM_IDENTITY_HASH_RATE_LIMIT=0, INTERCOM_IDENTITY_VERIFY_RATE_LIMIT=0)
def test_endpoint_never_fails(fuzz_client: Client, endpoint: str) -> None:
    counts[endpoint] = 0

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(method=methods, query=queries, body=bodies, extra_headers=headers, anonymous=st.booleans())
    def run(method: str, query: str, body: bytes, extra_headers: dict[str, str], anonymous: bool) -> None:
        client = Client() if anonymous else fuzz_client
        content_type = extra_headers.pop("Content-Type", "application/json")
        response = client.generic(
            method, f"{endpoint}?{query}", data=body, content_type=content_type, headers=extra_headers
        )
        check(response, endpoint)
        counts[endpoint] += 1

    run()
    print(f"fuzz: {counts[endpoint]} examples against {endpoint}")
    assert counts[endpoint] >= EXAMPLES * 0.9  # hypothesis may stop a little early, never far
