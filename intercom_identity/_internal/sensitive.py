"""Which model fields hold secret material (every ``encrypted_*`` field, plus a model's
``SENSITIVE_FIELDS``), and whether a query lookup reaches one: such fields are never filtered on
from outside."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db.models.constants import LOOKUP_SEP

ENCRYPTED_PREFIX = "encrypted_"


def is_sensitive_field(field: Any) -> bool:
    """Whether ``field`` (a model field) holds secret material or is derived from it."""
    name = getattr(field, "name", None) or ""
    model = getattr(field, "model", None)
    return name.startswith(ENCRYPTED_PREFIX) or name in getattr(model, "SENSITIVE_FIELDS", ())


def reaches_sensitive_field(model: Any, lookup: str) -> bool:
    """Whether the lookup ``lookup`` (``"environment__platforms__encrypted_secret__regex"``),
    applied to ``model``, reads a sensitive field of ``model`` or of a model it reaches through
    relations. The parts after the last field (``regex``, ``startswith``) are lookups, not fields.
    """
    for part in lookup.split(LOOKUP_SEP):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return False
        if is_sensitive_field(field):
            return True
        if not field.is_relation or field.related_model is None:
            return False
        model = field.related_model
    return False
