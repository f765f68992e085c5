"""Admin: officers configure systems (checked against the real system before saving, secrets
never shown back); agents work manual tasks to completion."""

import datetime
import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from connectors import manual, services
from connectors.models import ConnectedSystem, ConnectorJob, JobStatus, ManualTask
from core.models import AuditLogEntry
from core.uploads import open_decrypted
from requests_dsar import export
from requests_dsar import services as dsar_services
from requests_dsar.models import Status
from tests.conftest import free_port
from tests.connectors.conftest import SECRET
from tests.connectors.factories import ConnectorJobFactory, ManualSystemFactory
from tests.connectors.product import example_module
from tests.factories import PrivacyOfficerFactory, ProfileFactory, SupportAgentFactory
from tests.requests_dsar.staff import signed_in

pytestmark = pytest.mark.django_db

product = example_module("service")

ADD = reverse("admin:connectors_connectedsystem_add")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def http_system(url, **overrides):
    return {
        "key": "product",
        "name": "Product",
        "owner_team": "Listening",
        "kind": "http",
        "enabled": "on",
        "categories_text": "account, play_history",
        "request_types": ["copy", "delete"],
        "identifiers": ["email"],
        "url": url,
        "timeout_seconds": "2",
        "new_secret": SECRET,
        "max_attempts": "8",
        "retry_base_seconds": "30",
        "failure_threshold": "5",
        "cooldown_seconds": "300",
        **overrides,
    }


def test_a_system_answering_the_signed_ping_is_saved_and_its_secret_never_shown_back(
    officer, product_endpoint
):
    response = officer.post(ADD, http_system(product_endpoint))

    system = ConnectedSystem.objects.get(key="product")
    page = officer.get(reverse("admin:connectors_connectedsystem_change", args=[system.pk]))
    assert response.status_code == 302
    assert system.key_id == "product.1"
    assert SECRET not in page.content.decode()
    assert SECRET not in system.secret_encrypted


def test_an_unreachable_url_is_refused_at_save_time_with_a_clear_message(officer):
    closed = f"http://127.0.0.1:{free_port()}/"

    response = officer.post(ADD, http_system(closed))

    assert response.status_code == 200
    assert "did not pass the signed health check" in response.content.decode()
    assert not ConnectedSystem.objects.exists()


def test_a_system_refusing_the_signature_is_refused_with_what_to_check(officer, product_endpoint):
    response = officer.post(ADD, http_system(product_endpoint, new_secret="w" * 40))

    assert "refused the signature" in response.content.decode()
    assert not ConnectedSystem.objects.exists()


def test_an_unreachable_database_is_refused_at_save_time(officer):
    data = http_system(
        "",
        kind="database",
        new_secret="",
        request_types=["copy"],
        dsn=f"postgresql://nobody@127.0.0.1:{free_port()}/nothing",
        mapping_text="tables:\n  - {table: t, category: account, match: {identifier: email, "
        "column: email}, export: [email], erase: {strategy: delete}}\n",
    )

    response = officer.post(ADD, data)

    assert "cannot be reached with this DSN" in response.content.decode()
    assert not ConnectedSystem.objects.exists()


def test_a_mapping_with_an_unknown_strategy_is_refused_before_any_connection(officer):
    data = http_system(
        "",
        kind="database",
        new_secret="",
        request_types=["copy"],
        dsn="postgresql://nobody@127.0.0.1:1/nothing",
        mapping_text='{"tables": [{"table": "t", "category": "account", "match": {"identifier": '
        '"email", "column": "email"}, "export": [], "erase": {"strategy": "shred"}}]}',
    )

    response = officer.post(ADD, data)

    assert "mapping.tables[0].erase.strategy" in response.content.decode()


def test_a_database_mapping_cannot_take_request_types_it_cannot_carry_out(officer):
    data = http_system("", kind="database", new_secret="", request_types=["restrict"])

    response = officer.post(ADD, data)

    assert "cannot carry out: restrict" in response.content.decode()


# --- Manual tasks --------------------------------------------------------------------------------


@pytest.fixture
def open_task():
    job = ConnectorJobFactory(system=ManualSystemFactory(name="Support desk"))
    services.dispatch(job_id=job.pk)
    return ManualTask.objects.get(job=job)


def task_url(task):
    return reverse("admin:connectors_manualtask_change", args=[task.pk])


def open_archive(request):
    archive = request.archives.get()
    return zipfile.ZipFile(io.BytesIO(b"".join(export.archive_open_decrypted(archive))))


def test_a_manual_task_flows_through_admin_to_completion_with_a_result_file(
    settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = str(tmp_path)
    ManualSystemFactory(key="desk", name="Support desk")
    subject = ProfileFactory().user
    # The person asks for a copy; the worker's turn sends the desk its job, a staff task.
    request, _created = dsar_services.dsar_request_create(
        subject=subject, requester=subject, type="copy", reauthenticated=True
    )
    with django_capture_on_commit_callbacks(execute=True):
        dsar_services.dsar_process(request_id=request.pk)
    request.refresh_from_db()
    task = ManualTask.objects.get(job__request=request)
    assert request.status == Status.WAITING_ON_SYSTEMS
    assert task.due_at == request.due_at

    agent = SupportAgentFactory()
    client = signed_in(agent)
    # The agent finds the task in the queue and opens it: the person's identifiers are shown.
    queue = client.get(reverse("admin:connectors_manualtask_changelist") + "?state=open")
    page = client.get(task_url(task))
    assert task in queue.context["cl"].result_list
    assert subject.email in page.content.decode()
    # They attach the export they made by hand; the job settles and wakes the request.
    upload = SimpleUploadedFile("export.pdf", PDF, content_type="application/pdf")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(task_url(task), {"result_file": upload, "note": "3 tickets"})

    job = ConnectorJob.objects.get(pk=task.job_id)
    assert response.status_code == 302
    assert (job.status, ManualTask.objects.get(pk=task.pk).completed_by) == ("done", agent)
    assert b"".join(open_decrypted(job.result_storage_name)) == PDF
    # The request completes, and its archive carries the file under the desk's folder.
    request.refresh_from_db()
    assert request.status == Status.COMPLETED
    zf = open_archive(request)
    assert zf.read("systems/desk/result.pdf") == PDF
    (system,) = json.loads(zf.read("manifest.json"))["systems"]
    assert [f["path"] for f in system["files"]] == ["systems/desk/result.pdf"]


def test_staff_seeing_a_tasks_identifiers_is_audited(open_task):
    agent = SupportAgentFactory()
    signed_in(agent).get(task_url(open_task))

    entry = AuditLogEntry.objects.filter(action="admin.viewed_personal_data").last()
    assert entry.target_type == "connectors.manualtask"
    assert entry.data["user_id"] == open_task.job.request.subject_id


def test_a_result_file_of_the_wrong_type_is_refused_and_nothing_recorded(open_task):
    client = signed_in(SupportAgentFactory())
    upload = SimpleUploadedFile("export.pdf", b"MZ\x90\x00binary", content_type="application/pdf")

    response = client.post(task_url(open_task), {"result_file": upload})

    assert response.status_code == 200
    assert "Only PDF, JPEG or PNG" in response.content.decode()
    assert ConnectorJob.objects.get(pk=open_task.job_id).status == JobStatus.WAITING


def test_completing_needs_a_file_or_a_note(open_task):
    with pytest.raises(Exception, match="Attach the result"):
        manual.manual_task_complete(task=open_task, actor=PrivacyOfficerFactory())


def test_an_officer_excepts_a_stuck_system_from_the_admin(open_task, officer):
    url = reverse("admin:connectors_connectorjob_do", args=[open_task.job_id, "except"])

    page = officer.get(url)
    assert "What the requester is told" in page.content.decode()
    officer.post(
        url,
        {
            "reason": "The desk was closed down; no data remains.",
            "requester_reason": "nothing_to_copy",
        },
    )

    job = ConnectorJob.objects.get(pk=open_task.job_id)
    assert (job.status, job.excepted_reason, job.requester_reason) == (
        "excepted",
        "The desk was closed down; no data remains.",
        "nothing_to_copy",
    )


def test_the_except_form_asks_what_the_requester_is_told(open_task, officer):
    url = reverse("admin:connectors_connectorjob_do", args=[open_task.job_id, "except"])

    page = officer.post(url, {"reason": "The desk was closed down."})

    assert page.status_code == 200
    assert ConnectorJob.objects.get(pk=open_task.job_id).status != "excepted"


def test_a_disabled_database_system_is_saved_untried_but_its_mapping_still_checked(officer):
    data = http_system(
        "",
        kind="database",
        enabled="",
        new_secret="",
        request_types=["copy"],
        dsn="postgresql://nobody@127.0.0.1:1/nothing",
        mapping_text="tables: [{table: t, category: account}]",
    )

    response = officer.post(ADD, data)

    assert (
        "mapping.tables[0]: &#x27;match&#x27; is a required property" in response.content.decode()
    )
    assert not ConnectedSystem.objects.exists()


# --- Sending a job again -------------------------------------------------------------------------


def _stalled_job(**fields):  # type: ignore[no-untyped-def]
    """A job waiting out its backoff after connection errors, its next attempt far off."""
    return ConnectorJobFactory(
        attempts=6,
        last_error="connection_error",
        next_attempt_at=timezone.now() + datetime.timedelta(hours=3),
        **fields,
    )


def test_staff_send_a_queued_job_stuck_on_connection_errors_again_at_once(officer):
    job = _stalled_job()
    change = reverse("admin:connectors_connectorjob_change", args=[job.pk])
    retry = reverse("admin:connectors_connectorjob_do", args=[job.pk, "retry"])
    assert retry in officer.get(change).content.decode()

    response = officer.post(retry)

    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.attempts, job.next_attempt_at, job.last_error) == (
        JobStatus.QUEUED,
        0,
        None,
        "",
    )
    assert AuditLogEntry.objects.filter(action="connector.job_retried").count() == 1


def test_a_job_waiting_for_an_answer_that_never_came_can_be_sent_again(officer):
    job = ConnectorJobFactory(status=JobStatus.WAITING)

    officer.post(reverse("admin:connectors_connectorjob_do", args=[job.pk, "retry"]))

    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED


@pytest.mark.parametrize("status", [JobStatus.DONE, JobStatus.EXCEPTED, JobStatus.SENT])
def test_a_job_that_is_done_or_being_sent_is_not_sent_again(officer, status):
    job = ConnectorJobFactory(status=status, excepted_reason="Gone", attempts=2)
    change = reverse("admin:connectors_connectorjob_change", args=[job.pk])
    retry = reverse("admin:connectors_connectorjob_do", args=[job.pk, "retry"])
    assert retry not in officer.get(change).content.decode()

    officer.post(retry)

    job.refresh_from_db()
    assert (job.status, job.attempts) == (status, 2)


def test_the_bulk_retry_sends_every_job_not_done_and_counts_the_rest(officer):
    failed = ConnectorJobFactory(status=JobStatus.FAILED)
    stalled = _stalled_job()
    done = ConnectorJobFactory(status=JobStatus.DONE)
    changelist = reverse("admin:connectors_connectorjob_changelist")

    response = officer.post(
        changelist,
        {"action": "retry_jobs", "_selected_action": [failed.pk, stalled.pk, done.pk]},
        follow=True,
    )

    assert "2 jobs queued again. 1 could not be" in response.content.decode()
    statuses = {j.pk: j.status for j in ConnectorJob.objects.all()}
    assert statuses == {
        failed.pk: JobStatus.QUEUED,
        stalled.pk: JobStatus.QUEUED,
        done.pk: JobStatus.DONE,
    }
    assert ConnectorJob.objects.get(pk=stalled.pk).next_attempt_at is None
