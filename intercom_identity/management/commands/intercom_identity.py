"""``python manage.py intercom_identity <subcommand>``: secrets, phases, app IDs, hashes and status."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import datetime
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.views.decorators.debug import sensitive_variables

from intercom_identity._internal.formatting import percent, relative_time
from intercom_identity._internal.key_rotation import rotate_encryption
from intercom_identity._internal.terminal import for_terminal
from intercom_identity.credentials.emulator import verify
from intercom_identity.credentials.hashing import compute_user_hash
from intercom_identity.exceptions import IntercomIdentityError
from intercom_identity.management.status import audit_history, status_matrix
from intercom_identity.management.tallies import recount
from intercom_identity.models import CredentialMode, Platform, RolloutPhase
from intercom_identity.rollout.adoption import adoption, builds_in_use, client_label, evidence_text
from intercom_identity.rollout.changes import (
    change_mode,
    change_phase,
    clear_api_token,
    clear_secret,
    retire_deadline,
    set_app_id,
    set_is_production,
    set_min_sending_version,
    store_api_token,
    store_secret,
)
from intercom_identity.rollout.deadline import deadline_standing
from intercom_identity.rollout.retention import prune_activity
from intercom_identity.selectors import get_environment, get_platform_config, parse_phase
from intercom_identity.validators import clean_audit_reason, is_utf8_text
from intercom_identity.workspace import secrets
from intercom_identity.workspace import sync as workspace


def _window_days(value: str) -> int:
    """``--days``: a whole number of days from 1 to 3650."""
    try:
        days = int(value)
    except ValueError:
        days = 0
    if not 1 <= days <= 3650:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of days from 1 to 3650")
    return days


def _reason(value: str) -> str:
    """``--reason``: refused at once when the audit trail would not take it (control characters)."""
    try:
        return clean_audit_reason(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


SERVED_LABELS = {"default": "default", "served": "served", "records_only": "records only"}


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
        clear.add_argument("--reason", default="", type=_reason, help="Why; recorded in the audit trail.")

        # Secrets made through Intercom's API (its Preview endpoints), with the environment's API token.
        create = sub.add_parser(
            "create-secret",
            help="Ask Intercom for a new secret for the platform and store it (never printed); prints its fingerprint.",
        )
        self._env_platform(create)
        create.add_argument("--reason", default="", type=_reason, help="Why; recorded in the audit trail.")
        rotate = sub.add_parser(
            "rotate-secret",
            help="Ask Intercom for a new secret and serve it at once; the old one stays accepted until retire-secret.",
        )
        self._env_platform(rotate)
        rotate.add_argument("--reason", default="", type=_reason, help="Why; recorded in the audit trail.")
        retire = sub.add_parser(
            "retire-secret",
            help="Delete the previous secret in Intercom and forget it here (after the grace period, "
            "INTERCOM_IDENTITY_SECRET_RETIRE_AFTER_HOURS).",
        )
        self._env_platform(retire)
        retire.add_argument(
            "--force", action="store_true", help="Retire it before the grace period ends (needs --reason)."
        )
        retire.add_argument("--reason", default="", type=_reason, help="Why; recorded in the audit trail.")

        phase = sub.add_parser("phase", help="Move an environment's platform to a rollout phase.")
        self._env_platform(phase)
        phase.add_argument("phase", choices=RolloutPhase.values)
        phase.add_argument(
            "--force", action="store_true", help="Enforce even though adoption is below the threshold (needs --reason)."
        )
        phase.add_argument("--reason", default="", type=_reason, help="Why; recorded in the audit trail.")

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
        min_version.add_argument(
            "--force",
            action="store_true",
            help="Set it even though users of versions it covers were seen without the credential (needs --reason).",
        )
        min_version.add_argument("--reason", default="", type=_reason, help="Why; recorded in the audit trail.")

        production = sub.add_parser(
            "production", help="Turn an environment's production flag on or off (audited; guards who may change it)."
        )
        production.add_argument("environment", help="Environment slug, e.g. production.")
        production.add_argument("flag", choices=("on", "off"))
        production.add_argument("--reason", default="", type=_reason, help="Why; recorded in the audit trail.")

        app_id = sub.add_parser(
            "set-app-id", help="Set the Intercom app ID an environment's web messenger boots with ('' clears it)."
        )
        app_id.add_argument("environment", help="Environment slug, e.g. development or production.")
        app_id.add_argument("app_id", metavar="APP_ID", help="The workspace's app ID, as Intercom shows it.")
        app_id.add_argument("--reason", default="", type=_reason, help="Why; recorded in the audit trail.")

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

        # Workspace truth: Intercom's own state, read through its REST API.
        workspace = sub.add_parser(
            "workspace",
            help="Sync with the Intercom workspace and print the drift: exit 0 none, 1 drift, 2 Intercom unreadable.",
        )
        workspace.add_argument("environment", help="Environment slug, e.g. development or production.")
        workspace.add_argument("--json", action="store_true", dest="as_json", help="Print JSON.")
        set_token = sub.add_parser(
            "set-api-token",
            help="Store the environment's Intercom access token, read from standard input; prints its fingerprint.",
        )
        set_token.add_argument("environment", help="Environment slug, e.g. development or production.")
        clear_token = sub.add_parser("clear-api-token", help="Delete the environment's stored Intercom access token.")
        clear_token.add_argument("environment", help="Environment slug, e.g. development or production.")
        clear_token.add_argument("--reason", default="", type=_reason, help="Why; recorded in the audit trail.")

    @staticmethod
    def _env_platform(parser: CommandParser) -> None:
        parser.add_argument("environment", help="Environment slug, e.g. development or production.")
        parser.add_argument("platform", choices=Platform.values)

    def handle(self, *args: Any, subcommand: str, **options: Any) -> None:
        handler = getattr(self, "handle_" + subcommand.replace("-", "_"))
        # `verify` exits 1 for "not valid", `workspace` 1 for drift; anything that stops them answering exits 2.
        returncode = 2 if subcommand in ("verify", "workspace") else 1
        for name, value in options.items():
            # Argument bytes that are not UTF-8 arrive as lone surrogates (surrogateescape), which the
            # database and the hasher cannot encode; a NUL (call_command only) PostgreSQL refuses.
            if isinstance(value, str) and ("\x00" in value or not is_utf8_text(value)):
                raise CommandError(
                    f"{name.replace('_', '-')} is not text this command can use (a NUL, or bytes that are not UTF-8).",
                    returncode=2,
                )
        try:
            handler(**options)
        except (IntercomIdentityError, ValueError) as exc:  # ValueError: bad phase, invalid secret or version
            raise CommandError(for_terminal(str(exc)), returncode=returncode) from None

    def _say(self, line: str) -> None:
        """Print one line that may hold stored text (labels, slugs, reasons, names), neutralised.

        Every line of the command goes through here except ``--json`` output, which
        ``json.dumps`` already writes as ASCII with every control character escaped.
        """
        self.stdout.write(for_terminal(line))

    @sensitive_variables()
    def handle_set_secret(
        self, *, environment: str, platform: str, stdin: TextIO | None = None, **options: Any
    ) -> None:
        config = get_platform_config(platform, environment)
        secret = self._read_secret(stdin or sys.stdin)
        fingerprint = store_secret(config, secret)
        self._say(fingerprint)
        if config.phase == RolloutPhase.OFF:  # the next step, on stderr: stdout is the fingerprint alone
            self.stderr.write(
                for_terminal(
                    f"{config} is in phase 'off': nothing is handed out yet (user_hash is null). Next: "
                    f"manage.py intercom_identity phase {environment} {platform} sending"
                )
            )

    @staticmethod
    @sensitive_variables()
    def _read_secret(stream: TextIO, what: str = "secret") -> str:
        """The secret from a pipe (one trailing newline dropped) or, on a terminal, an unechoed prompt."""
        if stream.isatty():
            return getpass.getpass(f"{what[:1].upper()}{what[1:]} (not echoed): ")
        raw = stream.buffer.read() if hasattr(stream, "buffer") else stream.read().encode("utf-8", "surrogateescape")
        try:
            secret = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise CommandError(f"The {what} on standard input is not UTF-8 text.") from None
        for newline in ("\r\n", "\n"):
            if secret.endswith(newline):
                return secret[: -len(newline)]
        return secret

    def handle_create_secret(self, *, environment: str, platform: str, reason: str, **options: Any) -> None:
        config = get_platform_config(platform, environment)
        replaced = config.has_secret and not config.intercom_secret_id  # a secret copied by hand
        fingerprint = secrets.create_secret(config, reason=reason)
        self._say(fingerprint)
        config.refresh_from_db()
        self.stderr.write(
            for_terminal(f"{config}: secret {config.intercom_secret_id} made in Intercom and stored (not printed).")
        )
        if replaced:
            self.stderr.write(
                for_terminal(
                    "The secret stored before (copied by hand) stays accepted as the previous secret; delete it in "
                    f"Intercom's settings, then: manage.py intercom_identity retire-secret {environment} {platform}"
                )
            )
        if config.phase == RolloutPhase.OFF:
            self.stderr.write(for_terminal(f"Next: manage.py intercom_identity phase {environment} {platform} sending"))

    def handle_rotate_secret(self, *, environment: str, platform: str, reason: str, **options: Any) -> None:
        config = get_platform_config(platform, environment)
        fingerprint = secrets.rotate_secret(config, reason=reason)
        self._say(fingerprint)
        config.refresh_from_db()
        until = retire_deadline(config)
        self.stderr.write(
            for_terminal(
                f"{config}: now serving secret {config.intercom_secret_id}; the previous one "
                f"({config.previous_intercom_secret_id or 'set by hand'}) stays accepted. Retire it from "
                f"{until:%Y-%m-%d %H:%M} UTC: manage.py intercom_identity retire-secret {environment} {platform}"
            )
        )

    def handle_retire_secret(
        self, *, environment: str, platform: str, force: bool, reason: str, **options: Any
    ) -> None:
        config = get_platform_config(platform, environment)
        intercom_id, existed = secrets.retire_secret(config, force=force, reason=reason)
        if not intercom_id:
            self._say(f"{config}: previous secret forgotten (it was set by hand: delete it in Intercom's settings).")
        elif existed:
            self._say(f"{config}: previous secret {intercom_id} deleted in Intercom and forgotten.")
        else:
            self._say(f"{config}: previous secret {intercom_id} was already gone from Intercom; forgotten.")

    def handle_phase(
        self, *, environment: str, platform: str, phase: str, force: bool, reason: str, **options: Any
    ) -> None:
        config = get_platform_config(platform, environment)
        previous = change_phase(config, parse_phase(phase), reason=reason, force=force)
        if previous == phase:
            self._say(f"{config} is already in phase '{phase}'.")
        else:
            self._say(f"{config}: phase {previous.value} -> {phase}.")

    def handle_mode(self, *, environment: str, platform: str, mode: str, **options: Any) -> None:
        config = get_platform_config(platform, environment)
        previous = change_mode(config, mode)
        if previous == mode:
            self._say(f"{config} already hands out credential '{mode}'.")
        else:
            self._say(f"{config}: credential {previous.value} -> {mode}.")

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
            self._say(f"valid: verified by {result.identified_by}")
            return
        assert result.diagnosis is not None  # noqa: S101 - failures carry a diagnosis
        self._say(f"{result.diagnosis.reason}: {result.diagnosis.detail}")
        raise CommandError("The credential is not valid.", returncode=1)

    def handle_adoption(self, *, environment: str, platform: str, days: int, as_json: bool, **options: Any) -> None:
        numbers = adoption(get_platform_config(platform, environment), days=days)
        if as_json:
            self.stdout.write(json.dumps(numbers.as_dict(), indent=2))
            return
        if numbers.meets_threshold:
            verdict = " - ready to enforce"
        elif numbers.soak is not None and numbers.ratio is not None and numbers.ratio >= numbers.threshold:
            verdict = " - waiting for the web soak"
        else:
            verdict = " - below threshold"
        self._say(
            f"{environment} {platform}: {numbers.ratio_display} ({numbers.ready_users} of {numbers.active_users} "
            f"users active in the last {days} days); threshold {numbers.threshold_display}{verdict}"
        )
        if numbers.soak is not None:
            self._say(f"  {numbers.soak.describe()}")
        for share in numbers.versions:
            self._say(f"  {client_label(share.version):<20}{share.users:>10}  {evidence_text(share, numbers.rule)}")

    def handle_min_version(
        self, *, environment: str, platform: str, version: str, reason: str, force: bool, **options: Any
    ) -> None:
        config = get_platform_config(platform, environment)
        previous = set_min_sending_version(config, version, reason=reason, force=force)
        self._say(f"{config}: minimum sending version {previous or 'none'} -> {config.min_sending_version or 'none'}.")
        if version and not builds_in_use(config):
            self.stderr.write(
                for_terminal(
                    f"{config}: no single-page-app build has reported an X-App-Version: web pages rendered by the "
                    "tags have no version, so this minimum covers none of them."
                )
            )

    def handle_production(self, *, environment: str, flag: str, reason: str, **options: Any) -> None:
        env = get_environment(environment)
        previous = set_is_production(env, flag == "on", reason=reason)
        before, after = ("on" if previous else "off"), ("on" if env.is_production else "off")
        self._say(f"{env}: production flag {before} -> {after}.")

    def handle_set_app_id(self, *, environment: str, app_id: str, reason: str, **options: Any) -> None:
        env = get_environment(environment)
        previous = set_app_id(env, app_id, reason=reason)
        self._say(f"{env}: app ID {previous or 'none'} -> {env.app_id or 'none'}.")

    def handle_history(self, *, environment: str | None, platform: str | None, as_json: bool, **options: Any) -> None:
        events = audit_history(environment=environment, platform=platform)
        if as_json:
            self.stdout.write(json.dumps(events, indent=2))
            return
        for event in events:
            ratio = "-" if event["adoption_ratio"] is None else percent(event["adoption_ratio"])
            forced = " FORCED" if event["forced"] else ""
            reason = f" ({event['reason']})" if event["reason"] else ""
            where = event["environment"] + (f"/{event['platform']}" if event["platform"] else "")  # app ID, API token
            self._say(
                f"{event['at']}  {event['actor']}: {where} {event['kind']} "
                f"{event['from'] or '-'} -> {event['to'] or '-'}, adoption {ratio}{forced}{reason}"
            )

    def handle_clear_secret(self, *, environment: str, platform: str, reason: str, **options: Any) -> None:
        config = get_platform_config(platform, environment)
        previous = clear_secret(config, reason=reason)
        self._say(f"{config}: stored secret {previous or 'none'} cleared.")

    def handle_recount(self, **options: Any) -> None:
        written = recount()
        self._say(f"Recounted the adoption tallies: {written} tally row(s) written.")

    def handle_prune_activity(self, *, dry_run: bool, **options: Any) -> None:
        self._say(prune_activity(dry_run=dry_run).describe())

    def handle_rotate_keys(self, **options: Any) -> None:
        rotated = rotate_encryption()
        self._say(
            f"Rotated {rotated.configs} platform configuration(s) and {rotated.api_tokens} API token(s) "
            "to the first encryption key."
        )
        older, unreadable = rotated.verified
        if unreadable:
            self._say(f"Left as they were, under no configured key (not in use): {', '.join(unreadable)}.")
        if older:
            raise CommandError(
                f"Verification failed: {len(older)} stored value(s) are not encrypted with the first key "
                f"({for_terminal(', '.join(older))}): they were stored meanwhile under an older key (a process "
                "still running with the old key list?). Run rotate-keys again, once every process has the new "
                "key list, before removing any key."
            )
        self._say(
            "Verified: every stored secret and API token in use decrypts with the first key; the older keys "
            "can be removed from INTERCOM_IDENTITY_ENCRYPTION_KEYS."
            if not unreadable
            else "Verified: every other stored value decrypts with the first key."
        )

    @sensitive_variables()
    def handle_hash(
        self, *, environment: str, platform: str, user_id: str | None, email: str | None, **options: Any
    ) -> None:
        if not user_id and not email:
            raise CommandError("Give --user-id or --email (or both: the user id wins, as in Intercom).")
        secret = get_platform_config(platform, environment).secret()
        self._say(str(compute_user_hash(secret, user_id=user_id, email=email)))

    def handle_status(self, *, as_json: bool = False, **options: Any) -> None:
        matrix = status_matrix()
        standing = deadline_standing()
        if as_json:
            deadline = standing.as_dict() if standing is not None else None
            self.stdout.write(json.dumps({"environments": matrix, "deadline": deadline}, indent=2))
            return
        self._say(
            f"{'ENVIRONMENT':<16}{'SERVED':<14}{'PLATFORM':<10}{'PHASE':<10}{'CREDENTIAL':<12}{'SECRET':<10}SET AT"
        )
        records_only = False
        for env_slug, platforms in matrix.items():
            for platform, row in platforms.items():
                fingerprint, set_at = row["fingerprint"] or "-", row["secret_set_at"] or "-"
                if row["secret_set_at"]:
                    age = relative_time(datetime.fromisoformat(row["secret_set_at"])).replace("\xa0", " ")
                    set_at += f" ({age})"
                served = SERVED_LABELS[str(row["served"])]
                records_only = records_only or row["served"] == "records_only"
                self._say(
                    f"{env_slug:<16}{served:<14}{platform:<10}{row['phase']:<10}{row['credential']:<12}"
                    f"{fingerprint:<10}{set_at}"
                )
        if records_only:
            self._say(
                "records only: this deployment does not serve that environment "
                "(INTERCOM_IDENTITY_SERVED_ENVIRONMENTS); its rows take effect where a deployment serving it "
                "reads this database."
            )
        if standing is not None:
            self._say("")
            self._say(standing.summary)
            for platform_standing in standing.platforms:
                self._say(f"  {standing.line(platform_standing)}")
            if not standing.platforms:
                self._say("  Every platform of the served production environments is enforced.")

    # --- workspace truth ---------------------------------------------------------------

    def handle_workspace(self, *, environment: str, as_json: bool, **options: Any) -> None:
        result = workspace.sync(environment)
        if as_json:
            self.stdout.write(json.dumps(result, indent=2))
        else:
            for line in workspace_lines(result):
                self._say(line)  # Intercom's text (names, descriptions, emails) escaped like stored text
        if result["drift"]:
            raise CommandError(
                f"{len(result['drift'])} drift finding(s) for {for_terminal(environment)}.", returncode=1
            )

    @sensitive_variables()
    def handle_set_api_token(self, *, environment: str, stdin: TextIO | None = None, **options: Any) -> None:
        env = get_environment(environment)
        token = self._read_secret(stdin or sys.stdin, "API token")
        self._say(store_api_token(env, token))

    def handle_clear_api_token(self, *, environment: str, reason: str, **options: Any) -> None:
        env = get_environment(environment)
        previous = clear_api_token(env, reason=reason)
        self._say(f"{env}: stored API token {previous or 'none'} cleared.")


def workspace_lines(result: dict[str, Any]) -> list[str]:
    """The report of ``workspace.sync`` as text: state, findings, then events, newest first.

    The lines hold Intercom's text as it came: the command prints each through ``for_terminal``.
    """
    state = "ON" if result["identity_verification"] else "off"
    lines = [
        f"{result['environment']}: Intercom app {result['app_id'] or '-'}, identity verification "
        f"{state} (synced {result['fetched_at']})"
    ]
    lines += [
        f"DRIFT {finding['code']}{' (' + finding['platform'] + ')' if finding['platform'] else ''}: {finding['detail']}"
        for finding in result["drift"]
    ] or ["No drift."]
    lines += [
        f"  {event['created_at']}  {event['type']}  {event['performed_by'] or '-'}: {event['description']}"
        for event in result["events"]
    ]
    return lines
