"""The end of the service: announce it, read the dry run, carry it out, or cancel it.

    manage.py terminate_service announce --ends-on 2027-03-31 [--reason "..."]
    manage.py terminate_service report
    manage.py terminate_service execute --confirm
    manage.py terminate_service cancel

The rules live in announcements.termination; this only parses and prints.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from announcements import termination
from announcements.models import ServiceTermination


def _date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--ends-on: {value!r} is not a date (YYYY-MM-DD).") from None


class Command(BaseCommand):
    help = (
        "End the service: announce the date (users are told; collection stops on it), report "
        "what would be erased (dry run), execute the erasure after the date, or cancel."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        announce = commands.add_parser("announce", help="Record the end date and tell every user.")
        announce.add_argument("--ends-on", required=True, help="YYYY-MM-DD, after today.")
        announce.add_argument("--reason", default="", help="Told to users with the date.")
        commands.add_parser(
            "report", help="Dry run: what execution would delete, anonymize or keep."
        )
        execute = commands.add_parser(
            "execute", help="Delete or anonymize all personal data (from the end date)."
        )
        execute.add_argument(
            "--confirm", action="store_true", help="Required: the erasure cannot be undone."
        )
        commands.add_parser("cancel", help="Withdraw the announcement and tell users.")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "announce":
                self._announce(_date(options["ends_on"]), options["reason"])
            elif action == "report":
                self._print_report(termination.termination_report())
            elif action == "execute":
                self._execute(options["confirm"])
            else:
                cancelled = termination.termination_cancel()
                self.stdout.write(
                    self.style.SUCCESS(
                        f"The end of the service on {cancelled.ends_on.isoformat()} is "
                        "cancelled; users who were told are told it continues."
                    )
                )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None

    def _announce(self, ends_on: datetime.date, reason: str) -> None:
        announced = termination.termination_announce(ends_on=ends_on, reason=reason)
        self.stdout.write(
            self.style.SUCCESS(
                f"The end of the service is announced for {announced.ends_on.isoformat()}. "
                f"Every user is being told (broadcast #{announced.broadcast_id}); collection "
                "stops on that day. Run `terminate_service report` before executing."
            )
        )

    def _table(self, rows: list[tuple[str, str, str, str]]) -> None:
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        for number, row in enumerate(rows):
            cells = [row[i].ljust(widths[i]) for i in range(3)] + [row[3].rjust(widths[3])]
            self.stdout.write("  ".join(cells).rstrip())
            if number == 0:
                self.stdout.write("  ".join("-" * w for w in widths))

    def _print_report(self, reported: ServiceTermination) -> None:
        report = reported.last_report
        at = timezone.localtime(reported.last_report_at).strftime("%Y-%m-%d %H:%M %Z")
        self.stdout.write(
            f"End of the service: {reported.ends_on.isoformat()}. Dry run of {at}: what "
            "`terminate_service execute --confirm` would do now.\n"
        )
        rows = [("Model", "Category", "Strategy", "Rows")]
        rows += [
            (line["model"], line["category"], line["strategy"], f"{line['rows']:,}")
            for line in report["entries"]
        ]
        self._table(rows)
        totals: dict[str, int] = {}
        for line in report["entries"]:
            totals[line["strategy"]] = totals.get(line["strategy"], 0) + line["rows"]
        self.stdout.write(
            "\nRows to delete: {:,}; to anonymize: {:,}; kept (retained by law): {:,}.".format(
                totals.get("delete", 0), totals.get("anonymize", 0), totals.get("retain", 0)
            )
        )
        self._print_held(report["held_users"], report["held_requests"])
        self.stdout.write(self.style.SUCCESS("Nothing was changed."))

    def _print_held(self, users: list[int], requests: list[int]) -> None:
        if users:
            listed = ", ".join(f"#{pk}" for pk in users)
            self.stdout.write(
                f"Users under an active legal hold, skipped entirely: {len(users)} ({listed})."
            )
        else:
            self.stdout.write("Users under an active legal hold: none.")
        if requests:
            listed = ", ".join(f"#{pk}" for pk in requests)
            self.stdout.write(
                f"Requests under an active legal hold, kept with their history: {len(requests)} "
                f"({listed})."
            )

    def _execute(self, confirm: bool) -> None:
        done = termination.termination_execute(confirm=confirm)
        executed_at = timezone.localtime(done.termination.executed_at)
        if done.already_done:
            self.stdout.write(
                f"Already executed on {executed_at:%Y-%m-%d %H:%M %Z}: nothing more to do."
            )
            return
        strategies = {line["model"]: line for line in done.termination.last_report["entries"]}
        rows = [("Model", "Category", "Strategy", "Rows")]
        for label, count in done.rows.items():
            line = strategies.get(label, {"category": "", "strategy": ""})
            rows.append((label, line["category"], line["strategy"], f"{count:,}"))
        self._table(rows)
        self._print_held(done.held.users, done.held.requests)
        self.stdout.write(
            self.style.SUCCESS(
                f"Executed on {executed_at:%Y-%m-%d %H:%M %Z}; the summary is in the audit log."
            )
        )
