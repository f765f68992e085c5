"""POST /api/v1/connectors/callback/: a system's signed result for a job it accepted earlier."""

import io
import json
import time

import pytest
from django.test import Client, RequestFactory

from connectors import configuration, signing
from connectors.api import CallbackView
from connectors.models import ConnectorJob, JobStatus
from tests.connectors.factories import SECRET, ConnectorJobFactory
from tests.factories import PrivacyOfficerFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/connectors/callback/"
NEW_SECRET = "n" * 40


def post(body, headers):
    return Client().post(URL, data=body, content_type="application/json", headers=headers)


def signed(job, payload=None, *, secret=SECRET, key_id=None, now=None):
    payload = payload or {"job_id": str(job.pk), "status": "done", "data": {"play_history": []}}
    body = json.dumps(payload).encode()
    key_id = key_id or job.system.key_id
    return body, signing.sign(body, secret=secret, key_id=key_id, now=now)


@pytest.fixture
def waiting_job():
    return ConnectorJobFactory(status=JobStatus.WAITING, attempts=1)


def test_a_signed_result_completes_the_job(waiting_job):
    response = post(*signed(waiting_job))

    assert response.status_code == 200
    assert response.json() == {"job_id": str(waiting_job.pk), "status": "accepted"}
    assert ConnectorJob.objects.get(pk=waiting_job.pk).status == JobStatus.DONE


def test_a_result_sent_again_is_acknowledged_once_and_not_applied_twice(waiting_job):
    post(*signed(waiting_job))
    done_at = ConnectorJob.objects.get(pk=waiting_job.pk).completed_at

    again = post(*signed(waiting_job, now=time.time() + 1))

    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    assert ConnectorJob.objects.get(pk=waiting_job.pk).completed_at == done_at


def test_an_unsigned_callback_is_refused_with_a_message(waiting_job):
    response = post(json.dumps({"job_id": str(waiting_job.pk), "status": "done"}), {})

    assert response.status_code == 401
    assert "not signed" in response.json()["detail"]


def test_a_tampered_callback_is_refused(waiting_job):
    body, headers = signed(waiting_job)
    tampered = body.replace(b"play_history", b"purchases")

    response = post(tampered, headers)

    assert response.status_code == 401
    assert ConnectorJob.objects.get(pk=waiting_job.pk).status == JobStatus.WAITING


def test_a_stale_callback_is_refused(waiting_job, settings):
    old = time.time() - settings.CONNECTOR_SIGNATURE_WINDOW_SECONDS - 5

    response = post(*signed(waiting_job, now=old))

    assert response.status_code == 401
    assert "replay window" in response.json()["detail"]


def test_a_replayed_callback_is_refused_as_a_conflict(waiting_job):
    body, headers = signed(waiting_job)
    post(body, headers)

    replay = post(body, headers)

    assert replay.status_code == 409


def test_a_callback_for_an_unknown_job_is_404(waiting_job):
    payload = {"job_id": "00000000-0000-4000-8000-000000000000", "status": "done", "data": {}}

    response = post(*signed(waiting_job, payload))

    assert response.status_code == 404


def test_a_system_cannot_complete_another_systems_job(waiting_job):
    other = ConnectorJobFactory(status=JobStatus.WAITING)
    payload = {"job_id": str(other.pk), "status": "done", "data": {}}

    response = post(*signed(waiting_job, payload))  # signed with waiting_job's system's key

    assert response.status_code == 404
    assert ConnectorJob.objects.get(pk=other.pk).status == JobStatus.WAITING


def rotate(system, **changes):
    """An officer saves the system with a new secret (or drops the previous one)."""
    return configuration.connected_system_save(
        system=system, actor=PrivacyOfficerFactory(), **changes
    )


def test_after_a_rotation_the_previous_secret_is_still_accepted(waiting_job):
    system = waiting_job.system
    previous_key_id = system.key_id
    rotate(system, new_secret=NEW_SECRET)

    response = post(*signed(waiting_job, key_id=previous_key_id))

    assert response.status_code == 200


def test_after_a_rotation_a_callback_signed_with_the_new_secret_is_accepted(waiting_job):
    system = rotate(waiting_job.system, new_secret=NEW_SECRET)

    response = post(*signed(waiting_job, secret=NEW_SECRET, key_id=system.key_id))

    assert response.status_code == 200
    assert ConnectorJob.objects.get(pk=waiting_job.pk).status == JobStatus.DONE


def test_once_the_previous_secret_is_dropped_a_callback_signed_with_it_is_refused(waiting_job):
    system = waiting_job.system
    previous_key_id = system.key_id
    rotate(system, new_secret=NEW_SECRET)
    rotate(system, drop_previous_secret=True)

    response = post(*signed(waiting_job, key_id=previous_key_id))

    assert response.status_code == 401
    assert "unknown key" in response.json()["detail"]
    assert ConnectorJob.objects.get(pk=waiting_job.pk).status == JobStatus.WAITING


def test_a_result_not_following_the_protocol_is_refused_with_the_rule_it_breaks(waiting_job):
    payload = {"job_id": str(waiting_job.pk), "status": "done", "data": {"Bad Name": []}}

    response = post(*signed(waiting_job, payload))

    assert response.status_code == 400
    assert "category name" in response.json()["detail"]


@pytest.mark.parametrize("key_id", ["product\x00.1", "product.1; DROP", "../product.1", "product"])
def test_a_key_id_that_is_not_a_system_key_and_version_is_refused_as_malformed(waiting_job, key_id):
    body, headers = signed(waiting_job)
    headers["X-Portal-Key-Id"] = key_id

    response = post(body, headers)

    assert response.status_code == 401
    assert ConnectorJob.objects.get(pk=waiting_job.pk).status == JobStatus.WAITING


def test_the_api_schema_declares_the_callbacks_three_signature_headers_as_required():
    schema = Client().get("/api/schema/?format=json").json()

    parameters = schema["paths"][URL]["post"]["parameters"]

    headers = {p["name"]: p.get("required") for p in parameters if p["in"] == "header"}
    assert headers == {
        "X-Portal-Key-Id": True,
        "X-Portal-Timestamp": True,
        "X-Portal-Signature": True,
    }


class CountingStream:
    """A request body that records how much was read of it, and in what pieces."""

    def __init__(self, body: bytes) -> None:
        self.stream = io.BytesIO(body)
        self.reads: list[int] = []

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(size)
        self.reads.append(len(chunk))
        return chunk

    @property
    def bytes_read(self) -> int:
        return sum(self.reads)


def call_with_stream(body: bytes, headers: dict[str, str]) -> tuple[int, CountingStream]:
    request = RequestFactory().post(
        URL, data=body, content_type="application/json", headers=headers
    )
    stream = CountingStream(body)
    request._stream = stream  # type: ignore[assignment]
    response = CallbackView.as_view()(request)
    return response.status_code, stream


BIG = b'{"job_id": "' + b"x" * (5 * 1024 * 1024) + b'"}'


def test_a_stale_or_unknown_signature_is_refused_before_a_byte_of_the_body_is_read(waiting_job):
    _body, headers = signed(waiting_job, now=time.time() - 3600)
    status, stream = call_with_stream(BIG, headers)
    assert status == 401
    assert stream.bytes_read == 0


def test_a_forged_signature_is_found_while_the_body_streams_never_held_whole(waiting_job):
    _body, headers = signed(waiting_job)  # the signature of another body
    status, stream = call_with_stream(BIG, headers)
    assert status == 401
    assert stream.bytes_read == len(BIG)
    assert max(stream.reads) <= 64 * 1024


def test_a_signed_body_over_the_limit_is_refused_as_too_large(waiting_job, settings):
    settings.CONNECTOR_MAX_RESULT_BYTES = 1024
    payload = {"job_id": str(waiting_job.pk), "status": "done", "data": {"x": "y" * 2000}}
    response = post(*signed(waiting_job, payload))
    assert response.status_code == 413
    assert ConnectorJob.objects.get(pk=waiting_job.pk).status == JobStatus.WAITING
