"""Each failure built on purpose, and its reason code, through the emulator endpoint, the
``verify`` command and the admin's "Check a credential" page (they must all agree)."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, override_settings
from django.urls import reverse

from intercom_identity.admin.display import with_code
from intercom_identity.credentials.hashing import sign
from intercom_identity.credentials.verification import REASONS, VerificationContext, verify_credential
from intercom_identity.models import Environment, RolloutPhase
from intercom_identity.rollout.changes import change_phase, store_secret
from intercom_identity.selectors import get_platform_config
from tests import jwt_independent
from tests.helpers import SECRETS, configure

pytestmark = pytest.mark.django_db

URL = "/intercom/verify/"
OLD_IOS = "old-dev-ios-7766554433221100ffeeddccbbaa99"
DEV_IOS = SECRETS[("development", "ios")]
UID = "42"
EMAIL = "jane@example.com"


@pytest.fixture
def setup(db: None) -> None:
    configure("development", "ios", secret=OLD_IOS)
    for (env, platform), secret in SECRETS.items():
        configure(env, platform, RolloutPhase.SENDING if env == "development" else None, secret=secret)
    Environment.objects.filter(slug="development").update(app_id="devapp1")
    Environment.objects.filter(slug="production").update(app_id="prodapp1")


def exp(offset: int = 600) -> int:
    return int(time.time()) + offset


# (id, platform, request fields, expected reason or "valid")
CASES: list[tuple[str, str, Callable[[], dict[str, Any]], str]] = [
    ("valid-user-id", "ios", lambda: {"user_id": UID, "email": EMAIL, "user_hash": sign(DEV_IOS, UID)}, "valid"),
    ("valid-email", "ios", lambda: {"email": EMAIL, "user_hash": sign(DEV_IOS, EMAIL)}, "valid"),
    ("valid-zero", "ios", lambda: {"user_id": "0", "user_hash": sign(DEV_IOS, "0")}, "valid"),
    (
        "web-uppercase-ok",
        "web",
        lambda: {"user_id": UID, "user_hash": sign(SECRETS[("development", "web")], UID).upper()},
        "valid",
    ),
    (
        "email-hash",
        "ios",
        lambda: {"user_id": UID, "email": EMAIL, "user_hash": sign(DEV_IOS, EMAIL)},
        "email_hash_with_user_id",
    ),
    (
        "android-secret",
        "ios",
        lambda: {"user_id": UID, "user_hash": sign(SECRETS[("development", "android")], UID)},
        "wrong_platform_secret",
    ),
    (
        "prod-secret",
        "ios",
        lambda: {"user_id": UID, "user_hash": sign(SECRETS[("production", "ios")], UID)},
        "wrong_environment_secret",
    ),
    ("app-id", "ios", lambda: {"user_id": UID, "user_hash": sign("devapp1", UID)}, "app_id_as_secret"),
    ("uppercase", "ios", lambda: {"user_id": UID, "user_hash": sign(DEV_IOS, UID).upper()}, "uppercase_hex"),
    ("secret-newline", "ios", lambda: {"user_id": UID, "user_hash": sign(DEV_IOS + "\n", UID)}, "secret_whitespace"),
    (
        "secret-space",
        "android",
        lambda: {"user_id": UID, "user_hash": sign(" " + SECRETS[("development", "android")], UID)},
        "secret_whitespace",
    ),
    ("id-trimmed", "ios", lambda: {"user_id": " 42", "user_hash": sign(DEV_IOS, "42")}, "identifier_whitespace"),
    ("id-padded", "ios", lambda: {"user_id": UID, "user_hash": sign(DEV_IOS, UID + "\n")}, "identifier_whitespace"),
    ("previous", "ios", lambda: {"user_id": UID, "user_hash": sign(OLD_IOS, UID)}, "previous_secret"),
    ("missing", "ios", lambda: {"user_id": UID}, "missing_credential"),
    ("unidentified", "ios", lambda: {"user_hash": "ab" * 32}, "unidentified"),
    ("mismatch", "ios", lambda: {"user_id": UID, "user_hash": "0" * 64}, "mismatch"),
    ("mismatch-unknown-key", "ios", lambda: {"user_id": UID, "user_hash": "ab" * 32}, "mismatch"),
    ("malformed-garbage", "ios", lambda: {"user_id": UID, "user_hash": "not hex at all ünïcode"}, "hash_malformed"),
    ("malformed-abc", "ios", lambda: {"user_id": UID, "user_hash": "abc"}, "hash_malformed"),
    (
        "malformed-jwt-as-hash",
        "ios",
        lambda: {"user_id": UID, "user_hash": "eyJhbGciOi.eyJ1c2VyX2lk.c2ln"},
        "hash_malformed",
    ),
    (
        "jwt-valid",
        "ios",
        lambda: {"intercom_user_jwt": jwt_independent.make({"user_id": UID, "exp": exp()}, DEV_IOS)},
        "valid",
    ),
    (
        "jwt-valid-same-id",
        "ios",
        lambda: {"user_id": UID, "intercom_user_jwt": jwt_independent.make({"user_id": UID}, DEV_IOS)},
        "valid",
    ),
    (
        "jwt-expired",
        "ios",
        lambda: {"intercom_user_jwt": jwt_independent.make({"user_id": UID, "exp": exp(-30)}, DEV_IOS)},
        "jwt_expired",
    ),
    (
        "jwt-not-yet-valid",
        "ios",
        lambda: {"intercom_user_jwt": jwt_independent.make({"user_id": UID, "nbf": exp(600)}, DEV_IOS)},
        "jwt_not_yet_valid",
    ),
    (
        "jwt-bad-sig",
        "ios",
        lambda: {"intercom_user_jwt": jwt_independent.make({"user_id": UID, "exp": exp()}, "k" * 40)},
        "jwt_bad_signature",
    ),
    (
        "jwt-android",
        "ios",
        lambda: {"intercom_user_jwt": jwt_independent.make({"user_id": UID}, SECRETS[("development", "android")])},
        "jwt_wrong_platform_secret",
    ),
    (
        "jwt-prod",
        "ios",
        lambda: {"intercom_user_jwt": jwt_independent.make({"user_id": UID}, SECRETS[("production", "ios")])},
        "jwt_wrong_environment_secret",
    ),
    (
        "jwt-previous",
        "ios",
        lambda: {"intercom_user_jwt": jwt_independent.make({"user_id": UID}, OLD_IOS)},
        "jwt_previous_secret",
    ),
    (
        "jwt-none",
        "ios",
        lambda: {"intercom_user_jwt": jwt_independent.make({"user_id": UID}, "", alg="none")},
        "jwt_alg_not_hs256",
    ),
    (
        "jwt-rs256",
        "ios",
        lambda: {"intercom_user_jwt": jwt_independent.make({"user_id": UID}, DEV_IOS, header={"alg": "RS256"})},
        "jwt_alg_not_hs256",
    ),
    (
        "jwt-hs512",
        "ios",
        lambda: {"intercom_user_jwt": jwt_independent.make({"user_id": UID}, DEV_IOS, header={"alg": "HS512"})},
        "jwt_alg_not_hs256",
    ),
    (
        "jwt-no-user-id",
        "ios",
        lambda: {"intercom_user_jwt": jwt_independent.make({"email": EMAIL, "exp": exp()}, DEV_IOS)},
        "jwt_missing_user_id",
    ),
    (
        "jwt-other-user",
        "ios",
        lambda: {"user_id": "43", "intercom_user_jwt": jwt_independent.make({"user_id": UID}, DEV_IOS)},
        "jwt_user_id_mismatch",
    ),
    ("jwt-garbage", "ios", lambda: {"intercom_user_jwt": "not-a-token"}, "jwt_malformed"),
    ("jwt-bad-base64", "ios", lambda: {"intercom_user_jwt": "e30.%%%.abc"}, "jwt_malformed"),
    (
        "jwt-bad-exp",
        "ios",
        lambda: {"intercom_user_jwt": jwt_independent.make({"user_id": UID, "exp": "soon"}, DEV_IOS)},
        "jwt_malformed",
    ),
]
IDS = [case[0] for case in CASES]


def reason_of(body: dict[str, Any]) -> str:
    return "valid" if body.get("verified") is True else body["diagnosis"]["reason"]


@pytest.mark.parametrize(("case", "platform", "fields", "expected"), CASES, ids=IDS)
def test_endpoint_while_sending(
    setup: None, client: Client, case: str, platform: str, fields: Callable[[], dict[str, Any]], expected: str
) -> None:
    response = client.post(URL, {"platform": platform, **fields()}, content_type="application/json")
    assert response.status_code == 200
    body = response.json()
    assert reason_of(body) == expected
    if expected not in ("valid", "unidentified"):
        assert body["verified"] is False
        assert body["enforced"] is False
        assert body["diagnosis"]["detail"]


@pytest.mark.parametrize(("case", "platform", "fields", "expected"), CASES, ids=IDS)
def test_endpoint_while_enforced(
    setup: None, client: Client, case: str, platform: str, fields: Callable[[], dict[str, Any]], expected: str
) -> None:
    change_phase(get_platform_config(platform, "development"), RolloutPhase.ENFORCED, force=True, reason="test")
    response = client.post(URL, {"platform": platform, **fields()}, content_type="application/json")
    body = response.json()
    if expected == "valid":
        assert response.status_code == 200
        assert body["verified"] is True
        assert body["identified_by"] in ("user_id", "email")
    elif expected == "unidentified":
        assert response.status_code == 200
        assert body == {"verified": False, "diagnosis": body["diagnosis"]}
    elif "intercom_user_jwt" in fields():  # Intercom: 400 for a request without a valid JWT, as an error list
        assert response.status_code == 400
        assert body["type"] == "error.list"
        assert [error["code"] for error in body["errors"]] == ["jwt_invalid"]
        assert body["diagnosis"]["reason"] == expected
    else:
        assert response.status_code == (403 if platform == "web" else 401)
        assert body["message"] == "Failed Identity Verification check"
        assert body["code"] == "hmac_mismatch"
        assert body["diagnosis"]["reason"] == expected


@pytest.mark.parametrize(("case", "platform", "fields", "expected"), CASES, ids=IDS)
def test_command(setup: None, case: str, platform: str, fields: Callable[[], dict[str, Any]], expected: str) -> None:
    data = fields()
    args = ["verify", "development", platform]
    for option, key in (
        ("--user-id", "user_id"),
        ("--email", "email"),
        ("--hash", "user_hash"),
        ("--jwt", "intercom_user_jwt"),
    ):
        if key in data:
            args += [option, data[key]]
    if "user_hash" not in data and "intercom_user_jwt" not in data:
        with pytest.raises(CommandError):  # the command insists on --hash or --jwt
            call_command("intercom_identity", *args, stdout=io.StringIO(), stderr=io.StringIO())
        return
    out = io.StringIO()
    if expected == "valid":
        call_command("intercom_identity", *args, stdout=out)
        assert out.getvalue().startswith("valid")
    else:
        with pytest.raises(CommandError) as excinfo:
            call_command("intercom_identity", *args, stdout=out)
        assert excinfo.value.returncode == 1
        assert out.getvalue().startswith(f"{expected}: ")


@pytest.mark.parametrize(("case", "platform", "fields", "expected"), CASES, ids=IDS)
def test_admin_check_page(
    setup: None, admin_client: Client, case: str, platform: str, fields: Callable[[], dict[str, Any]], expected: str
) -> None:
    form = {"environment": "development", "platform": platform, **fields()}
    response = admin_client.post(reverse("admin:intercom_identity_platformconfig_check"), form)
    assert response.status_code == 200
    html = response.content.decode()
    if "user_hash" not in form and "intercom_user_jwt" not in form and expected != "unidentified":
        assert "Paste the user_hash or the JWT" in html
        return
    assert f'data-reason="{expected}"' in html
    if expected != "valid":
        assert with_code(str(REASONS[expected])) in html  # the fix, its commands and fields as code


def test_every_reason_code_is_exercised() -> None:
    assert {case[3] for case in CASES} - {"valid"} == set(REASONS)


def test_diagnosis_names_the_other_platform_and_environment(setup: None, client: Client) -> None:
    android = client.post(URL, {"platform": "ios", **CASES[5][2]()}, content_type="application/json").json()
    assert "Android" in android["diagnosis"]["detail"]
    prod = client.post(URL, {"platform": "ios", **CASES[6][2]()}, content_type="application/json").json()
    assert "production" in prod["diagnosis"]["detail"]


def test_no_diagnosis_reveals_a_secret(setup: None, client: Client) -> None:
    for _case, platform, fields, _expected in CASES:
        text = client.post(URL, {"platform": platform, **fields()}, content_type="application/json").content.decode()
        for secret in [*SECRETS.values(), OLD_IOS]:
            for start in range(0, len(secret) - 8):
                assert secret[start : start + 8] not in text


def test_context_repr_hides_secrets() -> None:
    context = VerificationContext("development", "ios", secret=DEV_IOS, previous_secret=OLD_IOS)
    assert DEV_IOS not in repr(context)
    assert OLD_IOS not in repr(context)
    assert verify_credential(context, user_id=UID, user_hash=sign(DEV_IOS, UID)).verified


# --- the endpoint's own contract -------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{oops", "invalid_json"),
        (b"\xff", "invalid_json"),
        (b"[1]", "invalid_body"),
        (b"{}", "missing_platform"),
        (b'{"platform": 3}', "missing_platform"),
        (b'{"platform": "tv"}', "unknown_platform"),
        (b'{"platform": "ios", "user_hash": 5}', "invalid_field"),
        (b'{"platform": "ios", "user_id": true}', "invalid_field"),
        (b'{"platform": "ios", "email": ["a"]}', "invalid_field"),
        (json.dumps({"platform": "ios", "user_id": "x" * 20_000}).encode(), "invalid_field"),
    ],
)
def test_malformed_body_is_400(setup: None, client: Client, body: bytes, code: str) -> None:
    response = client.post(URL, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == code
    assert set(response.json()) == {"error", "detail"}


def test_integer_user_id_is_accepted(setup: None, client: Client) -> None:
    body = client.post(
        URL, {"platform": "ios", "user_id": 42, "user_hash": sign(DEV_IOS, "42")}, content_type="application/json"
    ).json()
    assert body == {"verified": True, "identified_by": "user_id"}


def test_csrf_exempt(setup: None) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        URL, {"platform": "ios", "user_id": UID, "user_hash": sign(DEV_IOS, UID)}, content_type="application/json"
    )
    assert response.status_code == 200


def test_get_is_405(setup: None, client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 405
    assert response["Allow"] == "POST"


@override_settings(INTERCOM_IDENTITY_VERIFY_RATE_LIMIT=3)
def test_rate_limited_per_client_address(setup: None, client: Client) -> None:
    body = {"platform": "ios", "user_id": UID}
    for _ in range(3):
        assert client.post(URL, body, content_type="application/json").status_code == 200
    limited = client.post(URL, body, content_type="application/json")
    assert limited.status_code == 429
    assert limited.json()["error"] == "rate_limited"
    assert 1 <= int(limited["Retry-After"]) <= 60
    other = client.post(URL, body, content_type="application/json", REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 200


@override_settings(INTERCOM_IDENTITY_VERIFY_RATE_LIMIT=0)
def test_rate_limit_can_be_turned_off(setup: None, client: Client) -> None:
    for _ in range(70):
        assert client.post(URL, {"platform": "ios"}, content_type="application/json").status_code == 200


@override_settings(INTERCOM_IDENTITY_ENVIRONMENT="production")
def test_absent_in_production(setup: None, client: Client) -> None:
    assert client.post(URL, {"platform": "ios"}, content_type="application/json").status_code == 404
    with override_settings(INTERCOM_IDENTITY_VERIFY_IN_PRODUCTION=True):
        response = client.post(
            URL,
            {"platform": "ios", "user_id": UID, "user_hash": sign(SECRETS[("production", "ios")], UID)},
            content_type="application/json",
        )
        assert response.json() == {"verified": True, "identified_by": "user_id"}


def test_missing_secret_is_503(client: Client, db: None) -> None:
    response = client.post(URL, {"platform": "ios", "user_id": UID, "user_hash": "ab"}, content_type="application/json")
    assert response.status_code == 503
    assert response.json()["error"] == "secret_missing"


def test_unidentified_needs_no_secret(client: Client, db: None) -> None:
    response = client.post(URL, {"platform": "ios"}, content_type="application/json")
    assert response.json()["diagnosis"]["reason"] == "unidentified"


def test_undecryptable_other_rows_do_not_block_verification(setup: None, client: Client) -> None:
    from intercom_identity.models import PlatformConfig

    PlatformConfig.objects.filter(environment__slug="production", platform="web").update(encrypted_secret="garbage")
    body = client.post(
        URL, {"platform": "ios", "user_id": UID, "user_hash": sign(DEV_IOS, UID)}, content_type="application/json"
    ).json()
    assert body["verified"] is True


def test_replacing_with_the_same_secret_keeps_the_previous_one(setup: None) -> None:
    config = get_platform_config("ios", "development")
    store_secret(config, DEV_IOS)
    assert config.previous_secret() == OLD_IOS


# --- hostile input -------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["user_id", "email", "user_hash", "intercom_user_jwt"])
def test_lone_surrogate_is_400_not_500(setup: None, client: Client, field: str) -> None:
    body = '{"platform": "ios", "user_id": "42", "%s": "\\udc80"}' % field  # noqa: UP031 - raw JSON escape
    response = client.post(URL, body.encode(), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_field"


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "HS256", "kid": 1},
        {"alg": "HS256", "crit": ["foo"]},
        {"alg": "HS256", "crit": 5},
        {"alg": "HS256", "b64": False},
    ],
)
def test_hostile_jwt_headers_are_malformed(setup: None, client: Client, header: dict[str, Any]) -> None:
    token = jwt_independent.make({"user_id": UID}, DEV_IOS, header=header)
    body = client.post(URL, {"platform": "ios", "intercom_user_jwt": token}, content_type="application/json").json()
    assert body["diagnosis"]["reason"] == "jwt_malformed"


@pytest.mark.parametrize("claims", [{"user_id": UID, "exp": -(10**400)}, {"user_id": UID, "exp": 10**400}])
def test_absurd_exp_is_malformed(setup: None, client: Client, claims: dict[str, Any]) -> None:
    token = jwt_independent.make(claims, DEV_IOS)
    body = client.post(URL, {"platform": "ios", "intercom_user_jwt": token}, content_type="application/json").json()
    assert body["diagnosis"]["reason"] == "jwt_malformed"


def test_nan_exp_is_malformed(setup: None) -> None:
    head = jwt_independent.b64url(b'{"alg":"HS256","typ":"JWT"}')
    payload = jwt_independent.b64url(b'{"user_id":"42","exp":NaN}')
    import hashlib
    import hmac

    signature = jwt_independent.b64url(
        hmac.new(DEV_IOS.encode(), f"{head}.{payload}".encode(), hashlib.sha256).digest()
    )
    context = VerificationContext("development", "ios", secret=DEV_IOS)
    result = verify_credential(context, token=f"{head}.{payload}.{signature}")
    assert result.diagnosis is not None
    assert result.diagnosis.reason == "jwt_malformed"


@pytest.mark.parametrize("claimed", [42, False, [], {}])
def test_non_string_user_id_claim_is_not_valid(setup: None, claimed: Any) -> None:
    context = VerificationContext("development", "ios", secret=DEV_IOS)
    result = verify_credential(context, token=jwt_independent.make({"user_id": claimed}, DEV_IOS))
    assert not result.verified


def test_unreadable_previous_secret_does_not_block(setup: None, client: Client) -> None:
    from intercom_identity.models import PlatformConfig

    PlatformConfig.objects.filter(environment__slug="development", platform="ios").update(
        encrypted_previous_secret="not-a-fernet-token"
    )
    body = client.post(
        URL, {"platform": "ios", "user_id": UID, "user_hash": sign(DEV_IOS, UID)}, content_type="application/json"
    ).json()
    assert body == {"verified": True, "identified_by": "user_id"}


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_oversized_body_is_413_json(setup: None, client: Client) -> None:
    response = client.post(URL, {"platform": "ios", "user_id": "x" * 5000}, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["error"] == "body_too_large"


def test_verify_command_exits_2_when_it_cannot_answer(db: None) -> None:
    with pytest.raises(CommandError) as excinfo:
        call_command(
            "intercom_identity", "verify", "development", "ios", "--user-id", "1", "--hash", "ab", stdout=io.StringIO()
        )
    assert excinfo.value.returncode == 2


def test_admin_check_strips_a_pasted_newline(setup: None, admin_client: Client) -> None:
    form = {"environment": "development", "platform": "ios", "user_id": UID, "user_hash": sign(DEV_IOS, UID) + "\n"}
    html = admin_client.post(reverse("admin:intercom_identity_platformconfig_check"), form).content.decode()
    assert 'data-reason="valid"' in html


@pytest.mark.parametrize(
    ("user_hash", "says"),
    [
        ("abc", "A user hash is 64 hex characters (HMAC-SHA256); this one has 3 characters and it is hex but not"),
        ("zz" * 32, "this one has 64 characters and 64 of its characters are not hex digits"),
        ("LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE=", "it looks like base64; send the digest in hex"),
        ("eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoiNDIifQ.c2ln", "This is a JWT, not a user hash"),
    ],
)
def test_a_malformed_hash_is_explained_by_its_shape(user_hash: str, says: str) -> None:
    from intercom_identity.credentials.verification import hash_shape_problem

    problem = hash_shape_problem(user_hash)
    assert problem is not None
    assert says in problem
    assert user_hash not in problem


@pytest.mark.parametrize(
    ("token", "says"),
    [
        ("not-a-token", "three base64url parts joined by dots (header.payload.signature); this one has 1."),
        ("a.b", "this one has 2."),
        ("e30.%%%.abc", "its header or payload is not base64url-encoded JSON"),
        ("ab" * 32, "This is a user hash (64 hex characters), not a JWT: send it as user_hash."),
    ],
)
def test_a_malformed_jwt_is_explained_by_its_shape(token: str, says: str) -> None:
    from intercom_identity.credentials.verification import jwt_shape_problem

    assert says in jwt_shape_problem(token)
