"""A write-only credential (a platform's secret, an environment's API token): stored encrypted
on its row, unless settings supply it, in which case the settings win."""

from __future__ import annotations

from dataclasses import dataclass, field

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
