"""Text the app prints on a terminal: whatever it stored, or Intercom sent, shown so that it
cannot move the cursor, recolour or reorder what the operator reads (``json.dumps`` needs none
of this: it escapes every control character)."""

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
