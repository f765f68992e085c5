"""Security incidents: declare one, tell the affected users, keep a timeline of updates.

The policy ("Information Security") promises that users are told the basic situation of an
incident, the handling and remedial measures taken or to be taken, and what they can do: the
notice's text is composed from those fields (`incident_notice_body`). Sending is a broadcast
(source "incident:<pk>"), so a user is told once per incident however often it is retried; an
update goes to the very people the incident's notice reached (audience {"kind": "broadcast"}).

Every declaration, change and sending leaves an audit entry (ids and counts only).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import User
from core.audit import audit_staff_action
from core.models import MAX_ID
from core.registry import registry
from notices import services
from notices.audience import MAX_LISTED_USERS, audience_users, reachable_users, validate_audience
from notices.models import Broadcast, Category

from .models import Incident, IncidentUpdate

# An uploaded list of user ids: a text or CSV file of ids, nothing else.
MAX_ID_FILE_BYTES = 20 * 2**20
ID_HEADERS = frozenset({"id", "ids", "user", "userid", "user_id", "user id"})
ID_LOOKUP_CHUNK = 5000
NOT_TEXT = "The file is not a text file: upload a .txt or .csv file with one user id per line."
# Fields of an incident that make up its notice: fixed once the notice is sent.
NOTICE_FIELDS = frozenset(
    {
        "title",
        "what_happened",
        "occurred_at",
        "found_at",
        "data_categories",
        "measures_taken",
        "measures_planned",
        "advice",
        "audience",
    }
)
TITLE_PREFIX = "Security incident: "
UPDATE_PREFIX = "Update on a security incident: "


# --- An uploaded list of user ids ----------------------------------------------------------------


def parse_user_ids(data: bytes) -> list[int]:
    """The user ids in an uploaded file: one per line or comma-separated (CSV), with an optional
    header row ("id", "user_id"). Raises ValidationError naming the first bad line and column;
    the bad value itself is never repeated (it may be an address or a name)."""
    if len(data) > MAX_ID_FILE_BYTES:
        raise ValidationError(
            f"The file is larger than {MAX_ID_FILE_BYTES // 2**20} MB: split the list."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(NOT_TEXT) from None
    if "\x00" in text:
        raise ValidationError(NOT_TEXT)
    ids: set[int] = set()
    reader = csv.reader(io.StringIO(text))
    try:
        for row in reader:
            cells = [cell.strip() for cell in row]
            values = [cell for cell in cells if cell]
            if reader.line_num == 1 and values and all(v.lower() in ID_HEADERS for v in values):
                continue
            for column, cell in enumerate(cells, start=1):
                if not cell:
                    continue
                if not (cell.isascii() and cell.isdigit()) or not 0 < int(cell) <= MAX_ID:
                    raise ValidationError(
                        f"Line {reader.line_num}, value {column}, is not a user id. The file "
                        "must hold account ids (whole numbers) only, one per line or separated "
                        "by commas: no e-mail addresses or names."
                    )
                ids.add(int(cell))
    except csv.Error:
        raise ValidationError(
            "The file could not be read as a list: use one user id per line."
        ) from None
    if not ids:
        raise ValidationError("The file holds no user id.")
    if len(ids) > MAX_LISTED_USERS:
        raise ValidationError(f"The file lists more than {MAX_LISTED_USERS:,} users.")
    return sorted(ids)


@dataclass(frozen=True)
class ListedUsers:
    """An uploaded list checked against the accounts: ids kept, and what was left out."""

    ids: list[int]  # ids of existing accounts
    unknown: int  # ids that match no account (left out)
    unreachable: int  # existing accounts that cannot be told (closed or erased)

    def summary(self) -> str:
        parts = [f"{len(self.ids):,} account{'s' if len(self.ids) != 1 else ''} listed"]
        if self.unknown:
            parts.append(
                f"{self.unknown:,} id{'s' if self.unknown != 1 else ''} matching no account "
                "left out"
            )
        if self.unreachable:
            parts.append(
                f"{self.unreachable:,} closed or erased account"
                f"{'s' if self.unreachable != 1 else ''} cannot be told"
            )
        return "; ".join(parts) + "."


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), ID_LOOKUP_CHUNK):
        yield ids[start : start + ID_LOOKUP_CHUNK]


def check_listed_users(ids: Sequence[int]) -> ListedUsers:
    """Which listed ids are accounts; ValidationError when none is."""
    existing: list[int] = []
    reachable = 0
    for chunk in _chunks(ids):
        existing += User.objects.filter(pk__in=chunk).values_list("pk", flat=True)
        reachable += reachable_users().filter(pk__in=chunk).count()
    if not existing:
        raise ValidationError(
            f"None of the {len(ids):,} ids in the file matches an account: check the file."
        )
    return ListedUsers(
        ids=sorted(existing),
        unknown=len(ids) - len(existing),
        unreachable=len(existing) - reachable,
    )


# --- The notice's text ---------------------------------------------------------------------------


def _moment(value: object) -> str:
    if value is None:
        return "not known yet"
    return date_format(timezone.localtime(value), "j F Y, H:i T")  # type: ignore[arg-type]


def category_labels(keys: Iterable[str]) -> list[str]:
    labels = dict(registry.categories())
    return [labels.get(key, key) for key in keys]


def incident_notice_title(incident: Incident) -> str:
    return (TITLE_PREFIX + incident.title)[: services.TITLE_MAX_LENGTH]


def incident_notice_body(incident: Incident) -> str:
    """What the policy promises to tell: the basic situation, the handling and remedial
    measures taken and to be taken, and what users can do. Staff's own words, in sections."""
    affected = category_labels(incident.data_categories or [])
    sections = [
        "What happened\n"
        f"{incident.what_happened.strip()}\n\n"
        f"When it happened: {_moment(incident.occurred_at)}. "
        f"When we found it: {_moment(incident.found_at)}.\n"
        "Information concerned: "
        + (", ".join(affected) if affected else "still being determined")
        + ".",
        f"What we have done\n{incident.measures_taken.strip()}",
    ]
    if incident.measures_planned.strip():
        sections.append(f"What we will do\n{incident.measures_planned.strip()}")
    sections.append(f"What you can do\n{incident.advice.strip()}")
    sections.append(
        f"Questions: write to {settings.COMPANY_CONTACT_EMAIL}. We will keep you informed here "
        "of what we learn."
    )
    return "\n\n".join(sections)


def update_notice_body(update: IncidentUpdate) -> str:
    incident = update.incident
    return (
        f"{update.body.strip()}\n\n"
        f"This follows our notice of {_moment(incident.declared_at)} about the security "
        f"incident “{incident.title}”. Questions: write to {settings.COMPANY_CONTACT_EMAIL}."
    )


# --- Declaring and changing ----------------------------------------------------------------------


def check_declaration(incident: Incident) -> None:
    """ValidationError by field for what cannot be declared (normalizes the audience)."""
    known = dict(registry.categories())
    unknown = [c for c in incident.data_categories or [] if c not in known]
    if unknown or not isinstance(incident.data_categories, list):
        raise ValidationError({"data_categories": "Choose the affected categories from the list."})
    if incident.occurred_at and incident.found_at and incident.occurred_at > incident.found_at:
        raise ValidationError({"found_at": "It cannot have been found before it happened."})
    if incident.found_at and incident.found_at > timezone.now():
        raise ValidationError({"found_at": "This time is in the future: when was it found?"})
    try:
        incident.audience = validate_audience(incident.audience)
    except ValidationError as error:
        raise ValidationError({"audience": error.messages}) from None


@transaction.atomic
def incident_save(
    *, incident: Incident, actor: User | None, changed: Iterable[str] = ()
) -> Incident:
    """Declare an incident (a new row) or change it. Once its notice is sent, only its status
    may change: what users were told stays as it was (add an update instead)."""
    created = incident.pk is None
    changed = set(changed)
    if not created:
        stored = Incident.objects.select_for_update().get(pk=incident.pk)
        if stored.broadcast_id is not None and changed & NOTICE_FIELDS:
            raise ValidationError(
                "The notice was sent: what users were told cannot change. Add an update instead."
            )
    check_declaration(incident)
    if created:
        incident.declared_by = actor
        incident.declared_at = timezone.now()
    incident.save()
    audit_staff_action(
        action="notices.incident_declared" if created else "notices.incident_changed",
        actor=actor,
        target=incident,
        data={
            "fields": sorted(changed),
            "audience": incident.audience["kind"],
            "categories": list(incident.data_categories or []),
        },
    )
    return incident


def audience_size(incident: Incident) -> int:
    return audience_users(incident.audience).count()


@transaction.atomic
def incident_send(*, incident: Incident, actor: User | None) -> Broadcast:
    """Send the incident's notice to its audience (a broadcast, in the background).

    Once per incident: a second call returns the first broadcast. Refused when nobody in the
    audience can be told.
    """
    locked = Incident.objects.select_for_update().get(pk=incident.pk)
    if locked.broadcast_id is not None:
        return locked.broadcast  # type: ignore[return-value]
    check_declaration(locked)
    size = audience_size(locked)
    if not size:
        raise ValidationError(
            "Nobody in this audience can be told (no active account matches): check who is "
            "affected."
        )
    broadcast = services.broadcast_create(
        source=f"incident:{locked.pk}",
        kind=Broadcast.Kind.INCIDENT,
        category=Category.SECURITY_INCIDENTS,
        title=incident_notice_title(locked),
        body=incident_notice_body(locked),
        audience=locked.audience,
        created_by=actor,
    )
    locked.broadcast = broadcast
    locked.save(update_fields=["broadcast"])
    incident.broadcast = broadcast
    audit_staff_action(
        action="notices.incident_sent",
        actor=actor,
        target=locked,
        data={
            "broadcast": broadcast.pk,
            "audience": locked.audience["kind"],
            "audience_size": size,
        },
    )
    return broadcast


# --- The timeline --------------------------------------------------------------------------------


@transaction.atomic
def incident_update_save(*, update: IncidentUpdate, actor: User | None) -> IncidentUpdate:
    """Add an entry to an incident's timeline, or correct one not sent yet."""
    if not update.body.strip():
        raise ValidationError({"body": "Write what is new."})
    if update.pk is not None:
        stored = IncidentUpdate.objects.select_for_update().get(pk=update.pk)
        if stored.broadcast_id is not None and stored.body != update.body:
            raise ValidationError(
                {"body": "This update was sent: it cannot change. Add a new update instead."}
            )
        action = "notices.incident_update_changed"
    else:
        update.created_by = actor
        update.created_at = timezone.now()
        action = "notices.incident_update_added"
    update.save()
    audit_staff_action(
        action=action, actor=actor, target=update, data={"incident": update.incident_id}
    )
    return update


def update_send_problem(update: IncidentUpdate) -> str:
    """Why an update cannot be sent now, or ""."""
    incident = update.incident
    if update.broadcast_id is not None:
        return "This update was already sent."
    first = incident.broadcast
    if first is None:
        return "Send the incident's notice first: an update goes to the people it reached."
    if first.state != Broadcast.State.DONE:
        return (
            "The incident's notice is still being sent: send the update once it has reached "
            "everyone, so that nobody gets the update without the notice."
        )
    return ""


@transaction.atomic
def incident_update_send(*, update: IncidentUpdate, actor: User | None) -> Broadcast:
    """Send an update to everyone the incident's notice reached. Once per update; refused when
    none of them can be told any more.

    The incident's notice's messages are that list: the inbox retention keeps them while the
    incident is open."""
    locked = (
        IncidentUpdate.objects.select_for_update(of=("self",))
        .select_related("incident__broadcast", "broadcast")
        .get(pk=update.pk)
    )
    if locked.broadcast is not None:
        return locked.broadcast
    problem = update_send_problem(locked)
    if problem:
        raise ValidationError(problem)
    incident = locked.incident
    audience = {"kind": "broadcast", "id": incident.broadcast_id}
    if not audience_users(audience).exists():
        raise ValidationError(
            "Nobody the incident's notice reached can be told any more: their accounts were "
            "closed or erased, or their messages were removed after the incident was closed. "
            "The update was not sent."
        )
    broadcast = services.broadcast_create(
        source=f"incident-update:{locked.pk}",
        kind=Broadcast.Kind.INCIDENT_UPDATE,
        category=Category.SECURITY_INCIDENTS,
        title=(UPDATE_PREFIX + incident.title)[: services.TITLE_MAX_LENGTH],
        body=update_notice_body(locked),
        audience=audience,
        created_by=actor,
    )
    locked.broadcast = broadcast
    locked.save(update_fields=["broadcast"])
    update.broadcast = broadcast
    audit_staff_action(
        action="notices.incident_update_sent",
        actor=actor,
        target=locked,
        data={"incident": incident.pk, "broadcast": broadcast.pk},
    )
    return broadcast
