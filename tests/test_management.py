"""``manage.py intercom_identity``: its subcommands, their output and their refusals."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from intercom_identity import compute_user_hash
from intercom_identity.credentials.hashing import fingerprint
from intercom_identity.models import Environment, PlatformConfig, RolloutPhase
from intercom_identity.validators import MIN_SECRET_LENGTH
from tests.helpers import SECRETS, below_threshold, configure, forced_enforcement, ios, make_ready, run

pytestmark = pytest.mark.django_db

SECRET = "cmd-secret-0a1b2c3d4e5f60718293a4b5c6d7e8f9"


def config_of(env: str, platform: str) -> PlatformConfig:
    return PlatformConfig.objects.get(environment__slug=env, platform=platform)


@pytest.mark.parametrize("stdin", [SECRET, SECRET + "\n", SECRET + "\r\n"])
def test_set_secret_reads_stdin_and_prints_the_fingerprint_only(stdin: str) -> None:
    output = run("set-secret", "production", "android", stdin=stdin)
    assert output == fingerprint(SECRET) + "\n"
    assert config_of("production", "android").secret() == SECRET


@pytest.mark.parametrize(
    ("stdin", "reason"),
    [
        ("", "empty"),
        ("\n", "empty"),
        (SECRET + "\n\n", "whitespace"),
        (" " + SECRET, "whitespace"),
        (SECRET + " \n", "whitespace"),
        ("ab\x07" + SECRET, "control"),
    ],
)
def test_set_secret_refuses_paste_mistakes(stdin: str, reason: str) -> None:
    with pytest.raises(CommandError, match=reason) as excinfo:
        run("set-secret", "development", "ios", stdin=stdin)
    assert SECRET not in str(excinfo.value)
    assert not config_of("development", "ios").has_secret


@pytest.mark.parametrize(
    ("stdin", "says"),
    [
        ("x", "has 1 characters; Intercom's identity verification secrets have 40"),
        ("changeme", "truncated paste or a placeholder"),
        ("abc12def0000000000", "is an Intercom app ID"),  # production's own app ID
        (SECRETS[("development", "ios")], "the one already stored for Development / test / iOS"),  # wrong workspace
    ],
)
def test_set_secret_refuses_secrets_that_look_like_a_mistake(stdin: str, says: str) -> None:
    Environment.objects.filter(slug="production").update(app_id="abc12def0000000000")
    configure("development", "ios")
    with pytest.raises(CommandError, match=re.escape(says)) as excinfo:
        run("set-secret", "production", "ios", stdin=stdin)
    assert stdin not in str(excinfo.value)
    assert not config_of("production", "ios").has_secret


def test_set_secret_accepts_the_same_secret_again_for_the_same_pair() -> None:
    run("set-secret", "development", "ios", stdin=SECRET)
    run("set-secret", "development", "ios", stdin=SECRET)
    assert config_of("development", "ios").secret() == SECRET


def test_set_secret_replaces() -> None:
    run("set-secret", "development", "ios", stdin=SECRET)
    run("set-secret", "development", "ios", stdin="second-" + SECRET)
    assert config_of("development", "ios").secret() == "second-" + SECRET


def test_secret_is_never_an_argument() -> None:
    with pytest.raises(CommandError):
        run("set-secret", "development", "ios", SECRET)


def test_phase_changes_and_reports() -> None:
    configure("development", "web")
    make_ready("development", "web")
    assert "off -> sending" in run("phase", "development", "web", "sending")
    assert "off -> sending" not in run("phase", "development", "web", "sending")
    assert "sending -> enforced" in run("phase", "development", "web", "enforced")
    assert config_of("development", "web").phase == RolloutPhase.ENFORCED
    run("phase", "development", "web", "off")
    assert config_of("development", "web").phase == RolloutPhase.OFF


def test_phase_needs_a_secret() -> None:
    with pytest.raises(CommandError, match="no stored secret"):
        run("phase", "production", "ios", "enforced")
    assert config_of("production", "ios").phase == RolloutPhase.OFF


@pytest.mark.parametrize(
    "args",
    [
        ("phase", "staging", "ios", "off"),
        ("phase", "development", "windows", "off"),
        ("phase", "development", "ios", "maximum"),
        ("hash", "nowhere", "ios", "--user-id", "1"),
        ("set-secret", "development", "blackberry"),
        ("frobnicate",),
        (),
    ],
)
def test_bad_input_is_a_command_error(args: tuple[str, ...]) -> None:
    with pytest.raises(CommandError):
        run(*args, stdin=SECRET)


def test_hash_prints_the_digest_whatever_the_phase() -> None:
    configure("development", "ios")  # phase off
    expected = compute_user_hash(SECRETS[("development", "ios")], user_id="42")
    assert run("hash", "development", "ios", "--user-id", "42") == expected + "\n"
    assert run("hash", "development", "ios", "--user-id", "42", "--email", "a@b.c") == expected + "\n"
    by_email = compute_user_hash(SECRETS[("development", "ios")], email="a@b.c")
    assert run("hash", "development", "ios", "--email", "a@b.c") == by_email + "\n"


def test_hash_matches_openssl_vectors(vectors: list[dict[str, str]]) -> None:
    # A secret too short to be stored (set-secret refuses it) is covered by compute_user_hash's own test.
    storable = [vector for vector in vectors if len(vector["secret"]) >= MIN_SECRET_LENGTH]
    assert len(storable) >= 8
    for vector in storable:
        configure("development", "android", secret=vector["secret"])
        output = run("hash", "development", "android", "--user-id", vector["identifier"])
        assert output == vector["user_hash"] + "\n", vector["note"]


def test_hash_needs_an_identifier_and_a_secret() -> None:
    configure("development", "ios")
    with pytest.raises(CommandError, match="--user-id or --email"):
        run("hash", "development", "ios")
    with pytest.raises(CommandError, match="No Intercom secret"):
        run("hash", "production", "web", "--user-id", "1")


def test_status_table_and_json(all_secrets: Any) -> None:
    table = run("status")
    assert "development" in table
    assert "(just now)" in table  # the secrets were set a moment ago
    assert fingerprint(SECRETS[("production", "web")]) in table
    status = json.loads(run("status", "--json"))
    assert set(status) == {"environments", "deadline"}
    matrix = status["environments"]
    assert set(matrix) == {"development", "production"}
    assert set(matrix["production"]) == {"ios", "android", "web"}
    assert matrix["development"]["ios"]["phase"] == "sending"
    assert matrix["production"]["ios"]["phase"] == "off"
    assert matrix["production"]["web"]["fingerprint"] == fingerprint(SECRETS[("production", "web")])
    assert matrix["production"]["web"]["secret_set_at"]


def test_status_of_an_empty_install() -> None:
    matrix = json.loads(run("status", "--json"))["environments"]
    assert matrix["development"]["ios"] == {
        "phase": "off",
        "credential": "user_hash",
        "fingerprint": None,
        "secret_set_at": None,
        "secret_source": None,
        "served": "default",
    }
    assert matrix["production"]["ios"]["served"] == "records_only"  # the test settings serve development only


def test_status_json_says_where_production_stands_against_the_deadline(today: Callable[[str], None]) -> None:
    configure("production", "ios", RolloutPhase.SENDING)
    deadline = json.loads(run("status", "--json"))["deadline"]
    assert (deadline["deadline"], deadline["days_left"]) == ("2027-01-31", 55)
    rows = {row["platform"]: row for row in deadline["platforms"]}
    assert set(rows) == {"ios", "android", "web"}
    assert rows["ios"] == {
        "environment": "production",
        "platform": "ios",
        "phase": "sending",
        "adoption": None,
        "next_phase": "enforced",
        "next_step": rows["ios"]["next_step"],
    }
    assert rows["ios"]["next_step"] in run("status")  # the table's line, word for word
    assert rows["web"]["next_phase"] == "sending"


def test_status_json_has_no_deadline_before_its_window_or_when_turned_off(
    today: Callable[[str], None], settings: Any
) -> None:
    today("2026-12-01")  # 61 days before: the table says nothing either
    assert json.loads(run("status", "--json"))["deadline"] is None
    today("2027-02-02")
    assert json.loads(run("status", "--json"))["deadline"]["days_left"] == -2
    settings.INTERCOM_IDENTITY_DEADLINE = None
    assert json.loads(run("status", "--json"))["deadline"] is None


def test_set_secret_refuses_non_utf8_stdin() -> None:
    stdin = io.TextIOWrapper(io.BytesIO(b"secret-\xff-not-utf8"), encoding="utf-8")
    with pytest.raises(CommandError, match="not UTF-8"):
        call_command("intercom_identity", "set-secret", "development", "ios", stdin=stdin, stdout=io.StringIO())
    assert not config_of("development", "ios").has_secret


def test_environment_inserted_without_rows_still_works() -> None:
    Environment.objects.bulk_create([Environment(slug="staging", label="Staging")])  # no save(): no rows
    assert "fingerprint" not in run("set-secret", "staging", "web", stdin=SECRET)
    assert "off -> sending" in run("phase", "staging", "web", "sending")
    assert json.loads(run("status", "--json"))["environments"]["staging"]["web"]["phase"] == "sending"


# --- adoption, minimum version, history ----------------------------------------------


def test_history_command() -> None:
    configure("development", "ios", RolloutPhase.SENDING)
    text = run("history")
    assert "development/ios phase off -> sending" in text
    events = json.loads(run("history", "--json", "--platform", "ios"))
    assert [e["kind"] for e in events] == ["phase", "secret"]
    assert set(events[0]) == {
        "at",
        "actor",
        "environment",
        "platform",
        "kind",
        "from",
        "to",
        "adoption_ratio",
        "reason",
        "forced",
    }
    assert json.loads(run("history", "--json", "--environment", "production")) == []


def test_adoption_command() -> None:
    below_threshold()
    data = json.loads(run("adoption", "development", "ios", "--json"))
    assert (data["active_users"], data["ready_users"], data["ratio"], data["threshold"]) == (4, 1, 0.25, 0.95)
    assert data["versions"] == [
        {
            "version": "2.0",
            "users": 1,
            "credential_users": 1,
            "ready_users": 1,
            "sends_credential": True,
            "counted_by": "evidence",
        },
        {
            "version": "1.0",
            "users": 3,
            "credential_users": 0,
            "ready_users": 0,
            "sends_credential": False,
            "counted_by": None,
        },
    ]
    assert data["evidence"] == {
        "share": 0.95,
        "min_users": 1,
        "min_sending_version": "",
        "per_user": False,
        "seen_without_credential": [],
    }
    assert data["soak"] is None  # mobile: no soak
    text = run("adoption", "development", "ios", "--days", "7")
    assert "25.0% (1 of 4" in text
    assert "below threshold" in text
    assert "2.0                          1  sends credential (1 of 1 seen receiving it)" in text
    needs = "no credential (0 of 3 seen receiving it; needs 95.0% of them and at least 1)"
    assert f"1.0                          3  {needs}" in text
    with pytest.raises(CommandError):
        run("adoption", "development", "ios", "--days", "0")


def test_min_version_command() -> None:
    assert "none -> 5.2.0" in run("min-version", "development", "ios", "5.2.0")
    assert ios().min_sending_version == "5.2.0"
    run("min-version", "development", "ios", "")
    assert ios().min_sending_version == ""


def test_days_out_of_range_is_a_short_usage_error() -> None:
    with pytest.raises(CommandError, match="not a number of days from 1 to 3650"):
        run("adoption", "development", "ios", "--days", "0")


def test_history_shows_one_decimal_and_json_keeps_the_exact_ratio() -> None:
    forced_enforcement()
    assert "adoption 85.7% FORCED" in run("history")
    assert json.loads(run("history", "--json"))[0]["adoption_ratio"] == 6 / 7


# The command refuses arguments it cannot use with a clear message and exit 2, never a traceback.
# Arguments that are not UTF-8 bytes reach Python as lone surrogates (surrogateescape), which neither
# the database nor the hasher can encode; a NUL (possible from call_command, not from a shell) is
# refused by PostgreSQL.
@pytest.mark.parametrize(
    "args",
    [
        ("hash", "development", "ios", "--user-id", "\udcff"),
        ("hash", "development", "ios", "--email", "jane\udce9@example.com"),
        ("history", "--environment", "\udcff"),
        ("phase", "dev\udcffelopment", "ios", "off"),
        ("adoption", "dev\udcff", "ios"),
        ("mode", "de\x00v", "ios", "jwt"),
        ("history", "--environment", "a\x00"),
        ("hash", "development", "ios", "--user-id", "4\x002"),
    ],
)
def test_arguments_that_are_not_text_are_a_usage_error(args: tuple[str, ...]) -> None:
    configure("development", "ios", RolloutPhase.SENDING)
    with pytest.raises(CommandError, match="not text") as raised:
        call_command("intercom_identity", *args, stdout=io.StringIO(), stderr=io.StringIO())
    assert raised.value.returncode == 2
    assert str(raised.value).isprintable()
