"""admin/transitions.py: the explicit changes the admin offers, and the texts that say what each does
(the confirmation page itself is tests/admin/test_transition.py's)."""

from __future__ import annotations

from intercom_identity.admin.transitions import (
    MODE_CONSEQUENCES,
    MOVE_CONSEQUENCES,
    PHASE_CONSEQUENCES,
    TRANSITIONS,
    neighbour_phase,
)
from intercom_identity.models import CredentialMode, PlatformConfig, RolloutPhase

ENFORCE = TRANSITIONS["phase:enforced"]
SEND = TRANSITIONS["phase:sending"]
JWT = TRANSITIONS["credential_mode:jwt"]


def test_one_transition_per_phase_and_mode_named_by_its_key() -> None:
    assert list(TRANSITIONS) == [
        "phase:off",
        "phase:sending",
        "phase:enforced",
        "credential_mode:user_hash",
        "credential_mode:jwt",
    ]
    assert all(transition.key == key for key, transition in TRANSITIONS.items())
    assert (ENFORCE.target, JWT.target) == (RolloutPhase.ENFORCED, CredentialMode.JWT)


def test_enforcing_and_any_mode_change_always_ask_for_confirmation() -> None:
    assert {key for key, transition in TRANSITIONS.items() if transition.always_confirm} == {
        "phase:enforced",
        "credential_mode:user_hash",
        "credential_mode:jwt",
    }


def test_a_phase_moves_and_a_mode_is_handed_out() -> None:
    assert (SEND.button, SEND.question, SEND.confirm) == (
        "Move to Sending (not enforced)",
        "Move to Sending (not enforced)?",
        "Yes, move to Sending (not enforced)",
    )
    assert SEND.action_description == "Move selected to Sending (not enforced)"
    assert (JWT.button, JWT.confirm) == ("Hand out JWT (Messenger Security)", "Yes, hand out JWT (Messenger Security)")
    assert JWT.action_description == "Hand out JWT (Messenger Security) for selected"


def test_a_move_back_from_enforced_is_not_described_as_safe_to_ship() -> None:
    assert SEND.consequence == str(PHASE_CONSEQUENCES[RolloutPhase.SENDING])
    assert SEND.consequences(["enforced"]) == [str(MOVE_CONSEQUENCES[(RolloutPhase.ENFORCED, RolloutPhase.SENDING)])]
    assert SEND.consequences(["off"]) == [SEND.consequence]


def test_each_consequence_is_said_once_whatever_the_mix_of_rows() -> None:
    move_back = str(MOVE_CONSEQUENCES[(RolloutPhase.ENFORCED, RolloutPhase.SENDING)])
    assert SEND.consequences(["off", "enforced", "off", "enforced"]) == [SEND.consequence, move_back]
    assert SEND.consequences([]) == [SEND.consequence]
    assert JWT.consequences(["user_hash", "user_hash"]) == [str(MODE_CONSEQUENCES[CredentialMode.JWT])]


def test_a_step_button_points_the_way_it_moves() -> None:
    assert ENFORCE.step_label("sending") == "Enforced \u2192"
    assert TRANSITIONS["phase:off"].step_label("sending") == "\u2190 Off"
    assert JWT.step_label("user_hash") == JWT.button


def test_neighbour_phases_stop_at_either_end() -> None:
    assert neighbour_phase(RolloutPhase.SENDING, +1) is RolloutPhase.ENFORCED
    assert neighbour_phase(RolloutPhase.SENDING, -1) is RolloutPhase.OFF
    assert neighbour_phase(RolloutPhase.ENFORCED, +1) is None
    assert neighbour_phase(RolloutPhase.OFF, -1) is None


def test_is_current_and_the_history_entry() -> None:
    config = PlatformConfig(phase=RolloutPhase.SENDING, credential_mode=CredentialMode.JWT)
    assert [key for key, transition in TRANSITIONS.items() if transition.is_current(config)] == [
        "phase:sending",
        "credential_mode:jwt",
    ]
    assert ENFORCE.history("sending") == "Phase: Sending (not enforced) \u2192 Enforced."
