"""Old import paths keep working, with a DeprecationWarning; the app itself uses none of them."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from intercom_identity import (
    activity,
    adoption,
    configcache,
    credentials,
    emulator,
    exceptions,
    http,
    lookups,
    maintenance,
    messenger,
    permissions,
    platforms,
    reports,
    rollout,
    verification,
    versions,
    views,
)

SHIMS = {"intercom_identity.services", "intercom_identity.web"}

MODULE_MOVES = {
    "intercom_identity.services": {
        "parse_platform": lookups,
        "parse_mode": lookups,
        "parse_phase": lookups,
        "environment_slug": lookups,
        "get_environment": lookups,
        "get_platform_config": lookups,
        "get_serving_config": configcache,
        "IdentityPayload": credentials,
        "CredentialError": credentials,
        "identity_payload": credentials,
        "payload_for_config": credentials,
        "web_settings": messenger,
        "jwt_signed_keys": messenger,
        "MANAGE_PRODUCTION_PERMISSION": permissions,
        "can_manage": permissions,
        "status_matrix": reports,
        "verification_context": emulator,
        "verify": emulator,
    },
    "intercom_identity.web": {
        "RESERVED_KEYS": messenger,
        "intercom_settings_script": messenger,
        "messenger_settings": messenger,
        "script_safe_json": messenger,
    },
}

MOVED_NAMES = {
    activity: {"adoption": adoption, "recount": maintenance}
    | dict.fromkeys(("clean_version", "clean_min_version", "MAX_VERSION_LENGTH"), versions),
    adoption: dict.fromkeys(("version_key", "at_least"), versions),
    rollout: {"audit_history": reports, "RotationFailed": exceptions}
    | dict.fromkeys(("rotate_encryption", "ENCRYPTED_FIELDS"), maintenance),
    verification: {"emulator_response": emulator, "LABELS": platforms},
    views: dict.fromkeys(
        ("error_response", "json_errors", "method_not_allowed", "read_body", "rate_limited", "unavailable"), http
    ),
}
NAME_MOVES = [(old, name, new) for old, names in MOVED_NAMES.items() for name, new in names.items()]


@pytest.mark.parametrize("old", sorted(MODULE_MOVES))
def test_a_moved_module_warns_on_import_and_re_exports(old: str) -> None:
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=rf"^{old} is deprecated; import from intercom_identity\."):
        shim = importlib.import_module(old)
    for name, new in MODULE_MOVES[old].items():
        assert getattr(shim, name) is getattr(new, name), name
    assert sorted(shim.__all__) == sorted(MODULE_MOVES[old])


@pytest.mark.parametrize(("old", "name", "new"), NAME_MOVES, ids=lambda v: getattr(v, "__name__", v))
def test_a_moved_name_warns_and_is_the_same_object(old: object, name: str, new: object) -> None:
    with pytest.warns(DeprecationWarning, match=rf"{name} is deprecated; import it from {new.__name__} instead"):  # type: ignore[attr-defined]
        moved = getattr(old, name)
    assert moved is getattr(new, name)


def test_unknown_names_are_still_attribute_errors() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        views.nothing_here  # noqa: B018


def test_the_app_and_the_demo_import_no_deprecated_path() -> None:
    """Every module, imported in a fresh interpreter where the app's deprecation warnings are errors."""
    package = Path(__file__).resolve().parent.parent / "intercom_identity"
    modules = sorted(
        "intercom_identity." + ".".join(path.relative_to(package).with_suffix("").parts).removesuffix(".__init__")
        for path in package.rglob("*.py")
        if "migrations" not in path.parts
    )
    modules = [m.removesuffix(".__init__") for m in modules if m not in SHIMS]
    code = (
        "import importlib, django; django.setup()\n"
        f"for name in {modules!r} + ['project.urls', 'project.views', 'project.management.commands.demo_setup']:\n"
        "    importlib.import_module(name)\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    result = subprocess.run(
        [sys.executable, "-W", "error:intercom_identity.:DeprecationWarning", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=package.parent,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
