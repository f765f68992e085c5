"""The HTTP connector on the real parts: the example product service as a process on loopback,
its own PostgreSQL database, a live Celery worker, and the portal's callback endpoint served
by a live server. Every fault is real: a closed port, a slow answer, a 500, a tampered or
replayed message. Nothing may be lost or done twice."""

import json

import psycopg
import pytest
import requests

from connectors import selectors, services, signing
from connectors.models import ConnectedSystem, ConnectorJob, JobStatus
from core.models import AuditLogEntry
from tests.conftest import free_port
from tests.connectors.factories import SECRET, ConnectedSystemFactory, ConnectorJobFactory
from tests.connectors.product import ProductService, product_database, query, seed, wait_for
from tests.factories import DataSubjectRequestFactory, UserFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

KEYS = {"product.1": SECRET}


@pytest.fixture
def product_db():
    with product_database() as dsn:
        yield dsn


@pytest.fixture
def start_product(product_db):
    started = []

    def start(*options, port=None):
        service = ProductService(product_db, port or free_port(), KEYS, *options)
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()


@pytest.fixture
def listener(product_db):
    user = UserFactory()
    with psycopg.connect(product_db) as conn:
        seed.seed_listener(conn, user.email)
    return user


def product_system(url, **overrides):
    settings = {
        "key": "product",
        "url": url,
        "categories": ["account", "search_history", "play_history", "purchases"],
        "timeout_seconds": 5,
        "retry_base_seconds": 1,
        **overrides,
    }
    return ConnectedSystemFactory(**settings)


def job_of(request):
    return ConnectorJob.objects.get(request=request)


def settled(request):
    def job_settled():
        job = job_of(request)
        return job if job.status in (JobStatus.DONE, JobStatus.FAILED) else None

    return job_settled


def plays_of(dsn, email):
    return query(
        dsn,
        "SELECT count(*) FROM product.plays p JOIN product.listeners l ON l.id = p.listener_id "
        "WHERE l.email = %s",
        email,
    )[0][0]


def deliveries(dsn, job):
    return query(
        dsn, "SELECT times_received FROM product.connector_jobs WHERE job_id = %s", str(job.pk)
    )


def signed_post(url, payload, *, secret=SECRET, key_id="product.1"):
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        **signing.sign(body, secret=secret, key_id=key_id),
    }
    return body, headers, requests.post(url, data=body, headers=headers, timeout=10)


# --- Round trips -------------------------------------------------------------------------------


def test_a_copy_request_brings_back_the_products_data(
    celery_worker_process, start_product, listener, product_db
):
    product_system(start_product().url)
    request = DataSubjectRequestFactory(type="copy", subject=listener)

    services.jobs_for_request(request=request)

    job = wait_for(settled(request))
    data = selectors.job_result_data(job)
    assert job.status == JobStatus.DONE
    assert [p["track_title"] for p in data["play_history"]][:1] == ["Blue in Green"]
    assert job.result_summary["counts"]["search_history"] == 3


def test_a_deletion_erases_the_product_data_once_and_records_its_confirmation(
    celery_worker_process, start_product, listener, product_db
):
    product_system(start_product().url)
    request = DataSubjectRequestFactory(type="delete", subject=listener)

    services.jobs_for_request(request=request)

    job = wait_for(settled(request))
    assert job.result_summary["counts"]["play_history"] == 4
    assert job.confirmation.startswith("erasure-")
    assert plays_of(product_db, listener.email) == 0
    assert deliveries(product_db, job) == [(1,)]


def test_a_system_answering_later_posts_its_signed_result_to_the_callback(
    start_product, listener, product_db, live_server, settings
):
    # The job is sent from this process, so the callback URL it carries is the live server's.
    settings.PORTAL_URL = live_server.url
    system = product_system(start_product("--mode", "callback").url)
    job = ConnectorJobFactory(
        system=system, request=DataSubjectRequestFactory(type="copy", subject=listener)
    )

    services.dispatch(job_id=job.pk)

    job = wait_for(settled(job.request))
    assert job.status == JobStatus.DONE
    assert len(selectors.job_result_data(job)["play_history"]) == 4
    # The product sends its result again (its answer was lost): acknowledged, not applied twice.
    result = query(product_db, "SELECT result FROM product.connector_jobs")[0][0]
    _body, _headers, again = signed_post(live_server.url + "/api/v1/connectors/callback/", result)
    assert again.json()["status"] == "duplicate"
    assert ConnectorJob.objects.get(pk=job.pk).completed_at == job.completed_at


# --- Faults ------------------------------------------------------------------------------------


def test_the_product_refuses_a_tampered_job_and_does_nothing(start_product, listener, product_db):
    service = start_product()
    payload = {
        "job_id": "6f1c1f1e-0000-4000-8000-000000000001",
        "request_id": "r",
        "type": "erase",
        "identifiers": {"email": listener.email},
        "scope": {"categories": None},
    }
    _body, headers, _ = signed_post(service.url, {**payload, "type": "export"})

    tampered = requests.post(service.url, data=json.dumps(payload), headers=headers, timeout=10)

    assert tampered.status_code == 401
    assert plays_of(product_db, listener.email) == 4


def test_a_replayed_job_is_refused_and_a_resent_one_answered_from_memory(
    start_product, listener, product_db
):
    service = start_product()
    payload = {
        "job_id": "6f1c1f1e-0000-4000-8000-000000000002",
        "request_id": "r",
        "type": "erase",
        "identifiers": {"email": listener.email},
        "scope": {"categories": ["play_history"]},
    }
    body, headers, first = signed_post(service.url, payload)
    # Someone captured the signed message and plays it again.
    replay = requests.post(service.url, data=body, headers=headers, timeout=10)
    # The portal sends the same job again, as a new delivery (its answer was lost).
    _body, _headers, resent = signed_post(service.url, {**payload, "delivery_id": "2"})

    assert replay.status_code == 409
    assert resent.json() == first.json() == {**first.json(), "counts": {"play_history": 4}}
    assert query(product_db, "SELECT times_received FROM product.connector_jobs") == [(2,)]


def test_a_timeout_is_retried_with_the_same_job_id_and_the_erasure_happens_once(
    celery_worker_process, start_product, listener, product_db
):
    # The product's first answer takes 4 s, past the 1 s timeout, but its work commits.
    service = start_product("--slow-first", "1", "--slow-seconds", "4")
    product_system(service.url, timeout_seconds=1)
    request = DataSubjectRequestFactory(type="delete", subject=listener)

    services.jobs_for_request(request=request)

    job = wait_for(settled(request))
    assert job.status == JobStatus.DONE
    assert job.attempts >= 2
    # The count is the first (slow) run's: a second erasure would have found nothing.
    assert job.result_summary["counts"]["play_history"] == 4
    assert deliveries(product_db, job)[0][0] == job.attempts


def test_a_server_error_is_retried_until_the_system_answers(
    celery_worker_process, start_product, listener, product_db
):
    product_system(start_product("--fail-first", "2").url)
    request = DataSubjectRequestFactory(type="delete", subject=listener)

    services.jobs_for_request(request=request)

    job = wait_for(settled(request))
    assert (job.status, job.attempts) == (JobStatus.DONE, 3)
    assert deliveries(product_db, job) == [(1,)]


def test_a_system_down_for_three_tries_opens_the_breaker_then_a_probe_finishes_the_job(
    celery_worker_process, start_product, listener, product_db
):
    port = free_port()  # nothing listens there yet
    system = product_system(
        f"http://127.0.0.1:{port}/", failure_threshold=3, cooldown_seconds=3, max_attempts=8
    )
    request = DataSubjectRequestFactory(type="delete", subject=listener)

    services.jobs_for_request(request=request)

    def three_failures():
        return ConnectorJob.objects.filter(request=request, attempts=3, status="queued").exists()

    wait_for(three_failures)
    assert ConnectedSystem.objects.get(pk=system.pk).breaker_open
    start_product(port=port)
    job = wait_for(settled(request))
    system.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.DONE, 4)
    assert (system.consecutive_failures, system.open_until) == (0, None)
    assert deliveries(product_db, job) == [(1,)]
    actions = set(AuditLogEntry.objects.values_list("action", flat=True))
    assert {"connector.breaker_opened", "connector.breaker_closed"} <= actions


def test_the_callback_endpoint_refuses_a_tampered_result(live_server):
    job = ConnectorJobFactory(type="erase", status=JobStatus.WAITING, attempts=1)
    payload = {"job_id": str(job.pk), "status": "done", "counts": {"account": 1}}
    # A genuine delivery, then a forged copy of it with another count.
    url = live_server.url + "/api/v1/connectors/callback/"
    body, headers, genuine = signed_post(url, payload, key_id=job.system.key_id)
    assert genuine.status_code == 200, genuine.text
    forged = body.replace(b'"account": 1', b'"account": 9')

    response = requests.post(url, data=forged, headers=headers, timeout=10)

    assert response.status_code == 401
    assert ConnectorJob.objects.get(pk=job.pk).result_summary["counts"] == {"account": 1}
