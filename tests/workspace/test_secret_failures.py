"""Each failure point of ``create-secret`` and ``rotate-secret``: what the row serves afterwards, what
the command says, and that the next command finishes the attempt. ``create-secret`` starts from a
secret copied by hand, ``rotate-secret`` from one made in Intercom, so both have a secret to keep.

The commit's own failures run with real commits (``transaction=True``): the commit of the store
goes through and then reports an error, or fails, with the database reachable afterwards or not."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import pytest
from django.db import OperationalError, connection, connections

from intercom_identity.models import Environment, PlatformConfig
from intercom_identity.rollout import changes
from tests.helpers import SECRETS, command_result, config_of, configure, database_down, run
from tests.intercom_fake import FakeSecrets

pytestmark = pytest.mark.django_db

COMMANDS = ["create-secret", "rotate-secret"]


def served(config: PlatformConfig | None = None) -> str:
    return (config or config_of("production", "ios")).secret()


def start(command: str, fake: FakeSecrets) -> str:
    """The secret served before ``command``: copied by hand (create) or made in Intercom (rotate)."""
    if command == "create-secret":
        configure("production", "ios")
        return SECRETS[("production", "ios")]
    run("create-secret", "production", "ios")
    return fake.values[config_of("production", "ios").intercom_secret_id]


def deletions(fake: FakeSecrets) -> list[str]:
    return [path for method, path in fake.calls if method == "DELETE"]


def made_by(fake: FakeSecrets, config: PlatformConfig) -> list[dict[str, Any]]:
    return fake.named(config.pending_secret_name) if config.pending_secret_name else []


@pytest.fixture(params=COMMANDS)
def command(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_intercom_down_before_it_answers_keeps_the_secret_served(command: str, fake: FakeSecrets) -> None:
    old = start(command, fake)
    fake.fail["POST"] = 503
    code, _out, error = command_result(command, "production", "ios")
    assert code == 1
    assert "server error" in error
    assert "run the command again" in error
    assert f"Production / iOS still serves its secret {config_of('production', 'ios').secret_fingerprint}." in error
    assert served() == old
    run(command, "production", "ios")
    assert served() == fake.values[config_of("production", "ios").intercom_secret_id]


def test_an_answer_lost_keeps_the_secret_served_and_the_next_command_deletes_the_orphan(
    command: str, fake: FakeSecrets
) -> None:
    old = start(command, fake)
    fake.lose_answer = True
    assert command_result(command, "production", "ios")[0] == 1
    config = config_of("production", "ios")
    assert served(config) == old
    [orphan] = made_by(fake, config)
    run(command, "production", "ios")
    assert orphan["id"] not in fake.store
    assert served() == fake.values[config_of("production", "ios").intercom_secret_id]


def test_a_store_refused_before_the_commit_deletes_the_new_secret_and_keeps_the_old(
    command: str, fake: FakeSecrets, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = start(command, fake)
    before = config_of("production", "ios")

    def down(*args: Any, **kwargs: Any) -> str:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(changes, "store_created_secret", down)
    code, _out, error = command_result(command, "production", "ios")
    assert code == 1
    assert "it was deleted in Intercom again and nothing changed" in error
    assert f"still serves its secret {before.secret_fingerprint}" in error
    config = config_of("production", "ios")
    assert served(config) == old
    assert config.previous_intercom_secret_id == before.previous_intercom_secret_id
    assert [s for s in fake.store.values() if s["name"].startswith("intercom-identity")] == [
        s for s in fake.store.values() if s["id"] == before.intercom_secret_id
    ]


def test_a_store_refused_and_intercom_down_keep_the_old_secret_until_the_next_command(
    command: str, fake: FakeSecrets, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = start(command, fake)

    def down(*args: Any, **kwargs: Any) -> str:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(changes, "store_created_secret", down)
    fake.fail["DELETE"] = 503
    code, _out, error = command_result(command, "production", "ios")
    monkeypatch.undo()
    assert code == 1
    assert "nor deleted in Intercom: run the command again" in error
    config = config_of("production", "ios")
    assert served(config) == old
    [orphan] = made_by(fake, config)
    run(command, "production", "ios")
    assert orphan["id"] not in fake.store


def test_the_database_down_before_intercom_is_asked_keeps_the_secret_and_asks_nothing(
    command: str, fake: FakeSecrets
) -> None:
    old = start(command, fake)
    calls = len(fake.calls)
    with connection.execute_wrapper(database_down), pytest.raises(OperationalError):
        command_result(command, "production", "ios")
    assert fake.calls[calls:] == []
    assert served() == old


def test_intercom_down_while_finishing_an_earlier_attempt_keeps_the_secret(command: str, fake: FakeSecrets) -> None:
    old = start(command, fake)
    fake.lose_answer = True
    command_result(command, "production", "ios")  # leaves an attempt to finish
    fake.fail["GET"] = 503
    asked = fake.calls.count(("POST", "/secure_mode_secrets"))
    code, _out, error = command_result(command, "production", "ios")
    assert code == 1
    assert "GET /secure_mode_secrets" in error
    config = config_of("production", "ios")
    assert served(config) == old
    assert made_by(fake, config)  # still recorded: the next command deletes it
    assert fake.calls.count(("POST", "/secure_mode_secrets")) == asked  # no new secret asked for meanwhile


# --- the commit of the store fails (real commits) ----------------------------------------------------


@pytest.fixture
def committing(command: str) -> str:
    # A transactional test empties the tables after it, the migrations' rows included.
    environment, _ = Environment.objects.get_or_create(
        slug="production", defaults={"label": "Production", "is_production": True}
    )
    environment.save()  # its three platform rows
    return command


def failing_commit(
    monkeypatch: pytest.MonkeyPatch, outage: ExitStack, *, applied: bool, then_down: bool
) -> Callable[[], None]:
    """The commit of ``store_created_secret`` reports an error: after it went through (``applied``) or
    instead; with the database unreachable from then on (``then_down``) or not. Returns the undo."""
    wrapper = type(connections["default"])
    commit, store = wrapper.commit, changes.store_created_secret

    def fail(self: Any) -> None:
        if applied:
            commit(self)
        if then_down:
            outage.enter_context(connection.execute_wrapper(database_down))
        raise OperationalError("server closed the connection unexpectedly")

    def store_with_a_failing_commit(*args: Any, **kwargs: Any) -> str:
        monkeypatch.setattr(wrapper, "commit", fail)
        try:
            return store(*args, **kwargs)
        finally:
            monkeypatch.setattr(wrapper, "commit", commit)

    monkeypatch.setattr(changes, "store_created_secret", store_with_a_failing_commit)
    return monkeypatch.undo


def attempt(command: str, monkeypatch: pytest.MonkeyPatch, *, applied: bool, then_down: bool) -> tuple[int, str, str]:
    """``command`` with the commit of its store failing (``failing_commit``); the database is back after it."""
    with ExitStack() as outage:
        undo = failing_commit(monkeypatch, outage, applied=applied, then_down=then_down)
        result = command_result(command, "production", "ios")
    undo()
    return result


@pytest.mark.django_db(transaction=True)
def test_a_commit_whose_answer_is_lost_serves_the_new_secret_and_deletes_nothing(
    committing: str, fake: FakeSecrets, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = start(committing, fake)
    code, out, _error = attempt(committing, monkeypatch, applied=True, then_down=False)
    assert code == 0
    config = config_of("production", "ios")
    assert out.strip() == config.secret_fingerprint
    assert served(config) == fake.values[config.intercom_secret_id]  # Intercom still has the secret served
    assert config.previous_secret() == old
    assert deletions(fake) == []


@pytest.mark.django_db(transaction=True)
def test_a_commit_that_may_have_gone_through_deletes_nothing_in_intercom(
    committing: str, fake: FakeSecrets, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = start(committing, fake)
    code, _out, error = attempt(committing, monkeypatch, applied=True, then_down=True)
    assert code == 1
    assert "before it could be confirmed stored, so it was not deleted in Intercom" in error
    assert deletions(fake) == []
    config = config_of("production", "ios")  # it had gone through
    assert served(config) == fake.values[config.intercom_secret_id]
    assert config.previous_secret() == old
    code, _out, error = command_result(committing, "production", "ios")  # run again: it says where things are
    assert code == 1
    says = {
        "create-secret": f"already has a secret made in Intercom (id {config.intercom_secret_id})",
        "rotate-secret": f"still has its previous secret (Intercom id {config.previous_intercom_secret_id})",
    }
    assert says[committing] in error


@pytest.mark.django_db(transaction=True)
def test_a_commit_that_failed_deletes_the_new_secret_and_keeps_the_old(
    committing: str, fake: FakeSecrets, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = start(committing, fake)
    code, _out, error = attempt(committing, monkeypatch, applied=False, then_down=False)
    assert code == 1
    assert "it was deleted in Intercom again and nothing changed" in error
    config = config_of("production", "ios")
    assert served(config) == old
    assert config.pending_secret_name == ""
    assert len(deletions(fake)) == 1
    made = [secret["id"] for secret in fake.store.values() if secret["name"].startswith("intercom-identity")]
    assert made == ([config.intercom_secret_id] if config.intercom_secret_id else [])


@pytest.mark.django_db(transaction=True)
def test_a_commit_that_failed_with_the_database_gone_is_finished_by_the_next_command(
    committing: str, fake: FakeSecrets, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = start(committing, fake)
    code, _out, error = attempt(committing, monkeypatch, applied=False, then_down=True)
    assert code == 1
    assert "so it was not deleted in Intercom" in error
    assert deletions(fake) == []
    config = config_of("production", "ios")
    assert served(config) == old
    [orphan] = made_by(fake, config)
    run(committing, "production", "ios")
    assert orphan["id"] not in fake.store
    assert served() == fake.values[config_of("production", "ios").intercom_secret_id]
