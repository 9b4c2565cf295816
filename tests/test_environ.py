"""``intercom_identity.environ``: secrets and API tokens from environment variables and ``*_FILE``
paths, the documentation's example as printed, and the checks on what it reads (W009, E027)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

import intercom_identity
from intercom_identity import environ
from intercom_identity.checks import check_secret_files, check_settings_secret_choices
from intercom_identity.environ import api_tokens_from_environment, secrets_from_environment
from intercom_identity.models import Environment
from tests.helpers import SECRETS, configure, fenced_blocks

VAULT = "vault-secret-00112233445566778899aabbccddeeff"
TOKEN = "dG9rOjEyMzQ1Njc4OmFiY2RlZg=="


@pytest.fixture(autouse=True)
def _forget_files_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(environ, "_files_read", {})


def test_secrets_from_variables_and_files(tmp_path: Path) -> None:
    secret_file = tmp_path / "android"
    secret_file.write_text(VAULT + "-file\n", "utf-8")
    variables = {
        "INTERCOM_IDENTITY_PRODUCTION_IOS_SECRET": VAULT,
        "INTERCOM_IDENTITY_PRODUCTION_ANDROID_SECRET_FILE": str(secret_file),
        "INTERCOM_IDENTITY_STAGING_EU_WEB_SECRET": VAULT + "-eu",
        "INTERCOM_IDENTITY_ENVIRONMENT": "production",
        "UNRELATED": "x",
    }
    assert secrets_from_environment(variables) == {
        "production": {"ios": VAULT, "android": VAULT + "-file"},
        "staging_eu": {"web": VAULT + "-eu"},
    }


def test_values_are_taken_as_they_are_and_a_file_loses_one_newline(tmp_path: Path) -> None:
    crlf = tmp_path / "web"
    crlf.write_bytes(b"$dollar-secret-0011223344556677889900\r\n")
    twice = tmp_path / "android"
    twice.write_text(VAULT + "\n\n", "utf-8")
    variables = {
        "INTERCOM_IDENTITY_PRODUCTION_IOS_SECRET": "$starts-with-a-dollar-0011223344",
        "INTERCOM_IDENTITY_PRODUCTION_WEB_SECRET_FILE": str(crlf),
        "INTERCOM_IDENTITY_PRODUCTION_ANDROID_SECRET_FILE": str(twice),
    }
    assert secrets_from_environment(variables) == {
        "production": {
            "ios": "$starts-with-a-dollar-0011223344",
            "web": "$dollar-secret-0011223344556677889900",
            "android": VAULT + "\n",  # one newline only: the second is refused by the app's rules (E013)
        }
    }


def test_tokens_from_variables_and_files_a_direct_value_wins(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n", "utf-8")
    variables = {
        "INTERCOM_IDENTITY_PRODUCTION_API_TOKEN_FILE": str(token_file),
        "INTERCOM_IDENTITY_STAGING_EU_API_TOKEN": "$tok-staging",
        "INTERCOM_IDENTITY_PRODUCTION_IOS_SECRET": "not-a-token",
        "INTERCOM_IDENTITY_API_TOKENS": "ignored",
    }
    assert api_tokens_from_environment(variables) == {"production": TOKEN, "staging_eu": "$tok-staging"}
    both = {**variables, "INTERCOM_IDENTITY_PRODUCTION_API_TOKEN": "direct-wins"}
    assert api_tokens_from_environment(both)["production"] == "direct-wins"


def test_os_environ_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERCOM_IDENTITY_QA_WEB_SECRET", VAULT)
    monkeypatch.setenv("INTERCOM_IDENTITY_QA_API_TOKEN", TOKEN)
    assert secrets_from_environment()["qa"] == {"web": VAULT}
    assert api_tokens_from_environment()["qa"] == TOKEN


def test_an_unreadable_file_names_the_variable_never_a_value(tmp_path: Path) -> None:
    with pytest.raises(ImproperlyConfigured, match="INTERCOM_IDENTITY_PRODUCTION_IOS_SECRET_FILE") as missing:
        secrets_from_environment({"INTERCOM_IDENTITY_PRODUCTION_IOS_SECRET_FILE": str(tmp_path / "nope")})
    assert "No such file" in str(missing.value)
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe" + VAULT.encode())
    with pytest.raises(ImproperlyConfigured, match="UTF-8") as undecodable:
        api_tokens_from_environment({"INTERCOM_IDENTITY_PRODUCTION_API_TOKEN_FILE": str(binary)})
    assert VAULT not in str(undecodable.value)


def test_the_helpers_are_public_and_safe_to_import_from_settings() -> None:
    assert intercom_identity.secrets_from_environment is secrets_from_environment
    assert intercom_identity.api_tokens_from_environment is api_tokens_from_environment
    assert {"secrets_from_environment", "api_tokens_from_environment"} <= set(intercom_identity.__all__)


def test_the_documented_settings_work_as_printed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (example,) = fenced_blocks("secrets-from-environment.md", "python")
    secret_file = tmp_path / "intercom_ios"
    secret_file.write_text(VAULT + "\n", "utf-8")
    monkeypatch.setenv("INTERCOM_IDENTITY_PRODUCTION_IOS_SECRET_FILE", str(secret_file))
    monkeypatch.setenv("INTERCOM_IDENTITY_PRODUCTION_API_TOKEN", TOKEN)
    settings: dict[str, Any] = {}
    exec(compile(example, "docs/secrets-from-environment.md", "exec"), settings)  # noqa: S102 - the docs' own text
    assert settings["INTERCOM_IDENTITY_SECRETS"]["production"] == {"ios": VAULT}
    assert settings["INTERCOM_IDENTITY_API_TOKENS"]["production"] == TOKEN


def test_the_demo_settings_use_the_helper() -> None:
    demo = (Path(__file__).resolve().parent.parent / "project" / "settings.py").read_text("utf-8")
    assert "from intercom_identity.environ import api_tokens_from_environment, secrets_from_environment" in demo
    assert not (Path(__file__).resolve().parent.parent / "project" / "secret_env.py").exists()


# --- W009: a secret file others may write -------------------------------------------------------------


@pytest.mark.django_db  # the model checks ask the database about JSON fields on Django 6
@pytest.mark.parametrize("via", ["read by the helper", "named in the environment"])
def test_a_world_writable_secret_file_is_w009_in_check_deploy(
    via: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret_file = tmp_path / "intercom_web"
    secret_file.write_text(VAULT, "utf-8")
    secret_file.chmod(0o666)
    name = "INTERCOM_IDENTITY_PRODUCTION_WEB_SECRET_FILE"
    if via == "read by the helper":
        secrets_from_environment({name: str(secret_file)})
    else:
        monkeypatch.setenv(name, str(secret_file))
    messages = check_secret_files()
    assert [m.id for m in messages] == ["intercom_identity.W009"]
    assert name in messages[0].msg
    assert VAULT not in messages[0].msg
    out = io.StringIO()
    with pytest.raises(SystemCheckError, match=r"intercom_identity\.W009"):
        call_command("check", "--deploy", "--fail-level", "WARNING", stdout=out, stderr=out)
    secret_file.chmod(0o640)
    assert check_secret_files() == []


def test_a_missing_file_is_not_w009(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("INTERCOM_IDENTITY_PRODUCTION_API_TOKEN_FILE", str(tmp_path / "gone"))
    assert check_secret_files() == []


# --- E027: settings-supplied secrets that look like a mistake --------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("secret", "mistake"),
    [
        ("x", "has 1 characters"),
        ("prod-app-id-0123456789", "is an Intercom app ID"),
        (SECRETS[("development", "web")], "the one already stored for Development / test / Web"),
    ],
)
def test_a_settings_secret_that_looks_like_a_mistake_is_e027(secret: str, mistake: str) -> None:
    Environment.objects.filter(slug="production").update(app_id="prod-app-id-0123456789")
    configure("development", "web")
    with override_settings(INTERCOM_IDENTITY_SECRETS={"production": {"web": secret}}):
        messages = check_settings_secret_choices(databases=["default"])
        assert [m.id for m in messages] == ["intercom_identity.E027"]
        assert messages[0].msg.startswith("INTERCOM_IDENTITY_SECRETS['production']['web']: ")
        assert mistake in messages[0].msg
        if len(secret) > 1:
            assert secret not in messages[0].msg
        with pytest.raises(SystemCheckError, match=r"intercom_identity\.E027"):
            call_command("check", "--database", "default", stdout=io.StringIO(), stderr=io.StringIO())
    assert check_settings_secret_choices() == []  # only with --database


@pytest.mark.django_db
def test_distinct_settings_secrets_pass_e027() -> None:
    with override_settings(INTERCOM_IDENTITY_SECRETS={"production": {"web": VAULT, "ios": VAULT + "-ios"}}):
        assert check_settings_secret_choices(databases=["default"]) == []
