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
