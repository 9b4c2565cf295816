"""Every signal receiver of the app, connected in one place from ``AppConfig.ready()``.

The receivers are thin: each calls the module that keeps the state in question. The
process-local state they keep current is also what ``forget_process_state`` resets.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import DEFAULT_DB_ALIAS
from django.db.backends.signals import connection_created
from django.db.models.signals import post_delete, post_save, pre_delete
from django.test.signals import setting_changed

from intercom_identity._internal import cacheguard, configcache, outages, ratelimit
from intercom_identity.conf import PREFIX, forget_settings
from intercom_identity.credentials import users
from intercom_identity.messenger import intercom_settings, tag
from intercom_identity.models import Environment, PlatformConfig
from intercom_identity.rollout import activity


def connect() -> None:
    """Connect every receiver (idempotent: each has a ``dispatch_uid``)."""
    for model in (PlatformConfig, Environment):
        post_save.connect(_row_changed, sender=model, dispatch_uid=f"intercom_identity.{model.__name__}.saved")
        post_delete.connect(_row_changed, sender=model, dispatch_uid=f"intercom_identity.{model.__name__}.deleted")
    pre_delete.connect(_user_deleted, sender=settings.AUTH_USER_MODEL, dispatch_uid="intercom_identity.user_deleted")
    request_started.connect(_request_started, dispatch_uid="intercom_identity.request_started")
    request_finished.connect(_request_finished, dispatch_uid="intercom_identity.request_finished")
    connection_created.connect(_connection_created, dispatch_uid="intercom_identity.connection_created")
    setting_changed.connect(_setting_changed, dispatch_uid="intercom_identity.setting_changed")


def forget_process_state() -> None:
    """Forget what this process remembers: configuration copies, recordings, the cache's circuit
    and outages (tests call it around each test)."""
    configcache.forget()
    activity.forget_recordings()
    cacheguard.forget()
    outages.forget()
    ratelimit.forget_sightings()
    tag.forget_rendered()
    tag.forget_workspaces()


def _row_changed(sender: Any, using: str = DEFAULT_DB_ALIAS, instance: Any = None, **kwargs: Any) -> None:
    """A platform configuration changed: its environment's copies go, in every process; an
    environment row changed (its slug, app id or region): every copy goes."""
    configcache.config_changed(using, _changed_environment(instance))


def _changed_environment(instance: Any) -> str | None:
    """The slug of the only environment a saved or deleted platform configuration concerns,
    when known without a query (None: treat it as a change of everything)."""
    if not isinstance(instance, PlatformConfig):
        return None
    environment = PlatformConfig._meta.get_field("environment").get_cached_value(instance, None)
    return environment.slug if isinstance(environment, Environment) else None


def _user_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    """A deleted user leaves the counts too. Their activity rows would cascade; removing them
    here first lets the tallies be corrected set-based, and the cascade finds nothing left."""
    activity.forget_user(instance)


def _request_started(**kwargs: Any) -> None:
    outages.request_started()


def _request_finished(**kwargs: Any) -> None:
    configcache.request_finished()
    outages.request_finished()


def _connection_created(**kwargs: Any) -> None:
    outages.database_connected()


def _setting_changed(setting: str, **kwargs: Any) -> None:
    forget_settings()
    users.forget_reports()
    cacheguard.setting_changed(setting)
    configcache.setting_changed(setting)
    tag.setting_changed(setting)
    if setting.startswith(PREFIX):
        intercom_settings.forget_unserved_logs()
