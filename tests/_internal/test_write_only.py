"""The one rule for write-only credentials: where each lives (``Columns``), and how it is read, written and
cleared, the same for a platform's secret and an environment's API token."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import models
from django.utils import timezone

from intercom_identity._internal import crypto
from intercom_identity._internal.write_only import Columns
from intercom_identity.credentials.hashing import fingerprint
from intercom_identity.models import Environment, PlatformConfig
from intercom_identity.validators import validate_secret

SECRET = "write-only-secret-0011223344556677889900aabbcc"
COLUMNS = Columns("encrypted_x", "x_fingerprint", "x_set_at")


def test_written_is_encrypted_fingerprinted_and_stamped() -> None:
    written = COLUMNS.written(SECRET, validate_secret)
    assert set(written) == set(COLUMNS.names)
    assert SECRET not in written["encrypted_x"]
    assert crypto.decrypt(written["encrypted_x"]) == SECRET
    assert written["x_fingerprint"] == fingerprint(SECRET)
    assert timezone.now() - written["x_set_at"] < timedelta(seconds=5)


def test_a_value_the_validator_refuses_is_never_encrypted(monkeypatch: pytest.MonkeyPatch) -> None:
    encrypted: list[str] = []
    monkeypatch.setattr(crypto, "encrypt", lambda value: encrypted.append(value) or "x")
    with pytest.raises(ValueError, match="whitespace"):
        COLUMNS.written(" pasted with a space", validate_secret)
    assert encrypted == []


def test_cleared_empties_the_three_columns() -> None:
    assert COLUMNS.cleared() == {"encrypted_x": "", "x_fingerprint": "", "x_set_at": None}


@pytest.mark.parametrize(
    ("model", "columns"),
    [(PlatformConfig, PlatformConfig.SECRET_COLUMNS), (Environment, Environment.API_TOKEN_COLUMNS)],
)
def test_each_credential_names_real_fields(model: type[models.Model], columns: Columns) -> None:
    fields = {field.name: field for field in model._meta.get_fields()}
    encrypted, digest, set_at = (fields[name] for name in columns.names)
    assert isinstance(encrypted, models.TextField)
    assert isinstance(digest, models.CharField)
    assert isinstance(set_at, models.DateTimeField)


@pytest.mark.django_db
def test_a_row_reads_back_what_its_columns_wrote() -> None:
    config = PlatformConfig.objects.select_related("environment").get(environment__slug="development", platform="ios")
    for name, value in PlatformConfig.SECRET_COLUMNS.written(SECRET, validate_secret).items():
        setattr(config, name, value)
    assert config.secret() == SECRET
    assert config.fingerprint == fingerprint(SECRET)
