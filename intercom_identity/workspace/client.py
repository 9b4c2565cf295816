"""Reading an Intercom workspace through its REST API, with Intercom's official SDK held to
short time-outs, no retries or redirects, a pinned ``Intercom-Version``, a deadline, and answers
validated field by field. Every failure is a ``WorkspaceUnavailable`` with a reason built here."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlsplit

from django.utils.translation import gettext
from django.views.decorators.debug import sensitive_variables

from intercom_identity.constants import REST_API_BASES
from intercom_identity.exceptions import IntercomIdentityError
from intercom_identity.validators import MAX_APP_ID_LENGTH, MAX_INTERCOM_ID_LENGTH
from intercom_identity.workspace.drift import RELEVANT_EVENT_TYPES, IntercomEvent, IntercomSecret

if TYPE_CHECKING:
    import httpx

logger = logging.getLogger("intercom_identity.intercom_api")

INTERCOM_VERSION = "2.14"
# Intercom's secure_mode_secrets endpoints exist only in its Preview API version (an unversioned,
# changing API): only those calls send it, every other call stays on INTERCOM_VERSION.
PREVIEW_VERSION = "Preview"
SECRETS_PATH = "/secure_mode_secrets"
MAX_SECRETS = 100  # a workspace holds a handful; more is not an answer this reads
TIMEOUT_SECONDS = 5.0  # per request: connect, read, write
DEADLINE_SECONDS = 120.0  # the whole read, rate-limit wait and paging included (the command's)
SYNC_COMMAND = "`manage.py intercom_identity workspace ENV`"  # what the time-out's message offers instead
SECRETS_COMMANDS = "`manage.py intercom_identity create-secret`, `rotate-secret` or `retire-secret`"
RATE_LIMIT_MAX_WAIT_SECONDS = 15.0  # Intercom's windows are 10 s: a longer reset means "try later"
PER_PAGE = 250  # the most the activity log gives per page
MAX_PAGES = 100
INSTALL_HINT = 'pip install "intercom-identity[workspace]"'

T = TypeVar("T")


class WorkspaceUnavailable(IntercomIdentityError):
    """Intercom could not be read (network, time-out, refusal, rate limit, malformed answer).

    ``reason`` is one line for a person, never holding the token or Intercom's raw text.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class WorkspaceSdkMissing(WorkspaceUnavailable):
    """The optional ``python-intercom`` SDK is not installed."""


@dataclass(frozen=True)
class WorkspaceApp:
    """The workspace (``app``) behind a token, as ``GET /me`` reports it."""

    id_code: str
    name: str
    region: str
    identity_verification: bool


@dataclass(frozen=True)
class WorkspaceReading:
    """One successful read: the workspace and the relevant activity log entries since a moment."""

    app: WorkspaceApp
    events: tuple[IntercomEvent, ...]


def require_sdk() -> None:
    """``WorkspaceSdkMissing``, saying what to install, unless the optional SDK can be imported."""
    try:
        import httpx  # noqa: F401
        import intercom  # noqa: F401
    except ImportError:
        raise WorkspaceSdkMissing(
            gettext("Reading the Intercom workspace needs Intercom's SDK (python-intercom 5.x): `%(install)s`.")
            % {"install": INSTALL_HINT}
        ) from None


def base_url_for(region: str, override: str | None = None) -> str:
    """The API URL of a region (``us``, ``eu``, ``au``), unless ``override`` (a proxy, a test server) is set."""
    if override:
        return override.rstrip("/")
    try:
        return REST_API_BASES[region]
    except KeyError:
        raise WorkspaceUnavailable(
            gettext("Unknown Intercom region %(region)r: use us, eu or au.") % {"region": region[:8]}
        ) from None


def host_of(base_url: str) -> str:
    """``host[:port]`` of a URL: what messages name (never a path, query or credentials)."""
    parts = urlsplit(base_url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


@sensitive_variables()
def read_workspace(
    base_url: str,
    token: str,
    *,
    since: datetime,
    deadline: float = DEADLINE_SECONDS,
    transport: httpx.BaseTransport | None = None,
) -> WorkspaceReading:
    """``GET /me``, then every page of ``GET /admins/activity_logs?created_at_after=<since>``.

    Keeps only the activity types in ``drift.RELEVANT_EVENT_TYPES``. ``deadline`` bounds the
    whole read in seconds. ``transport`` is httpx's, for a test double; the network is used
    otherwise. Raises ``WorkspaceUnavailable``.
    """
    require_sdk()
    import httpx
    from intercom import Intercom

    reader = _Reader(host_of(base_url), deadline)
    # The SDK makes the requests; the hook keeps each raw answer, which is what gets read (see _Reader).
    with httpx.Client(
        timeout=TIMEOUT_SECONDS, follow_redirects=False, transport=transport, event_hooks={"response": [reader.keep]}
    ) as http:
        client = Intercom(
            base_url=base_url,
            token=token,
            headers={"Intercom-Version": INTERCOM_VERSION},
            timeout=TIMEOUT_SECONDS,
            httpx_client=http,
        )
        me = reader.call("GET /me", partial(client.admins.identify, request_options={"max_retries": 0}))
        app = reader.parse("GET /me", _parse_me, me)
        events: dict[str, IntercomEvent] = {}
        params: dict[str, Any] | None = {"page": 1, "per_page": PER_PAGE}
        while params is not None:
            page_number = params["page"]
            if page_number > MAX_PAGES:
                raise WorkspaceUnavailable(
                    gettext(
                        "Intercom's activity log since %(since)s UTC has more than %(pages)d pages "
                        "of %(per_page)d entries; this reads no further."
                    )
                    % {"since": f"{since:%Y-%m-%d %H:%M}", "pages": MAX_PAGES, "per_page": PER_PAGE}
                )
            what = f"GET /admins/activity_logs (page {page_number})"
            page = reader.call(
                what,
                partial(
                    client.admins.list_all_activity_logs,
                    created_at_after=str(int(since.timestamp())),
                    request_options={"max_retries": 0, "additional_query_parameters": dict(params)},
                ),
            )
            page_events, params = reader.parse(what, _parse_log_page, page, page_number)
            events.update((event.id, event) for event in page_events)
    logger.info(
        "Read the Intercom workspace at %s: identity verification %s, %d relevant activity log entries.",
        host_of(base_url),
        "on" if app.identity_verification else "off",
        len(events),
    )
    return WorkspaceReading(app=app, events=tuple(sorted(events.values(), key=lambda event: event.created_at)))


class _HttpStatus(Exception):
    """A non-2xx answer to a request made without the SDK (its ``ApiError``, for the Preview endpoints)."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.status_code: int | None = response.status_code
        self.headers: dict[str, Any] = dict(response.headers)
        try:
            self.body: Any = json.loads(response.content) if response.content else None
        except ValueError:
            self.body = None


class _Malformed(Exception):
    """An answer lacks what this app relies on; the message says which part (never its value)."""


class _Reader:
    """Calls the SDK under the deadline, one bounded rate-limit wait per call, failures as reasons.

    What a call returns is the raw JSON of Intercom's answer, kept by an httpx response hook,
    not the SDK's model of it: those models coerce instead of validating (an
    ``identity_verification`` of ``"maybe"`` becomes false, ``{}`` true, and an empty answer
    becomes "no data" whatever its status), which is no way to read a security setting.
    """

    def __init__(self, host: str, seconds: float, *, started: float | None = None, command: str = SYNC_COMMAND) -> None:
        self.host = host
        self.seconds = seconds
        self.deadline = (time.monotonic() if started is None else started) + seconds
        self.command = command
        self.response: httpx.Response | None = None

    def keep(self, response: httpx.Response) -> None:
        """The httpx response hook: read the answer now, so it can be checked after the SDK is done."""
        response.read()
        self.response = response

    def call(self, what: str, request: Callable[[], object]) -> Any:
        waited = False
        while True:
            if time.monotonic() > self.deadline:
                raise WorkspaceUnavailable(
                    gettext(
                        "Reading Intercom took longer than %(seconds)s s (%(what)s); the command "
                        "(%(command)s) allows %(deadline)s s."
                    )
                    % {
                        "seconds": f"{self.seconds:g}",
                        "what": what,
                        "command": self.command,
                        "deadline": f"{DEADLINE_SECONDS:g}",
                    }
                )
            self.response = None
            failure, reset_headers = self._attempt(what, request)
            if reset_headers is not None and not waited:
                # Waited for outside the ``except`` block that caught the SDK's error: a reason
                # raised there would carry that error (Intercom's body and headers) as its context.
                self._wait_for_reset(what, reset_headers)
                waited = True
                continue
            if failure is not None:
                raise failure
            return self._body(what)

    def _attempt(
        self, what: str, request: Callable[[], object]
    ) -> tuple[WorkspaceUnavailable | None, dict[str, Any] | None]:
        """Make one request: (the failure, the headers of a 429 to wait on), both None on success.

        The failure is built here and raised by the caller, never inside an ``except`` block: a
        ``WorkspaceUnavailable`` must not chain the SDK's exception (``__context__``), whose body
        and headers any traceback printer (a log, a task runner, an error tracker) would show.
        """
        import httpx
        from intercom.core.api_error import ApiError

        try:
            request()
        except (ApiError, _HttpStatus) as exc:
            if exc.status_code == 429:
                headers = {str(key): str(value) for key, value in (exc.headers or {}).items()}
                return WorkspaceUnavailable(_status_reason(what, 429, exc.body)), headers
            return WorkspaceUnavailable(_status_reason(what, exc.status_code, exc.body)), None
        except httpx.TimeoutException:
            return WorkspaceUnavailable(
                gettext("Intercom (%(host)s) did not answer %(what)s within %(seconds)s s.")
                % {"host": self.host, "what": what, "seconds": f"{TIMEOUT_SECONDS:g}"}
            ), None
        except httpx.HTTPError as exc:
            return WorkspaceUnavailable(
                gettext("Could not reach Intercom at %(host)s (%(what)s: %(error)s).")
                % {"host": self.host, "what": what, "error": type(exc).__name__}
            ), None
        except Exception as exc:  # anything else the SDK raises: a reason, never a traceback holding the token
            logger.warning("Reading Intercom failed unexpectedly (%s): %s", what, type(exc).__name__)
            return WorkspaceUnavailable(
                gettext("Reading Intercom failed unexpectedly (%(what)s: %(error)s).")
                % {"what": what, "error": type(exc).__name__}
            ), None
        return None, None

    def _body(self, what: str) -> Any:
        response = self.response
        if response is None:
            raise WorkspaceUnavailable(gettext("Intercom gave no answer to %(what)s.") % {"what": what})
        if not 200 <= response.status_code < 300:  # e.g. a redirect with no body, which the SDK calls "no data"
            raise WorkspaceUnavailable(_status_reason(what, response.status_code, None))
        try:
            return json.loads(response.content)
        except ValueError:
            raise WorkspaceUnavailable(_not_json(what)) from None

    def _wait_for_reset(self, what: str, headers: dict[str, Any]) -> None:
        wait = _seconds_until_reset(headers, now=time.time())
        if wait is None:
            raise WorkspaceUnavailable(
                gettext(
                    "Intercom's rate limit was reached (%(what)s: 429) and it did not say when it resets "
                    "(no X-RateLimit-Reset): try again in a minute."
                )
                % {"what": what}
            )
        bound = min(RATE_LIMIT_MAX_WAIT_SECONDS, self.deadline - time.monotonic())
        if wait > bound:
            raise WorkspaceUnavailable(
                gettext(
                    "Intercom's rate limit was reached (%(what)s: 429) and resets in %(wait).0f s, longer than the "
                    "%(bound).0f s this waits: try again then."
                )
                % {"what": what, "wait": wait, "bound": bound}
            )
        logger.info("Intercom's rate limit was reached (%s): waiting %.1f s for its reset.", what, wait)
        time.sleep(wait)

    def parse(self, what: str, parser: Callable[..., T], *args: Any) -> T:
        try:
            return parser(*args)
        except _Malformed as exc:
            raise WorkspaceUnavailable(
                gettext("Intercom's answer to %(what)s is malformed: %(problem)s.") % {"what": what, "problem": exc}
            ) from None


def _seconds_until_reset(headers: dict[str, Any], *, now: float) -> float | None:
    """Seconds to wait from ``X-RateLimit-Reset`` (a Unix time), else ``Retry-After`` (seconds); None: unknown."""
    lowered = {str(key).lower(): str(value) for key, value in headers.items()}
    reset = lowered.get("x-ratelimit-reset", "").strip()
    if reset.isdigit():
        return max(0.0, int(reset) - now) + 0.5  # the window turns over at that second: be just past it
    retry_after = lowered.get("retry-after", "").strip()
    if retry_after.isdigit():
        return float(retry_after)
    return None


def _not_json(what: str) -> str:
    return gettext("Intercom's answer to %(what)s is not JSON.") % {"what": what}


def _status_reason(what: str, status: int | None, body: Any) -> str:
    code = _error_code(body)
    names = {"what": what, "status": status, "said": f" ({code})" if code else ""}
    if status is not None and 200 <= status < 300:
        return _not_json(what)
    if status == 401:
        message = gettext(
            "Intercom refused the access token (%(what)s: 401%(said)s): store a valid one "
            "(`manage.py intercom_identity set-api-token ENV`)."
        )
    elif status == 403 and SECRETS_PATH in what:
        message = gettext(
            "Intercom forbids %(what)s (403%(said)s): the secrets endpoints are part of Intercom's Preview API, "
            "which this workspace or the token's app may not have access to yet (see docs/secrets.md)."
        )
    elif status == 403:
        message = gettext(
            "Intercom forbids %(what)s (403%(said)s): the token's app needs the 'Read admins' permission, "
            "and the workspace's plan must include the activity log."
        )
    elif status == 404:
        message = gettext(
            "Intercom answered %(what)s with 404%(said)s: check the environment's region "
            "and INTERCOM_IDENTITY_API_BASE_URL."
        )
    elif status == 429:
        message = gettext(
            "Intercom's rate limit was reached again (%(what)s: 429) after waiting for its reset: try again later."
        )
    elif status is not None and status >= 500:
        message = gettext("Intercom failed to answer %(what)s (%(status)s, a server error): try again later.")
    else:
        message = gettext("Intercom answered %(what)s with an unexpected status %(status)s%(said)s.")
    return message % names


# The error codes Intercom documents (developers.intercom.com, "Error codes"): the only text
# of an error answer a reason repeats. Anything else (a token an endpoint echoes as its "code",
# an id, a sentence) is left out, whatever it looks like.
KNOWN_ERROR_CODES = frozenset(
    {
        "action_forbidden",
        "admin_not_found",
        "api_plan_restricted",
        "bad_request",
        "client_error",
        "conflict",
        "forbidden",
        "intercom_version_invalid",
        "invalid_document",
        "missing_parameter",
        "not_found",
        "not_restorable",
        "parameter_invalid",
        "parameter_mismatch",
        "parameter_not_found",
        "rate_limit_exceeded",
        "server_error",
        "service_unavailable",
        "team_not_found",
        "token_blocked",
        "token_expired",
        "token_not_found",
        "token_revoked",
        "token_unauthorized",
        "unauthorized",
        "unsupported",
    }
)


def _error_code(body: Any) -> str:
    """The ``errors[0].code`` of an Intercom error list when it is one of ``KNOWN_ERROR_CODES``; else ""."""
    try:
        code = body["errors"][0]["code"]
    except (KeyError, IndexError, TypeError):
        return ""
    return code if isinstance(code, str) and code in KNOWN_ERROR_CODES else ""


def _text(value: Any, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _parse_me(body: Any) -> WorkspaceApp:
    app = body.get("app") if isinstance(body, dict) else None
    if not isinstance(app, dict):
        raise _Malformed("it holds no app object")
    identity_verification = app.get("identity_verification")
    if not isinstance(identity_verification, bool):
        raise _Malformed("app.identity_verification is not true or false")
    id_code = app.get("id_code")
    if not isinstance(id_code, str) or not 0 < len(id_code) <= MAX_APP_ID_LENGTH:
        raise _Malformed("app.id_code is not an app id")
    return WorkspaceApp(
        id_code=id_code,
        name=_text(app.get("name"), 255),
        region=_text(app.get("region"), 16),
        identity_verification=identity_verification,
    )


def _parse_log_page(body: Any, page_number: int) -> tuple[list[IntercomEvent], dict[str, Any] | None]:
    """The relevant entries of one page, and the query of the next page (None: this was the last)."""
    if not isinstance(body, dict) or body.get("type") != "activity_log.list":
        raise _Malformed("it is not an activity_log.list")
    logs = body.get("activity_logs")
    if logs is None:
        logs = []
    if not isinstance(logs, list):
        raise _Malformed("activity_logs is not a list")
    events = []
    for position, log in enumerate(logs, start=1):
        if not isinstance(log, dict):
            raise _Malformed("an entry of activity_logs is not an object")
        activity_type = log.get("activity_type")
        if isinstance(activity_type, str) and activity_type in RELEVANT_EVENT_TYPES:
            events.append(_parse_log(log, activity_type, position))
    pages = body.get("pages")
    if pages is None:
        return events, None
    if not isinstance(pages, dict):
        raise _Malformed("pages is not an object")
    following, total = pages.get("next"), pages.get("total_pages")
    if not following or (isinstance(total, int) and not isinstance(total, bool) and page_number >= total):
        return events, None
    query: dict[str, Any] = {"page": page_number + 1, "per_page": PER_PAGE}
    if isinstance(following, dict) and isinstance(following.get("starting_after"), str):
        query["starting_after"] = following["starting_after"]
    return events, query


def _parse_log(log: dict[str, Any], activity_type: str, position: int) -> IntercomEvent:
    """One relevant entry. A problem names the entry by its type (one of ``RELEVANT_EVENT_TYPES``)
    and its position on the page, never by what Intercom wrote in it (its id included)."""
    entry_id, created_at = log.get("id"), log.get("created_at")
    where = f"{activity_type} entry #{position} of the page"
    if not isinstance(entry_id, str) or not 0 < len(entry_id) <= MAX_INTERCOM_ID_LENGTH:
        raise _Malformed(f"the {where} has no id")
    if isinstance(created_at, bool) or not isinstance(created_at, int):
        raise _Malformed(f"the created_at of the {where} is not a Unix time")
    try:
        when = datetime.fromtimestamp(created_at, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise _Malformed(f"the created_at of the {where} is out of range") from None
    performer = log.get("performed_by")
    performer = performer if isinstance(performer, dict) else {}
    email, admin_id = performer.get("email"), performer.get("id")
    if isinstance(email, str) and email:
        performed_by = email
    elif isinstance(admin_id, str) and admin_id:
        performed_by = f"admin {admin_id}"
    else:
        performed_by = ""
    return IntercomEvent(
        id=entry_id,
        type=activity_type,
        created_at=when,
        performed_by=performed_by[:255],
        description=_text(log.get("activity_description"), 1000),
    )


# --- messenger secrets (Intercom's Preview API: GET/POST /secure_mode_secrets, DELETE .../{id}) -----


@dataclass(frozen=True)
class CreatedSecret:
    """What ``POST /secure_mode_secrets`` answers: the new secret's metadata and, once, the secret."""

    meta: IntercomSecret
    secret: str = field(repr=False)


class SecretsApi:
    """The Preview endpoints, through the same bounded client as ``read_workspace``: httpx with the
    same time-outs, no redirects, no retries, the deadline, one bounded wait on a 429, answers
    validated field by field, failures as ``WorkspaceUnavailable`` reasons without the token.

    ``deadline`` bounds every call made through it, in seconds from now or from ``started`` (a
    ``time.monotonic()`` reading: the sync's own start, so its whole run keeps its bound).
    Use as a context manager; ``transport`` is httpx's, for a test double.
    """

    @sensitive_variables()
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        deadline: float = DEADLINE_SECONDS,
        started: float | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        require_sdk()
        import httpx

        command = SYNC_COMMAND if started is not None else SECRETS_COMMANDS
        self._reader = _Reader(host_of(base_url), deadline, started=started, command=command)
        self._http = httpx.Client(
            base_url=base_url,
            timeout=TIMEOUT_SECONDS,
            follow_redirects=False,
            transport=transport,
            event_hooks={"response": [self._reader.keep]},
            headers={
                "Authorization": f"Bearer {token}",
                "Intercom-Version": PREVIEW_VERSION,
                "Accept": "application/json",
                "User-Agent": f"intercom-identity (python-intercom/{_sdk_version()})",
            },
        )

    def __enter__(self) -> SecretsApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Callable[[], object]:
        def send() -> object:
            response = self._http.request(method, path, json=body)
            if not 200 <= response.status_code < 300:
                raise _HttpStatus(response)
            return response

        return send

    def list(self) -> list[IntercomSecret]:
        """``GET /secure_mode_secrets``: every secret of the workspace (metadata only)."""
        what = f"GET {SECRETS_PATH}"
        body = self._reader.call(what, self._request("GET", SECRETS_PATH))
        return self._reader.parse(what, _parse_secret_list, body)

    def create(self, name: str, platforms: frozenset[str]) -> CreatedSecret:
        """``POST /secure_mode_secrets``: a new 256-bit secret for ``platforms``, returned this once."""
        what = f"POST {SECRETS_PATH}"
        request = {"name": name, **{f"supports_{p}": p in platforms for p in ("android", "ios", "web")}}
        body = self._reader.call(what, self._request("POST", SECRETS_PATH, request))
        return self._reader.parse(what, _parse_created_secret, body)

    def delete(self, secret_id: str) -> bool:
        """``DELETE /secure_mode_secrets/{id}``; False when Intercom no longer has it (404: already gone)."""
        what = f"DELETE {SECRETS_PATH}/{{id}}"
        try:
            self._reader.call(what, self._request("DELETE", f"{SECRETS_PATH}/{quote(secret_id, safe='')}"))
        except WorkspaceUnavailable:
            # Gone already only when Intercom itself says so: a 404 from a misconfigured proxy or base
            # URL must not make the app forget a secret Intercom still has.
            response = self._reader.response
            if (
                response is not None
                and response.status_code == 404
                and _error_code(_json_or_none(response)) == ("not_found")
            ):
                return False
            raise
        return True


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def _sdk_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("python-intercom")
    except PackageNotFoundError:  # pragma: no cover - require_sdk() ran first
        return "?"


# What this app takes for an Intercom secret's id: it is stored, put in a URL path and shown in messages.
SECRET_ID_RE = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_INTERCOM_ID_LENGTH}}}")


def _parse_secret(item: Any, where: str) -> IntercomSecret:
    """One secret's metadata. A problem names the secret by ``where`` ("secret #2 of the list", "the
    created secret"), never by what Intercom wrote in it (its id included)."""
    if not isinstance(item, dict):
        raise _Malformed(f"{where} is not an object")
    secret_id = item.get("id")
    if isinstance(secret_id, int) and not isinstance(secret_id, bool):
        secret_id = str(secret_id)
    if not isinstance(secret_id, str) or not SECRET_ID_RE.fullmatch(secret_id):
        raise _Malformed(f"{where} has no id")
    platforms = set()
    for platform in ("android", "ios", "web"):
        flag = item.get(f"supports_{platform}")
        if not isinstance(flag, bool):
            raise _Malformed(f"supports_{platform} of {where} is not true or false")
        if flag:
            platforms.add(platform)
    created_at = item.get("created_at")
    when = None
    if isinstance(created_at, int) and not isinstance(created_at, bool):
        try:
            when = datetime.fromtimestamp(created_at, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise _Malformed(f"the created_at of {where} is out of range") from None
    elif created_at is not None:
        raise _Malformed(f"the created_at of {where} is not a Unix time")
    return IntercomSecret(
        id=secret_id, name=_text(item.get("name"), 255), platforms=frozenset(platforms), created_at=when
    )


def _parse_secret_list(body: Any) -> list[IntercomSecret]:
    items = body.get("data") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise _Malformed("it holds no data list")
    if len(items) > MAX_SECRETS:
        raise _Malformed(f"it lists more than {MAX_SECRETS} secrets")
    return [_parse_secret(item, f"secret #{position} of the list") for position, item in enumerate(items, start=1)]


@sensitive_variables()
def _parse_created_secret(body: Any) -> CreatedSecret:
    meta = _parse_secret(body, "the created secret")
    secret = body.get("secret")
    if not isinstance(secret, str) or not secret:
        raise _Malformed("it holds no secret")
    return CreatedSecret(meta=meta, secret=secret)
