"""``docs/workspaces.md``: every code block runs as printed, and does what the page says."""

from __future__ import annotations

import io
import re
import shlex
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client, RequestFactory, override_settings

from intercom_identity import compute_user_hash
from intercom_identity.models import Environment, RolloutPhase
from tests.helpers import SECRETS, configure, openssl_hmac, parts, render

PAGE = Path(__file__).resolve().parent.parent.parent / "docs" / "workspaces.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.S | re.M)
URL = "/intercom/user-hash/"

pytestmark = pytest.mark.django_db


def blocks(language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(PAGE.read_text("utf-8")) if lang == language]


def settings_block(marker: str) -> dict[str, Any]:
    """The settings a ``python`` block assigns (the block that contains ``marker``), run as printed."""
    (source,) = [block for block in blocks("python") if marker in block and block.startswith("INTERCOM_IDENTITY_")]
    namespace: dict[str, Any] = {}
    exec(source, namespace)  # noqa: S102 - the page's own example
    return {name: value for name, value in namespace.items() if name.startswith("INTERCOM_IDENTITY_")}


def module_block(marker: str) -> types.ModuleType:
    """A ``python`` block that defines functions, run as a module of a reader's project."""
    (source,) = [block for block in blocks("python") if f"def {marker}(" in block]
    module = types.ModuleType(f"docs_example_{marker}")
    exec(source, module.__dict__)  # noqa: S102 - the page's own example
    return module


def test_every_block_is_tested() -> None:
    found = FENCE.findall(PAGE.read_text("utf-8"))
    assert [lang for lang, _body in found] == ["python", "python", "python", "python", "sh"]


@pytest.fixture
def both_sending(all_secrets: Any) -> None:
    configure("production", "ios", RolloutPhase.SENDING)


def test_the_debug_build_recipe(user_client: Client, user: Any, both_sending: None) -> None:
    with override_settings(**settings_block("header_environment")):
        debug = user_client.get(URL, {"platform": "ios"}, headers={"X-Intercom-Environment": "development"})
        release = user_client.get(URL, {"platform": "ios"})
    assert debug.json()["user_hash"] == openssl_hmac(SECRETS[("development", "ios")], str(user.pk))
    assert release.json()["user_hash"] == openssl_hmac(SECRETS[("production", "ios")], str(user.pk))


@pytest.fixture
def brands(db: None) -> Iterator[dict[str, str]]:
    secrets = {"brand-a": SECRETS[("development", "web")], "brand-b": SECRETS[("production", "web")]}
    apps = {"brand-a": "brandaaa1", "brand-b": "brandbbb2"}
    for slug, app in apps.items():
        Environment.objects.create(slug=slug, label=slug.title(), app_id=app)
        configure(slug, "web", RolloutPhase.SENDING, secret=secrets[slug])
    with override_settings(ALLOWED_HOSTS=[".example.com"]):
        yield secrets


@pytest.mark.parametrize(
    ("host", "brand"), [("brand-a.example.com", "brand-a"), ("BRAND-B.example.com:443", "brand-b")]
)
def test_the_multi_brand_recipe(user: Any, brands: dict[str, str], host: str, brand: str) -> None:
    with override_settings(**settings_block("host_environment")):
        settings, config = parts(render(user, "{% intercom_messenger %}", request_meta={"HTTP_HOST": host}))
    assert config["appId"] == {"brand-a": "brandaaa1", "brand-b": "brandbbb2"}[brand]
    assert settings["user_hash"] == compute_user_hash(brands[brand], user_id=str(user.pk))


def test_the_custom_resolver(user: Any, brands: dict[str, str]) -> None:
    environment_of = module_block("environment_of").environment_of
    served = {**settings_block("host_environment"), "INTERCOM_IDENTITY_ENVIRONMENT_RESOLVER": environment_of}
    served["INTERCOM_IDENTITY_SERVED_ENVIRONMENTS"] = [*served["INTERCOM_IDENTITY_SERVED_ENVIRONMENTS"], "development"]
    factory = RequestFactory()
    with override_settings(**served):
        assert environment_of(factory.get("/", HTTP_HOST="brand-b.example.com")) == "brand-b"
        debug = factory.get("/", HTTP_HOST="brand-b.example.com", HTTP_X_INTERCOM_ENVIRONMENT="development")
        assert environment_of(debug) == "development"
        assert environment_of(factory.get("/", HTTP_HOST="www.example.com")) is None


def test_the_login_view_helper(user: Any, both_sending: None) -> None:
    intercom_payload = module_block("intercom_payload").intercom_payload
    with override_settings(**settings_block("header_environment")):
        request = RequestFactory().get("/", HTTP_X_INTERCOM_ENVIRONMENT="development", HTTP_X_APP_VERSION="2.0.0")
        payload = intercom_payload(request, user, "ios")
    assert payload["environment"] == "development"
    assert payload["user_hash"] == compute_user_hash(SECRETS[("development", "ios")], user_id=str(user.pk))


def test_the_status_command(both_sending: None) -> None:
    (command,) = blocks("sh")
    words = shlex.split(command)
    assert words[:3] == ["python", "manage.py", "intercom_identity"]
    out = io.StringIO()
    with override_settings(**settings_block("header_environment")):
        call_command(*words[2:], stdout=out)
    lines = {line.split()[0] + " " + line.split()[2]: line for line in out.getvalue().splitlines()[1:] if line}
    assert "default" in lines["production ios"]
    assert "served" in lines["development ios"]
