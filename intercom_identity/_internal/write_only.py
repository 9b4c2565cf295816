"""A write-only credential (a platform's secret, an environment's API token): stored encrypted
on its row, unless settings supply it, in which case the settings win.

``Columns`` names where one kind of credential lives on its row; reading (``WriteOnly``), writing
and clearing are derived from it, so every credential of the app follows the same rules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from intercom_identity._internal import crypto
from intercom_identity.credentials.hashing import fingerprint


@dataclass(frozen=True)
class WriteOnly:
    supplied: str | None = field(repr=False)  # from settings
    encrypted: str = field(repr=False)
    stored_fingerprint: str

    @property
    def managed_by_settings(self) -> bool:
        return self.supplied is not None

    @property
    def present(self) -> bool:
        return bool(self.encrypted) or self.managed_by_settings

    @property
    @sensitive_variables()
    def fingerprint(self) -> str:
        """The fingerprint of the credential in use, "" when there is none."""
        return fingerprint(self.supplied) if self.supplied is not None else self.stored_fingerprint

    @sensitive_variables()
    def value(self) -> str | None:
        """The credential in use: from settings, else decrypted (``SecretDecryptionError``); None when none."""
        if self.supplied is not None:
            return self.supplied
        return crypto.decrypt(self.encrypted) if self.encrypted else None


@dataclass(frozen=True)
class Columns:
    """The names of the three columns a stored credential occupies on its row."""

    encrypted: str
    fingerprint: str
    set_at: str

    @property
    def names(self) -> tuple[str, str, str]:
        return (self.encrypted, self.fingerprint, self.set_at)

    def read(self, row: object, supplied: str | None) -> WriteOnly:
        """The credential of ``row``, or ``supplied`` (from settings) when there is one."""
        return WriteOnly(supplied, getattr(row, self.encrypted), getattr(row, self.fingerprint))

    @sensitive_variables()
    def written(self, value: str, validate: Callable[[str], None]) -> dict[str, Any]:
        """The columns' values for storing ``value``: validated (``validate`` raises), encrypted,
        fingerprinted and stamped now. The caller saves them (on a locked row, audited)."""
        validate(value)
        return {
            self.encrypted: crypto.encrypt(value),
            self.fingerprint: fingerprint(value),
            self.set_at: timezone.now(),
        }

    def cleared(self) -> dict[str, Any]:
        """The columns' values once the stored credential is deleted."""
        return {self.encrypted: "", self.fingerprint: "", self.set_at: None}
