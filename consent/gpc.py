"""Global Privacy Control: a browser's `Sec-GPC: 1` is a refusal of every purpose marked
`refused_by_gpc`, for signed-in users and anonymous visitors alike.

The rule, per subject and purpose, applied by `consent.middleware` before each view:
- no decision yet (or an expired one): the signal's refusal is recorded (`gpc_signal`, actor
  self, the person's own browser setting);
- a consent given before the signal was first recorded: withdrawn by the signal, recorded;
- a consent given after it, explicitly (consent center, banner, API: any method but
  `gpc_signal`): the person chose knowing their browser said no; the explicit choice wins and
  stays, the signal is not applied to it again;
- already refused or withdrawn: nothing to record.
So the signal is recorded once per subject and purpose, when it changes the state, never on every
request. A steady-state request costs two cache reads (the purposes and the ledger's projection).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest

from . import ledger
from .cookies import Subject, decision_record, gpc_purposes, latest_events
from .models import ConsentChainHead, ConsentEvent, Decision, Method, Purpose

if TYPE_CHECKING:
    from .services import CollectionContext

# When this portal's support of the signal last changed: the `lastUpdate` of gpc.json.
GPC_SUPPORT_UPDATED = datetime.date(2026, 11, 25)


def gpc_in_force(request: HttpRequest) -> bool:
    """Whether the request carries the Global Privacy Control signal (`Sec-GPC: 1`, exactly)."""
    return request.headers.get("Sec-GPC", "").strip() == "1"


def gpc_resource() -> dict[str, object]:
    """The body of `/.well-known/gpc.json`."""
    return {"gpc": True, "lastUpdate": GPC_SUPPORT_UPDATED.isoformat()}


def _over_gpc_cache_key(event_uuid: object) -> str:
    return f"consent:gpc:explicit:{event_uuid}"


def given_over_gpc(subject_key: str, event: ConsentEvent | str) -> bool:
    """Whether this "given" event came after a GPC refusal of the same purpose in the same
    ledger: an explicit opt-in made over the signal, which the signal no longer overrides.

    Events never change, so a positive answer is cached for good (by the event's id).
    """
    event_uuid = event.uuid if isinstance(event, ConsentEvent) else event
    if cache.get(_over_gpc_cache_key(event_uuid)):
        return True
    if isinstance(event, ConsentEvent):
        seq, purpose_id, method = event.seq, event.purpose_id, event.method
    else:
        found = (
            ConsentEvent.objects.filter(uuid=event_uuid, subject_key=subject_key)
            .values_list("seq", "purpose_id", "method")
            .first()
        )
        if found is None:
            return False
        seq, purpose_id, method = found
    if method == Method.GPC_SIGNAL:
        return False
    over = ConsentEvent.objects.filter(
        subject_key=subject_key, purpose_id=purpose_id, method=Method.GPC_SIGNAL, seq__lt=seq
    ).exists()
    if over:
        cache.set(_over_gpc_cache_key(event_uuid), True, ledger.CACHE_TTL)
    return over


def has_gpc_event(subject_key: str, purpose: Purpose) -> bool:
    return ConsentEvent.objects.filter(
        subject_key=subject_key, purpose=purpose, method=Method.GPC_SIGNAL
    ).exists()


def gpc_refusal_record(
    *,
    subject: Subject,
    purpose: Purpose,
    latest: ConsentEvent | None,
    context: CollectionContext | None = None,
) -> ConsentEvent:
    """Record the signal's refusal: a withdrawal when consent was given, else a refusal."""
    from .policies import current_policy

    given = latest is not None and latest.decision == Decision.GIVEN
    return decision_record(
        subject=subject,
        purpose=purpose,
        decision=Decision.WITHDRAWN if given else Decision.REFUSED,
        method=Method.GPC_SIGNAL,
        policy_version=current_policy(),
        context=context,
    )


def _may_need_refusal(subject_key: str, decision: str | None, event_uuid: str | None) -> bool:
    if decision in (None, Decision.EXPIRED):
        return True
    if decision == Decision.GIVEN and event_uuid is not None:
        return not given_over_gpc(subject_key, event_uuid)
    return False


def gpc_signal_apply(
    *, subject: Subject, context: CollectionContext | None = None
) -> list[ConsentEvent]:
    """Honour the signal for one subject (the rule is in this module's docstring).

    Reads the cached state first, so a subject whose state already reflects the signal costs
    no database query. Otherwise the subject's chain head is locked and the state read again
    from the database before recording: two requests at once record the refusal once.
    """
    purposes = gpc_purposes()
    if not purposes:
        return []
    states = ledger.state_for(subject.key, purposes)
    candidates: Sequence[Purpose] = [
        purpose
        for purpose, state in zip(purposes, states, strict=True)
        if _may_need_refusal(subject.key, state.decision, state.event_uuid)
    ]
    if not candidates:
        return []
    events = []
    with transaction.atomic():
        ConsentChainHead.objects.select_for_update().get_or_create(
            subject_key=subject.key, defaults={"last_hash": ledger.GENESIS, "last_seq": 0}
        )
        latest = latest_events(subject.key, candidates)
        for purpose in candidates:
            event = latest.get(purpose.pk)
            if event is None or event.decision == Decision.EXPIRED:
                pass
            elif event.decision != Decision.GIVEN or given_over_gpc(subject.key, event):
                continue
            events.append(
                gpc_refusal_record(subject=subject, purpose=purpose, latest=event, context=context)
            )
    return events
