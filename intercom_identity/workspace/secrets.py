"""Messenger secrets made, rotated and retired through Intercom's API (its Preview endpoints).

Each command is Intercom's documented rotation, one step at a time: ``create_secret`` (a first
secret), ``rotate_secret`` (a new one served at once, the old one still accepted as the previous
secret) and ``retire_secret`` (the old one deleted in Intercom, then forgotten here).

What a failure half-way leaves, and how the next command finishes it:

- before Intercom is asked, the row records the name the new secret will have
  (``pending_secret_name``, unique per attempt). The database down then: Intercom is never asked.
- Intercom down, or its answer lost, after it made the secret: the name stays recorded. The next
  ``create-secret`` or ``rotate-secret`` (or ``finish_pending``) lists Intercom's secrets, deletes
  the one with that name (its value never reached this app, so nobody can use it) and goes on.
- the database down after Intercom answered: the new secret is deleted in Intercom at once; if
  Intercom cannot be reached for that either, the recorded name lets the next command delete it.
- ``retire-secret``: Intercom deletes first, then the row forgets. The database down in between:
  the next ``retire-secret`` finds the secret already gone in Intercom (404) and forgets it.

So Intercom never keeps a secret this app lost, and no step leaves the served secret unknown.
"""

from __future__ import annotations

import contextlib
import logging
import secrets as random
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError
from django.utils.translation import gettext
from django.views.decorators.debug import sensitive_variables

from intercom_identity.models import Environment, PlatformConfig
from intercom_identity.rollout import changes
from intercom_identity.workspace.client import SecretsApi, WorkspaceUnavailable
from intercom_identity.workspace.sync import api_token, base_url

if TYPE_CHECKING:
    import httpx

logger = logging.getLogger("intercom_identity.workspace")

NAME_PREFIX = "intercom-identity"


def new_secret_name(config: PlatformConfig) -> str:
    """The name a new secret gets in Intercom: who made it, for what, and a per-attempt nonce."""
    return f"{NAME_PREFIX} {config.environment.slug[:30]} {config.platform} {random.token_hex(4)}"


@sensitive_variables()
def _api(environment: Environment, transport: httpx.BaseTransport | None) -> SecretsApi:
    return SecretsApi(base_url(environment), api_token(environment), transport=transport)


def finish_pending(
    config: PlatformConfig, *, actor: Any = None, transport: httpx.BaseTransport | None = None
) -> list[str]:
    """Finish an unfinished creation: delete in Intercom the secret made under the recorded name (its
    value was never stored here), then forget the name. Returns the Intercom ids deleted."""
    name = config.pending_secret_name
    if not name:
        return []
    deleted = []
    with _api(config.environment, transport) as api:
        for secret in api.list():
            if secret.name == name:
                api.delete(secret.id)
                deleted.append(secret.id)
    for intercom_id in deleted:
        changes.record_orphan_deleted(config, intercom_id, actor=actor)
        logger.warning("Deleted Intercom secret %s of %s: an unfinished creation made it.", intercom_id, config)
    changes.end_secret_creation(config, name, actor=actor)
    return deleted


def create_secret(
    config: PlatformConfig,
    *,
    rotate: bool = False,
    actor: Any = None,
    reason: str = "",
    transport: httpx.BaseTransport | None = None,
) -> str:
    """Ask Intercom for a new secret for ``config``'s platform and store it as the one in use; returns
    its fingerprint (never the secret). ``rotate``: replace the current one, kept as the previous secret."""
    changes._refuse_settings_secret(config)  # before any network: as set-secret refuses it
    finish_pending(config, actor=actor, transport=transport)
    name = new_secret_name(config)
    changes.begin_secret_creation(config, name, rotate=rotate)
    with _api(config.environment, transport) as api:
        try:
            created = api.create(name, frozenset({config.platform}))
        except WorkspaceUnavailable as exc:
            raise WorkspaceUnavailable(
                gettext(
                    "%(reason)s Intercom may have made the secret anyway: run the command again, it first "
                    "deletes in Intercom whatever this attempt made."
                )
                % {"reason": exc.reason}
            ) from None
        try:
            return changes.store_created_secret(
                config,
                name,
                created.secret,
                intercom_id=created.meta.id,
                created_at=created.meta.created_at,
                actor=actor,
                reason=reason,
            )
        except (DatabaseError, ValueError) as exc:
            what = type(exc).__name__ if isinstance(exc, DatabaseError) else str(exc)
            try:
                api.delete(created.meta.id)
            except WorkspaceUnavailable:
                logger.warning(
                    "Could not delete Intercom secret %s after %s; the next command will.", created.meta.id, what
                )
                raise WorkspaceUnavailable(
                    gettext(
                        "Intercom made the secret (id %(id)s) but it could not be stored (%(error)s), nor deleted "
                        "in Intercom: run the command again, it first deletes that secret in Intercom."
                    )
                    % {"id": created.meta.id, "error": what}
                ) from None
            _forget_name_if_possible(config, name, actor)
            raise WorkspaceUnavailable(
                gettext(
                    "Intercom made the secret (id %(id)s) but it could not be stored (%(error)s): it was deleted "
                    "in Intercom again and nothing changed. Try again."
                )
                % {"id": created.meta.id, "error": what}
            ) from None


def _forget_name_if_possible(config: PlatformConfig, name: str, actor: Any) -> None:
    # Failing: the next command lists Intercom, finds nothing under that name, and forgets it then.
    with contextlib.suppress(DatabaseError):
        changes.end_secret_creation(config, name, actor=actor)


def rotate_secret(
    config: PlatformConfig, *, actor: Any = None, reason: str = "", transport: httpx.BaseTransport | None = None
) -> str:
    """``create_secret(rotate=True)``: the new secret is served at once, the old one stays accepted."""
    return create_secret(config, rotate=True, actor=actor, reason=reason, transport=transport)


def retire_secret(
    config: PlatformConfig,
    *,
    force: bool = False,
    actor: Any = None,
    reason: str = "",
    transport: httpx.BaseTransport | None = None,
) -> tuple[str, bool]:
    """Delete the previous secret in Intercom, then forget it here. Refused inside the grace period
    unless ``force`` with a ``reason``. Returns its Intercom id ("" when it had none: set by hand) and
    whether Intercom still had it."""
    config.refresh_from_db()
    changes.check_retirement(config, force=force, reason=reason)
    intercom_id = config.previous_intercom_secret_id
    existed = False
    if intercom_id:
        with _api(config.environment, transport) as api:
            existed = api.delete(intercom_id)
    changes.forget_previous_secret(config, actor=actor, reason=reason, force=force)
    return intercom_id, existed
