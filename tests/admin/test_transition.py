"""The confirmation page of a change (admin/pages/transition.py): what it offers for a selection."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from intercom_identity.models import RolloutPhase
from tests.helpers import (
    CHANGELIST,
    DEV_PERMS,
    PRODUCTION_PERMISSION,
    below_threshold,
    config_of,
    configure,
    staff_client,
    transition_url,
)

pytestmark = pytest.mark.django_db


def test_mixed_selection_the_user_may_not_change_shows_no_form() -> None:
    """A selection mixing a production row the user may not change used to show a disabled
    button, yet still ask for a reason and offer "Enforce anyway"."""
    below_threshold()  # development iOS, sending, 1 of 4 users ready
    configure("production", "ios", RolloutPhase.SENDING)
    client = staff_client("dev", *DEV_PERMS)
    dev, prod = config_of("development", "ios"), config_of("production", "ios")
    html = client.post(
        CHANGELIST, {"action": "move_to_enforced", "_selected_action": [dev.pk, prod.pk]}
    ).content.decode()
    blockers = html.split('id="blockers"', 1)[1].split("</div>", 1)[0]
    assert "Production / iOS" in blockers
    assert PRODUCTION_PERMISSION in blockers
    for absent in ('name="reason"', 'name="force"', 'name="confirm"', "Enforce anyway", "Yes, move to", "disabled"):
        assert absent not in html
    # What can succeed: going on with the row this user may change (confirmed again, guard and all).
    form = html.split('id="blockers"', 1)[1].split('id="continue-without"', 1)[0]
    assert re.findall(r'name="_selected_action" value="(\d+)"', form) == [str(dev.pk)]
    assert 'name="review" value="yes"' in form
    page = client.post(
        CHANGELIST, {"action": "move_to_enforced", "_selected_action": [dev.pk], "review": "yes"}
    ).content.decode()
    assert 'id="readiness"' in page
    assert 'name="force"' in page
    assert config_of("development", "ios").phase == RolloutPhase.SENDING  # reviewed, not applied


def test_narrowed_safe_selection_is_confirmed_not_applied_at_once(admin_client: Client) -> None:
    ios = configure("development", "ios")
    page = admin_client.post(CHANGELIST, {"action": "move_to_sending", "_selected_action": [ios.pk], "review": "yes"})
    assert 'value="Yes, move to Sending (not enforced)"' in page.content.decode()
    assert config_of("development", "ios").phase == RolloutPhase.OFF


def test_below_threshold_the_button_needs_the_force_and_the_reason(admin_client: Client) -> None:
    config = below_threshold()
    html = admin_client.get(transition_url(config) + "?to=phase:enforced").content.decode()
    assert re.search(r'<textarea name="reason" id="id_reason" rows="2" required>', html)
    assert re.search(r'<input type="checkbox" name="force" value="yes" id="id_force" required>', html)


def test_every_confirmation_page_touching_production_warns_about_it(admin_client: Client, settings: Any) -> None:
    """The first page of a mixed selection (with a blocked row) used to lack the production warning
    that the narrowed page showed."""
    settings.INTERCOM_IDENTITY_SERVED_ENVIRONMENTS = ["production"]  # this deployment serves it
    configure("production", "ios", RolloutPhase.SENDING)
    dev, prod = config_of("development", "ios"), config_of("production", "ios")  # dev: no secret, a blocker
    first = admin_client.post(CHANGELIST, {"action": "move_to_enforced", "_selected_action": [dev.pk, prod.pk]})
    html = first.content.decode()
    assert 'id="blockers"' in html
    assert 'id="production-warning"' in html
    assert "This changes a production environment (Production / iOS): real users are affected immediately." in html
    narrowed = admin_client.post(
        CHANGELIST, {"action": "move_to_enforced", "_selected_action": [prod.pk], "review": "yes"}
    ).content.decode()
    assert 'id="production-warning"' in narrowed
    assert 'id="records-only"' not in narrowed
    development_only = admin_client.get(transition_url(configure("development", "web")) + "?to=phase:sending")
    assert 'id="production-warning"' not in development_only.content.decode()


def test_a_production_row_this_deployment_does_not_serve_is_records_only(admin_client: Client) -> None:
    """Production is not served here (the suite serves development): a change to its row takes effect
    only where a deployment that serves it reads this database. The page says that, with the text
    the badges use, and not that real users are affected immediately."""
    from intercom_identity.admin.display import RECORDS_ONLY_NOTE

    prod = configure("production", "ios", RolloutPhase.SENDING)
    dev = configure("development", "ios", RolloutPhase.SENDING)
    html = admin_client.post(
        CHANGELIST, {"action": "move_to_off", "_selected_action": [dev.pk, prod.pk], "review": "yes"}
    ).content.decode()
    assert 'id="production-warning"' not in html
    assert "real users are affected immediately" not in html
    records_only = html.split('id="records-only"', 1)[1].split("</p>", 1)[0]
    assert "Production / iOS" in records_only
    assert "Development" not in records_only  # served here: its change is live
    assert RECORDS_ONLY_NOTE in records_only.replace("\n", " ")


@pytest.mark.parametrize(
    ("start", "to", "says", "never"),
    [
        (RolloutPhase.OFF, "sending", "Safe to ship.", "no longer enforces"),
        (RolloutPhase.ENFORCED, "sending", "This records that Intercom no longer enforces", "Safe to ship"),
        (RolloutPhase.ENFORCED, "off", "every user of it is rejected until enforcement is turned off", "Safe to"),
        (RolloutPhase.SENDING, "off", "If Intercom still enforces, users of this platform will be rejected.", "Safe"),
    ],
)
def test_the_text_fits_the_direction_of_the_move(
    admin_client: Client, start: RolloutPhase, to: str, says: str, never: str
) -> None:
    config = configure("development", "android", start)
    html = admin_client.get(transition_url(config) + f"?to=phase:{to}").content.decode()
    consequences = " ".join(re.findall(r'<p class="intercom-consequence">(.*?)</p>', html))
    assert says in consequences
    assert never not in consequences


def test_a_mixed_move_says_each_direction_once(admin_client: Client) -> None:
    ios = configure("development", "ios", RolloutPhase.ENFORCED)
    android = configure("development", "android")
    html = admin_client.post(
        CHANGELIST, {"action": "move_to_sending", "_selected_action": [ios.pk, android.pk], "review": "yes"}
    ).content.decode()
    consequences = re.findall(r'<p class="intercom-consequence">(.*?)</p>', html)
    assert len(consequences) == 2
    assert "Safe to ship." in consequences[0] + consequences[1]
    assert "no longer enforces" in consequences[0] + consequences[1]


def test_moving_web_past_off_without_an_app_id_warns_on_the_confirmation_page(admin_client: Client) -> None:
    web = configure("development", "web")
    html = admin_client.get(transition_url(web) + "?to=phase:sending").content.decode()
    assert 'id="no-app-id"' in html
    assert "the web messenger cannot start there" in html


def test_the_confirmation_says_how_long_web_still_soaks(admin_client: Client, settings: Any) -> None:
    """100% of the web's pages, but web started sending just now: the page says why it is refused."""
    from tests.helpers import make_ready, transition_url

    settings.INTERCOM_IDENTITY_WEB_SOAK = 86400
    web = configure("development", "web", RolloutPhase.SENDING)
    make_ready("development", "web", users=2)
    page = admin_client.get(transition_url(web), {"to": "phase:enforced"}).content.decode()
    readiness = page.split('id="readiness"', 1)[1].split("</table>", 1)[0]
    assert "100.0%" in readiness
    assert "below-threshold" in readiness
    assert "web must hand out the credential for 24 h first" in readiness


def test_the_guard_refuses_a_minimum_that_users_were_seen_contradicting(admin_client: Client) -> None:
    """A minimum of 0 declared while iOS was ``off``; once sending, 1.4.2's users come back without
    the credential: the confirmation page shows 0% and says why, and confirming unforced is refused."""
    from intercom_identity.rollout.changes import change_phase, set_min_sending_version
    from tests.helpers import seen, users

    config = configure("development", "ios", RolloutPhase.OFF)
    set_min_sending_version(config, "0")
    change_phase(config, RolloutPhase.SENDING)
    for person in users(4):
        seen(person, "1.4.2", sent=False)
    url = transition_url(config)
    page = admin_client.get(url, {"to": "phase:enforced"}).content.decode()
    readiness = page.split('id="readiness"', 1)[1].split("</table>", 1)[0]
    assert "0.0%" in readiness
    assert "below-threshold" in readiness
    assert "the minimum sending version 0 does not count 1.4.2" in readiness
    assert 'name="force"' in page
    refused = admin_client.post(url, {"transition": "phase:enforced", "confirm": "yes"}, follow=True)
    message = " ".join(str(m) for m in refused.context["messages"])
    assert "Refusing to enforce" in message
    assert "the minimum sending version 0 does not count 1.4.2" in message
    assert config_of("development", "ios").phase == RolloutPhase.SENDING
    overview = admin_client.get("/admin/intercom_identity/platformconfig/overview/").content.decode()
    assert "0 ready: users were seen on it without the credential" in overview
