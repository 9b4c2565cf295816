"""Settings for the test suite. ``DATABASE_URL`` picks the database (default: SQLite in memory)."""

from __future__ import annotations

import django
import environ

env = environ.Env()

DEBUG = False
SECRET_KEY = "tests-only-secret-key-not-for-production"
ALLOWED_HOSTS = ["testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "intercom_identity",
    "project",
    # The login libraries of intercom_identity/contrib/ (tests/contrib/): their real releases.
    "rest_framework",
    "rest_framework.authtoken",
    "knox",
    "djoser",
    "dj_rest_auth",
    "allauth",
    "allauth.account",
    "allauth.headless",
]
MIDDLEWARE = [
    "tests.leakguard.RecordResponsesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "intercom_identity.middleware.MessengerSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]
if django.VERSION >= (6, 0):
    # Django's own CSP, as users turn it on: it sends no header until a test sets SECURE_CSP
    # (tests/browser/test_csp.py), and no template sees its nonce without the csp context processor.
    MIDDLEWARE.append("django.middleware.csp.ContentSecurityPolicyMiddleware")
ROOT_URLCONF = "project.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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
DATABASES = {"default": env.db("DATABASE_URL", default="sqlite://:memory:")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
STATIC_URL = "static/"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast tests

INTERCOM_IDENTITY_ENVIRONMENT = "development"
INTERCOM_IDENTITY_ENCRYPTION_KEYS = ["yq4Zp6L7m0f8lJ1gqS1-tX0vTn3pQ0v3mWJQ2Dk1s8A="]
# The suite's scenarios have a handful of users, so one user seen receiving the credential is
# enough evidence here (the share still applies); the tests of the evidence rule itself run
# with the default of 5 (tests/rollout/test_adoption.py).
INTERCOM_IDENTITY_SENDING_EVIDENCE_USERS = 1
# Web scenarios enforce right after moving to sending; the soak's own tests set the default
# (a day) back (tests/rollout/test_adoption.py, tests/admin/).
INTERCOM_IDENTITY_WEB_SOAK = 0
# The calendar must not decide what a test sees (the reminders start 60 days before Intercom's deadline):
# the deadline's own tests set it back and pin the day (tests/rollout/test_deadline.py).
INTERCOM_IDENTITY_DEADLINE = None

# The login libraries (tests/contrib/), configured as their documentation says.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
}
SIMPLE_JWT = {
    "TOKEN_OBTAIN_SERIALIZER": "intercom_identity.contrib.simplejwt.TokenObtainPairSerializer",
    "TOKEN_REFRESH_SERIALIZER": "intercom_identity.contrib.simplejwt.TokenRefreshSerializer",
    "SIGNING_KEY": "tests-only-simplejwt-signing-key-32-bytes-long",
}
REST_AUTH = {
    "TOKEN_SERIALIZER": "intercom_identity.contrib.dj_rest_auth.TokenSerializer",
    "JWT_SERIALIZER": "intercom_identity.contrib.dj_rest_auth.JWTSerializer",
}
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_EMAIL_VERIFICATION = "none"
HEADLESS_TOKEN_STRATEGY = "intercom_identity.contrib.allauth.IntercomTokenStrategy"
HEADLESS_ONLY = True
HEADLESS_FRONTEND_URLS: dict[str, str] = {}

DEFAULT_EXCEPTION_REPORTER_FILTER = "intercom_identity.debug.AlwaysSafeExceptionReporterFilter"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"leakguard": {"class": "tests.leakguard.RecordLogHandler"}},
    "root": {"handlers": ["leakguard"], "level": "DEBUG"},
}
