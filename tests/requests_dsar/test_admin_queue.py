"""The staff request queue in the admin: deadlines first, every change through a service."""

import datetime

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from core.models import AuditLogEntry
from requests_dsar import services
from requests_dsar.admin_actions import due_badge
from requests_dsar.models import (
    DataSubjectRequest,
    ErasureRecord,
    RequestEvent,
    RequestMessage,
    Status,
)
from tests.factories import (
    DataSubjectRequestFactory,
    PrivacyOfficerFactory,
    ProfileFactory,
    SupportAgentFactory,
    UserFactory,
)
from tests.requests_dsar.staff import signed_in

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:requests_dsar_datasubjectrequest_changelist")


def act(request, action):
    return reverse("admin:requests_dsar_datasubjectrequest_act", args=[request.pk, action])


def change_url(request):
    return reverse("admin:requests_dsar_datasubjectrequest_change", args=[request.pk])


def due_in(days, hours=1, **kwargs):
    return DataSubjectRequestFactory(
        due_at=timezone.now() + datetime.timedelta(days=days, hours=hours), **kwargs
    )


def listed(response):
    return list(response.context["cl"].result_list)


def flashes(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def agent():
    staff = SupportAgentFactory()
    return staff, signed_in(staff)


@pytest.fixture
def officer():
    staff = PrivacyOfficerFactory()
    return staff, signed_in(staff)


# --- The queue --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "tone", "text"),
    [
        (12, "ok", "12 days left"),
        (10, "ok", "10 days left"),
        (9, "soon", "9 days left"),
        (5, "soon", "5 days left"),
        (4, "urgent", "4 days left"),
        (0, "urgent", "0 days left"),
        (-2, "overdue", "overdue"),
    ],
)
def test_days_left_are_coloured_green_amber_red_and_overdue(days, tone, text):
    badge = str(due_badge(due_in(days)))
    assert f"dsar-due--{tone}" in badge
    assert text in badge


def test_the_queue_shows_the_colours_with_a_stylesheet_not_inline_styles(agent):
    _staff, client = agent
    for days in (12, 7, 3, -1):
        due_in(days)
    page = client.get(CHANGELIST).content.decode()
    for tone in ("ok", "soon", "urgent", "overdue"):
        assert f'class="dsar-due dsar-due--{tone}"' in page
    assert "admin/css/requests_dsar.css" in page
    assert "dsar-due" in page and 'style="' not in page.split('id="result_list"')[1]


def test_the_queue_lists_the_nearest_deadline_first_and_unstarted_clocks_last(agent):
    _staff, client = agent
    later, unverified, sooner = (
        due_in(12),
        DataSubjectRequestFactory(status=Status.IDENTITY_UNVERIFIED, due_at=None),
        due_in(2),
    )
    assert listed(client.get(CHANGELIST)) == [sooner, later, unverified]


def test_the_queue_shows_the_subjects_id_and_address(agent):
    _staff, client = agent
    request = due_in(5)
    page = client.get(CHANGELIST).content.decode()
    assert f"#{request.subject_id} · {request.subject.email}" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"deadline": "overdue"}, {"overdue"}),
        ({"deadline": "3"}, {"in_2"}),
        ({"deadline": "7"}, {"in_2", "in_6"}),
        ({"deadline": "14"}, {"in_2", "in_6", "in_12"}),
        ({"needs": "approval"}, {"awaiting"}),
        ({"type": "copy"}, {"in_6"}),
        ({"status": "failed"}, {"failed"}),
    ],
)
def test_the_queue_filters(agent, query, expected):
    _staff, client = agent
    requests = {
        "overdue": due_in(-1),
        "in_2": due_in(2),
        "in_6": due_in(6, type="copy"),
        "in_12": due_in(12),
        "awaiting": due_in(20, status=Status.AWAITING_APPROVAL),
        "failed": due_in(25, status=Status.FAILED),
        "closed": due_in(-3, status=Status.COMPLETED),
    }
    names = {v.pk: k for k, v in requests.items()}
    shown = {names[r.pk] for r in listed(client.get(CHANGELIST, query))}
    assert shown == expected


def test_the_queue_is_searched_by_subject_address_and_reference(agent):
    _staff, client = agent
    wanted, other = due_in(5), due_in(6)
    by_email = listed(client.get(CHANGELIST, {"q": wanted.subject.email}))
    by_reference = listed(client.get(CHANGELIST, {"q": str(wanted.public_id)[:8]}))
    assert by_email == by_reference == [wanted]
    assert other not in by_email


# --- The request's page ------------------------------------------------------------------------


def test_the_request_page_is_read_only_and_cannot_be_saved(officer):
    _staff, client = officer
    request = due_in(5)
    page = client.get(change_url(request))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    response = client.post(change_url(request), {"status": Status.COMPLETED, "type": "delete"})
    assert response.status_code == 403
    request.refresh_from_db()
    assert (request.status, request.type) == (Status.PENDING, "access")


def test_the_request_page_shows_history_messages_and_the_buttons_one_may_use(agent):
    _staff, client = agent
    request = due_in(5)
    RequestEvent.objects.create(request=request, actor_role="system", reason="Work started.")
    RequestMessage.objects.create(request=request, body="Please hurry.")
    page = client.get(change_url(request)).content.decode()
    assert "Work started." in page and "Please hurry." in page
    assert act(request, "clarify") in page
    assert act(request, "approve") not in page and act(request, "deny") not in page


def test_requests_cannot_be_added_or_deleted_in_the_admin(officer):
    _staff, client = officer
    request = due_in(5)
    assert client.get(reverse("admin:requests_dsar_datasubjectrequest_add")).status_code == 403
    delete = reverse("admin:requests_dsar_datasubjectrequest_delete", args=[request.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert DataSubjectRequest.objects.filter(pk=request.pk).exists()


# --- What a support agent may do ----------------------------------------------------------------


def test_an_agent_verifies_an_identity_with_a_note(agent):
    staff, client = agent
    request = DataSubjectRequestFactory(
        status=Status.IDENTITY_UNVERIFIED, verified_at=None, due_at=None
    )
    response = client.post(act(request, "verify"), {"note": "Called back on the account phone."})
    assert response.status_code == 302
    request.refresh_from_db()
    assert (request.status, request.verification_method) == (Status.PENDING, "staff")
    assert request.due_at is not None
    event = request.events.get(to_status=Status.PENDING)
    assert (event.actor, event.reason) == (staff, "Called back on the account phone.")


def test_verifying_without_a_note_is_refused_with_a_message(agent):
    _staff, client = agent
    request = DataSubjectRequestFactory(status=Status.IDENTITY_UNVERIFIED, due_at=None)
    response = client.post(act(request, "verify"), {"note": ""})
    assert response.status_code == 200
    assert b"This field is required" in response.content
    request.refresh_from_db()
    assert request.status == Status.IDENTITY_UNVERIFIED


def test_an_agent_asks_for_clarification(agent):
    staff, client = agent
    request = due_in(10)
    client.post(act(request, "clarify"), {"message": "Which account do you mean?"})
    request.refresh_from_db()
    assert request.status == Status.NEEDS_CLARIFICATION
    assert request.paused_at is not None
    message = request.messages.get()
    assert (message.author, message.from_staff) == (staff, True)


def test_an_agent_retries_a_failed_request(agent):
    staff, client = agent
    request = due_in(10, status=Status.FAILED, failure_message="OSError")
    client.post(act(request, "retry"))
    request.refresh_from_db()
    assert (request.status, request.failure_message) == (Status.PENDING, "")
    assert request.events.get(reason="Retried.").actor == staff


def test_an_agent_answers_a_question_and_closes_it(agent):
    _staff, client = agent
    request = due_in(10, type="question", status=Status.AWAITING_APPROVAL)
    client.post(act(request, "answer"), {"body": "We hold your profile and login history."})
    request.refresh_from_db()
    assert request.status == Status.COMPLETED
    assert request.messages.get().body == "We hold your profile and login history."


def test_an_agent_sends_a_message_without_changing_the_status(agent):
    _staff, client = agent
    request = due_in(10)
    client.post(act(request, "message"), {"body": "We are on it."})
    request.refresh_from_db()
    assert request.status == Status.PENDING
    assert request.messages.get().from_staff


@pytest.mark.parametrize(
    ("action", "data", "status"),
    [
        ("approve", {}, Status.AWAITING_APPROVAL),
        ("deny", {"reason": "no_match", "note": "Nothing."}, Status.PENDING),
        ("extend", {"days": "5", "reason": "Complex."}, Status.PENDING),
    ],
)
def test_an_agent_cannot_approve_deny_or_extend(agent, action, data, status):
    _staff, client = agent
    request = due_in(10, status=status)
    due = request.due_at
    assert client.get(act(request, action)).status_code == 403
    assert client.post(act(request, action), data).status_code == 403
    request.refresh_from_db()
    assert (request.status, request.due_at, request.extended_at) == (status, due, None)


def test_an_agent_cannot_approve_from_the_queue_either(agent):
    _staff, client = agent
    request = due_in(10, status=Status.AWAITING_APPROVAL)
    response = client.post(
        CHANGELIST, {"action": "approve_selected", "_selected_action": [request.pk]}
    )
    assert response.status_code in (200, 302)
    request.refresh_from_db()
    assert request.status == Status.AWAITING_APPROVAL


# --- What a privacy officer may do ----------------------------------------------------------------


def test_an_officer_approves_a_request_awaiting_approval(officer):
    staff, client = officer
    request = due_in(10, status=Status.AWAITING_APPROVAL)
    assert client.get(act(request, "approve")).status_code == 200
    response = client.post(act(request, "approve"))
    assert response.url == change_url(request)
    request.refresh_from_db()
    assert request.status == Status.PENDING
    assert request.scope["approved_by"] == staff.pk


def test_an_officer_approves_several_from_the_queue(officer):
    _staff, client = officer
    first, second = (due_in(d, status=Status.AWAITING_APPROVAL) for d in (3, 4))
    client.post(
        CHANGELIST, {"action": "approve_selected", "_selected_action": [first.pk, second.pk]}
    )
    assert set(
        DataSubjectRequest.objects.filter(pk__in=[first.pk, second.pk]).values_list(
            "status", flat=True
        )
    ) == {Status.PENDING}


def test_a_legal_exemption_denial_must_name_its_ground(officer):
    _staff, client = officer
    request = due_in(10)
    response = client.post(act(request, "deny"), {"reason": "legal_exemption", "note": ""})
    assert response.status_code == 200
    assert any("Name the ground" in m for m in flashes(response))
    request.refresh_from_db()
    assert request.status == Status.PENDING

    client.post(
        act(request, "deny"),
        {"reason": "legal_exemption", "exemption": "criminal_justice", "note": "Ongoing case."},
    )
    request.refresh_from_db()
    assert (request.status, request.denial_reason, request.legal_exemption) == (
        Status.DENIED,
        "legal_exemption",
        "criminal_justice",
    )


def test_an_officer_extends_the_deadline_once_with_a_reason(officer):
    _staff, client = officer
    request = due_in(3)
    due = request.due_at
    client.post(act(request, "extend"), {"days": "10", "reason": "Data held in three systems."})
    request.refresh_from_db()
    assert request.due_at > due + datetime.timedelta(days=9)
    assert request.extension_reason == "Data held in three systems."
    # A second extension is refused by the service; the button is gone.
    response = client.post(act(request, "extend"), {"days": "5", "reason": "Again."}, follow=True)
    assert any("not possible" in m for m in flashes(response))


def test_an_action_the_status_does_not_allow_shows_a_message_and_changes_nothing(officer):
    _staff, client = officer
    request = due_in(10, status=Status.COMPLETED)
    response = client.post(act(request, "deny"), {"reason": "no_match"}, follow=True)
    assert any("not possible" in m for m in flashes(response))
    request.refresh_from_db()
    assert request.status == Status.COMPLETED


def test_an_officer_records_staff_corrections_when_approving_in_the_admin(officer, user):
    staff, client = officer
    ProfileFactory(user=user, nickname="old-nick")
    request, _ = services.dsar_request_create(
        subject=user,
        requester=user,
        type="correct",
        scope={
            "changes": [
                {"field": "nickname", "value": "new-nick"},
                {"field": "other", "value": "My support ticket lists the wrong city."},
            ]
        },
        reauthenticated=True,
    )
    services.dsar_process(request_id=request.pk)
    page = client.get(act(request, "approve")).content.decode()
    assert "My support ticket lists the wrong city." in page and "new-nick" in page
    client.post(
        act(request, "approve"),
        {"before_other": "City: Lyon", "after_other": "City: Lille (support desk)"},
    )
    request.refresh_from_db()
    assert request.status == Status.PENDING
    recorded = request.corrections.get(field="other")
    assert (recorded.before, recorded.after, recorded.applied_by) == (
        "City: Lyon",
        "City: Lille (support desk)",
        staff,
    )


def test_the_admin_cannot_skip_recording_a_staff_correction(officer, user):
    _staff, client = officer
    request = DataSubjectRequestFactory(
        subject=user,
        type="correct",
        status=Status.AWAITING_APPROVAL,
        scope={"changes": [{"field": "email", "value": "Use new@example.org"}]},
    )
    response = client.post(act(request, "approve"), {"before_email": "", "after_email": ""})
    assert response.status_code == 200
    request.refresh_from_db()
    assert request.status == Status.AWAITING_APPROVAL
    assert not request.corrections.exists()


def test_other_users_requests_are_unaffected_by_an_action(officer):
    _staff, client = officer
    target, bystander = due_in(5, status=Status.AWAITING_APPROVAL), UserFactory()
    other = due_in(5, status=Status.AWAITING_APPROVAL, subject=bystander)
    client.post(act(target, "approve"))
    other.refresh_from_db()
    assert other.status == Status.AWAITING_APPROVAL


# --- The erasure record block ---------------------------------------------------------------


def test_a_request_that_erased_nothing_shows_no_erasure_record(officer):
    """A copy's page never suggests something was erased (no empty "Erasure record" block)."""
    _, client = officer
    copy = DataSubjectRequestFactory(type="copy", status=Status.COMPLETED)
    page = client.get(change_url(copy))
    assert page.status_code == 200
    assert "Erasure record" not in page.content.decode()


def test_a_deletion_page_shows_its_erasure_record(officer):
    _, client = officer
    deletion = DataSubjectRequestFactory(type="delete", status=Status.COMPLETED)
    ErasureRecord.objects.create(request=deletion, subject_hash="0" * 64, summary=[])
    page = client.get(change_url(deletion))
    assert "Erasure record" in page.content.decode()


# --- The queue as a spreadsheet ------------------------------------------------------------------


def test_the_filtered_queue_exports_to_csv_without_anyones_personal_data(agent):
    _staff, client = agent
    person = UserFactory(email="findable.person@example.org")
    ProfileFactory(user=person, name="Findable Person")
    wanted = DataSubjectRequestFactory(subject=person, type="delete", details="Please delete me")
    other = DataSubjectRequestFactory(type="access")
    response = client.post(
        CHANGELIST + "?type__exact=delete",
        {"action": "export_selected", "select_across": "1", "_selected_action": [wanted.pk]},
    )
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0] == "reference,type,status,received,verified,due,completed"
    assert [line.split(",")[0] for line in lines[1:]] == [wanted.reference]
    assert other.reference not in response.content.decode()
    text = response.content.decode()
    assert "findable" not in text.lower() and "Please delete me" not in text


# --- My queue ------------------------------------------------------------------------------------


def test_an_agent_takes_requests_onto_their_queue_and_finds_them_there(agent):
    staff, client = agent
    mine, other = DataSubjectRequestFactory(), DataSubjectRequestFactory()
    client.post(CHANGELIST, {"action": "assign_to_me", "_selected_action": [mine.pk]})
    mine.refresh_from_db()
    assert mine.assignee == staff
    assert listed(client.get(CHANGELIST + "?assigned=me")) == [mine]
    assert listed(client.get(CHANGELIST + "?assigned=nobody")) == [other]
    entry = AuditLogEntry.objects.get(action="dsar.assigned")
    assert (entry.actor_user_id, entry.target_id, entry.data) == (
        staff.pk,
        str(mine.pk),
        {"assignee": staff.pk},
    )
    client.post(CHANGELIST, {"action": "unassign_selected", "_selected_action": [mine.pk]})
    mine.refresh_from_db()
    assert mine.assignee is None


def test_only_staff_who_work_the_queue_can_be_given_a_request(agent):
    staff, _client = agent
    request = DataSubjectRequestFactory()
    with pytest.raises(ValidationError):
        services.dsar_assign(request=request, assignee=UserFactory(), actor=staff)
    with pytest.raises(PermissionDenied):
        services.dsar_assign(request=request, assignee=staff, actor=UserFactory())
    request.refresh_from_db()
    assert request.assignee is None


# --- Internal notes ------------------------------------------------------------------------------


def test_an_internal_note_is_for_the_team_only(agent):
    staff, client = agent
    person = UserFactory()
    request = DataSubjectRequestFactory(subject=person, type="copy")
    client.post(act(request, "note"), {"body": "Called them; they will send the order number."})
    note = request.notes.get()
    assert note.author == staff
    page = client.get(change_url(request)).content.decode()
    assert "Called them; they will send the order number." in page
    entry = AuditLogEntry.objects.get(action="dsar.note_added")
    assert "order number" not in str(entry.data)
    # The requester's page, the API and the copy of their data never carry it.
    from django.test import Client

    requester = Client()
    requester.force_login(person)
    own_page = requester.get(reverse("dsar:detail", args=[request.public_id])).content.decode()
    api = requester.get(f"/api/v1/requests/{request.public_id}/").content.decode()
    services.dsar_process(request_id=request.pk)
    from tests.requests_dsar.test_export import open_zip

    archive = open_zip(DataSubjectRequest.objects.get(pk=request.pk).archives.get())
    copy = b"".join(archive.read(name) for name in archive.namelist()).decode(errors="replace")
    for seen in (own_page, api, copy):
        assert "order number" not in seen
