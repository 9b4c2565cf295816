"""Secrets made, rotated and retired through Intercom's Preview API: the commands, each failure point
half-way, the admin's buttons, and what the client sends (against tests/intercom_fake.py's FakeSecrets)."""

from __future__ import annotations

import io
import json
import time
from contextlib import ExitStack
from datetime import timedelta
from datetime import timezone as dt_timezone
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection
from django.test import Client
from django.utils import timezone
from werkzeug import Response

from intercom_identity.credentials.hashing import compute_user_hash, fingerprint
from intercom_identity.models import AuditEvent, PlatformConfig, RolloutPhase
from intercom_identity.rollout import changes
from intercom_identity.workspace import client as client_module
from intercom_identity.workspace import secrets
from tests.helpers import (
    SECRETS,
    command_result,
    config_of,
    configure,
    database_down,
    run,
    staff_client,
)
from tests.intercom_fake import TOKENS, FakeIntercom, FakeSecrets

pytestmark = pytest.mark.django_db


def kinds(config: PlatformConfig) -> list[tuple[str, str, str]]:
    return [
        (event.kind, event.from_value, event.to_value)
        for event in AuditEvent.objects.filter(environment=config.environment.slug, platform=config.platform)
        .exclude(kind="phase")
        .order_by("id")
    ]


def served_secret(config: PlatformConfig) -> str:
    config.refresh_from_db()
    return config.secret()


# --- create-secret ---------------------------------------------------------------------------


def test_create_secret_stores_intercoms_secret_and_prints_only_its_fingerprint(fake: FakeSecrets) -> None:
    code, out, error = command_result("create-secret", "production", "ios")
    assert (code, error) == (0, "")
    config = config_of("production", "ios")
    [made] = [secret for secret in fake.store.values() if secret["name"].startswith("intercom-identity")]
    assert made["name"].startswith("intercom-identity production ios ")
    assert (made["supports_ios"], made["supports_android"], made["supports_web"]) == (True, False, False)
    assert config.intercom_secret_id == made["id"]
    assert config.intercom_secret_created_at is not None
    assert served_secret(config) == fake.values[made["id"]]  # the secret Intercom made, decrypted
    assert out.strip() == fingerprint(fake.values[made["id"]])
    assert fake.values[made["id"]] not in config.encrypted_secret  # stored encrypted
    assert config.pending_secret_name == ""
    assert kinds(config) == [("secret", "", config.secret_fingerprint), ("intercom_secret", "", made["id"])]
    assert fake.calls == [("GET", "/secure_mode_secrets"), ("POST", "/secure_mode_secrets")] or fake.calls == [
        ("POST", "/secure_mode_secrets")
    ]


def test_create_secret_is_refused_when_settings_supply_the_secret(fake: FakeSecrets, settings: Any) -> None:
    settings.INTERCOM_IDENTITY_SECRETS = {"production": {"ios": SECRETS[("production", "ios")]}}
    code, _out, error = command_result("create-secret", "production", "ios")
    assert code == 1
    assert "managed by settings (INTERCOM_IDENTITY_SECRETS)" in error
    assert fake.calls == []  # Intercom was never asked


def test_create_secret_twice_says_to_rotate(fake: FakeSecrets) -> None:
    run("create-secret", "production", "ios")
    code, _out, error = command_result("create-secret", "production", "ios")
    assert code == 1
    assert "rotate-secret production ios" in error


def test_create_secret_without_an_api_token_says_how_to_store_one(fake: FakeSecrets, settings: Any) -> None:
    settings.INTERCOM_IDENTITY_API_TOKENS = {}
    code, _out, error = command_result("create-secret", "production", "ios")
    assert code == 1
    assert "set-api-token production" in error


def test_a_refused_token_is_a_reason_without_the_token(fake: FakeSecrets) -> None:
    fake.fail["POST"] = 401
    code, _out, error = command_result("create-secret", "production", "ios")
    assert code == 1
    assert "Intercom refused the access token (POST /secure_mode_secrets: 401" in error
    assert TOKENS["production"] not in error


# --- failure points of a creation -----------------------------------------------------------------


def test_intercom_down_before_it_answers_leaves_nothing_and_the_next_command_succeeds(fake: FakeSecrets) -> None:
    fake.fail["POST"] = 503
    code, _out, error = command_result("create-secret", "production", "ios")
    assert code == 1
    assert "server error" in error
    assert "run the command again" in error
    config = config_of("production", "ios")
    assert not config.has_secret
    assert config.pending_secret_name.startswith("intercom-identity production ios ")
    assert run("create-secret", "production", "ios").strip() == config_of("production", "ios").secret_fingerprint


def test_an_answer_lost_after_intercom_made_the_secret_is_deleted_by_the_next_command(fake: FakeSecrets) -> None:
    fake.lose_answer = True  # Intercom makes the secret, then its answer never arrives
    code, _out, _error = command_result("create-secret", "production", "ios")
    assert code == 1
    config = config_of("production", "ios")
    [orphan] = fake.named(config.pending_secret_name)  # Intercom has a secret this app never received
    warnings = [line for line in check_output().splitlines() if "intercom_identity.W020" in line]
    assert warnings == [
        f"?: (intercom_identity.W020) Production / iOS: a secret creation in Intercom did not "
        f"finish ({config.pending_secret_name})."
    ]
    assert run("create-secret", "production", "ios")
    assert "intercom_identity.W020" not in check_output()
    config = config_of("production", "ios")
    assert orphan["id"] not in fake.store  # deleted: nobody could use it
    assert [s["id"] for s in fake.store.values() if s["name"].startswith("intercom-identity")] == [
        config.intercom_secret_id
    ]
    assert ("intercom_secret", orphan["id"], "") in kinds(config)  # the clean-up is audited
    assert config.pending_secret_name == ""


def test_the_database_down_after_intercom_answered_deletes_the_new_secret_at_once(
    fake: FakeSecrets, monkeypatch: Any
) -> None:
    def down(*args: Any, **kwargs: Any) -> str:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(changes, "store_created_secret", down)
    code, _out, error = command_result("create-secret", "production", "ios")
    assert code == 1
    assert "could not be stored (OperationalError): it was deleted in Intercom again" in error
    assert [s for s in fake.store.values() if s["name"].startswith("intercom-identity")] == []
    config = config_of("production", "ios")
    assert (config.has_secret, config.pending_secret_name) == (False, "")


def test_the_database_and_intercom_down_after_the_create_leave_it_for_the_next_command(
    fake: FakeSecrets, monkeypatch: Any
) -> None:
    def down(*args: Any, **kwargs: Any) -> str:  # refused before the commit: certainly not stored
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(changes, "store_created_secret", down)
    fake.fail["DELETE"] = 503  # and Intercom down for the clean-up
    code, _out, error = command_result("create-secret", "production", "ios")
    monkeypatch.undo()
    assert code == 1
    assert "nor deleted in Intercom: run the command again" in error
    assert "Production / iOS still has no secret." in error
    config = config_of("production", "ios")
    assert not config.has_secret
    [orphan] = fake.named(config.pending_secret_name)  # recorded before Intercom was asked
    run("create-secret", "production", "ios")
    assert orphan["id"] not in fake.store
    assert config_of("production", "ios").has_secret


def test_the_database_down_after_intercom_answered_deletes_nothing_it_cannot_check(
    fake: FakeSecrets, monkeypatch: Any
) -> None:
    original_create = client_module.SecretsApi.create
    outage = ExitStack()

    def create_then_the_database_fails(self: Any, name: str, platforms: frozenset[str]) -> Any:
        created = original_create(self, name, platforms)
        outage.enter_context(connection.execute_wrapper(database_down))
        return created

    monkeypatch.setattr(client_module.SecretsApi, "create", create_then_the_database_fails)
    with outage:
        code, _out, error = command_result("create-secret", "production", "ios")
    monkeypatch.undo()
    assert code == 1
    assert "before it could be confirmed stored, so it was not deleted in Intercom" in error
    assert not deletions(fake)
    config = config_of("production", "ios")
    assert not config.has_secret  # it was not stored: the recorded name lets the next command delete it
    [orphan] = fake.named(config.pending_secret_name)
    run("create-secret", "production", "ios")
    assert orphan["id"] not in fake.store
    assert config_of("production", "ios").has_secret


def deletions(fake: FakeSecrets) -> list[str]:
    return [path for method, path in fake.calls if method == "DELETE"]


def test_the_database_down_before_intercom_is_asked_asks_nothing(fake: FakeSecrets, monkeypatch: Any) -> None:
    with connection.execute_wrapper(database_down):
        code, _out, _error = command_result_or_database_error("create-secret", "production", "ios")
    assert code != 0
    assert fake.calls == []


def command_result_or_database_error(*args: str) -> tuple[int, str, str]:
    try:
        return command_result(*args)
    except OperationalError as exc:
        return 1, "", str(exc)


# --- rotate-secret and retire-secret -------------------------------------------------------------


def rotated(fake: FakeSecrets) -> PlatformConfig:
    run("create-secret", "production", "ios")
    first = config_of("production", "ios")
    run("rotate-secret", "production", "ios", "--reason", "yearly rotation")
    return first


def test_rotate_serves_the_new_secret_at_once_and_keeps_the_old_one_accepted(fake: FakeSecrets) -> None:
    first = rotated(fake)
    config = config_of("production", "ios")
    assert config.intercom_secret_id != first.intercom_secret_id
    assert config.previous_intercom_secret_id == first.intercom_secret_id
    assert served_secret(config) == fake.values[config.intercom_secret_id]
    assert config.previous_secret() == fake.values[first.intercom_secret_id]  # still known, still in Intercom
    assert first.intercom_secret_id in fake.store
    hashed = compute_user_hash(served_secret(config), user_id="42")
    assert hashed == compute_user_hash(fake.values[config.intercom_secret_id], user_id="42")
    assert kinds(config)[-2:] == [
        ("secret", first.secret_fingerprint, config.secret_fingerprint),
        ("intercom_secret", first.intercom_secret_id, config.intercom_secret_id),
    ]
    assert AuditEvent.objects.filter(reason="yearly rotation").count() == 2


def test_rotate_without_a_secret_says_to_create_one(fake: FakeSecrets) -> None:
    code, _out, error = command_result("rotate-secret", "production", "ios")
    assert code == 1
    assert "create-secret" in error


def test_rotate_again_before_retiring_is_refused(fake: FakeSecrets) -> None:
    rotated(fake)
    code, _out, error = command_result("rotate-secret", "production", "ios")
    assert code == 1
    assert "retire it first" in error


def test_retire_is_refused_inside_the_grace_period(fake: FakeSecrets) -> None:
    first = rotated(fake)
    code, _out, error = command_result("retire-secret", "production", "ios")
    assert code == 1
    assert "stays accepted until" in error
    assert "INTERCOM_IDENTITY_SECRET_RETIRE_AFTER_HOURS = 168" in error
    assert first.intercom_secret_id in fake.store
    code, _out, error = command_result("retire-secret", "production", "ios", "--force")
    assert (code, "reason" in error) == (1, True)


def test_retire_forced_with_a_reason_deletes_in_intercom_and_forgets(fake: FakeSecrets) -> None:
    first = rotated(fake)
    out = run("retire-secret", "production", "ios", "--force", "--reason", "leaked in a log")
    assert f"previous secret {first.intercom_secret_id} deleted in Intercom and forgotten" in out
    config = config_of("production", "ios")
    assert first.intercom_secret_id not in fake.store
    assert (config.previous_intercom_secret_id, config.encrypted_previous_secret) == ("", "")
    event = AuditEvent.objects.filter(kind="intercom_secret").first()
    assert event is not None
    assert (event.from_value, event.to_value, event.forced, event.reason) == (
        first.intercom_secret_id,
        "",
        True,
        "leaked in a log",
    )


def test_retire_after_the_grace_period_needs_no_force(fake: FakeSecrets) -> None:
    first = rotated(fake)
    PlatformConfig.objects.filter(pk=first.pk).update(secret_set_at=timezone.now() - timedelta(hours=169))
    run("retire-secret", "production", "ios")
    assert first.intercom_secret_id not in fake.store
    assert not AuditEvent.objects.filter(kind="intercom_secret").first().forced  # type: ignore[union-attr]


def test_intercom_down_during_retire_forgets_nothing(fake: FakeSecrets) -> None:
    first = rotated(fake)
    fake.fail["DELETE"] = 503
    code, _out, _error = command_result("retire-secret", "production", "ios", "--force", "--reason", "r")
    assert code == 1
    assert config_of("production", "ios").previous_intercom_secret_id == first.intercom_secret_id
    assert first.intercom_secret_id in fake.store


def test_the_database_down_after_intercom_deleted_is_finished_by_the_next_retire(
    fake: FakeSecrets, monkeypatch: Any
) -> None:
    first = rotated(fake)

    def down(*args: Any, **kwargs: Any) -> str:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(changes, "forget_previous_secret", down)
    with pytest.raises(OperationalError):
        run("retire-secret", "production", "ios", "--force", "--reason", "r")
    monkeypatch.undo()
    assert first.intercom_secret_id not in fake.store  # Intercom deleted it...
    assert config_of("production", "ios").previous_intercom_secret_id == first.intercom_secret_id  # ...not here
    out = run("retire-secret", "production", "ios", "--force", "--reason", "r")
    assert "was already gone from Intercom; forgotten" in out
    assert config_of("production", "ios").previous_intercom_secret_id == ""


def test_retire_with_nothing_to_retire_says_so(fake: FakeSecrets) -> None:
    run("create-secret", "production", "ios")
    code, _out, error = command_result("retire-secret", "production", "ios")
    assert code == 1
    assert "no previous secret to retire" in error


def test_a_hand_copied_secret_is_replaced_and_kept_as_previous(fake: FakeSecrets) -> None:
    configure("production", "ios")
    run("create-secret", "production", "ios")
    config = config_of("production", "ios")
    assert config.previous_secret() == SECRETS[("production", "ios")]
    assert config.previous_intercom_secret_id == ""
    out = run("retire-secret", "production", "ios", "--force", "--reason", "moved to the API")
    assert "set by hand: delete it in Intercom's settings" in out


# --- the client ------------------------------------------------------------------------------


def test_the_client_waits_once_for_a_rate_limit_reset(fake: FakeSecrets) -> None:
    fake.fail["GET"] = 429
    config = config_of("production", "ios")
    with secrets._api(config.environment, client_module.DEADLINE_SECONDS, None) as api:
        listed = api.list()
    assert [secret.name for secret in listed] == ["made by hand"]
    assert fake.calls == [("GET", "/secure_mode_secrets")] * 2


def test_a_malformed_list_is_a_reason(intercom: FakeIntercom) -> None:
    intercom.server.expect_request("/secure_mode_secrets").respond_with_json({"type": "list", "data": [{"id": 1}]})
    config = config_of("production", "ios")
    api = secrets._api(config.environment, client_module.DEADLINE_SECONDS, None)
    with api, pytest.raises(client_module.WorkspaceUnavailable, match="supports_android of secret #1 of the list"):
        api.list()


def test_only_the_secrets_calls_use_the_preview_version(fake: FakeSecrets, intercom: FakeIntercom) -> None:
    intercom.answer(identity_verification=True)
    run("create-secret", "production", "ios")
    command_result("workspace", "production")
    versions = {(r.path, r.headers["Intercom-Version"]) for r in intercom.requests()}
    assert versions == {
        ("/secure_mode_secrets", "Preview"),
        ("/me", "2.14"),
        ("/admins/activity_logs", "2.14"),
    }


# --- the admin's buttons ------------------------------------------------------------------------


def secret_url(config: PlatformConfig) -> str:
    return f"/admin/intercom_identity/platformconfig/{config.pk}/intercom-secret/"


def change_page(client: Client, config: PlatformConfig) -> str:
    return client.get(f"/admin/intercom_identity/platformconfig/{config.pk}/change/").content.decode()


def test_the_admin_button_creates_the_secret_and_shows_its_intercom_id(fake: FakeSecrets) -> None:
    client = staff_client("ops", "view_platformconfig", "change_platformconfig", "manage_production")
    config = config_of("production", "web")
    assert 'id="intercom-secret-create"' in change_page(client, config)
    response = client.post(secret_url(config), {"secret_action": "create", "reason": "first"}, follow=True)
    assert "made in Intercom" in response.content.decode()
    config = config_of("production", "web")
    page = change_page(client, config)
    assert f"Intercom id {config.intercom_secret_id}, created" in page
    assert config.secret_fingerprint in page
    assert 'id="intercom-secret-rotate"' in page
    assert AuditEvent.objects.filter(kind="intercom_secret", actor_label="ops").exists()


def test_the_admin_button_needs_the_permissions_of_setting_a_secret(fake: FakeSecrets) -> None:
    client = staff_client("helper", "view_platformconfig", "change_platformconfig")  # not production
    config = config_of("production", "web")
    assert 'id="intercom-secret-create"' not in change_page(client, config)
    assert client.post(secret_url(config), {"secret_action": "create"}).status_code == 403
    assert fake.calls == []
    reader = staff_client("reader", "view_platformconfig")
    assert reader.post(secret_url(config_of("development", "web")), {"secret_action": "create"}).status_code == 403


def test_the_admin_refuses_a_secret_from_settings(fake: FakeSecrets, settings: Any) -> None:
    settings.INTERCOM_IDENTITY_SECRETS = {"production": {"web": SECRETS[("production", "web")]}}
    client = staff_client("ops2", "view_platformconfig", "change_platformconfig", "manage_production")
    config = config_of("production", "web")
    assert 'id="intercom-secret-create"' not in change_page(client, config)
    response = client.post(secret_url(config), {"secret_action": "create"}, follow=True)
    assert "managed by settings" in response.content.decode()
    assert fake.calls == []


def test_the_admin_retires_only_after_the_grace_period_unless_forced(fake: FakeSecrets) -> None:
    client = staff_client("ops3", "view_platformconfig", "change_platformconfig", "manage_production")
    config = config_of("production", "ios")
    client.post(secret_url(config), {"secret_action": "create"})
    client.post(secret_url(config), {"secret_action": "rotate"})
    config = config_of("production", "ios")
    old = config.previous_intercom_secret_id
    assert 'id="intercom-secret-retire"' in change_page(client, config)
    page = client.post(secret_url(config), {"secret_action": "retire"}, follow=True).content.decode()
    assert "stays accepted until" in page
    client.post(secret_url(config), {"secret_action": "retire", "force": "yes", "reason": "rotation drill"})
    assert old not in fake.store
    assert config_of("production", "ios").previous_intercom_secret_id == ""


def rate_limited_after(fake: FakeSecrets, clock: list[float], monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """The next call takes ``seconds`` (on the clock the deadline goes by) and answers 429, resetting
    in 10 s; waiting moves the clock instead of sleeping."""
    monkeypatch.setattr(time, "sleep", lambda wait: clock.__setitem__(0, clock[0] + wait))
    failure = fake._failure

    def slow_then_rate_limited(method: str) -> Response | None:
        monkeypatch.setattr(fake, "_failure", failure)
        clock[0] += seconds
        headers = {"X-RateLimit-Reset": str(int(time.time()) + 10)}
        return Response('{"type": "error.list", "errors": []}', status=429, headers=headers)

    monkeypatch.setattr(fake, "_failure", slow_then_rate_limited)


def test_the_admin_buttons_keep_to_the_admins_deadline(
    fake: FakeSecrets, clock: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    """20 s of the admin's 25 s are gone when Intercom asks to wait 10 s more: the button gives up and
    says so; the command, with its 120 s, waits and succeeds."""
    client = staff_client("ops7", "view_platformconfig", "change_platformconfig", "manage_production")
    config = config_of("production", "web")
    rate_limited_after(fake, clock, monkeypatch, 20)
    page = client.post(secret_url(config), {"secret_action": "create"}, follow=True).content.decode()
    assert "longer than the 5 s this waits" in page
    assert not config_of("production", "web").has_secret
    rate_limited_after(fake, clock, monkeypatch, 20)
    run("create-secret", "production", "web")
    assert config_of("production", "web").has_secret


def test_a_phase_needs_the_secret_made_in_intercom(fake: FakeSecrets) -> None:
    run("create-secret", "production", "ios")
    run("phase", "production", "ios", "sending")
    assert config_of("production", "ios").phase == RolloutPhase.SENDING


def check_output() -> str:
    out = io.StringIO()
    call_command("check", "--database", "default", stdout=out, stderr=out)
    return out.getvalue()


def test_the_created_secret_is_never_in_a_repr() -> None:
    from intercom_identity.workspace.client import CreatedSecret
    from intercom_identity.workspace.drift import IntercomSecret

    made = CreatedSecret(IntercomSecret("1", "n", frozenset({"ios"}), None), secret="s3cr3t-value-xyz")
    assert "s3cr3t-value-xyz" not in repr(made)


def test_a_404_that_is_not_intercoms_forgets_nothing(fake: FakeSecrets, intercom: FakeIntercom) -> None:
    first = rotated(fake)
    fake.fail["DELETE"] = 404  # no "not_found" error list: a proxy's or a wrong base URL's 404
    code, _out, error = command_result("retire-secret", "production", "ios", "--force", "--reason", "r")
    assert code == 1
    assert "404" in error
    assert config_of("production", "ios").previous_intercom_secret_id == first.intercom_secret_id


def test_the_admin_offers_rotate_and_retire_after_a_hand_copied_secret(fake: FakeSecrets) -> None:
    client = staff_client("ops4", "view_platformconfig", "change_platformconfig", "manage_production")
    configure("production", "android")  # copied by hand
    config = config_of("production", "android")
    page = change_page(client, config)
    assert 'id="intercom-secret-create"' in page
    assert 'id="intercom-secret-retire"' not in page
    client.post(secret_url(config), {"secret_action": "create"})
    page = change_page(client, config_of("production", "android"))
    assert 'id="intercom-secret-rotate"' in page
    assert 'id="intercom-secret-retire"' in page


# --- a secret stored or cleared by hand, after one made in Intercom -------------------------------

BY_HAND = SECRETS[("production", "ios")]  # what an operator copies from Intercom's settings page


def created(fake: FakeSecrets) -> PlatformConfig:
    run("create-secret", "production", "ios")
    return config_of("production", "ios")


def test_set_secret_keeps_the_intercom_made_secret_as_the_previous_one_to_retire(fake: FakeSecrets) -> None:
    first = created(fake)
    run("set-secret", "production", "ios", stdin=BY_HAND)
    config = config_of("production", "ios")
    assert (config.intercom_secret_id, config.intercom_secret_created_at) == ("", None)
    assert config.previous_intercom_secret_id == first.intercom_secret_id
    assert config.previous_secret() == fake.values[first.intercom_secret_id]  # still accepted, still diagnosed
    assert ("intercom_secret", first.intercom_secret_id, "") in kinds(config)
    out = run("retire-secret", "production", "ios", "--force", "--reason", "now copied by hand")
    assert f"previous secret {first.intercom_secret_id} deleted in Intercom and forgotten" in out
    assert first.intercom_secret_id not in fake.store  # Intercom keeps no secret the app forgot
    assert served_secret(config_of("production", "ios")) == BY_HAND


def test_storing_the_same_secret_again_keeps_its_intercom_id(fake: FakeSecrets) -> None:
    first = created(fake)
    run("set-secret", "production", "ios", stdin=fake.values[first.intercom_secret_id])  # as the drift fix says
    config = config_of("production", "ios")
    assert (config.intercom_secret_id, config.previous_intercom_secret_id) == (first.intercom_secret_id, "")
    code, _out, error = command_result("retire-secret", "production", "ios", "--force", "--reason", "r")
    assert (code, "no previous secret to retire" in error) == (1, True)  # the secret in use is never retired
    assert first.intercom_secret_id in fake.store


def test_rotate_after_a_hand_set_secret_waits_for_the_old_one_to_be_retired(fake: FakeSecrets) -> None:
    first = created(fake)
    run("set-secret", "production", "ios", stdin=BY_HAND)
    code, _out, error = command_result("rotate-secret", "production", "ios")
    assert code == 1
    assert f"still has its previous secret (Intercom id {first.intercom_secret_id})" in error
    assert "retire-secret production ios" in error
    assert served_secret(config_of("production", "ios")) == BY_HAND
    run("retire-secret", "production", "ios", "--force", "--reason", "r")
    run("rotate-secret", "production", "ios")
    config = config_of("production", "ios")
    assert served_secret(config) == fake.values[config.intercom_secret_id]
    assert (config.previous_intercom_secret_id, config.previous_secret()) == ("", BY_HAND)
    assert first.intercom_secret_id not in fake.store


def test_set_secret_in_the_middle_of_a_rotation_is_refused(fake: FakeSecrets) -> None:
    first = rotated(fake)
    before = config_of("production", "ios")
    code, _out, error = command_result_with_stdin(BY_HAND, "set-secret", "production", "ios")
    assert code == 1
    assert f"still has its previous secret (Intercom id {first.intercom_secret_id})" in error
    after = config_of("production", "ios")
    assert (after.secret_fingerprint, after.intercom_secret_id) == (
        before.secret_fingerprint,
        before.intercom_secret_id,
    )


def test_the_admin_form_refuses_it_beside_the_field(fake: FakeSecrets) -> None:
    first = rotated(fake)
    client = staff_client("ops5", "view_platformconfig", "change_platformconfig", "manage_production")
    config = config_of("production", "ios")
    response = client.post(f"/admin/intercom_identity/platformconfig/{config.pk}/change/", {"new_secret": BY_HAND})
    assert response.status_code == 200
    page = response.content.decode()
    assert "errorlist" in page
    assert f"still has its previous secret (Intercom id {first.intercom_secret_id})" in page
    assert config_of("production", "ios").secret_fingerprint == config.secret_fingerprint


def test_the_admin_shows_no_stale_intercom_id_after_a_hand_set_secret(fake: FakeSecrets) -> None:
    first = created(fake)
    client = staff_client("ops6", "view_platformconfig", "change_platformconfig", "manage_production")
    client.post(f"/admin/intercom_identity/platformconfig/{first.pk}/change/", {"new_secret": BY_HAND})
    config = config_of("production", "ios")
    assert config.secret_fingerprint == fingerprint(BY_HAND)
    page = change_page(client, config)
    assert "Intercom id " not in page  # the id shown beside a fingerprint is that secret's, or none
    assert fingerprint(BY_HAND) in page
    assert 'id="intercom-secret-retire"' in page  # the one made in Intercom is still to retire there
    assert 'id="intercom-secret-rotate"' not in page
    changelist = client.get("/admin/intercom_identity/platformconfig/").content.decode()
    assert f"Intercom id {first.intercom_secret_id}" not in changelist


def test_clear_then_create_works_and_the_cleared_one_is_retired_in_intercom(fake: FakeSecrets) -> None:
    first = created(fake)
    run("clear-secret", "production", "ios")
    config = config_of("production", "ios")
    assert not config.has_secret
    assert (config.intercom_secret_id, config.previous_intercom_secret_id) == ("", first.intercom_secret_id)
    run("create-secret", "production", "ios")
    config = config_of("production", "ios")
    assert served_secret(config) == fake.values[config.intercom_secret_id]
    assert config.previous_intercom_secret_id == first.intercom_secret_id  # Intercom still holds it
    run("retire-secret", "production", "ios", "--force", "--reason", "cleared before")
    assert first.intercom_secret_id not in fake.store
    assert config.intercom_secret_id in fake.store


def test_clear_in_the_middle_of_a_rotation_is_refused(fake: FakeSecrets) -> None:
    first = rotated(fake)
    code, _out, error = command_result("clear-secret", "production", "ios")
    assert code == 1
    assert f"still has its previous secret (Intercom id {first.intercom_secret_id})" in error
    assert config_of("production", "ios").has_secret


def test_the_documented_fix_for_a_secret_deleted_in_intercom(fake: FakeSecrets, intercom: FakeIntercom) -> None:
    """docs/secrets.md, ``stored_secret_not_in_intercom``: move to off, clear-secret, create-secret; the old id,
    already gone from Intercom, is then retired (forgotten)."""
    intercom.answer(identity_verification=False)
    first = created(fake)
    del fake.store[first.intercom_secret_id]  # deleted in Intercom's settings
    assert "stored_secret_not_in_intercom" in drift_codes()
    run("clear-secret", "production", "ios")
    run("create-secret", "production", "ios")
    assert "stored_secret_not_in_intercom" not in drift_codes()
    out = run("retire-secret", "production", "ios", "--force", "--reason", "gone in Intercom")
    assert "was already gone from Intercom; forgotten" in out


def test_drift_after_a_hand_set_secret_is_judged_on_that_secret(fake: FakeSecrets, intercom: FakeIntercom) -> None:
    intercom.answer(identity_verification=False)
    first = created(fake)
    del fake.store[first.intercom_secret_id]  # replaced in Intercom's settings by the one copied by hand
    run("set-secret", "production", "ios", stdin=BY_HAND)
    assert "stored_secret_not_in_intercom" not in drift_codes()


def test_an_intercom_made_secret_replaced_by_hand_is_reported_until_retired(
    fake: FakeSecrets, intercom: FakeIntercom
) -> None:
    intercom.answer(identity_verification=False)
    first = created(fake)
    run("set-secret", "production", "ios", stdin=BY_HAND)
    replaced = timezone.now() - timedelta(days=8)
    PlatformConfig.objects.filter(pk=first.pk).update(secret_set_at=replaced)
    findings = drift_findings()
    assert [f["detail"] for f in findings if f["code"] == "old_secret_not_retired"] == [
        f"The iOS secret replaced on {utc(replaced)} (Intercom id {first.intercom_secret_id}) still exists in "
        "Intercom, past the grace period of 168 hours: anyone holding it can still be trusted. "
        "Retire it: `manage.py intercom_identity retire-secret ENV ios`."
    ]


def drift_findings() -> list[dict[str, Any]]:
    _code, out, _error = command_result("workspace", "production", "--json")
    return [finding for finding in json.loads(out)["drift"] if finding["platform"] == "ios"]


def drift_codes() -> set[str]:
    return {finding["code"] for finding in drift_findings()}


def utc(moment: Any) -> str:
    return f"{moment.astimezone(dt_timezone.utc):%Y-%m-%d %H:%M} UTC"


def command_result_with_stdin(stdin: str, *args: str) -> tuple[int, str, str]:
    try:
        return 0, run(*args, stdin=stdin), ""
    except CommandError as exc:
        return exc.returncode, "", str(exc)


@pytest.mark.parametrize("slug_length", [1, 30, 50])
def test_a_new_secrets_name_fits_its_column_whatever_the_environments_slug(slug_length: int) -> None:
    from intercom_identity.models import Environment
    from intercom_identity.validators import MAX_ENVIRONMENT_SLUG_LENGTH, MAX_SECRET_NAME_LENGTH

    assert slug_length <= MAX_ENVIRONMENT_SLUG_LENGTH
    slug = ("staging-eu-" * 5)[:slug_length]
    config = PlatformConfig(environment=Environment(slug=slug), platform="android")
    name = secrets.new_secret_name(config)
    assert len(name) <= MAX_SECRET_NAME_LENGTH
    prefix, kept_slug, platform, nonce = name.split(" ")
    assert (prefix, platform, len(nonce)) == ("intercom-identity", "android", 8)
    assert kept_slug
    assert slug.startswith(kept_slug)


def test_the_admins_secret_buttons_are_never_one_transaction_with_atomic_requests() -> None:
    """With ``ATOMIC_REQUESTS`` the whole view would be one transaction: the name recorded before
    Intercom is asked would not be committed, and a failure could not be cleaned up."""
    from django.db import DEFAULT_DB_ALIAS
    from django.urls import resolve, reverse

    url = reverse("admin:intercom_identity_platformconfig_intercom_secret", args=[1])
    assert DEFAULT_DB_ALIAS in getattr(resolve(url).func, "_non_atomic_requests", set())
