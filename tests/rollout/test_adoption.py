"""Adoption (adoption.py): the maths, and the query over the tallies."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from intercom_identity import record_client
from intercom_identity.models import (
    Environment,
    PlatformConfig,
    RolloutPhase,
)
from intercom_identity.rollout.adoption import EvidenceRule, adoption
from intercom_identity.rollout.changes import (
    set_min_sending_version,
)
from tests.helpers import configure, ios, record_issued, run, seen, users

pytestmark = pytest.mark.django_db


def test_no_active_users() -> None:
    numbers = adoption(ios())
    assert (numbers.active_users, numbers.ready_users, numbers.ratio) == (0, 0, None)
    assert not numbers.meets_threshold
    assert "no active users" in numbers.describe()
    assert len(numbers.daily) == 30
    assert all(point.ratio is None for point in numbers.daily)


def test_ratio_and_breakdown() -> None:
    people = users(4)
    seen(people[0], "1.0", sent=False)
    seen(people[1], "1.0", sent=False)
    seen(people[2], "2.0", sent=True)
    seen(people[3], "2.0", sent=True)
    numbers = adoption(ios())
    assert (numbers.active_users, numbers.ready_users, numbers.ratio) == (4, 2, 0.5)
    assert [share.as_dict() for share in numbers.versions] == [
        {
            "version": "2.0",
            "users": 2,
            "credential_users": 2,
            "ready_users": 2,
            "sends_credential": True,
            "counted_by": "evidence",
        },
        {
            "version": "1.0",
            "users": 2,
            "credential_users": 0,
            "ready_users": 0,
            "sends_credential": False,
            "counted_by": None,
        },
    ]


def test_user_switching_versions_counts_once_under_the_latest() -> None:
    (person,) = users(1)
    now = timezone.now()
    seen(person, "1.0", sent=False, at=now - timedelta(hours=3))
    seen(person, "2.0", sent=True, at=now)
    numbers = adoption(ios(), now=now)
    assert numbers.active_users == 1
    assert [(s.version, s.users) for s in numbers.versions] == [("2.0", 1)]
    assert numbers.ratio == 1.0


def test_version_that_starts_sending_later(settings: Any) -> None:
    settings.INTERCOM_IDENTITY_ENFORCE_THRESHOLD = 0.5  # so 1 of 2 users is evidence enough
    people = users(2)
    now = timezone.now()
    seen(people[0], "2.0", sent=False, at=now - timedelta(days=3))
    assert adoption(ios(), now=now).ready_users == 0
    seen(people[1], "2.0", sent=True, at=now - timedelta(days=1))
    numbers = adoption(ios(), now=now)
    assert numbers.ready_users == 2  # the version sends now, for every user on it
    daily = {point.day: point for point in numbers.daily}
    three_days_ago = (now - timedelta(days=3)).date()
    assert daily[three_days_ago].active_users == 1
    assert daily[three_days_ago].ready_users == 0  # it did not send yet that day
    assert daily[(now - timedelta(days=1)).date()].ready_users == 1


def test_window_boundaries_are_utc_calendar_days() -> None:
    inside, outside = users(2)
    now = timezone.now().replace(hour=12)
    seen(inside, "2.0", sent=True, at=(now - timedelta(days=29)).replace(hour=0, minute=0))
    seen(outside, "1.0", sent=False, at=(now - timedelta(days=30)).replace(hour=23, minute=59))
    numbers = adoption(ios(), now=now)
    assert numbers.active_users == 1
    assert numbers.ratio == 1.0
    assert adoption(ios(), now=now, days=31).active_users == 2
    assert adoption(ios(), now=now, days=1).active_users == 0
    assert len(adoption(ios(), now=now, days=7).daily) == 7


def test_minimum_sending_version_counts_versions_not_yet_observed() -> None:
    people = users(3)
    seen(people[0], "5.1.9", sent=False)
    seen(people[1], "5.2.0", sent=False)
    seen(people[2], "5.10.1", sent=False)
    assert adoption(ios()).ready_users == 0
    set_min_sending_version(ios(), "5.2.0")
    numbers = adoption(ios())
    assert numbers.ready_users == 2
    assert {s.version: s.sends_credential for s in numbers.versions} == {"5.10.1": True, "5.2.0": True, "5.1.9": False}


def test_platforms_and_environments_are_counted_apart() -> None:
    (person,) = users(1)
    seen(person, "2.0", sent=True, platform="android")
    record_issued(person, "ios", "2.0", environment="production")
    assert adoption(ios()).active_users == 0
    android = PlatformConfig.objects.get(environment__slug="development", platform="android")
    assert adoption(android).active_users == 1


def test_guard_numbers_never_round_up_to_the_threshold() -> None:
    from intercom_identity.rollout.adoption import Adoption, VersionShare

    numbers = Adoption("e", "ios", 30, 0.95, (VersionShare("2", 9496, True), VersionShare("1", 504, False)))
    assert not numbers.meets_threshold
    assert numbers.ratio_display == "94.9%"
    assert "threshold 95.0%" in numbers.describe()
    assert Adoption("e", "ios", 30, 0.951, ()).threshold_display == "95.1%"


# --- Evidence: no account can fake readiness ------------------------------------------


@pytest.fixture
def default_evidence(settings: Any) -> None:
    """The shipped evidence rule (the suite's settings lower the minimum of users to 1)."""
    settings.INTERCOM_IDENTITY_SENDING_EVIDENCE_USERS = 5  # assigned, not deleted: deleting sends no setting_changed


def log_in_from_app(client: Client, username: str, version: str) -> None:
    """An app too old to ask for a credential logs in, as the demo's mobile login API counts it."""
    body = {"username": username, "password": "pw", "platform": "ios"}
    response = client.post("/api/login/", body, content_type="application/json", headers={"X-App-Version": version})
    assert response.status_code == 200, response.content
    assert "intercom" not in response.json()


@pytest.mark.parametrize("minimum_users", [None, 1], ids=["default rule", "one user is enough"])
def test_one_forged_request_does_not_open_the_guard(client: Client, settings: Any, minimum_users: int | None) -> None:
    """19 users on 1.4.2, which never asks for a credential, and one
    account that asks for one with ``X-App-Version: 1.4.2``. It is handed one; 1.4.2 must not
    become a sending version, and the guard must stay shut."""
    if minimum_users is None:
        settings.INTERCOM_IDENTITY_SENDING_EVIDENCE_USERS = 5
    configure("development", "ios", RolloutPhase.SENDING)
    for person in users(19, "old"):
        log_in_from_app(client, person.username, "1.4.2")
    forger = get_user_model().objects.create_user("forger", "forger@example.com", "pw")
    forging = Client()
    forging.force_login(forger)
    response = forging.get("/intercom/user-hash/", {"platform": "ios"}, headers={"X-App-Version": "1.4.2"})
    assert response.json()["user_hash"]  # the credential was handed out: the forgery "worked"
    data = json.loads(run("adoption", "development", "ios", "--json"))
    assert (data["active_users"], data["ready_users"], data["ratio"]) == (20, 0, 0.0)
    assert data["versions"] == [
        {
            "version": "1.4.2",
            "users": 20,
            "credential_users": 1,
            "ready_users": 0,
            "sends_credential": False,
            "counted_by": None,
        }
    ]
    assert "0% (0 of 20 users" in run("adoption", "development", "ios")
    with pytest.raises(CommandError, match=r"adoption is 0\.0%"):
        run("phase", "development", "ios", "enforced")


def test_a_version_sends_on_the_evidence_of_several_users(default_evidence: None) -> None:
    people = users(20)
    for person in people[:4]:
        seen(person, "2.0", sent=True)
    assert adoption(ios()).ready_users == 0  # 4 of 4 users: below the minimum of 5
    for person in people[4:]:
        seen(person, "2.0", sent=False)  # e.g. logged in before asking for the credential
    for person in people[4:18]:
        seen(person, "2.0", sent=True)
    assert adoption(ios()).ready_users == 0  # 18 of 20: below the threshold's 95%
    seen(people[18], "2.0", sent=True)
    numbers = adoption(ios())
    assert (numbers.ready_users, numbers.versions[0].credential_users) == (20, 19)  # 19 of 20: the share
    assert numbers.versions[0].counted_by == "evidence"


def test_evidence_sticks_to_the_version_and_moves_with_the_user() -> None:
    (person,) = users(1)
    now = timezone.now()
    seen(person, "2.0", sent=True, at=now - timedelta(hours=2))
    seen(person, "2.0", sent=False, at=now - timedelta(hours=1))  # a later login that does not ask
    assert adoption(ios(), now=now).versions[0].credential_users == 1
    seen(person, "2.1", sent=False, at=now)  # moved on: no evidence for 2.1 yet
    assert [(s.version, s.credential_users) for s in adoption(ios(), now=now).versions] == [("2.1", 0)]


def test_the_minimum_sending_version_needs_no_evidence(default_evidence: None) -> None:
    (person,) = users(1)
    seen(person, "5.2.0", sent=False)
    set_min_sending_version(ios(), "5.2.0")
    (share,) = adoption(ios()).versions
    assert (share.sends_credential, share.counted_by, share.credential_users) == (True, "minimum_version", 0)


@pytest.mark.parametrize(
    ("users_on_it", "seen_receiving", "share", "minimum", "sends"),
    [
        (20, 19, 0.95, 1, True),  # 19 / 20 = 0.95 exactly, whatever the float rounding
        (20, 18, 0.95, 1, False),
        (3, 3, 0.5, 5, False),  # everybody, but too few to tell a version from a handful of accounts
        (5, 5, 0.5, 5, True),
        (1000, 499, 0.5, 5, False),
        (1000, 500, 0.5, 5, True),
        (0, 0, 0.5, 1, False),
    ],
)
def test_the_evidence_rule(users_on_it: int, seen_receiving: int, share: float, minimum: int, sends: bool) -> None:
    rule = EvidenceRule(share=share, min_users=minimum)
    assert (rule.counted_by("1.0", users_on_it, seen_receiving) == "evidence") is sends


def test_one_account_moves_readiness_by_at_most_its_own_weight(default_evidence: None) -> None:
    """Whatever one account reports (any versions, credentials or not, any order), the active
    users move by at most 1 and the ready users by at most 1, as long as no version is within
    one user of the rule (the marginal case, below)."""
    import random

    now = timezone.now()
    crowd = users(20, "c")
    for person in crowd[:10]:
        seen(person, "2.0", sent=True, at=now - timedelta(days=1))  # sends: 10 of 10
    for person in crowd[10:]:
        seen(person, "1.0", sent=False, at=now - timedelta(days=1))  # does not: 0 of 10
    before = adoption(ios(), now=now)
    assert (before.active_users, before.ready_users) == (20, 10)
    (attacker,) = users(1, "attacker")
    rng = random.Random(14)
    for step in range(120):
        version = rng.choice(["1.0", "2.0", "3.0", "1.0.1", f"9.{step}"])
        cache.clear()  # every report writes
        seen(attacker, version, sent=rng.random() < 0.7, at=now - timedelta(hours=rng.randrange(0, 20)))
        after = adoption(ios(), now=now)
        assert abs(after.active_users - before.active_users) <= 1, (step, version)
        assert abs(after.ready_users - before.ready_users) <= 1, (step, version)


def test_the_marginal_case_needs_the_evidence_of_others(default_evidence: None) -> None:
    """What the rule cannot prevent, and what it takes: with 18 other users already seen
    receiving the credential on a version of 20, one more reaches the threshold's 95%, and
    the whole version counts (one user more than its own evidence showed)."""
    people = users(19)
    for person in people[:18]:
        seen(person, "2.0", sent=True)
    seen(people[18], "2.0", sent=False)
    (attacker,) = users(1, "attacker")
    seen(attacker, "2.0", sent=False)
    assert adoption(ios()).ready_users == 0
    seen(attacker, "2.0", sent=True)
    assert adoption(ios()).ready_users == 20


# --- colluding accounts, and the web ------------------------------------------


def hash_from(client: Client, version: str, platform: str = "ios") -> dict[str, Any]:
    """One request of a signed-in client to the JSON view, claiming ``version``."""
    response = client.get("/intercom/user-hash/", {"platform": platform}, headers={"X-App-Version": version})
    assert response.status_code == 200, response.content
    return dict(response.json())


def colluders(count: int, prefix: str = "colluder") -> list[Client]:
    """``count`` accounts, each with its own signed-in client."""
    clients = []
    for person in users(count, prefix):
        client = Client()
        client.force_login(person)
        clients.append(client)
    return clients


@pytest.mark.parametrize(
    ("real", "accounts", "requests_each"),
    [(3, 5, 1), (3, 6, 3), (20, 20, 1), (20, 40, 1), (20, 40, 3), (100, 100, 1), (100, 200, 1)],
)
def test_colluding_accounts_count_for_themselves_at_most(
    client: Client, settings: Any, real: int, accounts: int, requests_each: int
) -> None:
    """R real users on 1.4.2, an app too old to ask for the credential, log in through the login
    view; once iOS is ``sending``, M accounts (up to 2 R) claim 1.4.2 at the JSON view and are handed
    a credential. Readiness stays at most their own share and below the threshold, 1.4.2 does not
    become sending, and the guard stays shut. (Before the fix: 0% -> 100%, enforced unforced.)"""
    settings.INTERCOM_IDENTITY_SENDING_EVIDENCE_USERS = 5  # the shipped rule
    settings.INTERCOM_IDENTITY_HASH_RATE_LIMIT = 0  # colluders would come from as many addresses
    settings.LOGIN_RATE_LIMIT = 0  # the demo login is limited per address too
    configure("development", "ios", RolloutPhase.SENDING)
    for person in users(real, "real"):
        log_in_from_app(client, person.username, "1.4.2")
    before = json.loads(run("adoption", "development", "ios", "--json"))
    assert (before["active_users"], before["ratio"]) == (real, 0.0)
    for forger in colluders(accounts):
        for _ in range(requests_each):
            assert hash_from(forger, "1.4.2")["user_hash"]  # each is handed a credential
    after = json.loads(run("adoption", "development", "ios", "--json"))
    own_share = accounts / (real + accounts)
    assert after["active_users"] == real + accounts
    assert after["ratio"] <= own_share < after["threshold"]
    (old,) = after["versions"]
    assert (old["version"], old["credential_users"], old["sends_credential"]) == ("1.4.2", accounts, False)
    with pytest.raises(CommandError, match="Refusing to enforce"):
        run("phase", "development", "ios", "enforced")
    assert ios().phase == RolloutPhase.SENDING


def test_colluders_on_a_version_of_their_own_count_for_themselves(settings: Any) -> None:
    """Accounts that invent a version count as ready users, and only themselves: M / (R + M)."""
    settings.INTERCOM_IDENTITY_SENDING_EVIDENCE_USERS = 5
    configure("development", "ios", RolloutPhase.SENDING)
    for person in users(20, "real"):
        seen(person, "1.4.2", sent=False)
    for forger in colluders(10):
        hash_from(forger, "9.9.9")
    numbers = adoption(ios())
    assert (numbers.ready_users, numbers.active_users) == (10, 30)
    assert not numbers.meets_threshold


# The web: pages rendered by the tags are the web client's evidence, single-page-app builds
# report theirs at the JSON view, and web is ready only after the soak.


def render_page(person: Any) -> str:
    """A page of the site rendered for ``person`` with ``{% intercom_messenger %}``."""
    from django.template import Context, Template
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = person
    return Template("{% load intercom_identity %}{% intercom_messenger %}").render(Context({"request": request}))


def web() -> PlatformConfig:
    return PlatformConfig.objects.select_related("environment").get(environment__slug="development", platform="web")


def test_web_is_ready_once_its_users_pages_received_the_credential(sending_app_id: str) -> None:
    people = users(6, "visitor")
    for person in people[:5]:
        assert "user_hash" in render_page(person)
    numbers = adoption(web())
    assert (numbers.ready_users, numbers.active_users, numbers.meets_threshold) == (5, 5, True)
    (pages,) = numbers.versions
    assert (pages.version, pages.label, pages.credential_users) == ("page", "pages (tags)", 5)
    assert "sending -> enforced" in run("phase", "development", "web", "enforced")


def test_web_waits_for_the_soak(sending_app_id: str, settings: Any) -> None:
    """At the default soak (a day), pages opened before the credential was sent may still be open:
    100% of the recorded pages is not enough until web has been sending for a day."""
    settings.INTERCOM_IDENTITY_WEB_SOAK = 86400
    for person in users(5, "visitor"):
        render_page(person)
    numbers = adoption(web())
    assert numbers.ratio == 1.0
    assert not numbers.meets_threshold
    assert numbers.soak is not None
    assert 86000 < (numbers.soak.remaining or 0) <= 86400
    assert "waiting for the web soak" in run("adoption", "development", "web")
    with pytest.raises(CommandError, match=r"web must hand out the credential for 24 h first"):
        run("phase", "development", "web", "enforced")
    tomorrow = timezone.now() + timedelta(days=1, minutes=1)
    assert adoption(web(), now=tomorrow).meets_threshold
    PlatformConfig.objects.filter(pk=web().pk).update(sending_since=timezone.now() - timedelta(days=1, minutes=1))
    assert "sending -> enforced" in run("phase", "development", "web", "enforced")


def test_the_soak_starts_when_web_starts_sending_and_survives_enforcement(sending_app_id: str) -> None:
    started = web().sending_since
    assert started is not None
    run("phase", "development", "web", "enforced", "--force", "--reason", "test")
    run("phase", "development", "web", "sending")
    assert web().sending_since == started  # never stopped handing it out
    run("phase", "development", "web", "off")
    assert web().sending_since is None
    run("phase", "development", "web", "sending")
    assert web().sending_since is not None
    assert web().sending_since != started


def test_pages_rendered_before_sending_and_forged_builds_do_not_make_web_ready() -> None:
    """Users whose pages were rendered while web was ``off`` (no credential) are not ready; five
    accounts claiming a build at the JSON view count only for themselves."""
    Environment.objects.filter(slug="development").update(app_id="abc123")
    configure("development", "web", RolloutPhase.OFF)
    for person in users(20, "visitor"):
        assert "user_hash" not in render_page(person)
    configure("development", "web", RolloutPhase.SENDING)
    for forger in colluders(5):
        hash_from(forger, "1.0.0", platform="web")
    numbers = adoption(web())
    assert (numbers.ready_users, numbers.active_users) == (5, 25)
    assert not numbers.meets_threshold


def test_a_site_that_never_renders_the_tag_stays_below(sending_app_id: str) -> None:
    for person in users(3, "visitor"):
        record_client(person, "web", "2.0.0", environment="development")  # a login view that counts them
    numbers = adoption(web())
    assert (numbers.ready_users, numbers.active_users, numbers.meets_threshold) == (0, 3, False)
    with pytest.raises(CommandError, match="Refusing to enforce"):
        run("phase", "development", "web", "enforced")


def test_forged_builds_alone_never_make_web_ready(sending_app_id: str) -> None:
    """No page rendered by the tags, five accounts naming a build at the JSON view: they are 100% of
    the recorded web users, but nothing the server rendered says the site's own web client sends the
    credential, so web stays below until pages are recorded or a minimum build is declared."""
    for forger in colluders(5):
        hash_from(forger, "1.0.0", platform="web")
    numbers = adoption(web())
    assert (numbers.ratio, numbers.pages_missing, numbers.meets_threshold) == (1.0, True, False)
    with pytest.raises(CommandError, match="no page rendered by the tags was recorded"):
        run("phase", "development", "web", "enforced")
    run("min-version", "development", "web", "1.0.0")  # the operator vouches for the build (audited)
    assert adoption(web()).meets_threshold


def test_single_page_app_builds_report_at_the_json_view(sending_app_id: str) -> None:
    (spa,) = colluders(1, "spa")
    hash_from(spa, "2024.11.3", platform="web")
    (share,) = adoption(web()).versions
    assert (share.version, share.credential_users, share.ready_users) == ("2024.11.3", 1, 1)


def test_a_tag_render_costs_no_more_than_a_json_view_call(sending_app_id: str, committed: Any) -> None:
    """The first render of the hour writes what a JSON view call writes; later renders nothing."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    page_user, api_user = users(2, "cost")
    api = Client()
    api.force_login(api_user)
    with CaptureQueriesContext(connection) as page_queries:
        committed(render_page, page_user)
    with CaptureQueriesContext(connection) as api_queries:
        committed(hash_from, api, "2.0.0", "web")
    writes = [q for q in page_queries.captured_queries if not q["sql"].startswith("SELECT")]
    api_writes = [q for q in api_queries.captured_queries if not q["sql"].startswith("SELECT")]
    assert 0 < len(writes) <= len(api_writes) + 1  # + the page's AppVersion, created once
    # Later renders that hour write nothing (and, warm, query nothing: tests/messenger/test_tag.py).
    with CaptureQueriesContext(connection) as again:
        render_page(page_user)
    assert not [q for q in again.captured_queries if not q["sql"].startswith("SELECT")]


# --- a declared minimum vouches only for versions nobody was seen on without the credential ----


@pytest.mark.parametrize("declared", ["while off", "right after sending"])
def test_a_minimum_declared_before_anyone_was_seen_cannot_carry_users_seen_without_it(
    client: Client, settings: Any, declared: str
) -> None:
    """``min-version ... 0`` is accepted while nothing contradicts it (``off``, or ``sending`` before
    anyone came back); once 1.4.2's users log in without the credential, the minimum no longer counts
    1.4.2 as sending, the command says why, and ``phase ... enforced`` is refused, naming it.
    (Before the fix: 100%, enforced, audited as not forced.)"""
    settings.LOGIN_RATE_LIMIT = 0  # the demo login is limited per address
    configure("development", "ios", RolloutPhase.OFF)
    if declared == "while off":
        run("min-version", "development", "ios", "0")
    run("phase", "development", "ios", "sending")
    if declared == "right after sending":
        run("min-version", "development", "ios", "0")
    assert json.loads(run("adoption", "development", "ios", "--json"))["evidence"]["seen_without_credential"] == []
    for person in users(20, "real"):
        log_in_from_app(client, person.username, "1.4.2")
    numbers = json.loads(run("adoption", "development", "ios", "--json"))
    assert (numbers["ready_users"], numbers["active_users"]) == (0, 20)
    assert numbers["evidence"]["seen_without_credential"] == ["1.4.2"]
    (old,) = numbers["versions"]
    assert (old["version"], old["sends_credential"], old["counted_by"]) == ("1.4.2", False, None)
    text = run("adoption", "development", "ios")
    assert "0.0% (0 of 20" in text
    (line,) = [line for line in text.splitlines() if "1.4.2" in line]
    assert "not counted by the minimum sending version 0" in line
    with pytest.raises(CommandError, match=r"Refusing to enforce.*minimum sending version 0 does not count 1\.4\.2"):
        run("phase", "development", "ios", "enforced")
    assert ios().phase == RolloutPhase.SENDING


def test_a_version_seen_without_the_credential_still_counts_on_its_evidence(default_evidence: None) -> None:
    """The minimum stops vouching for 2.0.0 once one of its users is seen without the credential; the
    19 others seen receiving it on 2.0.0 are evidence enough (95%), so it still counts, on evidence."""
    configure("development", "ios", RolloutPhase.SENDING)
    set_min_sending_version(ios(), "2.0.0")
    people = users(20)
    seen(people[0], "2.0.0", sent=False)
    assert adoption(ios()).versions[0].counted_by is None  # 0 of 1 seen receiving it: not vouched for
    for person in people[1:]:
        seen(person, "2.0.0", sent=True)
    (share,) = adoption(ios()).versions
    assert (share.counted_by, share.ready_users) == ("evidence", 20)


def test_the_trend_does_not_count_a_version_the_minimum_no_longer_vouches_for() -> None:
    configure("development", "ios", RolloutPhase.OFF)
    set_min_sending_version(ios(), "0")
    configure("development", "ios", RolloutPhase.SENDING)
    for person in users(3):
        seen(person, "1.4.2", sent=False)
    assert adoption(ios()).daily[-1].ready_users == 0


@pytest.mark.parametrize(
    ("version", "seen_without", "credential_users", "counted_by"),
    [
        ("1.4.2", frozenset(), 0, "minimum_version"),
        ("1.4.2", frozenset({"1.4.2"}), 0, None),
        ("1.4.2", frozenset({"1.4.2"}), 19, "evidence"),  # 19 of 20: the evidence decides
        ("2.0.0", frozenset({"1.4.2"}), 0, "minimum_version"),
    ],
)
def test_the_minimum_does_not_vouch_for_versions_seen_without_the_credential(
    version: str, seen_without: frozenset[str], credential_users: int, counted_by: str | None
) -> None:
    rule = EvidenceRule(share=0.95, min_users=5, min_sending_version="0", seen_without_credential=seen_without)
    assert rule.counted_by(version, 20, credential_users) == counted_by


# --- the trend: web counts each user, each day, on their own evidence ----------


def test_the_web_trend_counts_each_user_on_their_own_evidence() -> None:
    """20 users' pages rendered while web was ``off``, then one render after ``sending``: today is
    1 of 20 in ``daily``, as readiness is (it used to be 20 of 20: the whole version from the day
    any one of its users received the credential)."""
    Environment.objects.filter(slug="development").update(app_id="abc123")
    configure("development", "web", RolloutPhase.OFF)
    people = users(20, "visitor")
    for person in people:
        assert "user_hash" not in render_page(person)
    configure("development", "web", RolloutPhase.SENDING)
    assert "user_hash" in render_page(people[0])
    numbers = json.loads(run("adoption", "development", "web", "--json"))
    assert (numbers["ready_users"], numbers["active_users"]) == (1, 20)
    today = numbers["daily"][-1]
    assert (today["ready_users"], today["active_users"], today["ratio"]) == (1, 20, 0.05)


def test_daily_points_count_per_user_evidence_on_the_web_and_versions_on_mobile() -> None:
    from intercom_identity.rollout.adoption import daily_points

    now = timezone.now()
    yesterday, today = (now - timedelta(days=1)).date(), now.date()
    rows = [(yesterday, "page", 20, 0), (today, "page", 20, 1), (today, "2.0", 10, 4)]
    web_rule = EvidenceRule(share=0.95, min_users=5, per_user=True)
    web_days = daily_points(rows, [yesterday, today], web_rule, {})
    assert [(p.active_users, p.ready_users) for p in web_days] == [(20, 0), (30, 5)]
    # Mobile: a version judged sending on evidence counts whole, from the day it first received one.
    mobile_rule = EvidenceRule(share=0.95, min_users=5)
    mobile_days = daily_points(rows, [yesterday, today], mobile_rule, {"2.0": now})
    assert [(p.active_users, p.ready_users) for p in mobile_days] == [(20, 0), (30, 10)]
    vouched = EvidenceRule(share=0.95, min_users=5, min_sending_version="2.0")
    assert [p.ready_users for p in daily_points(rows, [yesterday, today], vouched, {})] == [0, 10]


def test_what_was_seen_is_read_from_the_tallies_and_the_first_day_from_the_rows(
    django_assert_num_queries: Any,
) -> None:
    """The guard runs this: the latest-activity tallies say, by day, who was seen without the
    credential; only the day the platform started sending, which began before it did, needs the
    activity rows (a user seen that morning, while ``off``, is no contradiction)."""
    from intercom_identity.rollout.adoption import covered_but_seen_without_credential

    configure("development", "ios", RolloutPhase.SENDING)
    start = timezone.now().replace(hour=12) - timedelta(days=3)
    PlatformConfig.objects.filter(pk=ios().pk).update(sending_since=start)
    that_morning, later = users(2)
    seen(later, "1.4.2", sent=False, at=start + timedelta(days=1))
    config = ios()
    with django_assert_num_queries(1):
        assert covered_but_seen_without_credential(config, "0") == ["1.4.2"]
    seen(that_morning, "1.0", sent=False, at=start - timedelta(hours=2))
    with django_assert_num_queries(2):
        assert covered_but_seen_without_credential(config, "0") == ["1.4.2"]
    seen(that_morning, "1.0", sent=False, at=start + timedelta(hours=1))  # seen again, after the start
    assert covered_but_seen_without_credential(ios(), "0") == ["1.0", "1.4.2"]
    assert covered_but_seen_without_credential(ios(), "1.1") == ["1.4.2"]
    assert covered_but_seen_without_credential(ios(), "") == []
