"""A local stand-in for Intercom's REST API (pytest-httpserver), answering JSON shaped as
Intercom documents it (``GET /me``, ``GET /admins/activity_logs``), and helpers to check
what the official SDK sent it."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from intercom_identity.models import Environment

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


class FakeIntercom:
    """Registers answers on the local server and reads back what was asked."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server

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

    def requests(self) -> list[Request]:
        return [request for request, _response in self.server.log]

    def assert_sent_by_the_sdk(self, token: str, *paths: str) -> list[Request]:
        """Every request was a GET of ``paths`` in order, with the bearer token and Intercom-Version 2.14."""
        requests = self.requests()
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
