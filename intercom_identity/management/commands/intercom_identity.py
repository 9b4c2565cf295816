"""``python manage.py intercom_identity <subcommand>``: secrets, phases, hashes and status."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.views.decorators.debug import sensitive_variables

from ...adoption import adoption, evidence_text
from ...emulator import verify
from ...exceptions import IntercomIdentityError
from ...hashing import compute_user_hash
from ...lookups import get_platform_config, parse_phase
from ...maintenance import recount, rotate_encryption
from ...models import CredentialMode, Platform, RolloutPhase
from ...reports import audit_history, status_matrix
from ...retention import prune_activity
from ...rollout import change_mode, change_phase, clear_secret, set_min_sending_version, store_secret


def _window_days(value: str) -> int:
    """``--days``: a whole number of days from 1 to 3650."""
    try:
        days = int(value)
    except ValueError:
        days = 0
    if not 1 <= days <= 3650:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of days from 1 to 3650")
    return days


class Command(BaseCommand):
    help = "Manage Intercom identity verification: secrets, rollout phases, hashes and status."
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")

        set_secret = sub.add_parser(
            "set-secret",
            help="Store a secret read from standard input (never from the command line); prints its fingerprint.",
        )
        self._env_platform(set_secret)

        clear = sub.add_parser(
            "clear-secret", help="Delete a stored secret (phase off, or the secret now comes from settings)."
        )
        self._env_platform(clear)
        clear.add_argument("--reason", default="", help="Why; recorded in the audit trail.")

        phase = sub.add_parser("phase", help="Move an environment's platform to a rollout phase.")
        self._env_platform(phase)
        phase.add_argument("phase", choices=RolloutPhase.values)
        phase.add_argument(
            "--force", action="store_true", help="Enforce even though adoption is below the threshold (needs --reason)."
        )
        phase.add_argument("--reason", default="", help="Why; recorded in the audit trail.")

        hash_ = sub.add_parser("hash", help="Print the user hash for an identifier (whatever the phase).")
        self._env_platform(hash_)
        hash_.add_argument("--user-id", help="The user's id (wins over --email).")
        hash_.add_argument("--email", help="The user's email, used only without --user-id.")

        mode = sub.add_parser("mode", help="Choose the credential handed out: the user hash or a JWT.")
        self._env_platform(mode)
        mode.add_argument("mode", choices=CredentialMode.values)

        verify = sub.add_parser(
            "verify", help="Check a credential as Intercom would; exit 0 when valid, 1 with the reason when not."
        )
        self._env_platform(verify)
        verify.add_argument("--user-id", help="The user_id the app sends.")
        verify.add_argument("--email", help="The email the app sends.")
        credential = verify.add_mutually_exclusive_group(required=True)
        credential.add_argument("--hash", dest="user_hash", help="The user_hash the app sends.")
        credential.add_argument("--jwt", dest="token", help="The intercom_user_jwt the app sends.")

        adoption_ = sub.add_parser("adoption", help="Share of active users on app versions that send the credential.")
        self._env_platform(adoption_)
        adoption_.add_argument("--days", type=_window_days, default=30, help="Window in days, 1 to 3650 (default 30).")
        adoption_.add_argument("--json", action="store_true", dest="as_json", help="Print JSON.")

        min_version = sub.add_parser(
            "min-version", help="Mark app versions from VERSION on as credential-sending ('' clears it)."
        )
        self._env_platform(min_version)
        min_version.add_argument("version")
        min_version.add_argument("--reason", default="", help="Why; recorded in the audit trail.")

        history = sub.add_parser("history", help="The audit trail of every change, newest first.")
        history.add_argument("--environment", help="Only this environment.")
        history.add_argument("--platform", choices=Platform.values, help="Only this platform.")
        history.add_argument("--json", action="store_true", dest="as_json", help="Print JSON.")

        sub.add_parser(
            "recount",
            help="Rebuild the adoption tallies from the activity rows (after a bulk import or raw SQL).",
        )

        prune = sub.add_parser(
            "prune-activity",
            help="Delete activity older than INTERCOM_IDENTITY_ACTIVITY_RETENTION_DAYS, in short batches "
            "(safe from cron, during traffic).",
        )
        prune.add_argument("--dry-run", action="store_true", help="Only count what would be deleted.")

        sub.add_parser(
            "rotate-keys",
            help="Re-encrypt every stored secret with the first key of INTERCOM_IDENTITY_ENCRYPTION_KEYS.",
        )

        status = sub.add_parser(
            "status", help="Show phase, secret fingerprint and when it was set, per environment and platform."
        )
        status.add_argument("--json", action="store_true", dest="as_json", help="Print JSON instead of a table.")

    @staticmethod
    def _env_platform(parser: CommandParser) -> None:
        parser.add_argument("environment", help="Environment slug, e.g. development or production.")
        parser.add_argument("platform", choices=Platform.values)

    def handle(self, *args: Any, subcommand: str, **options: Any) -> None:
        handler = getattr(self, "handle_" + subcommand.replace("-", "_"))
        # `verify` exits 1 for "not valid"; anything that stops it from answering exits 2.
        returncode = 2 if subcommand == "verify" else 1
        try:
            handler(**options)
        except (IntercomIdentityError, ValueError) as exc:  # ValueError: bad phase, invalid secret or version
            raise CommandError(str(exc), returncode=returncode) from None

    @sensitive_variables()
    def handle_set_secret(
        self, *, environment: str, platform: str, stdin: TextIO | None = None, **options: Any
    ) -> None:
        config = get_platform_config(platform, environment)
        secret = self._read_secret(stdin or sys.stdin)
        fingerprint = store_secret(config, secret)
        self.stdout.write(fingerprint)

    @staticmethod
    @sensitive_variables()
    def _read_secret(stream: TextIO) -> str:
        """The secret from a pipe (one trailing newline dropped) or, on a terminal, an unechoed prompt."""
        if stream.isatty():
            return getpass.getpass("Secret (not echoed): ")
        raw = stream.buffer.read() if hasattr(stream, "buffer") else stream.read().encode("utf-8", "surrogateescape")
        try:
            secret = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise CommandError("The secret on standard input is not UTF-8 text.") from None
        for newline in ("\r\n", "\n"):
            if secret.endswith(newline):
                return secret[: -len(newline)]
        return secret

    def handle_phase(
        self, *, environment: str, platform: str, phase: str, force: bool, reason: str, **options: Any
    ) -> None:
        config = get_platform_config(platform, environment)
        previous = change_phase(config, parse_phase(phase), reason=reason, force=force)
        if previous == phase:
            self.stdout.write(f"{config} is already in phase '{phase}'.")
        else:
            self.stdout.write(f"{config}: phase {previous.value} -> {phase}.")

    def handle_mode(self, *, environment: str, platform: str, mode: str, **options: Any) -> None:
        config = get_platform_config(platform, environment)
        previous = change_mode(config, mode)
        if previous == mode:
            self.stdout.write(f"{config} already hands out credential '{mode}'.")
        else:
            self.stdout.write(f"{config}: credential {previous.value} -> {mode}.")

    def handle_verify(
        self,
        *,
        environment: str,
        platform: str,
        user_id: str | None,
        email: str | None,
        user_hash: str | None,
        token: str | None,
        **options: Any,
    ) -> None:
        result, _config = verify(platform, environment, user_id=user_id, email=email, user_hash=user_hash, token=token)
        if result.verified:
            self.stdout.write(f"valid: verified by {result.identified_by}")
            return
        assert result.diagnosis is not None  # noqa: S101 - failures carry a diagnosis
        self.stdout.write(f"{result.diagnosis.reason}: {result.diagnosis.detail}")
        raise CommandError("The credential is not valid.", returncode=1)

    def handle_adoption(self, *, environment: str, platform: str, days: int, as_json: bool, **options: Any) -> None:
        numbers = adoption(get_platform_config(platform, environment), days=days)
        if as_json:
            self.stdout.write(json.dumps(numbers.as_dict(), indent=2))
            return
        self.stdout.write(
            f"{environment} {platform}: {numbers.ratio_display} ({numbers.ready_users} of {numbers.active_users} "
            f"users active in the last {days} days); threshold {numbers.threshold_display}"
            + (" - ready to enforce" if numbers.meets_threshold else " - below threshold")
        )
        for share in numbers.versions:
            self.stdout.write(f"  {share.version:<20}{share.users:>10}  {evidence_text(share, numbers.rule)}")

    def handle_min_version(self, *, environment: str, platform: str, version: str, reason: str, **options: Any) -> None:
        config = get_platform_config(platform, environment)
        previous = set_min_sending_version(config, version, reason=reason)
        self.stdout.write(
            f"{config}: minimum sending version {previous or 'none'} -> {config.min_sending_version or 'none'}."
        )

    def handle_history(self, *, environment: str | None, platform: str | None, as_json: bool, **options: Any) -> None:
        events = audit_history(environment=environment, platform=platform)
        if as_json:
            self.stdout.write(json.dumps(events, indent=2))
            return
        for event in events:
            ratio = "-" if event["adoption_ratio"] is None else f"{event['adoption_ratio']:.1%}"
            forced = " FORCED" if event["forced"] else ""
            reason = f" ({event['reason']})" if event["reason"] else ""
            self.stdout.write(
                f"{event['at']}  {event['actor']}: {event['environment']}/{event['platform']} {event['kind']} "
                f"{event['from'] or '-'} -> {event['to'] or '-'}, adoption {ratio}{forced}{reason}"
            )

    def handle_clear_secret(self, *, environment: str, platform: str, reason: str, **options: Any) -> None:
        config = get_platform_config(platform, environment)
        previous = clear_secret(config, reason=reason)
        self.stdout.write(f"{config}: stored secret {previous or 'none'} cleared.")

    def handle_recount(self, **options: Any) -> None:
        written = recount()
        self.stdout.write(f"Recounted the adoption tallies: {written} tally row(s) written.")

    def handle_prune_activity(self, *, dry_run: bool, **options: Any) -> None:
        self.stdout.write(prune_activity(dry_run=dry_run).describe())

    def handle_rotate_keys(self, **options: Any) -> None:
        count = rotate_encryption()
        self.stdout.write(f"Rotated {count} platform configuration(s) to the first encryption key.")

    @sensitive_variables()
    def handle_hash(
        self, *, environment: str, platform: str, user_id: str | None, email: str | None, **options: Any
    ) -> None:
        if not user_id and not email:
            raise CommandError("Give --user-id or --email (or both: the user id wins, as in Intercom).")
        secret = get_platform_config(platform, environment).secret()
        self.stdout.write(str(compute_user_hash(secret, user_id=user_id, email=email)))

    def handle_status(self, *, as_json: bool = False, **options: Any) -> None:
        matrix = status_matrix()
        if as_json:
            self.stdout.write(json.dumps(matrix, indent=2))
            return
        self.stdout.write(f"{'ENVIRONMENT':<16}{'PLATFORM':<10}{'PHASE':<10}{'CREDENTIAL':<12}{'SECRET':<10}SET AT")
        for env_slug, platforms in matrix.items():
            for platform, row in platforms.items():
                fingerprint, set_at = row["fingerprint"] or "-", row["secret_set_at"] or "-"
                self.stdout.write(
                    f"{env_slug:<16}{platform:<10}{row['phase']:<10}{row['credential']:<12}{fingerprint:<10}{set_at}"
                )
