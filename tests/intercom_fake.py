"""A local stand-in for Intercom's REST API (pytest-httpserver), answering JSON shaped as
Intercom documents it (``GET /me``, ``GET /admins/activity_logs``, and the Preview API's
``GET/POST /secure_mode_secrets`` and ``DELETE /secure_mode_secrets/{id}``), and helpers to
check what the official SDK and the app sent it."""

from __future__ import annotations

import json
import re
import secrets as random
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from intercom_identity.models import Environment, WorkspaceSnapshot
from tests import leakguard
from tests.helpers import command_result

# Shaped like Intercom's access tokens; supplied by settings, so the leak guard learns them there.
TOKENS = {
    "production": "dG9rOmFhYmJjY2RkLTExMjItMzM0NC01NTY2LTc3ODg5OWFhYmJjYzoxOjA=",
    "development": "dG9rOjAwMTEyMjMzLWRldi0wMDAwLTk5ODgtNzc2NjU1NDQzMzIyOjE6MA==",
}
APP_IDS = {"production": "prodapp1", "development": "devapp01"}


def me(*, identity_verification: bool, id_code: str = APP_IDS["production"], **app: Any) -> dict[str, Any]:
    """``GET /me`` as Intercom documents it: the admin behind the token, with the workspace (``app``)."""
    return {
        "type": "admin",
        "id": "991267390",
        "email": "ops@example.com",
        "name": "Ops Admin",
        "email_verified": True,
        "app": {
            "type": "app",
            "id_code": id_code,
            "name": "Acme",
            "created_at": 1719492696,
            "secure": False,
            "identity_verification": identity_verification,
            "timezone": "Europe/Dublin",
            "region": "US",
            **app,
        },
        "avatar": {"type": "avatar", "image_url": "https://static.intercomassets.com/avatars/128.png"},
        "has_inbox_seat": True,
        "away_mode_enabled": False,
        "away_mode_reassign": False,
        "job_title": "Support lead",
        "team_ids": [814865],
    }


def log_entry(
    entry_id: str, activity_type: str, created_at: datetime, *, email: str = "john@example.com", description: str = ""
) -> dict[str, Any]:
    """One activity log entry as Intercom documents it."""
    return {
        "id": entry_id,
        "performed_by": {"type": "admin", "id": "1295", "email": email, "ip": "198.51.100.255"},
        "metadata": {"source": "admin update from web - Admin id: 1295"},
        "created_at": int(created_at.timestamp()),
        "activity_type": activity_type,
        "activity_description": description or f"Admin did {activity_type}.",
    }


def log_page(entries: list[dict[str, Any]], *, page: int = 1, total_pages: int = 1, base: str = "") -> dict[str, Any]:
    """``GET /admins/activity_logs`` as Intercom documents it; ``next`` is the next page's URL, or null."""
    following = f"{base}/admins/activity_logs?page={page + 1}&per_page=250" if page < total_pages else None
    return {
        "type": "activity_log.list",
        "pages": {"type": "pages", "next": following, "page": page, "per_page": 250, "total_pages": total_pages},
        "activity_logs": entries,
    }


def ago(**delta: float) -> datetime:
    return datetime.now(timezone.utc) - timedelta(**delta)


SECRETS_PATH = "/secure_mode_secrets"
PLATFORM_FLAGS = ("supports_android", "supports_ios", "supports_web")


def secure_mode_secret(secret_id: str, name: str, flags: dict[str, bool], created_at: int) -> dict[str, Any]:
    """One secret as the Preview API's ``GET /secure_mode_secrets`` lists it: metadata only."""
    return {"type": "secure_mode_secret", "id": secret_id, "name": name, **flags, "created_at": created_at}


def not_found(secret_id: str) -> dict[str, Any]:
    return {
        "type": "error.list",
        "request_id": "b5b1f2d3",
        "errors": [{"code": "not_found", "message": f"Secure mode secret {secret_id} not found"}],
    }


class FakeSecrets:
    """The workspace's messenger secrets, behind the Preview endpoints.

    Each handler checks what the app sent (method, path, bearer token, ``Intercom-Version: Preview``,
    a JSON body with a name and the three ``supports_*`` booleans) and notes any mistake in ``problems``.
    ``fail`` makes the next call of a method answer a status instead; ``lose_answer`` makes the next
    POST create the secret and then answer 503 (the answer lost on the way back).
    """

    def __init__(self, token: str) -> None:
        self.token = token
        self.store: dict[str, dict[str, Any]] = {}
        self.values: dict[str, str] = {}  # id -> the secret, as Intercom keeps it
        self.problems: list[str] = []
        self.fail: dict[str, int] = {}
        self.lose_answer = False
        self.calls: list[tuple[str, str]] = []
        self.made = 0

    def add(self, name: str = "made by hand", *platforms: str, created_at: int = 1765000000) -> str:
        secret_id = str(len(self.store) + 9001)
        flags = {flag: flag.removeprefix("supports_") in platforms for flag in PLATFORM_FLAGS}
        self.store[secret_id] = secure_mode_secret(secret_id, name, flags, created_at)
        return secret_id

    def _check(self, request: Request) -> None:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            self.problems.append(f"{request.method} {request.path}: not the environment's bearer token")
        if request.headers.get("Intercom-Version") != "Preview":
            self.problems.append(f"{request.method} {request.path}: Intercom-Version is not Preview")

    def _failure(self, method: str) -> Response | None:
        status = self.fail.pop(method, None)
        if status is None:
            return None
        headers = {"X-RateLimit-Reset": str(int(time.time()))} if status == 429 else {}
        body = {"type": "error.list", "errors": [{"code": "server_error" if status >= 500 else "rate_limited"}]}
        return Response(json.dumps(body), status=status, content_type="application/json", headers=headers)

    def handle(self, request: Request) -> Response:
        self.calls.append((request.method, request.path))
        self._check(request)
        failure = self._failure(request.method)
        if failure is not None:
            return failure
        if request.method == "GET" and request.path == SECRETS_PATH:
            body: Any = {"type": "list", "data": list(self.store.values())}
            return Response(json.dumps(body), content_type="application/json")
        if request.method == "POST" and request.path == SECRETS_PATH:
            return self._create(request)
        if request.method == "DELETE" and request.path.startswith(SECRETS_PATH + "/"):
            secret_id = request.path.rsplit("/", 1)[1]
            if self.store.pop(secret_id, None) is None:
                return Response(json.dumps(not_found(secret_id)), status=404, content_type="application/json")
            self.values.pop(secret_id, None)
            body = {"type": "secure_mode_secret", "id": secret_id, "deleted": True}
            return Response(json.dumps(body), content_type="application/json")
        self.problems.append(f"unexpected {request.method} {request.path}")
        return Response("{}", status=400, content_type="application/json")

    def _create(self, request: Request) -> Response:
        if request.headers.get("Content-Type", "").split(";")[0] != "application/json":
            self.problems.append("POST: the body is not JSON")
        body = json.loads(request.get_data() or b"{}")
        name = body.get("name")
        flags = {flag: body.get(flag) for flag in PLATFORM_FLAGS}
        if not isinstance(name, str) or not name or not all(isinstance(v, bool) for v in flags.values()):
            self.problems.append(f"POST: malformed body {sorted(body)}")
            return Response("{}", status=400, content_type="application/json")
        self.made += 1
        secret_id = str(7000 + self.made)  # never reused, as Intercom's ids are not
        created = secure_mode_secret(secret_id, name, flags, int(time.time()))
        self.store[secret_id] = created
        self.values[secret_id] = random.token_hex(32)  # 256 bits, returned this once
        leakguard.remember_secret(self.values[secret_id])  # even one the app never stores must never be shown
        if self.lose_answer:
            self.lose_answer = False
            return Response("{}", status=503, content_type="application/json")
        return Response(json.dumps({**created, "secret": self.values[secret_id]}), content_type="application/json")

    def named(self, name: str) -> list[dict[str, Any]]:
        return [secret for secret in self.store.values() if secret["name"] == name]


class FakeIntercom:
    """Registers answers on the local server and reads back what was asked."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self._secrets: FakeSecrets | None = None

    def secrets(self, token: str = TOKENS["production"]) -> FakeSecrets:
        """The Preview secrets endpoints, answering from one store (registered once)."""
        if self._secrets is None:
            self._secrets = FakeSecrets(token)
            # A workspace with identity verification set up has a secret, made in its settings.
            self._secrets.add("made by hand", "android", "ios", "web")
            self.server.expect_request(SECRETS_PATH).respond_with_handler(self._secrets.handle)
            self.server.expect_request(re.compile(rf"^{SECRETS_PATH}/[^/]+$")).respond_with_handler(
                self._secrets.handle
            )
        return self._secrets

    @property
    def url(self) -> str:
        return self.server.url_for("").rstrip("/")

    def answer(
        self, identity_verification: bool = False, *, pages: list[list[dict[str, Any]]] | None = None, **app: Any
    ) -> None:
        """/me with this state, and the activity log in ``pages`` (one empty page by default)."""
        self.server.expect_request("/me", method="GET").respond_with_json(
            me(identity_verification=identity_verification, **app)
        )
        pages = pages or [[]]

        def activity_logs(request: Request) -> Response:
            number = int(request.args.get("page", "1"))
            body = log_page(pages[number - 1], page=number, total_pages=len(pages), base=self.url)
            return Response(json.dumps(body), content_type="application/json")

        self.server.expect_request("/admins/activity_logs", method="GET").respond_with_handler(activity_logs)
        self.secrets()  # each sync lists the workspace's secrets too

    def requests(self) -> list[Request]:
        return [request for request, _response in self.server.log]

    def assert_sent_by_the_sdk(self, token: str, *paths: str) -> list[Request]:
        """Every request was a GET of ``paths`` in order, with the bearer token and Intercom-Version 2.14
        (the Preview API's secrets requests aside: ``FakeSecrets`` checks those)."""
        requests = [request for request in self.requests() if not request.path.startswith(SECRETS_PATH)]
        assert [(request.method, request.path) for request in requests] == [("GET", path) for path in paths]
        for request in requests:
            assert request.headers["Authorization"] == f"Bearer {token}"
            assert request.headers["Intercom-Version"] == "2.14"
            assert request.headers["User-Agent"].startswith("python-intercom/5.")
        return requests


@pytest.fixture
def intercom(httpserver: HTTPServer, settings: Any, db: None) -> FakeIntercom:
    """The local server stands in for Intercom; both environments have app ids and tokens from settings."""
    settings.INTERCOM_IDENTITY_API_BASE_URL = httpserver.url_for("")
    settings.INTERCOM_IDENTITY_API_TOKENS = dict(TOKENS)
    for slug, app_id in APP_IDS.items():
        Environment.objects.filter(slug=slug).update(app_id=app_id)
    return FakeIntercom(httpserver)


def slow(seconds: float, body: dict[str, Any]) -> Any:
    """A handler that answers after ``seconds``: longer than the client's time-out in the tests that use it."""

    def handler(request: Request) -> Response:
        time.sleep(seconds)
        return Response(json.dumps(body), content_type="application/json")

    return handler


def error_list(code: str) -> dict[str, Any]:
    """An error answer as Intercom documents it (``type: error.list``), with one error ``code``."""
    return {"type": "error.list", "request_id": "b4e1", "errors": [{"code": code, "message": "Access Token Invalid"}]}


def assert_sync_failed(*needles: str, env: str = "production") -> str:
    """``manage.py intercom_identity workspace ENV`` failed: exit 2, nothing on stdout, one error line
    holding each of ``needles`` and not the token, and that line recorded on the snapshot."""
    code, out, error = command_result("workspace", env)
    assert code == 2, (out, error)
    assert out == ""
    assert "\n" not in error
    for needle in needles:
        assert needle in error
    assert TOKENS[env] not in error
    snapshot = WorkspaceSnapshot.objects.get(environment__slug=env)
    assert snapshot.error == error
    return error
