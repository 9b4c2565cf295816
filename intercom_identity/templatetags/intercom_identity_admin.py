"""``{% load intercom_identity_admin %}``: the admin pages' filters, thin wrappers over
``admin.display`` so a template words a message, a moment or a platform as the lists do."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils.safestring import SafeString

from intercom_identity.admin.display import moment, with_code
from intercom_identity.constants import label

register = template.Library()


@register.filter
def code_spans(text: str) -> SafeString:
    """A message with its `backquoted` commands and field names set as code."""
    return with_code(str(text))


@register.filter
def when(value: datetime | None) -> SafeString:
    """ "3 days ago" ("just now" under a minute), the exact time on hover."""
    return moment(value)


@register.filter
def platform_label(platform: str) -> str:
    """``"iOS"`` for ``"ios"``."""
    return label(platform)
