"""The input rules: what the app accepts from settings, forms, commands and requests.

One place for each limit, so the models' ``max_length``, the forms, the views and the
commands cannot drift apart. A leaf: it imports nothing of the app but its exceptions.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from django.utils.translation import gettext
from django.views.decorators.debug import sensitive_variables

from intercom_identity.exceptions import InvalidAppId, InvalidAuditText, SecretLooksWrong

MAX_VERSION_LENGTH = 64
MAX_APP_ID_LENGTH = 64
# An audit row's from/to: a phase, a mode, a minimum version or an app ID.
MAX_AUDIT_VALUE_LENGTH = max(MAX_VERSION_LENGTH, MAX_APP_ID_LENGTH)
# A credential field the JSON views and the admin's check page accept (a JWT with its claims fits).
MAX_CREDENTIAL_FIELD_LENGTH = 16_384
MAX_TOKEN_LENGTH = 1024
# Intercom's own ids (a secret's, an activity log entry's): the workspace client refuses a longer one.
MAX_INTERCOM_ID_LENGTH = 64
# The name this app gives a secret it makes in Intercom (``workspace.secrets.new_secret_name``).
MAX_SECRET_NAME_LENGTH = 64
# Intercom's identity verification secrets are 40 characters; anything this short is a truncated
# paste or a placeholder ("x", "changeme"), and a short key is a guessable one.
MIN_SECRET_LENGTH = 16

ENVIRONMENT_SLUG_RE = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*\Z")
# Django's SlugField default: the environment's slug, and the audit trail's copy of it.
MAX_ENVIRONMENT_SLUG_LENGTH = 50

# Intercom shows app IDs as short codes of letters and digits; "-" and "_" are allowed for made-up ones
# (the demo's "demo_app"). Whitespace, quotes or a URL are paste mistakes, refused before they are stored.
APP_ID_RE = re.compile(rf"^[A-Za-z0-9_-]{{1,{MAX_APP_ID_LENGTH}}}\Z")


def clean_app_id(value: str) -> str:
    """``value`` when it can be an app ID ("" clears it); raises ``InvalidAppId`` saying what is wrong."""
    if len(value) > MAX_APP_ID_LENGTH:
        raise InvalidAppId(f"An Intercom app ID has at most {MAX_APP_ID_LENGTH} characters; this one has {len(value)}.")
    if value and not APP_ID_RE.match(value):
        raise InvalidAppId(
            "An Intercom app ID has only letters, digits, '-' and '_' (copy it from Intercom's settings, "
            "e.g. 'abc12def'); this one has other characters or whitespace."
        )
    return value


_MIN_VERSION = re.compile(r"^[vV]?[0-9]+(\.[0-9]+)*([-+][0-9A-Za-z.+-]+)?\Z")


# What an app may report: it looks like a release number (a digit first; then letters,
# digits, ".", "-", "+" and "_"), so a header of junk never becomes a version row.
_RECORDED_VERSION = re.compile(rf"^[0-9][0-9A-Za-z.+_-]{{0,{MAX_VERSION_LENGTH - 1}}}\Z")


def clean_version(value: str) -> str:
    """An app version as recorded: stripped, then a digit first, letters, digits, ".", "-",
    "+" and "_", at most 64 characters; ValueError otherwise."""
    version = value.strip()
    if not _RECORDED_VERSION.match(version):
        raise ValueError(
            gettext(
                "An app version starts with a digit and holds letters, digits, '.', '-', '+' and '_' "
                "(at most %(max)d characters), e.g. '5.2.0'."
            )
            % {"max": MAX_VERSION_LENGTH}
        )
    return version


def clean_min_version(value: str) -> str:
    """A minimum sending version: a release number such as "5.2.0" (or "v5.2.0", "5.2.0-beta.1").

    Stricter than what apps may report, because a typo here (``banana``) would count every
    version as sending and open the enforcement guard.
    """
    version = value.strip()
    if not version or len(version) > MAX_VERSION_LENGTH or not (version.isascii() and version.isprintable()):
        raise ValueError(f"A minimum version is 1 to {MAX_VERSION_LENGTH} printable ASCII characters, e.g. '5.2.0'.")
    if not _MIN_VERSION.match(version):
        raise ValueError(gettext("%(version)r is not a release number such as '5.2.0'.") % {"version": version})
    return version


@sensitive_variables()
def validate_secret(secret: str) -> None:
    """Refuse a value that cannot be a real Intercom secret; raise ``ValueError`` saying why.

    Intercom secrets never start or end with whitespace and hold no control or invisible
    formatting characters, so such a value is a paste mistake (a stray newline, a tab, a
    byte-order mark) that would make every hash wrong. The message never repeats the value.
    """
    if secret == "":
        raise ValueError(gettext("The secret is empty."))
    if secret != secret.strip():
        raise ValueError(
            gettext(
                "The secret starts or ends with whitespace; Intercom secrets never do, "
                "so this is most likely a paste mistake."
            )
        )
    if any(unicodedata.category(char) in ("Cc", "Cf") for char in secret):
        raise ValueError(
            gettext(
                "The secret contains control or invisible formatting characters "
                "(such as a newline, a tab, a byte-order mark or a zero-width space)."
            )
        )


@sensitive_variables()
def validate_secret_choice(secret: str, *, app_ids: Iterable[str] = (), same_as: str | None = None) -> None:
    """Refuse a well-formed secret that is an obvious mistake; ``SecretLooksWrong`` names which.

    ``app_ids`` are the Intercom app IDs known here (public: in every page's source, so a hash
    keyed by one can be minted by anyone); ``same_as`` labels another environment/platform pair
    that already has this very secret (the caller compares fingerprints). The message never
    repeats the value.
    """
    if len(secret) < MIN_SECRET_LENGTH:
        raise SecretLooksWrong(
            gettext(
                "The secret has %(length)d characters; Intercom's identity verification secrets have 40 "
                "(at least %(min)d are required). This looks like a truncated paste or a placeholder: copy the "
                "whole secret from Intercom (Settings > Security > Identity verification)."
            )
            % {"length": len(secret), "min": MIN_SECRET_LENGTH},
            mistake="too_short",
        )
    if any(secret == app_id for app_id in app_ids if app_id):
        raise SecretLooksWrong(
            gettext(
                "The secret is an Intercom app ID. The app ID is public (every page's source shows it), so anyone "
                "could mint user hashes with it: copy the identity verification secret instead "
                "(Settings > Security > Identity verification)."
            ),
            mistake="app_id",
        )
    if same_as:
        raise SecretLooksWrong(
            gettext(
                "The secret is the one already stored for %(pair)s. Each Intercom workspace (development, "
                "production) and each platform has its own secret: this looks like %(pair)s's secret pasted "
                "into the wrong place."
            )
            % {"pair": same_as},
            mistake="other_pair",
        )


@sensitive_variables()
def validate_api_token(token: str) -> None:
    """Refuse a value that cannot be an Intercom access token; ``ValueError`` says why, never repeating it.

    Tokens are printable ASCII without spaces, so anything else is a paste mistake (a
    trailing newline, a quote) that would only show up later as a 401.
    """
    if token == "":
        raise ValueError(gettext("The API token is empty."))
    if len(token) > MAX_TOKEN_LENGTH:
        raise ValueError(gettext("The API token is longer than %(max)d characters.") % {"max": MAX_TOKEN_LENGTH})
    if not (token.isascii() and token.isprintable()) or any(char.isspace() for char in token):
        raise ValueError(
            gettext(
                "The API token holds whitespace, control or non-ASCII characters; Intercom access tokens "
                "never do, so this is most likely a paste mistake."
            )
        )


# Characters that change how a terminal shows the text around them rather than being shown:
# C0 and C1 controls (ESC, CR, BEL, CSI U+009B...), DEL, the Unicode line and paragraph
# separators, the bidi embeddings, overrides, isolates and marks, and lone surrogates (not text
# at all: writing one to a UTF-8 stream raises). A reason may span lines, so the newline is the
# one of them it may hold.
_C0_BUT_NEWLINE = "\x00-\x09\x0b-\x1f"


_OTHER_INVISIBLE = "\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"


_UNSAFE_IN_REASON = re.compile(f"[{_C0_BUT_NEWLINE}{_OTHER_INVISIBLE}]")


def is_utf8_text(value: str) -> bool:
    """Whether ``value`` is text UTF-8 can carry: a lone surrogate (JSON's ``"\\ud800"``) is not."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def clean_audit_reason(reason: str) -> str:
    """``reason`` as it is recorded in the audit trail; ``InvalidAuditText`` when it cannot be.

    Browsers send a textarea's line breaks as CRLF: they become LF. Any other control or
    invisible formatting character is refused (never silently dropped: the person typing it
    should know that what they meant is not what would be stored). The message names the code
    points, never repeats the text.
    """
    text = reason.replace("\r\n", "\n")
    found = sorted({f"U+{ord(char):04X}" for char in _UNSAFE_IN_REASON.findall(text)})
    if found:
        raise InvalidAuditText(
            gettext(
                "The reason contains control characters other than newlines, which would change how it "
                "reads on a terminal (%(found)s); write it as plain text."
            )
            % {"found": ", ".join(found[:5])}
        )
    return text
