"""Two gunicorn servers sharing PostgreSQL and Redis: a change made through one is served by the other.
Run twice: with sync workers (WSGI), and with uvicorn workers (ASGI, the async views).

Servers A and B (2 sync workers each, on their own loopback ports) run the demo site against a
dedicated database and Redis database. Each scenario first warms every worker of the serving
server with the old configuration, then makes the change through the other server's admin while
polling the serving server (without pause until the admin answers, then every 20 ms): every one of
its workers must serve the new phase or hash within one second of the admin's answer, and keep to
it. ``INTERCOM_IDENTITY_CACHE_TTL`` is an hour, so only the invalidation of the processes' cached
configurations, never their expiry, can make it that fast.

Needs PostgreSQL and Redis on 127.0.0.1: skipped without them, failed instead when
``INTERCOM_IDENTITY_REQUIRE_SERVICES=1`` (as in CI). Uses no Django test database.
"""

from __future__ import annotations

import http.client
import itertools
import json
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.cookiejar import CookieJar
from typing import Any

import pytest

from tests.demo_servers import (
    ENVIRONMENT,
    HASH_URL,
    Hidden,
    Served,
    Server,
    ServerEnvironment,
    manage,
    new_secret,
    redact,
    server_environment,
    set_up,
    user_hash,
)
from tests.localservices import POSTGRES, REDIS, REDIS_DATABASES, own_database, postgres_url, redis_url, require

pytestmark = [pytest.mark.multiserver]

DATABASE = own_database("multiserver")
REDIS_DB = REDIS_DATABASES["multiserver"]
WORKERS = 2
WITHIN = 1.0  # seconds from the admin's answer until every worker of the other server serves the change
POLL_EVERY = 0.02
KEEP_POLLING = 5.0  # seconds: past WITHIN, to say how late the change is, or that it never comes
ADMIN = "admin"
CONFIG_URL = "/admin/intercom_identity/platformconfig/{pk}/"

State = tuple[str, str | None]  # (phase, user_hash), as the JSON view serves them

_tags = itertools.count(1)  # each JSON request's tag, so that the access log says which worker served it


# --- services ------------------------------------------------------------------------


def recreate_database(*, create: bool = True) -> None:
    import psycopg

    host, port = POSTGRES
    with psycopg.connect(host=host, port=port, user="postgres", dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        if create:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')


def flush_redis() -> None:
    import redis

    host, port = REDIS
    client = redis.Redis(host=host, port=port, db=REDIS_DB)
    try:
        client.flushdb()
    finally:
        client.close()


def multiserver_environment() -> ServerEnvironment:
    return server_environment(
        postgres_url(DATABASE),
        redis_url("multiserver"),
        # Only invalidation can make a change visible within a second, never a cache's expiry.
        INTERCOM_IDENTITY_CACHE_TTL="3600",
        INTERCOM_IDENTITY_HASH_RATE_LIMIT="0",  # polling asks far more often than a user would
    )


# --- HTTP clients --------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One answer of the JSON view: which request it answers, when it arrived, what it served."""

    tag: int
    received: float
    status: int  # 0: no answer (``error`` says why)
    state: State | None
    error: str | None = None


def ask(server: Server, session: Hidden, platform: str) -> Answer:
    """``GET /intercom/user-hash/?platform=...`` as the signed-in user, on a connection of its own."""
    tag = next(_tags)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        query = urllib.parse.urlencode({"platform": platform, "tag": tag})
        connection.request("GET", f"{HASH_URL}?{query}", headers={"Cookie": f"sessionid={session.value}"})
        response = connection.getresponse()
        body = response.read()
    except (OSError, http.client.HTTPException) as exc:
        return Answer(tag, time.monotonic(), 0, None, f"{type(exc).__name__}: {redact(str(exc))}")
    finally:
        connection.close()
    received = time.monotonic()
    if response.status != 200:
        return Answer(tag, received, response.status, None)
    data = json.loads(body)
    return Answer(tag, received, response.status, (data["phase"], data["user_hash"]))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the redirect is the answer looked at


class Browser:
    """The admin's browser: one cookie jar for both servers (a cookie does not depend on the port)."""

    def __init__(self) -> None:
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirects())

    def request(self, url: str, fields: dict[str, str | Hidden] | None = None) -> tuple[int, str]:
        """GET, or POST ``fields`` with the CSRF token: the status and the ``Location`` header."""
        data = None
        if fields is not None:
            values = {name: value.value if isinstance(value, Hidden) else value for name, value in fields.items()}
            data = urllib.parse.urlencode({**values, "csrfmiddlewaretoken": self.csrf_token()}).encode()
        try:
            with self.opener.open(url, data=data, timeout=30) as response:
                response.read()
                return response.status, response.headers.get("Location", "")
        except urllib.error.HTTPError as error:  # redirects as well as errors
            error.read()
            return error.code, error.headers.get("Location", "")
        except (urllib.error.URLError, OSError) as error:
            pytest.fail(f"{url} did not answer: {error}", pytrace=False)

    def csrf_token(self) -> str:
        return next(cookie.value or "" for cookie in self.jar if cookie.name == "csrftoken")

    def log_in(self, server: Server, username: str, password: Hidden) -> None:
        login = f"{server.url}/admin/login/"
        self.request(login)  # sets the CSRF cookie
        answer = self.request(login, {"username": username, "password": password, "next": "/admin/"})
        assert answer == (302, "/admin/"), f"the admin's login through {server.name} answered {answer}"


# --- the two servers -----------------------------------------------------------------


@dataclass(repr=False)
class Site:
    a: Server
    b: Server
    admin: Browser
    session: Hidden  # the normal user's session, in the shared database
    user_id: str
    configs: dict[str, int]  # platform -> primary key of its development configuration
    secrets: dict[str, Hidden]  # platform -> the secret stored now

    def __repr__(self) -> str:
        return f"<servers A on {self.a.port} and B on {self.b.port}>"


@pytest.fixture(scope="module", params=["wsgi", "asgi"])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """PostgreSQL and Redis set up afresh, then A and B started; all stopped and cleaned at the end.

    Every test runs twice: gunicorn's sync workers (WSGI, the sync views), then gunicorn managing
    uvicorn workers (ASGI: ``project.asgi``, the async views and the connection pool)."""
    require("the multi-server test", postgres=True, redis=True)
    env = multiserver_environment()
    stored = {"ios": new_secret(), "android": new_secret(), "web": new_secret()}
    admin_password = Hidden.new(secrets.token_urlsafe(24))
    recreate_database()
    flush_redis()
    manage(env, "migrate", "--noinput")
    made = set_up(
        env,
        {
            "admin": ADMIN,
            "admin_password": admin_password.value,
            "users": {"jane": Hidden.new(secrets.token_urlsafe(24)).value},
            "environment": ENVIRONMENT,
            "secrets": {platform: secret.value for platform, secret in stored.items()},
            "phases": {"ios": "off", "android": "sending", "web": "sending"},
        },
    )
    jane = made["users"]["jane"]
    session = Hidden(jane["session"])
    logs = tmp_path_factory.mktemp("multiserver")
    servers: list[Server] = []
    try:
        for name in ("A", "B"):
            servers.append(Server.start(f"{name}-{request.param}", env, logs, workers=WORKERS, interface=request.param))
        for server in servers:
            server.wait_until_up()
        admin = Browser()
        admin.log_in(servers[0], ADMIN, admin_password)
        yield Site(servers[0], servers[1], admin, session, jane["user_id"], made["configs"], stored)
    finally:
        for server in servers:
            server.stop()
        recreate_database(create=False)
        flush_redis()


# --- changes through the admin -------------------------------------------------------


def move_phase(site: Site, server: Server, platform: str, phase: str) -> float:
    """Confirm the phase transition on ``server``'s admin; when its answer arrived."""
    url = server.url + CONFIG_URL.format(pk=site.configs[platform]) + "transition/"
    answer = site.admin.request(url, {"transition": f"phase:{phase}", "confirm": "yes", "reason": "multi-server test"})
    answered = time.monotonic()
    assert answer == (302, CONFIG_URL.format(pk=site.configs[platform]) + "change/"), (
        f"the transition through {server.name} answered {answer}"
    )
    return answered


def replace_secret(site: Site, server: Server, platform: str, secret: Hidden) -> float:
    """Save a new secret with ``server``'s admin change form; when its answer arrived."""
    url = server.url + CONFIG_URL.format(pk=site.configs[platform]) + "change/"
    status, _location = site.admin.request(url, {"min_sending_version": "", "new_secret": secret, "_save": "1"})
    answered = time.monotonic()
    assert status == 302, f"the change form through {server.name} refused the new secret ({status})"
    site.secrets[platform] = secret
    return answered


# --- warming and polling -------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    platform: str
    before: State
    after: State
    hashes: dict[str | None, str]  # what each hash is, for messages that show no hash

    def describe(self, state: State | None) -> str:
        if state is None:
            return "an error"
        phase, served_hash = state
        return f"phase {phase!r} with {self.hashes.get(served_hash, 'an unexpected hash')}"


def ask_every_worker(site: Site, server: Server, platform: str) -> list[Answer]:
    """One round: as many requests at once as there are workers, so that each worker tends to get one."""
    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(lambda _n: ask(server, site.session, platform), range(WORKERS)))


def warm(site: Site, server: Server, change: Change) -> None:
    """Ask until every worker of ``server`` has served the platform twice, each time the state before."""
    tags: list[int] = []
    per_worker: dict[str, int] = {}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for answer in ask_every_worker(site, server, change.platform):
            assert answer.state == change.before, (
                f"before the change, {server.name} served {change.describe(answer.state)} "
                f"(status {answer.status}{', ' + answer.error if answer.error else ''}){server.diagnosis()}"
            )
            tags.append(answer.tag)
        time.sleep(0.05)  # each access log line is written just after its response
        served = server.served()
        per_worker = {}
        for worker in (served[tag].worker for tag in tags if tag in served):
            per_worker[worker] = per_worker.get(worker, 0) + 1
        if len(per_worker) >= WORKERS and min(per_worker.values()) >= 2:
            return
    pytest.fail(f"could not reach all {WORKERS} workers of {server.name}: requests per worker {per_worker}")


@dataclass(frozen=True)
class Outcome:
    """How the workers of the serving server answered around and after the change."""

    first_new: dict[str, float]  # worker pid -> seconds from the change to its first answer with the new state
    workers: set[str]  # every worker that answered
    stale_after_new: set[str]  # workers that served the old state again after the new one
    last_state: State | None
    answers: int

    @property
    def complete(self) -> bool:
        return len(self.first_new) >= WORKERS and not self.workers - set(self.first_new)

    @property
    def delay(self) -> float:
        """When the last worker started serving the new state (infinite if one never did)."""
        return max(self.first_new.values()) if self.complete else float("inf")

    def timings(self) -> str:
        def timing(pid: str) -> str:
            return f"after {self.first_new[pid] * 1000:.0f} ms" if pid in self.first_new else "never"

        return ", ".join(f"worker {pid} {timing(pid)}" for pid in sorted(self.workers))


def outcome_of(answers: Iterable[Answer], served: dict[int, Served], after: State, since: float) -> Outcome:
    """Answers not in the access log yet are left out; each worker's answers are taken in serving order."""
    logged = sorted(((served[a.tag], a) for a in answers if a.tag in served), key=lambda pair: pair[0].order)
    first_new: dict[str, float] = {}
    stale_after_new: set[str] = set()
    for where, answer in logged:
        if answer.state == after:
            # An answer that arrived before the admin's (the change committed meanwhile) counts as 0.
            first_new.setdefault(where.worker, max(0.0, answer.received - since))
        elif where.worker in first_new:
            stale_after_new.add(where.worker)
    last_state = max(logged, key=lambda pair: pair[1].received)[1].state if logged else None
    return Outcome(first_new, {where.worker for where, _a in logged}, stale_after_new, last_state, len(logged))


class Poller:
    """Asks a server in a thread of its own: without pause from before the change until the admin
    has answered (so that workers reload in the middle of the change), then every POLL_EVERY."""

    def __init__(self, site: Site, server: Server, platform: str) -> None:
        self.site, self.server, self.platform = site, server, platform
        self.answers: list[Answer] = []
        self.pause = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.answers.extend(ask_every_worker(self.site, self.server, self.platform))
            self._stop.wait(self.pause)

    @property
    def errors(self) -> list[str]:
        return [answer.error for answer in self.answers if answer.error]

    def __enter__(self) -> Poller:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def wait_for(self, after: State, since: float) -> Outcome:
        """Until every worker has served ``after``, or KEEP_POLLING seconds after ``since``."""
        self.pause = POLL_EVERY
        while time.monotonic() - since < KEEP_POLLING and not self.errors:
            if outcome_of(list(self.answers), self.server.served(), after, since).complete:
                break
            time.sleep(POLL_EVERY)
        time.sleep(0.05)  # the access log lines of the last answers
        return outcome_of(list(self.answers), self.server.served(), after, since)


def assert_served_within_a_second(
    site: Site, change: Change, make_change: Callable[[], float], *, through: Server, serving: Server
) -> None:
    """Warm ``serving``, make the change through ``through`` while polling ``serving``: every worker
    of ``serving`` serves the new state within WITHIN seconds of the admin's answer, and keeps to it."""
    warm(site, serving, change)
    with Poller(site, serving, change.platform) as poller:
        changed_at = make_change()
        outcome = poller.wait_for(change.after, changed_at)
    on_changed = ask(through, site.session, change.platform).state
    summary = (
        f"{change.platform} changed through {through.name} (which now serves {change.describe(on_changed)}); "
        f"{serving.name} served {change.describe(change.after)}: {outcome.timings()} "
        f"({outcome.answers} answers polled)"
    )
    print(summary)
    assert not poller.errors, f"{summary}. Polling {serving.name} failed: {poller.errors}{serving.diagnosis()}"
    assert outcome.delay <= WITHIN, (
        f"{summary}. Not every worker of {serving.name} served the change within {WITHIN:.1f} s; "
        f"its last answer was {change.describe(outcome.last_state)}.{serving.diagnosis()}{through.diagnosis()}"
    )
    assert not outcome.stale_after_new, (
        f"{summary}. Workers {sorted(outcome.stale_after_new)} of {serving.name} went back to the old state."
    )


# --- scenarios -----------------------------------------------------------------------


def test_phase_change_through_a_is_served_by_b_within_a_second(site: Site) -> None:
    expected = user_hash(site.secrets["ios"], site.user_id)
    change = Change("ios", ("off", None), ("sending", expected), {None: "no hash", expected: "the ios secret's hash"})

    assert_served_within_a_second(
        site, change, lambda: move_phase(site, site.a, "ios", "sending"), through=site.a, serving=site.b
    )


def test_new_secret_through_a_is_served_by_b_within_a_second(site: Site) -> None:
    secret = new_secret()
    old, new = user_hash(site.secrets["android"], site.user_id), user_hash(secret, site.user_id)
    hashes = {None: "no hash", old: "the old secret's hash", new: "the new secret's hash"}
    change = Change("android", ("sending", old), ("sending", new), hashes)

    assert_served_within_a_second(
        site, change, lambda: replace_secret(site, site.a, "android", secret), through=site.a, serving=site.b
    )


def test_phase_change_through_b_is_served_by_a_within_a_second(site: Site) -> None:
    """The other way round (the admin's session works on B too), and the move that matters most:
    handing out hashes stops everywhere."""
    old = user_hash(site.secrets["web"], site.user_id)
    change = Change("web", ("sending", old), ("off", None), {None: "no hash", old: "the web secret's hash"})

    assert_served_within_a_second(
        site, change, lambda: move_phase(site, site.b, "web", "off"), through=site.b, serving=site.a
    )
