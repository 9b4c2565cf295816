"""Changes under the rules (rollout/changes.py): the enforcement guard, all-or-nothing changes, the audit trail,
and the confirmation page and the command agreeing on every selection."""

from __future__ import annotations

import io
import itertools
import json
import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError
from django.db import transaction
from django.template import Context, Template
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from intercom_identity.checks import check_web_app_id
from intercom_identity.credentials.hashing import fingerprint
from intercom_identity.exceptions import EnforcementBlocked, InvalidAppId, ReasonRequired
from intercom_identity.models import (
    AuditEvent,
    Environment,
    PlatformConfig,
    RolloutPhase,
)
from intercom_identity.rollout import changes as rollout
from intercom_identity.rollout.changes import (
    change_mode,
    change_phase,
    set_app_id,
    set_min_sending_version,
    store_secret,
)
from tests.helpers import SECRETS, below_threshold, configure, ios, run, seen, users

pytestmark = pytest.mark.django_db


def test_guard_refuses_enforcement_below_threshold() -> None:
    config = below_threshold()
    with pytest.raises(EnforcementBlocked) as excinfo:
        change_phase(config, RolloutPhase.ENFORCED)
    assert "25.0%" in str(excinfo.value)
    assert "95.0%" in str(excinfo.value)
    config.refresh_from_db()
    assert config.phase == RolloutPhase.SENDING


def test_guard_through_the_command() -> None:
    below_threshold()
    with pytest.raises(CommandError, match=r"adoption is 25.0% \(1 of 4 .*threshold 95.0%"):
        run("phase", "development", "ios", "enforced")
    with pytest.raises(CommandError, match="reason"):
        run("phase", "development", "ios", "enforced", "--force")
    assert ios().phase == RolloutPhase.SENDING
    run("phase", "development", "ios", "enforced", "--force", "--reason", "old versions are test devices")
    assert ios().phase == RolloutPhase.ENFORCED
    event = AuditEvent.objects.filter(kind="phase").latest("created_at")
    assert (event.from_value, event.to_value, event.forced) == ("sending", "enforced", True)
    assert event.reason == "old versions are test devices"
    assert event.adoption_ratio == 0.25


def test_enforcing_at_the_threshold_is_not_forced() -> None:
    config = configure("development", "ios", RolloutPhase.SENDING)
    for person in users(20, "t"):
        seen(person, "2.0", sent=True)
    change_phase(config, RolloutPhase.ENFORCED, force=True, reason="belt and braces")
    event = AuditEvent.objects.filter(kind="phase").latest("created_at")
    assert event.forced is False  # the guard did not need overriding


def test_going_back_from_enforced_is_always_allowed_and_recorded() -> None:
    config = below_threshold()
    change_phase(config, RolloutPhase.ENFORCED, force=True, reason="test")
    assert change_phase(config, RolloutPhase.SENDING, reason="rollback") == RolloutPhase.ENFORCED
    event = AuditEvent.objects.filter(kind="phase").latest("created_at")
    assert (event.from_value, event.to_value, event.forced, event.reason) == ("enforced", "sending", False, "rollback")


def test_force_needs_a_reason() -> None:
    config = below_threshold()
    with pytest.raises(ReasonRequired):
        change_phase(config, RolloutPhase.ENFORCED, force=True, reason="  ")


def test_every_kind_of_change_is_audited_without_secrets(admin_client: Client) -> None:
    config = ios()
    store_secret(config, SECRETS[("development", "ios")])
    store_secret(config, SECRETS[("development", "android")] + "-x")
    change_phase(config, RolloutPhase.SENDING)
    change_mode(config, "jwt", reason="messenger security")
    set_min_sending_version(config, "5.2")
    change_phase(config, RolloutPhase.SENDING)  # no change, no row
    rows = list(AuditEvent.objects.order_by("id").values_list("kind", "from_value", "to_value"))
    assert rows == [
        ("secret", "", fingerprint(SECRETS[("development", "ios")])),
        (
            "secret",
            fingerprint(SECRETS[("development", "ios")]),
            fingerprint(SECRETS[("development", "android")] + "-x"),
        ),
        ("phase", "off", "sending"),
        ("credential_mode", "user_hash", "jwt"),
        ("min_sending_version", "", "5.2"),
    ]
    assert all(event.actor_label.startswith("command line") for event in AuditEvent.objects.all())
    listing = admin_client.get(reverse("admin:intercom_identity_auditevent_changelist")).content.decode()
    assert "messenger security" in listing
    for secret in SECRETS.values():
        assert secret not in listing


CHANGELIST = "/admin/intercom_identity/platformconfig/"


def mixed_rows() -> dict[str, PlatformConfig]:
    """Four rows, each judged differently by the guard when moved to enforced."""
    ready = configure("development", "ios", RolloutPhase.SENDING)
    for person in users(2, "ready"):
        seen(person, "2.0", sent=True)
    below = configure("development", "android", RolloutPhase.SENDING)
    for person in users(2, "old"):
        seen(person, "1.0", sent=False, platform="android")
    already = configure("development", "web", RolloutPhase.ENFORCED)  # forced at set-up; no active users
    no_secret = PlatformConfig.objects.select_related("environment").get(environment__slug="production", platform="ios")
    return {"ready": ready, "below": below, "already": already, "no_secret": no_secret}


def command_outcome(config: PlatformConfig) -> str:
    """What ``phase ENV PLATFORM enforced`` does to one row (rolled back afterwards)."""
    with transaction.atomic():
        try:
            out = run("phase", config.environment.slug, config.platform, "enforced")
        except CommandError as exc:
            outcome = "blocked" if "Refusing to enforce" in str(exc) else "missing_secret"
        else:
            outcome = "unchanged" if "already in phase" in out else "changes"
        transaction.set_rollback(True)
    return outcome


def page_outcomes(client: Client, configs: list[PlatformConfig]) -> dict[str, set[str]]:
    """What the confirmation page of the enforce action says of each row, by its label."""
    page = client.post(CHANGELIST, {"action": "move_to_enforced", "_selected_action": [c.pk for c in configs]})
    html = page.content.decode()
    readiness = html.split('id="readiness"', 1)[1].split("</table>", 1)[0] if 'id="readiness"' in html else ""
    blockers = html.split('id="blockers"', 1)[1].split("</div>", 1)[0] if 'id="blockers"' in html else ""
    return {
        "changes": set(re.findall(r'<tr class="changes"><th scope="row">([^<]+)</th>', html)),
        "unchanged": set(re.findall(r'<tr class="unchanged"><th scope="row">([^<]+)</th>', html)),
        "blocked": set(re.findall(r'<tr class="below-threshold">\s*<th scope="row">([^<]+)</th>', readiness)),
        "guarded": set(re.findall(r"<tr class=\"[^\"]+\">\s*<th scope=\"row\">([^<]+)</th>", readiness)),
        "missing_secret": set(re.findall(r"<li><strong>([^<]+)</strong>: <span[^>]*>No secret yet", blockers)),
        "offers_force": {"yes"} if 'name="force"' in html else set(),
        "offers_confirm": {"yes"} if 'name="confirm"' in html else set(),
        "continues_with": set(
            re.findall(r'name="_selected_action" value="(\d+)"', html.split('id="continue-without"')[0])
        )
        if 'id="continue-without"' in html
        else set(),
    }


def test_the_page_and_the_command_agree_on_every_mixed_selection(admin_client: Client) -> None:
    rows = mixed_rows()
    by_command = {name: command_outcome(config) for name, config in rows.items()}
    assert by_command == {"ready": "changes", "below": "blocked", "already": "unchanged", "no_secret": "missing_secret"}
    names = list(rows)
    for size in range(1, len(names) + 1):
        for selection in itertools.combinations(names, size):
            configs = [rows[name] for name in selection]
            labels = {name: str(rows[name]) for name in selection}
            page = page_outcomes(admin_client, configs)
            expected = {
                outcome: {labels[n] for n in selection if by_command[n] == outcome} for outcome in by_command.values()
            }
            assert page["unchanged"] == expected["unchanged"], selection  # an enforced row is no change
            assert page["changes"] == expected["changes"] | expected["blocked"] | expected["missing_secret"], selection
            assert page["missing_secret"] == expected["missing_secret"], selection
            if expected["missing_secret"]:
                # A row without a secret stops the change: no form that could not succeed, only the
                # reason, the link to set it, and going on without that row when there are others.
                assert page["guarded"] == page["offers_force"] == page["offers_confirm"] == set(), selection
                others = {str(rows[n].pk) for n in selection if by_command[n] != "missing_secret"}
                assert page["continues_with"] == others, selection
            else:
                assert page["blocked"] == expected["blocked"], selection
                assert page["guarded"] == expected["changes"] | expected["blocked"], selection
                assert page["offers_force"] == ({"yes"} if expected["blocked"] else set()), selection
                assert page["offers_confirm"] == {"yes"}, selection
            # Confirming without force applies every row or none, as the command would row by row.
            with transaction.atomic():
                admin_client.post(
                    CHANGELIST,
                    {"action": "move_to_enforced", "_selected_action": [c.pk for c in configs], "confirm": "yes"},
                )
                after = {n: PlatformConfig.objects.get(pk=rows[n].pk).phase for n in selection}
                transaction.set_rollback(True)
            all_allowed = not (expected["blocked"] or expected["missing_secret"])
            for name in selection:
                was = RolloutPhase.ENFORCED if name == "already" else rows[name].phase
                assert after[name] == (RolloutPhase.ENFORCED if all_allowed else was), (selection, name)


def test_preview_counts_only_rows_that_move() -> None:
    rows = mixed_rows()
    plan = rollout.preview(rows.values(), RolloutPhase.ENFORCED)
    assert [move.config for move in plan.changing] == [rows["ready"], rows["below"], rows["no_secret"]]
    assert plan.below_threshold == [rows["below"]]
    assert plan.missing_secret == [rows["no_secret"]]
    assert [config for config, _numbers in plan.readiness] == [rows["ready"], rows["below"]]
    assert rollout.preview([rows["already"]], RolloutPhase.ENFORCED).readiness == []


def test_change_many_is_all_or_nothing_and_audited(admin_user: Any) -> None:
    rows = mixed_rows()
    before = AuditEvent.objects.count()
    with pytest.raises(EnforcementBlocked):
        rollout.change_many([rows["ready"], rows["below"]], RolloutPhase.ENFORCED, actor=admin_user)
    assert PlatformConfig.objects.get(pk=rows["ready"].pk).phase == RolloutPhase.SENDING
    assert AuditEvent.objects.count() == before
    changed = rollout.change_many(
        [rows["ready"], rows["below"], rows["already"]], "enforced", actor=admin_user, reason="launch", force=True
    )
    assert [previous for _config, previous in changed] == ["sending", "sending", "enforced"]
    events = AuditEvent.objects.order_by("-id")[:2]
    assert {(e.platform, e.forced, e.reason) for e in events} == {("ios", False, "launch"), ("android", True, "launch")}
    assert AuditEvent.objects.count() == before + 2  # the row already enforced did not move


# Setting an environment's Intercom app ID without the admin (``set-app-id``), and check W007.
def run_out_err(*args: str, stdin: str | None = None) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    kwargs: dict[str, Any] = {"stdout": out, "stderr": err}
    if stdin is not None:
        kwargs["stdin"] = io.StringIO(stdin)
    call_command("intercom_identity", *args, **kwargs)
    return out.getvalue(), err.getvalue()


def rendered_app_id() -> str:
    """The app_id the template tag boots the messenger with, for an anonymous visitor."""
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    html = Template("{% load intercom_identity %}{% intercom_settings %}").render(Context({"request": request}))
    return str(json.loads(html.split(" = ", 1)[1].rsplit(";</script>", 1)[0])["app_id"])


def test_the_command_sets_the_app_id_the_tag_boots_with() -> None:
    assert rendered_app_id() == ""
    out, _ = run_out_err("set-app-id", "development", "abc12def")
    assert out.strip() == "Development / test: app ID none -> abc12def."
    assert Environment.objects.get(slug="development").app_id == "abc12def"
    assert rendered_app_id() == "abc12def"  # the configuration copies heard of the change


def test_a_change_is_audited_with_no_platform_and_shown_in_the_history() -> None:
    run_out_err("set-app-id", "production", "prod1234", "--reason", "workspace created")
    run_out_err("set-app-id", "production", "prod5678")
    first, second = AuditEvent.objects.order_by("id")
    assert (first.environment, first.platform, first.kind) == ("production", "", AuditEvent.Kind.APP_ID)
    assert (first.from_value, first.to_value, first.reason) == ("", "prod1234", "workspace created")
    assert (second.from_value, second.to_value) == ("prod1234", "prod5678")
    assert first.adoption_ratio is None
    history, _ = run_out_err("history")
    assert ": production app_id prod1234 -> prod5678, adoption -" in history
    assert ": production app_id - -> prod1234, adoption - (workspace created)" in history
    events = json.loads(run_out_err("history", "--json")[0])
    assert events[0]["kind"] == "app_id"
    assert events[0]["platform"] == ""


def test_setting_the_same_app_id_again_changes_and_audits_nothing() -> None:
    run_out_err("set-app-id", "development", "abc12def")
    out, _ = run_out_err("set-app-id", "development", "abc12def")
    assert out.strip() == "Development / test: app ID abc12def -> abc12def."
    assert AuditEvent.objects.count() == 1


def test_an_empty_app_id_clears_it() -> None:
    run_out_err("set-app-id", "development", "abc12def")
    out, _ = run_out_err("set-app-id", "development", "")
    assert out.strip() == "Development / test: app ID abc12def -> none."
    assert Environment.objects.get(slug="development").app_id == ""


@pytest.mark.parametrize(
    "value",
    [" abc12def", "abc12def\n", "abc 12def", '"abc12def"', "https://app.intercom.com/a/apps/abc12def", "a" * 65, "é1"],
)
def test_paste_mistakes_are_refused_and_nothing_is_stored(value: str) -> None:
    with pytest.raises(CommandError, match="app ID has"):
        run_out_err("set-app-id", "development", value)
    assert Environment.objects.get(slug="development").app_id == ""
    assert not AuditEvent.objects.exists()


def test_the_function_refuses_with_its_own_error() -> None:
    environment = Environment.objects.get(slug="development")
    with pytest.raises(InvalidAppId):
        set_app_id(environment, "abc 123")
    assert isinstance(InvalidAppId("x"), ValueError)


def test_the_function_returns_the_previous_app_id_and_refreshes_the_instance() -> None:
    environment = Environment.objects.get(slug="development")
    assert set_app_id(environment, "first1") == ""
    assert set_app_id(environment, "second2") == "first1"
    assert environment.app_id == "second2"


def test_an_unknown_environment_is_a_command_error() -> None:
    with pytest.raises(CommandError, match="staging"):
        run_out_err("set-app-id", "staging", "abc12def")


def test_set_secret_says_what_to_do_next_while_the_phase_is_off() -> None:
    out, err = run_out_err("set-secret", "development", "web", stdin="next-step-secret-00112233445566778899")
    assert len(out.strip()) == 8  # stdout is the fingerprint alone
    assert "phase 'off'" in err
    assert "intercom_identity phase development web sending" in err
    configure("development", "web", RolloutPhase.SENDING)
    _, err = run_out_err("set-secret", "development", "web", stdin="next-step-secret-99887766554433221100")
    assert err == ""


def ids(messages: list[Any]) -> list[str]:
    return [message.id for message in messages]


def test_w005_when_the_current_environment_sends_to_the_web_without_an_app_id() -> None:
    assert check_web_app_id(databases=["default"]) == []  # web is off
    configure("development", "web", RolloutPhase.SENDING)
    messages = check_web_app_id(databases=["default"])
    assert ids(messages) == ["intercom_identity.W007"]
    assert "development" in messages[0].msg
    assert "'sending'" in messages[0].msg
    assert "set-app-id" in (messages[0].hint or "")
    assert check_web_app_id() == []  # only with --database: it reads rows
    set_app_id(Environment.objects.get(slug="development"), "abc12def")
    assert check_web_app_id(databases=["default"]) == []


def test_w005_only_for_the_web_and_the_current_environment() -> None:
    configure("development", "ios", RolloutPhase.SENDING)
    configure("production", "web", RolloutPhase.SENDING)
    assert check_web_app_id(databases=["default"]) == []
    with override_settings(INTERCOM_IDENTITY_ENVIRONMENT="production"):
        assert ids(check_web_app_id(databases=["default"])) == ["intercom_identity.W007"]
    with override_settings(INTERCOM_IDENTITY_ENVIRONMENT="staging"):  # no such row: W017 says so
        assert ids(check_web_app_id(databases=["default"])) == ["intercom_identity.W017"]


def test_w007_and_w017_cover_every_served_environment_not_only_the_default() -> None:
    configure("development", "web", RolloutPhase.SENDING)
    served = {"INTERCOM_IDENTITY_ENVIRONMENT": "production", "INTERCOM_IDENTITY_SERVED_ENVIRONMENTS": ["development"]}
    with override_settings(**served):
        messages = check_web_app_id(databases=["default"])
    assert ids(messages) == ["intercom_identity.W007"]
    assert "'development' in INTERCOM_IDENTITY_SERVED_ENVIRONMENTS" in messages[0].msg
    with override_settings(**{**served, "INTERCOM_IDENTITY_SERVED_ENVIRONMENTS": ["development", "staging"]}):
        messages = check_web_app_id(databases=["default"])
    assert ids(messages) == ["intercom_identity.W007", "intercom_identity.W017"]
    assert "'staging'" in messages[1].msg


@override_settings(SILENCED_SYSTEM_CHECKS=["intercom_identity.W004"])  # on PostgreSQL: LocMemCache, DEBUG off
def test_w005_through_manage_py_check() -> None:
    configure("development", "web", RolloutPhase.ENFORCED)
    with pytest.raises(SystemCheckError, match=r"intercom_identity\.W007"):
        call_command("check", "--database", "default", "--fail-level", "WARNING", stdout=io.StringIO())
    call_command("intercom_identity", "set-app-id", "development", "abc12def", stdout=io.StringIO())
    call_command("check", "--database", "default", "--fail-level", "WARNING", stdout=io.StringIO())


# --- a declared minimum cannot contradict what was seen -------------------------


def old_app_logs_in(count: int, version: str = "1.4.2") -> None:
    """``count`` users of an app that never asks for the credential log in (no credential)."""
    for person in users(count, "old"):
        seen(person, version, sent=False)


def test_a_minimum_covering_versions_seen_without_the_credential_is_refused() -> None:
    """``min-version ... 0`` would count every version as sending: refused, naming 1.4.2, while the
    1.4.2 users were seen without the credential after iOS moved to ``sending``; the guard stays shut."""
    configure("development", "ios", RolloutPhase.SENDING)
    old_app_logs_in(3)
    with pytest.raises(CommandError, match=r"Refusing to set the minimum sending version .* to 0: users of 1\.4\.2 "):
        run("min-version", "development", "ios", "0")
    assert ios().min_sending_version == ""
    assert not AuditEvent.objects.filter(kind="min_sending_version").exists()
    with pytest.raises(CommandError, match="Refusing to enforce"):
        run("phase", "development", "ios", "enforced")


def test_a_contradicting_minimum_goes_through_only_forced_with_a_reason() -> None:
    configure("development", "ios", RolloutPhase.SENDING)
    old_app_logs_in(3)
    with pytest.raises(CommandError, match="needs a written reason"):
        run("min-version", "development", "ios", "0", "--force")
    run("min-version", "development", "ios", "0", "--force", "--reason", "1.4.2 is QA only")
    event = AuditEvent.objects.get(kind="min_sending_version")
    assert (event.from_value, event.to_value, event.forced, event.reason) == ("", "0", True, "1.4.2 is QA only")
    assert event.actor_label.startswith("command line")
    line = run("history", "--platform", "ios").splitlines()[0]  # newest first
    assert "development/ios min_sending_version - -> 0" in line
    assert "FORCED (1.4.2 is QA only)" in line


def test_a_minimum_above_the_versions_seen_without_it_is_accepted_and_audited() -> None:
    configure("development", "ios", RolloutPhase.SENDING)
    old_app_logs_in(3)
    for person in users(2, "new"):
        seen(person, "2.0.0", sent=True)
    run("min-version", "development", "ios", "2.0.0")
    event = AuditEvent.objects.get(kind="min_sending_version")
    assert (event.to_value, event.forced) == ("2.0.0", False)
    run("min-version", "development", "ios", "")  # clearing is a change too
    assert AuditEvent.objects.filter(kind="min_sending_version").count() == 2


def test_activity_from_before_sending_does_not_contradict_a_minimum() -> None:
    """Users seen while the platform was ``off`` could not have been handed anything: declaring a
    minimum right after moving to ``sending`` is no contradiction."""
    configure("development", "ios", RolloutPhase.OFF)
    old_app_logs_in(3, "5.2.0")
    configure("development", "ios", RolloutPhase.SENDING)
    set_min_sending_version(ios(), "5.2.0")
    assert ios().min_sending_version == "5.2.0"


def test_a_version_shown_to_send_by_evidence_is_no_contradiction() -> None:
    configure("development", "ios", RolloutPhase.SENDING)
    people = users(20, "sender")
    for person in people:
        seen(person, "2.0.0", sent=True)
    seen(users(1, "late")[0], "2.0.0", sent=False)  # 20 of 21 seen receiving it: 95%
    set_min_sending_version(ios(), "2.0.0")
    assert ios().min_sending_version == "2.0.0"


# --- the production flag is guarded state ------------------------------------


def test_turning_the_production_flag_is_audited_and_in_history() -> None:
    assert "production flag off -> on" in run("production", "development", "on", "--reason", "go live")
    event = AuditEvent.objects.get(kind="is_production")
    assert (event.environment, event.platform, event.from_value, event.to_value) == ("development", "", "off", "on")
    assert event.reason == "go live"
    assert "Production flag: not production → production" in str(event)
    assert "development is_production off -> on" in run("history")
    run("production", "development", "off")
    assert AuditEvent.objects.filter(kind="is_production").count() == 2
    run("production", "development", "off")  # no change, no event
    assert AuditEvent.objects.filter(kind="is_production").count() == 2


def test_the_production_flag_needs_the_manage_production_permission(admin_user: Any) -> None:
    from intercom_identity.exceptions import ProductionPermissionRequired
    from intercom_identity.rollout.changes import set_is_production

    development = Environment.objects.get(slug="development")
    staff = get_user_model().objects.create_user("staff", "staff@example.com", "pw", is_staff=True)
    with pytest.raises(ProductionPermissionRequired):
        set_is_production(development, True, actor=staff)
    production = Environment.objects.get(slug="production")
    with pytest.raises(ProductionPermissionRequired):  # turning it off is as guarded
        set_is_production(production, False, actor=staff)
    assert not AuditEvent.objects.filter(kind="is_production").exists()
    set_is_production(development, True, actor=admin_user)
    event = AuditEvent.objects.get(kind="is_production")
    assert (event.actor, event.actor_label) == (admin_user, "admin")


def test_the_admin_routes_the_production_flag_through_the_audit(admin_client: Client, admin_user: Any) -> None:
    development = Environment.objects.get(slug="development")
    url = reverse("admin:intercom_identity_environment_change", args=[development.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name in form.fields}
    data.update({"is_production": "on", **inline_management_form(admin_client.get(url))})
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    development.refresh_from_db()
    assert development.is_production
    event = AuditEvent.objects.get(kind="is_production")
    assert (event.actor, event.to_value) == (admin_user, "on")
    trail = admin_client.get("/admin/intercom_identity/auditevent/").content.decode()
    assert "Production flag" in trail


def inline_management_form(response: Any) -> dict[str, str]:
    """The management form of the change page's inline, as the browser would post it back."""
    data = {}
    for formset in response.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        data.update({f"{management.prefix}-{name}": str(value) for name, value in management.initial.items()})
        for number, inline_form in enumerate(formset.formset.forms):
            data[f"{formset.formset.prefix}-{number}-id"] = str(inline_form.instance.pk)
            data[f"{formset.formset.prefix}-{number}-environment"] = str(inline_form.instance.environment_id)
    return data


def test_staff_without_the_permission_cannot_flip_the_flag_in_the_admin() -> None:
    from tests.helpers import DEV_PERMS, staff_client

    client = staff_client("devstaff", *DEV_PERMS, "add_environment")
    add = client.get(reverse("admin:intercom_identity_environment_add"))
    assert "is_production" not in add.context["adminform"].form.fields
    development = Environment.objects.get(slug="development")
    change = client.get(reverse("admin:intercom_identity_environment_change", args=[development.pk]))
    assert "is_production" not in change.context["adminform"].form.fields
