"""Chaos: the demo under load while its cache and its database fail, served by gunicorn
(sync workers, then uvicorn workers: the WSGI and the ASGI runs).

One gunicorn (2 sync workers) serves the demo site on PostgreSQL and Redis that this test runs
itself (``tests/throwaway_services.py``: its own ``initdb`` cluster and ``redis-server`` on free
loopback ports, stopped and removed at the end even when it fails; the machine's shared services
are never touched). A bounded load generator (``RATE`` requests a second from at most
``LOAD_THREADS`` threads on 127.0.0.1, at most ``MAX_REQUESTS`` per scenario) asks the JSON view
for the iOS hash of one of ``USERS`` signed-in users, reporting an app version, with the rate
limit on (every request counts in Redis), and checks every body against an HMAC computed here.
The rate is offered whatever the answers (a late thread catches up): well under what the
machine serves, so that throughput only falls when the server stalls, not when other work on
a shared machine slows it. Each scenario measures ``BEFORE`` seconds, breaks a service for
``OUTAGE`` seconds, mends it and measures ``AFTER`` seconds more:

- Redis stopped: connections refused;
- Redis frozen (SIGSTOP, then SIGCONT): connections accepted, nothing answered;
- PostgreSQL stopped (fast shutdown), then started again.

It asserts: no answer but a correct 200, except JSON 503 ``database_unavailable`` while the
database is down; 0 wrong hashes; throughput while Redis is frozen at least half of the
throughput before; answers back to normal, and every worker using the service again (its
"available again" record), within ``RECOVERY_WITHIN`` of the service's return; at most
``MAX_RECORDS_PER_WORKER`` log records per worker and outage, none holding a secret, a key or
a session; no worker restarted.

The demo's defaults apply (Redis client time-outs 0.25 s, persistent connections with health
checks) except ``INTERCOM_IDENTITY_CACHE_COOLDOWN`` = 1 s, so that a worker tries the cache
again within the recovery time asked for. Deselected by default (``-m "not chaos"`` in
pyproject.toml): ``make chaos`` runs it, and ``.ci/run``, where a missing ``initdb`` or
``redis-server`` fails it instead of skipping it (``INTERCOM_IDENTITY_REQUIRE_SERVICES=1``).
The figures of each scenario are printed (``pytest -s``) and quoted in docs/performance.md.
"""

from __future__ import annotations

import http.client
import json
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests import leakguard
from tests.demo_servers import ENVIRONMENT, HASH_URL, Hidden, Server, manage, new_secret, server_environment, set_up
from tests.demo_servers import user_hash as independent_hash
from tests.helpers import RECORD
from tests.localservices import postgres_bin, require
from tests.throwaway_services import PostgresCluster, RedisServer

pytestmark = [pytest.mark.chaos]

DATABASE = "intercom_identity_chaos"
WORKERS = 2
POOL_SIZE = 3  # DATABASE_POOL_SIZE of the ASGI run: the pool's maximum per uvicorn worker
MIN_REQUESTS_FOR_BOUND = 1000  # the connection bound is judged over at least this many requests
USERS = 8
RATE = 60.0  # requests a second offered: well under what the machine serves even when busy with other work
LOAD_THREADS = 8  # at most this many requests at once
CATCH_UP = 0.5  # seconds of backlog a thread makes up for after a late answer
MAX_REQUESTS = 20_000  # per scenario: the load is bounded in count as well as in time
REQUEST_TIMEOUT = 10.0
BEFORE, OUTAGE, AFTER = 3.0, 6.0, 4.0  # seconds of each scenario
WARM_UP = 0.5  # seconds at the start of a scenario left out of "before"
COOLDOWN = "1"  # INTERCOM_IDENTITY_CACHE_COOLDOWN of the servers, seconds
RECOVERY_WITHIN = 2.0
FROZEN_THROUGHPUT = 0.5  # at least this share of the throughput before, while Redis is frozen
MAX_RECORDS_PER_WORKER = 4  # log records per worker and outage
APP_VERSION = "3.1.0"

BOOTING = re.compile(r"Booting worker with pid: (\d+)")


@dataclass(frozen=True)
class User:
    name: str
    user_id: str
    session: Hidden
    expected_hash: str  # computed here, never by the app


@dataclass(repr=False)
class ChaosSite:
    server: Server
    redis: RedisServer
    postgres: PostgresCluster
    users: list[User]
    interface: str = "wsgi"
    connections: ConnectionSampler | None = None
    requests: int = 0  # answered over every scenario so far

    @property
    def connection_bound(self) -> int:
        """The most connections the server may hold: the pool's size per uvicorn worker (ASGI),
        one persistent connection per sync worker (WSGI)."""
        return WORKERS * (POOL_SIZE if self.interface == "asgi" else 1)


class ConnectionSampler(threading.Thread):
    """The most connections to the demo's database at once (``pg_stat_activity``, every 50 ms;
    the sampler's own excluded). While PostgreSQL is down there is nothing to count."""

    def __init__(self, postgres: PostgresCluster) -> None:
        super().__init__(daemon=True)
        self.url = postgres.url("postgres")
        self.most = 0
        self.samples = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        import psycopg

        while not self.stopped.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=1) as conn:
                    while not self.stopped.wait(0.05):
                        row = conn.execute(
                            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (DATABASE,)
                        ).fetchone()
                        self.most = max(self.most, int(row[0]) if row else 0)
                        self.samples += 1
            except psycopg.Error:
                self.stopped.wait(0.2)  # stopped by the scenario: sample again once it is back

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)


@pytest.fixture(scope="module", params=["wsgi", "asgi"])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChaosSite]:
    """Our own PostgreSQL cluster and redis-server, the demo migrated and set up in them, and
    gunicorn serving it; everything stopped and removed at the end, whatever happened.

    Every scenario runs twice: gunicorn's sync workers (WSGI), then gunicorn managing uvicorn
    workers (ASGI: ``project.asgi``, the async views, Django's psycopg connection pool)."""
    require("the chaos test", postgres_server=True, redis_server=True)
    bin_dir = postgres_bin()
    assert bin_dir is not None
    redis_dir = Path(tempfile.mkdtemp(prefix="intercom-identity-redis-"))
    postgres = PostgresCluster(bin_dir)
    redis = RedisServer(redis_dir)
    server: Server | None = None
    sampler: ConnectionSampler | None = None
    try:
        postgres.init()
        postgres.start()
        postgres.create_database(DATABASE)
        redis.start()
        env = server_environment(
            postgres.url(DATABASE),
            redis.url,
            INTERCOM_IDENTITY_HASH_RATE_LIMIT="1000000",  # on, so every request counts in Redis; never reached
            INTERCOM_IDENTITY_CACHE_COOLDOWN=COOLDOWN,
            DATABASE_POOL_SIZE=str(POOL_SIZE),
        )
        manage(env, "migrate", "--noinput")
        secret = new_secret()
        passwords = {f"user{n}": Hidden.new(secrets.token_urlsafe(18)).value for n in range(USERS)}
        made = set_up(
            env,
            {
                "admin": "admin",
                "admin_password": Hidden.new(secrets.token_urlsafe(18)).value,
                "users": passwords,
                "environment": ENVIRONMENT,
                "secrets": {"ios": secret.value},
                "phases": {"ios": "sending"},
            },
        )
        users = [
            User(
                name, made_user["user_id"], Hidden(made_user["session"]), independent_hash(secret, made_user["user_id"])
            )
            for name, made_user in made["users"].items()
        ]
        server = Server.start(
            f"chaos-{request.param}",
            env,
            tmp_path_factory.mktemp("chaos"),
            workers=WORKERS,
            access_log=False,
            interface=request.param,
        )
        server.wait_until_up()
        sampler = ConnectionSampler(postgres)
        sampler.start()
        yield ChaosSite(server, redis, postgres, users, request.param, sampler)
    finally:
        if sampler is not None:
            sampler.stop()
        if server is not None:
            server.stop()
        redis.stop()
        postgres.remove()
        shutil.rmtree(redis_dir, ignore_errors=True)


# --- the load ------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    sent: float  # wall clock, to compare with the log's timestamps
    received: float
    status: int  # 0: no answer
    verdict: str  # "ok", "wrong hash", "503 database_unavailable", or what else came


def ask(port: int, user: User) -> Answer:
    """One request on a connection of its own (gunicorn's sync workers close each one)."""
    sent = time.time()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        headers = {"Cookie": f"sessionid={user.session.value}", "X-App-Version": APP_VERSION}
        connection.request("GET", f"{HASH_URL}?platform=ios", headers=headers)
        response = connection.getresponse()
        body = response.read()
    except (OSError, http.client.HTTPException) as exc:
        return Answer(sent, time.time(), 0, f"no answer: {type(exc).__name__}")
    finally:
        connection.close()
    return Answer(sent, time.time(), response.status, verdict(response.status, body, user))


def verdict(status: int, body: bytes, user: User) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return f"{status} not JSON"
    if not isinstance(data, dict):
        return f"{status} not a JSON object"
    if status == 200:
        right = (data.get("user_id"), data.get("phase"), data.get("user_hash")) == (
            user.user_id,
            "sending",
            user.expected_hash,
        )
        return "ok" if right else "wrong hash"
    return f"{status} {data.get('error')}"


class Load:
    """``RATE`` requests a second offered by ``LOAD_THREADS`` threads, each through the users in
    turn, until stopped or ``MAX_REQUESTS`` answers. A thread whose answer comes late sends the
    next one at once (catching up at most ``CATCH_UP`` seconds), so a server that stalls serves
    less than the rate, and one that keeps up serves the rate whatever else the machine does."""

    def __init__(self, site: ChaosSite) -> None:
        self.site = site
        self.answers: list[Answer] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(LOAD_THREADS)]

    def _run(self, offset: int) -> None:
        users = self.site.users
        interval = LOAD_THREADS / RATE
        due = time.monotonic() + offset * interval / LOAD_THREADS
        count = offset
        while len(self.answers) < MAX_REQUESTS and not self._stop.wait(max(0.0, due - time.monotonic())):
            self.answers.append(ask(self.site.server.port, users[count % len(users)]))
            count += 1
            due = max(due + interval, time.monotonic() - CATCH_UP)

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=REQUEST_TIMEOUT + 5)


# --- the log -------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    at: float  # wall clock
    level: str
    logger: str
    worker: str
    message: str
    traceback: bool


def records_of(text: str) -> list[Record]:
    """The app's log records in a stretch of the server's stderr (gunicorn's own lines are not)."""
    matches = [match for match in RECORD.finditer(text) if match.group(3).startswith("intercom_identity")]
    records = []
    for index, match in enumerate(matches):
        following = text[match.end() : matches[index + 1].start() if index + 1 < len(matches) else len(text)]
        # The demo's TIME_ZONE is UTC, and Django gives its processes that local time.
        at = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").replace(tzinfo=timezone.utc).timestamp()
        records.append(
            Record(at, match.group(2), match.group(3), match.group(4), match.group(5), "Traceback" in following)
        )
    return records


# --- a scenario ----------------------------------------------------------------------


@dataclass
class Figures:
    name: str
    answers: list[Answer]
    broken: float
    back: float
    ended: float
    started: float
    log: str
    records: list[Record] = field(init=False)

    def __post_init__(self) -> None:
        self.records = records_of(self.log)

    def throughput(self, start: float, end: float) -> float:
        return sum(1 for a in self.answers if start <= a.received < end) / (end - start)

    @property
    def before(self) -> float:
        return self.throughput(self.started + WARM_UP, self.broken)

    @property
    def during(self) -> float:
        return self.throughput(self.broken, self.back)

    @property
    def after(self) -> float:
        return self.throughput(self.back, self.ended)

    @property
    def verdicts(self) -> Counter[str]:
        return Counter(answer.verdict for answer in self.answers)

    @property
    def wrong_hashes(self) -> int:
        return self.verdicts["wrong hash"]

    @property
    def answers_recovery(self) -> float:
        """From the service's return to the first correct answer after the last other one."""
        last_bad = max((a.received for a in self.answers if a.verdict != "ok"), default=self.back)
        since = max(last_bad, self.back)
        first_ok = min((a.received for a in self.answers if a.verdict == "ok" and a.received > since), default=None)
        return float("inf") if first_ok is None else first_ok - self.back

    def service_recovery(self, service: str) -> dict[str, float]:
        """Per worker: from the service's return to its record "<service> is available again"."""
        return {
            record.worker: record.at - self.back
            for record in self.records
            if record.message.startswith(f"Intercom identity: {service} is available again")
        }

    @property
    def slowest(self) -> float:
        return max((a.received - a.sent for a in self.answers), default=0.0)

    def summary(self) -> str:
        statuses = Counter(answer.status for answer in self.answers)
        recovered = self.service_recovery("the database" if "PostgreSQL" in self.name else "the cache")
        return (
            f"{self.name}: {len(self.answers):,} requests, statuses {dict(sorted(statuses.items()))}, "
            f"verdicts {dict(self.verdicts)}, {self.wrong_hashes} wrong hashes; throughput before "
            f"{self.before:,.0f} req/s, during {self.during:,.0f} req/s ({self.during / self.before:.2f}x), "
            f"after {self.after:,.0f} req/s; slowest answer {self.slowest * 1000:,.0f} ms; answers normal "
            f"{self.answers_recovery * 1000:,.0f} ms after the return, service in use again by each worker after "
            f"{', '.join(f'{seconds * 1000:,.0f} ms' for seconds in sorted(recovered.values())) or 'never'}; "
            f"{len(self.records)} log records ({sum(r.traceback for r in self.records)} with a traceback), "
            f"{len(self.log.encode()):,} bytes of log"
        )


def run_scenario(site: ChaosSite, name: str, breaks: Callable[[], None], mends: Callable[[], None]) -> Figures:
    """Load for BEFORE s, ``breaks()``, OUTAGE s, ``mends()`` (it returns once the service is
    back), AFTER s. Mends even when something fails on the way."""
    offset = len(site.server.stderr())
    with Load(site) as load:
        started = time.time()
        time.sleep(BEFORE)
        broken = time.time()
        try:
            breaks()
            time.sleep(OUTAGE)
        finally:
            mends()
        back = time.time()
        time.sleep(AFTER)
        ended = time.time()
    time.sleep(0.2)  # the last records reach the file
    figures = Figures(name, list(load.answers), broken, back, ended, started, site.server.stderr()[offset:])
    site.requests += len(figures.answers)
    print(figures.summary())
    return figures


def assert_held(
    figures: Figures, site: ChaosSite, service: str, *, allowed: frozenset[str] = frozenset({"ok"})
) -> None:
    summary = figures.summary()
    assert figures.wrong_hashes == 0, summary
    others = {verdict: n for verdict, n in figures.verdicts.items() if verdict not in allowed}
    assert not others, f"answers other than {sorted(allowed)}: {others}. {summary}{site.server.diagnosis()}"
    assert figures.answers_recovery <= RECOVERY_WITHIN, summary
    per_worker = Counter(record.worker for record in figures.records)
    assert max(per_worker.values(), default=0) <= MAX_RECORDS_PER_WORKER, (
        f"{summary}; first records: {[(r.worker, r.message[:100]) for r in figures.records[:10]]}"
    )
    assert not leakguard.find_leaks([("the server's log", figures.log)], leakguard.known_secrets), (
        "a secret, a session key or a key is in the server's log"
    )
    recovered = figures.service_recovery(service)
    assert len(recovered) == WORKERS, f"not every worker logged that {service} is back: {summary}"
    assert max(recovered.values()) <= RECOVERY_WITHIN, summary
    assert len(BOOTING.findall(site.server.stderr())) == WORKERS, "a worker was restarted" + site.server.diagnosis()


# --- scenarios -----------------------------------------------------------------------


def test_redis_stopped_refuses_connections_and_serving_goes_on(site: ChaosSite) -> None:
    figures = run_scenario(site, "Redis stopped (refused)", site.redis.stop, site.redis.start)

    assert_held(figures, site, "the cache")


def test_redis_frozen_costs_one_time_out_per_worker_and_cool_down(site: ChaosSite) -> None:
    figures = run_scenario(site, "Redis frozen (SIGSTOP)", site.redis.freeze, site.redis.thaw)

    assert_held(figures, site, "the cache")
    assert figures.during >= FROZEN_THROUGHPUT * figures.before, figures.summary()


def test_postgresql_stopped_is_json_503_then_recovers(site: ChaosSite) -> None:
    figures = run_scenario(site, "PostgreSQL stopped", site.postgres.stop, site.postgres.start)

    assert_held(figures, site, "the database", allowed=frozenset({"ok", "503 database_unavailable"}))
    unavailable = [a for a in figures.answers if a.verdict != "ok"]
    assert unavailable, "the database outage was never noticed: is it really this test's own cluster?"
    assert all(figures.broken <= a.received <= figures.back + RECOVERY_WITHIN for a in unavailable), (
        f"a 503 outside the outage: {figures.summary()}"
    )


def test_connections_stay_bounded_over_every_scenario(site: ChaosSite) -> None:
    """Run after the scenarios (file order): at most the pool's size per worker under ASGI, one
    connection per worker under WSGI, over more than a thousand requests and three outages."""
    assert site.connections is not None
    assert site.requests >= MIN_REQUESTS_FOR_BOUND, f"only {site.requests} requests: run the whole file"
    print(
        f"{site.interface}: at most {site.connections.most} PostgreSQL connections at once over {site.requests:,} "
        f"requests ({site.connections.samples} samples; bound {site.connection_bound})"
    )
    assert 0 < site.connections.most <= site.connection_bound
