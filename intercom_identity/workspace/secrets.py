"""Messenger secrets made, rotated and retired through Intercom's API (its Preview endpoints).

Each function is one step of Intercom's documented rotation: ``create_secret``, ``rotate_secret``,
``retire_secret``. What a failure half-way leaves, and how the next command finishes it, is in
docs/secrets.md ("A failure half-way"); each function says which step guards which point.
"""

from __future__ import annotations

import contextlib
import logging
import secrets as random
from typing import TYPE_CHECKING, Any, NoReturn

from django.db import DatabaseError
from django.utils.translation import gettext
from django.views.decorators.debug import sensitive_variables

from intercom_identity.models import Environment, PlatformConfig
from intercom_identity.rollout import changes
from intercom_identity.validators import MAX_SECRET_NAME_LENGTH
from intercom_identity.workspace.client import DEADLINE_SECONDS, CreatedSecret, SecretsApi, WorkspaceUnavailable
from intercom_identity.workspace.sync import api_token, base_url

if TYPE_CHECKING:
    import httpx

logger = logging.getLogger("intercom_identity.workspace")

NAME_PREFIX = "intercom-identity"


def new_secret_name(config: PlatformConfig) -> str:
    """The name a new secret gets in Intercom: who made it, for what, and a per-attempt nonce; the
    environment's slug is cut so that the name fits the column it is recorded in."""
    platform, nonce = config.platform, random.token_hex(4)
    room = MAX_SECRET_NAME_LENGTH - len(f"{NAME_PREFIX}   {platform} {nonce}")
    return f"{NAME_PREFIX} {config.environment.slug[:room]} {platform} {nonce}"


@sensitive_variables()
def _api(environment: Environment, deadline: float, transport: httpx.BaseTransport | None) -> SecretsApi:
    return SecretsApi(base_url(environment), api_token(environment), deadline=deadline, transport=transport)


def finish_pending(
    config: PlatformConfig,
    *,
    actor: Any = None,
    deadline: float = DEADLINE_SECONDS,
    transport: httpx.BaseTransport | None = None,
) -> list[str]:
    """Finish an unfinished creation: delete in Intercom the secret made under the recorded name (its
    value was never stored here: storing it forgets the name in the same transaction), then forget
    the name. Returns the Intercom ids deleted."""
    name = config.pending_secret_name
    if not name:
        return []
    deleted = []
    with _api(config.environment, deadline, transport) as api:
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
    deadline: float = DEADLINE_SECONDS,
    transport: httpx.BaseTransport | None = None,
) -> str:
    """Ask Intercom for a new secret for ``config``'s platform and store it as the one in use; returns
    its fingerprint (never the secret). ``rotate``: replace the current one, kept as the previous secret.

    The row records the new secret's name before Intercom is asked, so a secret Intercom made but
    this app did not store is found by the next command (``finish_pending``). Once Intercom has
    answered, its secret is deleted there again only when the row certainly does not serve it: a
    database error may come after the commit went through, so the row is asked first."""
    changes.refuse_settings_secret(config)  # before any network: as set-secret refuses it
    finish_pending(config, actor=actor, deadline=deadline, transport=transport)
    name = new_secret_name(config)
    changes.begin_secret_creation(config, name, rotate=rotate)
    kept = _kept(config)
    with _api(config.environment, deadline, transport) as api:
        created = _ask_intercom(api, name, config.platform, kept)
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
        except DatabaseError as exc:
            failure = type(exc).__name__
            stored = _stored_despite(config, created.meta.id, failure)
            if stored is not None:
                return stored
        except ValueError as exc:  # refused before anything was written: a malformed secret, the row moved on
            failure = str(exc)
        _delete_unstored(api, config, name, created.meta.id, failure, actor, kept)


def _kept(config: PlatformConfig) -> str:
    """What a failed attempt leaves served, as the message's last sentence."""
    if config.secret_fingerprint:
        return gettext("%(config)s still serves its secret %(fingerprint)s.") % {
            "config": config,
            "fingerprint": config.secret_fingerprint,
        }
    return gettext("%(config)s still has no secret.") % {"config": config}


def _ask_intercom(api: SecretsApi, name: str, platform: str, kept: str) -> CreatedSecret:
    try:
        return api.create(name, frozenset({platform}))
    except WorkspaceUnavailable as exc:
        raise WorkspaceUnavailable(
            gettext(
                "%(reason)s Intercom may have made the secret anyway: run the command again, it first "
                "deletes in Intercom whatever this attempt made. %(kept)s"
            )
            % {"reason": exc.reason, "kept": kept}
        ) from None


def _stored_despite(config: PlatformConfig, intercom_id: str, failure: str) -> str | None:
    """After a database error storing Intercom's secret: its fingerprint when the row serves it anyway
    (the commit went through, only its answer was lost), None when it certainly does not; raises
    when the row cannot be read, having deleted nothing."""
    try:
        stored = changes.stored_fingerprint_of(config, intercom_id)
    except DatabaseError:
        logger.warning(
            "Intercom secret %s of %s: the database failed (%s) and cannot say whether it was stored; "
            "it was not deleted in Intercom.",
            intercom_id,
            config,
            failure,
        )
        raise WorkspaceUnavailable(
            gettext(
                "Intercom made the secret (id %(id)s), but the database failed (%(error)s) before it could be "
                "confirmed stored, so it was not deleted in Intercom: it may be the one in use now. Once the "
                "database answers, `manage.py intercom_identity status` shows the secret in use; running the "
                "command again says whether it was stored, and if it was not, deletes it in Intercom first."
            )
            % {"id": intercom_id, "error": failure}
        ) from None
    if stored is not None:
        logger.warning(
            "Intercom secret %s of %s: the database reported %s, yet the secret was stored.",
            intercom_id,
            config,
            failure,
        )
    return stored


def _delete_unstored(
    api: SecretsApi, config: PlatformConfig, name: str, intercom_id: str, failure: str, actor: Any, kept: str
) -> NoReturn:
    """Delete in Intercom a secret it made that the row certainly does not hold, and say what is left."""
    try:
        api.delete(intercom_id)
    except WorkspaceUnavailable:
        logger.warning("Could not delete Intercom secret %s after %s; the next command will.", intercom_id, failure)
        raise WorkspaceUnavailable(
            gettext(
                "Intercom made the secret (id %(id)s) but it could not be stored (%(error)s), nor deleted "
                "in Intercom: run the command again, it first deletes that secret in Intercom. %(kept)s"
            )
            % {"id": intercom_id, "error": failure, "kept": kept}
        ) from None
    # Failing: the next command lists Intercom, finds nothing under that name, and forgets it then.
    with contextlib.suppress(DatabaseError):
        changes.end_secret_creation(config, name, actor=actor)
    raise WorkspaceUnavailable(
        gettext(
            "Intercom made the secret (id %(id)s) but it could not be stored (%(error)s): it was deleted "
            "in Intercom again and nothing changed. %(kept)s Try again."
        )
        % {"id": intercom_id, "error": failure, "kept": kept}
    )


def rotate_secret(
    config: PlatformConfig,
    *,
    actor: Any = None,
    reason: str = "",
    deadline: float = DEADLINE_SECONDS,
    transport: httpx.BaseTransport | None = None,
) -> str:
    """``create_secret(rotate=True)``: the new secret is served at once, the old one stays accepted."""
    return create_secret(config, rotate=True, actor=actor, reason=reason, deadline=deadline, transport=transport)


def retire_secret(
    config: PlatformConfig,
    *,
    force: bool = False,
    actor: Any = None,
    reason: str = "",
    deadline: float = DEADLINE_SECONDS,
    transport: httpx.BaseTransport | None = None,
) -> tuple[str, bool]:
    """Delete the previous secret in Intercom, then forget it here. Refused inside the grace period
    unless ``force`` with a ``reason``. Returns its Intercom id ("" when it had none: set by hand) and
    whether Intercom still had it.

    Intercom first: the database down before the row forgets it, the next ``retire-secret`` finds it
    already gone in Intercom (a 404 Intercom itself gives) and forgets it."""
    config.refresh_from_db()
    changes.check_retirement(config, force=force, reason=reason)
    intercom_id = config.previous_intercom_secret_id
    existed = False
    if intercom_id:
        with _api(config.environment, deadline, transport) as api:
            existed = api.delete(intercom_id)
    changes.forget_previous_secret(config, actor=actor, reason=reason, force=force)
    return intercom_id, existed
