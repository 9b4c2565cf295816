"""Text that crosses the app's edge: which text it accepts, and how it prints text it stored.

People type audit reasons; other people read them later, on admin pages and on terminals. A
carriage return or an ESC sequence in a reason can make a forced enforcement read as something
else on an operator's terminal, a bidi override reorders what is shown, and PostgreSQL refuses a
NUL byte outright (a 500). So a reason is refused where it is received when it holds such a
character, and whatever the command prints from the database goes through ``for_terminal``,
which shows every control character as an escape: rows written before the rule, by raw SQL, or
fields with no rule of their own (an environment's label) cannot move a cursor either.

JSON output needs none of this: ``json.dumps`` escapes every control and non-ASCII character.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext

from intercom_identity.exceptions import InvalidAuditText

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


def for_terminal(text: str) -> str:
    """``text`` safe to print on one terminal line: every character Python does not call
    printable is shown as its Python escape (``\\x1b``, ``\\r``, ``\\n``, ``\\u202e``, ``\\ud800``).

    That is each control character (newline and tab included), line and paragraph separator,
    bidi and other format character (zero-width ones too), space other than the ASCII one and
    lone surrogate, so text the app stored or Intercom sent (a label, a reason, a workspace
    event's description) can neither move the cursor, recolour, retitle nor reorder what the
    operator reads, hide a difference, nor start a line that looks like another record.
    """
    if text.isprintable():
        return text  # the usual case: nothing to escape
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)
