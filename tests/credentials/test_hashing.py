from __future__ import annotations

import shutil
import subprocess

import pytest

from intercom_identity import compute_user_hash
from intercom_identity.credentials.hashing import IdentifiedBy, digests_match, fingerprint, select_identifier, sign
from intercom_identity.validators import validate_secret

SECRET = "Vf8sE3kq0P3m1n9XyZ2aB7cD4eF6gH8jK0lM2nP4"


def test_every_openssl_vector_matches(vectors: list[dict[str, str]]) -> None:
    assert len(vectors) >= 10
    for vector in vectors:
        assert sign(vector["secret"], vector["identifier"]) == vector["user_hash"], vector["note"]
        assert compute_user_hash(vector["secret"], user_id=vector["identifier"]) == vector["user_hash"]
        assert compute_user_hash(vector["secret"], email=vector["identifier"]) == vector["user_hash"]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
@pytest.mark.parametrize(
    "identifier",
    ["42", " padded ", "tab\there", "ünïcødé-用户", "x" * 5000, "line\nbreak", "emoji-🙂", "a'b\"c$d"],
)
def test_matches_openssl_command_on_awkward_input(identifier: str) -> None:
    result = subprocess.run(
        ["openssl", "dgst", "-sha256", "-hmac", SECRET],
        input=identifier.encode("utf-8"),
        capture_output=True,
        check=True,
    )
    expected = result.stdout.decode().strip().split()[-1]
    assert compute_user_hash(SECRET, user_id=identifier) == expected


def test_user_id_wins_over_email(vectors: list[dict[str, str]]) -> None:
    by_id = next(v for v in vectors if v["note"] == "numeric user_id")
    assert compute_user_hash(by_id["secret"], user_id="42", email="jane+beta@example.com") == by_id["user_hash"]


def test_integer_user_id_is_stringified() -> None:
    assert compute_user_hash(SECRET, user_id=42) == compute_user_hash(SECRET, user_id="42")


def test_user_id_zero_is_a_real_id(vectors: list[dict[str, str]]) -> None:
    zero = next(v for v in vectors if v["identifier"] == "0")
    assert compute_user_hash(zero["secret"], user_id=0, email="someone@example.com") == zero["user_hash"]
    assert select_identifier(user_id=0) == (IdentifiedBy.USER_ID, "0")


def test_empty_user_id_falls_back_to_email(vectors: list[dict[str, str]]) -> None:
    email = next(v for v in vectors if v["note"] == "email with plus sign")
    assert compute_user_hash(email["secret"], user_id="", email=email["identifier"]) == email["user_hash"]
    assert compute_user_hash(email["secret"], user_id=None, email=email["identifier"]) == email["user_hash"]


@pytest.mark.parametrize(("user_id", "email"), [(None, None), ("", None), (None, ""), ("", "")])
def test_no_identifier_no_hash(user_id: str | None, email: str | None) -> None:
    assert compute_user_hash(SECRET, user_id=user_id, email=email) is None
    assert select_identifier(user_id=user_id, email=email) is None


def test_identifier_is_never_normalised() -> None:
    assert compute_user_hash(SECRET, user_id=" 42") != compute_user_hash(SECRET, user_id="42")
    assert compute_user_hash(SECRET, email="Jane@Example.com") != compute_user_hash(SECRET, email="jane@example.com")


def test_bytes_secret_equals_its_utf8_text() -> None:
    assert sign("kéy", "id") == sign("kéy".encode(), "id")


def test_output_is_lowercase_hex_of_64_characters() -> None:
    digest = sign(SECRET, "anything")
    assert len(digest) == 64
    assert digest == digest.lower()
    int(digest, 16)


def test_digests_match_is_exact() -> None:
    digest = sign(SECRET, "42")
    assert digests_match(digest, digest)
    assert not digests_match(digest, digest.upper())
    assert not digests_match(digest, digest[:-1] + ("0" if digest[-1] != "0" else "1"))
    assert not digests_match(digest, "")


def test_fingerprint_is_short_stable_and_distinct() -> None:
    assert fingerprint(SECRET) == fingerprint(SECRET)
    assert len(fingerprint(SECRET)) == 8
    assert fingerprint(SECRET) != fingerprint(SECRET + "x")
    assert fingerprint(SECRET) not in SECRET


@pytest.mark.parametrize(
    "bad",
    [
        "",
        " leading",
        "trailing ",
        "trailing\n",
        "\tx",
        "in\x00side",
        "in\x1bside",
        "nbsp\u00a0",
        "\u3000ideographic",
        "\ufeffbyte-order-mark",
        "zero\u200bwidth",
    ],
)
def test_validate_secret_refuses_paste_mistakes(bad: str) -> None:
    with pytest.raises(ValueError, match=r"secret") as excinfo:
        validate_secret(bad)
    if bad.strip():
        assert bad.strip() not in str(excinfo.value)


@pytest.mark.parametrize("good", [SECRET, "s3cr3t with spaces", "kéy-ünïcode-秘密"])
def test_validate_secret_accepts_real_secrets(good: str) -> None:
    validate_secret(good)
