"""Demo site settings: everything comes from the environment (django-environ).

With no environment set it runs in DEBUG on a SQLite file next to manage.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import django
import environ

from intercom_identity.environ import api_tokens_from_environment, secrets_from_environment

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env(
    DEBUG=(bool, True),
    ALLOWED_HOSTS=(list, ["127.0.0.1", "localhost"]),
    INTERCOM_IDENTITY_ENVIRONMENT=(str, "development"),
)
environ.Env.read_env(BASE_DIR / ".env")  # optional; variables already set win

DEBUG = env("DEBUG")
# The default only exists so the demo starts with no configuration; DEBUG=False refuses it below.
SECRET_KEY = env("SECRET_KEY", default="django-insecure-demo-key-change-me")
if not DEBUG and SECRET_KEY.startswith("django-insecure-"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("Set SECRET_KEY when DEBUG is off.")
ALLOWED_HOSTS = env("ALLOWED_HOSTS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "intercom_identity",
    "project",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Expires Intercom's messenger cookies when the signed-in user changes (logout, switch).
    "intercom_identity.middleware.MessengerSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
if not env.bool("DEMO_MESSENGER_MIDDLEWARE", default=True):  # bench/asgi.py: a page without it
    MIDDLEWARE.remove("intercom_identity.middleware.MessengerSessionMiddleware")

# project/asgi.py sets DEMO_SERVER=asgi: the async JSON views, and a connection pool (below).
ASGI = env.str("DEMO_SERVER", default="wsgi") == "asgi"
ROOT_URLCONF = "project.urls_asgi" if ASGI else "project.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "project" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
WSGI_APPLICATION = "project.wsgi.application"

# Content Security Policy. On Django 6 the demo uses Django's own: scripts run only from this site or
# with the nonce of the response, which the template tag (and the demo's inline scripts) put on their
# <script> elements. On Django 5.2 it sends no policy; the README says how to use django-csp there.
if django.VERSION >= (6, 0):
    from django.utils.csp import CSP

    MIDDLEWARE.append("django.middleware.csp.ContentSecurityPolicyMiddleware")
    TEMPLATES[0]["OPTIONS"]["context_processors"].append("django.template.context_processors.csp")
    SECURE_CSP = {
        "script-src": [CSP.SELF, CSP.NONCE],
        "object-src": [CSP.NONE],
        "base-uri": [CSP.NONE],
    }

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# Persistent connections, checked before each reuse: a PostgreSQL connection per request held
# the demo to a quarter of the throughput (README, "Deployment notes"). DATABASE_URL's own
# ?conn_max_age=...&conn_health_checks=... win; DATABASE_CONN_MAX_AGE=0 opens one per request.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", env.bool("DATABASE_CONN_HEALTH_CHECKS", default=True))
if ASGI and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Under ASGI each request's sync work runs in a thread of its own, and a persistent
    # connection belongs to a thread: CONN_MAX_AGE would leave one open connection per thread
    # ever used. Django's psycopg pool bounds them to DATABASE_POOL_SIZE per worker process
    # (docs/asgi.md); a pool needs CONN_MAX_AGE 0.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": env.int("DATABASE_POOL_SIZE", default=4),
        # Seconds a request waits for a connection: with PostgreSQL down it answers 503 that soon.
        "timeout": 2,
    }

# CACHE_URL=redis://127.0.0.1:6379/0 shares rate limits and recording memory between workers.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # Short client time-outs: redis-py waits 5 s by default, and a hung Redis holds a request
    # that long (once per worker and INTERCOM_IDENTITY_CACHE_COOLDOWN). CACHE_URL's own
    # ?socket_timeout=...&socket_connect_timeout=... win.
    _redis_options = CACHES["default"].setdefault("OPTIONS", {})
    _redis_options.setdefault("socket_timeout", env.float("CACHE_SOCKET_TIMEOUT", default=0.25))
    _redis_options.setdefault("socket_connect_timeout", env.float("CACHE_CONNECT_TIMEOUT", default=0.25))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
LOGIN_URL = "admin:login"

# --- intercom_identity ---------------------------------------------------------------
INTERCOM_IDENTITY_ENVIRONMENT = env("INTERCOM_IDENTITY_ENVIRONMENT")
# Comma-separated Fernet keys, newest first. Empty in DEBUG: a key is derived from SECRET_KEY.
INTERCOM_IDENTITY_ENCRYPTION_KEYS = [
    key.strip() for key in env.list("INTERCOM_IDENTITY_ENCRYPTION_KEYS", default=[]) if key.strip()
]

# Secrets from a vault or the environment override stored ones for the pairs they name:
# INTERCOM_IDENTITY_PRODUCTION_IOS_SECRET=... or INTERCOM_IDENTITY_PRODUCTION_IOS_SECRET_FILE=/path.
INTERCOM_IDENTITY_SECRETS = secrets_from_environment()

# Workspace truth: Intercom access tokens from INTERCOM_IDENTITY_<ENV>_API_TOKEN[_FILE] (none: the
# feature stays off).
INTERCOM_IDENTITY_API_TOKENS = api_tokens_from_environment()

# Every other setting of the app may come from a variable of the same name; an unset (or
# empty) variable keeps the app's default (README, Settings). JWT_SIGNED_FIELDS is comma-separated.
intercom_identity_from_environment: dict[str, type] = {  # lowercase: not a setting itself
    "SERVED_ENVIRONMENTS": list,  # comma-separated: the environments served besides the default
    "ENVIRONMENT_RESOLVER": str,  # dotted path of (request) -> slug | None (intercom_identity.resolvers)
    "ENVIRONMENT_HOSTS": dict,  # host=slug,host=slug: for intercom_identity.resolvers.host_environment
    "USER_ID": str,  # dotted path of (user) -> str | None
    "USER_EMAIL": str,
    "AUTHENTICATE": str,  # dotted path of (request) -> user | None
    "JWT_EXPIRY": int,  # seconds a handed-out JWT lives
    "JWT_SIGNED_FIELDS": list,
    "VERIFY_IN_PRODUCTION": bool,
    "VERIFY_RATE_LIMIT": int,
    "HASH_RATE_LIMIT": int,  # JSON view requests per minute and signed-in user
    "TRUSTED_PROXIES": str,  # 0 (REMOTE_ADDR), the number of proxies appending X-Forwarded-For, or a header name
    "RATE_LIMIT_FAIL_CLOSED": bool,  # refuse (503) rather than serve unlimited while the cache is down
    "ENFORCE_THRESHOLD": float,
    "CACHE_TTL": int,  # seconds a process may serve its cached configuration without re-checking
    "CACHE_COOLDOWN": float,  # seconds a worker leaves the cache alone after a cache error or time-out
    "COOKIE_DOMAIN": str,  # the Domain Intercom's cookies are on, e.g. .example.com
    "API_BASE_URL": str,  # Intercom's REST API elsewhere than the region's (a proxy)
    "WORKSPACE_STALE_HOURS": int,  # hours after which the last sync with Intercom counts as stale
    "SENDING_EVIDENCE_SHARE": float,  # share of a version's users seen receiving the credential
    "SENDING_EVIDENCE_USERS": int,  # ...and at least this many distinct users, before it counts as sending
    "WEB_SOAK": int,  # seconds web must hand the credential out before it counts as ready to enforce
    "MAX_NEW_VERSIONS_PER_USER": int,  # versions nobody reported before, per user and day
    "ACTIVITY_RETENTION_DAYS": int,  # days of daily activity kept (prune-activity)
    "DEADLINE": str,  # Intercom's deadline as YYYY-MM-DD ("none" turns the reminders off)
    "SECRET_RETIRE_AFTER_HOURS": int,  # hours before retire-secret may delete the old secret unforced
}
for _name, _cast in intercom_identity_from_environment.items():
    if os.environ.get("INTERCOM_IDENTITY_" + _name, "").strip():
        globals()["INTERCOM_IDENTITY_" + _name] = env.get_value("INTERCOM_IDENTITY_" + _name, cast=_cast)
_proxies = globals().get("INTERCOM_IDENTITY_TRUSTED_PROXIES")
if isinstance(_proxies, str) and _proxies.isdigit():
    INTERCOM_IDENTITY_TRUSTED_PROXIES = int(_proxies)  # a count of proxies, not a header name

# The demo's own login API: attempts per minute per client address (0: no limit).
LOGIN_RATE_LIMIT = env.int("LOGIN_RATE_LIMIT", default=20)
if str(globals().get("INTERCOM_IDENTITY_DEADLINE", "")).strip().lower() == "none":
    INTERCOM_IDENTITY_DEADLINE = None

# Hide the app's sensitive locals and POST fields on the DEBUG error page too.
DEFAULT_EXCEPTION_REPORTER_FILTER = "intercom_identity.debug.AlwaysSafeExceptionReporterFilter"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # When, how bad, from where and which worker: an outage's records are read by the minute.
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {"intercom_identity": {"handlers": ["console"], "level": "INFO"}},
}
