"""Retention: how long each category of personal data is kept, and the sweep that ends it.

The policy's "Storage of Information": information is kept for the period its purpose needs,
then deleted or anonymized, unless the law requires otherwise (a legal hold).

A rule (`RetentionRule`) is one category: its period, what it removes and the tables it clears
(`Target`s). A target says which rows have expired, how they go (deleted, or anonymized field
by field) and which rows a legal hold protects: a hold on a user protects that user's rows, a
hold on a request protects that request's evidence. The period is settings.DSAR_RETENTION_DAYS
unless staff have overridden it for the category in admin (RetentionOverride, with a reason).

The sweep walks every rule in bounded batches: it finds the primary key that closes a batch of
eligible rows, then deletes or updates that key range in a short transaction whose statement
checks expiry and holds again, so a hold placed mid-sweep still protects and no statement holds
long locks (bench/retention_sweep.py measures it). It is safe to run twice, even at once, and
again after a crash: what is gone stays gone and anonymized rows no longer match. Every sweep
writes one `retention.swept` audit entry with its counts.

Other apps add their categories with `register_rule(...)`, from their `personal_data.py`.
Nothing here logs or records a personal value: only category keys, ids and counts.
"""

from __future__ import annotations

import datetime
import enum
import logging
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core import checks
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from core import walker
from core.audit import audit_append
from core.models import Actor
from core.uploads import delete_stored
from requests_dsar.models import DataSubjectRequest, LegalHold, RetentionOverride, Status

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 5000
MAX_DAYS = 36500  # a hundred years: beyond that a period is a mistake (and overflows dates)
SWEPT = "retention.swept"
CLOSED_STATUSES = (Status.COMPLETED, Status.DENIED, Status.CANCELLED)


class Action(enum.StrEnum):
    DELETE = "delete"
    ANONYMIZE = "anonymize"


# --- The rule table ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One table a rule clears."""

    model_label: str  # "app_label.ModelName"
    action: Action
    # The rows older than the cutoff that still hold what the rule removes (anonymized rows must
    # not match again). Holds are applied on top by the sweep.
    expired: Callable[[datetime.datetime], models.QuerySet[Any]]
    # Lookup paths from a row to the users and requests whose legal hold protects it.
    held_by_user: tuple[str, ...] = ()
    held_by_request: tuple[str, ...] = ()
    # ANONYMIZE: field -> value written.
    anonymize: Mapping[str, Any] = field(default_factory=dict)
    # Effects outside the table (files in storage, sessions), run on a batch before its
    # transaction: storage I/O never holds row locks. It is given exactly the rows found
    # eligible (expiry and holds checked) just before it runs, and only those rows are then
    # removed: a row a hold protects keeps its files, and no row goes without its files.
    before_remove: Callable[[models.QuerySet[Any]], None] | None = None
    # A removal other than a plain delete or update of the batch; returns the rows removed.
    remove: Callable[[models.QuerySet[Any]], int] | None = None
    batch_size: int = DEFAULT_BATCH_SIZE

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model(self.model_label)


@dataclass(frozen=True)
class RetentionRule:
    """One category of retention: its period, what it removes and from where."""

    key: str  # the category, as settings.DSAR_RETENTION_DAYS and RetentionOverride name it
    label: str
    removes: str  # what the sweep removes, in plain words
    default_days: int  # when settings.DSAR_RETENTION_DAYS does not name the category
    targets: tuple[Target, ...]
    keeps: str = ""  # what stays, in plain words
    order: int = 100

    @property
    def how(self) -> str:
        actions = [a.value for a in Action if any(t.action is a for t in self.targets)]
        return " and ".join(actions)


_rules: dict[str, RetentionRule] = {}
_CATEGORY_MAX_LENGTH = RetentionOverride._meta.get_field("category").max_length or 40


def register_rule(
    key: str,
    *,
    label: str,
    removes: str,
    default_days: int,
    targets: Iterable[Target],
    keeps: str = "",
    order: int = 100,
) -> RetentionRule:
    """Add a category to the retention table (from an app's `personal_data.py`)."""
    rule = RetentionRule(
        key=key,
        label=label,
        removes=removes,
        default_days=default_days,
        targets=tuple(targets),
        keeps=keeps,
        order=order,
    )
    problems = []
    if key in _rules:
        problems.append("is registered twice")
    if not key or len(key) > _CATEGORY_MAX_LENGTH:
        problems.append(f"needs a key of 1 to {_CATEGORY_MAX_LENGTH} characters")
    if not 1 <= default_days <= MAX_DAYS:
        problems.append(f"needs a default of 1 to {MAX_DAYS} days")
    if not rule.targets:
        problems.append("names no table")
    if any(t.action is Action.ANONYMIZE and not t.anonymize and not t.remove for t in rule.targets):
        problems.append("anonymizes without naming fields")
    if problems:
        raise ValueError(f"retention rule {key!r} " + "; ".join(problems))
    _rules[key] = rule
    return rule


def rules() -> list[RetentionRule]:
    return sorted(_rules.values(), key=lambda r: (r.order, r.key))


def get_rule(key: str) -> RetentionRule | None:
    return _rules.get(key)


def rule_choices() -> list[tuple[str, str]]:
    return [(rule.key, rule.label) for rule in rules()]


# --- Periods -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    days: int
    configured_days: int  # what the settings say (the rule's default if they are silent)
    override: RetentionOverride | None = None

    @property
    def overridden(self) -> bool:
        return self.override is not None


def _overrides() -> dict[str, RetentionOverride]:
    return {o.category: o for o in RetentionOverride.objects.select_related("set_by")}


def period_for(
    rule: RetentionRule, overrides: Mapping[str, RetentionOverride] | None = None
) -> Period:
    """The period in force: the admin override if there is one, else the settings."""
    configured = int(settings.DSAR_RETENTION_DAYS.get(rule.key, rule.default_days))
    override = (_overrides() if overrides is None else overrides).get(rule.key)
    return Period(
        days=override.days if override is not None else configured,
        configured_days=configured,
        override=override,
    )


# --- Which rows: expired, held, eligible ---------------------------------------------------------


def _held(target: Target, now: datetime.datetime) -> Q | None:
    holds = LegalHold.objects.active(now)
    condition = Q()
    for path in target.held_by_user:
        condition |= Q(**{f"{path}__in": holds.filter(user__isnull=False).values("user_id")})
    for path in target.held_by_request:
        condition |= Q(**{f"{path}__in": holds.filter(request__isnull=False).values("request_id")})
    return condition or None


def held_rows(
    target: Target, cutoff: datetime.datetime, now: datetime.datetime
) -> models.QuerySet[Any]:
    """Expired rows an active legal hold keeps."""
    held = _held(target, now)
    rows = target.expired(cutoff)
    return rows.filter(held) if held is not None else rows.none()


def eligible_rows(
    target: Target, cutoff: datetime.datetime, now: datetime.datetime
) -> models.QuerySet[Any]:
    """Expired rows no active legal hold keeps: what the sweep removes."""
    held = _held(target, now)
    rows = target.expired(cutoff)
    return rows.exclude(held) if held is not None else rows


# --- The report ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportLine:
    rule: RetentionRule
    period: Period
    cutoff: datetime.datetime
    due: int  # rows the next sweep would remove
    held: int  # expired rows a legal hold keeps


def retention_report(*, now: datetime.datetime | None = None) -> list[ReportLine]:
    """Per category: the period in force, the cutoff, what the next sweep would remove and
    what legal holds keep. Reads only."""
    now = now or timezone.now()
    overrides = _overrides()
    lines = []
    for rule in rules():
        period = period_for(rule, overrides)
        cutoff = now - datetime.timedelta(days=period.days)
        lines.append(
            ReportLine(
                rule=rule,
                period=period,
                cutoff=cutoff,
                due=sum(eligible_rows(t, cutoff, now).count() for t in rule.targets),
                held=sum(held_rows(t, cutoff, now).count() for t in rule.targets),
            )
        )
    return lines


# --- The sweep -----------------------------------------------------------------------------------


@dataclass
class CategoryResult:
    days: int
    cutoff: datetime.datetime
    removed: int = 0
    held: int = 0


@dataclass
class SweepResult:
    categories: dict[str, CategoryResult] = field(default_factory=dict)
    # False when the time budget ran out first: the next sweep carries on where this one stopped.
    complete: bool = True

    @property
    def removed(self) -> dict[str, int]:
        return {key: line.removed for key, line in self.categories.items()}

    @property
    def held(self) -> dict[str, int]:
        return {key: line.held for key, line in self.categories.items()}


def _remove_batch(target: Target, batch: models.QuerySet[Any]) -> int:
    if target.remove is not None:
        return target.remove(batch)
    if target.action is Action.ANONYMIZE:
        return batch.update(**target.anonymize)
    _total, per_model = batch.delete()
    return per_model.get(target.model._meta.label, 0)


def _sweep_target(
    target: Target,
    *,
    cutoff: datetime.datetime,
    now: datetime.datetime,
    batch_size: int,
    deadline: float | None,
) -> tuple[int, bool]:
    """Remove the target's eligible rows batch by batch. Returns (rows removed, finished).

    A batch is a range of primary keys holding `batch_size` eligible rows: one small read finds
    where it ends, one statement removes it. Walking the keys upwards reads each row once, and a
    row a custom removal leaves behind is not read again.
    """
    removed = 0
    last_pk: Any = None
    while True:
        if deadline is not None and time.monotonic() >= deadline:
            return removed, False
        rest = eligible_rows(target, cutoff, now)
        if last_pk is not None:
            rest = rest.filter(pk__gt=last_pk)
        ordered = rest.order_by("pk").values_list("pk", flat=True)
        upper = ordered[batch_size - 1 : batch_size].first()
        last_batch = upper is None
        if last_batch:
            upper = ordered.last()  # fewer than a batch left
            if upper is None:
                return removed, True
        batch = rest.filter(pk__lte=upper)
        if target.before_remove is not None:
            # Holds are checked again now, just before any file goes; then exactly these rows
            # lose their files, and only these can be removed (a hold released meanwhile must
            # not let a row go whose files were kept).
            chosen = list(batch.values_list("pk", flat=True))
            if chosen:
                target.before_remove(target.model._default_manager.filter(pk__in=chosen))
            batch = eligible_rows(target, cutoff, now).filter(pk__in=chosen)
        with transaction.atomic():
            # Expiry and holds are checked again by the statement that removes the rows.
            removed += _remove_batch(target, batch)
        if last_batch:
            return removed, True
        last_pk = upper


def retention_sweep(
    *,
    now: datetime.datetime | None = None,
    categories: Collection[str] | None = None,
    batch_size: int | None = None,
    time_budget: float | None = None,
    actor: Any = None,
) -> SweepResult:
    """Delete or anonymize what has outlived its retention period, skipping legal holds.

    `categories` limits the sweep to some rules; `batch_size` overrides each table's batch;
    `time_budget` (seconds) stops it from starting a new batch after that long (the result and
    the audit entry then say it is incomplete). `actor` is the staff member who ran it by hand.
    """
    now = now or timezone.now()
    deadline = time.monotonic() + time_budget if time_budget else None
    overrides = _overrides()
    result = SweepResult()
    for rule in rules():
        if categories is not None and rule.key not in categories:
            continue
        period = period_for(rule, overrides)
        cutoff = now - datetime.timedelta(days=period.days)
        line = result.categories[rule.key] = CategoryResult(days=period.days, cutoff=cutoff)
        for target in rule.targets:
            line.held += held_rows(target, cutoff, now).count()
            removed, finished = _sweep_target(
                target,
                cutoff=cutoff,
                now=now,
                batch_size=batch_size or target.batch_size,
                deadline=deadline,
            )
            line.removed += removed
            if not finished:
                result.complete = False
                break
        if not result.complete:
            break
    audit_append(
        action=SWEPT,
        actor_user_id=actor.pk if actor is not None else None,
        actor_role=Actor.STAFF if actor is not None else Actor.SYSTEM,
        target_type="retention",
        data={
            "removed": result.removed,
            "held": result.held,
            "days": {key: line.days for key, line in result.categories.items()},
            "complete": result.complete,
        },
    )
    logger.info(
        "retention sweep: %d rows removed, %d held back%s",
        sum(result.removed.values()),
        sum(result.held.values()),
        "" if result.complete else " (time budget reached; the next sweep continues)",
    )
    return result


# --- Legal holds and overrides (staff writes, audited) --------------------------------------------

HOLD_REASON_MISSING = "Say why the data must be kept (the claim, order or investigation)."
OVERRIDE_REASON_MISSING = "Say why this category is kept for a different period."
DAYS_OUT_OF_RANGE = f"The period is a whole number of days from 1 to {MAX_DAYS}."


def validate_hold(
    *,
    user: Any,
    request: DataSubjectRequest | None,
    reason: str,
    expires_at: datetime.datetime | None,
) -> None:
    errors: dict[str, str] = {}
    if (user is None) == (request is None):
        errors["user"] = "Choose either a user or a request for the hold, not both and not neither."
    if not reason.strip():
        errors["reason"] = HOLD_REASON_MISSING
    if expires_at is not None and expires_at <= timezone.now():
        errors["expires_at"] = "The expiry must be in the future (leave it empty: until released)."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def legal_hold_set(
    *,
    actor: Any,
    reason: str,
    user: Any = None,
    request: DataSubjectRequest | None = None,
    expires_at: datetime.datetime | None = None,
) -> LegalHold:
    """Place a legal hold on a user's data or on one request's evidence."""
    validate_hold(user=user, request=request, reason=reason, expires_at=expires_at)
    hold = LegalHold.objects.create(
        user=user, request=request, reason=reason.strip(), expires_at=expires_at, set_by=actor
    )
    audit_append(
        action="retention.hold_set",
        actor_user_id=actor.pk,
        actor_role=Actor.STAFF,
        target_type="legal_hold",
        target_id=hold.pk,
        data={"user_id": hold.user_id, "request_id": hold.request_id, "expires_at": expires_at},
    )
    return hold


@transaction.atomic
def legal_hold_release(*, hold: LegalHold, actor: Any) -> bool:
    """Release a hold now. False if it was already released (by someone else, meanwhile)."""
    now = timezone.now()
    released = LegalHold.objects.filter(pk=hold.pk, released_at__isnull=True).update(
        released_at=now, released_by=actor
    )
    if not released:
        return False
    hold.released_at, hold.released_by = now, actor
    audit_append(
        action="retention.hold_released",
        actor_user_id=actor.pk,
        actor_role=Actor.STAFF,
        target_type="legal_hold",
        target_id=hold.pk,
        data={"user_id": hold.user_id, "request_id": hold.request_id},
    )
    return True


def validate_override(*, category: str, days: int | None, reason: str) -> None:
    errors: dict[str, str] = {}
    if get_rule(category) is None:
        known = ", ".join(r.key for r in rules())
        errors["category"] = f"Unknown retention category. Known categories: {known}."
    if days is None or not 1 <= days <= MAX_DAYS:
        errors["days"] = DAYS_OUT_OF_RANGE
    if not reason.strip():
        errors["reason"] = OVERRIDE_REASON_MISSING
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def retention_override_set(
    *, category: str, days: int, reason: str, actor: Any
) -> RetentionOverride:
    """Set (or change) the retention period of one category, replacing the settings'."""
    validate_override(category=category, days=days, reason=reason)
    previous = RetentionOverride.objects.select_for_update().filter(category=category).first()
    override, _created = RetentionOverride.objects.update_or_create(
        category=category, defaults={"days": days, "reason": reason.strip(), "set_by": actor}
    )
    audit_append(
        action="retention.override_set",
        actor_user_id=actor.pk,
        actor_role=Actor.STAFF,
        target_type="retention_override",
        target_id=category,
        data={"days": days, "previous_days": previous.days if previous else None},
    )
    return override


@transaction.atomic
def retention_override_clear(*, category: str, actor: Any) -> bool:
    """Go back to the settings' period for a category. False if it had no override."""
    deleted, _ = RetentionOverride.objects.filter(category=category).delete()
    if deleted:
        audit_append(
            action="retention.override_cleared",
            actor_user_id=actor.pk,
            actor_role=Actor.STAFF,
            target_type="retention_override",
            target_id=category,
        )
    return bool(deleted)


# --- The portal's own rules --------------------------------------------------------------------


def _user_model() -> Any:
    return apps.get_model("accounts.User")


def _access_log(cutoff: datetime.datetime) -> models.QuerySet[Any]:
    return apps.get_model("accounts.AccessLogEntry").objects.filter(created_at__lt=cutoff)


def _login_history(cutoff: datetime.datetime) -> models.QuerySet[Any]:
    return apps.get_model("accounts.LoginEvent").objects.filter(created_at__lt=cutoff)


def _finished_archives(cutoff: datetime.datetime) -> models.QuerySet[Any]:
    return apps.get_model("requests_dsar.ExportArchive").objects.filter(expires_at__lt=cutoff)


def _delete_archive_files(archives: models.QuerySet[Any]) -> None:
    # Normally done at expiry by the request sweep; a backlog there must not leave files behind.
    from .export import archive_delete_file

    for archive in archives.filter(deleted_at__isnull=True):
        archive_delete_file(archive, reason="retention")


def _of_requests_closed_before(model: str, cutoff: datetime.datetime) -> models.QuerySet[Any]:
    # A closed status is final, so the time of the last change is the time of closing.
    return apps.get_model(model).objects.filter(
        request__status__in=CLOSED_STATUSES, request__status_changed_at__lt=cutoff
    )


def _verification_codes(cutoff: datetime.datetime) -> models.QuerySet[Any]:
    return _of_requests_closed_before("requests_dsar.VerificationCode", cutoff)


def _message_texts(cutoff: datetime.datetime) -> models.QuerySet[Any]:
    return _of_requests_closed_before("requests_dsar.RequestMessage", cutoff).exclude(body="")


# Scope keys holding the requester's values: a correction's requested new values and free-text
# proposals. The rest of the scope (categories, the fields staff reviewed, who approved) names
# no value and stays with the request row.
_SCOPE_KEYS_WITH_VALUES = ("changes",)


def _request_texts(cutoff: datetime.datetime) -> models.QuerySet[Any]:
    """Closed requests still holding the requester's free text, the changes they asked for or
    a signed-out requester's address (the request row itself stays: it is the record that
    the request was handled)."""
    holds_values = Q()
    for key in _SCOPE_KEYS_WITH_VALUES:
        holds_values |= Q(scope__has_key=key)
    return DataSubjectRequest.objects.filter(
        status__in=CLOSED_STATUSES, status_changed_at__lt=cutoff
    ).filter(~Q(details="") | ~Q(contact_email="") | holds_values)


def _clear_request_texts(batch: models.QuerySet[Any]) -> int:
    # Only the keys with values leave the scope (a JSON key cannot be dropped by one portable
    # UPDATE); the rows are locked first, as the statement that clears the text would.
    rows = list(batch.select_for_update().values_list("pk", "scope"))
    for pk, scope in rows:
        if isinstance(scope, dict) and any(key in scope for key in _SCOPE_KEYS_WITH_VALUES):
            kept = {k: v for k, v in scope.items() if k not in _SCOPE_KEYS_WITH_VALUES}
            DataSubjectRequest.objects.filter(pk=pk).update(scope=kept)
    batch.update(details="", contact_email="")
    return len(rows)


def _correction_values(cutoff: datetime.datetime) -> models.QuerySet[Any]:
    return _of_requests_closed_before("requests_dsar.AppliedCorrection", cutoff).exclude(
        before="", after=""
    )


def _unconfirmed_signups(cutoff: datetime.datetime) -> models.QuerySet[Any]:
    """Accounts that signed up and never went further: the primary address never verified,
    never signed in. Staff accounts, guardians, accounts with requests and accounts a past
    legal hold names are not sign-ups to tidy away."""
    email_address = apps.get_model("account.EmailAddress")
    login_event = apps.get_model("accounts.LoginEvent")
    guardianship = apps.get_model("accounts.Guardianship")
    this_user = OuterRef("pk")
    return (
        _user_model()
        .objects.filter(
            date_joined__lt=cutoff, last_login__isnull=True, is_staff=False, is_superuser=False
        )
        .filter(Exists(email_address.objects.filter(user=this_user, primary=True, verified=False)))
        .exclude(Exists(email_address.objects.filter(user=this_user, verified=True)))
        .exclude(Exists(login_event.objects.filter(user=this_user)))
        .exclude(Exists(guardianship.objects.filter(guardian=this_user)))
        .exclude(
            Exists(DataSubjectRequest.objects.filter(Q(subject=this_user) | Q(requester=this_user)))
        )
        # An active hold is counted as held; a past one still references the account.
        .exclude(
            Exists(
                LegalHold.objects.filter(user=this_user).exclude(
                    pk__in=LegalHold.objects.active().values("pk")
                )
            )
        )
    )


def _registry_deletions(users: list[Any]) -> Iterable[tuple[Any, models.QuerySet[Any]]]:
    """(registry entry, the users' rows) for every entry the registry deletes: retained rows
    (the consent ledger's pseudonymous events) and the user row itself are not among them."""
    for entry in walker.deleting_entries():
        for rows in walker.rows_of_users(entry, users):
            yield entry, rows


def _before_removing_accounts(users: models.QuerySet[Any]) -> None:
    # Sessions and stored files go first, outside the transaction.
    for entry, rows in _registry_deletions(list(users)):
        if entry.before_erase is not None:
            entry.before_erase(rows)


def _remove_accounts(users: models.QuerySet[Any]) -> int:
    """Remove accounts entirely along the registry: every entry it deletes, then the account
    (its e-mail addresses with it). What the registry retains stays."""
    batch = list(users.select_for_update())
    if not batch:
        return 0
    for _entry, rows in _registry_deletions(batch):
        rows.delete()
    user_model = _user_model()
    _total, per_model = user_model.objects.filter(pk__in=[u.pk for u in batch]).delete()
    return per_model.get(user_model._meta.label, 0)


def _ended_guardianships(cutoff: datetime.datetime) -> models.QuerySet[Any]:
    return apps.get_model("accounts.Guardianship").objects.filter(
        Q(status="declined", declined_at__lt=cutoff)
        | Q(status="revoked", revoked_at__lt=cutoff)
        | Q(status="ended", ended_at__lt=cutoff)
        | Q(status="expired", expires_at__lt=cutoff)
    )


def _delete_guardian_document_files(guardianships: models.QuerySet[Any]) -> None:
    documents = apps.get_model("accounts.GuardianDocument").objects.filter(
        guardianship__in=guardianships.values("pk"), deleted_at__isnull=True
    )
    for document in documents:
        delete_stored(document.storage_name)


def _broadcasts_still_needing_their_audience() -> models.QuerySet[Any]:
    """Broadcasts whose message rows are still the list of who they reached: one being sent,
    an open incident's notice (its updates go to the same people), a transfer notice until the
    transfer takes effect, and the announcement of an end of the service that may still be
    cancelled (the cancellation goes to those told)."""
    return (
        apps.get_model("notices.Broadcast")
        .objects.filter(
            Q(state="sending")
            | Q(incident__status="open")
            | Q(transfer__effective_on__gte=timezone.localdate())
            | Q(
                termination__isnull=False,
                termination__cancelled_at__isnull=True,
                termination__executed_at__isnull=True,
            )
        )
        .values("pk")
    )


def _inbox_messages(cutoff: datetime.datetime) -> models.QuerySet[Any]:
    return (
        apps.get_model("notices.Message")
        .objects.filter(created_at__lt=cutoff)
        .exclude(broadcast__in=_broadcasts_still_needing_their_audience())
    )


# A request's evidence is kept by a hold on the request, its subject or whoever filed it.
REQUEST = ("request_id",)
REQUEST_PEOPLE = ("request__subject_id", "request__requester_id")

register_rule(
    "access_log",
    label="Activity log",
    removes="Access-log entries (pages visited, IP address, browser) older than the period.",
    default_days=180,
    targets=[Target("accounts.AccessLogEntry", Action.DELETE, _access_log, ("user_id",))],
    order=10,
)
register_rule(
    "login_history",
    label="Login and device history",
    removes="Sign-ins (time, IP address, device, browser) older than the period.",
    default_days=180,
    targets=[Target("accounts.LoginEvent", Action.DELETE, _login_history, ("user_id",))],
    order=20,
)
register_rule(
    "export_archives",
    label="Finished export archives",
    removes="Export archive records (and any file still stored) this long after their link "
    "expired.",
    default_days=7,
    targets=[
        Target(
            "requests_dsar.ExportArchive",
            Action.DELETE,
            _finished_archives,
            before_remove=_delete_archive_files,
            held_by_user=REQUEST_PEOPLE,
            held_by_request=REQUEST,
        )
    ],
    keeps="The request and its history.",
    order=30,
)
register_rule(
    "closed_request_evidence",
    label="Closed requests' evidence",
    removes="Of requests closed longer than the period: verification codes, the text of "
    "request messages, the before and after values of applied corrections, the request's "
    "details, the changes a correction or supplement asked for and the contact address of a "
    "requester who was not signed in.",
    default_days=180,
    targets=[
        Target(
            "requests_dsar.DataSubjectRequest",
            Action.ANONYMIZE,
            _request_texts,
            anonymize={"details": "", "contact_email": ""},
            remove=_clear_request_texts,
            held_by_user=("subject_id", "requester_id"),
            held_by_request=("pk",),
        ),
        Target(
            "requests_dsar.VerificationCode",
            Action.DELETE,
            _verification_codes,
            held_by_user=REQUEST_PEOPLE,
            held_by_request=REQUEST,
        ),
        Target(
            "requests_dsar.RequestMessage",
            Action.ANONYMIZE,
            _message_texts,
            anonymize={"body": ""},
            held_by_user=REQUEST_PEOPLE,
            held_by_request=REQUEST,
        ),
        Target(
            "requests_dsar.AppliedCorrection",
            Action.ANONYMIZE,
            _correction_values,
            anonymize={"before": "", "after": ""},
            held_by_user=REQUEST_PEOPLE,
            held_by_request=REQUEST,
        ),
    ],
    keeps="The request row (its type, dates and status), its status history, the "
    "de-identified erasure record and the audit log.",
    order=40,
)
register_rule(
    "unconfirmed_signups",
    label="Unconfirmed sign-ups",
    removes="Accounts whose address was never verified and that never signed in, entirely "
    "(with their e-mail addresses and everything the registry deletes).",
    default_days=7,
    targets=[
        Target(
            "accounts.User",
            Action.DELETE,
            _unconfirmed_signups,
            held_by_user=("pk",),
            before_remove=_before_removing_accounts,
            remove=_remove_accounts,
            batch_size=100,
        )
    ],
    keeps="What the registry retains: the consent ledger's pseudonymous events.",
    order=50,
)
register_rule(
    "declined_minors",
    label="Declined, expired or ended guardian invitations",
    removes="Guardian invitations (with the guardian's e-mail address and any document) "
    "declined, revoked, expired or ended longer ago than the period.",
    default_days=30,
    targets=[
        Target(
            "accounts.Guardianship",
            Action.DELETE,
            _ended_guardianships,
            held_by_user=("minor_id", "guardian_id"),
            before_remove=_delete_guardian_document_files,
            batch_size=500,
        )
    ],
    order=60,
)
register_rule(
    "inbox_messages",
    label="Inbox messages",
    removes="Site messages older than the period.",
    keeps="Messages of a notice whose recipients may still hear more: one being sent, an open "
    "security incident's notice, a transfer notice before the transfer takes effect, and an "
    "announced end of the service not yet cancelled or carried out.",
    default_days=365,
    targets=[Target("notices.Message", Action.DELETE, _inbox_messages, ("user_id",))],
    order=70,
)


# --- Start-up check ----------------------------------------------------------------------------


@checks.register()
def check_retention_settings(**kwargs: Any) -> list[checks.CheckMessage]:
    """A period in settings for a category no rule knows is a typo: it would never apply."""
    unknown = sorted(set(settings.DSAR_RETENTION_DAYS) - set(_rules))
    return [
        checks.Warning(
            f"DSAR_RETENTION_DAYS names {key!r}, which is no retention category.",
            hint="Known categories: " + ", ".join(r.key for r in rules()),
            id="requests_dsar.W101",
        )
        for key in unknown
    ]
