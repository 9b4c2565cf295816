"""How the admin's pages show what they share: a configuration's secret, a moment, a phase
change, a message that names a command. One place, so the lists, forms and custom pages of
the app read as one product."""

from __future__ import annotations

import re
from datetime import datetime

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from intercom_identity._internal.formatting import exact_time, relative_time
from intercom_identity.conf import conf
from intercom_identity.models import Environment, PlatformConfig

_CODE = re.compile(r"`([^`]+)`")


def with_code(text: str) -> SafeString:
    """``text`` escaped, with each `backquoted` span (a command, a field name) set as ``<code>``:
    messages are written once, in plain text, and never show Markdown source on a page."""
    return mark_safe(_CODE.sub(lambda match: f"<code>{match.group(1)}</code>", escape(text)))  # noqa: S308


def moment(value: datetime | None) -> SafeString:
    """``3 days ago`` ("just now" under a minute), the exact time in the admin's format on hover."""
    if value is None:
        return format_html("{}", "-")
    return format_html(
        '<time datetime="{}" title="{}">{}</time>', value.isoformat(), exact_time(value), relative_time(value)
    )


def secret_summary(config: PlatformConfig) -> str:
    """The fingerprint of the secret in use and where it comes from, as text; never the secret."""
    if config.managed_by_settings:
        return gettext("%(fingerprint)s (managed by settings)") % {"fingerprint": config.fingerprint}
    return config.fingerprint or "-"


def secret_cell(config: PlatformConfig) -> SafeString:
    """The secret's fingerprint with its age or source underneath: one column instead of three."""
    if not config.has_secret:
        return format_html('<span class="intercom-quiet">{}</span>', gettext("no secret yet"))
    if config.managed_by_settings:
        source = format_html("{}", gettext("managed by settings"))
    elif config.secret_set_at is not None:
        source = format_html(gettext("set {when}"), when=moment(config.secret_set_at))
    else:
        source = format_html("")
    if config.intercom_secret_id and not config.managed_by_settings:
        # Made through Intercom's API: its id there and when Intercom made it, beside the fingerprint.
        made = format_html(
            gettext("Intercom id {id}, created {when}"),
            id=config.intercom_secret_id,
            when=moment(config.intercom_secret_created_at),
        )
        source = format_html('{}<br><span class="intercom-intercom-secret">{}</span>', source, made)
    return format_html(
        '<code>{}</code><br><span class="intercom-quiet intercom-nowrap">{}</span>', config.fingerprint, source
    )


def phase_cell(config: PlatformConfig) -> SafeString:
    """The phase's label, and since when it holds (in the admin's format) underneath."""
    if config.phase_changed_at is None:
        return format_html("{}", config.get_phase_display())
    return format_html(
        '{}<br><span class="intercom-quiet">{}</span>',
        config.get_phase_display(),
        format_html(gettext("since {when}"), when=exact_time(config.phase_changed_at)),
    )


SERVED_TITLE = "This deployment hands out this environment's credentials (INTERCOM_IDENTITY_SERVED_ENVIRONMENTS)."
DEFAULT_TITLE = (
    "Served here, and the default: requests no resolver assigns elsewhere get it (INTERCOM_IDENTITY_ENVIRONMENT)."
)
RECORDS_ONLY_NOTE = (
    "Records only: this deployment does not serve this environment, so no request here gets its "
    "credentials. A change made here takes effect only where a deployment that serves it reads this database."
)


def is_served(environment: Environment) -> bool:
    """Whether this deployment serves ``environment`` (``INTERCOM_IDENTITY_SERVED_ENVIRONMENTS``)."""
    return environment.slug in conf.served_environments()


def served_note(environment: Environment) -> str:
    """The one line that says what an unserved environment's rows are; empty for a served one."""
    return "" if is_served(environment) else gettext(RECORDS_ONLY_NOTE)


def environment_badges(environment: Environment) -> SafeString:
    """The labels beside an environment's name, alike on every page: "served here" for each
    environment this deployment serves ("default" added for ``INTERCOM_IDENTITY_ENVIRONMENT``),
    "records only" for the others, "real users" for a production one."""
    badges = []
    if environment.slug == conf.ENVIRONMENT:
        badges.append(
            format_html(
                '<span class="intercom-badge" title="{}">{}</span>',
                gettext(DEFAULT_TITLE),
                gettext("served here · default"),
            )
        )
    elif is_served(environment):
        badges.append(
            format_html(
                '<span class="intercom-badge" title="{}">{}</span>', gettext(SERVED_TITLE), gettext("served here")
            )
        )
    else:
        badges.append(
            format_html(
                '<span class="intercom-badge intercom-badge-records" title="{}">{}</span>',
                gettext(RECORDS_ONLY_NOTE),
                gettext("records only"),
            )
        )
    if environment.is_production:
        badges.append(
            format_html(
                '<span class="intercom-badge intercom-badge-live" title="{}">{}</span>',
                gettext("A production environment: changes need the manage-production permission."),
                gettext("real users"),
            )
        )
    return format_html("{}", SafeString(" ".join(badges)))


def web_without_app_id() -> list[SafeString]:
    """One warning per environment whose web platform is past ``off`` while it has no Intercom app
    ID: the web messenger cannot start there (the tags render no app_id). Every environment, the
    ones this deployment does not serve included (check W007 looks at the served ones only)."""
    from django.urls import reverse

    from intercom_identity.models import Platform, RolloutPhase

    webs = (
        PlatformConfig.objects.select_related("environment")
        .filter(platform=Platform.WEB, environment__app_id="")
        .exclude(phase=RolloutPhase.OFF)
    )
    return [
        format_html(
            gettext(
                "{config} is in phase “{phase}” but {environment} has no Intercom app ID: the web messenger "
                'cannot start there (the tags render no app_id). <a href="{url}">Set the app ID</a>.'
            ),
            config=str(web),
            phase=web.get_phase_display(),
            environment=str(web.environment),
            url=reverse("admin:intercom_identity_environment_change", args=[web.environment.pk]),
        )
        for web in webs
    ]
