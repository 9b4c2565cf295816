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
