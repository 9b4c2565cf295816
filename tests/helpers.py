"""What the tests share: stored secrets and configurations, users and their recorded clients, the
command and the template tags as the tests run them. Plain functions (the fixtures are in conftest.py).
"""

from __future__ import annotations

import io
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from asgiref.sync import SyncToAsync, async_to_sync
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.cache.backends.base import BaseCache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import OperationalError
from django.template import Context, Template
from django.test import AsyncClient, Client, RequestFactory
from django.urls import reverse

from intercom_identity._internal.configcache import get_serving_config
from intercom_identity.models import (
    AuditEvent,
    CredentialMode,
    PlatformConfig,
    RolloutPhase,
)
from intercom_identity.rollout.activity import record, record_client, record_page
from intercom_identity.rollout.changes import change_mode, change_phase, store_secret
from intercom_identity.selectors import get_platform_config
from tests import leakguard

# --- stored configurations and users -----------------------------------------------------------------


# Distinct, realistic-looking secrets per environment and platform.
SECRETS = {
    ("development", "ios"): "dev-ios-0123456789abcdef0123456789abcdef0123",
    ("development", "android"): "dev-android-fedcba9876543210fedcba98765432",
    ("development", "web"): "dev-web-00112233445566778899aabbccddeeff0011",
    ("production", "ios"): "prod-ios-aa11bb22cc33dd44ee55ff6677889900aabb",
    ("production", "android"): "prod-android-99887766554433221100ffeeddccbb",
    ("production", "web"): "prod-web-0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e",
}


def openssl_hmac(secret: str, message: str) -> str:
    """``printf %s MESSAGE | openssl dgst -sha256 -hmac SECRET``: the reference the README promises."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl is not installed (apt-get install -y openssl)", pytrace=False)
    completed = subprocess.run(
        ["openssl", "dgst", "-sha256", "-hmac", secret], input=message.encode(), capture_output=True, check=False
    )
    assert completed.returncode == 0, "openssl dgst failed"
    return completed.stdout.decode().split()[-1]


# One deployment serving two workspaces: production by default, development for the
# requests that send ``X-Intercom-Environment: development`` (a debug build of the app).
TWO_WORKSPACES = {
    "INTERCOM_IDENTITY_ENVIRONMENT": "production",
    "INTERCOM_IDENTITY_SERVED_ENVIRONMENTS": ["development"],
    "INTERCOM_IDENTITY_ENVIRONMENT_RESOLVER": "intercom_identity.resolvers.header_environment",
}


def configure(env: str, platform: str, phase: RolloutPhase | None = None, secret: str | None = None) -> PlatformConfig:
    """Store a secret (the default one for the pair) and move to ``phase``."""
    config = get_platform_config(platform, env)
    store_secret(config, secret or SECRETS[(env, platform)])
    if phase is not None:
        # Test set-up, not a rollout: the adoption guard is tested on its own.
        change_phase(config, phase, force=True, reason="test set-up")
    return config


def jwt_config(platform: str = "ios", phase: RolloutPhase = RolloutPhase.SENDING) -> PlatformConfig:
    config = configure("development", platform, phase)
    change_mode(config, CredentialMode.JWT)
    return config


def below_threshold() -> PlatformConfig:
    """iOS sending, with 1 of 4 active users on a sending version."""
    config = configure("development", "ios", RolloutPhase.SENDING)
    people = users(4, "g")
    for person in people[:3]:
        seen(person, "1.0", sent=False)
    seen(people[3], "2.0", sent=True)
    return config


def make_ready(env: str, platform: str, *, users: int = 1, version: str = "2.0") -> None:
    """Record ``users`` active users on a credential-sending version, so adoption is 100%."""
    model = get_user_model()
    for n in range(users):
        client_user = model.objects.create_user(f"ready-{env}-{platform}-{version}-{n}", f"r{n}@example.com", "pw")
        if platform == "web":  # a page rendered by the tags, handed the credential
            record_page(get_serving_config(platform, env), client_user, sent_credential=True)
        else:
            record_issued(client_user, platform, version, environment=env)


def users(count: int, prefix: str = "u") -> list[Any]:
    """``count`` new users named ``<prefix>0``, ``<prefix>1``..."""
    model = get_user_model()
    return [model.objects.create_user(f"{prefix}{n}", f"{prefix}{n}@example.com", "pw") for n in range(count)]


def ios() -> PlatformConfig:
    """The development iOS configuration as stored now."""
    return PlatformConfig.objects.select_related("environment").get(environment__slug="development", platform="ios")


def seen(user: Any, version: str, *, sent: bool, at: Any = None, platform: str = "ios") -> bool:
    """A login seen in the development environment: ``record_client`` (no credential), or the
    server handing the user a credential (``sent``, as ``serve_identity`` records it)."""
    if sent:
        return record_issued(user, platform, version, environment="development", now=at)
    return record_client(user, platform, version, environment="development", now=at)


def record_issued(user: Any, platform: str, version: str, *, environment: str, now: Any = None) -> bool:
    """Record ``user`` on ``version`` as handed a credential by the server (what ``serve_identity``
    and the tags record, whatever the phase: tests set the evidence up directly)."""
    return record(get_serving_config(platform, environment), user, version, sent_credential=True, now=now)


def forced_enforcement(reason: str = "QA devices only", ratio: float | None = 6 / 7) -> AuditEvent:
    """An audit event of development iOS forced into ``enforced`` at ``ratio`` (6 of 7 by default:
    85.7%, a ratio with a long decimal expansion)."""
    return AuditEvent.objects.create(
        actor_label="ops",
        environment="development",
        platform="ios",
        kind=AuditEvent.Kind.PHASE,
        from_value="sending",
        to_value="enforced",
        adoption_ratio=ratio,
        forced=True,
        reason=reason,
    )


def no_user_id(user: Any) -> None:
    return None


# --- the command -------------------------------------------------------------------------------------


def run(*args: str, stdin: str | None = None) -> str:
    """``manage.py intercom_identity ARGS``; returns what it printed (stderr is kept apart)."""
    out = io.StringIO()
    kwargs: dict[str, Any] = {"stdout": out, "stderr": io.StringIO()}
    if stdin is not None:
        kwargs["stdin"] = io.StringIO(stdin)
    call_command("intercom_identity", *args, **kwargs)
    return out.getvalue()


def command_result(*args: str) -> tuple[int, str, str]:
    """Exit code, stdout and the error line, as ``manage.py`` would give them (recorded for the leak guard)."""
    out = io.StringIO()
    try:
        call_command("intercom_identity", *args, stdout=out, stderr=io.StringIO())
        code, error = 0, ""
    except CommandError as exc:
        code, error = exc.returncode, str(exc)
    leakguard.record("command output", out.getvalue() + error)
    return code, out.getvalue(), error


def assert_terminal_safe(output: str, *, lines: int | None = None) -> None:
    """Every printed line is printable text; a stored newline does not start a line of its own."""
    printed = output.splitlines()
    assert all(line.isprintable() for line in printed), [line for line in printed if not line.isprintable()]
    assert "\r" not in output
    assert "\x1b" not in output
    if lines is not None:
        assert len(printed) == lines, printed


# --- the template tags -------------------------------------------------------------------------------


SCRIPT_RE = re.compile(r"^<script(?: nonce=\"([^\"]*)\")?>window\.intercomSettings = (.*);</script>$", re.S)


def render(user: Any, source: str = "{% intercom_settings %}", **context: Any) -> str:
    request = RequestFactory().get("/", **context.pop("request_meta", {}))
    request.user = user
    for key, value in context.pop("request_attrs", {}).items():
        setattr(request, key, value)
    html = Template("{% load intercom_identity %}" + source).render(Context({"request": request, **context}))
    leakguard.record("template", html)
    return html


def settings_of(html: str) -> dict[str, Any]:
    match = SCRIPT_RE.match(html.strip())
    assert match, html
    return json.loads(match.group(2))  # type: ignore[no-any-return]


ELEMENT_RE = re.compile(r'<script(?: nonce="([^"]*)")?>(.*?)</script>', re.S)

# The session script, loaded from the static files with the page's nonce.
SOURCE_RE = re.compile(r'<script src="([^"]*)"(?: nonce="([^"]*)")?></script>')

SETTINGS_RE = re.compile(r"^window\.intercomSettings = (.*);$", re.S)

CONFIG_RE = re.compile(r"^window\.intercomIdentityBoot\((\{.*\})\);$", re.S)


def elements(html: str) -> list[tuple[str | None, str]]:
    """(nonce, body) of each inline <script> element; nothing but these and the session
    script's ``<script src>`` (``sources``) may be rendered."""
    found = [(match.group(1), match.group(2)) for match in ELEMENT_RE.finditer(SOURCE_RE.sub("", html))]
    assert ELEMENT_RE.sub("", SOURCE_RE.sub("", html)).strip() == "", html
    return found


def sources(html: str) -> list[tuple[str | None, str]]:
    """(nonce, src) of each ``<script src>`` element."""
    return [(match.group(2), match.group(1)) for match in SOURCE_RE.finditer(html)]


def parts(html: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The intercomSettings and the session script's config of a rendered tag."""
    (_n1, settings_body), (_n2, session_body) = elements(html)
    settings = SETTINGS_RE.match(settings_body)
    config = CONFIG_RE.search(session_body)
    assert settings, html
    assert config, html
    return json.loads(settings.group(1)), json.loads(config.group(1))


def nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


# The nonce of a Content-Security-Policy header's script-src.
NONCE_IN_POLICY = re.compile(r"script-src [^;]*'nonce-([^']+)'")


# --- the admin ---------------------------------------------------------------------------------------


OVERVIEW = "/admin/intercom_identity/platformconfig/overview/"

CHANGELIST = "/admin/intercom_identity/platformconfig/"

AUDIT = "/admin/intercom_identity/auditevent/"

DEV_PERMS = ("view_platformconfig", "change_platformconfig", "view_environment", "change_environment")


PRODUCTION_PERMISSION = (
    "Needs the manage-production permission (“Can change secrets and phases of production environments”): "
    "ask an administrator to grant it."
)


def staff_client(username: str, *codenames: str) -> Client:
    """A logged-in staff user holding only the named intercom_identity permissions."""
    user = get_user_model().objects.create_user(username, f"{username}@example.com", "pw", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="intercom_identity", codename__in=codenames)
    )
    client = Client()
    client.force_login(user)
    return client


def config_of(env: str, platform: str) -> PlatformConfig:
    return PlatformConfig.objects.select_related("environment").get(environment__slug=env, platform=platform)


def change_url(config: PlatformConfig) -> str:
    return reverse("admin:intercom_identity_platformconfig_change", args=[config.pk])


def transition_url(config: PlatformConfig) -> str:
    return reverse("admin:intercom_identity_platformconfig_transition", args=[config.pk])


def overview_row(html: str, env: str, platform: str) -> str:
    """One platform's row of the overview (up to the row that follows it)."""
    table = html.split(f'data-environment="{env}">', 1)[1].split("</table>", 1)[0]
    return table.split(f'<tr data-platform="{platform}">', 1)[1].split("</tr>", 1)[0]


# --- faults ------------------------------------------------------------------------------------------


def database_down(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    raise OperationalError("server closed the connection unexpectedly")


CLOSED_REDIS = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
}


class FaultyCache(BaseCache):
    """A cache backend that fails every call while ``broken`` (a ConnectionError, as redis-py
    raises for a refused connection) and otherwise keeps values in a dict; ``calls`` counts
    the calls that reached it."""

    broken = True
    calls = 0
    store: dict[str, Any] = {}

    def __init__(self, location: str, params: dict[str, Any]) -> None:
        super().__init__(params)

    @classmethod
    def _reached(cls) -> None:
        cls.calls += 1
        if cls.broken:
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    def get(self, key: str, default: Any = None, version: int | None = None) -> Any:
        self._reached()
        return self.store.get(key, default)

    def get_many(self, keys: Any, version: int | None = None) -> dict[str, Any]:
        self._reached()
        return {key: self.store[key] for key in keys if key in self.store}

    def set(self, key: str, value: Any, timeout: Any = None, version: int | None = None) -> None:
        self._reached()
        self.store[key] = value

    def add(self, key: str, value: Any, timeout: Any = None, version: int | None = None) -> bool:
        self._reached()
        return self.store.setdefault(key, value) is value

    def incr(self, key: str, delta: int = 1, version: int | None = None) -> int:
        self._reached()
        if key not in self.store:
            raise ValueError(f"Key {key!r} not found.")
        self.store[key] += delta
        return int(self.store[key])

    def delete(self, key: str, version: int | None = None) -> bool:
        return self.store.pop(key, None) is not None

    def clear(self) -> None:
        self.store.clear()


# The demo's log format: "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s".
RECORD = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) (DEBUG|INFO|WARNING|ERROR|CRITICAL) (\S+) \[(\d+)\] (.*)$", re.MULTILINE
)


class AsyncBridge:
    """An ``AsyncClient`` behind ``Client``'s synchronous methods, so one test body runs through
    both (each request is awaited on its own event loop, as ``async_to_sync`` does)."""

    def __init__(self, **defaults: Any) -> None:
        self.async_client = AsyncClient(**defaults)

    @property
    def cookies(self) -> Any:
        return self.async_client.cookies

    def force_login(self, user: Any) -> None:
        self.async_client.force_login(user)

    def request_method(self, name: str) -> Any:
        method = getattr(self.async_client, name)

        async def awaited(*args: Any, **kwargs: Any) -> Any:
            return await method(*args, **kwargs)

        return async_to_sync(awaited)

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self.request_method("get")(*args, **kwargs)

    def head(self, *args: Any, **kwargs: Any) -> Any:
        return self.request_method("head")(*args, **kwargs)

    def post(self, *args: Any, **kwargs: Any) -> Any:
        return self.request_method("post")(*args, **kwargs)

    def put(self, *args: Any, **kwargs: Any) -> Any:
        return self.request_method("put")(*args, **kwargs)

    def patch(self, *args: Any, **kwargs: Any) -> Any:
        return self.request_method("patch")(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        return self.request_method("delete")(*args, **kwargs)

    def options(self, *args: Any, **kwargs: Any) -> Any:
        return self.request_method("options")(*args, **kwargs)

    def generic(self, *args: Any, **kwargs: Any) -> Any:
        return self.request_method("generic")(*args, **kwargs)


class ThreadHops:
    """Counts ``sync_to_async`` calls (thread hops) while active: ``asgiref.sync.SyncToAsync`` patched."""

    def __init__(self) -> None:
        self.count = 0
        self.original_call = SyncToAsync.__call__

    def __enter__(self) -> ThreadHops:
        original, hops = self.original_call, self

        async def counted(wrapper: Any, *args: Any, **kwargs: Any) -> Any:
            hops.count += 1
            return await original(wrapper, *args, **kwargs)

        SyncToAsync.__call__ = counted  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        SyncToAsync.__call__ = self.original_call  # type: ignore[method-assign]


# --- documentation ---------------------------------------------------------------------------------

DOCS = Path(__file__).resolve().parent.parent / "docs"


def fenced_blocks(page: str, language: str) -> list[str]:
    """The ``language`` code blocks of ``docs/<page>``, exactly as printed there."""
    text = (DOCS / page).read_text("utf-8")
    return re.findall(rf"^```{re.escape(language)}\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)


def manage_py(line: str) -> None:
    """Run one ``python manage.py ARGS`` line of the documentation through ``call_command``."""
    words = shlex.split(line)
    assert words[:2] == ["python", "manage.py"], line
    call_command(*words[2:], stdout=io.StringIO(), stderr=io.StringIO())


# A fenced block the documentation promises works, named by the comment just above it.
DOC_BLOCK = re.compile(r"<!-- (?:recipe|example): (?P<name>[\w.-]+) -->\n```(?P<lang>\w*)\n(?P<body>.*?)\n```", re.S)


def doc_blocks(page: str) -> dict[str, str]:
    """Every named fenced block of ``docs/<page>``, exactly as printed, by name."""
    return {m["name"]: m["body"] for m in DOC_BLOCK.finditer((DOCS / page).read_text(encoding="utf-8"))}


def doc_module(page: str, name: str, **namespace: Any) -> ModuleType:
    """The block ``name`` of ``docs/<page>`` run as a module (importable as ``tests.docs.<page>.<name>``)."""
    code = doc_blocks(page)[name]
    module_name = f"tests.docs.{Path(page).stem.replace('-', '_')}.{name}"
    module = ModuleType(module_name)
    module.__dict__.update(namespace)
    sys.modules[module_name] = module
    exec(compile(code, f"docs/{page} ({name})", "exec"), module.__dict__)  # noqa: S102 - the docs' own code
    return module
