"""Whole requests across the company's systems, on the real parts: a copy and a deletion filed
as a user files them, carried out by a live Celery worker at the example product service (a
process on loopback, HTTP connector) and at the support desk (database connector), and
completed only once both have answered."""

import io
import json
import zipfile
from pathlib import Path

import psycopg
import pytest

from connectors import vault
from connectors.mapping import load_text
from connectors.models import ConnectedSystem, ConnectorJob, JobStatus
from requests_dsar import export, services
from requests_dsar.models import DataSubjectRequest, ErasureRecord, Status
from tests.conftest import free_port
from tests.connectors.factories import SECRET, ConnectedSystemFactory
from tests.connectors.product import ProductService, product_database, query, seed, wait_for
from tests.factories import PrivacyOfficerFactory, ProfileFactory, UserFactory
from tests.integration.test_request_types import wait_until_the_worker_is_idle

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

MAPPING = Path(__file__).resolve().parents[2] / "examples/product_service/support_mapping.yaml"


@pytest.fixture
def product_db():
    with product_database() as dsn:
        yield dsn


@pytest.fixture
def systems(product_db):
    service = ProductService(product_db, free_port(), {"product.1": SECRET})
    ConnectedSystemFactory(
        key="product",
        name="Product",
        url=service.url,
        categories=["account", "search_history", "play_history", "purchases"],
        timeout_seconds=5,
        retry_base_seconds=1,
    )
    ConnectedSystem.objects.create(
        key="support",
        name="Support desk",
        owner_team="Customer care",
        kind="database",
        categories=["support_tickets", "support_surveys", "support_refunds"],
        request_types=["access", "copy", "delete"],
        identifiers=["email"],
        dsn_encrypted=vault.seal(product_db),
        mapping=load_text(MAPPING.read_text()),
        retry_base_seconds=1,
    )
    yield
    service.stop()


@pytest.fixture
def worker(celery_worker_process):
    yield celery_worker_process
    wait_until_the_worker_is_idle()


@pytest.fixture
def listener(product_db):
    user = UserFactory()
    ProfileFactory(user=user)
    with psycopg.connect(product_db) as conn:
        seed.seed_listener(conn, user.email)
    return user


def file(user, type):
    request, _created = services.dsar_request_create(
        subject=user, requester=user, type=type, reauthenticated=True
    )
    return request


def status_of(request, *statuses):
    def reached():
        request.refresh_from_db()
        return request if request.status in statuses else None

    reached.__name__ = f"request {'/'.join(statuses)}"
    return reached


def test_a_copy_waits_for_both_systems_and_its_archive_holds_their_data(worker, systems, listener):
    request = file(listener, "copy")

    wait_for(status_of(request, Status.COMPLETED), timeout=90)

    jobs = ConnectorJob.objects.filter(request=request).exclude(status="not_applicable")
    assert {job.system.key: job.status for job in jobs} == {
        "product": JobStatus.DONE,
        "support": JobStatus.DONE,
    }
    assert request.events.filter(to_status=Status.WAITING_ON_SYSTEMS).exists()
    archive = request.archives.get()
    zf = zipfile.ZipFile(io.BytesIO(b"".join(export.archive_open_decrypted(archive))))
    plays = json.loads(zf.read("systems/product/play_history.json"))
    tickets = json.loads(zf.read("systems/support/support_tickets.json"))
    assert plays[0]["track_title"] == "Blue in Green"
    assert tickets
    manifest = json.loads(zf.read("manifest.json"))
    assert sorted(s["key"] for s in manifest["systems"]) == ["product", "support"]


def test_a_deletion_erases_at_both_systems_before_the_portal_and_keeps_their_proof(
    worker, systems, listener, product_db
):
    email = listener.email
    request = file(listener, "delete")
    DataSubjectRequest.objects.filter(pk=request.pk).update(act_after=None)
    services.dsar_process(request_id=request.pk)  # the cool-off is over: the sweep's turn
    request.refresh_from_db()
    if request.status == Status.AWAITING_APPROVAL:  # what the law makes us keep
        services.dsar_approve(request=request, actor=PrivacyOfficerFactory())

    wait_for(status_of(request, Status.COMPLETED), timeout=90)

    listeners = query(product_db, "SELECT count(*) FROM product.listeners WHERE email = %s", email)
    tickets = query(
        product_db, "SELECT count(*) FROM support.tickets WHERE customer_email = %s", email
    )
    assert (listeners[0][0], tickets[0][0]) == (0, 0)
    record = ErasureRecord.objects.get(request=request)
    by_key = {line["key"]: line for line in record.systems}
    assert set(by_key) == {"product", "support"}
    assert by_key["product"]["status"] == by_key["support"]["status"] == JobStatus.DONE
    assert by_key["product"]["confirmation"] and by_key["support"]["tables"]
